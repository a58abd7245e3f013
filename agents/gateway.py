"""The ``ModelGateway``: the one path from an agent to a model within a run.

It checks the budget, emits ``ModelCallStarted``/``TokenDelta``/``ModelCallFinished``,
records every call (failures too; never headers or keys; the runtime stores it with the step
it belongs to) and, when replaying a run, serves recorded responses instead of calling the
model.

Token budgets hold for every call, streams included. A call's ``max_tokens`` is capped to
what is left of the run's token budget (the call's hash stays that of the request as the
agent made it, so a replay matches it whatever was left; the record holds what was sent).
A stream is also stopped as soon as its text, estimated at ``ceil(chars / 4)`` tokens,
passes what is left, for servers that ignore ``max_tokens``. Usage a client had to
estimate (``Usage.estimated``) counts like any other and is recorded as estimated.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agents.budget import BudgetTracker
from agents.models.base import ModelClient, ModelRequest, ModelResponse, TextDelta, call_hash
from agents.models.usage import chars_to_tokens, estimate_tokens
from agents.store import ModelCallRecord
from protocols import (
    BudgetExceeded,
    Event,
    LyceumError,
    ModelCallFinished,
    ModelCallStarted,
    ModelHTTPError,
    TokenDelta,
    Usage,
    UserError,
)

__all__ = ["ModelGateway", "ReplaySource"]


_NO_USAGE = Usage()


@dataclass(frozen=True)
class _Call:
    """One model call in flight: what ``_finish`` records about it."""

    call_id: str
    seq: int
    agent: str
    client: ModelClient
    op: str
    request: dict[str, Any]
    rhash: str
    started: float


class _StreamOverBudget(Exception):
    """A stream's text passed the run's remaining token budget."""


@asynccontextmanager
async def _closing(
    stream: AsyncIterator[TextDelta | ModelResponse],
) -> AsyncIterator[AsyncIterator[TextDelta | ModelResponse]]:
    """Close a client's stream (an async generator) when we stop reading it early."""
    try:
        yield stream
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()


class ReplaySource:
    """Recorded calls of a run, served back in order per request hash."""

    def __init__(self, run_id: str, calls: Sequence[ModelCallRecord]) -> None:
        self.run_id = run_id
        self._calls: dict[str, deque[ModelCallRecord]] = defaultdict(deque)
        for call in calls:
            self._calls[call.request_hash].append(call)

    def take(self, agent: str, request_hash: str) -> ModelCallRecord:
        queue = self._calls.get(request_hash)
        if not queue:
            raise UserError(
                f"replay diverged: agent {agent!r} made a model call (hash {request_hash[:12]}) "
                f"that run {self.run_id} did not record. The graph or its prompts changed since "
                "the run was recorded."
            )
        return queue.popleft()


