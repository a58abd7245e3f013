"""The meta-agent: rule-based plan, two experts and a calculator, recovery from a failed
step with the fallback expert, review, and provenance."""

from __future__ import annotations

import json

import pytest

from agents import AgentGraph, Budget, Runtime
from agents.meta import LLMPlanner, MetaAgent, Regenerated, RuleBasedPlanner, TaskPlan
from agents.meta.experts import Expert, ExpertRegistry
from agents.models import FunctionModel, ModelRequest
from knowledge_graph.builders import sample_curriculum
from knowledge_graph.retrieval import Retriever
from personas import ToolRegistry, calculator_tool, retrieval_tool
from personas.prompting import schema_text
from personas.tools import CalculatorArgs
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


def calc_step(code: str, *, assignee: str = "calculator") -> dict[str, object]:
    return {
        "id": "calc",
        "kind": "calculate",
        "instruction": "compute",
        "assignee": assignee,
        "inputs": {"code": code},
    }


async def test_an_llm_planner_writes_the_plan_and_regenerates_a_failed_step() -> None:
    plans = iter(
        [
            json.dumps({"subtasks": [calc_step("import os")]}),
            json.dumps({"step": calc_step("Fraction(3, 4) - Fraction(1, 2)")}),
        ]
    )
    planner_model = FunctionModel(lambda r: next(plans))
    tools = ToolRegistry([calculator_tool()])
    planner = LLMPlanner(planner_model, experts=EXPERTS, tools=tools)
    meta = MetaAgent("meta", planner, EXPERTS, {}, tools)
    task = TaskAssignment(to="meta", task="what is 3/4 - 1/2?", inputs={"expression": "3/4 - 1/2"})
    result = await Runtime().run(AgentGraph().add(meta), task)
    final = result.messages[-2]
    assert isinstance(final, TaskResult) and final.success and final.output == "1/4"
    assert final.provenance[0].startswith("calc: calculator failed (imports are not allowed")
    assert final.provenance[1:] == ("calc: calculator", "review: approved")
    first, again = (r.messages[-1].content for r in planner_model.calls)
    # The prompts name the experts with their skills, the tools with their inputs' schema,
    # and the task's inputs.
    for prompt in (first, again):
        assert (
            "Experts:\n- fractions-a: skills fraction_addition\n"
            "- fractions-b: skills fraction_addition, fraction_subtraction\n"
        ) in prompt
        assert "- calculator(code): Evaluate arithmetic exactly" in prompt
        step = json.loads(prompt.splitlines()[-1])["$defs"]["CalculatorStep"]
        assert step["properties"]["inputs"] == {
            "$ref": "#/$defs/CalculatorArgs",
            "description": "Its arguments.",
        }
        assert json.loads(prompt.splitlines()[-1])["$defs"]["CalculatorArgs"] == json.loads(
            schema_text(CalculatorArgs)
        )
    assert 'Inputs: {"expression": "3/4 - 1/2"}\n' in first
    assert "Error: imports are not allowed" in again
    kinds = [r.output_type for r in planner_model.calls]
    assert kinds[0] is not None and issubclass(kinds[0], TaskPlan)
    assert kinds[1] is not None and issubclass(kinds[1], Regenerated)


async def test_an_unknown_assignee_is_a_validation_error_that_is_re_asked() -> None:
    """The real model invented the assignee ``student_answer``: the plan's type only admits
    the experts and tools, so the reply is re-asked with the error."""
    plans = iter(
        [
            json.dumps({"subtasks": [calc_step("2 + 2", assignee="student_answer")]}),
            json.dumps({"subtasks": [{**calc_step("2 + 2"), "inputs": {"expression": "2+2"}}]}),
            json.dumps({"subtasks": [calc_step("2 + 2")]}),
        ]
    )
    planner_model = FunctionModel(lambda r: next(plans))
    tools = ToolRegistry([calculator_tool()])
    meta = MetaAgent(
        "meta", LLMPlanner(planner_model, experts=EXPERTS, tools=tools), EXPERTS, {}, tools
    )
    result = await Runtime().run(AgentGraph().add(meta), TaskAssignment(to="meta", task="2+2?"))
    final = result.messages[-2]
    assert isinstance(final, TaskResult) and final.success and final.output == "4"
    assert len(planner_model.calls) == 3
    unknown = planner_model.calls[1].messages[-1].content
    assert (
        "- subtasks.0: Input tag 'student_answer' found using 'assignee' does not match any "
        "of the expected tags: 'fractions-a', 'fractions-b', 'calculator'"
    ) in unknown
    wrong_input = planner_model.calls[2].messages[-1].content
    assert "- subtasks.0.calculator.inputs.expression: Extra inputs are not permitted" in (
        wrong_input
    )
    schema = planner_model.calls[0].response_schema
    assert schema is not None
    assert schema["$defs"]["ExpertStep"]["properties"]["assignee"]["enum"] == [
        "fractions-a",
        "fractions-b",
    ]
    assert schema["properties"]["subtasks"]["items"]["discriminator"]["propertyName"] == (
        "assignee"
    )
