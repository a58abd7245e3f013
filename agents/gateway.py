"""The ``ModelGateway``: the one path from an agent to a model within a run.

It checks the budget, emits ``ModelCallStarted``/``TokenDelta``/``ModelCallFinished``,
records every call (failures too; never headers or keys; the runtime stores it with the step
it belongs to) and, when replaying a run, serves recorded responses instead of calling the
model.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

from agents.budget import BudgetTracker
from agents.models.base import ModelClient, ModelRequest, ModelResponse, TextDelta, call_hash
from agents.store import ModelCallRecord
from protocols import (
    Event,
    LyceumError,
    ModelCallFinished,
    ModelCallStarted,
    ModelHTTPError,
    TokenDelta,
    UserError,
)

__all__ = ["ModelGateway", "ReplaySource"]


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

    def _start(self, agent: str, client: ModelClient) -> tuple[str, int]:
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
        return call_id, self._seq

    def _finish(
        self,
        *,
        call_id: str,
        seq: int,
        agent: str,
        client: ModelClient,
        op: str,
        request: dict[str, Any],
        rhash: str,
        started: float,
        response: dict[str, Any] | None,
        usage: tuple[int, int],
        attempts: int,
        error: BaseException | None,
    ) -> None:
        if self.closed:  # the run ended while this call was in flight: drop it
            return
        latency = (time.perf_counter() - started) * 1000
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
                    prompt_tokens=usage[0],
                    completion_tokens=usage[1],
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
                prompt_tokens=usage[0],
                completion_tokens=usage[1],
                error=error_text,
                timestamp=self.clock(),
            )
        )

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
        self, agent: str, client: ModelClient, request: ModelRequest
    ) -> ModelResponse:
        payload = request.model_dump(mode="json")
        rhash = call_hash(client.model, "complete", payload)
        call_id, seq = self._start(agent, client)
        started = time.perf_counter()
        try:
            if self.replay is not None:
                response = ModelResponse.model_validate(self._replayed(agent, rhash))
            else:
                response = await client.complete(request)
        except (LyceumError, OSError, ValueError, RuntimeError) as exc:
            attempts = getattr(exc, "attempts", 1)
            self._finish(
                call_id=call_id,
                seq=seq,
                agent=agent,
                client=client,
                op="complete",
                request=payload,
                rhash=rhash,
                started=started,
                response=None,
                usage=(0, 0),
                attempts=attempts,
                error=exc,
            )
            raise
        usage = (response.usage.prompt_tokens, response.usage.completion_tokens)
        self._finish(
            call_id=call_id,
            seq=seq,
            agent=agent,
            client=client,
            op="complete",
            request=payload,
            rhash=rhash,
            started=started,
            response=response.model_dump(mode="json"),
            usage=usage,
            attempts=response.attempts,
            error=None,
        )
        self.tracker.add_tokens(sum(usage))
        return response

    async def stream(
        self, agent: str, client: ModelClient, request: ModelRequest
    ) -> AsyncIterator[str]:
        payload = request.model_dump(mode="json")
        rhash = call_hash(client.model, "complete", payload)
        call_id, seq = self._start(agent, client)
        started = time.perf_counter()
        final: ModelResponse | None = None
        try:
            if self.replay is not None:
                final = ModelResponse.model_validate(self._replayed(agent, rhash))
                yield final.text
            else:
                async for piece in client.stream(request):
                    if isinstance(piece, TextDelta):
                        self.emit(
                            TokenDelta(
                                run_id=self.run_id,
                                call_id=call_id,
                                agent=agent,
                                text=piece.text,
                                timestamp=self.clock(),
                            )
                        )
                        yield piece.text
                    else:
                        final = piece
        except (LyceumError, OSError, ValueError, RuntimeError) as exc:
            self._finish(
                call_id=call_id,
                seq=seq,
                agent=agent,
                client=client,
                op="complete",
                request=payload,
                rhash=rhash,
                started=started,
                response=None,
                usage=(0, 0),
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
        usage = (final.usage.prompt_tokens, final.usage.completion_tokens)
        self._finish(
            call_id=call_id,
            seq=seq,
            agent=agent,
            client=client,
            op="complete",
            request=payload,
            rhash=rhash,
            started=started,
            response=final.model_dump(mode="json"),
            usage=usage,
            attempts=final.attempts,
            error=None,
        )
        self.tracker.add_tokens(sum(usage))

    async def score(
        self, agent: str, client: ModelClient, prompt: str, continuations: list[str]
    ) -> list[float]:
        payload = {"prompt": prompt, "continuations": continuations}
        rhash = call_hash(client.model, "score", payload)
        call_id, seq = self._start(agent, client)
        started = time.perf_counter()
        try:
            if self.replay is not None:
                scores = [float(s) for s in self._replayed(agent, rhash)["scores"]]
            else:
                scores = await client.score(prompt, continuations)
        except (LyceumError, OSError, ValueError, RuntimeError, NotImplementedError) as exc:
            self._finish(
                call_id=call_id,
                seq=seq,
                agent=agent,
                client=client,
                op="score",
                request=payload,
                rhash=rhash,
                started=started,
                response=None,
                usage=(0, 0),
                attempts=1,
                error=exc,
            )
            raise
        self._finish(
            call_id=call_id,
            seq=seq,
            agent=agent,
            client=client,
            op="score",
            request=payload,
            rhash=rhash,
            started=started,
            response={"scores": scores},
            usage=(0, 0),
            attempts=1,
            error=None,
        )
        return scores
