"""OpenTelemetry spans for runs, agent turns and model calls (the ``otel`` extra).

Tracing is off unless the caller passes a tracer provider (or a tracer) to the runtime:
``Runtime(store, tracer_provider=provider)``. Nothing of OpenTelemetry is imported before
then, and a runtime without one runs exactly the code it runs without this module: the
runtime picks its agents' ``handle`` and its ``ModelGateway`` class once per run and per
agent step, and only a traced runtime gets the traced versions defined here.

The spans follow the OpenTelemetry GenAI semantic conventions, version
:data:`SEMCONV_VERSION` (Development status; ``gen_ai.provider.name``, not the deprecated
``gen_ai.system``):

- ``invoke_workflow {name}`` (INTERNAL): one per run, the root. ``name`` is the graph's
  factory (``graph.source``) or ``lyceum``.
- ``invoke_agent {agent}`` (INTERNAL): one per message an agent handles, a child of its
  run's span.
- ``chat {model}`` (CLIENT): one per model call (``score`` calls: ``score {model}``), a
  child of the turn that made it. Replayed calls and cache hits are marked.

A span's duration is the operation's latency. A failed operation ends with status ERROR and
``error.type``, the exception's class name (``ModelHTTPError``, ``BudgetExceeded``,
``CancelledError``, ...); a run that stops with reason ``error`` takes the ``error_type``
of its ``Error`` message. See ``docs/telemetry.md`` for every attribute.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

try:
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("tracing needs OpenTelemetry's API: pip install 'lyceum[otel]'") from exc

from agents.gateway import ModelGateway
from agents.models.base import ModelClient, ModelRequest, ModelResponse
from agents.models.cache import CachedModel
from protocols import Envelope, Error, Message, Usage

if TYPE_CHECKING:
    from agents.agent import Agent, RunContext
    from agents.budget import Budget
    from agents.gateway import _Call
    from agents.graph import AgentGraph
    from agents.runtime import RunResult

__all__ = ["SEMCONV_VERSION", "Telemetry"]

SEMCONV_VERSION = "1.41.0"
"""The version of the OpenTelemetry semantic conventions the spans follow."""

_SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"

# The provider names the conventions define for the clients lyceum ships; other clients
# are named by their class (a custom value, as the conventions allow).
_PROVIDERS = {
    "OpenAIChatClient": "openai",
    "TransformersClient": "transformers",
    "FunctionModel": "lyceum.function",
    "ReplayModel": "lyceum.replay",
}

Handle = Callable[[Message, "RunContext"], Awaitable[Sequence[Envelope]]]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lyceum")
    except PackageNotFoundError:  # pragma: no cover - a source tree that is not installed
        return "0"


def _failed(span: Span, error: BaseException) -> None:
    """Mark ``span`` as failed with ``error``'s class (``error.type``) and record it."""
    name = type(error).__qualname__
    span.set_attribute("error.type", name)
    span.set_status(Status(StatusCode.ERROR, f"{name}: {error}"))
    span.record_exception(error)


def provider_name(client: ModelClient) -> str:
    """``gen_ai.provider.name`` for ``client`` (a cache is named by the client it wraps)."""
    while isinstance(client, CachedModel):
        client = client.inner
    name = type(client).__name__
    return _PROVIDERS.get(name, name)


def _server(client: ModelClient) -> dict[str, Any]:
    """``server.address`` and ``server.port`` of a client that has a ``base_url``."""
    while isinstance(client, CachedModel):
        client = client.inner
    url = getattr(client, "base_url", None)
    if not isinstance(url, str):
        return {}
    parts = urlsplit(url)
    out: dict[str, Any] = {}
    if parts.hostname:
        out["server.address"] = parts.hostname
        out["server.port"] = parts.port or (443 if parts.scheme == "https" else 80)
    return out


