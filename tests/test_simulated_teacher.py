"""The simulated teacher mind: Bridge-style diagnosis, MathDial moves, explanations from the
knowledge graph, as one typed transcript."""

from __future__ import annotations

import pytest

from agents import AgentGraph, Budget, FunctionAgent, Runtime
from knowledge_graph.builders import sample_curriculum
from personas import Persona, ToolRegistry, builtin_persona, calculator_tool
from personas.moves import bridge_tool, moves_tool
from personas.persona import TurnState
from personas.teacher import Diagnosis, Knowledge, SimulatedTeacherMind
from protocols import (
    Answer,
    Explanation,
    Hint,
    Message,
    Plan,
    Question,
    Review,
    Stop,
    TaskAssignment,
    TaskResult,
    Thought,
    UserError,
)


async def test_diagnose_explain_then_tell() -> None:
    kg = sample_curriculum()
    teacher = Persona(
        builtin_persona("teacher"),
        SimulatedTeacherMind(kg),
        tools=ToolRegistry([bridge_tool(), moves_tool(), calculator_tool()]),
    )
    answers = iter(["2/9", "3/9"])

    def student(message: Message, ctx: object) -> Answer | None:
        text = next(answers, None)
        return Answer(text=text, item_id="item:frac-add-1") if text else None

    graph = (
        AgentGraph()
        .edge(teacher, FunctionAgent("student", student), kinds=[Question, Explanation, "Hint"])
        .edge("student", "teacher", kinds=[Answer])
    )
    result = await Runtime().run(
        graph, Answer(to="teacher", text="2/9", item_id="item:frac-add-1"), budget=Budget(turns=10)
    )
    plans = [m.rationale for m in result.messages if m.kind == "plan"]  # type: ignore[union-attr]
    assert plans == [
        "other → explain_concept → clarify_misunderstanding; move focus",
        "right-idea → provide_example → correct_mistake; move telling",
        "right-idea → provide_example → correct_mistake; move telling",
    ]
    thoughts = [m.misconception for m in result.messages if m.kind == "thought"]  # type: ignore[union-attr]
    assert thoughts == ["misconception:add_across", "misconception:add_across", None]
    calls = [[c.tool for c in m.calls] for m in result.messages if m.kind == "plan"]  # type: ignore[union-attr]
    assert calls == [["calculator", "bridge_decision", "teacher_moves"]] * 3
    said = [
        (m.kind, m.text)
        for m in result.messages  # type: ignore[union-attr]
        if m.sender == "teacher" and m.kind in ("explanation", "hint", "question")
    ]
    assert said[0][0] == "explanation" and said[0][1].startswith("Sixths are the common size")
    assert said[1][0] == "explanation" and said[1][1].startswith("The answer is 1/2. Sixths")
    assert said[2] == (  # no misconception diagnosed: the answer, then the skill
        "explanation",
        "The answer is 1/2. Check this step: Add fractions by rewriting them over a common "
        "denominator, then adding numerators.",
    )


async def test_a_careless_slip_gets_a_focus_hint_and_a_guess_a_probing_question() -> None:
    kg = sample_curriculum()
    mind = SimulatedTeacherMind(kg)
    teacher = Persona(
        builtin_persona("teacher"),
        mind,
        tools=ToolRegistry([bridge_tool(), moves_tool(), calculator_tool()]),
    )
    sink = FunctionAgent("student", lambda m, c: None)
    graph = AgentGraph().edge(teacher, sink, kinds=["Hint", "Question", "Explanation"])
    slip = await Runtime().run(graph, Answer(to="teacher", text="8", item_id="item:eq-1"))
    assert [m.kind for m in slip.messages][-2] == "hint"
    assert slip.messages[-2].text == (  # type: ignore[union-attr]
        "Check this step: Solve x + a = b or a x = b with one inverse operation on both sides."
    )
    guess = await Runtime().run(graph, Answer(to="teacher", text="no idea", item_id="item:eq-2"))
    assert guess.messages[-2].text == "How did you get no idea? Walk me through it."  # type: ignore[union-attr]


