"""One way to open a lyceum SQL store: the run store and the graph store both use it.

``open_engine(url, schema)`` returns a SQLAlchemy engine whose schema is current:

* A URL, or a bare path taken as a SQLite file (``db_url``). A URL that cannot be parsed
  is a ``UserError``; a SQLite file whose folder does not exist is a ``StoreError``.
* SQLite connections are set up alike for every store: foreign keys on, a busy timeout
  (``SQLITE_BUSY_TIMEOUT_MS``) so concurrent writers wait instead of failing, WAL (readers
  never block the writer, and a killed process loses nothing it committed) with
  ``synchronous=NORMAL``, and BEGIN emitted by SQLAlchemy rather than by pysqlite, so DDL is
  transactional and ``sqlite_begin="BEGIN IMMEDIATE"`` takes the write lock at once.
* The schema is created or upgraded with Alembic, one migrator at a time: under
  ``BEGIN IMMEDIATE`` on SQLite, under a transaction-scoped advisory lock on PostgreSQL. Each
  store has its own lock key (``RUN_STORE_LOCK``, ``GRAPH_STORE_LOCK``) and its own version
  table, so both can share one database.
* A file that is not a SQLite database is never modified: it is read before anything is
  written, and the error says it was left untouched. Error texts show the URL with its
  password masked (``mask_db_url``) and redact it from the driver's message.

This module sits in ``protocols`` because both stores need it and ``knowledge_graph`` may
not import ``agents``; it imports SQLAlchemy, and Alembic only when migrating.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlalchemy.pool import StaticPool

from protocols.errors import StoreError, UserError
from protocols.secrets import Redactor, mask_db_url, url_secrets

__all__ = [
    "DEFAULT_DB",
    "GRAPH_STORE_LOCK",
    "RUN_STORE_LOCK",
    "SQLITE_BUSY_TIMEOUT_MS",
    "JsonText",
    "StoreSchema",
    "db_url",
    "is_memory_sqlite",
    "open_engine",
    "parse_db_url",
    "resolve_db_url",
]

DEFAULT_DB = "sqlite:///lyceum.db"
"""The store used when neither ``--db`` nor ``LYCEUM_DB`` names one."""

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite connection waits for another writer's lock before failing."""

RUN_STORE_LOCK = 74657
"""PostgreSQL advisory-lock key held while the run store's schema is migrated. Any fixed
64-bit number works, as long as no other application on the database uses it; the two
stores use different keys so that opening one never waits on the other's migration."""

GRAPH_STORE_LOCK = 74658
"""PostgreSQL advisory-lock key held while the graph store's schema is migrated."""


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
    """

    name: str
    migrations: str
    lock: int


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
    """Parse ``url``, or raise a ``UserError`` that shows it masked and gives examples."""
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise UserError(
            f"cannot parse {name} URL {mask_db_url(url)!r}: {exc}. Use a path like 'runs.db', "
            "'sqlite:///runs.db' or 'postgresql+psycopg://user@host/db'."
        ) from None


def is_memory_sqlite(url: URL) -> bool:
    """True for a private in-memory SQLite database (``sqlite://``, ``sqlite:///:memory:``)."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def open_engine(url: str, schema: StoreSchema) -> Engine:
    """An engine on ``url`` whose schema is at Alembic's head (see the module docs).

    An in-memory SQLite database is one connection shared by every thread (it would
    otherwise be a different, empty database in each); its users serialise access.

    Raises:
        UserError: ``url`` cannot be parsed.
        StoreError: The SQLite file's folder does not exist, the file is not a SQLite
            database (left untouched), or the server cannot be reached.
    """
    parsed = parse_db_url(url, schema.name)
    sqlite = parsed.get_backend_name() == "sqlite"
    path = parsed.database if sqlite and not is_memory_sqlite(parsed) else None
    if path is not None and not Path(path).parent.exists():
        raise StoreError(
            f"the folder of the {schema.name} {path!r} does not exist; create "
            f"{str(Path(path).parent)!r} or pass --db / LYCEUM_DB with another path"
        )
    options: dict[str, Any] = {"json_serializer": _json_serializer}
    if sqlite and path is None:
        options |= {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    engine = create_engine(parsed, **options)
    if sqlite:
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    try:
        _migrate(engine, schema)
    except (DatabaseError, OperationalError) as exc:
        engine.dispose()
        why = Redactor(url_secrets(url))(str(exc.orig or exc))
        raise StoreError(
            f"cannot open the {schema.name} {path or mask_db_url(url)}: {why}. "
            + (
                "The file is not a lyceum SQLite store (corrupt or another format); it was "
                "left untouched. Move it aside, or pass --db / LYCEUM_DB with another path."
                if sqlite
                else "Check that the database server is running and the URL is right."
            )
        ) from None
    return engine


def _migrate(engine: Engine, schema: StoreSchema) -> None:
    """Create or upgrade the schema with Alembic, one migrator at a time."""
    from alembic import command
    from alembic.config import Config

    with (
        engine.connect().execution_options(sqlite_begin="BEGIN IMMEDIATE") as conn,
        conn.begin(),
    ):
        if engine.dialect.name == "sqlite":
            # Reads the header first: a file that is not a database fails here, unchanged.
            conn.exec_driver_sql("PRAGMA schema_version").fetchone()
        elif engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({int(schema.lock)})")
        cfg = Config()
        cfg.set_main_option(
            "script_location", str(resources.files(schema.migrations) / "migrations")
        )
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, emit BEGIN, so DDL is transactional (SQLAlchemy docs,
    # "Serializable isolation / Savepoints / Transactional DDL" for pysqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # WAL: readers (the UI, `lyceum runs show`) never block a writing run, and commits need
    # no fsync each; a killed process still loses nothing it committed.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))
