"""One way to open a lyceum SQL store: the run store and the graph store both use it.

``open_engine(url, schema)`` returns a SQLAlchemy engine whose schema is current:

* A URL, or a bare path taken as a SQLite file (``db_url``). A URL that cannot be parsed,
  or names neither SQLite nor PostgreSQL, is a ``UserError``; a SQLite file whose folder
  does not exist is a ``StoreError``.
* Pool settings and SQLite's busy timeout come from the URL's query
  (``protocols.sql_settings``: ``?pool_size=10&pool_recycle=1800``); PostgreSQL connections
  are pinged before use, so one the server dropped is replaced instead of failing.
* SQLite connections are set up alike for every store: foreign keys on, a busy timeout
  (``SQLITE_BUSY_TIMEOUT_MS``, or ``?busy_timeout=MS``) so concurrent writers wait instead
  of failing, WAL (readers
  never block the writer, and a killed process loses nothing it committed) with
  ``synchronous=NORMAL``, and BEGIN emitted by SQLAlchemy rather than by pysqlite, so DDL is
  transactional and ``sqlite_begin="BEGIN IMMEDIATE"`` takes the write lock at once.
* The schema is created or upgraded with Alembic, one migrator at a time: under
  ``BEGIN IMMEDIATE`` on SQLite, under a transaction-scoped advisory lock on PostgreSQL. Each
  store has its own lock key (``RUN_STORE_LOCK``, ``GRAPH_STORE_LOCK``) and its own version
  table, so both can share one database.
* A SQLite file is read before anything is written (``protocols.store_files``): a file
  that is not a lyceum store (not SQLite, tables lyceum does not create, another program's
  Alembic revision) is refused with an error that says it was left untouched, and it stays
  byte-identical.
* ``read_only=True`` (the CLI's ``runs list/show``, ``kg stats/query/export``) creates no
  file, migrates nothing and leaves the journal mode alone: SQLite is opened ``mode=ro``
  through ``readonly_connect``, PostgreSQL in read-only transactions, and a database
  without the store at its newest revision is refused.
* Error texts show the URL with its password masked (``mask_db_url``) and redact it from
  the driver's message.

This module sits in ``protocols`` because both stores need it and ``knowledge_graph`` may
not import ``agents``; it imports SQLAlchemy and Alembic, nothing of lyceum's beyond
``protocols``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlalchemy.pool import StaticPool

from protocols.errors import StoreError, UserError, shorten
from protocols.secrets import Redactor, mask_db_url, mask_url, url_secrets
from protocols.sql_settings import SQLITE_BUSY_TIMEOUT_MS, engine_settings
from protocols.store_files import check_store_file, readonly_connect

__all__ = [
    "DEFAULT_DB",
    "GRAPH_STORE_LOCK",
    "RUN_STORE_LOCK",
    "SQLITE_BUSY_TIMEOUT_MS",
    "JsonText",
    "SchemaRevision",
    "StoreSchema",
    "db_url",
    "is_memory_sqlite",
    "open_engine",
    "parse_db_url",
    "resolve_db_url",
    "schema_revision",
    "upgrade_schema",
]

DEFAULT_DB = "sqlite:///lyceum.db"
"""The store used when neither ``--db`` nor ``LYCEUM_DB`` names one."""


RUN_STORE_LOCK = 74657
"""PostgreSQL advisory-lock key held while the run store's schema is migrated. Any fixed
64-bit number works, as long as no other application on the database uses it; the two
stores use different keys so that opening one never waits on the other's migration."""

GRAPH_STORE_LOCK = 74658
"""PostgreSQL advisory-lock key held while the graph store's schema is migrated."""

BACKENDS = ("sqlite", "postgresql")
_URL_HINT = (
    "Use a path like 'lyceum.db', 'sqlite:///lyceum.db' or 'postgresql+psycopg://user@host/db'."
)


