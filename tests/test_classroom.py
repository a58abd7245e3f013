"""The classroom simulation (MAIC / SimClass): the lesson script from the knowledge graph,
the director's protocol, the teacher's theory of mind, the reviewer gate, a human student,
replay, and the LLM path. Every result here is a simulation's."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agents import Runtime
from agents.classroom import (
    ClassroomConfig,
    StudentSpec,
    build_classroom,
    classroom_budget,
    lesson_names,
    lesson_script,
    roster,
    run_classroom,
    start_message,
)
from knowledge_graph.builders import sample_curriculum
from protocols import LessonStep, Mastery, Stop, UserError, transcript

SNAPSHOT = Path(__file__).parent / "snapshots" / "classroom_2_students_seed0.jsonl"


def small(**changes: object) -> ClassroomConfig:
    """Two simulated students, every role present, a few turns."""
    base: dict[str, object] = {"students": tuple(roster(2)), "turns": 20, "seed": 0}
    return ClassroomConfig.model_validate(base | changes)


def test_the_script_follows_prerequisites_and_quizzes_each_concept() -> None:
    kg = sample_curriculum()
    assert lesson_names(kg) == ["fractions", "linear_equations"]
    steps = [(s.step, s.skill, s.items) for s in lesson_script(kg, "fractions").steps]
    quiz = ("item:frac-add-1", "item:frac-add-2", "item:frac-sub-1", "item:frac-mul-1")
    assert steps == [
        ("quiz", None, quiz),
        ("explain", "skill:equivalent_fractions", ()),
        ("explain", "skill:common_denominator", ()),
        ("explain", "skill:fraction_addition", ()),
        ("ask", "skill:fraction_addition", ("item:frac-add-1",)),
        ("practice", "skill:fraction_addition", ("item:frac-add-1", "item:frac-add-2")),
        ("explain", "skill:fraction_multiplication", ()),
        ("ask", "skill:fraction_multiplication", ("item:frac-mul-1",)),
        ("practice", "skill:fraction_multiplication", ("item:frac-mul-1",)),
        ("explain", "skill:fraction_subtraction", ()),
        ("ask", "skill:fraction_subtraction", ("item:frac-sub-1",)),
        ("practice", "skill:fraction_subtraction", ("item:frac-sub-1",)),
        ("quiz", None, quiz),
    ]
    linear = lesson_script(kg, "concept:linear_equations")
    concepts = list(dict.fromkeys(s.concept for s in linear.steps))
    assert concepts == ["concept:fractions", "concept:linear_equations"]
    assert linear.skills()[-3:] == [
        "skill:inverse_operations",
        "skill:one_step_equations",
        "skill:two_step_equations",
    ]
    with pytest.raises(UserError, match=r"unknown lesson 'algebra'.*fractions, linear_equations"):
        lesson_script(kg, "algebra")


async def test_the_whole_transcript_of_a_small_classroom() -> None:
    """Every message of a two-student classroom (seed 0, 20 turns), as a typed transcript.
    To update after a deliberate change, run with LYCEUM_UPDATE_SNAPSHOTS=1."""
    result = await run_classroom(small(), runtime=Runtime())
    lines = [json.dumps(m, sort_keys=True) for m in transcript(result.messages)]
    if os.environ.get("LYCEUM_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text("\n".join(lines) + "\n")
    assert lines == SNAPSHOT.read_text().splitlines()
    last = result.messages[-1]
    assert isinstance(last, Stop) and last.sender == "director"
    # A short lesson still measures: the director jumped to the closing quiz.
    assert (result.reason, result.detail) == ("completed", "lesson finished: 13 steps in 20 turns")
    steps = [m for m in result.messages if isinstance(m, LessonStep)]
    assert [s.step for s in steps][-1] == "quiz"
    sources = {(m.source, m.step) for m in result.messages if isinstance(m, Mastery)}
    kinds = ("quiz", "teacher_model", "simulated_truth")
    assert sources == {(s, i) for s in kinds for i in (0, 12)}


async def test_same_seed_same_transcript_other_seed_another() -> None:
    runtime = Runtime()
    first = await run_classroom(small(seed=3), runtime=runtime)
    again = await run_classroom(small(seed=3), runtime=runtime)
    other = await run_classroom(small(seed=4), runtime=runtime)
    assert first.transcript() == again.transcript()
    assert first.transcript() != other.transcript()


def test_the_budget_leaves_ending_to_the_director() -> None:
    config = ClassroomConfig(students=(StudentSpec(name="ada", profile="novice"),), turns=40)
    budget = classroom_budget(config)
    assert budget.turns > 40 * 10 and budget.seconds == config.seconds
    graph = build_classroom(config)
    assert start_message(config).recipients == ("director",)
    assert graph.source is not None
    assert graph.source["factory"] == "agents.classroom.graph:build_classroom_graph"
