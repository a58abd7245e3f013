"""What a classroom run shows, computed from its messages alone (pure: no store, no
runtime): the lesson steps, a readable transcript, every mastery figure (quiz scores, the
teacher's estimates, the simulated students' truth) with per-student means over the
steps, and the reviewer's verdicts.

The terminal (``lyceum classroom``), the HTML report and the Streamlit app all read a run
through ``classroom_view``, live (the messages so far) or from the store (a finished run).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import fmean

from protocols import (
    Envelope,
    LessonStep,
    LessonStepKind,
    Mastery,
    MasterySource,
    Plan,
    Review,
    Stop,
    TaskAssignment,
    Thought,
)
from protocols.text import message_text

__all__ = [
    "ClassroomView",
    "MasteryMean",
    "MasteryRow",
    "ReviewRow",
    "StepRow",
    "StudentSummary",
    "TranscriptRow",
    "classroom_view",
]


@dataclass(frozen=True)
class StepRow:
    """A lesson step the director began (a ``LessonStep``).

    Attributes:
        index: Its position in the script, from 0.
        step: explain, ask, practice or quiz.
        concept: The concept node.
        skill: The skill node, or None (a quiz over the concept).
        items: The item nodes it uses.
        position: Where its ``LessonStep`` stands in the run's messages.
    """

    index: int
    step: LessonStepKind
    concept: str
    skill: str | None
    items: tuple[str, ...]
    position: int


@dataclass(frozen=True)
class TranscriptRow:
    """One message as people read it.

    Attributes:
        position: Its index in the run's messages.
        sender: Who sent it.
        recipients: To whom.
        kind: The message kind tag (``"explanation"``, ``"remark"``, …).
        text: Its content as one line (``protocols.text.message_text``).
        step: The lesson step under way when it was sent, or None before the first.
        reasoning: Whether it is a persona's Think or Plan (shown on demand).
    """

    position: int
    sender: str
    recipients: tuple[str, ...]
    kind: str
    text: str
    step: int | None
    reasoning: bool


@dataclass(frozen=True)
class MasteryRow:
    """One mastery figure: ``student``'s mastery of ``skill`` at step ``step``, by
    ``source`` (quiz score, the teacher's estimate, or a simulated student's truth)."""

    student: str
    source: MasterySource
    step: int
    skill: str
    value: float


@dataclass(frozen=True)
class MasteryMean:
    """The mean of one ``Mastery`` message's values over the skills it covers.

    Attributes:
        student: Whom it is about.
        source: Who measured or estimated it.
        step: The lesson step.
        mean: The mean over ``skills``.
        skills: The skills averaged.
    """

    student: str
    source: MasterySource
    step: int
    mean: float
    skills: tuple[str, ...]


@dataclass(frozen=True)
class StudentSummary:
    """One student at the end of a run (or so far).

    Attributes:
        student: Its name.
        quizzes: Its quiz scores (mean over the quiz's skills), step by step.
        estimate: The teacher's last estimate of its mastery, or None.
        truth: Its last simulated true mastery, or None (not a simulated student, or not
            reported yet).
    """

    student: str
    quizzes: tuple[float, ...]
    estimate: float | None
    truth: float | None

    @property
    def last_quiz(self) -> float | None:
        """Its last quiz score, or None before its first quiz."""
        return self.quizzes[-1] if self.quizzes else None


@dataclass(frozen=True)
class ReviewRow:
    """A reviewer's verdict on something the teacher said.

    Attributes:
        position: Its index in the run's messages.
        reviewer: Who reviewed.
        approved: The verdict.
        critique: The reviewer's reason.
        issues: The issues it named.
        reviewed: The text it reviewed (when that message is in the run), else None.
        step: The lesson step under way.
    """

    position: int
    reviewer: str
    approved: bool
    critique: str
    issues: tuple[str, ...]
    reviewed: str | None
    step: int | None


@dataclass(frozen=True)
class ClassroomView:
    """A classroom run as the report, the terminal and the app show it.

    Attributes:
        lesson: The lesson the run was asked to teach (from its first ``TaskAssignment``
            "teach <lesson>"), or None.
        steps: The lesson steps begun, in order.
        rows: Every message as a transcript row.
        mastery: Every mastery figure, in the order reported.
        reviews: The reviewer's verdicts.
        stop: The run's ``Stop`` as text (reason: detail), or None while it runs.
        averages: One ``MasteryMean`` per ``Mastery`` message, in order (see ``means``).
    """

    lesson: str | None
    steps: tuple[StepRow, ...]
    rows: tuple[TranscriptRow, ...]
    mastery: tuple[MasteryRow, ...]
    reviews: tuple[ReviewRow, ...]
    stop: str | None
    averages: tuple[MasteryMean, ...] = ()

    @property
    def students(self) -> tuple[str, ...]:
        """The students with a mastery figure, in the order they first got one."""
        return tuple(dict.fromkeys(r.student for r in self.mastery))

    def means(
        self, source: MasterySource | None = None, student: str | None = None
    ) -> list[MasteryMean]:
        """Per-student means over the steps (one per ``Mastery`` message), optionally of
        one source and one student."""
        return [
            m
            for m in self.averages
            if (source is None or m.source == source) and (student is None or m.student == student)
        ]

    def verdicts(self) -> dict[str, int]:
        """How many reviews approved and how many asked for changes."""
        counts = Counter("approved" if r.approved else "changes requested" for r in self.reviews)
        return {"approved": counts["approved"], "changes requested": counts["changes requested"]}

    def estimate_gap(self, student: str | None = None) -> list[tuple[int, float]]:
        """(step, mean |teacher's estimate - simulated truth|) at each step where both were
        reported, over the skills both cover and the students (or ``student``) of that step.

        How close the teacher's theory of mind is to the simulation's truth; a simulation
        measure (the truth exists only for simulated students).
        """
        estimates = _by_key(self.mastery, "teacher_model", student)
        truths = _by_key(self.mastery, "simulated_truth", student)
        gaps: dict[int, list[float]] = {}
        for key in estimates.keys() & truths.keys():
            gaps.setdefault(key[1], []).append(abs(estimates[key] - truths[key]))
        return [(step, fmean(values)) for step, values in sorted(gaps.items())]

    def estimate_series(self, student: str) -> list[tuple[int, float | None, float | None]]:
        """(step, teacher's estimate, simulated truth) for ``student`` at each step where
        either was reported: means over the skills both cover at that step (each over its
        own skills when they share none)."""
        values: dict[tuple[str, int], dict[str, float]] = {}
        for row in self.mastery:
            if row.student == student:
                values.setdefault((row.source, row.step), {})[row.skill] = row.value
        estimates = {m.step: m for m in self.means("teacher_model", student)}
        truths = {m.step: m for m in self.means("simulated_truth", student)}
        out = []
        for step in sorted(estimates.keys() | truths.keys()):
            e, t = estimates.get(step), truths.get(step)
            shared = set(e.skills if e else ()) & set(t.skills if t else ())
            out.append(
                (
                    step,
                    _mean_over(e, values.get(("teacher_model", step), {}), shared),
                    _mean_over(t, values.get(("simulated_truth", step), {}), shared),
                )
            )
        return out

    def summary(self) -> list[StudentSummary]:
        """Per student (``students`` order): its quiz scores over the steps and the last
        estimate and truth (``estimate_series``)."""
        out = []
        for student in self.students:
            series = self.estimate_series(student)
            out.append(
                StudentSummary(
                    student,
                    tuple(m.mean for m in self.means("quiz", student)),
                    next((s[1] for s in reversed(series) if s[1] is not None), None),
                    next((s[2] for s in reversed(series) if s[2] is not None), None),
                )
            )
        return out

    def kind_counts(self) -> dict[str, int]:
        """How many messages of each kind, most frequent first."""
        return dict(Counter(r.kind for r in self.rows).most_common())


def _mean_over(m: MasteryMean | None, values: dict[str, float], skills: set[str]) -> float | None:
    if m is None:
        return None
    shared = [values[s] for s in sorted(skills) if s in values]
    return fmean(shared) if shared else m.mean


def _by_key(
    rows: Iterable[MasteryRow], source: MasterySource, student: str | None
) -> dict[tuple[str, int, str], float]:
    """(student, step, skill) → the last value reported by ``source``."""
    return {
        (r.student, r.step, r.skill): r.value
        for r in rows
        if r.source == source and (student is None or r.student == student)
    }


def _lesson(message: Envelope) -> str | None:
    if isinstance(message, TaskAssignment) and message.task.startswith("teach "):
        return message.task.removeprefix("teach ").strip() or None
    return None


def classroom_view(messages: Sequence[Envelope]) -> ClassroomView:
    """The view of a classroom run from its messages (all of them, or those sent so far).

    Messages of kinds the classroom does not use still get a transcript row.
    """
    lesson: str | None = None
    steps: list[StepRow] = []
    rows: list[TranscriptRow] = []
    mastery: list[MasteryRow] = []
    means: list[MasteryMean] = []
    reviews: list[ReviewRow] = []
    stop: str | None = None
    texts: dict[str, str] = {}
    current: int | None = None
    for i, message in enumerate(messages):
        lesson = lesson or _lesson(message)
        text = message_text(message)
        texts[message.id] = text
        match message:
            case LessonStep():
                current = message.index
                steps.append(
                    StepRow(
                        message.index,
                        message.step,
                        message.concept,
                        message.skill,
                        tuple(message.items),
                        i,
                    )
                )
            case Mastery(student=student, source=source, step=step, values=values):
                mastery += [MasteryRow(student, source, step, k, v) for k, v in values.items()]
                if values:
                    means.append(
                        MasteryMean(student, source, step, fmean(values.values()), tuple(values))
                    )
            case Review():
                reviewed = texts.get(message.reviewed_id) if message.reviewed_id else None
                reviews.append(
                    ReviewRow(
                        i,
                        message.sender,
                        message.approved,
                        message.critique,
                        tuple(message.issues),
                        reviewed,
                        current,
                    )
                )
            case Stop():
                stop = text
        rows.append(
            TranscriptRow(
                i,
                message.sender,
                tuple(message.recipients),
                str(getattr(message, "kind", type(message).__name__)),
                text,
                current,
                isinstance(message, Thought | Plan),
            )
        )
    return ClassroomView(
        lesson, tuple(steps), tuple(rows), tuple(mastery), tuple(reviews), stop, tuple(means)
    )
