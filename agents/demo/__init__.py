"""The offline demo job (``make demo`` / ``lyceum demo``): no network, no LLM."""

from agents.demo.lesson import (
    DEMO_MISCONCEPTIONS,
    DemoTeacher,
    build_lesson_graph,
    graph_explainer,
    make_demo_agent,
    make_demo_teacher,
    start_message,
)

__all__ = [
    "DEMO_MISCONCEPTIONS",
    "DemoTeacher",
    "build_lesson_graph",
    "graph_explainer",
    "make_demo_agent",
    "make_demo_teacher",
    "start_message",
]
