"""Helpers for the app's ``AppTest`` tests: open a page of ``ui/app.py`` on a given store,
and rerun it until a background job shows what a test waits for."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "ui" / "app.py"


def open_page(page: str, db: str, monkeypatch: pytest.MonkeyPatch, timeout: float = 30) -> AppTest:
    """A fresh browser session (``AppTest``) of the app on store ``db``, on ``page``
    (``"views/runs.py"``), run once."""
    monkeypatch.setenv("LYCEUM_DB", db)
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.run()
    at.switch_page(page).run()
    return at


def rerun_until(
    at: AppTest, done: Callable[[AppTest], bool], *, seconds: float = 30, pause: float = 0.2
) -> AppTest:
    """Rerun ``at`` (as the page's polling would) until ``done(at)``, at most ``seconds``."""
    end = time.monotonic() + seconds
    while True:
        at.run()
        if done(at):
            return at
        if time.monotonic() > end:
            raise AssertionError(f"the page did not get there in {seconds:g} s")
        time.sleep(pause)


def no_trace(at: AppTest) -> None:
    """Assert the page shows no exception (stack trace)."""
    assert not at.exception, [e.value for e in at.exception]
