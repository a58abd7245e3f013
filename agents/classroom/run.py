"""Running a classroom: its budget, and ``run_classroom`` (build the graph, run it, persist
it through the runtime's store)."""

from __future__ import annotations

from agents.budget import Budget
from agents.classroom.config import ClassroomConfig
from agents.classroom.graph import build_classroom, classroom_model, start_message
from agents.human import InputSource
from agents.runtime import Observer, RunResult, Runtime
from protocols import ModelClient

__all__ = ["classroom_budget", "run_classroom"]

DELIVERIES_PER_TURN = 12
"""Deliveries (runtime turns) a floor-grant may take per class member: handing a quiz's
items to every student and their answers back, the step's announcement, the reviewer's
round trips. Generous, so that the director, not the budget, ends a normal run."""
CALLS_PER_TURN = 24
"""Model calls a floor-grant may take with LLM minds: up to four persona turns (the speaker,
the teacher answering it, a replacement for a rejected explanation) of Think and Execute
(and Plan, for a persona with tools), each with its re-asks."""


def classroom_budget(config: ClassroomConfig) -> Budget:
    """The runtime budget of a classroom run: deliveries and model calls sized from
    ``config.turns`` (floor-grants) and the class size, and ``config.seconds``."""
    members = len(config.students) + (1 if config.human else 0) + len(config.classmates) + 4
    items = 8  # a quiz hands out at most this many items per student, in practice
    turns = config.turns * DELIVERIES_PER_TURN * members + 2 * items * members + 100
    return Budget(
        turns=turns,
        model_calls=max(1, config.turns * CALLS_PER_TURN),
        seconds=config.seconds,
    )


async def run_classroom(
    config: ClassroomConfig,
    *,
    runtime: Runtime,
    observer: Observer | None = None,
    human_input: InputSource | None = None,
    model: ModelClient | None = None,
    run_id: str | None = None,
) -> RunResult:
    """Run the classroom of ``config`` on ``runtime`` (which persists it when it has a
    store); ``observer`` sees every event live (the CLI's transcript, the app's page).

    Args:
        config: The class, the lesson and the limits.
        runtime: Runs and records it.
        observer: Called with each event.
        human_input: The human student's answers, when ``config.human`` is set.
        model: The client for ``llm`` minds (the caller closes it); by default
            ``classroom_model(config)``, closed when the run ends.
        run_id: The run's id in the store (``Runtime.run``); None: a random one.
    """
    own = classroom_model(config) if model is None and not config.simulated() else None
    try:
        graph = build_classroom(config, model=model or own, human_input=human_input)
        return await runtime.run(
            graph,
            start_message(config),
            budget=classroom_budget(config),
            seed=config.seed,
            observer=observer,
            run_id=run_id,
        )
    finally:
        if own is not None:
            await own.aclose()
