"""Shared fixtures: stores on SQLite and PostgreSQL, the loopback model server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.models.fake_server import FakeOpenAIServer

REQUIRE_ALL = os.environ.get("LYCEUM_REQUIRE_ALL") == "1"
PG_ENV = "LYCEUM_TEST_POSTGRES_URL"


def require(ok: bool, reason: str) -> None:
    """Skip with ``reason`` on a laptop; fail under ``LYCEUM_REQUIRE_ALL=1`` (CI)."""
    if ok:
        return
    if REQUIRE_ALL:
        pytest.fail(f"LYCEUM_REQUIRE_ALL=1 but {reason}")
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[pytest.CollectReport]:
    """A test module skipped whole (``pytest.importorskip`` of an optional package at its
    top) fails its collection under ``LYCEUM_REQUIRE_ALL=1``, as ``require`` fails a test:
    CI never skips a module silently."""
    report: pytest.CollectReport = yield
    if REQUIRE_ALL and report.skipped and isinstance(collector, pytest.Module):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"LYCEUM_REQUIRE_ALL=1 but {collector.nodeid} was skipped: {reason}"
    return report


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


def _postgres_database() -> Iterator[str]:
    admin_url = os.environ.get(PG_ENV)
    require(bool(admin_url), f"{PG_ENV} is not set (a PostgreSQL URL; .ci/run starts one)")
    assert admin_url is not None
    try:
        import psycopg
    except ImportError:
        require(False, "psycopg is not installed (pip install 'lyceum[postgres]')")
    plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"lyceum_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each backend of the conformance suite."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'runs.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """A local Ray cluster for the session (two CPUs, no dashboard); workers import the
    repository's modules (``tests.sweep_tasks``) through PYTHONPATH."""
    try:
        import ray
    except ImportError:
        require(False, "ray is not installed (pip install 'lyceum[ray]')")
    before = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"  # a throwaway loopback cluster
    root = str(Path(__file__).resolve().parents[1])
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level="warning",
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": root, "RAY_AUTH_MODE": "disabled"}},
    )
    try:
        yield
    finally:
        ray.shutdown()
        if before is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = before
