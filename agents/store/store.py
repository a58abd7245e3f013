"""``RunStore``: runs, messages, model calls and events, through SQLAlchemy.

SQLite by default (``sqlite:///lyceum.db``; ``--db`` or ``LYCEUM_DB``), PostgreSQL by URL
(``postgresql+psycopg://…``). The schema is created and upgraded with Alembic on first use.
Each write commits at once, so a process killed mid-run leaves every finished message in
the store; such a run is later marked ``interrupted``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, event, func, select, update
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from agents.store.records import ModelCallRecord, RunRecord
from agents.store.tables import Base, EventRow, MessageRow, ModelCallRow, RunRow
from knowledge_graph.store_files import (
    check_store_file,
    create_store_engine,
    parse_store_url,
)
from protocols import EVENT_ADAPTER, MESSAGE_ADAPTER, Event, Message, StoreError, UserError
from protocols.errors import shorten
from protocols.secrets import Redactor, mask_db_url, url_secrets

__all__ = ["DEFAULT_DB", "RunStore", "resolve_db_url"]

DEFAULT_DB = "sqlite:///lyceum.db"
_ID_LENGTH = 64  # the width of runs.id


def resolve_db_url(db: str | None = None) -> str:
    """``db`` if given, else ``$LYCEUM_DB``, else ``sqlite:///lyceum.db``. A bare path
    (no ``://``) is taken as a SQLite file."""
    value = db or os.environ.get("LYCEUM_DB") or DEFAULT_DB
    if "://" not in value:
        value = f"sqlite:///{value}"
    return value


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("agents.store") / "migrations"))
    return cfg


