# Start and stop a throwaway PostgreSQL cluster on a free loopback port.
# Sourced by .ci/run; usable by hand too:
#   source .ci/postgres.sh && start_postgres && echo "$LYCEUM_TEST_POSTGRES_URL"
# initdb refuses to run as root, so the cluster belongs to the postgres user.

pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$dir" ]; then
        echo "PostgreSQL binaries not found under /usr/lib/postgresql; apt-get install postgresql" >&2
        return 1
    fi
    echo "$dir"
}

start_postgres() {
    local bin port
    bin=$(pg_bin)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    PG_DIR=$(mktemp -d /tmp/lyceum-pg.XXXXXX)
    chown postgres:postgres "$PG_DIR"
    runuser -u postgres -- "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
    runuser -u postgres -- "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w start \
        -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" >/dev/null
    export PG_DIR PG_BIN="$bin"
    export LYCEUM_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
    echo "PostgreSQL running on 127.0.0.1:$port ($PG_DIR)"
}

stop_postgres() {
    if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null || true
        rm -rf "$PG_DIR"
    fi
}
