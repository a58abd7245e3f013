"""The offline demo job (``make demo`` / ``lyceum demo``): no network, no LLM."""

from agents.demo.lesson import (
    PROFILES,
    DemoTeacher,
    Lesson,
    SimulatedLearner,
    build_lesson_graph,
    load_lesson,
    start_message,
    template_explainer,
)

__all__ = [
    "PROFILES",
    "DemoTeacher",
    "Lesson",
    "SimulatedLearner",
    "build_lesson_graph",
    "load_lesson",
    "start_message",
    "template_explainer",
]