class RunStore:
    """Persists runs. Constructing one does not touch the database; the first use does.

    A store never writes to a database that is not a lyceum store: a SQLite file holding
    other tables, or another program's Alembic revision, is refused with ``StoreError`` and
    left byte-identical. A ``read_only`` store never writes at all: it does not create the
    file, migrate the schema or change the journal mode, and it refuses a database that
    holds no run store. Its write methods fail.

    Args:
        url: A SQLAlchemy URL or a SQLite file path.
        stale_after: A ``running`` run from another host whose heartbeat is older than this
            is reported as ``interrupted``.
        read_only: Only read (``lyceum runs list`` and ``show``).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        stale_after: timedelta = timedelta(minutes=10),
        read_only: bool = False,
    ):
        self.url = resolve_db_url(url)
        parsed = parse_store_url(self.url, "store")
        self.read_only = read_only
        self._is_sqlite = parsed.get_backend_name() == "sqlite"
        self._path = parsed.database if self._is_sqlite else None
        self.stale_after = stale_after
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None

    def __repr__(self) -> str:
        return f"RunStore({self.display_url!r})"

    @property
    def display_url(self) -> str:
        """The URL as it may be printed or logged: password and query values masked."""
        return mask_db_url(self.url)

    # -- lifecycle ---------------------------------------------------------------------
    def _open(self) -> sessionmaker[Session]:
        if self._sessions is not None:
            return self._sessions
        script = ScriptDirectory.from_config(_config())
        path = self._path if self._is_sqlite and self._path != ":memory:" else None
        if path:
            check_store_file(
                path,
                what="run store",
                tables=frozenset(Base.metadata.tables) | {"alembic_version"},
                version_table="alembic_version",
                revisions=frozenset(r.revision for r in script.walk_revisions()),
                heads=frozenset(script.get_heads()),
                maker="`lyceum demo`",
                read_only=self.read_only,
            )
            parent = Path(path).parent
            if not parent.exists():
                raise StoreError(
                    f"the folder of the run store {path!r} does not exist; create "
                    f"{str(parent)!r} or pass --db / LYCEUM_DB with another path"
                )
        engine = self._engine_for(path or None)
        try:
            # One migrator at a time: BEGIN IMMEDIATE on SQLite, an advisory lock elsewhere.
            begin = "BEGIN" if self.read_only else "BEGIN IMMEDIATE"
            with (
                engine.connect().execution_options(sqlite_begin=begin) as conn,
                conn.begin(),
            ):
                if self.read_only:
                    self._check_schema(conn, script)
                else:
                    self._migrate(conn)
        except (DatabaseError, OperationalError, CommandError) as exc:
            engine.dispose()
            raise self._open_error(exc) from None
        except StoreError:
            engine.dispose()
            raise
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        return self._sessions

    def _engine_for(self, path: str | None) -> Engine:
        """The engine; a read-only SQLite file is opened through ``readonly_connect``."""
        readonly = path if self.read_only else None
        engine = create_store_engine(self.url, "store", readonly_path=readonly)
        if self._is_sqlite:
            event.listen(engine, "connect", _sqlite_readonly if self.read_only else _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
        return engine

    def _migrate(self, conn: Connection) -> None:
        if self._is_sqlite:
            conn.exec_driver_sql("PRAGMA schema_version").fetchone()
        elif conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(74657)")
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")

    def _check_schema(self, conn: Connection, script: ScriptDirectory) -> None:
        """Reading needs the schema at its newest revision; nothing is migrated."""
        current = set(MigrationContext.configure(conn).get_current_heads())
        if current != set(script.get_heads()):
            raise StoreError(
                f"{self!r} holds no run store"
                + (
                    f" at the current schema (it is at {', '.join(sorted(current))})"
                    if current
                    else ""
                )
                + "; nothing was changed. `lyceum demo --db …` creates or upgrades it, or "
                "pass --db / LYCEUM_DB with another store."
            )

    def _open_error(self, exc: Exception) -> StoreError:
        where = self._path if self._is_sqlite else repr(self)
        if isinstance(exc, CommandError):
            return StoreError(
                f"{where} is not a lyceum run store ({exc}); its alembic_version belongs to "
                "another program. Pass --db / LYCEUM_DB with a lyceum store or a new database."
            )
        why = Redactor(url_secrets(self.url))(str(getattr(exc, "orig", None) or exc))
        return StoreError(
            f"cannot open the run store {where}: {why}. "
            + (
                "The file is not a lyceum SQLite store (corrupt or another format); it was "
                "left untouched. Move it aside, or pass --db / LYCEUM_DB with another path."
                if self._is_sqlite
                else "Check that the database server is running and the URL is right."
            )
        )

    def init(self) -> RunStore:
        """Create or upgrade the schema now (otherwise done on first use)."""
        self._open()
        return self

    def close(self) -> None:
        """Close pooled connections. The store reopens on next use."""
        if self._engine is not None:
            self._engine.dispose()
        self._engine = None
        self._sessions = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        sessions = self._open()
        if self.read_only:  # reads may mark runs interrupted in memory; nothing is written
            with sessions() as session:
                yield session
                session.rollback()
            return
        with sessions.begin() as session:
            yield session

    # -- writes ------------------------------------------------------------------------
    def create_run(self, run: RunRecord) -> None:
        with self._session() as s:
            s.add(
                RunRow(
                    id=run.id,
                    created_at=run.created_at,
                    finished_at=None,
                    heartbeat_at=run.created_at,
                    status="running",
                    stop_reason=None,
                    stop_detail=None,
                    seed=run.seed,
                    budget=run.budget,
                    usage={},
                    graph_mermaid=run.graph_mermaid,
                    graph_source=run.graph_source,
                    initial_message=MESSAGE_ADAPTER.dump_python(run.initial_message, mode="json"),
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    replay_of=run.replay_of,
                )
            )

    def write(
        self,
        run_id: str,
        *,
        messages: Sequence[tuple[int, Message]] = (),
        events: Sequence[tuple[int, Event]] = (),
    ) -> None:
        """Add messages and events (each with its sequence number) in one transaction, and
        refresh the run's heartbeat."""
        if not messages and not events:
            return
        with self._session() as s:
            for seq, message in messages:
                s.add(
                    MessageRow(
                        run_id=run_id,
                        seq=seq,
                        id=message.id,
                        kind=message.kind,
                        sender=message.sender,
                        payload=MESSAGE_ADAPTER.dump_python(message, mode="json"),
                        created_at=message.timestamp,
                    )
                )
            for seq, ev in events:
                s.add(
                    EventRow(
                        run_id=run_id,
                        seq=seq,
                        kind=ev.kind,
                        payload=EVENT_ADAPTER.dump_python(ev, mode="json"),
                        created_at=ev.timestamp,
                    )
                )
            s.execute(
                update(RunRow).where(RunRow.id == run_id).values(heartbeat_at=datetime.now(UTC))
            )

    def add_message(self, run_id: str, seq: int, message: Message) -> None:
        self.write(run_id, messages=[(seq, message)])

    def add_event(self, run_id: str, seq: int, ev: Event) -> None:
        self.write(run_id, events=[(seq, ev)])

    def add_model_call(self, call: ModelCallRecord) -> None:
        with self._session() as s:
            s.add(ModelCallRow(**call.model_dump()))

    def finish_run(
        self, run_id: str, *, status: str, reason: str, detail: str, usage: dict[str, Any]
    ) -> None:
        now = datetime.now(UTC)
        with self._session() as s:
            s.execute(
                update(RunRow)
                .where(RunRow.id == run_id)
                .values(
                    status=status,
                    stop_reason=reason,
                    stop_detail=detail,
                    usage=usage,
                    finished_at=now,
                    heartbeat_at=now,
                )
            )

    # -- reads -------------------------------------------------------------------------
    def _reap(self, s: Session, row: RunRow) -> None:
        """Mark a ``running`` run whose process is gone as ``interrupted``."""
        if row.status != "running":
            return
        heartbeat = _utc(row.heartbeat_at) or datetime.now(UTC)
        if row.host == socket.gethostname():
            dead = not _pid_alive(row.pid)
            why = f"process {row.pid} on {row.host} ended without stopping the run (killed?)"
        else:
            dead = datetime.now(UTC) - heartbeat > self.stale_after
            why = f"no heartbeat from {row.host} since {heartbeat.isoformat()}"
        if dead:
            row.status = "interrupted"
            row.stop_reason = "interrupted"
            row.stop_detail = why
            row.finished_at = heartbeat

    def _record(self, s: Session, row: RunRow) -> RunRecord:
        self._reap(s, row)
        count = s.scalar(
            select(func.count()).select_from(MessageRow).where(MessageRow.run_id == row.id)
        )
        return RunRecord(
            id=row.id,
            created_at=_utc(row.created_at) or datetime.now(UTC),
            finished_at=_utc(row.finished_at),
            status=row.status,
            stop_reason=row.stop_reason,
            stop_detail=row.stop_detail,
            seed=row.seed,
            budget=row.budget,
            usage=row.usage,
            graph_mermaid=row.graph_mermaid,
            graph_source=row.graph_source,
            initial_message=MESSAGE_ADAPTER.validate_python(row.initial_message),
            replay_of=row.replay_of,
            message_count=int(count or 0),
        )

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id (or unique id prefix)."""
        with self._session() as s:
            # An id longer than the column, or not text (a stray byte from the shell), is
            # no run's id; '%' and '_' match only themselves.
            usable = len(run_id) <= _ID_LENGTH and run_id.isprintable()
            row = s.get(RunRow, run_id) if usable else None
            if row is None:
                prefix = RunRow.id.startswith(run_id, autoescape=True)
                rows = s.scalars(select(RunRow).where(prefix).limit(2)).all() if usable else []
                if len(rows) != 1:
                    raise UserError(
                        f"no run {'matches' if not rows else 'is uniquely matched by'} "
                        f"{shorten(run_id)} in {self!r}; `lyceum runs list` shows the ids"
                    )
                row = rows[0]
            return self._record(s, row)

    def list_runs(self, limit: int = 20) -> list[RunRecord]:
        """The newest runs first."""
        with self._session() as s:
            rows = s.scalars(select(RunRow).order_by(RunRow.created_at.desc()).limit(limit)).all()
            return [self._record(s, row) for row in rows]

    def messages(self, run_id: str) -> list[Message]:
        with self._session() as s:
            rows = s.scalars(
                select(MessageRow).where(MessageRow.run_id == run_id).order_by(MessageRow.seq)
            )
            return [MESSAGE_ADAPTER.validate_python(row.payload) for row in rows]

    def events(self, run_id: str) -> list[Event]:
        with self._session() as s:
            rows = s.scalars(
                select(EventRow).where(EventRow.run_id == run_id).order_by(EventRow.seq)
            )
            return [EVENT_ADAPTER.validate_python(row.payload) for row in rows]

    def model_calls(self, run_id: str) -> list[ModelCallRecord]:
        with self._session() as s:
            rows = s.scalars(
                select(ModelCallRow).where(ModelCallRow.run_id == run_id).order_by(ModelCallRow.seq)
            )
            return [
                ModelCallRecord.model_validate(
                    {c.key: getattr(row, c.key) for c in ModelCallRow.__table__.columns}
                )
                for row in rows
            ]


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, emit BEGIN, so DDL is transactional (SQLAlchemy docs,
    # "Serializable isolation / Savepoints / Transactional DDL" for pysqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # WAL: readers (the UI, `lyceum runs show`) never block the writing run, and commits
    # need no fsync each; a killed process still loses nothing it committed.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_readonly(dbapi_connection: Any, _record: Any) -> None:
    # The connection is read-only (mode=ro): no journal-mode change, nothing written.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA busy_timeout=10000")


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))
