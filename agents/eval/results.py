"""``SweepStore``: where a sweep's units are persisted as they finish (SQLite or PostgreSQL).

The sweep tables live in the run store's database and schema (``agents.store``: the same
``--db`` / ``LYCEUM_DB`` URL handling, the same Alembic migrations, revision 0003), so one
file holds a project's runs and its sweeps. A sweep is keyed by its task's config hash;
each unit by ``(config hash, kind, item, strategy, budget, seed)``. Saving a unit that is
already stored changes nothing (the first result is kept), so a unit finished twice, by a
rerun racing a crashed one, is harmless.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from agents.eval.base import EpisodeKey, Payload
from agents.store.store import RUN_STORE, sql_errors
from agents.store.tables import Base
from protocols import UserError
from protocols.errors import shorten
from protocols.secrets import mask_db_url
from protocols.sql import is_memory_sqlite, open_engine, parse_db_url, resolve_db_url

__all__ = ["StoredSweep", "SweepStore", "UnitRecord"]

_SWEEPS = Base.metadata.tables["sweeps"]
_UNITS = Base.metadata.tables["sweep_units"]
_KEY_COLUMNS = ("kind", "item", "strategy", "budget", "seed")


@dataclass(frozen=True)
class UnitRecord:
    """A finished unit: its key, its result and how long it ran (seconds)."""

    key: EpisodeKey
    payload: Payload
    seconds: float


@dataclass(frozen=True)
class StoredSweep:
    """A sweep as the store knows it: its hash, kind, metadata and how many units are kept."""

    config_hash: str
    kind: str
    created_at: datetime
    updated_at: datetime
    meta: dict[str, Any]
    units: int


class SweepStore:
    """Persists sweeps and their units. Constructing one does not touch the database.

    Args:
        url: A SQLAlchemy URL or a SQLite path; None reads ``$LYCEUM_DB``, else
            ``sqlite:///lyceum.db``.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = resolve_db_url(url)
        shared = is_memory_sqlite(parse_db_url(self.url, RUN_STORE.name))
        self._turns: AbstractContextManager[Any] = threading.RLock() if shared else nullcontext()
        self._engine: Engine | None = None

    def __repr__(self) -> str:
        return f"SweepStore({self.display_url!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"])  # type: ignore[misc]

    @property
    def display_url(self) -> str:
        """The URL as it may be printed (password masked)."""
        return mask_db_url(self.url)

    def close(self) -> None:
        """Close pooled connections; the store reopens on next use."""
        if self._engine is not None:
            self._engine.dispose()
        self._engine = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        if self._engine is None:
            self._engine = open_engine(self.url, RUN_STORE)
        with sql_errors(self.url, "the sweep store"), self._turns, self._engine.begin() as conn:
            yield conn

    # -- writes ------------------------------------------------------------------------
    def begin(self, config_hash: str, kind: str, meta: Mapping[str, Any]) -> None:
        """Record the sweep (or refresh its metadata if it is already stored)."""
        now = datetime.now(UTC)
        with self._transaction() as conn:
            found = conn.execute(
                select(_SWEEPS.c.meta).where(_SWEEPS.c.config_hash == config_hash)
            ).first()
            if found is None:
                conn.execute(
                    insert(_SWEEPS),
                    {
                        "config_hash": config_hash,
                        "kind": kind,
                        "created_at": now,
                        "updated_at": now,
                        "meta": dict(meta),
                    },
                )
            else:
                self._update_meta(conn, config_hash, {**found[0], **meta}, now)

    def update_meta(self, config_hash: str, **fields: Any) -> None:
        """Merge ``fields`` into the sweep's metadata (the report adds its curves)."""
        with self._transaction() as conn:
            found = conn.execute(
                select(_SWEEPS.c.meta).where(_SWEEPS.c.config_hash == config_hash)
            ).first()
            if found is None:
                raise UserError(f"no sweep {config_hash!r} in {self!r}")
            self._update_meta(conn, config_hash, {**found[0], **fields}, datetime.now(UTC))

    @staticmethod
    def _update_meta(conn: Connection, config_hash: str, meta: Any, now: datetime) -> None:
        conn.execute(
            update(_SWEEPS)
            .where(_SWEEPS.c.config_hash == config_hash)
            .values(meta=meta, updated_at=now)
        )

    def save(self, config_hash: str, records: Sequence[UnitRecord]) -> None:
        """Store finished units in one transaction; units already stored are left as
        they are."""
        if not records:
            return
        rows = {
            _key_tuple(r.key): {
                "config_hash": config_hash,
                **dict(zip(_KEY_COLUMNS, _key_tuple(r.key), strict=True)),
                "payload": r.payload,
                "seconds": r.seconds,
                "created_at": datetime.now(UTC),
            }
            for r in records
        }
        with self._transaction() as conn:
            conn.execute(_insert_new(conn), list(rows.values()))

    def delete(self, config_hash: str) -> int:
        """Forget a sweep and its units; returns how many units were deleted."""
        with self._transaction() as conn:
            count = conn.execute(delete(_UNITS).where(_UNITS.c.config_hash == config_hash))
            conn.execute(delete(_SWEEPS).where(_SWEEPS.c.config_hash == config_hash))
            return int(count.rowcount or 0)

    # -- reads -------------------------------------------------------------------------
    def load(self, config_hash: str) -> dict[EpisodeKey, UnitRecord]:
        """Every stored unit of the sweep."""
        with self._transaction() as conn:
            rows = conn.execute(select(_UNITS).where(_UNITS.c.config_hash == config_hash))
            return {
                (key := EpisodeKey(*(row._mapping[c] for c in _KEY_COLUMNS))): UnitRecord(
                    key, row.payload, row.seconds
                )
                for row in rows
            }

    def sweeps(self) -> list[StoredSweep]:
        """Every stored sweep, the newest first."""
        with self._transaction() as conn:
            counts: dict[str, int] = dict(
                conn.execute(
                    select(_UNITS.c.config_hash, func.count()).group_by(_UNITS.c.config_hash)
                ).all()
            )
            rows = conn.execute(select(_SWEEPS).order_by(_SWEEPS.c.updated_at.desc()))
            return [
                StoredSweep(
                    row.config_hash,
                    row.kind,
                    row.created_at,
                    row.updated_at,
                    dict(row.meta),
                    int(counts.get(row.config_hash, 0)),
                )
                for row in rows
            ]

    def get(self, config_hash: str) -> StoredSweep:
        """The sweep with this config hash or unique prefix of it.

        Raises:
            UserError: No sweep, or more than one, matches.
        """
        found = [s for s in self.sweeps() if s.config_hash.startswith(config_hash)]
        exact = [s for s in found if s.config_hash == config_hash]
        if exact:
            return exact[0]
        if len(found) != 1:
            raise UserError(
                f"no sweep {'matches' if not found else 'is uniquely matched by'} "
                f"{shorten(config_hash)} in {self!r}; `lyceum eval sweeps` lists them"
            )
        return found[0]


def _key_tuple(key: EpisodeKey) -> tuple[str, str, str, float, int]:
    return (key.kind, key.item, key.strategy, float(key.budget), int(key.seed))


def _insert_new(conn: Connection) -> Any:
    """An INSERT that skips rows whose key is already stored (both dialects say it alike)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(_UNITS).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(_UNITS).on_conflict_do_nothing()
