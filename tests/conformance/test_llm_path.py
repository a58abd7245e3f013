"""One suite of LLM-path tests, run on every backend (``backends.py``): real
``transformers serve`` processes, ``FakeOpenAIServer`` in each server's mode, and
``TransformersClient`` in-process.

What a path must do on a backend follows from the backend's ``structured`` capability:
- ``valid``: decoding is constrained to the schema, so every structured call validates at
  the first attempt.
- ``invalid``: nothing constrains the tiny random model, whose word-level vocabulary cannot
  spell JSON, so each structured call ends in ``UnexpectedModelOutput`` after the bounded
  re-asks, every attempt recorded with its tokens. The run stops with a typed ``Error``.
- ``model``: it is up to the model (Gemma over ``transformers serve``, which ignores
  ``response_format``, so only the prompt states the schema); either outcome is asserted
  whole: a validated value, or the failure after the bounded re-asks. Measured: Gemma
  3 270M (a base model) repeats its system prompt instead of writing JSON
  (docs/models.md).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import pytest

from protocols import Error

from .backends import Live
from .paths import MAX_TOKENS, PATHS, Outcome, Verdict, structured_attempts

pytestmark = pytest.mark.allow_model_requests

REASKS = 2
"""``ctx.complete``'s default re-asks: an invalid structured call makes 1 + 2 attempts."""

PENDING: dict[tuple[str, str], str] = {}
"""(backend, path) pairs that are known not to pass yet, with the reason; each is a strict
xfail, so the entry must go once the pair passes."""


async def run_path(path: str, live: Live, db: Path, request: pytest.FixtureRequest) -> Outcome:
    reason = PENDING.get((live.name, path))
    if reason:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    return await PATHS[path](live, db)


def without_details(outcome: Outcome) -> list[dict[str, Any]]:
    """The whole typed transcript, minus free texts written from a model's reply."""
    return [
        {k: v for k, v in m.items() if k not in ("detail", "text")}
        for m in outcome.result.transcript()
    ]


def assert_tokens_match_the_server(outcome: Outcome, live: Live) -> None:
    assert all(c.prompt_tokens > 0 and c.completion_tokens > 0 for c in outcome.calls)
    if live.tap is not None and outcome.server_tokens is not None:
        assert outcome.recorded_tokens == outcome.server_tokens


def assert_failed_after_reasks(outcome: Outcome, sender: str) -> None:
    """The honest failure: UnexpectedModelOutput after 1 + REASKS recorded attempts."""
    assert not outcome.ok
    error = outcome.error
    assert isinstance(error, Error) and error.error_type == "UnexpectedModelOutput", outcome.detail
    assert "did not validate" in error.detail
    assert without_details(outcome)[1:] == [
        {
            "sender": sender,
            "recipients": [],
            "parent": 0,
            "kind": "error",
            "error_type": "UnexpectedModelOutput",
            "recoverable": False,
        },
        {"sender": "runtime", "recipients": [], "parent": 1, "kind": "stop", "reason": "error"},
    ]
    assert structured_attempts(outcome.calls) == [1 + REASKS]
    assert all(c.status == "ok" and c.completion_tokens > 0 for c in outcome.calls)
    assert outcome.result.reason == "error"


def assert_cannot_stream(outcome: Outcome) -> None:
    """A client without streaming says so, and the failed call is recorded."""
    error = outcome.error
    assert isinstance(error, Error) and error.error_type == "NotImplementedError"
    assert "does not support streaming" in error.detail
    (call,) = outcome.calls
    assert call.status == "error" and call.prompt_tokens == call.completion_tokens == 0


async def test_completion(live: Live, db: Path, request: pytest.FixtureRequest) -> None:
    outcome = await run_path("completion", live, db, request)
    assert outcome.ok, outcome.detail
    (call,) = outcome.calls
    assert call.status == "ok" and call.response is not None
    assert outcome.detail == call.response["text"] and outcome.detail.strip()
    assert 1 <= call.completion_tokens <= MAX_TOKENS
    assert without_details(outcome)[1:] == [
        {"sender": "agent", "recipients": [], "parent": 0, "kind": "stop", "reason": "completed"}
    ]
    if live.tap is not None:
        assert outcome.server_tokens is not None  # every server reports usage in JSON
    assert_tokens_match_the_server(outcome, live)


async def test_stream_equals_completion_and_is_counted(
    live: Live, db: Path, request: pytest.FixtureRequest
) -> None:
    completed = await run_path("completion", live, db, request)
    outcome = await run_path("stream", live, db.with_name("stream.db"), request)
    if not live.backend.streams:
        assert_cannot_stream(outcome)
        return
    assert outcome.ok, outcome.detail
    assert outcome.detail == completed.detail  # greedy decoding on every backend
    (call,) = outcome.calls
    if live.backend.usage_in_stream:
        assert call.completion_tokens == completed.calls[0].completion_tokens
        assert_tokens_match_the_server(outcome, live)
    else:  # counted locally or estimated, and marked so
        assert outcome.server_tokens is None and call.completion_tokens > 0
        assert call.usage_estimated  # no tokenizer given: ceil(chars / 4)
        assert call.completion_tokens == math.ceil(len(outcome.detail) / 4)


