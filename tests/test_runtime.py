"""The runtime: routing, whole transcripts, budgets, cancellation, concurrency, events."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel

from agents import AgentGraph, Budget, FunctionAgent, HumanAgent, QueueInput, RunContext, Runtime
from agents.models import FunctionModel, ModelRequest
from protocols import (
    Answer,
    BudgetWarning,
    Envelope,
    Error,
    Explanation,
    Message,
    MessageSent,
    ModelCallFinished,
    ModelCallStarted,
    Question,
    RunStarted,
    RunStopped,
    Stop,
    TokenDelta,
    UnexpectedModelOutput,
    UserError,
)


def fixed_clock() -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC)


def tutoring_graph(model: FunctionModel, *, rounds: int = 2) -> AgentGraph:
    """A teacher asks `rounds` questions; the student answers each with the model."""
    asked = {"n": 0}

    async def teacher(message: Message, ctx: RunContext) -> Sequence[Envelope]:
        if isinstance(message, Answer) and asked["n"] >= rounds:
            return [Stop(detail=f"asked {rounds} questions")]
        asked["n"] += 1
        return [Question(to="student", text=f"What is {asked['n']} + {asked['n']}?")]

    async def student(message: Message, ctx: RunContext) -> Envelope:
        assert isinstance(message, Question)
        reply = await ctx.complete(model, ModelRequest.of(message.text))
        return Answer(to="teacher", text=reply.text, confidence=0.5)

    t = FunctionAgent("teacher", teacher, emits=[Question, Stop])
    s = FunctionAgent("student", student, emits=[Answer])
    return AgentGraph().edge(t, s, kinds=[Question]).edge(s, t, kinds=[Answer])


def adder() -> FunctionModel:
    def fn(request: ModelRequest) -> str:
        words = request.messages[-1].content.rstrip("?").split()
        return str(int(words[2]) + int(words[4]))

    return FunctionModel(fn)


async def test_whole_typed_transcript_of_a_tutoring_exchange() -> None:
    result = await Runtime(clock=fixed_clock).run(
        tutoring_graph(adder()), Question(to="teacher", text="start"), budget=Budget(turns=10)
    )
    assert result.reason == "completed"
    assert result.transcript() == [
        {
            "sender": "user",
            "recipients": ["teacher"],
            "parent": None,
            "kind": "question",
            "text": "start",
            "item_id": None,
            "choices": [],
        },
        {
            "sender": "teacher",
            "recipients": ["student"],
            "parent": 0,
            "kind": "question",
            "text": "What is 1 + 1?",
            "item_id": None,
            "choices": [],
        },
        {
            "sender": "student",
            "recipients": ["teacher"],
            "parent": 1,
            "kind": "answer",
            "text": "2",
            "item_id": None,
            "confidence": 0.5,
        },
        {
            "sender": "teacher",
            "recipients": ["student"],
            "parent": 2,
            "kind": "question",
            "text": "What is 2 + 2?",
            "item_id": None,
            "choices": [],
        },
        {
            "sender": "student",
            "recipients": ["teacher"],
            "parent": 3,
            "kind": "answer",
            "text": "4",
            "item_id": None,
            "confidence": 0.5,
        },
        {
            "sender": "teacher",
            "recipients": [],
            "parent": 4,
            "kind": "stop",
            "reason": "completed",
            "detail": "asked 2 questions",
        },
    ]
    assert result.usage["turns"] == 5
    assert result.usage["model_calls"] == 2
    assert all(m.run_id == result.run_id for m in result.messages)
    assert all(m.timestamp == fixed_clock() for m in result.messages)


def random_talker_graph() -> AgentGraph:
    async def talk(message: Message, ctx: RunContext) -> Envelope:
        n = int(getattr(message, "text", "0") or 0)
        if n > 5:
            return Stop()
        other = "b" if ctx.agent == "a" else "a"
        return Question(to=other, text=str(n + ctx.rng.randint(1, 3)))

    a, b = FunctionAgent("a", talk), FunctionAgent("b", talk)
    return AgentGraph().edge(a, b).edge(b, a)


async def test_runs_are_deterministic_given_a_seed() -> None:
    runtime = Runtime(clock=fixed_clock)
    first = await runtime.run(random_talker_graph(), Question(to="a", text="0"), seed=7)
    second = await runtime.run(random_talker_graph(), Question(to="a", text="0"), seed=7)
    assert first.transcript() == second.transcript()
    assert first.run_id != second.run_id
    others = [
        (await runtime.run(random_talker_graph(), Question(to="a", text="0"), seed=s)).transcript()
        for s in range(8)
    ]
    assert any(t != first.transcript() for t in others)


def ping_pong(model: FunctionModel | None = None) -> AgentGraph:
    async def bounce(message: Message, ctx: RunContext) -> Envelope:
        if model is not None:
            await ctx.complete(model, ModelRequest.of("ping"))
        return Question(to="b" if ctx.agent == "a" else "a", text="ping")

    a, b = FunctionAgent("a", bounce), FunctionAgent("b", bounce)
    return AgentGraph().edge(a, b).edge(b, a)


async def test_turn_budget_stops_an_endless_conversation() -> None:
    result = await Runtime().run(ping_pong(), Question(to="a", text="go"), budget=Budget(turns=5))
    assert result.reason == "max_turns"
    assert result.status == "stopped"
    assert result.usage["turns"] == 5
    last = result.messages[-1]
    assert isinstance(last, Stop) and last.sender == "runtime" and last.reason == "max_turns"
    assert len(result.messages) == 1 + 5 + 1  # first message, one per turn, the Stop


async def test_model_call_budget_stops_the_run() -> None:
    model = FunctionModel(lambda r: "pong")
    result = await Runtime().run(
        ping_pong(model), Question(to="a", text="go"), budget=Budget(turns=100, model_calls=3)
    )
    assert result.reason == "max_model_calls"
    assert len(model.calls) == 3
    assert result.messages[-1] == Stop.model_validate(
        {**result.messages[-1].model_dump(), "reason": "max_model_calls"}
    )


async def test_token_budget_stops_the_run() -> None:
    model = FunctionModel(lambda r: "one two three")  # 1 prompt + 3 completion tokens a call
    result = await Runtime().run(
        ping_pong(model), Question(to="a", text="go"), budget=Budget(turns=100, tokens=10)
    )
    assert result.reason == "max_tokens"
    assert result.usage["tokens"] == 12  # the third call crosses the limit of 10
    assert "tokens used 12 of 10" in result.detail


async def test_wall_time_budget_stops_a_stuck_agent() -> None:
    async def stuck(message: Message, ctx: RunContext) -> None:
        await asyncio.Event().wait()

    graph = AgentGraph().add(FunctionAgent("stuck", stuck))
    result = await Runtime().run(graph, Question(to="stuck", text="hi"), budget=Budget(seconds=0.2))
    assert result.reason == "max_seconds"
    assert isinstance(result.messages[-1], Stop)


@pytest.mark.parametrize("field", ["turns", "model_calls", "tokens", "seconds"])
def test_a_budget_of_zero_is_a_clear_error(field: str) -> None:
    with pytest.raises(UserError, match=rf"Budget\.{field} must be positive, got 0"):
        Budget(**{field: 0})  # type: ignore[arg-type]


async def test_cancellation_records_the_run_as_interrupted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    started = asyncio.Event()

    async def slow(message: Message, ctx: RunContext) -> None:
        started.set()
        await asyncio.sleep(60)

    runtime = Runtime(f"sqlite:///{tmp_path / 'runs.db'}")
    graph = AgentGraph().add(FunctionAgent("slow", slow))
    task = asyncio.create_task(runtime.run(graph, Question(to="slow", text="hi")))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runtime.store is not None
    (record,) = runtime.store.list_runs()
    assert (record.status, record.stop_reason) == ("interrupted", "interrupted")
    last = runtime.store.messages(record.id)[-1]
    assert isinstance(last, Stop) and last.reason == "interrupted"


async def test_independent_agents_in_one_step_run_concurrently() -> None:
    barrier = asyncio.Barrier(2)  # deadlocks unless both agents are running at once

    async def wait_for_peer(message: Message, ctx: RunContext) -> Envelope:
        await barrier.wait()
        return Answer(to="hub", text=ctx.agent)

    def collect(message: Message, ctx: RunContext) -> None:
        return None

    hub = FunctionAgent("hub", collect)
    a, b = FunctionAgent("a", wait_for_peer), FunctionAgent("b", wait_for_peer)
    graph = AgentGraph().add(hub, a, b).edge(hub, a).edge(hub, b).edge(a, hub).edge(b, hub)
    result = await Runtime().run(
        graph, Question(to=["a", "b"], text="go"), budget=Budget(seconds=5)
    )
    assert result.reason == "completed"
    # Replies are committed in graph order, whatever order the agents finished in.
    assert [(m.sender, getattr(m, "text", None)) for m in result.messages[1:3]] == [
        ("a", "a"),
        ("b", "b"),
    ]


async def test_sending_along_a_missing_edge_stops_with_a_typed_error() -> None:
    a = FunctionAgent("a", lambda m, ctx: Explanation(to="b", text="x"))
    b = FunctionAgent("b", lambda m, ctx: None)
    graph = AgentGraph().edge(a, b, kinds=[Question]).edge(b, a, kinds=[Answer])
    result = await Runtime().run(graph, Question(to="a", text="go"))
    assert result.reason == "error"
    error = result.messages[-2]
    assert isinstance(error, Error) and error.sender == "a"
    assert "no edge a → b accepting Explanation" in error.detail
    assert ".edge('a', 'b', kinds=[Explanation])" in error.detail


async def test_an_agent_exception_becomes_an_error_message() -> None:
    def boom(message: Message, ctx: RunContext) -> None:
        raise ValueError("bad item id 'x-1'")

    graph = AgentGraph().add(FunctionAgent("boom", boom))
    result = await Runtime().run(graph, Question(to="boom", text="go"))
    assert result.reason == "error" and result.status == "error"
    assert [type(m).__name__ for m in result.messages] == ["Question", "Error", "Stop"]
    assert result.messages[1].model_dump(include={"error_type", "detail"}) == {
        "error_type": "ValueError",
        "detail": "bad item id 'x-1'",
    }


def test_the_first_message_must_name_a_known_recipient() -> None:
    graph = AgentGraph().add(FunctionAgent("a", lambda m, c: None))
    with pytest.raises(UserError, match="names no recipient"):
        asyncio.run(Runtime().run(graph, Question(text="hi")))
    with pytest.raises(UserError, match="unknown agent 'b'"):
        asyncio.run(Runtime().run(graph, Question(to="b", text="hi")))


async def test_event_stream_shows_messages_model_calls_tokens_and_warnings() -> None:
    model = FunctionModel(lambda r: "two words")

    async def streamer(message: Message, ctx: RunContext) -> Envelope:
        pieces = [p async for p in ctx.stream(model, ModelRequest.of("say"))]
        return Stop(detail="".join(pieces))

    graph = AgentGraph().add(FunctionAgent("s", streamer))
    events = [
        e
        async for e in Runtime().stream(graph, Question(to="s", text="go"), budget=Budget(turns=1))
    ]
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunStopped"
    assert isinstance(events[0], RunStarted) and "flowchart LR" in events[0].graph
    assert [e.text for e in events if isinstance(e, TokenDelta)] == ["two", " words"]
    started = next(i for i, e in enumerate(events) if isinstance(e, ModelCallStarted))
    finished = next(i for i, e in enumerate(events) if isinstance(e, ModelCallFinished))
    first_token = next(i for i, e in enumerate(events) if isinstance(e, TokenDelta))
    assert started < first_token < finished
    assert any(isinstance(e, BudgetWarning) and e.resource == "turns" for e in events)
    sent = [e.message for e in events if isinstance(e, MessageSent)]
    assert [type(m).__name__ for m in sent] == ["Question", "Stop"]
    assert isinstance(sent[-1], Stop) and sent[-1].detail == "two words"
    assert isinstance(events[-1], RunStopped) and events[-1].reason == "completed"


class Verdict(BaseModel):
    correct: bool
    reason: str


async def test_structured_output_is_re_asked_with_the_validation_error() -> None:
    replies = iter(['{"correct": "maybe"}', '```json\n{"correct": true, "reason": "4 = 2+2"}\n```'])
    model = FunctionModel(lambda r: next(replies))
    seen: list[Verdict] = []

    async def judge(message: Message, ctx: RunContext) -> Envelope:
        seen.append(await ctx.complete(model, ModelRequest.of("is 4 right?"), output=Verdict))
        return Stop()

    result = await Runtime().run(
        AgentGraph().add(FunctionAgent("j", judge)), Question(to="j", text="go")
    )
    assert seen == [Verdict(correct=True, reason="4 = 2+2")]
    assert result.usage["model_calls"] == 2
    reask = model.calls[1].messages
    assert [m.role for m in reask] == ["user", "assistant", "user"]
    assert "correct: Input should be a valid boolean" in reask[-1].content
    assert "reason: Field required" in reask[-1].content
    assert model.calls[0].response_schema == Verdict.model_json_schema()
    assert [r.output_type for r in model.calls] == [Verdict, Verdict]  # what doubles dispatch on


async def test_structured_output_gives_up_with_the_raw_text() -> None:
    model = FunctionModel(lambda r: "not json at all")

    async def judge(message: Message, ctx: RunContext) -> Envelope:
        await ctx.complete(model, ModelRequest.of("?"), output=Verdict, max_retries=1)
        return Stop()

    result = await Runtime().run(
        AgentGraph().add(FunctionAgent("j", judge)), Question(to="j", text="go")
    )
    assert result.reason == "error"
    error = result.messages[-2]
    assert isinstance(error, Error) and error.error_type == UnexpectedModelOutput.__name__
    assert "after 2 attempts" in error.detail and "'not json at all'" in error.detail


async def test_human_agent_answers_from_an_input_queue() -> None:
    source = QueueInput()
    human = HumanAgent("learner", source, timeout=5)
    teacher = FunctionAgent("teacher", lambda m, c: Stop(detail=f"got {getattr(m, 'text', '')}"))
    graph = AgentGraph().edge(teacher, human, kinds=[Question]).edge(human, teacher, kinds=[Answer])
    task = asyncio.create_task(Runtime().run(graph, Question(to="learner", text="2+2?")))
    while source.waiting_on is None:
        await asyncio.sleep(0.01)
    assert isinstance(source.waiting_on, Question) and source.waiting_on.text == "2+2?"
    source.put(" 4 ")
    result = await task
    assert [(m.sender, type(m).__name__, getattr(m, "text", None)) for m in result.messages] == [
        ("user", "Question", "2+2?"),
        ("learner", "Answer", "4"),
        ("teacher", "Stop", None),
    ]
    assert result.detail == "got 4"


@pytest.mark.parametrize(
    ("policy", "reason", "kinds"),
    [
        ("skip", "completed", ["Question", "Stop"]),
        ("stop", "completed", ["Question", "Stop"]),
        ("default", "completed", ["Question", "Answer", "Stop"]),
    ],
)
async def test_human_agent_timeout_policies(policy: str, reason: str, kinds: list[str]) -> None:
    human = HumanAgent(
        "learner",
        QueueInput(),
        timeout=0.05,
        on_timeout=policy,  # type: ignore[arg-type]
        default_reply="I don't know",
    )
    sink = FunctionAgent("teacher", lambda m, c: None)
    graph = AgentGraph().edge(human, sink, kinds=[Answer]).edge(sink, human, kinds=[Question])
    result = await Runtime().run(graph, Question(to="learner", text="?"), budget=Budget(seconds=5))
    assert result.reason == reason
    assert [type(m).__name__ for m in result.messages] == kinds
    if policy == "stop":
        assert result.messages[-1].sender == "learner"
        assert "did not answer within 0.05s" in result.detail
    if policy == "default":
        assert getattr(result.messages[1], "text", None) == "I don't know"


def test_timestamps_default_to_now_in_utc() -> None:
    graph = AgentGraph().add(FunctionAgent("a", lambda m, c: None))
    result = asyncio.run(Runtime().run(graph, Question(to="a", text="hi")))
    assert abs(result.messages[0].timestamp - datetime.now(UTC)) < timedelta(minutes=1)


async def test_human_agent_on_the_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from agents import TerminalInput

    monkeypatch.setattr("sys.stdin", io.StringIO("3/4\n"))
    human = HumanAgent("learner", TerminalInput(prompt="your answer> "), timeout=5)
    teacher = FunctionAgent("teacher", lambda m, c: Stop(detail=getattr(m, "text", "")))
    graph = AgentGraph().edge(teacher, human, kinds=[Question]).edge(human, teacher, kinds=[Answer])
    result = await Runtime().run(graph, Question(to="learner", text="1/2 + 1/4?"))
    assert result.detail == "3/4"
    assert "[user] 1/2 + 1/4?" in capsys.readouterr().out
