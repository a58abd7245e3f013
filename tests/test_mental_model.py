"""The teacher's estimating mental model: fitted from observed answers only, a belief over
misconceptions from EXHIBITS answers, and Û computed by reading the explanation's text.
All figures are about simulated students, not LLMs."""

from __future__ import annotations

import inspect
import math
import statistics
import typing
from dataclasses import replace

import pytest
from scipy.stats import kendalltau

from knowledge_graph.builders import sample_curriculum
from personas.minds import (
    PROFILES,
    EstimatingMentalModel,
    LearnerItem,
    MentalParams,
    ReadingModel,
    Seen,
    Told,
    brier_score,
    fit_mental_params,
)
from personas.minds.belief import same_answer
from personas.minds.mental_fit import log_likelihood
from personas.minds.population import (
    MISCONCEPTION_SHARE,
    kg_texts,
    replay_predictions,
    taught_population,
)
from personas.simulated import learner_items
from protocols import UserError

KG = sample_curriculum()
ITEMS = learner_items(KG)
READER = ReadingModel(KG)
TEXTS = kg_texts(KG)
REMEDY = TEXTS["explanation:x-common-denominator"]  # REMEDIATES add_across
GENERIC = TEXTS["skill:fraction_addition"]  # the skill's description: names no misconception
MISLEADING = TEXTS["misconception:add_across"]  # states the wrong rule, 1/3 + 1/6 = 2/9
ADD = "item:frac-add-2"  # an item whose answer none of these texts states


@pytest.fixture(scope="module")
def fitted() -> MentalParams:
    train = taught_population(KG, ITEMS, n=300, seed=1)
    return fit_mental_params([s.history for s in train], ITEMS, READER)


def model(params: MentalParams | None = None) -> EstimatingMentalModel:
    return EstimatingMentalModel(ITEMS, READER, params)


def held_out_brier(params: MentalParams, confidences: bool = True) -> tuple[float, float]:
    """Brier score of the model's predictions of each answer before it is seen, on 300
    held-out students, and of a constant: the base rate of the training population."""
    predictions, outcomes = [], []
    for student in taught_population(KG, ITEMS, n=300, seed=2):
        history = student.history if confidences else _without_confidence(student.history)
        p, o = replay_predictions(model(params), history)
        predictions += p
        outcomes += o
    train = taught_population(KG, ITEMS, n=300, seed=1)
    base_rate = statistics.mean(o for s in train for o in _outcomes(s.history))
    return brier_score(predictions, outcomes), brier_score([base_rate] * len(outcomes), outcomes)


def _outcomes(history: list[Seen | Told]) -> list[bool]:
    return [same_answer(e.answer, ITEMS[e.item].answer) for e in history if isinstance(e, Seen)]


def _without_confidence(history: list[Seen | Told]) -> list[Seen | Told]:
    return [replace(e, confidence=None) if isinstance(e, Seen) else e for e in history]


@pytest.mark.slow
def test_the_fitted_model_beats_a_constant_on_held_out_students(fitted: MentalParams) -> None:
    # The fit recovers the population it never saw the parameters of (a mixture of the four
    # profiles, each misconception held with P = MISCONCEPTION_SHARE), within tolerances.
    mean = lambda name: statistics.mean(getattr(p, name) for p in PROFILES.values())  # noqa: E731
    assert fitted.prior == pytest.approx(mean("prior"), abs=0.05)
    assert fitted.slip == pytest.approx(mean("slip"), abs=0.03)
    assert fitted.guess == pytest.approx(mean("guess"), abs=0.03)
    assert fitted.learn == pytest.approx(mean("learn"), abs=0.1)
    assert fitted.misconception_prior == pytest.approx(MISCONCEPTION_SHARE, abs=0.06)
    fitted_brier, constant_brier = held_out_brier(fitted)
    assert fitted_brier < constant_brier - 0.05
    # Reported in docs/simulation.md ("The teacher's mental model").
    assert fitted_brier == pytest.approx(0.170, abs=0.005)
    assert constant_brier == pytest.approx(0.245, abs=0.005)


@pytest.mark.slow
def test_calibrated_confidences_are_evidence_the_answers_alone_lack() -> None:
    histories = [
        _without_confidence(s.history) for s in taught_population(KG, ITEMS, n=300, seed=1)
    ]
    answers_only = fit_mental_params(histories, ITEMS, READER)
    brier, constant = held_out_brier(answers_only, confidences=False)
    assert brier < constant - 0.05
    assert brier == pytest.approx(0.178, abs=0.005)  # docs/simulation.md; 0.170 with them


def test_the_per_student_filter_and_the_fit_compute_the_same_likelihood() -> None:
    histories = [s.history for s in taught_population(KG, ITEMS, n=20, seed=5)]
    params = MentalParams(repeat=0.8, confidence_mean=0.55)
    total = 0.0
    for history in histories:
        mind = model(params)
        for event in history:
            if isinstance(event, Told):
                mind.observe_explanation(event.text)
            else:
                total += mind.observe(event.item, event.answer, event.confidence)
    assert log_likelihood(params, histories, ITEMS, READER) == pytest.approx(total, rel=1e-9)


