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

__all__ = [
    "CLASSMATE_ROLES",
    "DEFAULT_ROSTER",
    "ClassmateRole",
    "ClassroomConfig",
    "MindKind",
    "ModelEndpoint",
    "RoleMinds",
    "StudentSpec",
    "load_classroom_config",
    "roster",
]
