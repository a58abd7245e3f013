"""Root pytest configuration: real model requests are forbidden unless a test opts in.

Clients that reach a real model (``OpenAIChatClient``) check ``LYCEUM_BLOCK_MODEL_REQUESTS``;
every test runs with it set, except those marked ``@pytest.mark.allow_model_requests``
(which talk to the loopback server the tests start themselves).
"""

from __future__ import annotations

import pytest

from agents.models import BLOCK_ENV


@pytest.fixture(autouse=True)
def _block_model_requests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("allow_model_requests"):
        monkeypatch.delenv(BLOCK_ENV, raising=False)
    else:
        monkeypatch.setenv(BLOCK_ENV, "1")
