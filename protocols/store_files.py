"""Reading a store's SQLite file without changing it: is it a lyceum store at all?

Opening a SQLite file with the usual settings changes it: ``PRAGMA journal_mode=WAL``
rewrites its header, and Alembic adds its tables. Even a read-only connection to a WAL-mode
file leaves ``-wal`` and ``-shm`` files beside it. A store path may name another program's
database (a typo, or a shared folder), so ``protocols.sql.open_engine`` (which opens both
the run store and the graph store) calls ``check_store_file`` first: it reads the file
without writing anything, and refuses a file that is not a lyceum store with an error that
names it. ``readonly_connect`` then reads a store without writing to it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Set
from pathlib import Path
from urllib.parse import quote

from protocols.errors import StoreError, shorten

__all__ = ["LYCEUM_TABLES", "check_store_file", "readonly_connect"]

LYCEUM_TABLES = frozenset(
    {
        # the run store (agents.store)
        "alembic_version",
        "runs",
        "messages",
        "model_calls",
        "events",
        "sweeps",
        "sweep_units",
        # the graph store (knowledge_graph.sql)
        "kg_alembic_version",
        "kg_nodes",
        "kg_labels",
        "kg_edges",
    }
)
"""Every table a lyceum store creates. The two stores may share one database file, so each
accepts the other's tables; tests pin this set to both stores' schemas (``protocols`` may
not import the stores, so the names are written out here)."""

_HEADER = b"SQLite format 3\x00"
_FIX = "Move it aside, or pass --db / LYCEUM_DB with another path"


def _uri(path: Path, header: bytes) -> str:
    """A read-only URI. A WAL-mode file (header bytes 18-19 are 2) without a ``-wal`` file
    is opened ``immutable``: otherwise SQLite would create ``-wal`` and ``-shm`` files."""
    uri = f"file:{quote(os.fsencode(path.resolve()))}?mode=ro"  # any bytes the OS allows
    wal = header[18:20] == b"\x02\x02"
    if wal and not Path(f"{path}-wal").exists():
        uri += "&immutable=1"
    return uri


def _header(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(100)
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}. {_FIX}.") from None


def readonly_connect(path: str | Path) -> sqlite3.Connection:
    """A connection that can neither write to ``path`` nor create files beside it."""
    path = Path(path)
    return sqlite3.connect(_uri(path, _header(path)), uri=True, check_same_thread=False)


def _contents(path: Path, what: str, version_table: str) -> tuple[frozenset[str], frozenset[str]]:
    """The tables of ``path`` and the revisions in its ``version_table``."""
    header = _header(path)
    if not header:
        return frozenset(), frozenset()  # an empty file is an empty database
    if not header.startswith(_HEADER):
        raise StoreError(
            f"cannot open the {what} {path}: file is not a database (it starts with "
            f"{shorten(header[:16])}); it was left untouched. {_FIX}."
        )
    conn = sqlite3.connect(_uri(path, header), uri=True)
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        tables = frozenset(str(r[0]) for r in rows if not str(r[0]).startswith("sqlite_"))
        revisions: frozenset[str] = frozenset()
        if version_table in tables:
            found = conn.execute(f'SELECT version_num FROM "{version_table}"').fetchall()
            revisions = frozenset(str(r[0]) for r in found)
    except sqlite3.Error as exc:
        raise StoreError(
            f"cannot open the {what} {path}: {exc} (a damaged or encrypted SQLite file?); "
            f"it was left untouched. {_FIX}."
        ) from None
    finally:
        conn.close()
    return tables, revisions


def check_store_file(
    path: str | Path,
    *,
    what: str,
    tables: Set[str],
    version_table: str,
    revisions: Set[str],
    heads: Set[str],
    maker: str,
    read_only: bool,
) -> None:
    """Raise ``StoreError`` unless ``path`` may be opened as the store ``what``.

    A missing file, an empty one or an empty database may become a store, unless
    ``read_only``. A database with tables that no lyceum store creates, or whose
    ``version_table`` holds a revision not in ``revisions``, is refused either way: it
    belongs to another program. Reading also needs the store's ``tables`` at one of
    ``heads``. Nothing is written, whatever the outcome.

    Args:
        path: The SQLite file.
        what: The store, in words ("run store").
        tables: The store's own tables, with its version table.
        version_table: Where Alembic keeps the store's revision.
        revisions: Every revision the store's migrations know.
        heads: The newest revisions.
        maker: The command that creates the store, for the error message.
        read_only: Whether the caller only reads.
    """
    path = Path(path)
    try:
        exists = path.exists()
    except (OSError, ValueError) as exc:  # a name too long, or with a NUL byte
        reason = exc.strerror if isinstance(exc, OSError) else exc
        raise StoreError(
            f"cannot use {shorten(str(path))} as the {what}: {reason}. Pass --db / LYCEUM_DB "
            "with another path."
        ) from None
    if not exists:
        if read_only:
            raise StoreError(
                f"there is no {what} at {path}: no such file, and reading does not create "
                f"one. Check the path, or pass --db / LYCEUM_DB with an existing store."
            )
        return
    found, at = _contents(path, what, version_table)
    foreign = sorted(found - LYCEUM_TABLES)
    unknown = sorted(at - revisions)
    # An older revision lacks the tables its upgrade creates; at a head, all must be there.
    if foreign or unknown or (at and at <= heads and not tables <= found):
        if foreign:
            why = f"it has tables lyceum does not create: {shorten(', '.join(foreign))}"
        elif unknown:
            why = f"its {version_table} is at revision {shorten(unknown[0])}, unknown to lyceum"
        else:
            why = f"its {version_table} exists but the {what} tables do not"
        raise StoreError(f"{path} is not a lyceum {what} ({why}); it was left untouched. {_FIX}.")
    if read_only and not (tables <= found and at <= heads):
        schema = " at the current schema" if at else ""
        raise StoreError(
            f"{path} holds no {what}{schema}; nothing was changed. {maker} creates or upgrades "
            "it there, or pass --db / LYCEUM_DB with another store."
        )
