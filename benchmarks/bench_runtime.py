"""Runtime benchmark: lyceum's per-message orchestration overhead against AutoGen AgentChat,
and OpenAIChatClient throughput against a loopback server. Run with ``make bench``.

Both frameworks run in this one process, side by side, with zero-latency models (lyceum:
``FunctionModel``; AutoGen: ``ReplayChatCompletionClient``), so what is measured is the
framework's own cost of moving one message: routing, bookkeeping, model-call plumbing.
Figures are printed as ratios against the baseline measured in the same run.

Targets (issue 2): lyceum's overhead <= 1/3 of AutoGen's; client throughput >= 90% of the
ideal 160 req/s (concurrency 32, 200 ms per request). Issue 8: a ping-pong message persisted to
SQLite (its step's message, events and model call, written off the event loop) costs <= 3x
one kept in memory; both are timed until ``Runtime.run`` returns, i.e. until the run's last
step is committed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from tempfile import TemporaryDirectory

from agents import AgentGraph, Budget, FunctionAgent, RunContext, Runtime
from agents.models import FunctionModel, ModelRequest, OpenAIChatClient
from protocols import Answer, Envelope, Message, Question, Stop


# -- lyceum ---------------------------------------------------------------------------------
def lyceum_ring(n_agents: int, messages: int) -> AgentGraph:
    """Agents pass a message round a ring; each calls its model once per message."""
    model = FunctionModel(lambda request: "pong")
    names = [f"agent{i}" for i in range(n_agents)]

    async def relay(message: Message, ctx: RunContext) -> Sequence[Envelope]:
        await ctx.complete(model, ModelRequest.of("ping"))
        count = int(getattr(message, "text", "0")) + 1
        if count >= messages:
            return [Stop()]
        nxt = names[(names.index(ctx.agent) + 1) % n_agents]
        return [Question(to=nxt, text=str(count))]

    agents = [FunctionAgent(name, relay) for name in names]
    graph = AgentGraph()
    for i, agent in enumerate(agents):
        graph.edge(agent, agents[(i + 1) % n_agents], kinds=[Question])
    return graph


def lyceum_fan_out(workers: int, rounds: int) -> AgentGraph:
    """A hub asks all workers at once; they answer concurrently; repeat for `rounds`."""
    model = FunctionModel(lambda request: "done")
    state = {"round": 0, "answers": 0}

    async def hub(message: Message, ctx: RunContext) -> Sequence[Envelope]:
        if isinstance(message, Answer):
            state["answers"] += 1
            if state["answers"] % workers:
                return []
            state["round"] += 1
            if state["round"] >= rounds:
                return [Stop()]
        return [Question(text=str(state["round"]))]  # to every worker

    async def worker(message: Message, ctx: RunContext) -> Sequence[Envelope]:
        await ctx.complete(model, ModelRequest.of("work"))
        return [Answer(to="hub", text="done")]

    graph = AgentGraph().add(FunctionAgent("hub", hub))
    for i in range(workers):
        w = FunctionAgent(f"w{i}", worker)
        graph.edge("hub", w, kinds=[Question]).edge(w, "hub", kinds=[Answer])
    return graph


async def time_lyceum(
    build: Callable[[], AgentGraph], first: str, store: str | None
) -> tuple[float, int]:
    graph = build()
    runtime = Runtime(store)
    start = time.perf_counter()
    result = await runtime.run(
        graph,
        Question(to=first, text="0"),
        budget=Budget(turns=10**7, model_calls=10**7, seconds=3600),
    )
    elapsed = time.perf_counter() - start
    assert result.reason == "completed", result.detail
    if runtime.store is not None:
        runtime.store.close()
    return elapsed, len(result.messages) - 1


# -- AutoGen ----------------------------------------------------------------------------------
async def time_autogen(n_agents: int, messages: int) -> tuple[float, int]:
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.conditions import MaxMessageTermination
    from autogen_agentchat.teams import RoundRobinGroupChat
    from autogen_ext.models.replay import ReplayChatCompletionClient

    per_agent = messages // n_agents + 2
    agents = [
        AssistantAgent(f"agent{i}", model_client=ReplayChatCompletionClient(["pong"] * per_agent))
        for i in range(n_agents)
    ]
    team = RoundRobinGroupChat(agents, termination_condition=MaxMessageTermination(messages + 1))
    start = time.perf_counter()
    result = await team.run(task="0")
    elapsed = time.perf_counter() - start
    return elapsed, len(result.messages) - 1


# -- client throughput ------------------------------------------------------------------------
async def client_throughput(base_url: str, seconds: float, concurrency: int) -> float:
    """Sustained requests per second: `concurrency` callers each send requests back to back
    for `seconds`; completions are counted after a one-second warm-up, so neither the
    ramp-up nor the final drain of the pipeline is measured."""
    client = OpenAIChatClient(base_url, "fake", max_concurrency=concurrency, timeout=30)
    warm_up = 1.0
    start = time.perf_counter()
    done: list[float] = []

    async def caller(i: int) -> None:
        n = 0
        while time.perf_counter() - start < warm_up + seconds:
            await client.complete(ModelRequest.of(f"{i}-{n}"))
            done.append(time.perf_counter() - start)
            n += 1

    await asyncio.gather(*(caller(i) for i in range(concurrency)))
    await client.aclose()
    window = [t for t in done if warm_up <= t < warm_up + seconds]
    return len(window) / seconds


def client_throughput_sync(seconds: float, concurrency: int = 32, latency: float = 0.2) -> float:
    """The server runs in its own process, as a real model server would."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from agents.models.fake_server import main; main()",
            "--delay",
            str(latency),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        return asyncio.run(client_throughput(base_url, seconds, concurrency))
    finally:
        server.terminate()
        server.communicate(timeout=10)


