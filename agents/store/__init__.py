"""The run store: every run, message, model call and event, persisted with SQLAlchemy."""

from agents.store.records import ModelCallRecord, RunRecord
from agents.store.store import DEFAULT_DB, RunStore, resolve_db_url

__all__ = ["DEFAULT_DB", "ModelCallRecord", "RunRecord", "RunStore", "resolve_db_url"]
