"""The rows a classroom view is made of: a lesson step, a transcript line, a mastery
figure and its mean, a student's summary, a reviewer's verdict (plain frozen dataclasses,
for tables and charts)."""

from __future__ import annotations

from dataclasses import dataclass

from protocols import LessonStepKind, MasterySource

__all__ = [
    "MasteryMean",
    "MasteryRow",
    "ReviewRow",
    "StepRow",
    "StudentSummary",
    "TranscriptRow",
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
