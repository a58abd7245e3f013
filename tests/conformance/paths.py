"""The LLM paths of the conformance suite, each one run through ``Runtime`` with a SQLite
store, so every model call is budgeted and recorded. Each returns an ``Outcome``: the run,
its recorded model calls, and what the server itself reported."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from agents import AgentGraph, Budget, FunctionAgent, RunContext, RunResult, Runtime
from agents.meta import LLMPlanner, MetaAgent
from agents.meta.experts import Expert, ExpertRegistry
from agents.models import ModelRequest
from agents.store import ModelCallRecord
from personas import LLMMind, Persona, ToolRegistry, builtin_persona, calculator_tool
from personas.minds.few_shot import FewShotMentalModel
from protocols import Answer, Envelope, Error, Message, Question, Stop, TaskAssignment

from .backends import Live

__all__ = ["PATHS", "Outcome", "Verdict", "structured_attempts"]

PROMPT = "the student adds the fractions"
MAX_TOKENS = 8
GEMMA_PHASE_TOKENS = 160
"""The reply budget of a structured phase call on Gemma: its constrained Thought, Plan and
Reply take 15-25 tokens, and an unconstrained reply that is not JSON by then never is."""
SECONDS = 1800.0
"""Every path's wall-time budget: Gemma on a loaded 2-core CPU writes a few tokens a second."""


class Verdict(BaseModel):
    """The small structured output of the ``structured`` path."""

    model_config = ConfigDict(extra="forbid")
    correct: bool
    answer: str


@dataclass(frozen=True)
class Outcome:
    """One path on one backend.

    Attributes:
        ok: The path produced its typed result (the run completed without an ``Error``).
        detail: The result, or the error that stopped it.
        result: The run.
        calls: The run's model calls, as the store recorded them.
        server_tokens: The tokens the server reported over those calls; None when a reply
            carried no usage (or the backend is in-process).
    """

    ok: bool
    detail: str
    result: RunResult
    calls: list[ModelCallRecord]
    server_tokens: int | None

    @property
    def recorded_tokens(self) -> int:
        return sum(c.prompt_tokens + c.completion_tokens for c in self.calls)

    @property
    def error(self) -> Error | None:
        return next((m for m in self.result.messages if isinstance(m, Error)), None)


def structured_attempts(calls: list[ModelCallRecord]) -> list[int]:
    """Model calls per structured call: a re-ask extends the previous call's messages."""
    groups: list[int] = []
    previous: list[object] = []
    for call in calls:
        messages = list(call.request.get("messages", []))
        if groups and previous and messages[: len(previous)] == previous:
            groups[-1] += 1
        else:
            groups.append(1)
        previous = messages
    return groups


async def _run(live: Live, db: Path, graph: AgentGraph, first: Envelope, budget: Budget) -> Outcome:
    runtime = Runtime(f"sqlite:///{db}")
    before = len(live.tap.reported) if live.tap else 0
    result = await runtime.run(graph, first, budget=budget)
    assert runtime.store is not None
    calls = runtime.store.model_calls(result.run_id)
    runtime.store.close()
    server = None
    if live.tap is not None:
        reported = live.tap.reported[before:]
        server = sum(n for n in reported if n is not None) if None not in reported else None
    error = next((m for m in result.messages if isinstance(m, Error)), None)
    ok = result.reason == "completed" and error is None
    detail = result.messages[-1].detail if ok else result.detail  # type: ignore[union-attr]
    return Outcome(ok, detail, result, calls, server)


def _phase_tokens(live: Live) -> dict[str, int]:
    """``max_tokens=`` for a persona, planner or few-shot model on ``live``."""
    return {"max_tokens": GEMMA_PHASE_TOKENS} if live.backend.model == "gemma" else {}


def _solo(fn: Callable[[RunContext], Awaitable[str]]) -> AgentGraph:
    async def handle(message: Message, ctx: RunContext) -> Envelope:
        return Stop(detail=await fn(ctx))

    return AgentGraph().add(FunctionAgent("agent", handle))


def _request() -> ModelRequest:
    return ModelRequest.of(PROMPT, max_tokens=MAX_TOKENS, temperature=0.0, seed=0)


async def completion(live: Live, db: Path) -> Outcome:
    async def ask(ctx: RunContext) -> str:
        return (await ctx.complete(live.client, _request())).text

    return await _run(
        live, db, _solo(ask), Question(to="agent", text="go"), Budget(seconds=SECONDS, turns=2)
    )


