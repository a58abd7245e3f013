"""The app end to end in a real browser: ``lyceum ui`` runs as a subprocess on a free port
with a fresh SQLite store, and Playwright drives Debian's Chromium through it. Screenshots
go to ``$LYCEUM_ARTIFACTS`` (default ``test-artifacts/ui/``) for a person to look at.

Skipped with the reason when Chromium or Playwright is missing; under
``LYCEUM_REQUIRE_ALL=1`` (CI) that is a failure. Never ``playwright install``: the test
uses the system's ``chromium`` through ``executable_path``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.store import SqlRunStore
from protocols import PatientUtterance, StoreError

from .conftest import require
from .servers import die_with_parent
from .test_patient import INTERVIEW

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("LYCEUM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("LYCEUM_ARTIFACTS") or "test-artifacts/ui")
STARTUP_S = 90.0
WAIT_MS = 30_000
WRITTEN = {
    "Situation": "A friend hadn't replied to her texts for a couple of days.",
    "Emotions": "sad and anxious",
    "Core beliefs": "She believes she isn't good enough and that people will leave her.",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"lyceum ui exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(0.3)
    pytest.fail(f"lyceum ui did not answer within {STARTUP_S:g}s:\n{log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop ``lyceum ui`` and its Streamlit child (their own process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``(url, db)``: ``lyceum ui`` serving a fresh store; stopped at the end, even on failure."""
    require(
        Path(CHROMIUM).is_file(),
        f"Chromium is not at {CHROMIUM}: apt install chromium, or set LYCEUM_CHROMIUM",
    )
    require(
        importlib.util.find_spec("playwright") is not None,
        "playwright is not installed (pip install 'lyceum[dev]')",
    )
    folder = tmp_path_factory.mktemp("ui")
    db = f"sqlite:///{folder / 'runs.db'}"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "LYCEUM_DATA_DIR"}
    script = Path(sys.executable).with_name("lyceum")  # the installed command
    lyceum = [str(script)] if script.is_file() else [sys.executable, "-m", "agents.cli"]
    log = folder / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*lyceum, "ui", "--db", db, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent,  # a kill -9 of pytest still stops lyceum ui
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc, log)
        yield url, db
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def browser(app: tuple[str, str]) -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def shot(page: Any, name: str) -> None:
    """Save a screenshot of the whole page (Streamlit scrolls inside its main block, so the
    viewport is made as tall as the content first)."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)  # the script run is over
    size = page.viewport_size
    height = page.evaluate(
        "document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight"
    )
    page.set_viewport_size({"width": size["width"], "height": min(max(height + 150, 600), 6000)})
    page.wait_for_timeout(800)  # canvases (dataframes) draw last
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(size)


def open_page(page: Any, url: str, path: str, title: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{url}/{path}")
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def ask(page: Any, text: str, turn: int) -> None:
    """Type a question into the chat input and wait for the patient's reply."""
    from playwright.sync_api import expect

    box = page.get_by_placeholder("Ask the patient…")
    box.fill(text)
    box.press("Enter")
    expect(page.locator(".st-key-patient_chat [data-testid='stChatMessage']")).to_have_count(
        2 * turn
    )


def test_a_patient_trainer_session_with_its_score(app: tuple[str, str], page: Any) -> None:
    from playwright.sync_api import expect

    url, db = app
    open_page(page, url, "patient", "Patient trainer")
    expect(page.get_by_text("Simulation.", exact=False)).to_be_visible()
    page.get_by_role("button", name="Start interview").click()
    for turn, question in enumerate(INTERVIEW, start=1):
        ask(page, question, turn)
    messages = page.get_by_test_id("stChatMessage")
    expect(messages.nth(5)).to_contain_text("She is tired of me; I must have done something wrong.")
    shot(page, "01-patient-interview")
    for label, text in WRITTEN.items():
        page.get_by_label(label, exact=True).fill(text)
    page.get_by_role("button", name="Score my cognitive model").click()
    expect(page.get_by_text("Mean over the fields")).to_be_visible()
    expect(page.get_by_text("Recorded as run")).to_be_visible()
    shot(page, "02-patient-score")
    runs = SqlRunStore(db, read_only=True).list_runs()
    assert [r.status for r in runs] == ["completed"]
    store = SqlRunStore(db, read_only=True)
    replies = [m for m in store.messages(runs[0].id) if isinstance(m, PatientUtterance)]
    assert len(replies) == len(INTERVIEW)
    expect(messages.nth(13)).to_contain_text(replies[-1].text)

    find_run(page, url, runs[0].id)  # the recorded interview, on the Runs page
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("completed")
    expect(page.locator(".st-key-runs_transcript")).to_contain_text(replies[-1].text)
    shot(page, "03-runs-patient")


def test_two_browser_sessions_do_not_share_an_interview(app: tuple[str, str], browser: Any) -> None:
    from playwright.sync_api import expect

    url, _ = app
    one, two = (browser.new_context(viewport={"width": 1200, "height": 900}) for _ in range(2))
    try:
        first, second = one.new_page(), two.new_page()
        for p in (first, second):
            p.set_default_timeout(WAIT_MS)
            open_page(p, url, "patient", "Patient trainer")
        first.get_by_role("button", name="Start interview").click()
        ask(first, "What happened this week?", 1)
        second.reload()
        expect(second.get_by_role("button", name="Start interview")).to_be_visible()
        expect(second.get_by_test_id("stChatMessage")).to_have_count(0)
        shot(second, "04-second-session-untouched")
    finally:
        one.close()
        two.close()


