"""Production engine settings from a store URL's query (``protocols.sql_settings``): pool
size, overflow, timeout, recycling, pre-ping and SQLite's busy timeout, on every store and
both backends; bad values are one-line errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import TimeoutError as PoolTimeout

from agents.eval import SweepStore
from agents.store import SqlRunStore
from agents.store.store import RUN_STORE as RUN_STORE_SCHEMA
from knowledge_graph import SqlGraphStore
from protocols import UserError
from protocols.sql import open_engine
from protocols.sql_settings import SQLITE_BUSY_TIMEOUT_MS, engine_settings
from tests.conftest import _postgres_database


def with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def test_settings_leave_the_url_and_other_parameters_go_to_the_driver() -> None:
    url = make_url(
        "postgresql+psycopg://me:pw@db/lyceum?pool_size=10&max_overflow=-1&pool_timeout=2.5"
        "&pool_recycle=1800&pool_pre_ping=false&sslmode=require&application_name=worker"
    )
    settings = engine_settings(url, "shown")
    assert settings.pool == {
        "pool_pre_ping": False,
        "pool_size": 10,
        "max_overflow": -1,
        "pool_timeout": 2.5,
        "pool_recycle": 1800,
    }
    assert dict(settings.url.query) == {"sslmode": "require", "application_name": "worker"}
    assert settings.busy_timeout_ms == SQLITE_BUSY_TIMEOUT_MS
    assert engine_settings(make_url("postgresql+psycopg://db/x"), "s").pool == {
        "pool_pre_ping": True  # a connection the server dropped is replaced, not failed on
    }
    sqlite = engine_settings(make_url("sqlite:///x.db?busy_timeout=250"), "s")
    assert (sqlite.pool, sqlite.busy_timeout_ms, dict(sqlite.url.query)) == ({}, 250, {})


@pytest.mark.parametrize(
    ("url", "error"),
    [
        (
            "sqlite:///x.db?pool_size=many",
            "pool_size in the store URL shown must be an integer ≥ 0, got 'many'",
        ),
        (
            "sqlite:///x.db?max_overflow=-2",
            "max_overflow in the store URL shown must be an integer ≥ -1, got '-2'",
        ),
        (
            "sqlite:///x.db?pool_timeout=0",
            "pool_timeout in the store URL shown must be a positive number of seconds, got '0'",
        ),
        (
            "sqlite:///x.db?pool_pre_ping=maybe",
            "pool_pre_ping in the store URL shown must be true or false",
        ),
        (
            "sqlite:///x.db?pool_size=1&pool_size=2",
            "pool_size is given more than once in the store URL shown",
        ),
        (
            "postgresql+psycopg://db/x?busy_timeout=5",
            "busy_timeout in the store URL shown is SQLite's",
        ),
        ("sqlite://?pool_size=3", "an in-memory SQLite database is one shared connection"),
    ],
)
def test_bad_settings_are_one_line_errors(url: str, error: str) -> None:
    with pytest.raises(UserError) as info:
        engine_settings(make_url(url), "shown")
    assert error in str(info.value) and "\n" not in str(info.value)


def test_a_store_refuses_a_bad_setting_before_touching_the_database(tmp_path: Path) -> None:
    db = f"{tmp_path}/x.db"
    with pytest.raises(UserError, match=r"pool_size in the store URL 'sqlite:///.* got 'x'"):
        SqlRunStore(f"sqlite:///{db}?pool_size=x").list_runs()
    assert not (tmp_path / "x.db").exists()


def test_the_pool_is_sized_from_the_url_on_each_backend(store_url: str) -> None:
    url = with_query(store_url, "pool_size=1&max_overflow=0&pool_timeout=0.2&pool_recycle=60")
    engine = open_engine(url, RUN_STORE_SCHEMA)
    try:
        with engine.connect() as held:
            held.execute(text("SELECT 1"))
            start = time.perf_counter()
            with pytest.raises(PoolTimeout), engine.connect():
                pass  # the one pooled connection is held, and no overflow is allowed
            assert time.perf_counter() - start < 5
        with engine.connect() as again:  # returned to the pool: usable again
            assert again.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_every_store_opens_with_settings_in_its_url(store_url: str) -> None:
    url = with_query(store_url, "pool_size=2&max_overflow=1&pool_recycle=300")
    with SqlRunStore(url) as runs:
        assert runs.list_runs() == []
    with SweepStore(url) as sweeps:
        sweeps.begin("h" * 64, "tom", {})
        assert [s.kind for s in sweeps.sweeps()] == ["tom"]
    graph = SqlGraphStore(url)
    try:
        assert graph.stats().nodes == 0
    finally:
        graph.close()


def test_sqlite_takes_its_busy_timeout_from_the_url(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path}/b.db?busy_timeout=1234", RUN_STORE_SCHEMA)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
    finally:
        engine.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.mark.postgres
def test_a_postgres_connection_the_server_dropped_is_replaced(postgres_url: str) -> None:
    engine = open_engine(with_query(postgres_url, "pool_size=1&max_overflow=0"), RUN_STORE_SCHEMA)
    killer = open_engine(postgres_url, RUN_STORE_SCHEMA)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with killer.connect() as admin:  # the server drops the pooled, idle connection
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.commit()
        with engine.connect() as conn:  # pre-ping sees it dead and reconnects
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        engine.dispose()
        killer.dispose()


def test_settings_are_shown_while_secrets_in_the_query_stay_masked() -> None:
    from protocols.secrets import mask_db_url, url_secrets

    url = "postgresql+psycopg://app:pw-1234@db/l?pool_size=4&password=hunter22&pool_recycle=1800"
    assert mask_db_url(url) == (
        "postgresql+psycopg://app:***@db/l?password=***&pool_recycle=1800&pool_size=4"
    )
    assert "hunter22" in url_secrets(url) and "1800" not in url_secrets(url)
