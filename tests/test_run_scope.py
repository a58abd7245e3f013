"""Run-scoped correctness: a budget stop cancels the step's other agents and nothing is
recorded after the Stop; per-run agent state makes runs of one graph object, replays and
concurrent runs identical; bad budgets fail at construction; an observer's exception or a
runtime fault still ends the run with a typed Error and Stop."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents import AgentGraph, Budget, FunctionAgent, RunContext, Runtime
from agents.demo import build_lesson_graph, start_message
from agents.models import FunctionModel, ModelRequest
from agents.store import RunStore, SqlRunStore
from knowledge_graph.builders import sample_curriculum
from personas import (
    LearnerProfile,
    Persona,
    PersonaSpec,
    Reply,
    SimulatedStudent,
    SimulatedTeacherMind,
    ToolRegistry,
    builtin_persona,
    calculator_tool,
)
from personas.moves import bridge_tool, moves_tool
from personas.persona import PlanOut, TurnState
from personas.prompting import ThoughtVars, ToolInfo
from protocols import (
    Answer,
    Envelope,
    Error,
    Event,
    Explanation,
    Hint,
    Message,
    MessageSent,
    Question,
    RunStopped,
    Stop,
    TokenDelta,
    UserError,
    transcript,
)


def store_runtime(tmp_path: Path) -> tuple[Runtime, RunStore]:
    runtime = Runtime(f"sqlite:///{tmp_path / 'runs.db'}")
    assert runtime.store is not None
    return runtime, runtime.store


def assert_nothing_after_the_stop(store: RunStore, run_id: str) -> Stop:
    """The run is finished in the store, its last message is the Stop, its last event is
    RunStopped, and no model call was recorded after the Stop."""
    record = store.get_run(run_id)
    assert record.status != "running" and record.finished_at is not None
    messages = store.messages(run_id)
    stop = messages[-1]
    assert isinstance(stop, Stop) and not any(isinstance(m, Stop) for m in messages[:-1])
    assert isinstance(store.events(run_id)[-1], RunStopped)
    assert all(call.created_at <= stop.timestamp for call in store.model_calls(run_id))
    return stop


# -- 1. a budget stop cancels the siblings; nothing is recorded after the run ends ---------
async def test_a_budget_stop_cancels_sibling_agents_and_records_nothing_after_it(
    tmp_path: Path,
) -> None:
    slow_started, release = asyncio.Event(), asyncio.Event()
    cancelled: list[str] = []

    async def slow_reply(request: ModelRequest) -> str:
        slow_started.set()
        await release.wait()  # the test releases it only after the run has ended
        return "late"

    spender_model = FunctionModel(lambda r: "one two three four five six", model="spender")
    slow_model = FunctionModel(slow_reply, model="slow")

    async def spender(message: Message, ctx: RunContext) -> Envelope:
        await slow_started.wait()  # the sibling is mid-call when the budget runs out
        reply = await ctx.complete(spender_model, ModelRequest.of("spend"))
        return Answer(to="hub", text=reply.text)

    async def slow(message: Message, ctx: RunContext) -> Envelope:
        try:
            reply = await ctx.complete(slow_model, ModelRequest.of("wait"))
        except asyncio.CancelledError:
            cancelled.append(ctx.agent)
            raise
        return Answer(to="hub", text=reply.text)

    hub = FunctionAgent("hub", lambda m, ctx: None)
    graph = AgentGraph().add(hub)
    for agent in (FunctionAgent("spender", spender), FunctionAgent("slow", slow)):
        graph.edge(hub, agent).edge(agent, hub)
    runtime, store = store_runtime(tmp_path)
    result = await runtime.run(
        graph, Question(to=["spender", "slow"], text="go"), budget=Budget(tokens=5)
    )
    assert result.reason == "max_tokens"
    assert cancelled == ["slow"]
    release.set()  # had the sibling survived, its call would now finish and be recorded
    for _ in range(5):
        await asyncio.sleep(0.01)
    assert result.transcript() == [
        {"sender": "user", "recipients": ["spender", "slow"], "parent": None}
        | {"kind": "question", "text": "go", "item_id": None, "choices": []},
        {"sender": "runtime", "recipients": [], "parent": 0}
        | {"kind": "stop", "reason": "max_tokens", "detail": result.detail},
    ]
    assert transcript(store.messages(result.run_id)) == result.transcript()
    assert [(c.agent, c.model, c.status) for c in store.model_calls(result.run_id)] == [
        ("spender", "spender", "ok")
    ]
    assert len(slow_model.calls) == 1  # started, never finished, never recorded
    assert_nothing_after_the_stop(store, result.run_id)


async def test_a_model_call_after_the_run_ended_is_refused_and_not_recorded(
    tmp_path: Path,
) -> None:
    model = FunctionModel(lambda r: "ok")
    leaked: list[asyncio.Task[object]] = []
    ended = asyncio.Event()

    async def leaky(message: Message, ctx: RunContext) -> None:
        async def later() -> object:
            await ended.wait()
            return await ctx.complete(model, ModelRequest.of("after the end"))

        leaked.append(asyncio.ensure_future(later()))  # not awaited: outlives the run

    graph = AgentGraph().add(FunctionAgent("leaky", leaky))
    runtime, store = store_runtime(tmp_path)
    result = await runtime.run(graph, Question(to="leaky", text="go"))
    assert result.reason == "completed"
    ended.set()
    refused = r"called FunctionModel\(function\) after run \w+ ended; the call is refused"
    with pytest.raises(UserError, match=refused):
        await leaked[0]
    assert model.calls == [] and store.model_calls(result.run_id) == []
    assert_nothing_after_the_stop(store, result.run_id)


# -- 2. per-run state: runs of one graph object, replays and concurrent runs agree --------
def classroom() -> AgentGraph:
    """A simulated teacher persona and a simulated student who holds a misconception:
    the teacher's memory of tries, the persona's history and the student's learning all
    change during a run."""
    kg = sample_curriculum()
    teacher = Persona(
        builtin_persona("teacher"),
        SimulatedTeacherMind(kg),
        tools=ToolRegistry([bridge_tool(), moves_tool(), calculator_tool()]),
    )
    stuck = LearnerProfile(prior=0.0, guess=0.0, slip=0.0, misconception_rate=1.0, learn=1.0)
    student = SimulatedStudent("student", kg, stuck, misconceptions=["misconception:add_across"])
    return (
        AgentGraph()
        .edge(teacher, student, kinds=[Question, Explanation, Hint])
        .edge(student, teacher, kinds=[Answer])
    )


def first_question() -> Answer:
    return Answer(to="teacher", text="7", item_id="item:frac-add-1")


async def test_running_one_graph_object_twice_replaying_it_and_running_it_concurrently_agree(
    tmp_path: Path,
) -> None:
    graph = classroom()
    runtime, store = store_runtime(tmp_path)
    budget = Budget(turns=12)
    first = await runtime.run(graph, first_question(), budget=budget, seed=3)
    said = [(m.sender, m.kind, getattr(m, "text", "")[:24]) for m in first.messages]
    assert said == [
        ("user", "answer", "7"),
        ("teacher", "thought", ""),
        ("teacher", "plan", ""),
        ("teacher", "question", "How did you get 7? Walk "),
        ("student", "answer", "2/9"),  # its misconception, at the start of every run
        ("teacher", "thought", ""),
        ("teacher", "plan", ""),  # the second try on the item: the teacher tells
        ("teacher", "explanation", "The answer is 1/2. Sixth"),
        ("runtime", "stop", ""),
    ]
    second = await runtime.run(graph, first_question(), budget=budget, seed=3)
    assert second.transcript() == first.transcript()
    replay = await runtime.replay(first.run_id, graph)
    assert replay.identical and replay.first_difference is None
    assert replay.result.transcript() == first.transcript()
    order: list[str] = []

    async def take_turns(event: Event) -> None:
        order.append(event.run_id)
        await asyncio.sleep(0)  # let the other run go on: the two runs interleave

    together = await asyncio.gather(
        *(
            runtime.run(graph, first_question(), budget=budget, seed=3, observer=take_turns)
            for _ in range(2)
        )
    )
    a, b = dict.fromkeys(order)  # the two run ids, in the order they started
    assert order.index(b) < len(order) - 1 - order[::-1].index(a)  # b began before a ended
    assert [r.transcript() for r in together] == [first.transcript()] * 2
    assert transcript(store.messages(together[1].run_id)) == first.transcript()


class CountingMind:
    """Says how many lines of history the persona showed it: the history of this run."""

    async def think(self, turn: TurnState, ctx: object) -> ThoughtVars:
        return ThoughtVars(knowledge="n/a", guideline="count")

    async def plan(self, turn: TurnState, tools: list[ToolInfo], ctx: object) -> PlanOut:
        return PlanOut()

    async def execute(self, turn: TurnState, kinds: list[str], ctx: object) -> Reply:
        return Reply(kind="question", text=f"history of {len(turn.history)} lines")


async def test_a_persona_history_belongs_to_the_run() -> None:
    coach = Persona(
        PersonaSpec(name="coach", role="socratic_coach", mind="simulated"), CountingMind()
    )
    asked = {"n": 0}  # the learner below counts per graph build, not per run

    def learner(message: Message, ctx: RunContext) -> Answer | None:
        asked["n"] += 1
        return Answer(to="coach", text="hmm") if asked["n"] % 3 else None

    graph = (
        AgentGraph()
        .edge(coach, FunctionAgent("learner", learner), kinds=[Question])
        .edge("learner", "coach", kinds=[Answer])
    )
    runtime = Runtime()
    runs = [await runtime.run(graph, Answer(to="coach", text="hi")) for _ in range(2)]
    for run in runs:
        assert [getattr(m, "text", None) for m in run.messages if m.kind == "question"] == [
            "history of 1 lines",
            "history of 3 lines",
            "history of 5 lines",
        ]
    assert runs[1].transcript() == runs[0].transcript()


async def test_the_demo_lesson_graph_runs_the_same_twice() -> None:
    graph = build_lesson_graph("novice", seed=1)
    runtime = Runtime()
    budget = Budget(turns=200, model_calls=50, seconds=60)
    first = await runtime.run(graph, start_message(), budget=budget, seed=1)
    second = await runtime.run(graph, start_message(), budget=budget, seed=1)
    assert second.transcript() == first.transcript()
    assert first.detail == "lesson finished: 7 items"


# -- 3. budgets are validated when built; a runtime fault still ends the run ---------------
@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("turns", 2.5, r"Budget\.turns must be a whole number \(int\), got 2\.5\. .*turns=2\)"),
        ("turns", True, r"Budget\.turns must be a whole number \(int\), got True"),
        ("model_calls", 3.0, r"Budget\.model_calls must be a whole number \(int\), got 3\.0"),
        ("tokens", math.inf, r"Budget\.tokens must be a whole number \(int\), got inf"),
        ("turns", -1, r"Budget\.turns must be positive, got -1"),
        ("seconds", math.inf, r"Budget\.seconds must be finite, got inf"),
        ("seconds", math.nan, r"Budget\.seconds must be finite, got nan"),
        ("seconds", -0.5, r"Budget\.seconds must be positive, got -0\.5"),
        ("seconds", "60", r"Budget\.seconds must be a number of seconds, got '60'"),
        ("seconds", False, r"Budget\.seconds must be a number of seconds, got False"),
    ],
)
def test_a_budget_is_validated_when_it_is_built(field: str, value: object, expected: str) -> None:
    with pytest.raises(UserError, match=expected) as caught:
        Budget(**{field: value})  # type: ignore[arg-type]
    assert "Leave it out for the default" in str(caught.value)


def test_good_budgets_are_accepted() -> None:
    assert Budget(turns=1, model_calls=1, tokens=1, seconds=1).as_dict() == {
        "turns": 1,
        "model_calls": 1,
        "tokens": 1,
        "seconds": 1,
    }
    assert Budget(seconds=0.25).seconds == 0.25


async def test_an_unexpected_fault_in_the_run_loop_still_ends_the_run(tmp_path: Path) -> None:
    ticks = {"n": 0}

    def clock() -> datetime:  # a fault inside the runtime itself, on its 6th reading
        ticks["n"] += 1
        if ticks["n"] == 6:
            raise RuntimeError("clock went backwards")
        return datetime(2026, 1, 1, tzinfo=UTC)

    store = SqlRunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    runtime = Runtime(store, clock=clock)
    graph = AgentGraph().edge(
        FunctionAgent("a", lambda m, ctx: Answer(to="b", text="x")),
        FunctionAgent("b", lambda m, ctx: None),
    )
    with pytest.raises(RuntimeError, match="clock went backwards"):
        await runtime.run(graph, Question(to="a", text="go"))
    (record,) = store.list_runs()
    assert (record.status, record.stop_reason) == ("error", "error")
    assert record.stop_detail == "runtime error: RuntimeError: clock went backwards"
    assert transcript(store.messages(record.id)) == [  # the reply being sent is lost
        {"sender": "user", "recipients": ["a"], "parent": None}
        | {"kind": "question", "text": "go", "item_id": None, "choices": []},
        {"sender": "runtime", "recipients": [], "parent": 0}
        | {"kind": "error", "error_type": "RuntimeError", "recoverable": False}
        | {"detail": "runtime error: RuntimeError: clock went backwards"},
        {"sender": "runtime", "recipients": [], "parent": 1}
        | {"kind": "stop", "reason": "error"}
        | {"detail": "runtime error: RuntimeError: clock went backwards"},
    ]
    assert_nothing_after_the_stop(store, record.id)


# -- 4. an observer that raises stops the run with a typed Error and Stop ----------------
def two_step_graph(model: FunctionModel) -> AgentGraph:
    async def asker(message: Message, ctx: RunContext) -> Envelope | None:
        if isinstance(message, Answer):
            return Stop(detail="answered")
        return Question(to="answerer", text="2 + 2?")

    async def answerer(message: Message, ctx: RunContext) -> Envelope:
        pieces = [p async for p in ctx.stream(model, ModelRequest.of("2 + 2?"))]
        return Answer(to="asker", text="".join(pieces))

    a, b = FunctionAgent("asker", asker), FunctionAgent("answerer", answerer)
    return AgentGraph().edge(a, b, kinds=[Question]).edge(b, a, kinds=[Answer])


def failing_on(kind: type[Event], *, is_async: bool = False):  # type: ignore[no-untyped-def]
    seen: list[Event] = []

    def check(event: Event) -> None:
        seen.append(event)
        if isinstance(event, kind) and not (
            isinstance(event, MessageSent) and event.message.sender == "user"
        ):
            raise ValueError(f"observer exploded on {kind.__name__}")

    async def acheck(event: Event) -> None:
        check(event)

    return (acheck if is_async else check), seen


@pytest.mark.parametrize(
    ("kind", "is_async", "before_error"),
    [
        (MessageSent, False, ["question", "question"]),  # on the asker's question
        (MessageSent, True, ["question", "question"]),
        (TokenDelta, False, ["question", "question", "answer"]),  # mid-stream, not the agent's
        (TokenDelta, True, ["question", "question", "answer"]),
    ],
)
async def test_an_observer_that_raises_stops_the_run_with_an_error_and_a_stop(
    tmp_path: Path, kind: type[Event], is_async: bool, before_error: list[str]
) -> None:
    observer, seen = failing_on(kind, is_async=is_async)
    runtime, store = store_runtime(tmp_path)
    result = await runtime.run(
        two_step_graph(FunctionModel(lambda r: "four")),
        Question(to="asker", text="start"),
        observer=observer,
    )
    assert (result.reason, result.status) == ("error", "error")
    detail = f"the observer raised ValueError: observer exploded on {kind.__name__}"
    assert result.detail == detail
    assert [m.kind for m in result.messages] == [*before_error, "error", "stop"]
    error, stop = result.messages[-2:]
    assert isinstance(error, Error) and isinstance(stop, Stop)
    assert (error.sender, error.error_type, error.detail) == ("runtime", "ValueError", detail)
    assert (stop.sender, stop.reason, stop.detail) == ("runtime", "error", detail)
    assert transcript(store.messages(result.run_id)) == result.transcript()
    record = store.get_run(result.run_id)
    assert (record.status, record.stop_detail) == ("error", detail)
    assert_nothing_after_the_stop(store, result.run_id)
    assert isinstance(seen[-1], kind)  # not called again after it failed


def failing_on_the_stop(event: Event) -> None:
    if isinstance(event, MessageSent) and isinstance(event.message, Stop):
        raise ValueError("observer exploded on Stop")


@pytest.mark.parametrize("observer", [failing_on(RunStopped)[0], failing_on_the_stop])
async def test_an_observer_that_raises_on_the_last_events_after_the_run_is_recorded(
    tmp_path: Path, observer: Callable[[Event], None]
) -> None:
    runtime, store = store_runtime(tmp_path)
    with pytest.raises(ValueError, match=r"observer exploded on (RunStopped|Stop)"):
        await runtime.run(
            two_step_graph(FunctionModel(lambda r: "four")),
            Question(to="asker", text="start"),
            observer=observer,
        )
    (record,) = store.list_runs()
    assert (record.status, record.stop_reason, record.stop_detail) == (
        "completed",
        "completed",
        "answered",
    )
    assert [m.kind for m in store.messages(record.id)] == ["question"] * 2 + ["answer", "stop"]
    assert_nothing_after_the_stop(store, record.id)


async def test_a_function_agent_state_belongs_to_the_run() -> None:
    """``FunctionAgent(state=...)``: each run starts from a fresh state, so a second run of
    the same graph object sends the same transcript as the first; a bad ``state`` is a
    clear error."""

    def count(message: Message, ctx: RunContext) -> Envelope:
        seen: dict[str, int] = ctx.state
        seen["n"] += 1
        if seen["n"] >= 3:
            return Stop(detail=f"counted {seen['n']}")
        return Question(to="counter", text=f"number {seen['n']}")

    counter = FunctionAgent("counter", count, emits=[Question, Stop], state=lambda: {"n": 0})
    graph = AgentGraph().add(counter).edge(counter, counter, kinds=[Question])
    runtime = Runtime()
    first = await runtime.run(graph, Question(to="counter", text="go"))
    second = await runtime.run(graph, Question(to="counter", text="go"))
    def question(parent: int | None, text: str) -> dict[str, object]:
        sender = "user" if parent is None else "counter"
        return {"sender": sender, "recipients": ["counter"], "parent": parent,
                "kind": "question", "text": text, "item_id": None, "choices": []}  # fmt: skip

    expected = [
        question(None, "go"),
        question(0, "number 1"),
        question(1, "number 2"),
        {"sender": "counter", "recipients": [], "parent": 2, "kind": "stop",
         "reason": "completed", "detail": "counted 3"},
    ]  # fmt: skip
    assert first.transcript() == second.transcript() == expected
    with pytest.raises(UserError, match="state must be a function that makes a run's state"):
        FunctionAgent("x", count, state={"n": 0})  # type: ignore[arg-type]
