"""Classroom simulation (MAIC / SimClass): a director walks a lesson script drawn from the
knowledge graph and gives the floor to the teacher, the teaching assistant, the four
classmates and the students; quizzes measure each student's mastery over time; every run
is persisted. Every role is a ``Persona`` on a simulated or LLM mind (see
``docs/classroom.md``)."""

from agents.classroom.config import (
    CLASSMATE_ROLES,
    DEFAULT_ROSTER,
    PROFILE_MISCONCEPTIONS,
    ClassmateRole,
    ClassroomConfig,
    MindKind,
    ModelEndpoint,
    RoleMinds,
    StudentSpec,
    load_classroom_config,
    roster,
)
from agents.classroom.director import Director, Floor
from agents.classroom.graph import (
    build_classroom,
    build_classroom_graph,
    classroom_kg,
    classroom_model,
    start_message,
)
from agents.classroom.plots import (
    ClassroomPlot,
    classroom_plots,
    estimate_figure,
    png_bytes,
    quiz_figure,
)
from agents.classroom.report import ClassroomReport, report_label, write_classroom_report
from agents.classroom.run import classroom_budget, run_classroom
from agents.classroom.script import LessonScript, ScriptStep, lesson_names, lesson_script
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
    "PROFILE_MISCONCEPTIONS",
    "ClassmateRole",
    "ClassroomConfig",
    "ClassroomPlot",
    "ClassroomReport",
    "ClassroomView",
    "Director",
    "Floor",
    "LessonScript",
    "MasteryMean",
    "MasteryRow",
    "MindKind",
    "ModelEndpoint",
    "ReviewRow",
    "RoleMinds",
    "ScriptStep",
    "StepRow",
    "StudentSpec",
    "StudentSummary",
    "TranscriptRow",
    "build_classroom",
    "build_classroom_graph",
    "classroom_budget",
    "classroom_kg",
    "classroom_model",
    "classroom_plots",
    "classroom_view",
    "estimate_figure",
    "lesson_names",
    "lesson_script",
    "load_classroom_config",
    "png_bytes",
    "quiz_figure",
    "report_label",
    "roster",
    "run_classroom",
    "start_message",
    "write_classroom_report",
]
