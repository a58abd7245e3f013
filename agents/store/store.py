"""``SqlRunStore``: the run store in SQL through SQLAlchemy (SQLite or PostgreSQL).

SQLite by default (``sqlite:///lyceum.db``; ``--db`` or ``LYCEUM_DB``), PostgreSQL by URL
(``postgresql+psycopg://…``). The engine is opened by ``protocols.sql.open_engine``, which
creates and upgrades the schema with Alembic on first use, refuses a file that is not a
lyceum store, and with ``read_only=True`` opens the database without changing it. Each
``write_steps`` call is one transaction, so a process killed mid-run leaves every step
committed before the kill; such a run is later marked ``interrupted``.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic_core import to_json
from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from agents.store.base import RunStore
from agents.store.records import ModelCallRecord, RunRecord, StepRecord
from agents.store.tables import Base, EventRow, MessageRow, ModelCallRow, RunRow
from protocols import (
    EVENT_ADAPTER,
    MESSAGE_ADAPTER,
    Event,
    Message,
    MessageSent,
    StoreError,
    UserError,
)
from protocols.errors import shorten
from protocols.secrets import Redactor, mask_db_url, url_secrets
from protocols.sql import (
    DEFAULT_DB,
    RUN_STORE_LOCK,
    JsonText,
    StoreSchema,
    is_memory_sqlite,
    open_engine,
    parse_db_url,
    resolve_db_url,
)

__all__ = ["DEFAULT_DB", "RUN_STORE", "SqlRunStore", "resolve_db_url", "sql_errors"]

RUN_STORE = StoreSchema(
    "run store",
    "agents.store",
    RUN_STORE_LOCK,
    tables=frozenset(Base.metadata.tables),
    version_table="alembic_version",
    maker="`lyceum demo`",
)
_ID_LENGTH = 64  # the width of runs.id

_RUNS = Base.metadata.tables["runs"]
_MESSAGES = Base.metadata.tables["messages"]
_EVENTS = Base.metadata.tables["events"]
_CALLS = Base.metadata.tables["model_calls"]
_JSON_FIELDS = {"request", "response"}
# Built once: a step's statements are the same every time, only their rows differ.
_INSERTS = (insert(_MESSAGES), insert(_EVENTS), insert(_CALLS))
_HEARTBEAT = (
    update(_RUNS).where(_RUNS.c.id == bindparam("run_id")).values(heartbeat_at=bindparam("now"))
)


@contextmanager
def sql_errors(url: str, doing: str) -> Iterator[None]:
    """Turn a database error into a ``StoreError`` saying what failed (``doing``) and where,
    with the URL masked and its secrets redacted from the driver's text."""
    try:
        yield
    except SQLAlchemyError as exc:
        why = Redactor(url_secrets(url))(str(getattr(exc, "orig", None) or exc))
        raise StoreError(
            f"{doing} {mask_db_url(url)} failed: {type(exc).__name__}: {why}. Nothing of "
            "this transaction was written."
        ) from None


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


def _unique_messages(steps: Sequence[StepRecord]) -> dict[tuple[str, str], Message]:
    """The messages ``steps`` write, by (run id, message id), where that pair names one."""
    seen: dict[tuple[str, str], list[Message]] = {}
    for step in steps:
        for _, message in step.messages:
            seen.setdefault((step.run_id, message.id), []).append(message)
    return {key: found[0] for key, found in seen.items() if len(found) == 1}


def _event_json(event: Event, written: dict[tuple[str, str], Message]) -> str:
    """An event's stored form. A ``MessageSent`` whose message is written in the same
    transaction keeps only the message's id: the message is stored once, in the messages
    table, and ``events()`` puts it back."""
    if (
        isinstance(event, MessageSent)
        and written.get((event.run_id, event.message.id)) == event.message
    ):
        return json.dumps(
            {
                "kind": event.kind,
                "run_id": event.run_id,
                "timestamp": event.timestamp.isoformat(),
                "message_id": event.message.id,
            }
        )
    return EVENT_ADAPTER.dump_json(event).decode()