def test_knowledge_graph_search_and_pictures(app: tuple[str, str], page: Any) -> None:
    from playwright.sync_api import expect

    url, _ = app
    open_page(page, url, "knowledge", "Knowledge graph")
    page.get_by_label("Search").fill("the student adds the tops and the bottoms")
    page.get_by_label("Search").press("Enter")
    context = page.locator(".st-key-kg_context")  # the table is drawn on a canvas
    expect(context).to_contain_text("[item:frac-add-1] -EXHIBITS-> [misconception:add_across]")
    for picture in (".st-key-kg_retrieval", ".st-key-kg_neighbourhood"):
        expect(page.locator(f"{picture} svg g.node").first).to_be_visible()
    assert page.locator(".st-key-kg_retrieval svg g.node").count() == 5
    shot(page, "05-knowledge-search")


def test_an_unreachable_endpoint_is_an_error_box(app: tuple[str, str], page: Any) -> None:
    from playwright.sync_api import expect

    url, _ = app
    open_page(page, url, "models", "Models")
    port = _free_port()
    page.get_by_role("textbox", name="Endpoint URL").fill(f"http://127.0.0.1:{port}/v1")
    page.get_by_role("textbox", name="Model name").fill("tiny")
    page.get_by_role("button", name="Test connection").click()
    error = page.get_by_test_id("stAlertContentError")
    expect(error).to_contain_text("cannot reach the endpoint")
    expect(page.get_by_role("heading", name="Who runs each classroom role")).to_be_visible()
    expect(page.get_by_text("Traceback")).to_have_count(0)
    shot(page, "06-models-unreachable")


def find_run(page: Any, url: str, run_id: str) -> None:
    """Open the Runs page filtered to one run (its id or a prefix), which it then opens."""
    from playwright.sync_api import expect

    open_page(page, url, "runs", "Runs")
    search = page.get_by_role("textbox", name="Search (id, task, stop reason)")
    search.fill(run_id)
    search.press("Enter")
    expect(page.get_by_role("combobox", name="Open run")).to_have_value(re.compile(run_id[:12]))


def test_a_short_classroom_live_then_on_the_runs_page(app: tuple[str, str], page: Any) -> None:
    from playwright.sync_api import expect

    url, db = app
    open_page(page, url, "", "Classroom")  # the first page is the root
    for name, value in (("Simulated students", "2"), ("Turns", "12")):
        box = page.get_by_role("spinbutton", name=name)
        box.fill(value)
        box.press("Enter")
    expect(page.get_by_text("Profile of ben")).to_be_visible()
    expect(page.get_by_text("Profile of cleo")).to_have_count(0)
    page.get_by_role("button", name="Run", exact=True).click()
    done = page.get_by_test_id("stAlertContentSuccess")
    expect(done).to_contain_text("completed", timeout=90_000)
    transcript = page.locator(".st-key-classroom_transcript")
    expect(transcript).to_contain_text("teacher")
    expect(page.locator(".st-key-classroom_mastery img")).to_be_visible()
    expect(page.locator(".st-key-classroom_estimates img")).to_be_visible()
    shot(page, "07-classroom-run")
    (run,) = [r for r in SqlRunStore(db, read_only=True).list_runs() if r.graph_source]
    assert run.status == "completed" and run.id[:12] in done.inner_text()

    find_run(page, url, run.id)
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("completed")
    expect(page.locator(".st-key-runs_mastery img")).to_be_visible()
    expect(page.locator(".st-key-runs_transcript")).to_contain_text("teacher")
    shot(page, "08-runs-classroom")


def stored_statuses(db: str, *, until: str, seconds: float = 15.0) -> set[str]:
    """The statuses of the app's graph runs in ``db``, read (never written: the app's
    server is still running) until one is ``until`` or ``seconds`` pass; a read that meets
    the app's write in progress is tried again."""
    deadline = time.monotonic() + seconds
    statuses: set[str] = set()
    while time.monotonic() < deadline:
        with contextlib.suppress(StoreError):
            with SqlRunStore(db, read_only=True) as store:
                statuses = {r.status for r in store.list_runs() if r.graph_source}
            if until in statuses:
                break
        time.sleep(0.25)
    return statuses


def test_stopping_a_classroom_halfway(app: tuple[str, str], page: Any) -> None:
    from playwright.sync_api import expect

    url, db = app
    open_page(page, url, "", "Classroom")
    for name, value in (("Turns", "400"), ("Pace (s per message)", "0.2")):
        box = page.get_by_role("spinbutton", name=name)
        box.fill(value)
        box.press("Enter")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_text("The lesson is running…")).to_be_visible()
    expect(page.locator(".st-key-classroom_transcript")).to_contain_text("lesson_step")
    page.get_by_role("button", name="Stop", exact=True).click()
    stopped = page.get_by_test_id("stAlertContentInfo").filter(has_text="Stopped.")
    expect(stopped).to_contain_text("The run is recorded as interrupted, nothing lost.")
    expect(page.get_by_text("Traceback")).to_have_count(0)
    shot(page, "09-classroom-stopped")
    assert "interrupted" in stored_statuses(db, until="interrupted")
