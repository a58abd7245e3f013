"""Contracts in front of the model: a planned call with a bad argument name is re-asked
through the structured-output path, never raised as a ``TypeError`` that ends the run."""

from __future__ import annotations

import json

from agents import AgentGraph, Budget, FunctionAgent, Runtime
from agents.models import FunctionModel, ModelRequest
from personas import ToolRegistry, builtin_persona, calculator_tool
from personas.persona import LLMMind, Persona, PlanOut, Reply
from personas.prompting import ThoughtVars
from protocols import Answer, Hint, Plan, Stop


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
