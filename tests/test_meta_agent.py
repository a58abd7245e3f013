"""The meta-agent: rule-based plan, two experts and a calculator, recovery from a failed
step with the fallback expert, review, and provenance."""

from __future__ import annotations

import pytest

from agents import AgentGraph, Budget, Runtime
from agents.meta import MetaAgent, RuleBasedPlanner, SubTask, TaskPlan
from agents.meta.experts import Expert, ExpertRegistry
from agents.models import FunctionModel, ModelRequest
from knowledge_graph.builders import sample_curriculum
from knowledge_graph.retrieval import Retriever
from personas import ToolRegistry, calculator_tool, retrieval_tool
from protocols import ModelHTTPError, TaskAssignment, TaskResult

EXPERTS = ExpertRegistry(
    [
        Expert(
            name="fractions-a",
            skills=("fraction_addition",),
            backend={"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "a"},
        ),
        Expert(
            name="fractions-b",
            skills=("fraction_addition", "fraction_subtraction"),
            backend={"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "b"},
            generation={"temperature": 0.3, "max_tokens": 99},
        ),
    ]
)
TASK = TaskAssignment(
    to="meta",
    task="explain",
    skills=("fraction_addition",),
    inputs={
        "question": "What is 1/3 + 1/6?",
        "student_answer": "2/9",
        "expression": "Fraction(1, 3) + Fraction(1, 6)",
    },
)


def meta_agent(first: FunctionModel, second: FunctionModel) -> MetaAgent:
    kg = sample_curriculum()
    tools = ToolRegistry([retrieval_tool(Retriever(kg)), calculator_tool()])
    return MetaAgent(
        "meta",
        RuleBasedPlanner(EXPERTS),
        EXPERTS,
        {"fractions-a": first, "fractions-b": second},
        tools,
    )


def explainer(request: ModelRequest) -> str:
    prompt = request.messages[-1].content
    value = prompt.split("calculate: ")[1].splitlines()[0]
    return f"Use sixths: the sum is {value}, because 2/6 + 1/6 = 3/6."


async def test_the_meta_agent_recovers_from_a_failed_step_with_the_fallback_expert() -> None:
    def down(request: ModelRequest) -> str:
        raise ModelHTTPError("expert a is down", status=503, body="", attempts=3)

    first, second = FunctionModel(down), FunctionModel(explainer)
    meta = meta_agent(first, second)
    result = await Runtime().run(AgentGraph().add(meta), TASK, budget=Budget(model_calls=5))
    final = result.messages[-2]
    assert isinstance(final, TaskResult) and final.success
    assert final.output == "Use sixths: the sum is 1/2, because 2/6 + 1/6 = 3/6."
    assert final.provenance == (
        "retrieve: kg_retrieval",
        "kg:misconception:add_across",
        "kg:misconception:cross_multiply",
        "calculate: calculator",
        "explain: fractions-a failed (expert a is down)",
        "explain: fractions-b",
        "review: approved",
    )
    assert len(first.calls) == 1 and len(second.calls) == 1
    assert (second.calls[0].max_tokens, second.calls[0].temperature) == (99, 0.3)
    prompt = second.calls[0].messages[-1].content
    assert "retrieve: [misconception:add_across]" in prompt and "calculate: 1/2" in prompt


async def test_the_review_catches_a_wrong_explanation() -> None:
    wrong = FunctionModel(lambda r: "The sum is 2/9 because 1/3 + 1/6 = 2/9.")
    result = await Runtime().run(AgentGraph().add(meta_agent(wrong, wrong)), TASK)
    final = result.messages[-2]
    assert isinstance(final, TaskResult) and not final.success
    assert final.provenance[-1] == "review: incorrect: '1/3 + 1/6 = 2/9' is false"


async def test_it_gives_up_when_every_expert_fails() -> None:
    def down(request: ModelRequest) -> str:
        raise ModelHTTPError("down", status=503, body="")

    result = await Runtime().run(
        AgentGraph().add(meta_agent(FunctionModel(down), FunctionModel(down))), TASK
    )
    final = result.messages[-2]
    assert isinstance(final, TaskResult) and not final.success
    assert final.output == "step 'explain' failed: down"
    assert [p for p in final.provenance if "failed" in p] == [
        "explain: fractions-a failed (down)",
        "explain: fractions-b failed (down)",
    ]


def test_bad_configuration_is_a_clear_error() -> None:
    with pytest.raises(Exception, match="max_attempts must be >= 1"):
        MetaAgent("m", RuleBasedPlanner(EXPERTS), EXPERTS, {}, ToolRegistry(), max_attempts=0)


async def test_an_llm_planner_writes_the_plan_and_regenerates_a_failed_step() -> None:
    import json

    from agents.meta import LLMPlanner

    plans = iter(
        [
            json.dumps(
                {
                    "subtasks": [
                        {
                            "id": "calc",
                            "kind": "calculate",
                            "instruction": "compute",
                            "assignee": "calculator",
                            "inputs": {"code": "import os"},
                        }
                    ]
                }
            ),
            json.dumps(
                {
                    "id": "calc",
                    "kind": "calculate",
                    "instruction": "compute again",
                    "assignee": "calculator",
                    "inputs": {"code": "Fraction(3, 4) - Fraction(1, 2)"},
                }
            ),
        ]
    )
    planner_model = FunctionModel(lambda r: next(plans))
    meta = MetaAgent(
        "meta", LLMPlanner(planner_model), EXPERTS, {}, ToolRegistry([calculator_tool()])
    )
    task = TaskAssignment(to="meta", task="what is 3/4 - 1/2?")
    result = await Runtime().run(AgentGraph().add(meta), task)
    final = result.messages[-2]
    assert isinstance(final, TaskResult) and final.success and final.output == "1/4"
    assert final.provenance[0].startswith("calc: calculator failed (imports are not allowed")
    assert final.provenance[1:] == ("calc: calculator", "review: approved")
    assert "Error: imports are not allowed" in planner_model.calls[1].messages[-1].content
    assert [r.output_type for r in planner_model.calls] == [TaskPlan, SubTask]
