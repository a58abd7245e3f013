"""Telemetry benchmark: what OpenTelemetry costs a run when it is off, and when it is on.
Run with ``make bench``. Target (issue 13): disabled, <= 2% of the per-message overhead.

**Disabled.** ``Runtime(tracer_provider=None)`` runs the code it would run with no telemetry
at all, except for a few hook points, which are all of the cost there is to measure:

- per agent step (``Runtime._step``): reading ``self._telemetry`` and choosing
  ``agent.handle`` over ``telemetry.turn(...)`` (``handle = agent.handle if telemetry is
  None else ...``), where the code without hooks reads ``agent.handle``;
- per run: ``run`` tests ``self._telemetry`` and awaits ``_run`` (one more coroutine), and
  ``_new_state`` picks the ``ModelGateway`` class the same way.

The model gateway is untouched: a traced runtime uses a subclass. So the honest method is to
time those statements directly against the statements they replace (``timeit``, best of
several repeats, in this process), and to divide by the per-message overhead measured in the
same run: a 2-agent ping-pong with a zero-latency ``FunctionModel`` and no store (as
``bench_runtime.py``), one agent step per message. Comparing whole runs with and without the
hooks instead would mean resolving a difference of tens of nanoseconds against run-to-run
noise of several percent; the script prints that noise (two identical configurations, runs
interleaved) to show why it is not used. The ratio is reported both as the measured
difference and as a conservative bound (the hook statements' whole cost, as if the code they
replace were free).

**Enabled**, for information: the same ping-pong traced to an ``InMemorySpanExporter``
through a ``SimpleSpanProcessor`` (two spans per message, the turn and its model call, and
one root span per run), against the same ping-pong untraced, runs interleaved.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import statistics
import time
import timeit
from collections.abc import Callable, Coroutine
from typing import Any

from bench_runtime import lyceum_ring

from agents import Budget, Runtime
from agents.gateway import ModelGateway
from protocols import Question

TARGET = 0.02


async def one_run(messages: int, provider: Any = None, exporter: Any = None) -> float:
    """Seconds per message of one ping-pong run of ``messages`` messages."""
    runtime = Runtime(tracer_provider=provider)
    graph = lyceum_ring(2, messages)
    start = time.perf_counter()
    result = await runtime.run(
        graph,
        Question(to="agent0", text="0"),
        budget=Budget(turns=10**7, model_calls=10**7, seconds=3600),
    )
    elapsed = time.perf_counter() - start
    assert result.reason == "completed", result.detail
    if exporter is not None:
        assert len(exporter.get_finished_spans()) == 2 * messages + 1
        exporter.clear()
    return elapsed / (len(result.messages) - 1)


def interleaved(
    configs: list[Callable[[], Coroutine[Any, Any, float]]], repeats: int
) -> list[list[float]]:
    """Seconds per message of each configuration, their runs interleaved so a change in the
    machine's load touches all alike."""
    samples: list[list[float]] = [[] for _ in configs]
    for _ in range(repeats):
        for make, out in zip(configs, samples, strict=True):
            gc.collect()
            out.append(asyncio.run(make()))
    return samples


def best(stmt: str, setup_globals: dict[str, Any], number: int = 200_000) -> float:
    """Seconds per execution of ``stmt``: the best of 7 repeats (timeit's convention)."""
    timer = timeit.Timer(stmt, globals=setup_globals)
    return min(timer.repeat(repeat=7, number=number)) / number


class _Agent:
    async def handle(self, message: object, ctx: object) -> list[object]:
        return []


def _drive(coro: Coroutine[Any, Any, Any]) -> None:
    with contextlib.suppress(StopIteration):
        coro.send(None)


def hook_costs() -> tuple[float, float, float]:
    """Extra seconds of the disabled hooks, measured: per agent step, the per-step hook
    statements' whole cost (a bound), and per run."""
    runtime = Runtime()  # tracer_provider=None: what is measured
    names: dict[str, Any] = {"rt": runtime, "agent": _Agent(), "run_id": "r", "G": ModelGateway}
    step_hooked = best(
        "telemetry = rt._telemetry\n"
        "handle = agent.handle if telemetry is None else telemetry.turn(agent, run_id)\n"
        "handle",
        names,
    )
    step_plain = best("agent.handle", names)

    async def inner(*args: object) -> int:
        return 1

    async def run_hooked() -> int:
        if runtime._telemetry is None:
            return await inner(1, 2, 3, 4, 5, 6, 7)
        return 0

    async def run_plain() -> int:
        return 1

    names.update(drive=_drive, run_hooked=run_hooked, run_plain=run_plain)
    run_extra = best(
        "drive(run_hooked())\n(G if rt._telemetry is None else rt._telemetry.gateway)", names
    ) - best("drive(run_plain())\nG", names)
    return step_hooked - step_plain, step_hooked, run_extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=400, help="messages per run")
    parser.add_argument("--repeats", type=int, default=7, help="runs per configuration")
    args = parser.parse_args()
    n, reps = args.messages, args.repeats

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    off, off_again, on = interleaved(
        [lambda: one_run(n), lambda: one_run(n), lambda: one_run(n, provider, exporter)], reps
    )
    per_message = statistics.median(off)
    noise = abs(statistics.median(off_again) - per_message) / per_message
    step_extra, step_bound, run_extra = hook_costs()
    per_message_hooks = step_extra + run_extra / n  # one agent step per message
    bound = step_bound + max(run_extra, 0.0) / n
    ratio, ratio_bound = per_message_hooks / per_message, bound / per_message
    print(f"OpenTelemetry overhead (2-agent ping-pong, {n} messages a run, median of {reps} runs)")
    print(f"  per-message overhead, telemetry off      {per_message * 1e6:9.2f} us")
    print(
        f"  disabled hooks, measured                 {per_message_hooks * 1e9:9.1f} ns a message "
        f"({step_extra * 1e9:.1f} ns per agent step, {run_extra * 1e9:.0f} ns per run)"
    )
    print(
        f"  ratio disabled-hooks/per-message         {ratio:9.4%}  (target <= {TARGET:.0%}: "
        f"{'met' if ratio <= TARGET else 'NOT met'}); conservative bound {ratio_bound:.4%} "
        f"({'met' if ratio_bound <= TARGET else 'NOT met'})"
    )
    print(f"  for scale: two identical untraced configurations differ by {noise:.2%} run to run")
    traced = statistics.median(on)
    print(
        f"  enabled, in-memory exporter (info)       {traced * 1e6:9.2f} us a message = "
        f"{traced / per_message:.2f}x untraced (+{(traced - per_message) * 1e6:.1f} us for "
        "its 2 spans)"
    )
    provider.shutdown()


if __name__ == "__main__":
    main()