def _event(payload: dict[str, Any], messages: dict[str, Message], run_id: str) -> Event:
    """An event read back; a ``MessageSent`` gets its message from the messages table (a
    store written before that change holds the whole message in the event, read as is)."""
    if payload.get("kind") == "message_sent" and "message_id" in payload:
        message = messages.get(payload["message_id"])
        if message is None:
            raise StoreError(
                f"run {run_id} has an event for message {payload['message_id']!r}, which "
                "its messages table lacks; the store was changed outside lyceum"
            )
        payload = {k: v for k, v in payload.items() if k != "message_id"} | {"message": message}
    return EVENT_ADAPTER.validate_python(payload)


class SqlRunStore(RunStore):
    """Persists runs in a SQL database. Constructing one does not touch the database; the
    first use does.

    A store never writes to a database that is not a lyceum store: a SQLite file holding
    other tables, or another program's Alembic revision, is refused with ``StoreError`` and
    left byte-identical. A ``read_only`` store never writes at all: it does not create the
    file, migrate the schema or change the journal mode, and it refuses a database that
    holds no run store. Its write methods raise ``UserError``.

    Args:
        url: A SQLAlchemy URL or a SQLite file path; None reads ``$LYCEUM_DB``, else
            ``sqlite:///lyceum.db``.
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
        """The URL to connect with; it may hold a password, so show ``display_url``."""
        self.read_only = read_only
        # One in-memory connection serves every thread, so its users take turns.
        shared = is_memory_sqlite(parse_db_url(self.url, RUN_STORE.name))
        self._turns: AbstractContextManager[Any] = threading.RLock() if shared else nullcontext()
        self.stale_after = stale_after
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._opening = threading.Lock()  # threads that first use the store open it once
        self.engines_opened = 0
        """How many engines (each a connection pool and a schema check) this store has
        opened: one, unless it was closed and used again."""

    def __repr__(self) -> str:
        return f"SqlRunStore({self.display_url!r})"

    @property
    def display_url(self) -> str:
        """The URL as it may be printed or logged: password and query values masked."""
        return mask_db_url(self.url)

    # -- lifecycle ---------------------------------------------------------------------
    def _open(self) -> sessionmaker[Session]:
        sessions = self._sessions
        if sessions is not None:
            return sessions
        with self._opening:
            if self._sessions is None:
                self._engine = open_engine(self.url, RUN_STORE, read_only=self.read_only)
                self._sessions = sessionmaker(self._engine, expire_on_commit=False)
                self.engines_opened += 1
            return self._sessions

    def init(self) -> SqlRunStore:
        """Create or upgrade the schema now (otherwise done on first use)."""
        self._open()
        return self

    def close(self) -> None:
        """Close pooled connections. The store reopens on next use."""
        with self._opening:
            if self._engine is not None:
                self._engine.dispose()
            self._engine = None
            self._sessions = None

    @contextmanager
    def _session(self) -> Iterator[Session]:
        sessions = self._open()
        if self.read_only:  # reads may mark runs interrupted in memory; nothing is written
            with self._turns, sessions(autoflush=False) as session:
                yield session
                session.rollback()
            return
        with self._turns, sessions.begin() as session:
            yield session

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A Core transaction; a database error is a ``StoreError`` naming the store, with
        the URL's secrets redacted from the driver's text."""
        if self.read_only:
            raise UserError(
                f"{self!r} was opened read_only, so it cannot write; open it without "
                "read_only=True to record runs"
            )
        self._open()
        assert self._engine is not None
        with (
            sql_errors(self.url, "writing to the run store"),
            self._turns,
            self._engine.begin() as conn,
        ):
            yield conn

    # -- writes ------------------------------------------------------------------------
    def create_run(self, run: RunRecord) -> None:
        with self._transaction() as conn:
            conn.execute(
                insert(_RUNS),
                {
                    "id": run.id,
                    "created_at": run.created_at,
                    "finished_at": None,
                    "heartbeat_at": run.created_at,
                    "status": "running",
                    "stop_reason": None,
                    "stop_detail": None,
                    "seed": run.seed,
                    "budget": run.budget,
                    "usage": {},
                    "graph_mermaid": run.graph_mermaid,
                    "graph_source": run.graph_source,
                    "initial_message": MESSAGE_ADAPTER.dump_python(
                        run.initial_message, mode="json"
                    ),
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "replay_of": run.replay_of,
                },
            )

    def write_steps(self, steps: Sequence[StepRecord]) -> None:
        """Write ``steps`` in one transaction with Core ``executemany`` inserts: messages,
        events and model calls, then each run's heartbeat and, where given, its outcome."""
        messages = [
            {
                "run_id": step.run_id,
                "seq": seq,
                "id": message.id,
                "kind": message.kind,
                "sender": message.sender,
                "payload": JsonText(MESSAGE_ADAPTER.dump_json(message).decode()),
                "created_at": message.timestamp,
            }
            for step in steps
            for seq, message in step.messages
        ]
        written = _unique_messages(steps)
        events = [
            {
                "run_id": step.run_id,
                "seq": seq,
                "kind": ev.kind,
                "payload": JsonText(_event_json(ev, written)),
                "created_at": ev.timestamp,
            }
            for step in steps
            for seq, ev in step.events
        ]
        calls = [
            call.model_dump(exclude=_JSON_FIELDS)
            | {name: JsonText(to_json(getattr(call, name)).decode()) for name in _JSON_FIELDS}
            for step in steps
            for call in step.model_calls
        ]
        now = datetime.now(UTC)
        with self._transaction() as conn:
            for statement, rows in zip(_INSERTS, (messages, events, calls), strict=True):
                if rows:
                    conn.execute(statement, rows)
            runs = dict.fromkeys(step.run_id for step in steps)
            conn.execute(_HEARTBEAT, [{"run_id": run_id, "now": now} for run_id in runs])
            for step in steps:
                if step.finish is not None:
                    conn.execute(
                        update(_RUNS)
                        .where(_RUNS.c.id == step.run_id)
                        .values(
                            status=step.finish.status,
                            stop_reason=step.finish.reason,
                            stop_detail=step.finish.detail,
                            usage=step.finish.usage,
                            finished_at=step.finish.finished_at,
                        )
                    )

    def reusable_run(self, run_id: str) -> RunRecord | None:
        """The finished run ``run_id``, to reuse rather than run again; or None, and the id
        is free to run under: there was no such run, or its process is gone (the run is
        ``interrupted``) and it is deleted with its messages, events and model calls.

        For callers that derive run ids from their own keys (``lyceum classroom --batch``):
        after a crash, a rerun reuses every finished run and replaces each interrupted one,
        so the store keeps one run per key and nothing finished runs twice.

        Raises:
            UserError: The run is still ``running``: its process is alive, or its host
                (another machine) sent a heartbeat within ``stale_after``.
            StoreError: The database failed; nothing was deleted.
        """
        if self.read_only:
            raise UserError(f"{self!r} was opened read_only; open it without read_only=True")
        with sql_errors(self.url, "reading the run store"), self._session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                return None
            s.expunge(row)  # only read here: a read turned write fails at once on SQLite
            self._reap(s, row)
            if row.status not in ("running", "interrupted"):
                return self._record(s, row)
        if row.status == "running":
            heartbeat = _utc(row.heartbeat_at) or datetime.now(UTC)
            raise UserError(
                f"run {run_id} is still running (process {row.pid} on {row.host}, last "
                f"step at {heartbeat:%Y-%m-%d %H:%M:%S} UTC), so it is not started twice; "
                "let it finish, or stop it; a run whose host is gone is taken over "
                f"{self.stale_after} after its last step"
            )
        # Writes first, so SQLite takes its write lock (waiting its busy timeout); a run
        # that finished meanwhile (another process took it over) is left alone.
        unfinished = select(_RUNS.c.id).where(
            _RUNS.c.id == run_id, _RUNS.c.status.in_(("running", "interrupted"))
        )
        with self._transaction() as conn:
            for table in (_EVENTS, _CALLS, _MESSAGES):
                conn.execute(delete(table).where(table.c.run_id.in_(unfinished)))
            conn.execute(delete(_RUNS).where(_RUNS.c.id.in_(unfinished)))
        return None

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
            rows = list(
                s.scalars(select(EventRow).where(EventRow.run_id == run_id).order_by(EventRow.seq))
            )
        by_id = {m.id: m for m in self.messages(run_id)} if rows else {}
        return [_event(row.payload, by_id, run_id) for row in rows]

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