def test_a_wrong_answer_that_a_misconception_exhibits_is_evidence_for_it() -> None:
    prior = model().misconceptions()["misconception:add_across"]
    exhibits, other, right = model(), model(), model()
    exhibits.observe("item:frac-add-1", "2/9")  # the EXHIBITS wrong_answer of add_across
    other.observe("item:frac-add-1", "5/9")
    right.observe("item:frac-add-1", "1/2")
    assert exhibits.misconceptions()["misconception:add_across"] > 0.85 > prior
    assert other.misconceptions()["misconception:add_across"] < prior
    assert right.misconceptions()["misconception:add_across"] < prior
    # Other misconceptions are untouched by an answer on another skill.
    assert exhibits.misconceptions()["misconception:divide_first"] == pytest.approx(prior)


def test_utility_follows_what_the_text_says_and_whom_it_is_for() -> None:
    believer, unsure, knower = model(), model(), model()
    believer.observe("item:frac-add-1", "2/9", 0.8)
    unsure.observe("item:frac-add-1", "5/9", 0.3)
    knower.observe("item:frac-add-1", "1/2", 0.8)
    # Misleading text: negative, most for a student who can do it now (it has most to
    # lose); junk and another topic: nothing.
    assert knower.utility(ADD, MISLEADING) < model().utility(ADD, MISLEADING) < -0.05
    assert believer.utility(ADD, MISLEADING) < 0
    assert believer.utility(ADD, "Bananas are yellow.") == 0.0
    assert believer.utility(ADD, TEXTS["explanation:x-two-steps"]) == pytest.approx(0, abs=1e-9)
    # The remedy of the diagnosed misconception beats a generic explanation of the skill,
    # and by more for a student believed to hold it than for one who probably does not.
    remedy, generic = believer.utility(ADD, REMEDY), believer.utility(ADD, GENERIC)
    assert remedy > generic + 0.1 > 0.1
    assert remedy - generic > unsure.utility(ADD, REMEDY) - unsure.utility(ADD, GENERIC)
    assert believer.best(ADD, TEXTS.values()) == (REMEDY, pytest.approx(remedy))


def test_a_text_that_reveals_the_answer_helps_now_but_not_on_the_next_item() -> None:
    mind = model(MentalParams(repeat=0.9))
    mind.observe("item:frac-add-1", "5/9")
    told = "The answer is 1/2."
    assert mind.utility("item:frac-add-1", told) > 0.3  # the learner can repeat it
    mind.observe_explanation(told)
    assert mind.predict("item:frac-add-1") > 0.8
    mind.observe("item:eq-1", "7")  # another item: the told answer is gone
    assert mind.predict("item:frac-add-1") < 0.5


def test_the_utility_ranking_is_not_the_confidence_ranking() -> None:
    # Three students, each just answered an item, with the confidence they reported; the
    # teacher has one text for each item and may give it before they try again.
    cases = {
        "confident, holds add_across": ("item:frac-add-1", "2/9", 0.9, REMEDY),
        "unsure, only a generic text": ("item:eq-3", "3", 0.2, TEXTS["skill:two_step_equations"]),
        "fairly sure and right": (
            "item:frac-mul-1",
            "1/2",
            0.8,
            TEXTS["skill:fraction_multiplication"],
        ),
    }
    utility = {}
    for name, (item, answer, confidence, text) in cases.items():
        mind = model()
        mind.observe(item, answer, confidence)
        utility[name] = mind.utility(item, text)
    by_utility = sorted(cases, key=utility.__getitem__, reverse=True)
    by_confidence = sorted(cases, key=lambda n: cases[n][2])  # least confident first
    assert by_confidence == [
        "unsure, only a generic text",
        "fairly sure and right",
        "confident, holds add_across",
    ]
    # The confident student is first by Û: the remedy of its diagnosed misconception.
    assert by_utility == [
        "confident, holds add_across",
        "unsure, only a generic text",
        "fairly sure and right",
    ]
    tau = kendalltau([utility[n] for n in cases], [-cases[n][2] for n in cases])[0]
    assert tau == pytest.approx(-1 / 3)  # two pairs of three disagree


def test_the_model_never_receives_the_learner_s_parameters() -> None:
    # Structurally: nothing that builds or fits it takes a LearnerProfile or a learner;
    # what it learns from are Seen answers and Told texts.
    for fn in (EstimatingMentalModel.__init__, fit_mental_params):
        named = " ".join(str(h) for h in typing.get_type_hints(fn).values())
        assert "LearnerProfile" not in named and "SimulatedLearner" not in named
    histories = str(typing.get_type_hints(fit_mental_params)["histories"])
    assert "mental_model.Seen | personas.minds.mental_model.Told" in histories
    assert list(inspect.signature(EstimatingMentalModel).parameters) == [
        "items",
        "reader",
        "params",
    ]
    assert list(inspect.signature(fit_mental_params).parameters) == [
        "histories",
        "items",
        "reader",
        "start",
    ]


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(UserError, match=r"MentalParams.slip must be in \[0, 1\], got 2"):
        MentalParams(slip=2)
    with pytest.raises(UserError, match="needs at least one observed answer"):
        fit_mental_params([[Told("hi")]], ITEMS, READER)
    with pytest.raises(UserError, match="history 0 has an answer to unknown item 'item:x'"):
        fit_mental_params([[Seen("item:x", "1")]], ITEMS, READER)
    with pytest.raises(UserError, match="does not know item 'item:x'"):
        model().predict("item:x")
    with pytest.raises(UserError, match="at least one item"):
        EstimatingMentalModel({}, READER)
    one = {"i": LearnerItem("i", "s", "1")}
    assert math.isclose(EstimatingMentalModel(one, READER).predict("i"), 0.3 * 0.9 + 0.7 * 0.2)
