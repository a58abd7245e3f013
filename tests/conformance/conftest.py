"""Fixtures of the conformance suite: the backends, opened once per session.

``transformers serve`` is started on first use (the tiny model's server in the fast tier,
Gemma's in the slow one) and stopped when the session ends, whatever happened."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ..conftest import require
from .backends import BACKENDS, Backends, Live, NotYet


@pytest.fixture(scope="session")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    pytest.importorskip("torch", reason="pip install 'lyceum[local]'")
    opened = Backends(tmp_path_factory.mktemp("conformance"), require)
    try:
        yield opened
    finally:
        opened.close()


BACKEND_PARAMS = [
    pytest.param(name, id=name, marks=[pytest.mark.slow] if backend.slow else [])
    for name, backend in BACKENDS.items()
]


@pytest.fixture(params=BACKEND_PARAMS)
async def live(request: pytest.FixtureRequest, backends: Backends) -> AsyncIterator[Live]:
    try:
        opened = backends.open(request.param)
    except NotYet as exc:
        pytest.skip(str(exc))
    try:
        yield opened
    finally:
        await opened.aclose()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "runs.db"
