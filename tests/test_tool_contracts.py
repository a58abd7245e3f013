"""Contracts in front of the model: a planned call with a bad argument name is re-asked
through the structured-output path, never raised as a ``TypeError`` that ends the run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from agents import AgentGraph, Budget, FunctionAgent, Runtime
from agents.models import FunctionModel, ModelRequest
from knowledge_graph.builders import sample_curriculum
from knowledge_graph.retrieval import Retriever
from personas import (
    ConceptualTool,
    ToolArgs,
    ToolRegistry,
    builtin_persona,
    calculator_tool,
    expert_tool,
    plan_output_type,
    retrieval_tool,
)
from personas.moves import moves_tool
from personas.persona import LLMMind, Persona, PlanOut, Reply
from personas.prompting import ThoughtVars
from personas.tools import ToolOutput
from protocols import Answer, BudgetExceeded, Hint, Plan, PlannedCall, Stop, UserError

PLAN_SNAPSHOT = Path(__file__).parent / "snapshots" / "plan_schema_teacher_tools.json"


def phase(request: ModelRequest) -> str:
    """Which phase a request is for, from its typed output type (never the prompt)."""
    out = request.output_type
    assert out is not None
    if issubclass(out, ThoughtVars):
        return "think"
    if issubclass(out, PlanOut):
        return "plan"
    assert issubclass(out, Reply)
    return "execute"


async def test_a_planned_call_with_a_wrong_argument_name_is_re_asked_not_raised() -> None:
    plans = iter(
        [
            {"calls": [{"tool": "calculator", "arguments": {"expression": "1+1"}}]},
            {"calls": [{"tool": "calculator", "arguments": {"code": "1+1"}}], "rationale": "sum"},
        ]
    )

    def reply(request: ModelRequest) -> str:
        match phase(request):
            case "think":
                return json.dumps({"knowledge": "k", "guideline": "check the sum"})
            case "plan":
                return json.dumps(next(plans))
        return json.dumps({"kind": "hint", "text": "Add again."})

    model = FunctionModel(reply)
    teacher = Persona(
        builtin_persona("teacher"), LLMMind(model), tools=ToolRegistry([calculator_tool()])
    )
    student = FunctionAgent("student", lambda m, c: Stop(detail="ok"))
    graph = AgentGraph().edge(teacher, student, kinds=["Hint"]).edge(student, teacher)
    result = await Runtime().run(graph, Answer(to="teacher", text="3"), budget=Budget(turns=5))
    assert [phase(r) for r in model.calls] == ["think", "plan", "plan", "execute"]
    reask = model.calls[2].messages[-1].content
    assert "expression" in reask and "Extra inputs are not permitted" in reask
    assert "code" in reask and "Field required" in reask
    plan = next(m for m in result.messages if isinstance(m, Plan))
    assert [(c.tool, c.arguments) for c in plan.calls] == [("calculator", {"code": "1+1"})]
    assert isinstance(result.messages[-2], Hint) and result.detail == "ok"


class EchoArgs(ToolArgs):
    """Arguments of echo."""

    text: str = Field(description="What to echo.")


class Echoed(ToolOutput):
    text: str


async def test_every_failure_of_a_tool_call_becomes_a_tool_result_error() -> None:
    async def echo(args: EchoArgs) -> Echoed:
        if args.text == "boom":
            raise ZeroDivisionError("division by zero")
        if args.text == "over":
            raise BudgetExceeded("model_calls", 3, 3)
        return Echoed(text=args.text)

    tool = ConceptualTool(name="echo", description="Echo.", arguments=EchoArgs, call=echo)
    done = await tool.run({"text": "hi"}, call_id="c1")
    assert (done.call_id, done.tool, done.output, done.error) == (
        "c1",
        "echo",
        Echoed(text="hi"),
        None,
    )
    bad = await tool.run({"txt": "hi"})
    assert (bad.output, bad.error) == (
        None,
        "invalid arguments for 'echo' (text: Field required; txt: Extra inputs are not "
        "permitted); its arguments are: text",
    )
    crashed = await tool(text="boom")
    assert crashed.error == "ZeroDivisionError: division by zero"
    with pytest.raises(BudgetExceeded):  # the run's budget still stops the run
        await tool(text="over")


async def test_a_tool_that_needs_the_run_is_refused_without_it() -> None:
    tool = expert_tool(lambda skills: "x", {})
    with pytest.raises(UserError, match=r"tool 'ask_expert' makes model calls: pass ctx="):
        await tool.run({"skills": ["s"], "prompt": "p"})


def test_an_argument_model_must_forbid_extra_fields() -> None:
    class Loose(BaseModel):
        text: str

    async def call(args: Loose) -> Echoed:
        return Echoed(text=args.text)

    with pytest.raises(UserError, match="Loose of tool 'loose' must forbid extra fields"):
        ConceptualTool(name="loose", description="", arguments=Loose, call=call)


def test_the_plan_schema_of_a_persona_with_tools_is_a_union_on_the_tool_name() -> None:
    tools = ToolRegistry(
        [calculator_tool(), retrieval_tool(Retriever(sample_curriculum())), moves_tool()]
    )
    output = plan_output_type([(t.name, t.arguments) for t in tools.infos()])
    schema = json.dumps(output.model_json_schema(), indent=2, sort_keys=True) + "\n"
    if os.environ.get("LYCEUM_UPDATE_SNAPSHOTS") == "1":
        PLAN_SNAPSHOT.write_text(schema)
    assert schema == PLAN_SNAPSHOT.read_text()
    assert issubclass(output, PlanOut)
    again = plan_output_type([(t.name, t.arguments) for t in reversed(tools.infos())])
    assert again is output  # one type per set of tools, whatever the order
    plan = output.model_validate_json(
        '{"calls": [{"tool": "teacher_moves", "arguments": {"move": "probing"}}]}'
    )
    (call,) = plan.calls  # a PlannedCall narrowed to the tool; its arguments, a plain dict
    assert isinstance(call, PlannedCall) and type(call).__name__ == "TeacherMovesCall"
    assert (call.tool, call.arguments) == ("teacher_moves", {"move": "probing"})