class JsonText(str):
    """A JSON document already serialised (say by pydantic's ``dump_json``): a JSON column
    stores it as it is, instead of serialising the value again."""

    __slots__ = ()


def _json_serializer(value: Any) -> str:
    return value if isinstance(value, JsonText) else json.dumps(value)


@dataclass(frozen=True)
class StoreSchema:
    """What ``open_engine`` migrates, and how its errors name the store.

    Attributes:
        name: How errors name the store: ``"run store"``, ``"graph store"``.
        migrations: The package whose ``migrations`` folder holds the Alembic scripts.
        lock: The PostgreSQL advisory-lock key held while migrating.
        tables: The store's own tables (without its version table).
        version_table: Where Alembic keeps the store's revision.
        maker: The command that creates or upgrades the store, for error messages.
    """

    name: str
    migrations: str
    lock: int
    tables: frozenset[str]
    version_table: str
    maker: str


def db_url(value: str) -> str:
    """``value`` as a SQLAlchemy URL: a bare path (no ``://``) is a SQLite file.

    >>> db_url("runs.db")
    'sqlite:///runs.db'
    """
    return value if "://" in value else f"sqlite:///{value}"


def resolve_db_url(db: str | None = None) -> str:
    """``db`` if given, else ``$LYCEUM_DB``, else ``sqlite:///lyceum.db``, as a URL (a bare
    path is a SQLite file)."""
    return db_url(db or os.environ.get("LYCEUM_DB") or DEFAULT_DB)


def parse_db_url(url: str, name: str) -> URL:
    """``url`` parsed; ``UserError`` unless it names SQLite or PostgreSQL. The error shows
    the URL masked, redacts its secrets from the parser's message and gives examples."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        shown, why = shorten(mask_url(url)), Redactor(url_secrets(url))(str(exc))
        raise UserError(f"cannot parse {name} URL {shown}: {why}. {_URL_HINT}") from None
    if parsed.get_backend_name() not in BACKENDS:
        raise UserError(
            f"unsupported {name} URL {shorten(mask_db_url(url))}: lyceum stores live in SQLite "
            f"or PostgreSQL. {_URL_HINT}"
        )
    return parsed


def is_memory_sqlite(url: URL) -> bool:
    """True for a private in-memory SQLite database (``sqlite://``, ``sqlite:///:memory:``)."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def open_engine(url: str, schema: StoreSchema, *, read_only: bool = False) -> Engine:
    """An engine on ``url`` whose schema is at Alembic's head (see the module docs).

    An in-memory SQLite database is one connection shared by every thread (it would
    otherwise be a different, empty database in each); its users serialise access.

    Args:
        url: A SQLAlchemy URL (``db_url`` turns a path into one).
        schema: The store to open.
        read_only: Only read: create no file, migrate nothing, leave the journal mode; the
            schema must already be at its newest revision. Writes through the engine fail
            (a ``mode=ro`` SQLite connection, a read-only PostgreSQL transaction).

    Raises:
        UserError: ``url`` cannot be parsed, names another database, or its driver is
            not installed.
        StoreError: The SQLite file's folder does not exist; the file is not a lyceum
            store (left untouched); reading finds no store at the current schema; or the
            server cannot be reached.
    """
    parsed = parse_db_url(url, schema.name)
    sqlite = parsed.get_backend_name() == "sqlite"
    path = parsed.database if sqlite and not is_memory_sqlite(parsed) else None
    if path is not None:
        _check_file(path, schema, read_only=read_only)
    engine = _create_engine(url, parsed, schema, path, read_only=read_only)
    try:
        if read_only:
            _check_schema(engine, schema, path or mask_db_url(url))
        else:
            _migrate(engine, schema)
    except (DatabaseError, OperationalError, CommandError) as exc:
        engine.dispose()
        raise _open_error(url, schema, path, exc) from None
    except StoreError:
        engine.dispose()
        raise
    return engine


@dataclass(frozen=True)
class SchemaRevision:
    """Where one store's schema stands in a database.

    Attributes:
        schema: The store's name (``"run store"``, ``"graph store"``).
        current: The Alembic revisions the database is at (empty: no such store there yet).
        head: The newest revisions this version of lyceum knows.
    """

    schema: str
    current: tuple[str, ...]
    head: tuple[str, ...]

    @property
    def up_to_date(self) -> bool:
        return set(self.current) == set(self.head)


def schema_revision(url: str, schema: StoreSchema) -> SchemaRevision:
    """Where ``schema`` stands in the database at ``url``; reads only (a SQLite file that
    does not exist is reported as empty, not created).

    Raises:
        UserError: ``url`` cannot be parsed or its driver is missing.
        StoreError: The file is not a lyceum store, or the server cannot be reached.
    """
    parsed = parse_db_url(url, schema.name)
    sqlite = parsed.get_backend_name() == "sqlite"
    path = parsed.database if sqlite and not is_memory_sqlite(parsed) else None
    head = tuple(sorted(_scripts(schema)[1].get_heads()))
    if path is not None and not Path(path).exists():
        return SchemaRevision(schema.name, (), head)
    if path is not None:  # a writer's check: an older revision is fine; nothing is written
        _check_file(path, schema, read_only=False)
    engine = _create_engine(url, parsed, schema, path, read_only=True)
    try:
        current = tuple(sorted(_current_heads(engine, schema)))
    except (DatabaseError, OperationalError) as exc:
        raise _open_error(url, schema, path, exc) from None
    finally:
        engine.dispose()
    return SchemaRevision(schema.name, current, head)


def upgrade_schema(url: str, schema: StoreSchema) -> tuple[SchemaRevision, SchemaRevision]:
    """Create or upgrade ``schema`` in the database at ``url`` to the newest revision (what
    opening a store for writing does), and say where it stood before and after.

    Raises:
        UserError, StoreError: As ``open_engine``; a failed upgrade changes nothing.
    """
    before = schema_revision(url, schema)
    open_engine(url, schema).dispose()
    return before, schema_revision(url, schema)


def _scripts(schema: StoreSchema) -> tuple[Config, ScriptDirectory]:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files(schema.migrations) / "migrations"))
    return cfg, ScriptDirectory.from_config(cfg)


