"""The traced ``ModelGateway``: a span around each model call."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span

from agents.gateway import ModelGateway
from agents.models.base import ModelClient, ModelRequest, ModelResponse
from agents.models.cache import CachedModel
from agents.telemetry._common import failed
from protocols import Usage

if TYPE_CHECKING:
    from agents.gateway import _Call
    from agents.telemetry._tracer import Telemetry

__all__ = ["TracedGateway"]


def _request_attributes(gateway: ModelGateway, request: ModelRequest) -> dict[str, Any]:
    """The request's settings as sent: ``max_tokens`` capped to the run's token budget."""
    with contextlib.suppress(Exception):  # the gateway raises it itself, inside the span
        request = gateway._capped(request)
    settings = {
        "gen_ai.request.max_tokens": request.max_tokens,
        "gen_ai.request.temperature": request.temperature,
        "gen_ai.request.seed": request.seed,
        "gen_ai.request.stop_sequences": list(request.stop) if request.stop else None,
    }
    return {key: value for key, value in settings.items() if value is not None}


class TracedGateway(ModelGateway):
    """``ModelGateway`` with a span around each call: the span is current while the call
    runs (a client's own instrumentation nests under it), and ``_finish`` (which every call
    that reached the model goes through) writes the usage and outcome onto it."""

    def __init__(self, telemetry: Telemetry, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._otel = telemetry

    @contextlib.contextmanager
    def _active(self, span: Span) -> Iterator[None]:
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield
        finally:
            otel_context.detach(token)

    def _finish(
        self,
        call: _Call,
        *,
        response: dict[str, Any] | None,
        usage: Usage = Usage(),  # noqa: B008 - frozen, as the base class's default
        attempts: int = 1,
        error: BaseException | None = None,
    ) -> None:
        outcome: dict[str, Any] = {
            "lyceum.model_call.id": call.call_id,
            "lyceum.attempts": attempts,
            "gen_ai.usage.input_tokens": usage.prompt_tokens,
            "gen_ai.usage.output_tokens": usage.completion_tokens,
            "lyceum.usage.estimated": usage.estimated,
        }
        if response is not None and isinstance(response.get("model"), str):
            outcome["gen_ai.response.model"] = response["model"]
        if response is not None and isinstance(response.get("finish_reason"), str):
            outcome["gen_ai.response.finish_reasons"] = [response["finish_reason"]]
        trace.get_current_span().set_attributes(outcome)
        super()._finish(call, response=response, usage=usage, attempts=attempts, error=error)

    async def complete(
        self,
        agent: str,
        client: ModelClient,
        request: ModelRequest,
        *,
        structured_attempt: int | None = None,
    ) -> ModelResponse:
        extra = _request_attributes(self, request)
        if structured_attempt is not None:
            extra["lyceum.structured_attempt"] = structured_attempt
        span = self._otel.model_span(self, agent, client, "chat", extra)
        misses = client.misses if isinstance(client, CachedModel) else 0
        try:
            with self._active(span):
                response = await super().complete(
                    agent, client, request, structured_attempt=structured_attempt
                )
        except BaseException as exc:
            failed(span, exc)
            span.end()
            raise
        if isinstance(client, CachedModel):
            # A hit never waits, so no other call can count a miss meanwhile.
            span.set_attribute("lyceum.cache.hit", client.misses == misses)
        span.end()
        return response

    async def stream(
        self, agent: str, client: ModelClient, request: ModelRequest
    ) -> AsyncIterator[str]:
        extra = {**_request_attributes(self, request), "lyceum.stream": True}
        span = self._otel.model_span(self, agent, client, "chat", extra)
        pieces = super().stream(agent, client, request)
        try:
            while True:
                # Active only while the gateway works, never while the consumer holds a
                # piece: a generator may be resumed, or closed, from another context.
                with self._active(span):
                    try:
                        piece = await anext(pieces)
                    except StopAsyncIteration:
                        break
                yield piece
        except GeneratorExit:  # the consumer stopped reading: not a failure of the call
            span.set_attribute("lyceum.stream.closed_early", True)
            raise
        except BaseException as exc:
            failed(span, exc)
            raise
        finally:
            close = getattr(pieces, "aclose", None)  # the base class's is an async generator
            if close is not None:
                await close()
            span.end()

    async def score(
        self, agent: str, client: ModelClient, prompt: str, continuations: list[str]
    ) -> list[float]:
        span = self._otel.model_span(self, agent, client, "score")
        try:
            with self._active(span):
                return await super().score(agent, client, prompt, continuations)
        except BaseException as exc:
            failed(span, exc)
            raise
        finally:
            span.end()
