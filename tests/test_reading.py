"""The reading model: what a text does to a simulated learner follows from the text,
grounded in the sample curriculum, never from labels. Simulation, not LLM results."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge_graph.builders import sample_curriculum
from personas import LearnerProfile, Reading, ReadingModel, ReadingParams, SimulatedStudent
from protocols import Answer, Explanation, Hint, Question, UserError

KG = sample_curriculum()
MODEL = ReadingModel(KG)
ADD = "misconception:add_across"
REMEDY = str(KG.node("explanation:x-common-denominator").properties["text"])  # type: ignore[union-attr]
WRONG_RULE = str(KG.node(ADD).properties["description"])  # type: ignore[union-attr]
GENERIC = "Add fractions by rewriting them over a common denominator, then adding numerators."
PARAPHRASE = (
    "When the denominators differ, first rewrite both fractions as sixths; then only the "
    "tops are added, since the bottom just says how big each part is."
)
JUNK = "Bananas are yellow."
N = 1500


def test_irrelevant_text_does_nothing() -> None:
    assert MODEL.read(JUNK) == Reading()
    assert MODEL.read("Let's try it again.") == Reading()


def test_text_stating_the_wrong_rule_implants_it_and_teaches_nothing_of_its_skill() -> None:
    wrong = MODEL.read(WRONG_RULE)
    assert wrong.implants == {ADD: pytest.approx(0.8)}
    assert "skill:fraction_addition" not in wrong.teaches and ADD not in wrong.remedies
    # The same wrong result in other words implants it as well: the arithmetic decides.
    assert MODEL.read("Here is the rule: 1/3 + 1/6 = 2/9.").implants == {ADD: pytest.approx(0.8)}
    # The wrong rule on another example: partly, as far as the words state the rule.
    other = MODEL.read("Add the numerators and add the denominators: 1/4 + 1/4 = 2/8.")
    assert 0 < other.implants[ADD] < 0.8
    # Marked as wrong, the same result refutes the misconception instead.
    refuted = MODEL.read("1/3 + 1/6 = 2/9 is wrong: never add the denominators.")
    assert refuted.implants == {} and refuted.remedies[ADD] >= 0.5


def test_telling_reveals_the_answer_but_teaches_nothing() -> None:
    told = MODEL.read("The answer is 1/2.")
    assert told.teaches == {} and told.remedies == {} and told.implants == {}
    assert told.reveals["item:frac-add-1"] == "1/2"
    bare = MODEL.read("1/3 + 1/6 = 1/2.")  # the result without the steps: still telling
    assert bare.teaches == {} and bare.reveals == {"item:frac-add-1": "1/2"}


def test_a_remedy_is_read_by_its_content_so_paraphrases_work_partly() -> None:
    full = MODEL.read(REMEDY)
    assert full.remedies[ADD] > 0.8 and full.teaches["skill:fraction_addition"] == 1.0
    paraphrase = MODEL.read(PARAPHRASE)
    assert 0.1 < paraphrase.remedies[ADD] < full.remedies[ADD]
    generic = MODEL.read(GENERIC)
    assert generic.remedies[ADD] < full.remedies[ADD]
    # No lookup of the node's exact string: its words in another order, or with an
    # unrelated sentence added, read the same.
    shuffled = " ".join(reversed(REMEDY.split(". ")))
    assert MODEL.read(shuffled).remedies[ADD] == pytest.approx(full.remedies[ADD])
    assert MODEL.read(f"{REMEDY} {JUNK}") == full
    small = ReadingModel(KG, cache=1)  # a bounded cache forgets, and reads the same again
    assert [small.read(t) for t in (REMEDY, JUNK, REMEDY)] == [full, Reading(), full]


def student(**profile: float) -> SimulatedStudent:
    return SimulatedStudent(
        "s",
        KG,
        LearnerProfile(**profile),
        misconceptions=[ADD],
        reading=MODEL,
    )


async def session(text: str | None, seed: int, targets: tuple[str, ...] = ()) -> list[str]:
    """Ask frac-add-1, explain (if any), ask it again, then ask frac-add-2 (held out)."""
    s = SimulatedStudent(
        "s", KG, LearnerProfile(prior=0.3), seed=seed, misconceptions=[ADD], reading=MODEL
    )
    ctx = SimpleNamespace(state=s.new_state())
    said = []
    for item in ["item:frac-add-1", "explain", "item:frac-add-1", "item:frac-add-2"]:
        if item == "explain":
            if text is not None:
                await s.handle(Explanation(sender="t", text=text, targets=targets), ctx)
            continue
        (reply,) = await s.handle(Question(sender="t", text="?", item_id=item), ctx)
        assert isinstance(reply, Answer)
        said.append(reply.text)
    return said


async def rates(text: str | None, targets: tuple[str, ...] = ()) -> tuple[float, float]:
    """P(correct) on the re-ask and on the held-out item, over N seeded students."""
    now = later = 0
    for seed in range(N):
        _, again, held_out = await session(text, seed, targets)
        now += again == "1/2"
        later += held_out == "1/2"
    return now / N, later / N


async def test_labels_decide_nothing_same_targets_and_junk_text_change_nothing() -> None:
    targets = ("skill:fraction_addition", ADD, "promotes:" + ADD)
    for seed in range(200):  # the exact same answers, student by student
        assert await session(JUNK, seed, targets) == await session(None, seed)
    right = await rates(REMEDY)
    assert right == await rates(REMEDY, targets)  # targets add nothing to the right text
    none = await rates(None)
    assert right[1] > none[1] + 0.2  # the right text, without any targets, teaches


async def test_targeted_beats_generic_beats_none_and_telling_is_not_teaching() -> None:
    none, generic, targeted = await rates(None), await rates(GENERIC), await rates(REMEDY)
    told = await rates("The answer is 1/2.")
    wrong = await rates(WRONG_RULE)
    assert none[1] < generic[1] - 0.03 < targeted[1] - 0.06
    assert told[0] > 0.85 and told[1] == pytest.approx(none[1], abs=0.03)  # now, not later
    assert wrong[1] <= none[1] + 0.01  # already holds it: no help, re-ask says 2/9 again


async def test_a_hint_is_read_too() -> None:
    s = student(prior=0.0, guess=0.0, slip=0.0, misconception_rate=1.0, learn=1.0)
    ctx = SimpleNamespace(state=s.new_state())
    await s.handle(Question(sender="t", text="?", item_id="item:frac-add-1"), ctx)
    (junk,) = await s.handle(Hint(sender="t", text=JUNK, item_id="item:frac-add-1"), ctx)
    assert isinstance(junk, Answer) and junk.text == "2/9"
    hint = Hint(sender="t", text=REMEDY, item_id="item:frac-add-1")
    answers = []
    for seed in range(100):
        learner = s.new_state()
        learner.rng = random.Random(seed)
        ctx = SimpleNamespace(state=learner)
        (reply,) = await s.handle(hint, ctx)
        assert isinstance(reply, Answer)
        answers.append(reply.text)
    assert 0.6 < answers.count("1/2") / 100 < 1.0  # removed w.p. ≈ .86, then learnt


def test_bad_reading_params_are_clear_errors() -> None:
    with pytest.raises(UserError, match=r"ReadingParams.implant must be in \[0, 1\], got 2"):
        ReadingParams(implant=2)
    with pytest.raises(UserError, match="Skill nodes"):
        ReadingModel(type(KG)()).read("text")


def test_what_the_arithmetic_channel_reads_of_real_misconception_data() -> None:
    import os
    from pathlib import Path

    from agents.eval.coverage import Coverage, arithmetic_coverage
    from knowledge_graph.builders import load_misconception_records
    from tests.conftest import require

    data = os.environ.get("LYCEUM_DATA_DIR", "")
    require(
        bool(data) and (Path(data) / "misconceptions" / "data.json").is_file(),
        "LYCEUM_DATA_DIR is not set (misconceptions/data.json of the shared data)",
    )
    # Reported in docs/simulation.md ("What the data can and cannot calibrate").
    assert arithmetic_coverage(load_misconception_records(data)) == Coverage(110, 29, 21, 16)


UNCACHED = ReadingModel(KG, cache=1)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="0123456789/+-×=x .,aenswrig", max_size=60))
def test_any_text_reads_without_error_and_always_the_same(text: str) -> None:
    reading = UNCACHED.read(text)
    assert reading == MODEL.read(text)  # computed again, the same
    assert all(
        0 <= p <= 1
        for d in (reading.teaches, reading.remedies, reading.implants)
        for p in d.values()
    )
