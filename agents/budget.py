"""Run budgets. Every run has one, and it always stops the run."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from protocols import BudgetExceeded, UserError

__all__ = ["Budget", "BudgetTracker"]

WARN_AT = 0.8
_WHOLE = ("turns", "model_calls", "tokens")


def _check_limit(name: str, value: object) -> None:
    """Refuse a limit that would crash the run later: the wrong type, zero or less, inf/nan."""
    if value is None and name == "tokens":
        return
    default = getattr(Budget, name)
    fix = f"Leave it out for the default ({default!r}) or give a positive limit"
    number: float
    if name in _WHOLE:
        if isinstance(value, bool) or not isinstance(value, int):
            example = int(value) if isinstance(value, float) and 1 <= value < 1e15 else 10
            raise UserError(
                f"Budget.{name} must be a whole number (int), got {value!r}. {fix}, "
                f"e.g. Budget({name}={example})."
            )
        number = value
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise UserError(f"Budget.{name} must be a number of seconds, got {value!r}. {fix}.")
    else:
        number = value
    if not math.isfinite(number):
        raise UserError(
            f"Budget.{name} must be finite, got {value!r}: every run has a hard limit. {fix}."
        )
    if number <= 0:
        raise UserError(
            f"Budget.{name} must be positive, got {value!r}: a budget of 0 would stop "
            f"the run before it starts. {fix}."
        )


@dataclass(frozen=True)
class Budget:
    """Hard limits of a run. ``turns`` and ``seconds`` are always finite.

    Args:
        turns: Most agent activations (one agent handling one message is one turn).
        model_calls: Most model calls, re-asks and retries of structured output included.
        tokens: Most prompt + completion tokens over all model calls; None for no limit.
        seconds: Most wall-clock seconds.

    Raises:
        UserError: A limit is zero, negative, not finite (inf, nan), or of the wrong type:
            ``turns``, ``model_calls`` and ``tokens`` are whole numbers (``int``, not
            ``bool`` or ``2.5``); ``seconds`` is an ``int`` or ``float``.
    """

    turns: int = 50
    model_calls: int = 100
    tokens: int | None = None
    seconds: float = 300.0

    def __post_init__(self) -> None:
        for name in ("turns", "model_calls", "tokens", "seconds"):
            _check_limit(name, getattr(self, name))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BudgetTracker:
    """Counts a run's use of its budget and raises ``BudgetExceeded`` at the limit."""

    budget: Budget
    warn: Callable[[str, float, float], None] = lambda resource, used, limit: None
    turns: int = 0
    model_calls: int = 0
    tokens: int = 0
    started: float = field(default_factory=time.monotonic)
    _warned: set[str] = field(default_factory=set)

    def _check_warn(self, resource: str, used: float, limit: float | None) -> None:
        if limit and used >= WARN_AT * limit and resource not in self._warned:
            self._warned.add(resource)
            self.warn(resource, used, limit)

    def turns_left(self) -> int:
        return self.budget.turns - self.turns

    def use_turns(self, n: int) -> None:
        self.turns += n
        self._check_warn("turns", self.turns, self.budget.turns)

    def reserve_model_call(self) -> None:
        if self.model_calls >= self.budget.model_calls:
            raise BudgetExceeded("model_calls", self.model_calls, self.budget.model_calls)
        self.model_calls += 1
        self._check_warn("model_calls", self.model_calls, self.budget.model_calls)

    def tokens_left(self) -> int | None:
        """Tokens left of the budget (0 when spent), or None when tokens are not limited."""
        if self.budget.tokens is None:
            return None
        return max(0, self.budget.tokens - self.tokens)

    def add_tokens(self, n: int) -> None:
        self.tokens += n
        limit = self.budget.tokens
        self._check_warn("tokens", self.tokens, limit)
        if limit is not None and self.tokens > limit:
            raise BudgetExceeded("tokens", self.tokens, limit)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def usage(self) -> dict[str, float]:
        return {
            "turns": self.turns,
            "model_calls": self.model_calls,
            "tokens": self.tokens,
            "seconds": round(self.elapsed(), 3),
        }