async def stream(live: Live, db: Path) -> Outcome:
    async def ask(ctx: RunContext) -> str:
        return "".join([piece async for piece in ctx.stream(live.client, _request())])

    return await _run(
        live, db, _solo(ask), Question(to="agent", text="go"), Budget(seconds=SECONDS, turns=2)
    )


async def structured(live: Live, db: Path) -> Outcome:
    async def ask(ctx: RunContext) -> str:
        request = ModelRequest.of(
            "Is 1/3 + 1/6 = 2/9? Say whether it is correct and give the right answer.",
            max_tokens=64,
            temperature=0.0,
            seed=0,
        )
        return (await ctx.complete(live.client, request, output=Verdict)).model_dump_json()

    budget = Budget(seconds=SECONDS, turns=2, model_calls=5)
    return await _run(live, db, _solo(ask), Question(to="agent", text="go"), budget)


async def persona_turn(live: Live, db: Path) -> Outcome:
    teacher = Persona(
        builtin_persona("teacher"),
        LLMMind(live.client, **_phase_tokens(live)),
        tools=ToolRegistry([calculator_tool()])
    )
    student = FunctionAgent("student", lambda m, c: Stop(detail="thanks"))
    graph = (
        AgentGraph()
        .edge(teacher, student, kinds=["Hint", "Question", "Explanation"])
        .edge(student, teacher, kinds=["Answer"])
    )
    first = Answer(to="teacher", text="2/9")
    return await _run(live, db, graph, first, Budget(seconds=SECONDS, turns=4, model_calls=12))


async def planner(live: Live, db: Path) -> Outcome:
    experts = ExpertRegistry(
        [
            Expert(
                name="fractions",
                skills=("fraction_subtraction",),
                backend={"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "x"},
                generation={"max_tokens": MAX_TOKENS},
            )
        ]
    )
    tools = ToolRegistry([calculator_tool()])
    meta = MetaAgent(
        "meta",
        LLMPlanner(live.client, experts=experts, tools=tools, **_phase_tokens(live)),
        experts,
        {"fractions": live.client},
        tools,
    )
    task = TaskAssignment(
        to="meta",
        task="what is 3/4 - 1/2?",
        skills=("fraction_subtraction",),
        inputs={"expression": "3/4 - 1/2"},
    )
    return await _run(
        live, db, AgentGraph().add(meta), task, Budget(seconds=SECONDS, turns=2, model_calls=12)
    )


async def few_shot(live: Live, db: Path) -> Outcome:
    tom = FewShotMentalModel(live.client, shots=2, method="stated", **_phase_tokens(live))
    tom.observe("1/4 + 1/4?", "2/8", correct=False)
    tom.observe("1/2 + 1/4?", "3/4", correct=True, explanation="quarters are the common size")

    async def ask(ctx: RunContext) -> str:
        return f"{await tom.utility('1/3 + 1/6?', 'rewrite both over sixths', ctx):.2f}"

    budget = Budget(seconds=SECONDS, turns=2, model_calls=8)
    return await _run(live, db, _solo(ask), Question(to="agent", text="go"), budget)


def _loop(live: Live, streamed: bool) -> AgentGraph:
    async def ask(ctx: RunContext) -> str:
        for _ in range(20):
            if streamed:
                _ = [piece async for piece in ctx.stream(live.client, _request())]
            else:
                await ctx.complete(live.client, _request())
        return "the budget never stopped the run"

    return _solo(ask)


async def token_budget(live: Live, db: Path) -> Outcome:
    first = Question(to="agent", text="go")
    return await _run(
        live, db, _loop(live, False), first, Budget(seconds=SECONDS, turns=2, tokens=40)
    )


async def stream_token_budget(live: Live, db: Path) -> Outcome:
    first = Question(to="agent", text="go")
    return await _run(
        live, db, _loop(live, True), first, Budget(seconds=SECONDS, turns=2, tokens=40)
    )


async def call_budget(live: Live, db: Path) -> Outcome:
    first = Question(to="agent", text="go")
    return await _run(
        live, db, _loop(live, False), first, Budget(seconds=SECONDS, turns=2, model_calls=2)
    )


PATHS: dict[str, Callable[[Live, Path], Awaitable[Outcome]]] = {
    "completion": completion,
    "stream": stream,
    "structured": structured,
    "persona turn": persona_turn,
    "planner": planner,
    "few-shot": few_shot,
    "token budget": token_budget,
    "stream token budget": stream_token_budget,
    "call budget": call_budget,
}
