"""The LLM path end to end with FunctionModel: templates rendered, outputs validated, a
re-ask on bad output, a tool call, and the whole typed transcript."""

from __future__ import annotations

import json

import pytest

from agents import AgentGraph, Budget, FunctionAgent, Runtime
from agents.models import FunctionModel, ModelRequest
from personas import ToolRegistry, builtin_persona, calculator_tool
from personas.minds.few_shot import Prediction
from personas.persona import LLMMind, Persona, PlanOut, Reply
from personas.prompting import (
    TEMPLATES,
    ExecuteVars,
    MetaExplainVars,
    MetaPlanVars,
    MetaRegenerateVars,
    MetaStepVars,
    Observation,
    PlanVars,
    SimulateVars,
    ThinkVars,
    ThoughtVars,
    ToolInfo,
    render_prompt,
)
from personas.tools import Calculation
from protocols import Answer, Message, Question, Stop, ToolResult, UserError


def is_reply(request: ModelRequest) -> bool:
    """The Execute phase: its output type is ``Reply`` narrowed to the allowed kinds."""
    return request.output_type is not None and issubclass(request.output_type, Reply)


def scripted_teacher_model() -> FunctionModel:
    seen = {"think": 0}

    def reply(request: ModelRequest) -> str:
        if request.output_type is ThoughtVars:
            seen["think"] += 1
            if seen["think"] == 1:
                return "The student seems to add across."  # not JSON: must be re-asked
            return json.dumps(
                {
                    "knowledge": "adds numerators",
                    "misconception": "add_across",
                    "emotion": "unsure",
                    "guideline": "check with exact arithmetic",
                }
            )
        if request.output_type is PlanOut:
            return json.dumps(
                {
                    "calls": [
                        {
                            "tool": "calculator",
                            "arguments": {"code": "Fraction(1, 3) + Fraction(1, 6)"},
                        }
                    ],
                    "rationale": "verify before explaining",
                }
            )
        assert is_reply(request)
        results = request.messages[0].content.split("Tool results:")[1]
        value = "1/2" if '"value":"1/2"' in results else "?"
        return json.dumps(
            {"kind": "hint", "text": f"Rewrite both over sixths; the sum is {value}."}
        )

    return FunctionModel(reply, model="scripted-teacher")


async def test_a_teacher_persona_thinks_plans_and_executes_through_a_model() -> None:
    model = scripted_teacher_model()
    teacher = Persona(
        builtin_persona("teacher"), LLMMind(model), tools=ToolRegistry([calculator_tool()])
    )
    student = FunctionAgent("student", lambda m, c: Stop(detail="thanks"))
    graph = (
        AgentGraph()
        .edge(teacher, student, kinds=["Hint", "Question", "Explanation"])
        .edge(student, teacher, kinds=["Answer"])
    )
    result = await Runtime().run(graph, Answer(to="teacher", text="2/9"), budget=Budget(turns=5))
    assert result.transcript() == [
        {
            "sender": "user",
            "recipients": ["teacher"],
            "parent": None,
            "kind": "answer",
            "text": "2/9",
            "item_id": None,
            "confidence": None,
        },
        {
            "sender": "teacher",
            "recipients": ["user"],
            "parent": 0,
            "kind": "thought",
            "about": "user",
            "knowledge": "adds numerators",
            "misconception": "add_across",
            "emotion": "unsure",
            "guideline": "check with exact arithmetic",
        },
        {
            "sender": "teacher",
            "recipients": ["user"],
            "parent": 0,
            "kind": "plan",
            "calls": [
                {"tool": "calculator", "arguments": {"code": "Fraction(1, 3) + Fraction(1, 6)"}}
            ],
            "rationale": "verify before explaining",
        },
        {
            "sender": "teacher",
            "recipients": ["student"],
            "parent": 0,
            "kind": "hint",
            "text": "Rewrite both over sixths; the sum is 1/2.",
            "item_id": None,
        },
        {
            "sender": "student",
            "recipients": [],
            "parent": 3,
            "kind": "stop",
            "reason": "completed",
            "detail": "thanks",
        },
    ]
    phases = [r.output_type.__name__ if r.output_type else None for r in model.calls]
    assert phases == ["ThoughtVars", "ThoughtVars", "PlanOut", "Reply"]
    assert not any(m.content.startswith("PHASE") for r in model.calls for m in r.messages)
    sent = model.calls[3].model_dump(mode="json")
    assert "output_type" not in sent and sent["response_schema"]["title"] == "Reply"
    reask = model.calls[1].messages
    assert [m.role for m in reask] == ["user", "assistant", "user"]
    assert "did not validate" in reask[-1].content
    assert result.usage["model_calls"] == 4