def test_code_soliloquy_decides_when_a_calculation_is_needed() -> None:
    from personas.sandbox import needs_calculation, run_sandboxed

    assert needs_calculation("What is 2/3 × 3/4?") == "Fraction(2, 3) * Fraction(3, 4)"
    assert run_sandboxed(needs_calculation("What is 3/4 - 1/2?") or "").value == "1/4"
    assert needs_calculation("Solve for x: x + 5 = 12") is None  # no arithmetic to compute


def test_a_personas_reply_kinds_are_spelt_as_on_edges_or_as_tags() -> None:
    spec = builtin_persona("teacher")
    mind = SimulatedTeacherMind(sample_curriculum())
    by_class = Persona(spec, mind, kinds=[Hint, Stop])
    by_tag = Persona(spec, mind, kinds=["hint", "stop"])
    assert by_class.kinds == by_tag.kinds == ["hint", "stop"]
    assert by_class.emits == (Thought, Plan, Hint, Stop)
    with pytest.raises(UserError, match="a persona cannot reply with Review; its replies may"):
        Persona(spec, mind, kinds=[Review])


def test_the_teachers_diagnosis_is_typed() -> None:
    kg = sample_curriculum()
    mind = SimulatedTeacherMind(kg)
    spec = builtin_persona("teacher")

    def diagnose(text: str, item: str | None = "item:frac-add-1") -> Diagnosis:
        message = Answer(text=text, item_id=item)
        return mind._diagnose(TurnState(persona=spec, message=message, history=[]))

    assert diagnose("1/2") == Diagnosis(Knowledge.KNOWS_IT)
    assert diagnose("2/9") == Diagnosis(Knowledge.WRONG_RULE, "misconception:add_across")
    assert diagnose("7/8") == Diagnosis(Knowledge.UNCLEAR)
    assert diagnose("1/2", item=None) == Diagnosis(Knowledge.NO_ITEM)


