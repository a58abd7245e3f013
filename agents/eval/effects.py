"""The explanation-effect experiment: what a teacher's explanations do to simulated students.

A teacher ``Persona`` on ``SimulatedTeacherMind(kg, explain=condition)`` teaches
``SimulatedStudent``s through the real ``Runtime``, on the sample curriculum. Conditions
differ only in what the explanations and hints *say* (``targeted``, ``generic``, ``none``,
``misleading``); the students read the text (``personas.minds.ReadingModel``) and never a
label. Every student is seen in every condition (same profile, misconceptions and seed), so
conditions are compared pairwise.

Each run is a lesson and then a post-test:

- the **lesson** puts the *taught* items to the teacher in order, and once more after the
  teacher explained (``agents.demo.Lesson``);
- the **post-test** then puts every item straight to the student, with no teacher: the
  taught items again, and the *held-out* items (``HELD_OUT``: same skills, never taught).

Measured per student: accuracy on the held-out items (transfer), on the taught items at
post-test (retention), and on the re-ask, the first answer after an explanation or hint of
that item (which a revealed answer can also win). Results describe the simulation, never LLMs.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import stats

from agents.eval.posttest import (
    BUDGET,
    Outcome,
    PostTestLesson,
    effect_graph,
    effect_teacher,
    outcome,
)
from agents.runtime import Runtime
from knowledge_graph.builders import sample_curriculum
from personas import ReadingModel, learner_items
from personas.teacher import Explain
from protocols import TaskAssignment, UserError

__all__ = ["CONDITIONS", "Comparison", "EffectReport", "Estimate", "run_effects"]

CONDITIONS: tuple[Explain, ...] = ("none", "generic", "targeted", "misleading")
PROFILE_CYCLE = ("novice", "average", "overconfident")
"""The students: the demo's profiles that hold misconceptions, in turn."""
CONCURRENT = 32
"""Runs in flight at once: the calculator runs in a worker thread, and while one run
waits for it the others use the CPU."""


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95% confidence interval (Student's t) over ``n`` students."""

    mean: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Comparison:
    """Condition ``a`` minus condition ``b`` on ``metric``, on the same students: the mean
    paired difference, its 95% CI (paired t) and the p-value."""

    metric: str
    a: str
    b: str
    diff: Estimate
    p: float


def _estimate(values: Sequence[float]) -> Estimate:
    """The mean and its 95% t interval (a point when every value is the same)."""
    data = np.asarray(values, dtype=float)
    mean, sem = float(data.mean()), float(stats.sem(data)) if len(data) > 1 else 0.0
    if not sem > 0:
        return Estimate(mean, mean, mean, len(data))
    low, high = stats.t.interval(0.95, len(data) - 1, loc=mean, scale=sem)
    return Estimate(mean, float(low), float(high), len(data))


def _compare(metric: str, a: str, b: str, pairs: list[tuple[float, float]]) -> Comparison:
    """Paired comparison: the t interval of the per-student differences a − b, and the
    paired t-test's p-value (the same as ``scipy.stats.ttest_rel``)."""
    diffs = [x - y for x, y in pairs]
    diff = _estimate(diffs)
    if diff.low == diff.high:  # no spread: the test is undefined
        p = 1.0 if diff.mean == 0 else 0.0
    else:
        p = float(stats.ttest_1samp(diffs, 0.0).pvalue)
    return Comparison(metric, a, b, diff, p)


@dataclass(frozen=True)
class EffectReport:
    """The experiment's results: per condition and metric an estimate, and the paired
    comparisons; ``seconds`` is the wall time of all runs, in ``workers`` processes."""

    outcomes: tuple[Outcome, ...]
    estimates: dict[str, dict[str, Estimate]]
    comparisons: tuple[Comparison, ...]
    seconds: float
    workers: int

    def comparison(self, metric: str, a: str, b: str) -> Comparison:
        """The comparison of ``a`` with ``b`` on ``metric``."""
        for c in self.comparisons:
            if (c.metric, c.a, c.b) == (metric, a, b):
                return c
        raise UserError(f"no comparison {a} − {b} on {metric!r}; pairs: {PAIRS}")

    def table(self) -> str:
        """The results as a Markdown table (as ``docs/simulation.md`` shows them)."""
        rows = [
            "| condition | held-out | taught (post-test) | re-ask | n |",
            "|---|---|---|---|---|",
        ]
        for cond, est in self.estimates.items():
            cells = [f"{e.mean:.3f} [{e.low:.3f}, {e.high:.3f}]" for e in est.values()]
            rows.append(f"| {cond} | {' | '.join(cells)} | {est['held_out'].n} |")
        rows += ["", "| metric | a − b | difference [95% CI] | p |", "|---|---|---|---|"]
        for c in self.comparisons:
            d = c.diff
            ci = f"{d.mean:+.3f} [{d.low:+.3f}, {d.high:+.3f}]"
            rows.append(f"| {c.metric} | {c.a} − {c.b} | {ci} | {c.p:.1g} |")
        return "\n".join(rows)


PAIRS = (("targeted", "generic"), ("generic", "none"), ("targeted", "none"), ("misleading", "none"))
METRICS = ("held_out", "taught", "reask")


async def _run_students(condition: Explain, seeds: Sequence[int]) -> list[Outcome]:
    """Every student of ``seeds`` taught in ``condition``, ``CONCURRENT`` runs at a time."""
    kg = sample_curriculum()
    reading = ReadingModel(kg)
    items = learner_items(kg)
    runtime = Runtime()  # no run store: nothing is persisted
    lesson = PostTestLesson("lesson", kg)
    teacher = effect_teacher(kg, condition)

    async def one(s: int) -> Outcome:
        profile = PROFILE_CYCLE[s % len(PROFILE_CYCLE)]
        graph = effect_graph(kg, teacher, lesson, profile, s, reading, items)
        first = TaskAssignment(to="lesson", task="teach, then post-test")
        result = await runtime.run(graph, first, budget=BUDGET, seed=s)
        return outcome(kg, result.messages, condition, s, profile)

    outcomes: list[Outcome] = []
    for start in range(0, len(seeds), CONCURRENT):
        outcomes += await asyncio.gather(*(one(s) for s in seeds[start : start + CONCURRENT]))
    return outcomes


def _run_chunk(condition: Explain, seeds: list[int]) -> list[Outcome]:
    """A worker process's share (a top-level function, so that it can be pickled)."""
    return asyncio.run(_run_students(condition, seeds))


async def run_effects(n: int = 1000, *, seed: int = 0, workers: int = 1) -> EffectReport:
    """Run ``n`` students (seeds ``seed`` … ``seed + n − 1``) in every condition.

    Every run is seeded, so the outcomes are the same for any number of ``workers``
    (processes; 1 runs in this one).

    Raises:
        UserError: ``n`` is below 2, or ``workers`` below 1.
    """
    if n < 2 or workers < 1:
        raise UserError(f"run_effects needs n >= 2 and workers >= 1, got n={n}, workers={workers}")
    seeds = list(range(seed, seed + n))
    start = time.perf_counter()
    outcomes: list[Outcome] = []
    if workers == 1:
        for condition in CONDITIONS:
            outcomes += await _run_students(condition, seeds)
    else:
        loop = asyncio.get_running_loop()
        chunks = [(c, seeds[k::workers]) for c in CONDITIONS for k in range(workers)]
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=spawn) as pool:
            parts = [loop.run_in_executor(pool, _run_chunk, c, part) for c, part in chunks]
            for part in await asyncio.gather(*parts):
                outcomes += part
        outcomes.sort(key=lambda o: (CONDITIONS.index(o.condition), o.seed))
    seconds = time.perf_counter() - start
    by: dict[str, list[Outcome]] = {
        c: [o for o in outcomes if o.condition == c] for c in CONDITIONS
    }
    estimates: dict[str, dict[str, Estimate]] = {
        c: {m: _estimate([v for o in rows if (v := getattr(o, m)) is not None]) for m in METRICS}
        for c, rows in by.items()
    }
    comparisons = []
    for metric in METRICS:
        for a, b in PAIRS:
            pairs = [
                (x, y)
                for oa, ob in zip(by[a], by[b], strict=True)
                if (x := getattr(oa, metric)) is not None and (y := getattr(ob, metric)) is not None
            ]
            comparisons.append(_compare(metric, a, b, pairs))
    return EffectReport(tuple(outcomes), estimates, tuple(comparisons), seconds, workers)
