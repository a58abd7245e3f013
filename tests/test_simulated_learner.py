"""The simulated learner, checked statistically over many seeds. Simulation, not LLM
results. The teacher's mental model of it is tested in test_mental_model.py."""

from __future__ import annotations

import random
import statistics
from types import SimpleNamespace

import pytest

from personas.minds import (
    PROFILES,
    LearnerItem,
    LearnerProfile,
    Reading,
    SimulatedLearner,
)
from protocols import UserError

SKILLS = ["fraction_addition", "one_step_equations", "two_step_equations"]
ITEM = LearnerItem("frac-add-1", "fraction_addition", "1/2", {"add_across": "2/9"})
N = 3000


def learners(profile: LearnerProfile, seed: int = 0, misconceptions: bool = False):  # type: ignore[no-untyped-def]
    for i in range(N):
        yield SimulatedLearner(
            SKILLS,
            profile,
            random.Random(f"{seed}:{i}"),
            {"add_across": "fraction_addition"} if misconceptions else None,
            susceptible={"add_across": "fraction_addition"},
        )


def accuracy(profile: LearnerProfile, reading: Reading | None = None, seed: int = 0) -> float:
    right = 0
    for learner in learners(profile, seed):
        if reading is not None:
            learner.study(reading)
        right += learner.answer(ITEM).correct
    return right / N


def test_accuracy_rises_with_mastery() -> None:
    priors = [0.0, 0.25, 0.5, 0.75, 1.0]
    acc = [accuracy(LearnerProfile(prior=p)) for p in priors]
    assert acc == sorted(acc)
    # Expected: prior·(1 − slip) + (1 − prior)·guess, within sampling error (±3 SE).
    for p, a in zip(priors, acc, strict=True):
        assert a == pytest.approx(p * 0.9 + (1 - p) * 0.15, abs=0.03)


def test_teaching_strength_scales_learning() -> None:
    profile = PROFILES["novice"]
    none = accuracy(profile)
    other = accuracy(profile, Reading(teaches={"two_step_equations": 1.0}))
    partly = accuracy(profile, Reading(teaches={"fraction_addition": 0.4}))
    fully = accuracy(profile, Reading(teaches={"fraction_addition": 1.0}))
    assert other == pytest.approx(none, abs=0.03)  # another skill: same distribution
    assert none < partly < fully
    # P(known) after: 0.2 + 0.8·0.5·t, so 0.36 at t = 0.4 and 0.6 at t = 1.
    assert partly == pytest.approx(0.36 * 0.9 + 0.64 * 0.15, abs=0.03)
    assert fully == pytest.approx(0.6 * 0.9 + 0.4 * 0.15, abs=0.03)


def test_an_implanted_misconception_lowers_accuracy_and_gives_its_answer() -> None:
    profile = PROFILES["average"]
    implant = Reading(implants={"add_across": 0.7})
    before, after = accuracy(profile), accuracy(profile, implant)
    # Active w.p. 0.7, blocking the skill: P(correct) = 0.7·guess + 0.3·(before).
    assert after == pytest.approx(0.7 * 0.15 + 0.3 * before, abs=0.03)
    wrong = [r.text for r in (lrn.answer(ITEM) for lrn in learners(profile)) if not r.correct]
    assert "2/9" not in wrong  # not yet implanted: no learner gives its answer
    wrong = []
    for learner in learners(profile):
        learner.study(Reading(implants={"add_across": 1.0}))
        response = learner.answer(ITEM)
        if not response.correct:
            wrong.append(response.text)
    assert statistics.mean(a == "2/9" for a in wrong) == pytest.approx(0.8, abs=0.03)


def test_a_remedy_removes_an_active_misconception_with_its_probability() -> None:
    fixed = 0
    for learner in learners(PROFILES["strong"], misconceptions=True):
        learner.study(Reading(remedies={"add_across": 0.8}))
        fixed += "add_across" not in learner.active
    assert fixed / N == pytest.approx(0.8, abs=0.03)


def test_a_revealed_answer_is_repeated_on_that_item_now_and_forgotten_after_another() -> None:
    told = Reading(reveals={ITEM.id: "1/2"})
    other = LearnerItem("eq-1", "one_step_equations", "7")
    now = later = 0
    for learner in learners(PROFILES["novice"], misconceptions=True):
        learner.answer(ITEM)  # the item at hand
        learner.study(told)
        now += learner.answer(ITEM).correct
        learner.answer(other)
        later += learner.answer(ITEM).correct
    assert now / N == pytest.approx(0.9 + 0.1 * 0.15, abs=0.03)  # recalled w.p. 1 − slip
    assert later / N == pytest.approx(0.15, abs=0.03)  # blocked by add_across: guess only
    fresh = next(iter(learners(PROFILES["novice"])))
    fresh.study(told)  # no item at hand yet: nothing to repeat
    assert fresh.recall is None


def correlation(signal: float) -> float:
    profile = LearnerProfile(prior=0.5, confidence_signal=signal)
    confidence, correct = [], []
    for learner in learners(profile):
        response = learner.answer(ITEM)
        confidence.append(response.confidence)
        correct.append(float(response.correct))
    return statistics.correlation(confidence, correct)


def test_reported_confidence_correlates_with_correctness_at_the_configured_strength() -> None:
    strengths = [correlation(s) for s in (0.0, 0.3, 0.7, 1.0)]
    assert strengths[0] == pytest.approx(0.0, abs=0.05)
    assert strengths == sorted(strengths)
    assert strengths[-1] > 0.5
    over = [r.confidence for r in (lrn.answer(ITEM) for lrn in learners(PROFILES["overconfident"]))]
    calibrated = [
        r.confidence for r in (lrn.answer(ITEM) for lrn in learners(LearnerProfile(prior=0.4)))
    ]
    assert statistics.mean(over) > statistics.mean(calibrated) + 0.2


def test_bad_profiles_are_clear_errors() -> None:
    with pytest.raises(UserError, match=r"LearnerProfile.slip must be in \[0, 1\], got 1.5"):
        LearnerProfile(slip=1.5)


async def test_the_simulated_student_answers_graph_items_and_reads_explanations() -> None:
    from knowledge_graph.builders import sample_curriculum
    from personas.simulated import SimulatedStudent, learner_items
    from protocols import Answer, Explanation, Question

    kg = sample_curriculum()
    items = learner_items(kg)
    assert items["item:frac-add-1"].misconception_answers == {"misconception:add_across": "2/9"}
    stuck = LearnerProfile(prior=0.0, guess=0.0, slip=0.0, misconception_rate=1.0, learn=1.0)
    student = SimulatedStudent("s", kg, stuck, misconceptions=["misconception:add_across"])
    question = Question(sender="t", text="What is 1/3 + 1/6?", item_id="item:frac-add-1")
    ctx = SimpleNamespace(state=student.new_state())  # what the runtime passes in a run
    (first,) = await student.handle(question, ctx)
    assert isinstance(first, Answer) and first.text == "2/9" and first.recipients == ("t",)
    node = kg.node("explanation:x-common-denominator")
    assert node is not None
    remedy = Explanation(sender="t", text=str(node.properties["text"]))
    assert await student.handle(remedy, ctx) == []
    (second,) = await student.handle(question, ctx)
    assert isinstance(second, Answer) and second.text == "1/2"
    with pytest.raises(UserError, match="no item exhibits misconception"):
        SimulatedStudent("s", kg, stuck, misconceptions=["misconception:nope"])