async def test_a_reply_of_a_kind_the_persona_may_not_send_is_re_asked() -> None:
    answers = iter(
        [
            json.dumps({"knowledge": "k", "guideline": "g"}),
            json.dumps({"calls": [], "rationale": ""}),
            json.dumps({"kind": "explanation", "text": "students may not explain"}),
            json.dumps({"kind": "answer", "text": "1/2", "confidence": 0.8}),
        ]
    )
    model = FunctionModel(lambda r: next(answers))
    student = Persona(builtin_persona("student").model_copy(update={"mind": "llm"}), LLMMind(model))
    sink = FunctionAgent("teacher", lambda m, c: None)
    graph = AgentGraph().edge(student, sink, kinds=["Answer", "Question"]).edge(sink, student)
    result = await Runtime().run(graph, Question(to="student", text="1/3 + 1/6?"))
    final: Message = result.messages[-2]
    assert isinstance(final, Answer) and (final.text, final.confidence) == ("1/2", 0.8)
    assert "kind: Input should be 'answer' or 'question'" in model.calls[3].messages[-1].content


PERSONA = builtin_persona("teacher")
THOUGHT = ThoughtVars(knowledge="adds numerators", misconception=None, guideline="ask first")
SAMPLES = {
    "think": ThinkVars(
        persona=PERSONA,
        history=[],
        sender="student",
        message="2/9",
        context="[misconception:add_across] adds across",
    ),
    "plan": PlanVars(
        persona=PERSONA,
        sender="student",
        thought=THOUGHT,
        tools=[ToolInfo(name="calculator", description="exact arithmetic")],
    ),
    "execute": ExecuteVars(
        persona=PERSONA,
        sender="student",
        message="2/9",
        thought=THOUGHT,
        results=[
            ToolResult(call_id="c1", tool="calculator", output=Calculation(value="1/2")),
            ToolResult(call_id="c2", tool="python", error="not available to teacher"),
        ],
        kinds=["hint", "question"],
    ),
    "meta_explain": MetaExplainVars(question="1/3 + 1/6?", student_answer="2/9"),
    "meta_step": MetaStepVars(
        instruction="Explain kindly", notes=["calculate: 1/2", "retrieve: adds across"]
    ),
    "meta_plan": MetaPlanVars(task="what is 3/4 - 1/2?", inputs={"expression": "3/4 - 1/2"}),
    "meta_regenerate": MetaRegenerateVars(
        step='{"id": "calc"}', error="imports are not allowed", tried=["calculator"]
    ),
    "simulate_student": SimulateVars(
        examples=[
            Observation(question="1/4 + 1/4?", answer="2/8", correct=False),
            Observation(
                question="1/4 + 1/4?",
                answer="1/2",
                correct=True,
                explanation="quarters add like apples",
            ),
        ],
        question="1/3 + 1/6?",
        explanation="rewrite over sixths",
    ),
}


PLAIN_TEXT = {"meta_explain", "meta_step"}  # prompts whose reply is free text


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_renders_with_sample_variables(name: str) -> None:
    text = render_prompt(name, SAMPLES[name])
    assert not text.startswith("PHASE")  # the phase is a typed field of the request
    assert "None" not in text  # no optional value leaks into a prompt
    assert "{{" not in text and "{%" not in text
    assert ("JSON" in text) == (name not in PLAIN_TEXT)  # structured replies are asked for


def test_tool_results_reach_the_execute_prompt_as_typed_json() -> None:
    text = render_prompt("execute", SAMPLES["execute"])
    assert "Tool results:\n" in text
    assert '- calculator: {"value":"1/2","output":"","reason":null}\n' in text
    assert "- python: failed: not available to teacher\n" in text