async def test_in_a_lesson_it_puts_the_item_then_explains_with_targets_then_reports_done() -> None:
    """A lesson's ``Question`` naming an item is put to the student; a remedy explanation
    names what it explains as its targets; with ``task_result`` among the persona's kinds a
    right answer is reported to the lesson instead of ending the run."""
    kg = sample_curriculum()
    teacher = Persona(
        builtin_persona("teacher"),
        SimulatedTeacherMind(kg),
        tools=ToolRegistry([bridge_tool(), moves_tool(), calculator_tool()]),
        kinds=["question", "hint", "explanation", "task_result"],
    )
    answers = iter(["2/9", "1/2"])

    def student(message: Message, ctx: object) -> Answer | None:
        if not isinstance(message, Question):
            return None
        return Answer(to="teacher", text=next(answers), item_id=message.item_id)

    def lesson(message: Message, ctx: object) -> Question | Stop | None:
        if isinstance(message, TaskResult):
            return Stop(detail="lesson over")
        return Question(to="teacher", text="What is 1/3 + 1/6?", item_id="item:frac-add-1")

    graph = (
        AgentGraph()
        .edge(FunctionAgent("lesson", lesson), teacher, kinds=[Question])
        .edge(teacher, FunctionAgent("student", student), kinds=[Question])
        .edge("student", "teacher", kinds=[Answer])
        .edge("teacher", "lesson", kinds=[Explanation, TaskResult])
    )
    result = await Runtime().run(graph, TaskAssignment(to="lesson", task="teach"))
    remedy = str(kg.node("explanation:x-common-denominator").properties["text"])  # type: ignore[union-attr]
    plan = "other → explain_concept → clarify_misunderstanding; move focus"
    assert [(m.sender, m.recipients, m.content()) for m in result.messages] == [
        (
            "user",
            ("lesson",),
            {"kind": "task_assignment", "task": "teach", "skills": [], "inputs": {}},
        ),
        (
            "lesson",
            ("teacher",),
            {
                "kind": "question",
                "text": "What is 1/3 + 1/6?",
                "item_id": "item:frac-add-1",
                "choices": [],
            },
        ),
        (
            "teacher",
            ("user",),
            {
                "kind": "thought",
                "about": "lesson",
                "knowledge": "not asked yet",
                "misconception": None,
                "emotion": None,
                "guideline": "ask the question",
            },
        ),
        (
            "teacher",
            ("user",),
            {
                "kind": "plan",
                "calls": [],
                "rationale": "put item:frac-add-1 to the student; no tool needed",
            },
        ),
        (
            "teacher",
            ("student",),
            {
                "kind": "question",
                "text": "What is 1/3 + 1/6?",
                "item_id": "item:frac-add-1",
                "choices": [],
            },
        ),
        (
            "student",
            ("teacher",),
            {"kind": "answer", "text": "2/9", "item_id": "item:frac-add-1", "confidence": None},
        ),
        (
            "teacher",
            ("user",),
            {
                "kind": "thought",
                "about": "student",
                "knowledge": "applies a wrong rule consistently",
                "misconception": "misconception:add_across",
                "emotion": None,
                "guideline": "clarify the misunderstanding",
            },
        ),
        (
            "teacher",
            ("user",),
            {
                "kind": "plan",
                "calls": [
                    {
                        "tool": "calculator",
                        "arguments": {"code": "Fraction(1, 3) + Fraction(1, 6)"},
                    },
                    {
                        "tool": "bridge_decision",
                        "arguments": {
                            "error_type": "other",
                            "strategy": "explain_concept",
                            "intention": "clarify_misunderstanding",
                        },
                    },
                    {"tool": "teacher_moves", "arguments": {"move": "focus"}},
                ],
                "rationale": plan,
            },
        ),
        (
            "teacher",
            ("lesson",),
            {
                "kind": "explanation",
                "text": remedy,
                "item_id": "item:frac-add-1",
                "targets": ["skill:fraction_addition", "misconception:add_across"],
                "citations": [],
            },
        ),
        (
            "lesson",
            ("teacher",),
            {
                "kind": "question",
                "text": "What is 1/3 + 1/6?",
                "item_id": "item:frac-add-1",
                "choices": [],
            },
        ),
        (
            "teacher",
            ("user",),
            {
                "kind": "thought",
                "about": "lesson",
                "knowledge": "has tried it",
                "misconception": None,
                "emotion": None,
                "guideline": "ask it again",
            },
        ),
        (
            "teacher",
            ("user",),
            {
                "kind": "plan",
                "calls": [],
                "rationale": "put item:frac-add-1 to the student; no tool needed",
            },
        ),
        (
            "teacher",
            ("student",),
            {
                "kind": "question",
                "text": "Try again: What is 1/3 + 1/6?",
                "item_id": "item:frac-add-1",
                "choices": [],
            },
        ),
        (
            "student",
            ("teacher",),
            {"kind": "answer", "text": "1/2", "item_id": "item:frac-add-1", "confidence": None},
        ),
        (
            "teacher",
            ("user",),
            {
                "kind": "thought",
                "about": "student",
                "knowledge": "knows it",
                "misconception": None,
                "emotion": None,
                "guideline": "affirm and move on",
            },
        ),
        (
            "teacher",
            ("user",),
            {
                "kind": "plan",
                "calls": [
                    {
                        "tool": "calculator",
                        "arguments": {"code": "Fraction(1, 3) + Fraction(1, 6)"},
                    },
                    {
                        "tool": "bridge_decision",
                        "arguments": {
                            "error_type": "other",
                            "strategy": "affirm_correct_answer",
                            "intention": "signal_goal",
                        },
                    },
                    {"tool": "teacher_moves", "arguments": {"move": "generic"}},
                ],
                "rationale": "other → affirm_correct_answer → signal_goal; move generic",
            },
        ),
        (
            "teacher",
            ("lesson",),
            {
                "kind": "task_result",
                "task_id": None,
                "output": "Yes, 1/2 is right.",
                "success": True,
                "provenance": [],
            },
        ),
        ("lesson", (), {"kind": "stop", "reason": "completed", "detail": "lesson over"}),
    ]
