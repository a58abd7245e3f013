"""Simulated cohort students and knowledge-graph explanations (agents.eval.simulated,
agents.eval.kg_explainers): pure calls, an exact P(correct), texts read, labels never."""

from __future__ import annotations

import asyncio

import pytest

from agents.eval.base import Answer, Demo, EvalItem, Explanation
from agents.eval.kg_explainers import KGExplanations
from agents.eval.simulated import CohortStudent, EstimatingTeacherMind
from knowledge_graph.builders import sample_curriculum
from personas import EstimatingMentalModel, ReadingModel, learner_items
from personas.minds.learner import PROFILES
from protocols import UserError

KG = sample_curriculum()
ITEMS = learner_items(KG)
READER = ReadingModel(KG)
ADD = EvalItem("item:frac-add-1", "sample", "What is 1/3 + 1/6?", "1/2")
ADD2 = EvalItem("item:frac-add-2", "sample", "What is 2/5 + 1/10?", "1/2")
SUB = EvalItem("item:frac-sub-1", "sample", "What is 3/4 - 1/2?", "1/4")
REMEDY = str(KG.node("explanation:x-common-denominator").properties["text"])  # type: ignore[union-attr]
RULE = str(KG.node("misconception:add_across").properties["description"])  # type: ignore[union-attr]


def student(index: int, occasion: str = "test", share: float = 1.0) -> CohortStudent:
    """A novice who holds every misconception (share 1), unless told otherwise."""
    profiles = (PROFILES["novice"],)
    return CohortStudent(ITEMS, READER, 0, index, profiles, share).on(occasion)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_a_student_call_is_pure_and_starts_from_the_same_state() -> None:
    s = student(3)
    first = [run(s.answer(i, REMEDY)) for i in (ADD, SUB, ADD)]
    again = [run(s.answer(i, REMEDY)) for i in (ADD, SUB, ADD)]
    assert first == again and first[0] == first[2]
    assert s.kind == "simulated"


@pytest.mark.parametrize(
    ("explanation", "context"),
    [
        (None, ()),
        (REMEDY, ()),  # remedies add_across, teaches, and reveals 1/3 + 1/6 = 1/2
        (RULE, ()),  # asserts the wrong rule: implants, and reveals 2/9 as the answer
        (None, (Demo(ADD, REMEDY),)),  # multi-turn: learnt on frac-add-1, tested on -2
        ("Bananas are yellow.", (Demo(SUB, RULE), Demo(ADD, REMEDY))),
    ],
)
def test_p_correct_is_the_exact_expectation_of_answer(
    explanation: str | None, context: tuple[Demo, ...]
) -> None:
    """Over 600 occasions (fresh random streams, the same students) the frequency of a
    right answer matches p_correct within 4 standard errors."""
    item = ADD2 if context and context[-1].item == ADD else ADD
    for index in (1, 4):  # one who adds across; one who knows the skill
        expected = run(student(index, share=0.5).p_correct(item, explanation, context=context))
        hits = sum(
            run(student(index, f"o{k}", 0.5).answer(item, explanation, context=context)).correct
            for k in range(600)
        )
        se = max((expected * (1 - expected) / 600) ** 0.5, 1e-3)
        assert abs(hits / 600 - expected) < 4 * se, (index, explanation, hits, expected)


def test_an_irrelevant_text_changes_nothing() -> None:
    for index in range(6):
        s = student(index)
        assert run(s.answer(ADD, "Bananas are yellow.")) == run(s.answer(ADD))
        assert run(s.p_correct(ADD, "Bananas are yellow.")) == run(s.p_correct(ADD))


def test_a_remedy_helps_a_student_who_adds_across_and_the_wrong_rule_hurts() -> None:
    s = student(1)  # holds add_across
    learner = s.initial()
    assert "misconception:add_across" in learner.active
    none, remedy, rule = (run(s.p_correct(ADD2, t)) for t in (None, REMEDY, RULE))
    assert rule <= none < remedy


def test_kg_explanations_generic_personalised_and_misleading() -> None:
    generic = run(KGExplanations(KG, "generic").candidates(ADD))
    skill = str(KG.node("skill:fraction_addition").properties["description"])  # type: ignore[union-attr]
    assert list(generic) == [Explanation(skill, "generic")]
    personal = run(KGExplanations(KG, "personalised").candidates(ADD))
    assert list(personal) == [Explanation(skill, "generic"), Explanation(REMEDY, "personalised")]
    assert KGExplanations(KG, "misleading").covers(ADD)
    assert list(run(KGExplanations(KG, "misleading").candidates(ADD))) == [
        Explanation(RULE, "misleading")
    ]
    with pytest.raises(UserError, match="REQUIRES no skill"):
        run(KGExplanations(KG).candidates(EvalItem("item:nope", "sample", "?", "1")))


def test_the_teacher_mind_reads_answers_and_texts() -> None:
    mind = EstimatingTeacherMind(EstimatingMentalModel(ITEMS, READER))
    before = run(mind.predict(ADD2, REMEDY)) - run(mind.predict(ADD2))
    run(mind.observe(ADD, Answer("2/9", False, 0.8)))
    assert mind.misconception_belief(ADD2) > 0.5
    after = run(mind.predict(ADD2, REMEDY)) - run(mind.predict(ADD2))
    assert after > before > 0  # Û of the remedy grows once add_across is diagnosed
    assert run(mind.predict(ADD2, "Bananas are yellow.")) == run(mind.predict(ADD2))
