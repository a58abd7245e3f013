"""CachedModel: record once, replay by normalised request hash; replay mode never calls out."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.models import CachedModel, FunctionModel, ModelRequest
from protocols import StoreError, UserError


async def test_record_then_replay_by_request_hash(tmp_path: Path) -> None:
    inner = FunctionModel(lambda r: f"reply to {r.messages[-1].content}")
    cache = CachedModel(inner, tmp_path / "calls.sqlite")
    first = await cache.complete(ModelRequest.of("hi"))
    again = await cache.complete(ModelRequest.of("hi"))
    other = await cache.complete(ModelRequest.of("hi", temperature=0.7))
    assert first == again and other.text == "reply to hi"
    assert (cache.hits, cache.misses, len(inner.calls)) == (1, 2, 2)
    await cache.aclose()

    offline = CachedModel(
        FunctionModel(lambda r: "must not be called"), tmp_path / "calls.sqlite", mode="replay"
    )
    assert (await offline.complete(ModelRequest.of("hi"))).text == "reply to hi"
    with pytest.raises(UserError, match="no recorded reply for this request"):
        await offline.complete(ModelRequest.of("something new"))
    await offline.aclose()


async def test_scores_are_cached_too(tmp_path: Path) -> None:
    class Scorer(FunctionModel):
        async def score(self, prompt: str, continuations: object) -> list[float]:
            self.calls.append(ModelRequest.of(prompt))
            return [-1.0, -2.5]

    inner = Scorer(lambda r: "")
    cache = CachedModel(inner, tmp_path / "c.sqlite")
    assert await cache.score("p", ["a", "b"]) == [-1.0, -2.5]
    assert await cache.score("p", ["a", "b"]) == [-1.0, -2.5]
    assert len(inner.calls) == 1
    await cache.aclose()


def test_the_request_hash_ignores_nothing_that_matters() -> None:
    base = ModelRequest.of("hi", system="s")
    assert base.request_hash("m") == ModelRequest.of("hi", system="s").request_hash("m")
    assert base.request_hash("m") != base.request_hash("other-model")
    assert base.request_hash("m") != ModelRequest.of("hi", system="s", max_tokens=9).request_hash(
        "m"
    )


async def test_a_corrupt_cache_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"not sqlite" * 100)
    cache = CachedModel(FunctionModel(lambda r: "x"), path)
    with pytest.raises(StoreError, match="not a lyceum cache file"):
        await cache.complete(ModelRequest.of("hi"))
