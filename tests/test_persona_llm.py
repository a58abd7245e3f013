"""The LLM path end to end with FunctionModel: templates rendered, outputs validated, a
re-ask on bad output, a tool call, and the whole typed transcript."""

from __future__ import annotations

import json

import pytest

from agents import AgentGraph, Budget, FunctionAgent, Runtime
from agents.meta import SubTask, TaskPlan
from agents.models import ChatMessage, FunctionModel, ModelRequest
from knowledge_graph.builders import sample_curriculum
from knowledge_graph.retrieval import Retriever
from personas import ToolRegistry, builtin_persona, calculator_tool
from personas.minds.few_shot import Prediction
from personas.persona import LLMMind, Persona, PlanOut, Reply
from personas.planning import plan_output_type
from personas.prompting import (
    TEMPLATES,
    AnswerDemo,
    AnswerItemVars,
    ExecuteVars,
    ExpertInfo,
    ExplainItemVars,
    MathDialStudentVars,
    MetaExplainVars,
    MetaPlanVars,
    MetaRegenerateVars,
    MetaStepVars,
    Observation,
    PlanVars,
    SimulateAnswerVars,
    SimulateVars,
    SystemVars,
    ThinkVars,
    ThoughtVars,
    ToolInfo,
    render_prompt,
    schema_text,
)
from personas.tools import Calculation, CalculatorArgs
from protocols import Answer, Message, Question, Stop, ToolResult, UserError


def is_reply(request: ModelRequest) -> bool:
    """The Execute phase: its output type is ``Reply`` narrowed to the allowed kinds."""
    return request.output_type is not None and issubclass(request.output_type, Reply)


def is_plan(request: ModelRequest) -> bool:
    """The Plan phase: its output type is ``PlanOut`` narrowed to the persona's tools."""
    return request.output_type is not None and issubclass(request.output_type, PlanOut)


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
                    "misconception": "misconception:add_across",
                    "emotion": "unsure",
                    "guideline": "check with exact arithmetic",
                }
            )
        if is_plan(request):
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
        results = request.messages[-1].content.split("Tool results:")[1]
        value = "1/2" if '"value":"1/2"' in results else "?"
        return json.dumps(
            {"kind": "hint", "text": f"Rewrite both over sixths; the sum is {value}."}
        )

    return FunctionModel(reply, model="scripted-teacher")


