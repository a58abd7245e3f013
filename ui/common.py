"""What every page of the app shares: the store's URL, the per-browser-session state, and
error boxes.

The app is a client (``../shared/STYLE.md`` §14): it uses only the public API, the event
stream and the store. State lives in ``st.session_state`` (one per browser session), never
in a module global, so two people using the app at once never see each other's runs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st
from pydantic import ValidationError

from agents.classroom import ModelEndpoint, RoleMinds
from protocols import ConfigError, LyceumError
from protocols.config import error_message

__all__ = [
    "DEFAULT_DB",
    "SIMULATION_NOTE",
    "UISession",
    "db_url",
    "error_box",
    "load_upload",
    "session",
    "shown_errors",
    "simulation_label",
]

T = TypeVar("T")

DEFAULT_DB = "sqlite:///lyceum.db"
"""The store when ``LYCEUM_DB`` is unset (``lyceum ui --db`` sets it)."""

SIMULATION_NOTE = (
    "SIMULATION: these results come from simulated minds (documented cognitive models, "
    "no LLM); they describe the simulation, not language models or real students."
)
"""The label shown wherever results from simulated minds appear."""


@dataclass
class UISession:
    """One browser session's choices, shared by its pages.

    Attributes:
        endpoint: The OpenAI-compatible endpoint set on the Models page, if any.
        minds: Which mind runs each classroom role (Models page).
        extra: Page-specific state, by page (e.g. a live classroom run).
    """

    endpoint: ModelEndpoint | None = None
    minds: RoleMinds = field(default_factory=RoleMinds)
    extra: dict[str, Any] = field(default_factory=dict)


def session() -> UISession:
    """This browser session's state (made on first use)."""
    if "lyceum" not in st.session_state:
        st.session_state["lyceum"] = UISession()
    state: UISession = st.session_state["lyceum"]
    return state


def db_url() -> str:
    """The store the app reads and writes: ``$LYCEUM_DB`` or ``sqlite:///lyceum.db``."""
    return os.environ.get("LYCEUM_DB") or DEFAULT_DB


def _pydantic_line(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"]) or "input"
    return f"{where}: {error_message(first)}"


def error_box(exc: BaseException) -> None:
    """Show ``exc`` as an error box: one clear message, never a stack trace."""
    if isinstance(exc, ValidationError):
        st.error(f"Invalid input: {_pydantic_line(exc)}")
    elif isinstance(exc, LyceumError):
        st.error(str(exc))
    else:
        st.error(f"{type(exc).__name__}: {exc}")


@contextmanager
def shown_errors() -> Iterator[None]:
    """Run the block; a lyceum or validation error becomes an error box instead of a trace."""
    try:
        yield
    except (LyceumError, ValidationError, OSError, ValueError) as exc:
        error_box(exc)


def simulation_label(what: str = "") -> None:
    """The SIMULATION label (``SIMULATION_NOTE``), with ``what`` said first when given."""
    st.warning(f"{what} {SIMULATION_NOTE}".strip(), icon=":material/science:")


def load_upload(name: str, data: bytes, load: Callable[[Path], T]) -> T:
    """Read an uploaded file with ``load`` (which takes a path, e.g. a config loader):
    the upload is saved under its own name in a temporary folder, and an error names the
    upload (``mine.yaml:3``), not that folder.

    Raises:
        ConfigError: From ``load``, naming the uploaded file.
    """
    safe = Path(name).name or "upload.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / safe
        path.write_bytes(data)
        try:
            return load(path)
        except ConfigError as exc:
            if exc.path is None or not exc.path.startswith(tmp):
                raise
            raise ConfigError(exc.problem, path=safe, line=exc.line, field=exc.field) from None
