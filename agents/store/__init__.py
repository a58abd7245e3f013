"""The run store: every run, message, model call and event, persisted with SQLAlchemy.

``RunStore`` is the interface; ``SqlRunStore`` implements it on SQLite and PostgreSQL;
``StepWriter`` writes a run's steps on a background thread so the event loop never waits
on the database.
"""

from agents.store.base import RunStore
from agents.store.records import ModelCallRecord, RunFinish, RunRecord, StepRecord
from agents.store.store import DEFAULT_DB, SqlRunStore, resolve_db_url
from agents.store.writer import StepWriter

__all__ = [
    "DEFAULT_DB",
    "ModelCallRecord",
    "RunFinish",
    "RunRecord",
    "RunStore",
    "SqlRunStore",
    "StepRecord",
    "StepWriter",
    "resolve_db_url",
]
