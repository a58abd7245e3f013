"""The numbers of a theory-of-mind sweep: accuracy-vs-budget curves with 95% t-intervals
over seeds, the multi-turn gain, and paired differences between strategies.

Accuracy at (strategy, budget, seed) is exact-match accuracy over the seed's N pairs: an
explained pair counts its ``episode`` answer, any other pair its unexplained ``signal``
answer (the same student call, so it is not run twice). Each seed is one replicate (its
own cohort, its own fitted teacher), so intervals are Student-t over seeds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agents.eval.base import EpisodeKey, Payload
from agents.eval.effects import Estimate, _estimate
from agents.eval.strategies import Signal

__all__ = [
    "CurvePoint",
    "Sweep",
    "curves",
    "estimate",
]


def estimate(values: Sequence[float]) -> Estimate:
    """The mean of ``values`` and its 95% Student-t interval (a point for one value, or
    when every value is the same)."""
    return _estimate(values)


@dataclass(frozen=True)
class CurvePoint:
    """Accuracy of ``strategy`` at ``budget``: mean over ``n`` seeds and its 95% t-interval."""

    strategy: str
    budget: float
    mean: float
    low: float
    high: float
    n: int


class Sweep:
    """The results of one sweep, arranged per seed (a view; nothing is copied).

    Args:
        results: Every unit's payload by key.
    """

    def __init__(self, results: Mapping[EpisodeKey, Payload]) -> None:
        self.signal: dict[int, dict[str, Payload]] = defaultdict(dict)
        self.episode: dict[tuple[int, str, float], dict[str, Payload]] = defaultdict(dict)
        self.multi: dict[tuple[int, str], list[bool]] = defaultdict(list)
        for key, payload in results.items():
            if key.kind == "signal":
                self.signal[key.seed][key.item] = payload
            elif key.kind == "episode":
                self.episode[(key.seed, key.strategy, key.budget)][key.item] = payload
            elif key.kind == "multi":
                self.multi[(key.seed, key.strategy)].append(bool(key_correct(payload)))
        self.seeds = sorted(self.signal)

    def signals(self, seed: int) -> dict[str, Signal]:
        """The seed's signals, by pair."""
        return {p: Signal.of(v) for p, v in self.signal[seed].items()}

    def accuracy(self, strategy: str, budget: float, seed: int, field: str = "correct") -> float:
        """Accuracy over the seed's pairs (explained ones answer with their explanation);
        with ``field="p"``, the expected accuracy (each answer's exact P(correct))."""
        base = self.signal[seed]
        explained = self.episode.get((seed, strategy, budget), {})
        total = sum(
            float(explained[p][field]) if p in explained else float(v[field])
            for p, v in base.items()
        )
        return total / len(base)

    def per_seed(self, strategy: str, budget: float, field: str = "correct") -> list[float]:
        """Accuracy (or, with ``field="p"``, expected accuracy) at each seed."""
        return [self.accuracy(strategy, budget, s, field) for s in self.seeds]

    def point(self, strategy: str, budget: float) -> CurvePoint:
        """The curve point of ``strategy`` at ``budget``."""
        e = estimate(self.per_seed(strategy, budget))
        return CurvePoint(strategy, budget, e.mean, e.low, e.high, e.n)

    def difference(self, a: str, b: str, budget: float, field: str = "correct") -> Estimate:
        """Accuracy (or expected accuracy) of ``a`` minus ``b`` at ``budget``, paired by
        seed."""
        pairs = zip(self.per_seed(a, budget, field), self.per_seed(b, budget, field), strict=True)
        return estimate([x - y for x, y in pairs])

    def multi_gain(self) -> Estimate | None:
        """Multi-turn: accuracy on later items with the explained items in context minus
        without (per seed), or ``None`` when the sweep ran no multi-turn units."""
        gains = [
            _mean(self.multi[(s, "taught")]) - _mean(self.multi[(s, "control")])
            for s in self.seeds
            if self.multi.get((s, "taught")) and self.multi.get((s, "control"))
        ]
        return estimate(gains) if gains else None


def key_correct(payload: Payload) -> bool:
    """Whether a unit's answer was correct."""
    return bool(payload["correct"])


def _mean(values: Sequence[bool]) -> float:
    return sum(values) / len(values)


def curves(
    results: Mapping[EpisodeKey, Payload], strategies: Sequence[str], budgets: Sequence[float]
) -> list[CurvePoint]:
    """Accuracy vs budget for each strategy: one point per (strategy, budget)."""
    sweep = Sweep(results)
    if not sweep.seeds:
        return []
    return [sweep.point(s, b) for s in strategies for b in budgets]


def findings(
    results: Mapping[EpisodeKey, Payload], strategies: Sequence[str], budgets: Sequence[float]
) -> str:
    """The must-show checks with their numbers, as Markdown (``agents.eval.tom_findings``)."""
    from agents.eval.tom_findings import write_findings

    return write_findings(Sweep(results), strategies, budgets)
