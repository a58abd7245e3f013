"""OpenTelemetry spans for runs, agent turns and model calls (the ``otel`` extra).

Tracing is off unless the caller passes a tracer provider (or a tracer) to the runtime:
``Runtime(store, tracer_provider=provider)``. Nothing of OpenTelemetry is imported before
then, and a runtime without one runs exactly the code it runs without this module: the
runtime picks its agents' ``handle`` and its ``ModelGateway`` class once per run and per
agent step, and only a traced runtime gets the traced versions defined in this package.

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

try:
    import opentelemetry.trace  # noqa: F401 - fails early, naming the extra
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("tracing needs OpenTelemetry's API: pip install 'lyceum[otel]'") from exc

from agents.telemetry._common import SEMCONV_VERSION, provider_name
from agents.telemetry._tracer import Telemetry

__all__ = ["SEMCONV_VERSION", "Telemetry", "provider_name"]