# -- driver -----------------------------------------------------------------------------------
def best_per_message(fn: Callable[[], Awaitable[tuple[float, int]]], repeats: int) -> float:
    """Median seconds per message over `repeats` runs."""
    samples = []
    for _ in range(repeats):
        gc.collect()
        elapsed, count = asyncio.run(fn())
        samples.append(elapsed / count)
    return statistics.median(samples)


def paired_per_message(
    first: Callable[[], Awaitable[tuple[float, int]]],
    second: Callable[[], Awaitable[tuple[float, int]]],
    repeats: int,
) -> tuple[float, float]:
    """Median seconds per message of two configurations, their runs interleaved so that a
    change in the machine's load touches both alike."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, out in ((first, samples[0]), (second, samples[1])):
            gc.collect()
            elapsed, count = asyncio.run(fn())
            out.append(elapsed / count)
    return statistics.median(samples[0]), statistics.median(samples[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=400, help="messages per run")
    parser.add_argument("--repeats", type=int, default=5, help="runs per configuration")
    parser.add_argument(
        "--seconds", type=float, default=8.0, help="measured seconds of the throughput test"
    )
    args = parser.parse_args()
    n, reps = args.messages, args.repeats

    print(f"Orchestration overhead per message (median of {reps} runs, {n} messages each)")
    rows = []
    for label, agents in (("2-agent ping-pong", 2), ("10-agent round robin", 10)):
        ours = best_per_message(
            lambda a=agents: time_lyceum(lambda: lyceum_ring(a, n), "agent0", None), reps
        )
        theirs = best_per_message(lambda a=agents: time_autogen(a, n), reps)
        rows.append((label, ours, theirs))
        print(
            f"  {label:22s} lyceum {ours * 1e6:8.1f} us   autogen {theirs * 1e6:8.1f} us   "
            f"ratio lyceum/autogen {ours / theirs:5.3f}  (target <= 0.333: "
            f"{'met' if ours / theirs <= 1 / 3 else 'NOT met'})"
        )
    fan = best_per_message(
        lambda: time_lyceum(lambda: lyceum_fan_out(10, n // 20), "hub", None), reps
    )
    print(
        f"  {'10-agent fan-out':22s} lyceum {fan * 1e6:8.1f} us   (lyceum only; AutoGen's "
        "RoundRobinGroupChat has no concurrent fan-out)"
    )
    with TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'bench.db'}"
        memory, stored = paired_per_message(
            lambda: time_lyceum(lambda: lyceum_ring(2, n), "agent0", None),
            lambda: time_lyceum(lambda: lyceum_ring(2, n), "agent0", db),
            reps,
        )
    ratio = stored / memory
    print(
        f"  {'ping-pong, SQLite store':22s} lyceum {stored * 1e6:8.1f} us   in memory "
        f"{memory * 1e6:8.1f} us   ratio persisted/in-memory {ratio:5.2f}  (target <= 3: "
        f"{'met' if ratio <= 3 else 'NOT met'}; every message, event and model call stored)"
    )

    ideal = 32 / 0.2
    rate = client_throughput_sync(args.seconds)
    print(
        f"\nOpenAIChatClient throughput, concurrency 32, 200 ms loopback latency: "
        f"{rate:.1f} req/s = {rate / ideal:.1%} of ideal {ideal:.0f} req/s "
        f"(target >= 90%: {'met' if rate / ideal >= 0.9 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