class Telemetry:
    """Makes lyceum's spans on one tracer; the runtime builds it from what it is given.

    Args:
        tracer_provider: An OpenTelemetry ``TracerProvider`` (lyceum asks it for its tracer)
            or a ``Tracer``.
    """

    def __init__(self, tracer_provider: TracerProvider | Tracer) -> None:
        if isinstance(tracer_provider, Tracer):
            self.tracer = tracer_provider
        elif callable(getattr(tracer_provider, "get_tracer", None)):
            self.tracer = tracer_provider.get_tracer("lyceum", _version(), schema_url=_SCHEMA_URL)
        else:
            from protocols import UserError

            raise UserError(
                f"tracer_provider must be an OpenTelemetry TracerProvider or Tracer, got "
                f"{tracer_provider!r}; e.g. opentelemetry.trace.get_tracer_provider()"
            )

    # -- runs --------------------------------------------------------------------------
    @contextlib.contextmanager
    def run_span(
        self, run_id: str, graph: AgentGraph, budget: Budget, seed: int, replay_of: str | None
    ) -> Iterator[Callable[[RunResult], None]]:
        """The run's root span; call what it yields with the run's result."""
        source = graph.source or {}
        workflow = str(source.get("factory") or "lyceum")
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_workflow",
            "gen_ai.workflow.name": workflow,
            "gen_ai.conversation.id": run_id,
            "lyceum.run.id": run_id,
            "lyceum.run.seed": seed,
            "lyceum.graph.agents": list(graph.agents),
        }
        for key, value in budget.as_dict().items():
            if value is not None:
                attributes[f"lyceum.budget.{key}"] = value
        if replay_of is not None:
            attributes["lyceum.run.replay_of"] = replay_of
        with self.tracer.start_as_current_span(
            f"invoke_workflow {workflow}",
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:

            def finished(result: RunResult) -> None:
                span.set_attribute("lyceum.run.reason", result.reason)
                span.set_attribute("lyceum.run.status", result.status)
                for key, value in result.usage.items():
                    span.set_attribute(f"lyceum.usage.{key}", value)
                if result.reason == "error":
                    errors = [m for m in result.messages if isinstance(m, Error)]
                    name = errors[-1].error_type if errors else "_OTHER"
                    span.set_attribute("error.type", name)
                    span.set_status(Status(StatusCode.ERROR, result.detail))

            try:
                yield finished
            except BaseException as exc:
                _failed(span, exc)
                raise

    # -- agent turns -------------------------------------------------------------------
    def turn(self, agent: Agent, run_id: str) -> Handle:
        """``agent.handle``, each call inside an ``invoke_agent`` span."""
        name = agent.name

        async def handle(message: Message, ctx: RunContext) -> Sequence[Envelope]:
            with self.tracer.start_as_current_span(
                f"invoke_agent {name}",
                kind=SpanKind.INTERNAL,
                attributes={
                    "gen_ai.operation.name": "invoke_agent",
                    "gen_ai.agent.name": name,
                    "gen_ai.conversation.id": run_id,
                    "lyceum.message.id": message.id,
                    "lyceum.message.kind": type(message).__name__,
                    "lyceum.message.sender": message.sender,
                },
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                try:
                    replies = list(await agent.handle(message, ctx))
                except BaseException as exc:
                    _failed(span, exc)
                    raise
                span.set_attribute("lyceum.replies", [type(r).__name__ for r in replies])
                return replies

        return handle

    # -- model calls -------------------------------------------------------------------
    def gateway(self, **kwargs: Any) -> ModelGateway:
        """A ``ModelGateway`` whose every call is a span (``kwargs`` as the base class)."""
        return _TracedGateway(self, **kwargs)

    def model_span(self, gateway: ModelGateway, agent: str, client: ModelClient, op: str) -> Span:
        """Start (not activate) the span of one model call."""
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": op,
            "gen_ai.provider.name": provider_name(client),
            "gen_ai.request.model": client.model,
            "gen_ai.conversation.id": gateway.run_id,
            "gen_ai.agent.name": agent,
            "lyceum.client": client.describe(),
            "lyceum.replayed": gateway.replay is not None,
            **_server(client),
        }
        return self.tracer.start_span(
            f"{op} {client.model}", kind=SpanKind.CLIENT, attributes=attributes
        )


def _request_attributes(span: Span, gateway: ModelGateway, request: ModelRequest) -> None:
    """The request's settings as sent: ``max_tokens`` capped to the run's token budget."""
    with contextlib.suppress(Exception):  # the gateway raises it itself, inside the span
        request = gateway._capped(request)
    if request.max_tokens is not None:
        span.set_attribute("gen_ai.request.max_tokens", request.max_tokens)
    if request.temperature is not None:
        span.set_attribute("gen_ai.request.temperature", request.temperature)
    if request.seed is not None:
        span.set_attribute("gen_ai.request.seed", request.seed)
    if request.stop:
        span.set_attribute("gen_ai.request.stop_sequences", list(request.stop))


class _TracedGateway(ModelGateway):
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
        span = trace.get_current_span()
        span.set_attribute("lyceum.model_call.id", call.call_id)
        span.set_attribute("lyceum.attempts", attempts)
        span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
        span.set_attribute("lyceum.usage.estimated", usage.estimated)
        if response is not None and isinstance(response.get("model"), str):
            span.set_attribute("gen_ai.response.model", response["model"])
        if response is not None and isinstance(response.get("finish_reason"), str):
            span.set_attribute("gen_ai.response.finish_reasons", [response["finish_reason"]])
        super()._finish(call, response=response, usage=usage, attempts=attempts, error=error)

    async def complete(
        self,
        agent: str,
        client: ModelClient,
        request: ModelRequest,
        *,
        structured_attempt: int | None = None,
    ) -> ModelResponse:
        span = self._otel.model_span(self, agent, client, "chat")
        _request_attributes(span, self, request)
        if structured_attempt is not None:
            span.set_attribute("lyceum.structured_attempt", structured_attempt)
        misses = client.misses if isinstance(client, CachedModel) else 0
        try:
            with self._active(span):
                response = await super().complete(
                    agent, client, request, structured_attempt=structured_attempt
                )
        except BaseException as exc:
            _failed(span, exc)
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
        span = self._otel.model_span(self, agent, client, "chat")
        _request_attributes(span, self, request)
        span.set_attribute("lyceum.stream", True)
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
            _failed(span, exc)
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
            _failed(span, exc)
            raise
        finally:
            span.end()
