"""``transformers serve`` as docs/models.md describes it, and the fixture that runs it."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from ..servers import TransformersServe
from .backends import Backends

pytestmark = pytest.mark.allow_model_requests


def test_the_server_is_pinned_to_its_folder_and_ignores_response_format(
    backends: Backends,
) -> None:
    server = backends.server("tiny")
    root = server.base_url
    listed = httpx.get(f"{root}/models").json()["data"]
    assert [m["id"] for m in listed] == [server.model]
    chat = {"messages": [{"role": "user", "content": "the student adds"}], "max_tokens": 4}
    other = httpx.post(f"{root}/chat/completions", json={**chat, "model": "tiny"})
    assert other.status_code == 400
    assert other.json() == {"detail": f"Server is pinned to '{server.model}'; requested 'tiny'."}
    schema = {"type": "json_schema", "json_schema": {"name": "o", "schema": {"type": "object"}}}
    ignored = httpx.post(
        f"{root}/chat/completions",
        json={**chat, "model": server.model, "temperature": 0, "response_format": schema},
    )
    plain = httpx.post(
        f"{root}/chat/completions", json={**chat, "model": server.model, "temperature": 0}
    )
    assert ignored.status_code == plain.status_code == 200
    assert ignored.json()["choices"][0]["message"] == plain.json()["choices"][0]["message"]
    assert "Ignoring unsupported fields in the request: {'response_format'}" in server.log()
    unknown = httpx.post(f"{root}/chat/completions", json={**chat, "dialect": "prompt"})
    assert unknown.status_code == 422


@pytest.mark.slow  # starts a server of its own
def test_a_server_that_cannot_start_shows_its_log_and_is_gone(
    backends: Backends, tmp_path: Path
) -> None:
    backends.server("tiny")  # serving is available here (skips or fails otherwise)
    server = TransformersServe(tmp_path / "no-such-model", startup_timeout=120)
    with pytest.raises(RuntimeError, match="exited with 1 before it was healthy") as failed:
        server.start()
    assert "no-such-model" in str(failed.value)  # the server's own log says what it lacked
    assert server.log()  # still readable after the failure
    server.__exit__(None, None, None)
    assert server.log() == ""


@pytest.mark.slow  # starts a server of its own
def test_stopping_ends_the_whole_process_group(backends: Backends) -> None:
    folder = backends.folder("tiny")
    with TransformersServe(folder) as server:
        process = server._process
        assert process is not None and process.poll() is None
        group = os.getpgid(process.pid)
    assert process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)
