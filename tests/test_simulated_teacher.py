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
    assert said[2] == ("explanation", "The answer is 1/2.")


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