async def test_structured_output(live: Live, db: Path, request: pytest.FixtureRequest) -> None:
    outcome = await run_path("structured", live, db, request)
    if not failed_as_expected(outcome, live, "agent"):
        Verdict.model_validate_json(outcome.detail)
        attempts = structured_attempts(outcome.calls)
        assert len(attempts) == 1
        assert_reasked_only_when_cut(outcome, live)
    assert_tokens_match_the_server(outcome, live)


async def test_a_persona_turn(live: Live, db: Path, request: pytest.FixtureRequest) -> None:
    outcome = await run_path("persona turn", live, db, request)
    if failed_as_expected(outcome, live, "teacher"):  # at Think
        return
    shape = [(m["sender"], m["kind"]) for m in outcome.result.transcript()]
    assert shape[:3] == [("user", "answer"), ("teacher", "thought"), ("teacher", "plan")]
    assert shape[3][0] == "teacher" and shape[3][1] in ("question", "hint", "explanation", "stop")
    assert shape[-1][1] == "stop" and len(shape) <= 5
    attempts = structured_attempts(outcome.calls)
    assert len(attempts) == 3 and all(1 <= n <= 1 + REASKS for n in attempts)
    assert_reasked_only_when_cut(outcome, live)
    assert_tokens_match_the_server(outcome, live)


def assert_reasked_only_when_cut(outcome: Outcome, live: Live) -> None:
    """Where decoding is constrained, a reply is always schema-valid unless ``max_tokens``
    cut it short: every attempt that was re-asked ended with finish reason "length"."""
    if live.backend.structured != "valid":
        return
    for call, after in itertools.pairwise(outcome.calls):
        if after.request.get("structured_attempt", 1) > 1:
            assert call.response is not None
            assert call.response["finish_reason"] == "length", call.response["text"]


def failed_as_expected(outcome: Outcome, live: Live, sender: str) -> bool:
    """True, after checking the honest failure, when the backend cannot give valid output
    (or it is up to the model, and it did not)."""
    expected = live.backend.structured
    if expected == "invalid" or (expected == "model" and not outcome.ok):
        assert_failed_after_reasks(outcome, sender)
        return True
    assert outcome.ok, outcome.detail
    return False


async def test_the_meta_planner(live: Live, db: Path, request: pytest.FixtureRequest) -> None:
    outcome = await run_path("planner", live, db, request)
    if failed_as_expected(outcome, live, "meta"):
        return
    kinds = [m["kind"] for m in outcome.result.transcript()]
    assert kinds == ["task_assignment", "task_result", "stop"]
    assert_reasked_only_when_cut(outcome, live)


async def test_few_shot_prediction(live: Live, db: Path, request: pytest.FixtureRequest) -> None:
    outcome = await run_path("few-shot", live, db, request)
    if failed_as_expected(outcome, live, "agent"):
        return
    assert -1.0 <= float(outcome.detail) <= 1.0
    attempts = structured_attempts(outcome.calls)
    assert len(attempts) == 2
    assert_reasked_only_when_cut(outcome, live)


@pytest.mark.parametrize("path", ["token budget", "stream token budget"])
async def test_a_token_budget_stops_the_run(
    live: Live, db: Path, request: pytest.FixtureRequest, path: str
) -> None:
    outcome = await run_path(path, live, db, request)
    if path == "stream token budget" and not live.backend.streams:
        assert_cannot_stream(outcome)
        return
    assert outcome.result.reason == "max_tokens", outcome.detail
    *earlier, last = outcome.calls
    spent = [c.prompt_tokens + c.completion_tokens for c in earlier]
    # Every call but the last was within budget; the last reached it, and its reply was
    # capped to what was left (max_tokens), or its stream cut where the estimate passed it.
    assert all(c.status == "ok" for c in earlier)
    assert sum(spent) < 40 <= sum(spent) + last.prompt_tokens + last.completion_tokens
    assert last.request["max_tokens"] <= 40 - sum(spent)
    if last.status != "ok":  # a stream stopped by the gateway, counted as estimated
        assert path == "stream token budget" and last.usage_estimated
        assert "tokens" in (last.error or "")


async def test_a_model_call_budget_stops_the_run(
    live: Live, db: Path, request: pytest.FixtureRequest
) -> None:
    outcome = await run_path("call budget", live, db, request)
    assert outcome.result.reason == "max_model_calls", outcome.detail
    assert len(outcome.calls) == 2 and all(c.status == "ok" for c in outcome.calls)
