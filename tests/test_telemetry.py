"""OpenTelemetry spans (agents/telemetry/): the whole span tree of a run, errors, budget
stops, concurrent runs, streams, replays and cache hits, recorded with the SDK's in-memory
exporter on a tracer provider each test builds (never the global one)."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agents import AgentGraph, Budget, FunctionAgent, RunContext, Runtime
from agents.models import CachedModel, FunctionModel, ModelRequest, ReplayModel
from protocols import (
    Answer,
    Envelope,
    Message,
    ModelHTTPError,
    Question,
    Stop,
    TaskAssignment,
    UserError,
)
from tests.conftest import require

try:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    HAVE_SDK = True
except ImportError:  # pragma: no cover - the dev extra installs it
    HAVE_SDK = False

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    require(HAVE_SDK, "opentelemetry-sdk is not installed: pip install -e '.[dev]'")
    yield InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield tracer_provider
    tracer_provider.shutdown()


IDS = {"gen_ai.conversation.id", "lyceum.run.id", "lyceum.message.id", "lyceum.model_call.id"}


def tree(spans: Sequence[ReadableSpan]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """The spans depth-first, children in start order: (indented name, kind, status,
    attributes without ids). Ids are checked separately, against the run's."""
    by_parent: dict[int | None, list[ReadableSpan]] = {}
    for span in spans:
        parent = span.parent.span_id if span.parent is not None else None
        by_parent.setdefault(parent, []).append(span)
    out: list[tuple[str, str, str, dict[str, Any]]] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in sorted(by_parent.get(parent, []), key=lambda s: s.start_time or 0):
            attrs = {
                k: (list(v) if isinstance(v, tuple) else v)
                for k, v in (span.attributes or {}).items()
                if k not in IDS
            }
            out.append(
                ("  " * depth + span.name, span.kind.name, span.status.status_code.name, attrs)
            )
            assert span.context is not None
            walk(span.context.span_id, depth + 1)

    walk(None, 0)
    assert len(out) == len(spans), "every span hangs off the tree"
    return out


def tutoring(tutor: FunctionModel, pupil: ReplayModel, *, rounds: int = 2) -> AgentGraph:
    """The teacher asks `rounds` questions (its model writes them); the student answers
    each with its own model; then the teacher stops the run."""

    async def teacher(message: Message, ctx: RunContext) -> Sequence[Envelope]:
        asked: list[str] = ctx.state
        if len(asked) == rounds:
            return [Stop(detail="lesson over")]
        reply = await ctx.complete(
            tutor, ModelRequest.of(f"question {len(asked) + 1}", max_tokens=32, temperature=0.2)
        )
        asked.append(reply.text)
        return [Question(to="student", text=reply.text)]

    async def student(message: Message, ctx: RunContext) -> Sequence[Envelope]:
        reply = await ctx.complete(pupil, ModelRequest.of(getattr(message, "text", "")))
        return [Answer(to="teacher", text=reply.text)]

    t = FunctionAgent("teacher", teacher, state=list)
    s = FunctionAgent("student", student)
    return AgentGraph().edge(t, s, kinds=[Question]).edge(s, t, kinds=[Answer])


def turn(agent: str, kind: str, sender: str, replies: list[str]) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": agent,
        "lyceum.message.kind": kind,
        "lyceum.message.sender": sender,
        "lyceum.replies": replies,
    }


def chat(
    agent: str, model: str, provider: str, tokens: tuple[int, int], **extra: Any
) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "gen_ai.agent.name": agent,
        "lyceum.client": f"{'FunctionModel' if provider == 'lyceum.function' else 'ReplayModel'}"
        f"({model})",
        "lyceum.replayed": False,
        **extra,
        "lyceum.attempts": 1,
        "gen_ai.usage.input_tokens": tokens[0],
        "gen_ai.usage.output_tokens": tokens[1],
        "lyceum.usage.estimated": False,
        "gen_ai.response.model": model,
        "gen_ai.response.finish_reasons": ["stop"],
    }


def run_attrs(run_id: str, reason: str, usage: dict[str, float], **budget: Any) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.workflow.name": "lyceum",
        "lyceum.run.seed": 7,
        "lyceum.graph.agents": ["teacher", "student"],
        **{f"lyceum.budget.{k}": v for k, v in budget.items() if v is not None},
        "lyceum.run.reason": reason,
        "lyceum.run.status": "completed" if reason == "completed" else "stopped",
        **{f"lyceum.usage.{k}": v for k, v in usage.items()},
    }


