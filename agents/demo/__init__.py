"""The offline demo job (``make demo`` / ``lyceum demo``): no network, no model.

A teacher ``Persona`` on its simulated mind, the rubric reviewer and simulated students,
composed in ``agents.demo.lesson``; the summary is read back from the run store
(``agents.demo.summary``)."""

from agents.demo.lesson import (
    DEMO_MISCONCEPTIONS,
    Lesson,
    LessonPlace,
    build_lesson_graph,
    lesson_items,
    make_demo_agent,
    make_demo_lesson,
    make_demo_reviewer,
    make_demo_teacher,
    start_message,
)
from agents.demo.summary import FirstWrongAnswer, LessonSummary, is_right, lesson_summary

__all__ = [
    "DEMO_MISCONCEPTIONS",
    "FirstWrongAnswer",
    "Lesson",
    "LessonPlace",
    "LessonSummary",
    "build_lesson_graph",
    "is_right",
    "lesson_items",
    "lesson_summary",
    "make_demo_agent",
    "make_demo_lesson",
    "make_demo_reviewer",
    "make_demo_teacher",
    "start_message",
]