def _check_file(path: str, schema: StoreSchema, *, read_only: bool) -> None:
    """Refuse a SQLite file that is not this store (see ``check_store_file``), and a new
    file whose folder does not exist."""
    _, script = _scripts(schema)
    check_store_file(
        path,
        what=schema.name,
        tables=schema.tables | {schema.version_table},
        version_table=schema.version_table,
        revisions=frozenset(r.revision for r in script.walk_revisions()),
        heads=frozenset(script.get_heads()),
        maker=schema.maker,
        read_only=read_only,
    )
    parent = Path(path).parent
    if not parent.exists():
        raise StoreError(
            f"the folder of the {schema.name} {path!r} does not exist; create "
            f"{str(parent)!r} or pass --db / LYCEUM_DB with another path"
        )


def _create_engine(
    url: str, parsed: URL, schema: StoreSchema, path: str | None, *, read_only: bool
) -> Engine:
    """The engine, with every store's SQLite connection setup; a read-only SQLite file is
    opened through ``readonly_connect``."""
    settings = engine_settings(parsed, shorten(mask_db_url(url)))
    parsed = settings.url
    options: dict[str, Any] = {"json_serializer": _json_serializer, **settings.pool}
    if path is None and parsed.get_backend_name() == "sqlite":
        options |= {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    if read_only and path is not None:  # one connection per reader; no pool to size
        options = {"json_serializer": _json_serializer}
        options["creator"] = partial(readonly_connect, path)
        parsed = make_url("sqlite://")
    elif read_only:
        options["execution_options"] = {"postgresql_readonly": True}
    try:
        engine = create_engine(parsed, **options)
    except (ImportError, ArgumentError) as exc:
        raise UserError(
            f"cannot use the {schema.name} URL {shorten(mask_db_url(url))}: {exc}. Install its "
            "driver, or use 'postgresql+psycopg://…' (pip install psycopg) or a SQLite path."
        ) from None
    if engine.dialect.name == "sqlite":
        setup = _sqlite_readonly if read_only else _sqlite_connect
        event.listen(engine, "connect", partial(setup, settings.busy_timeout_ms))
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _current_heads(engine: Engine, schema: StoreSchema) -> set[str]:
    """The schema revisions the database is at (none for a new one); reads, locks nothing."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": schema.version_table})
        current = set(context.get_current_heads())
        conn.rollback()
    return current


def _migrate(engine: Engine, schema: StoreSchema) -> None:
    """Create or upgrade the schema with Alembic, one migrator at a time. A store already at
    the newest revision is not locked at all: a run writing to it (steps commit every few
    milliseconds) would otherwise make the write lock wait, and a second process (the UI,
    a monitor) time out opening it."""
    _, script = _scripts(schema)
    if _current_heads(engine, schema) == set(script.get_heads()):
        return
    with (
        engine.connect().execution_options(sqlite_begin="BEGIN IMMEDIATE") as conn,
        conn.begin(),
    ):
        if engine.dialect.name == "sqlite":
            # Reads the header first: a file that is not a database fails here, unchanged.
            conn.exec_driver_sql("PRAGMA schema_version").fetchone()
        elif engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({int(schema.lock)})")
        cfg, _ = _scripts(schema)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _check_schema(engine: Engine, schema: StoreSchema, where: str) -> None:
    """Reading needs the schema at its newest revision; nothing is migrated."""
    _, script = _scripts(schema)
    current = _current_heads(engine, schema)
    if current != set(script.get_heads()):
        at = f" at the current schema (it is at {', '.join(sorted(current))})" if current else ""
        raise StoreError(
            f"{where} holds no {schema.name}{at}; nothing was changed. {schema.maker} "
            "creates or upgrades it there, or pass --db / LYCEUM_DB with another store."
        )


def _open_error(url: str, schema: StoreSchema, path: str | None, exc: Exception) -> StoreError:
    where = path or mask_db_url(url)
    if isinstance(exc, CommandError):
        return StoreError(
            f"{where} is not a lyceum {schema.name} ({exc}); its {schema.version_table} "
            "belongs to another program. Pass --db / LYCEUM_DB with a lyceum store or a new "
            "database."
        )
    why = Redactor(url_secrets(url))(str(getattr(exc, "orig", None) or exc))
    if "database is locked" in why:
        return StoreError(
            f"cannot open the {schema.name} {where}: another process held its write lock for "
            f"over {SQLITE_BUSY_TIMEOUT_MS // 1000} s while its schema needed creating or "
            "upgrading (a run or a migration writing to it). Try again once it is done."
        )
    return StoreError(
        f"cannot open the {schema.name} {where}: {why}. "
        + (
            "The file is not a lyceum SQLite store (corrupt or another format); it was "
            "left untouched. Move it aside, or pass --db / LYCEUM_DB with another path."
            if path is not None or url.startswith("sqlite")
            else "Check that the database server is running and the URL is right."
        )
    )


def _sqlite_connect(busy_ms: int, dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, emit BEGIN, so DDL is transactional (SQLAlchemy docs,
    # "Serializable isolation / Savepoints / Transactional DDL" for pysqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    # WAL: readers (the UI, `lyceum runs show`) never block a writing run, and commits need
    # no fsync each; a killed process still loses nothing it committed.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_readonly(busy_ms: int, dbapi_connection: Any, _record: Any) -> None:
    # A read-only connection (``mode=ro``): no journal-mode change, nothing written.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute(f"PRAGMA busy_timeout={int(busy_ms)}")


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))