class ModelGateway:
    """Budgeted, recorded, replayable model calls for one run."""

    def __init__(
        self,
        *,
        run_id: str,
        tracker: BudgetTracker,
        record: Callable[[ModelCallRecord], None] | None,
        emit: Callable[[Event], None],
        clock: Callable[[], datetime],
        replay: ReplaySource | None = None,
    ) -> None:
        self.run_id = run_id
        self.tracker = tracker
        self.record = record
        self.emit = emit
        self.clock = clock
        self.replay = replay
        self.closed = False
        self._seq = 0

    def close(self) -> None:
        """End of the run: refuse new calls, and record nothing of calls still in flight."""
        self.closed = True

    def _start(
        self, agent: str, client: ModelClient, op: str, request: dict[str, Any], rhash: str
    ) -> _Call:
        if self.closed:
            raise UserError(
                f"agent {agent!r} called {client.describe()} after run {self.run_id} ended; "
                "the call is refused and not recorded. Await all work inside handle() "
                "instead of leaving tasks running."
            )
        self.tracker.reserve_model_call()
        self._seq += 1
        call_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.run_id}/call/{self._seq}").hex
        self.emit(
            ModelCallStarted(
                run_id=self.run_id,
                call_id=call_id,
                agent=agent,
                client=client.describe(),
                model=client.model,
                timestamp=self.clock(),
            )
        )
        return _Call(call_id, self._seq, agent, client, op, request, rhash, time.perf_counter())

    def _finish(
        self,
        call: _Call,
        *,
        response: dict[str, Any] | None,
        usage: Usage = _NO_USAGE,
        attempts: int = 1,
        error: BaseException | None = None,
    ) -> None:
        if self.closed:  # the run ended while this call was in flight: drop it
            return
        call_id, seq, agent, client = call.call_id, call.seq, call.agent, call.client
        op, request, rhash = call.op, call.request, call.rhash
        latency = (time.perf_counter() - call.started) * 1000
        error_text = f"{type(error).__name__}: {error}" if error is not None else None
        if self.record is not None:  # stored with the step it belongs to
            self.record(
                ModelCallRecord(
                    id=call_id,
                    run_id=self.run_id,
                    seq=seq,
                    agent=agent,
                    client=client.describe(),
                    model=client.model,
                    request_hash=rhash,
                    request={"op": op, **request},
                    response=response,
                    status="ok" if error is None else "error",
                    error=error_text,
                    latency_ms=latency,
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                    usage_estimated=usage.estimated,
                    attempts=attempts,
                    created_at=self.clock(),
                )
            )
        self.emit(
            ModelCallFinished(
                run_id=self.run_id,
                call_id=call_id,
                agent=agent,
                latency_ms=latency,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                tokens_estimated=usage.estimated,
                error=error_text,
                timestamp=self.clock(),
            )
        )

    def _capped(self, request: ModelRequest) -> ModelRequest:
        """``request`` with ``max_tokens`` at most the run's remaining token budget."""
        left = self.tracker.tokens_left()
        if left is None:
            return request
        if left <= 0:
            raise BudgetExceeded("tokens", self.tracker.tokens, self.tracker.budget.tokens or 0)
        if request.max_tokens is None or request.max_tokens > left:
            return request.model_copy(update={"max_tokens": left})
        return request

    def _replayed(self, agent: str, rhash: str) -> dict[str, Any]:
        assert self.replay is not None
        record = self.replay.take(agent, rhash)
        if record.status != "ok" or record.response is None:
            raise ModelHTTPError(
                f"(replayed failure) {record.error}",
                status=None,
                body=record.error or "",
                attempts=record.attempts,
            )
        return record.response

    async def complete(
        self,
        agent: str,
        client: ModelClient,
        request: ModelRequest,
        *,
        structured_attempt: int | None = None,
    ) -> ModelResponse:
        """One budgeted, recorded completion. ``structured_attempt`` numbers the attempts
        of one structured-output call (1, 2, ...) in the record's request."""
        rhash = call_hash(client.model, "complete", request.model_dump(mode="json"))
        request = self._capped(request)
        payload = request.model_dump(mode="json")
        if structured_attempt is not None:
            payload["structured_attempt"] = structured_attempt
        call = self._start(agent, client, "complete", payload, rhash)
        try:
            if self.replay is not None:
                response = ModelResponse.model_validate(self._replayed(agent, rhash))
            else:
                response = await client.complete(request)
        except (LyceumError, OSError, ValueError, RuntimeError) as exc:
            attempts = getattr(exc, "attempts", 1)
            self._finish(call, response=None, attempts=attempts, error=exc)
            raise
        self._finish(
            call,
            response=response.model_dump(mode="json"),
            usage=response.usage,
            attempts=response.attempts,
            error=None,
        )
        self.tracker.add_tokens(response.usage.total_tokens)
        return response

    async def stream(
        self, agent: str, client: ModelClient, request: ModelRequest
    ) -> AsyncIterator[str]:
        rhash = call_hash(client.model, "complete", request.model_dump(mode="json"))
        request = self._capped(request)
        payload = request.model_dump(mode="json")
        left = self.tracker.tokens_left()
        call = self._start(agent, client, "complete", payload, rhash)
        final: ModelResponse | None = None
        chars = 0
        try:
            if self.replay is not None:
                final = ModelResponse.model_validate(self._replayed(agent, rhash))
                yield final.text
            else:
                async with _closing(client.stream(request)) as pieces:
                    async for piece in pieces:
                        if not isinstance(piece, TextDelta):
                            final = piece
                            continue
                        chars += len(piece.text)
                        if left is not None and chars_to_tokens(chars) > left:
                            raise _StreamOverBudget(chars)
                        self.emit(
                            TokenDelta(
                                run_id=self.run_id,
                                call_id=call.call_id,
                                agent=agent,
                                text=piece.text,
                                timestamp=self.clock(),
                            )
                        )
                        yield piece.text
        except _StreamOverBudget:
            usage = Usage(
                prompt_tokens=sum(estimate_tokens(m.content) for m in request.messages),
                completion_tokens=chars_to_tokens(chars),
                estimated=True,
            )
            over = BudgetExceeded(
                "tokens", self.tracker.tokens + usage.total_tokens, self.tracker.budget.tokens or 0
            )
            self._finish(
                call,
                response=None,
                usage=usage,
                attempts=1,
                error=over,
            )
            self.tracker.add_tokens(usage.total_tokens)
            raise over from None
        except (LyceumError, OSError, ValueError, RuntimeError) as exc:
            self._finish(
                call,
                response=None,
                attempts=getattr(exc, "attempts", 1),
                error=exc,
            )
            raise
        if final is None:
            raise ModelHTTPError(
                f"{client.describe()} ended its stream without a final response",
                status=None,
                body="",
            )
        self._finish(
            call,
            response=final.model_dump(mode="json"),
            usage=final.usage,
            attempts=final.attempts,
            error=None,
        )
        self.tracker.add_tokens(final.usage.total_tokens)

    async def score(
        self, agent: str, client: ModelClient, prompt: str, continuations: list[str]
    ) -> list[float]:
        payload = {"prompt": prompt, "continuations": continuations}
        rhash = call_hash(client.model, "score", payload)
        call = self._start(agent, client, "score", payload, rhash)
        try:
            if self.replay is not None:
                scores = [float(s) for s in self._replayed(agent, rhash)["scores"]]
            else:
                scores = await client.score(prompt, continuations)
        except (LyceumError, OSError, ValueError, RuntimeError, NotImplementedError) as exc:
            self._finish(
                call,
                response=None,
                attempts=1,
                error=exc,
            )
            raise
        self._finish(
            call,
            response={"scores": scores},
            attempts=1,
            error=None,
        )
        return scores