TUTOR = {"gen_ai.request.max_tokens": 32, "gen_ai.request.temperature": 0.2}
PUPIL = {"gen_ai.request.max_tokens": 256, "gen_ai.request.temperature": 0.0}  # the defaults


async def test_the_whole_span_tree_of_a_seeded_run(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tutor = FunctionModel(lambda r: f"what is {r.messages[-1].content[-1]} + 1?", model="tutor-1")
    pupil = ReplayModel(["2", "3"], model="pupil")
    budget = Budget(turns=20, model_calls=10, seconds=60)
    result = await Runtime(tracer_provider=provider).run(
        tutoring(tutor, pupil), TaskAssignment(to="teacher", task="teach"), budget=budget, seed=7
    )
    assert result.reason == "completed"
    spans = exporter.get_finished_spans()
    usage = result.usage
    assert tree(spans) == [
        ("invoke_workflow lyceum", "INTERNAL", "UNSET",
         run_attrs(result.run_id, "completed", usage, **budget.as_dict())),
        ("  invoke_agent teacher", "INTERNAL", "UNSET",
         turn("teacher", "TaskAssignment", "user", ["Question"])),
        ("    chat tutor-1", "CLIENT", "UNSET",
         chat("teacher", "tutor-1", "lyceum.function", (2, 5), **TUTOR)),
        ("  invoke_agent student", "INTERNAL", "UNSET",
         turn("student", "Question", "teacher", ["Answer"])),
        ("    chat pupil", "CLIENT", "UNSET",
         chat("student", "pupil", "lyceum.replay", (5, 1), **PUPIL)),
        ("  invoke_agent teacher", "INTERNAL", "UNSET",
         turn("teacher", "Answer", "student", ["Question"])),
        ("    chat tutor-1", "CLIENT", "UNSET",
         chat("teacher", "tutor-1", "lyceum.function", (2, 5), **TUTOR)),
        ("  invoke_agent student", "INTERNAL", "UNSET",
         turn("student", "Question", "teacher", ["Answer"])),
        ("    chat pupil", "CLIENT", "UNSET",
         chat("student", "pupil", "lyceum.replay", (5, 1), **PUPIL)),
        ("  invoke_agent teacher", "INTERNAL", "UNSET",
         turn("teacher", "Answer", "student", ["Stop"])),
    ]  # fmt: skip
    assert result.usage["model_calls"] == 4 and result.usage["tokens"] == 2 * (2 + 5) + 2 * (5 + 1)
    # The ids: one trace; the run id on every span; each turn names the message it handled.
    assert {s.context.trace_id for s in spans if s.context} == {spans[0].context.trace_id}
    assert {(s.attributes or {})["gen_ai.conversation.id"] for s in spans} == {result.run_id}
    handled = [
        (s.attributes or {})["lyceum.message.id"]
        for s in sorted(spans, key=lambda s: s.start_time or 0)
        if s.name.startswith("invoke_agent")
    ]
    assert handled == [m.id for m in result.messages[:-1]]
    calls = [s for s in spans if s.name.startswith("chat")]
    assert len({(s.attributes or {})["lyceum.model_call.id"] for s in calls}) == 4
    # The span's duration is the call's latency.
    assert all((s.end_time or 0) > (s.start_time or 0) for s in spans)


async def test_a_failing_model_call_marks_its_span_its_turn_and_the_run(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    def down(request: ModelRequest) -> str:
        raise ModelHTTPError("server said 503", status=503, body="overloaded")

    result = await Runtime(tracer_provider=provider).run(
        tutoring(FunctionModel(down, model="tutor-1"), ReplayModel([])),
        TaskAssignment(to="teacher", task="teach"),
        seed=7,
    )
    assert result.reason == "error"
    rows = [(name, status, attrs.get("error.type")) for name, _, status, attrs in tree(
        exporter.get_finished_spans()
    )]  # fmt: skip
    assert rows == [
        ("invoke_workflow lyceum", "ERROR", "ModelHTTPError"),
        ("  invoke_agent teacher", "ERROR", "ModelHTTPError"),
        ("    chat tutor-1", "ERROR", "ModelHTTPError"),
    ]
    chat_span = next(s for s in exporter.get_finished_spans() if s.name == "chat tutor-1")
    assert chat_span.status.description == "ModelHTTPError: server said 503"
    assert [e.name for e in chat_span.events] == ["exception"]
    assert (chat_span.attributes or {})["gen_ai.usage.input_tokens"] == 0


async def test_a_budget_stop_ends_the_refused_call_and_its_turn_not_the_run(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tutor = FunctionModel(lambda r: "what is 1 + 1?", model="tutor-1")
    result = await Runtime(tracer_provider=provider).run(
        tutoring(tutor, ReplayModel(["2"], model="pupil")),
        TaskAssignment(to="teacher", task="teach"),
        budget=Budget(model_calls=2),
        seed=7,
    )
    assert result.reason == "max_model_calls"
    rows = [(name, status, attrs.get("error.type")) for name, _, status, attrs in tree(
        exporter.get_finished_spans()
    )]  # fmt: skip
    assert rows == [
        ("invoke_workflow lyceum", "UNSET", None),
        ("  invoke_agent teacher", "UNSET", None),
        ("    chat tutor-1", "UNSET", None),
        ("  invoke_agent student", "UNSET", None),
        ("    chat pupil", "UNSET", None),
        ("  invoke_agent teacher", "ERROR", "BudgetExceeded"),
        ("    chat tutor-1", "ERROR", "BudgetExceeded"),
    ]
    root = tree(exporter.get_finished_spans())[0][3]
    assert root["lyceum.run.reason"] == "max_model_calls"
    assert root["lyceum.usage.model_calls"] == 2 and root["lyceum.budget.model_calls"] == 2


async def test_concurrent_runs_keep_their_spans_apart(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    async def slow(request: ModelRequest) -> str:
        await asyncio.sleep(0.001)  # the two runs interleave at every model call
        return "what is 1 + 1?"

    runtime = Runtime(tracer_provider=provider)
    results = await asyncio.gather(
        *(
            runtime.run(
                tutoring(FunctionModel(slow, model="tutor-1"), ReplayModel(["2", "3"])),
                TaskAssignment(to="teacher", task="teach"),
                seed=7,
            )
            for _ in range(2)
        )
    )
    spans = exporter.get_finished_spans()
    assert len(spans) == 2 * 10
    for result in results:
        mine = [s for s in spans if (s.attributes or {})["gen_ai.conversation.id"] == result.run_id]
        assert len(mine) == 10
        assert [row[0] for row in tree(mine)] == [
            "invoke_workflow lyceum",
            *["  invoke_agent teacher", "    chat tutor-1", "  invoke_agent student",
              "    chat replay"] * 2,
            "  invoke_agent teacher",
        ]  # fmt: skip
        assert len({s.context.trace_id for s in mine if s.context}) == 1
    starts = sorted(spans, key=lambda s: s.start_time or 0)
    owners = [(s.attributes or {})["gen_ai.conversation.id"] for s in starts]
    switches = sum(a != b for a, b in itertools.pairwise(owners))
    assert switches >= 3, "the runs really overlapped"


async def test_agents_working_concurrently_in_one_step_parent_their_own_calls(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Three workers answer the hub in one step, as concurrent tasks whose model calls
    interleave: each call's span is a child of the turn of the worker that made it."""

    async def slow(request: ModelRequest) -> str:
        await asyncio.sleep(0.001)
        return request.messages[-1].content

    model = FunctionModel(slow, model="worker-model")

    async def hub(message: Message, ctx: RunContext) -> Sequence[Envelope]:
        ctx.state.append(message)
        if isinstance(message, TaskAssignment):
            return [Question(text="go")]  # to every worker
        return [Stop()] if len(ctx.state) == 4 else []

    async def worker(message: Message, ctx: RunContext) -> Sequence[Envelope]:
        first = await ctx.complete(model, ModelRequest.of(f"{ctx.agent} first"))
        second = await ctx.complete(model, ModelRequest.of(f"{ctx.agent} second"))
        return [Answer(to="hub", text=f"{first.text}, {second.text}")]

    graph = AgentGraph().add(FunctionAgent("hub", hub, state=list))
    for i in range(3):
        w = FunctionAgent(f"w{i}", worker)
        graph.edge("hub", w, kinds=[Question]).edge(w, "hub", kinds=[Answer])
    await Runtime(tracer_provider=provider).run(graph, TaskAssignment(to="hub", task="t"))
    spans = exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans if s.context}
    calls = [s for s in spans if s.name == "chat worker-model"]
    assert len(calls) == 6
    for call in calls:
        assert call.parent is not None
        turn_span = by_id[call.parent.span_id]
        assert turn_span.name == f"invoke_agent {(call.attributes or {})['gen_ai.agent.name']}"
    starts = [
        (s.attributes or {})["gen_ai.agent.name"]
        for s in sorted(calls, key=lambda s: s.start_time or 0)
    ]
    assert starts[:3] == ["w0", "w1", "w2"], "the workers' calls overlapped"


async def test_streams_replays_and_cache_hits_are_marked(
    provider: TracerProvider, exporter: InMemorySpanExporter, tmp_path: Path
) -> None:
    cache = CachedModel(FunctionModel(lambda r: "two", model="pupil"), tmp_path / "cache.sqlite")

    async def asker(message: Message, ctx: RunContext) -> Sequence[Envelope]:
        if isinstance(message, Answer):
            return [Stop()]
        return [Question(to="answerer", text="1 + 1?")]

    async def answerer(message: Message, ctx: RunContext) -> Sequence[Envelope]:
        first = await ctx.complete(cache, ModelRequest.of("1 + 1?"))
        again = await ctx.complete(cache, ModelRequest.of("1 + 1?"))
        talker = FunctionModel(lambda r: "it is two")
        streamed = "".join([p async for p in ctx.stream(talker, ModelRequest.of("1 + 1?"))])
        return [Answer(to="asker", text=f"{first.text} {again.text} {streamed}")]

    a, b = FunctionAgent("asker", asker), FunctionAgent("answerer", answerer)
    graph = AgentGraph().edge(a, b, kinds=[Question]).edge(b, a, kinds=[Answer])
    runtime = Runtime(f"sqlite:///{tmp_path / 'runs.db'}", tracer_provider=provider)
    run = await runtime.run(graph, TaskAssignment(to="asker", task="ask"), seed=7)
    calls = [s for s in exporter.get_finished_spans() if s.name.startswith("chat")]
    assert [
        ((s.attributes or {}).get("lyceum.cache.hit"), (s.attributes or {}).get("lyceum.stream"))
        for s in calls
    ] == [(False, None), (True, None), (None, True)]
    assert [(s.attributes or {})["gen_ai.usage.output_tokens"] for s in calls] == [1, 1, 3]
    assert {(s.attributes or {})["lyceum.replayed"] for s in calls} == {False}

    exporter.clear()
    report = await runtime.replay(run.run_id, graph)
    assert report.identical
    spans = exporter.get_finished_spans()
    root = next(s for s in spans if s.parent is None)
    assert (root.attributes or {})["lyceum.run.replay_of"] == run.run_id
    replayed = [s for s in spans if s.name.startswith("chat")]
    assert len(replayed) == 3
    assert {(s.attributes or {})["lyceum.replayed"] for s in replayed} == {True}
    runtime.store.close()  # type: ignore[union-attr]


async def test_a_simulated_classroom_is_traced_turn_by_turn(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """The demo lesson (simulated minds, labelled as such: no LLM involved): one turn span
    per delivered message, each a child of the run's span, naming what it handled."""
    from agents.demo import build_lesson_graph, start_message

    result = await Runtime(tracer_provider=provider).run(
        build_lesson_graph("novice", seed=0),
        start_message(),
        budget=Budget(turns=200, model_calls=50, seconds=60),
        seed=0,
    )
    spans = exporter.get_finished_spans()
    roots = [s for s in spans if s.parent is None]
    assert [s.name for s in roots] == ["invoke_workflow agents.demo.lesson:build_lesson_graph"]
    turns = [s for s in spans if s.name.startswith("invoke_agent ")]
    assert all(s.parent is not None and s.parent.span_id == roots[0].context.span_id for s in turns)
    delivered = {(name, m.id) for m in result.messages for name in m.recipients if name != "user"}
    handled = [
        ((s.attributes or {})["gen_ai.agent.name"], (s.attributes or {})["lyceum.message.id"])
        for s in turns
    ]
    # Messages of the last step, sent alongside the Stop, are never handled.
    assert len(set(handled)) == len(handled) and set(handled) <= delivered
    assert len(turns) == result.usage["turns"]
    calls = [s for s in spans if s.name.startswith("chat ")]
    assert len(calls) == result.usage["model_calls"]


def test_a_tracer_is_accepted_and_anything_else_is_refused(provider: TracerProvider) -> None:
    Runtime(tracer_provider=provider.get_tracer("mine"))
    with pytest.raises(UserError, match="TracerProvider or Tracer"):
        Runtime(tracer_provider="console")  # type: ignore[arg-type]


def test_without_a_provider_nothing_is_traced_and_opentelemetry_is_not_imported() -> None:
    """In a fresh interpreter: a run without a provider imports nothing of OpenTelemetry;
    then, with a global provider configured, a run without one still records nothing, and
    `tracer_provider=trace.get_tracer_provider()` records it, as `lyceum demo --otel` does."""
    require(HAVE_SDK, "opentelemetry-sdk is not installed: pip install -e '.[dev]'")
    script = textwrap.dedent(
        """
        import asyncio, sys
        import agents.cli, knowledge_graph, personas  # everything a user imports
        from agents import AgentGraph, FunctionAgent, Runtime
        from agents.models import FunctionModel, ModelRequest
        from protocols import Answer, Question

        async def answer(message, ctx):
            reply = await ctx.complete(FunctionModel(lambda r: "4"), ModelRequest.of("2 + 2?"))
            return Answer(to="user", text=reply.text)

        def run(**kw):
            graph = AgentGraph().add(FunctionAgent("tutor", answer))
            return asyncio.run(Runtime(**kw).run(graph, Question(to="tutor", text="2 + 2?")))

        assert run().reason == "completed"
        print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        run()
        print(len(exporter.get_finished_spans()))
        run(tracer_provider=trace.get_tracer_provider())
        print(len(exporter.get_finished_spans()))
        from click.testing import CliRunner
        from agents.cli import main
        exporter.clear()
        args = ["demo", "--db", ":memory:", "--students", "0", "--profiles", "novice", "--quiet"]
        assert CliRunner().invoke(main, args).exit_code == 0
        print(len(exporter.get_finished_spans()))
        assert CliRunner().invoke(main, [*args, "--otel"]).exit_code == 0
        print([s.name for s in exporter.get_finished_spans() if s.parent is None])
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "[]",
        "0",
        "3",
        "0",
        "['invoke_workflow agents.demo.lesson:build_lesson_graph']",
    ]


async def test_structured_retries_and_scoring_are_one_span_per_call(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A structured-output call re-asked once is two `chat` spans, numbered; a scoring
    call is a `score` span (a custom operation name: no conventional one fits)."""

    class Verdict(BaseModel):
        correct: bool

    replies = iter(["I think so", '{"correct": true}'])
    judge = FunctionModel(lambda r: next(replies), model="judge")
    scorer = FunctionModel(lambda r: "", model="lm", scorer=lambda p, cs: [-1.0 for _ in cs])

    async def grade(message: Message, ctx: RunContext) -> Sequence[Envelope]:
        verdict = await ctx.complete(judge, ModelRequest.of("2 + 2 = 4?"), output=Verdict)
        scores = await ctx.score(scorer, "2 + 2 =", [" 4", " 5"])
        return [Stop(detail=f"{verdict.correct} {scores}")]

    graph = AgentGraph().add(FunctionAgent("grader", grade))
    result = await Runtime(tracer_provider=provider).run(
        graph, Question(to="grader", text="grade"), seed=7
    )
    assert result.detail == "True [-1.0, -1.0]"
    rows = [
        (name.strip(), attrs.get("lyceum.structured_attempt"), attrs.get("gen_ai.provider.name"))
        for name, _, _, attrs in tree(exporter.get_finished_spans())
    ]
    assert rows == [
        ("invoke_workflow lyceum", None, None),
        ("invoke_agent grader", None, None),
        ("chat judge", 1, "lyceum.function"),
        ("chat judge", 2, "lyceum.function"),
        ("score lm", None, "lyceum.function"),
    ]


def test_otel_without_a_configured_provider_says_nothing_is_exported() -> None:
    """`--otel` in a process where nothing set a tracer provider warns on stderr that no
    spans go anywhere, and the lesson still runs."""
    script = textwrap.dedent(
        """
        from click.testing import CliRunner
        from agents.cli import main
        args = ["demo", "--db", ":memory:", "--students", "0", "--profiles", "novice", "--quiet"]
        result = CliRunner().invoke(main, [*args, "--otel"])
        print(result.exit_code)
        print(result.stderr.strip())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "0",
        "warning: --otel: no OpenTelemetry tracer provider is configured, so no spans are "
        "exported; run under opentelemetry-instrument (docs/telemetry.md)",
    ]


def test_every_attribute_the_spans_set_is_in_the_docs_table() -> None:
    """docs/telemetry.md's table names every attribute key that agents/telemetry writes (a
    ``a/b/c`` cell names ``a``, ``…b`` and ``…c``), so the docs cannot fall behind."""
    import re

    code = "".join(p.read_text() for p in sorted((ROOT / "agents/telemetry").glob("*.py")))
    keys = set(re.findall(r'"((?:gen_ai|lyceum|error|server)\.[a-z_.]+)"', code))
    documented: set[str] = set()
    for cell in re.findall(r"`((?:gen_ai|lyceum|error|server)\.[a-z_./]+)`", (
        ROOT / "docs/telemetry.md"
    ).read_text()):
        head, _, tail = cell.rpartition(".")
        documented |= {f"{head}.{leaf}" for leaf in tail.split("/")} if head else {cell}
    assert len(keys) > 20
    assert sorted(keys - documented) == []
