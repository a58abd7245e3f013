"""Per-run state: an agent instance is configuration, what changes during a run is not.

An agent that remembers things during a run (a conversation history, what a student has
learnt, a lesson's place) keeps them in a state object it makes with ``new_state()``. The
runtime calls ``new_state()`` once per agent at the start of every run, replays included,
and hands the object back on each turn as ``ctx.state``. Running one graph object twice, or
twice at once, or replaying a run with it, therefore starts from the same state each time.
A mind with memory does the same: its ``new_state()`` object travels inside the persona's
state and reaches the mind as ``TurnState.state``.
"""

from __future__ import annotations

from typing import TypeVar

from protocols import UserError

__all__ = ["run_state"]

S = TypeVar("S")


def run_state(ctx: object, cls: type[S]) -> S:
    """``ctx.state``, checked to be a ``cls``: the run's state of the agent (or mind).

    Raises:
        UserError: ``ctx`` carries no such state, e.g. ``handle`` was called outside a run.
    """
    state = getattr(ctx, "state", None)
    if not isinstance(state, cls):
        raise UserError(
            f"expected this run's {cls.__name__} as ctx.state, got {type(state).__name__}: "
            "the agent keeps per-run state. Run it through agents.Runtime, or pass a context "
            "whose .state is the agent's new_state()."
        )
    return state
