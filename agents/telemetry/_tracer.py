"""``Telemetry``: the run and turn spans, and the traced gateway's factory."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider

from agents.gateway import ModelGateway
from agents.models.base import ModelClient
from agents.telemetry._common import (
    SCHEMA_URL,
    Handle,
    failed,
    lyceum_version,
    provider_name,
    server_attributes,
)
from protocols import Envelope, Error, Message

if TYPE_CHECKING:
    from agents.agent import Agent, RunContext
    from agents.budget import Budget
    from agents.graph import AgentGraph
    from agents.runtime import RunResult

__all__ = ["Telemetry"]


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
            self.tracer = tracer_provider.get_tracer(
                "lyceum", lyceum_version(), schema_url=SCHEMA_URL
            )
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
                failed(span, exc)
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
                    failed(span, exc)
                    raise
                span.set_attribute("lyceum.replies", [type(r).__name__ for r in replies])
                return replies

        return handle

    # -- model calls -------------------------------------------------------------------
    def gateway(self, **kwargs: Any) -> ModelGateway:
        """A ``ModelGateway`` whose every call is a span (``kwargs`` as the base class)."""
        from agents.telemetry._gateway import TracedGateway

        return TracedGateway(self, **kwargs)

    def model_span(
        self,
        gateway: ModelGateway,
        agent: str,
        client: ModelClient,
        op: str,
        extra: dict[str, Any] | None = None,
    ) -> Span:
        """Start (not activate) the span of one model call, with ``extra`` attributes."""
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": op,
            "gen_ai.provider.name": provider_name(client),
            "gen_ai.request.model": client.model,
            "gen_ai.conversation.id": gateway.run_id,
            "gen_ai.agent.name": agent,
            "lyceum.client": client.describe(),
            "lyceum.replayed": gateway.replay is not None,
            **server_attributes(client),
            **(extra or {}),
        }
        return self.tracer.start_span(
            f"{op} {client.model}", kind=SpanKind.CLIENT, attributes=attributes
        )