async def test_a_teacher_persona_thinks_plans_and_executes_through_a_model() -> None:
    model = scripted_teacher_model()
    kg = sample_curriculum()
    teacher = Persona(
        builtin_persona("teacher"),
        LLMMind(model),
        tools=ToolRegistry([calculator_tool()]),
        knowledge=Retriever(kg),
    )
    student = FunctionAgent("student", lambda m, c: Stop(detail="thanks"))
    graph = (
        AgentGraph()
        .edge(teacher, student, kinds=["Hint", "Question", "Explanation"])
        .edge(student, teacher, kinds=["Answer"])
    )
    first = Answer(to="teacher", text="2/9", item_id="item:frac-add-1")
    result = await Runtime().run(graph, first, budget=Budget(turns=5))
    assert result.transcript() == [
        {
            "sender": "user",
            "recipients": ["teacher"],
            "parent": None,
            "kind": "answer",
            "text": "2/9",
            "item_id": "item:frac-add-1",
            "confidence": None,
        },
        {
            "sender": "teacher",
            "recipients": ["user"],
            "parent": 0,
            "kind": "thought",
            "about": "user",
            "knowledge": "adds numerators",
            "misconception": "misconception:add_across",
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
            "item_id": "item:frac-add-1",
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
    assert not any("PHASE" in m.content for r in model.calls for m in r.messages)
    # Every request: the persona's system prompt, from its spec, then the phase's prompt.
    system = render_prompt("system", SystemVars(persona=builtin_persona("teacher")))
    assert all(r.messages[0] == ChatMessage(role="system", content=system) for r in model.calls)
    assert "A patient mathematics teacher who diagnoses before explaining." in system
    assert "- let the student reach the answer without telling it\n" in system
    # Think: the knowledge graph's context for the item and the answer, with node ids.
    think = model.calls[0].messages[1].content
    assert "user just said: 2/9\n" in think
    assert (
        "[misconception:add_across] (Misconception) Adding across Adds the numerators and "
        "adds the denominators, as in 1/3 + 1/6 = 2/9.\n"
    ) in think
    assert "[misconception:add_across] -PART_OF-> [skill:fraction_addition]" in think
    # Plan: the tool with its argument schema; the reply schema is the tools' call union.
    plan = model.calls[2]
    assert "- calculator(code): Evaluate arithmetic exactly" in plan.messages[1].content
    contract = json.loads(plan.messages[1].content.splitlines()[-1])  # the schema, once
    assert contract["$defs"]["CalculatorArgs"] == json.loads(schema_text(CalculatorArgs))
    calls = plan.response_schema["properties"]["calls"]["items"]  # type: ignore[index]
    assert calls == {
        "discriminator": {
            "mapping": {"calculator": "#/$defs/CalculatorCall"},
            "propertyName": "tool",
        },
        "oneOf": [{"$ref": "#/$defs/CalculatorCall"}],
    }
    assert plan.response_schema["$defs"]["CalculatorCall"]["properties"]["tool"] == {  # type: ignore[index]
        "const": "calculator",
        "title": "Tool",
        "type": "string",
    }
    # Execute: the typed tool result.
    execute = model.calls[3]
    assert (
        '- calculator: {"value":"1/2","output":"","reason":null}\n' in execute.messages[1].content
    )
    sent = execute.model_dump(mode="json")
    assert "output_type" not in sent and sent["response_schema"]["title"] == "Reply"
    reask = model.calls[1].messages
    assert [m.role for m in reask] == ["system", "user", "assistant", "user"]
    assert "did not validate" in reask[-1].content
    assert result.usage["model_calls"] == 4


async def test_execute_sees_the_history_and_think_the_earlier_turns() -> None:
    """A second turn: the earlier turns reach Think and Execute as history lines; the
    profile and goals reach every phase through the system prompt."""
    replies = {
        "think": json.dumps({"knowledge": "k", "guideline": "g"}),
        "plan": json.dumps({"calls": []}),
    }

    def reply(request: ModelRequest) -> str:
        if request.output_type is ThoughtVars:
            return replies["think"]
        if is_plan(request):
            return replies["plan"]
        return json.dumps({"kind": "question", "text": "Which parts match?"})

    model = FunctionModel(reply)
    teacher = Persona(builtin_persona("teacher"), LLMMind(model), kinds=["question", "stop"])
    answers = iter(["2/9", "1/2"])

    def student(message: Message, ctx: object) -> Answer | Stop:
        text = next(answers, None)
        return Answer(to="teacher", text=text) if text else Stop(detail="done")

    graph = (
        AgentGraph()
        .edge(teacher, FunctionAgent("student", student), kinds=["Question"])
        .edge("student", "teacher", kinds=["Answer"])
    )
    await Runtime().run(graph, Question(to="teacher", text="1/3 + 1/6?"), budget=Budget(turns=9))
    execute = [r.messages[1].content for r in model.calls if is_reply(r)]
    assert execute[1].startswith(
        "Conversation so far:\n"
        "- user: 1/3 + 1/6?\n"
        "- teacher: Which parts match?\n"
        "student just said: 2/9\n"
    )
    think = [r.messages[1].content for r in model.calls if r.output_type is ThoughtVars]
    assert think[0].startswith("Conversation so far:\n(nothing yet)\nuser just said: 1/3")
    assert "- teacher: Which parts match?\nstudent just said: 2/9\n" in think[1]
    plan = next(r for r in model.calls if is_plan(r))
    assert plan.response_schema["properties"]["calls"]["maxItems"] == 0  # type: ignore[index]
    assert "(no tools: answer with an empty list of calls)" in plan.messages[1].content


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
CALCULATOR = ToolInfo(name="calculator", description="exact arithmetic", arguments=CalculatorArgs)
EXPERTS = [ExpertInfo(name="fractions-a", skills=["fraction_addition"])]
SAMPLES = {
    "system": SystemVars(persona=PERSONA),
    "think": ThinkVars(
        history=["student: hello"],
        sender="student",
        message="2/9",
        context="[misconception:add_across] adds across",
        output=ThoughtVars,
    ),
    "plan": PlanVars(
        sender="student",
        thought=THOUGHT,
        tools=[CALCULATOR],
        output=plan_output_type([("calculator", CalculatorArgs)]),
    ),
    "execute": ExecuteVars(
        history=["student: hello", "teacher: what is 1/3 + 1/6?"],
        sender="student",
        message="2/9",
        thought=THOUGHT,
        results=[
            ToolResult(call_id="c1", tool="calculator", output=Calculation(value="1/2")),
            ToolResult(call_id="c2", tool="python", error="not available to teacher"),
        ],
        kinds=["hint", "question"],
        output=Reply,
    ),
    "meta_explain": MetaExplainVars(question="1/3 + 1/6?", student_answer="2/9"),
    "meta_step": MetaStepVars(
        instruction="Explain kindly", notes=["calculate: 1/2", "retrieve: adds across"]
    ),
    "meta_plan": MetaPlanVars(
        task="what is 3/4 - 1/2?",
        skills=["fraction_subtraction"],
        inputs={"expression": "3/4 - 1/2"},
        experts=EXPERTS,
        tools=[CALCULATOR],
        output=TaskPlan,
    ),
    "meta_regenerate": MetaRegenerateVars(
        step='{"id": "calc"}',
        error="imports are not allowed",
        tried=["calculator"],
        experts=EXPERTS,
        tools=[CALCULATOR],
        output=SubTask,
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
        output=Prediction,
    ),
    "simulate_answer": SimulateAnswerVars(
        examples=[Observation(question="1/4 + 1/4?", answer="2/8", correct=False)],
        question="1/3 + 1/6?",
        explanation="rewrite over sixths",
    ),
    "answer_item": AnswerItemVars(
        demos=[AnswerDemo(question="Do owls hunt at night?", answer="yes")],
        question="Can a penguin fly?",
        explanation="Penguins cannot fly.",
    ),
    "explain_item": ExplainItemVars(persona=PERSONA, question="Can a penguin fly?"),
    "mathdial_student": MathDialStudentVars(
        persona="Kayla is a 7th grade student.",
        problem="Sam has 3 bags of 4 apples. How many apples?",
        solution="3 + 4 = 7\n 7",
        name="Kayla",
        history=["Teacher: Hi Kayla! Could you walk me through your solution?"],
    ),
}


# prompts that ask for no schema
PLAIN_TEXT = {
    "answer_item",
    "explain_item",
    "mathdial_student",
    "meta_explain",
    "meta_step",
    "simulate_answer",
    "system",
}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_renders_with_sample_variables(name: str) -> None:
    variables = SAMPLES[name]
    text = render_prompt(name, variables)
    assert "PHASE" not in text  # the phase is a typed field of the request
    assert "None" not in text  # no optional value leaks into a prompt
    assert "{{" not in text and "{%" not in text
    output = getattr(variables, "output", None)
    assert (output is None) == (name in PLAIN_TEXT)
    if output is not None:  # the contract is the validator's own schema, on the last line
        assert text.endswith("follows this schema:\n" + schema_text(output) + "\n")
        assert json.loads(text.splitlines()[-1])["properties"].keys() == (
            output.model_json_schema()["properties"].keys()
        )


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
    plan = render_prompt("meta_plan", SAMPLES["meta_plan"])
    assert (
        "Task: what is 3/4 - 1/2?\nSkills it needs: fraction_subtraction\n"
        'Inputs: {"expression": "3/4 - 1/2"}\n\n'
        "Experts:\n- fractions-a: skills fraction_addition\n"
        "Tools, with their inputs (the schema below gives each input's type and meaning):\n"
        "- calculator(code): exact arithmetic\n"
    ) in plan
    again = render_prompt("meta_regenerate", SAMPLES["meta_regenerate"])
    assert again.startswith(
        'This step failed: {"id": "calc"}\nError: imports are not allowed\n'
        "Already tried: calculator.\n"
    )
    assert "Experts:\n- fractions-a: skills fraction_addition\n" in again


def test_rendering_with_the_wrong_variables_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="template 'plan' takes PlanVars, got ThinkVars"):
        render_prompt("plan", SAMPLES["think"])
    with pytest.raises(UserError, match="no prompt template 'thinks'"):
        render_prompt("thinks", SAMPLES["think"])


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


async def test_the_context_is_retrieved_within_the_persona_knowledge_scope() -> None:
    def reply(request: ModelRequest) -> str:
        if request.output_type is ThoughtVars:
            return json.dumps({"knowledge": "k", "guideline": "g"})
        if is_plan(request):
            return json.dumps({"calls": []})
        return json.dumps({"kind": "answer", "text": "2/9", "confidence": 0.4})

    model = FunctionModel(reply)
    spec = builtin_persona("student").model_copy(update={"mind": "llm"})
    assert spec.knowledge_scope == ("Skill",)
    student = Persona(spec, LLMMind(model), knowledge=Retriever(sample_curriculum()))
    sink = FunctionAgent("teacher", lambda m, c: None)
    graph = AgentGraph().edge(student, sink, kinds=["Answer"])
    await Runtime().run(graph, Question(to="student", text="What is 1/3 + 1/6?"))
    think = model.calls[0].messages[1].content
    context = think.split("cite nodes by their ids:\n")[1].split("\n\n")[0].splitlines()
    nodes = [line for line in context if " -" not in line]  # the nodes, then the edges
    assert nodes and all(" (Skill) " in line for line in nodes)
    assert nodes[0].startswith("[skill:fraction_addition] (Skill) Adding fractions")
