"""Classroom simulation (MAIC / SimClass): a director walks a lesson script drawn from the
knowledge graph and gives the floor to the teacher, the teaching assistant, the four
classmates and the students; quizzes measure each student's mastery over time; every run
is persisted. Every role is a ``Persona`` on a simulated or LLM mind (see
``docs/classroom.md``)."""

from agents.classroom.config import (
    CLASSMATE_ROLES,
    DEFAULT_ROSTER,
    ClassmateRole,
    ClassroomConfig,
    MindKind,
    ModelEndpoint,
    RoleMinds,
    StudentSpec,
    load_classroom_config,
    roster,
)
from agents.classroom.plots import ClassroomPlot, classroom_plots, estimate_figure, quiz_figure
from agents.classroom.report import ClassroomReport, report_label, write_classroom_report
from agents.classroom.view import (
    ClassroomView,
    MasteryMean,
    MasteryRow,
    ReviewRow,
    StepRow,
    StudentSummary,
    TranscriptRow,
    classroom_view,
)

__all__ = [
    "CLASSMATE_ROLES",
    "DEFAULT_ROSTER",
    "ClassmateRole",
    "ClassroomConfig",
    "ClassroomPlot",
    "ClassroomReport",
    "ClassroomView",
    "MasteryMean",
    "MasteryRow",
    "MindKind",
    "ModelEndpoint",
    "ReviewRow",
    "RoleMinds",
    "StepRow",
    "StudentSpec",
    "StudentSummary",
    "TranscriptRow",
    "classroom_plots",
    "classroom_view",
    "estimate_figure",
    "load_classroom_config",
    "quiz_figure",
    "report_label",
    "roster",
    "write_classroom_report",
]