def test_the_meta_planner_prompts_are_templates() -> None:
    step = render_prompt("meta_step", SAMPLES["meta_step"])
    assert step == "Explain kindly\ncalculate: 1/2\nretrieve: adds across"  # no trailing newline
    assert render_prompt("meta_explain", SAMPLES["meta_explain"]) == (
        "Explain kindly why 2/9 is wrong for: 1/3 + 1/6?"
    )
    assert render_prompt("meta_plan", SAMPLES["meta_plan"]) == (
        "Split this task into steps (kinds: retrieve, calculate, explain), each with an "
        "assignee.\nTask: what is 3/4 - 1/2?\nInputs: {'expression': '3/4 - 1/2'}\n"
        'Answer with JSON: {"subtasks": [...]}\n'
    )


def test_rendering_with_the_wrong_variables_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="template 'plan' takes PlanVars, got ThinkVars"):
        render_prompt("plan", SAMPLES["think"])
    with pytest.raises(UserError, match="no prompt template 'thinks'"):
        render_prompt("thinks", SAMPLES["think"])


async def test_the_few_shot_mental_model_predicts_from_real_past_answers() -> None:
    from personas.minds.few_shot import FewShotMentalModel

    def simulate(request: ModelRequest) -> str:
        assert request.output_type is Prediction
        with_explanation = "after this explanation" in request.messages[-1].content
        return json.dumps({"correct_probability": 0.7 if with_explanation else 0.2})

    model = FunctionModel(simulate)
    tom = FewShotMentalModel(model, shots=2)
    tom.observe("1/4 + 1/4?", "2/8", correct=False)
    tom.observe("1/5 + 2/5?", "3/10", correct=False)
    tom.observe("1/2 + 1/4?", "3/4", correct=True, explanation="quarters are the common size")

    async def ask(message: Message, ctx):  # type: ignore[no-untyped-def]
        u = await tom.utility("1/3 + 1/6?", "rewrite both over sixths", ctx)
        return Stop(detail=f"{u:.2f}")

    result = await Runtime().run(
        AgentGraph().add(FunctionAgent("t", ask)), Question(to="t", text="?")
    )
    assert result.detail == "0.50"
    with_explanation = model.calls[0].messages[-1].content
    assert "1/4 + 1/4?" not in with_explanation  # only the 2 most recent observations
    assert "Student's answer: 3/10 (wrong)" in with_explanation
    assert "Teacher's explanation: quarters are the common size" in with_explanation
    assert "Teacher's explanation: rewrite both over sixths" in with_explanation
    assert "rewrite both over sixths" not in model.calls[1].messages[-1].content


async def test_a_persona_calls_an_expert_model_as_a_conceptual_tool() -> None:
    from personas.tools import expert_tool

    expert = FunctionModel(lambda r: "Sixths: 2/6 + 1/6 = 3/6 = 1/2.", model="fractions-expert")
    tools = ToolRegistry([expert_tool(lambda skills: "fractions", {"fractions": expert})])
    replies = iter(
        [
            json.dumps({"knowledge": "k", "guideline": "ask the expert"}),
            json.dumps(
                {
                    "calls": [
                        {
                            "tool": "ask_expert",
                            "arguments": {
                                "skills": ["fraction_addition"],
                                "prompt": "Explain 1/3 + 1/6.",
                            },
                        }
                    ]
                }
            ),
        ]
    )

    def teacher_model(request: ModelRequest) -> str:
        prompt = request.messages[-1].content
        if is_reply(request):
            reply = prompt.split('"reply":"')[1].split('"')[0]
            return json.dumps({"kind": "explanation", "text": reply})
        return next(replies)

    spec = builtin_persona("teacher").model_copy(update={"tools": ("ask_expert",)})
    teacher = Persona(spec, LLMMind(FunctionModel(teacher_model)), tools=tools)
    sink = FunctionAgent("student", lambda m, c: None)
    graph = AgentGraph().edge(teacher, sink, kinds=["Explanation"])
    result = await Runtime().run(graph, Answer(to="teacher", text="2/9"))
    assert result.messages[-2].text == "Sixths: 2/6 + 1/6 = 3/6 = 1/2."  # type: ignore[union-attr]
    assert result.usage["model_calls"] == 4  # think, plan, the expert, execute
