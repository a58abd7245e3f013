"""The offline demo (``make demo``): the teacher persona, the rubric reviewer and simulated
students, composed as a user would; its summary read back from the store; its runs replayed."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents import Budget, Runtime
from agents.cli.render import render_message
from agents.demo import build_lesson_graph, start_message
from agents.demo.summary import FirstWrongAnswer, LessonSummary, lesson_summary
from agents.store import SqlRunStore
from knowledge_graph.builders import sample_curriculum
from personas import Persona, RubricReviewer, SimulatedStudent, SimulatedTeacherMind

SNAPSHOT = Path(__file__).parent / "snapshots" / "demo_lesson_novice_seed0.txt"
BUDGET = Budget(turns=200, model_calls=50, seconds=60)


def test_the_demo_composes_the_library_s_own_pieces() -> None:
    graph = build_lesson_graph("novice", seed=0)
    teacher, reviewer, student = (graph.agents[n] for n in ("teacher", "reviewer", "student"))
    assert isinstance(teacher, Persona) and isinstance(teacher.mind, SimulatedTeacherMind)
    assert isinstance(reviewer, RubricReviewer) and isinstance(student, SimulatedStudent)
    assert graph.to_mermaid().splitlines()[5:] == [
        "    teacher -->|Question| student",
        "    teacher -->|Explanation, Hint| reviewer",
        "    teacher -->|Explanation, TaskResult| lesson",
        "    reviewer -->|Explanation, Hint| student",
        "    reviewer -->|Review| teacher",
        "    student -->|Answer| teacher",
        "    lesson -->|Question| teacher",
    ]


async def test_the_whole_transcript_of_a_demo_run() -> None:
    """Every message of the novice's lesson (seed 0), as ``lyceum runs show`` prints it. To
    update after a deliberate change, write ``render_message`` of each message to the file."""
    result = await Runtime().run(
        build_lesson_graph("novice", seed=0), start_message(), budget=BUDGET, seed=0
    )
    lines = [render_message(m) for m in result.messages]
    assert lines == SNAPSHOT.read_text().splitlines()


@pytest.mark.parametrize(
    ("profile", "seed", "expected"),
    [
        ("novice", 0, (4, 6, 51, 4, 4)),
        ("overconfident", 1, (1, 7, 78, 8, 8)),
        ("strong", 2, (6, 7, 33, 1, 1)),
    ],
)
async def test_the_summary_is_read_from_the_store_and_the_run_replays_identically(
    profile: str, seed: int, expected: tuple[int, ...], tmp_path: Path
) -> None:
    db = str(tmp_path / "demo.db")
    run = await Runtime(db).run(
        build_lesson_graph(profile, seed=seed), start_message(), budget=BUDGET, seed=seed
    )
    first, last, turns, reviews, approved = expected
    with SqlRunStore(db) as store:  # a fresh store: only what was written counts
        summary = lesson_summary(store, run.run_id, sample_curriculum())
    assert summary == LessonSummary(
        run_id=run.run_id,
        stop="completed",
        items=7,
        right_first=first,
        right_last=last,
        turns=turns,
        model_calls=0,
        reviews=reviews,
        approved=approved,
    )
    report = await Runtime(db).replay(run.run_id, build_lesson_graph(profile, seed=seed))
    assert report.identical and report.result.transcript() == run.transcript()


async def test_the_live_view_shows_think_and_plan_for_the_first_wrong_answer_only() -> None:
    result = await Runtime().run(
        build_lesson_graph("novice", seed=0), start_message(), budget=BUDGET, seed=0
    )
    view = FirstWrongAnswer(sample_curriculum())
    shown = [m for m in result.messages if view.shows(m)]
    reasoning = [m for m in shown if m.kind in ("thought", "plan")]
    assert [render_message(m) for m in reasoning] == [
        "teacher → user  Thought: student: applies a wrong rule consistently "
        "(misconception:add_across). Guideline: clarify the misunderstanding.",
        "teacher → user  Plan: other → explain_concept → clarify_misunderstanding; move focus; "
        "decided by the rule table"
        "  [tools: calculator, bridge_decision, teacher_moves]",
    ]
    wrong = next(m for m in result.messages if m.id == reasoning[0].parent_id)
    assert render_message(wrong) == "student → teacher  Answer: 2/9  (confidence 0.31)"
    assert len(shown) == len(result.messages) - sum(
        m.kind in ("thought", "plan") for m in result.messages
    ) + len(reasoning)


def test_the_demo_starts_with_a_classroom_and_its_report(tmp_path: Path) -> None:
    """`make demo`: a 4-student, 40-turn simulated classroom with its HTML report, then the
    tutoring lessons; every run in the store."""
    from click.testing import CliRunner

    from agents.classroom import ClassroomConfig, classroom_view, report_label, roster
    from agents.cli import main

    db, out = tmp_path / "demo.db", tmp_path / "reports"
    args = ["demo", "--db", str(db), "--out", str(out), "--profiles", "strong", "--quiet"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    config = ClassroomConfig(students=tuple(roster(4)), turns=40, seed=0)
    lines = result.output.splitlines()
    assert lines[0] == report_label(config) and "SIMULATION" in lines[0]
    order = [
        "classroom: fractions, 4 simulated students, 40 turns (seed 0)",
        "Classroom mastery (simulated students: a simulation, not LLMs)",
        "Report: ",
        "SIMULATION: no LLM and no model call. The teacher is a persona",
        "Demo summary (simulated students, not LLMs; read from the store)",
    ]
    where = [result.output.index(text) for text in order]
    assert where == sorted(where)
    with SqlRunStore(str(db)) as store:
        tutoring, classroom = store.list_runs()  # newest first
        messages = store.messages(classroom.id)
    assert classroom.graph_source is not None and tutoring.graph_source is not None
    assert classroom.graph_source["factory"] == "agents.classroom.graph:build_classroom_graph"
    assert classroom.graph_source["kwargs"]["config"] == config.model_dump(mode="json")
    assert tutoring.graph_source["factory"] == "agents.demo.lesson:build_lesson_graph"
    assert classroom.status == tutoring.status == "completed"
    view = classroom_view(messages)
    assert view.students == ("ada", "ben", "cleo", "dev")
    assert all(len(row.quizzes) >= 2 for row in view.summary())  # before and after teaching
    report = out / f"classroom-{classroom.id[:12]}.html"
    assert f"Report: {report}" in lines
    assert report.read_text().count('src="data:image/png;base64,') == 2
