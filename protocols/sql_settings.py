"""Engine settings a store URL may carry in its query, for production: the connection pool
of a PostgreSQL (or SQLite file) store, and SQLite's busy timeout.

``postgresql+psycopg://app@db/lyceum?pool_size=10&max_overflow=5&pool_recycle=1800``

=================  ==========================================================  ==========
``pool_size``      connections each process keeps open                          5
``max_overflow``   more connections it may open under load (-1: no limit)       10
``pool_timeout``   seconds to wait for a free connection before failing         30
``pool_recycle``   reopen a connection older than this many seconds (-1: never) -1
``pool_pre_ping``  test a connection before each use (reconnect if the server  true on
                   dropped it)                                                  PostgreSQL
``busy_timeout``   SQLite only: milliseconds to wait for another writer          10000
=================  ==========================================================  ==========

They are SQLAlchemy's ``create_engine`` arguments (and SQLite's ``PRAGMA busy_timeout``);
``engine_settings`` takes them out of the URL, so the driver never sees them, and every
other query parameter (``sslmode``, ``application_name``) goes to the driver as before.
A process holds at most ``pool_size + max_overflow`` connections per store it opens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import URL

from protocols.errors import UserError

__all__ = ["POOL_SETTINGS", "SQLITE_BUSY_TIMEOUT_MS", "EngineSettings", "engine_settings"]

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite connection waits for another writer's lock before failing (default)."""

POOL_SETTINGS = ("pool_size", "max_overflow", "pool_timeout", "pool_recycle", "pool_pre_ping")
"""The pool settings a store URL's query may carry."""

_LOWEST = {"pool_size": 0, "max_overflow": -1, "pool_recycle": -1, "busy_timeout": 0}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass(frozen=True)
class EngineSettings:
    """What ``engine_settings`` took out of a URL.

    Attributes:
        url: The URL without lyceum's settings (what the driver gets).
        pool: ``create_engine`` keyword arguments for the pool.
        busy_timeout_ms: SQLite's busy timeout.
    """

    url: URL
    pool: dict[str, Any] = field(default_factory=dict)
    busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS


def _number(name: str, raw: str, shown: str) -> float:
    try:
        value = float(raw) if name == "pool_timeout" else int(raw)
    except ValueError:
        value = None
    if value is None or value < _LOWEST.get(name, 0) or (name == "pool_timeout" and value <= 0):
        low = _LOWEST.get(name, 0)
        want = "a positive number of seconds" if name == "pool_timeout" else f"an integer ≥ {low}"
        raise UserError(f"{name} in the store URL {shown} must be {want}, got {raw!r}")
    return value


def engine_settings(url: URL, shown: str) -> EngineSettings:
    """Split lyceum's engine settings from ``url``'s query (see the module docs).

    Args:
        url: The parsed store URL.
        shown: The URL as errors may show it (password masked).

    Raises:
        UserError: A setting that is not a number (or boolean), is out of range, is given
            twice, or does not apply (``busy_timeout`` on PostgreSQL, pool settings on an
            in-memory SQLite database).
    """
    sqlite = url.get_backend_name() == "sqlite"
    memory = sqlite and url.database in (None, "", ":memory:")
    pool: dict[str, Any] = {} if sqlite else {"pool_pre_ping": True}
    busy = SQLITE_BUSY_TIMEOUT_MS
    ours = [k for k in url.query if k in (*POOL_SETTINGS, "busy_timeout")]
    for name in ours:
        raw = url.query[name]
        if not isinstance(raw, str):
            raise UserError(f"{name} is given more than once in the store URL {shown}")
        if name == "busy_timeout":
            if not sqlite:
                raise UserError(
                    f"busy_timeout in the store URL {shown} is SQLite's; PostgreSQL waits "
                    "for locks by itself (use its lock_timeout setting)"
                )
            busy = int(_number(name, raw, shown))
        elif memory:
            raise UserError(
                f"{name} in the store URL {shown}: an in-memory SQLite database is one shared "
                "connection, without a pool; drop it"
            )
        elif name == "pool_pre_ping":
            if raw.lower() not in _TRUE | _FALSE:
                raise UserError(f"pool_pre_ping in the store URL {shown} must be true or false")
            pool[name] = raw.lower() in _TRUE
        else:
            pool[name] = _number(name, raw, shown)
    return EngineSettings(url.difference_update_query(ours), pool, busy)
