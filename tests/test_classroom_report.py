"""The classroom's outputs from a run's messages: the view (steps, transcript rows, mastery
over time, reviews), the plots and the self-contained HTML report. The messages here are
written by hand to the classroom's message conventions (docs/classroom.md), so these tests
pin what each output makes of them; tests/test_classroom_cli.py runs a real classroom."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import pytest

from agents.classroom import (
    ClassroomConfig,
    MasteryMean,
    ModelEndpoint,
    RoleMinds,
    StepRow,
    StudentSpec,
    StudentSummary,
    classroom_view,
)
from agents.classroom.plots import (
    classroom_plots,
    estimate_figure,
    png_bytes,
    quiz_figure,
)
from agents.classroom.report import report_label, write_classroom_report
from agents.cli.render import render_message
from protocols import (
    Answer,
    Envelope,
    Explanation,
    LessonStep,
    Mastery,
    Plan,
    Question,
    Remark,
    Review,
    Stop,
    TaskAssignment,
    Thought,
)

FRACTIONS = "concept:fractions"
ADD, SIMPLIFY = "skill:add_unlike", "skill:simplify"


def lesson() -> list[Envelope]:
    """A short classroom run: explain, ask, quiz; two students; the reviewer on."""
    explanation = Explanation(
        sender="teacher", to=["reviewer"], text="Find a common denominator first."
    )
    wrong = Explanation(sender="teacher", to=["reviewer"], text="Add tops and bottoms.")
    return [
        TaskAssignment(sender="user", to=["director"], task="teach fractions"),
        LessonStep(
            sender="director", to=["user"], index=0, step="explain", concept=FRACTIONS, skill=ADD
        ),
        Thought(
            sender="teacher",
            to=["user"],
            about="ada",
            knowledge="shaky",
            misconception="misconception:add_across",
            guideline="remedy add_across",
        ),
        Plan(sender="teacher", to=["user"], rationale="explain the remedy"),
        explanation,
        Review(sender="reviewer", to=["teacher"], approved=True, reviewed_id=explanation.id),
        explanation.model_copy(update={"sender": "reviewer", "recipients": ("ada", "ben")}),
        wrong,
        Review(
            sender="reviewer",
            to=["teacher"],
            approved=False,
            critique="misleading",
            issues=("adds denominators",),
            reviewed_id=wrong.id,
        ),
        Remark(sender="class_clown", to=["teacher"], text="<b>pizza</b> fractions!"),
        LessonStep(
            sender="director",
            to=["user"],
            index=1,
            step="ask",
            concept=FRACTIONS,
            skill=ADD,
            items=("item:a1",),
        ),
        Question(sender="inquisitive_mind", to=["teacher"], text="Why a common denominator?"),
        LessonStep(
            sender="director",
            to=["user"],
            index=2,
            step="quiz",
            concept=FRACTIONS,
            items=("item:a1", "item:s1"),
        ),
        Question(sender="director", to=["ada"], text="1/3 + 1/6?", item_id="item:a1"),
        Answer(sender="ada", to=["director"], text="2/9", item_id="item:a1", confidence=0.4),
        Mastery(
            sender="director",
            to=["user"],
            student="ada",
            source="quiz",
            step=2,
            values={ADD: 0.0, SIMPLIFY: 1.0},
        ),
        Mastery(
            sender="director",
            to=["user"],
            student="ben",
            source="quiz",
            step=2,
            values={ADD: 1.0, SIMPLIFY: 1.0},
        ),
        Mastery(
            sender="teacher",
            to=["user"],
            student="ada",
            source="teacher_model",
            step=2,
            values={ADD: 0.3, SIMPLIFY: 0.7},
        ),
        Mastery(
            sender="teacher",
            to=["user"],
            student="ben",
            source="teacher_model",
            step=2,
            values={ADD: 0.6, SIMPLIFY: 0.8},
        ),
        Mastery(
            sender="ada",
            to=["user"],
            student="ada",
            source="simulated_truth",
            step=2,
            values={ADD: 0.2, SIMPLIFY: 0.6, "skill:compare": 0.5},
        ),
        Mastery(
            sender="ben",
            to=["user"],
            student="ben",
            source="simulated_truth",
            step=2,
            values={ADD: 0.9, SIMPLIFY: 0.9},
        ),
        LessonStep(sender="director", to=["user"], index=3, step="quiz", concept=FRACTIONS),
        Mastery(
            sender="director", to=["user"], student="ada", source="quiz", step=3, values={ADD: 0.5}
        ),
        Mastery(
            sender="teacher",
            to=["user"],
            student="ada",
            source="teacher_model",
            step=3,
            values={ADD: 0.5},
        ),
        Stop(sender="director", to=["user"], detail="end of the script"),
    ]


def config(**changes: object) -> ClassroomConfig:
    base = ClassroomConfig(
        students=(StudentSpec(name="ada", profile="novice"), StudentSpec(name="ben")),
        reviewer=True,
        turns=10,
    )
    return base.model_copy(update=changes)


def test_the_view_of_a_run() -> None:
    messages = lesson()
    view = classroom_view(messages)
    assert view.lesson == "fractions" and view.stop == "completed: end of the script"
    assert view.steps == (
        StepRow(0, "explain", FRACTIONS, ADD, (), 1),
        StepRow(1, "ask", FRACTIONS, ADD, ("item:a1",), 10),
        StepRow(2, "quiz", FRACTIONS, None, ("item:a1", "item:s1"), 12),
        StepRow(3, "quiz", FRACTIONS, None, (), 21),
    )
    assert [(r.position, r.step, r.kind, r.reasoning) for r in view.rows[:5]] == [
        (0, None, "task_assignment", False),
        (1, 0, "lesson_step", False),
        (2, 0, "thought", True),
        (3, 0, "plan", True),
        (4, 0, "explanation", False),
    ]
    assert [(r.sender, r.kind, r.text) for r in view.rows] == [
        ("user", "task_assignment", "teach fractions"),
        ("director", "lesson_step", "step 0: explain fractions / add_unlike"),
        (
            "teacher",
            "thought",
            "ada: shaky (misconception:add_across). Guideline: remedy add_across.",
        ),
        ("teacher", "plan", "explain the remedy"),
        ("teacher", "explanation", "Find a common denominator first."),
        ("reviewer", "review", "approved"),
        ("reviewer", "explanation", "Find a common denominator first."),
        ("teacher", "explanation", "Add tops and bottoms."),
        ("reviewer", "review", "changes requested: misleading"),
        ("class_clown", "remark", "<b>pizza</b> fractions!"),
        ("director", "lesson_step", "step 1: ask fractions / add_unlike  [items: item:a1]"),
        ("inquisitive_mind", "question", "Why a common denominator?"),
        ("director", "lesson_step", "step 2: quiz fractions  [items: item:a1, item:s1]"),
        ("director", "question", "1/3 + 1/6?"),
        ("ada", "answer", "2/9  (confidence 0.40)"),
        ("director", "mastery", "ada at step 2 (quiz): add_unlike 0.00, simplify 1.00"),
        ("director", "mastery", "ben at step 2 (quiz): add_unlike 1.00, simplify 1.00"),
        ("teacher", "mastery", "ada at step 2 (teacher_model): add_unlike 0.30, simplify 0.70"),
        ("teacher", "mastery", "ben at step 2 (teacher_model): add_unlike 0.60, simplify 0.80"),
        (
            "ada",
            "mastery",
            "ada at step 2 (simulated_truth): add_unlike 0.20, compare 0.50, simplify 0.60",
        ),
        ("ben", "mastery", "ben at step 2 (simulated_truth): add_unlike 0.90, simplify 0.90"),
        ("director", "lesson_step", "step 3: quiz fractions"),
        ("director", "mastery", "ada at step 3 (quiz): add_unlike 0.50"),
        ("teacher", "mastery", "ada at step 3 (teacher_model): add_unlike 0.50"),
        ("director", "stop", "completed: end of the script"),
    ]
    assert len(view.rows) == len(messages) and view.rows[-1].step == 3
    assert view.students == ("ada", "ben")
    assert view.verdicts() == {"approved": 1, "changes requested": 1}
    first, second = view.reviews
    assert (first.reviewed, first.step, second.critique, second.issues) == (
        "Find a common denominator first.",
        0,
        "misleading",
        ("adds denominators",),
    )
    assert view.means("quiz") == [
        MasteryMean("ada", "quiz", 2, 0.5, (ADD, SIMPLIFY)),
        MasteryMean("ben", "quiz", 2, 1.0, (ADD, SIMPLIFY)),
        MasteryMean("ada", "quiz", 3, 0.5, (ADD,)),
    ]
    assert len(view.mastery) == 15 and view.kind_counts()["mastery"] == 8


def test_the_teacher_s_estimate_against_the_truth() -> None:
    view = classroom_view(lesson())
    # step 2: ada |.3-.2|, |.7-.6|; ben |.6-.9|, |.8-.9| (skill:compare has no estimate)
    ((step, gap),) = view.estimate_gap()
    assert step == 2 and gap == pytest.approx((0.1 + 0.1 + 0.3 + 0.1) / 4)
    assert view.estimate_gap("ben") == [(2, pytest.approx(0.2))]
    # ada's truth is averaged over the skills the estimate covers too; step 3 has no truth
    assert view.estimate_series("ada") == [
        (2, pytest.approx(0.5), pytest.approx(0.4)),
        (3, pytest.approx(0.5), None),
    ]
    assert view.estimate_series("nobody") == []
    assert view.summary() == [
        StudentSummary("ada", (0.5, 0.5), 0.5, pytest.approx(0.4)),
        StudentSummary("ben", (1.0,), pytest.approx(0.7), pytest.approx(0.9)),
    ]
    assert view.summary()[1].last_quiz == 1.0


def test_new_message_kinds_read_as_one_line() -> None:
    step, remark, mastery = lesson()[10], lesson()[9], lesson()[19]
    assert render_message(step) == (  # type: ignore[arg-type]
        "director → user  LessonStep: step 1: ask fractions / add_unlike  [items: item:a1]"
    )
    assert render_message(remark) == (  # type: ignore[arg-type]
        "class_clown → teacher  Remark: <b>pizza</b> fractions!"
    )
    assert render_message(mastery) == (  # type: ignore[arg-type]
        "ada → user  Mastery: ada at step 2 (simulated_truth): "
        "add_unlike 0.20, compare 0.50, simplify 0.60"
    )


def test_every_message_kind_reads_as_one_line_not_a_dict() -> None:
    """No kind falls through to its raw content dict (the Runs page showed a patient's
    words as ``{'kind': 'patient_utterance', ...}``)."""
    from protocols import Handoff, PatientUtterance, ToolCall, ToolResult
    from protocols.text import message_text

    assert message_text(PatientUtterance(text="I'm okay.", style="upset")) == "I'm okay.  [upset]"
    assert message_text(PatientUtterance(text="Fine.")) == "Fine."
    assert message_text(ToolCall(tool="calculator", arguments={"expression": "1/2"})) == (
        "calculator(expression='1/2')"
    )
    assert message_text(ToolResult(call_id="c", tool="calculator", output="1/2")) == (
        "calculator → '1/2'"
    )
    assert message_text(ToolResult(call_id="c", tool="calculator", error="bad")) == (
        "calculator failed: bad"
    )
    assert message_text(Handoff(target="expert", reason="needs a proof")) == (
        "to expert: needs a proof"
    )


def test_the_plots_draw_what_the_view_holds() -> None:
    view = classroom_view(lesson())
    quiz = quiz_figure(view)
    (ax,) = quiz.axes
    lines = {line.get_label(): line.get_xydata().tolist() for line in ax.lines}
    assert lines == {"ada": [[2.0, 0.5], [3.0, 0.5]], "ben": [[2.0, 1.0]]}
    estimate = estimate_figure(view)
    ada, ben = estimate.axes[:2]
    assert [ax.get_title() for ax in estimate.axes[:2]] == ["ada", "ben"]
    assert {line.get_label(): line.get_xydata().tolist() for line in ada.lines} == {
        "teacher's estimate": [[2.0, pytest.approx(0.5)], [3.0, 0.5]],
        "simulated truth": [[2.0, pytest.approx(0.4)]],
        "quiz": [[2.0, 0.5], [3.0, 0.5]],
    }
    assert len(ben.lines) == 3
    one, two = classroom_plots(view), classroom_plots(view)
    assert [p.png for p in one] == [p.png for p in two]  # the same view, the same bytes
    assert all(p.png.startswith(b"\x89PNG\r\n\x1a\n") for p in one)


def test_plots_of_a_run_with_no_quiz_yet() -> None:
    view = classroom_view(lesson()[:5])
    assert quiz_figure(view).axes[0].texts[0].get_text() == "no quiz yet"
    assert estimate_figure(view).axes[0].texts[0].get_text() == "no estimate yet"
    assert png_bytes(quiz_figure(view)).startswith(b"\x89PNG")


def test_the_report_is_one_self_contained_html_file(tmp_path: Path) -> None:
    messages = lesson()
    report = write_classroom_report(messages, config(), "r" * 32, tmp_path / "out")
    assert report.html == tmp_path / "out" / "classroom-rrrrrrrrrrrr.html"
    text = report.html.read_text()
    assert list((tmp_path / "out").iterdir()) == [report.html]
    assert "<title>lyceum classroom: fractions</title>" in text
    assert f'<p class="label">{html.escape(report_label(config()))}</p>' in text
    assert report_label(config()).startswith("SIMULATION: every mind in this classroom")
    assert "<code>" + "r" * 32 + "</code>" in text
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)">', text)
    assert [alt for alt, _ in images] == [p.title.replace("'", "&#39;") for p in report.plots]
    assert [base64.b64decode(data) for _, data in images] == [p.png for p in report.plots]
    assert not re.search(r'(src|href)="(?!data:)', text)  # nothing to fetch
    assert "1 approved, 1 changes requested" in text
    assert text.count("<tr><td>ada</td>") == 2  # roster and final mastery
    assert (
        "student (novice; misconceptions: add_across, same_operation, divide_first (its "
        "profile&#39;s))" in text
    )
    assert "student (average; misconceptions: subtract_across (its profile&#39;s))" in text
    assert "&lt;b&gt;pizza&lt;/b&gt; fractions!" in text and "<b>pizza</b>" not in text
    assert text.count("<details><summary>Think</summary>") == 1
    assert text.count('<tr class="step">') == 4 and text.count('<tr class="observer">') == 8
    assert text.count('<td class="kind">') == len(messages)
    assert "step 2: 0.150" in text  # the estimate gap


def test_the_label_names_the_roles_on_an_llm() -> None:
    endpoint = ModelEndpoint(base_url="http://user:secret@localhost:8000/v1", model="tiny")
    assert report_label(config(model=endpoint)) == (
        "SIMULATION (students): The teacher, the teaching assistant and the classmates run on "
        "the LLM tiny at http://user:***@localhost:8000/v1; the students are simulated "
        "learners, so their quiz scores and the 'simulated truth' describe the simulation, "
        "not LLMs."
    )
    only = config(
        model=endpoint, minds=RoleMinds(teaching_assistant="simulated", classmates="simulated")
    )
    assert report_label(only).startswith("SIMULATION (students): The teacher runs on the LLM")
