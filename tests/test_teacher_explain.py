"""What the simulated teacher's explanations say (``explain=``), and what the simulated
student's reading model makes of each: the texts, not their targets, differ by condition."""

from __future__ import annotations

import pytest

from agents import AgentGraph, Budget, FunctionAgent, Runtime
from knowledge_graph.builders import sample_curriculum
from personas import Persona, ReadingModel, ToolRegistry, builtin_persona, calculator_tool
from personas.moves import bridge_tool, moves_tool
from personas.teacher import NOTHING, Explain, SimulatedTeacherMind
from protocols import Answer, Explanation, Message, Question, UserError

KG = sample_curriculum()
ADD = "misconception:add_across"


async def explanations(explain: Explain) -> list[Explanation]:
    """The teacher's explanations after "2/9" (add-across) and then "3/9" (no diagnosis)."""
    teacher = Persona(
        builtin_persona("teacher"),
        SimulatedTeacherMind(KG, explain=explain),
        tools=ToolRegistry([bridge_tool(), moves_tool(), calculator_tool()]),
    )
    answers = iter(["3/9"])

    def student(message: Message, ctx: object) -> Answer | None:
        text = next(answers, None)
        return Answer(text=text, item_id="item:frac-add-1") if text else None

    graph = (
        AgentGraph()
        .edge(teacher, FunctionAgent("student", student), kinds=[Question, Explanation, "Hint"])
        .edge("student", "teacher", kinds=[Answer])
    )
    first = Answer(to="teacher", text="2/9", item_id="item:frac-add-1")
    result = await Runtime().run(graph, first, budget=Budget(turns=10))
    return [m for m in result.messages if isinstance(m, Explanation)]


REMEDY = str(KG.node("explanation:x-common-denominator").properties["text"])  # type: ignore[union-attr]
SKILL = (
    "Check this step: Add fractions by rewriting them over a common denominator, then "
    "adding numerators."
)
RULE = "Here is the rule: adds the numerators and adds the denominators, as in 1/3 + 1/6 = 2/9."


@pytest.mark.parametrize(
    ("explain", "texts", "targets"),
    [
        ("targeted", [REMEDY, f"The answer is 1/2. {SKILL}"], ("skill:fraction_addition", ADD)),
        ("generic", [SKILL, f"The answer is 1/2. {SKILL}"], ("skill:fraction_addition",)),
        ("none", [NOTHING, "The answer is 1/2."], ()),
        ("misleading", [RULE, f"The answer is 2/9. {RULE}"], (f"promotes:{ADD}",)),
    ],
)
async def test_each_condition_writes_its_own_text(
    explain: Explain, texts: list[str], targets: tuple[str, ...]
) -> None:
    said = await explanations(explain)
    assert [m.text for m in said] == texts
    assert said[0].targets == targets  # provenance only: the student never reads them


def test_the_reading_model_reads_each_conditions_text_as_intended() -> None:
    model = ReadingModel(KG)
    targeted, generic = model.read(REMEDY), model.read(SKILL)
    assert targeted.remedies[ADD] > generic.remedies[ADD] > 0
    assert generic.teaches["skill:fraction_addition"] > 0.5
    assert model.read(NOTHING).teaches == {} and model.read(NOTHING).reveals == {}
    misleading = model.read(RULE)
    assert misleading.implants == {ADD: pytest.approx(0.8)} and ADD not in misleading.remedies
    assert model.read(f"The answer is 2/9. {RULE}").reveals["item:frac-add-1"] == "2/9"


def test_an_unknown_condition_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="explain must be one of targeted, generic, none"):
        SimulatedTeacherMind(KG, explain="sometimes")  # type: ignore[arg-type]
