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
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import stats

from agents.budget import Budget
from agents.demo.lesson import DEMO_MISCONCEPTIONS, Lesson, LessonPlace
from agents.demo.summary import is_right
from agents.graph import AgentGraph
from agents.runtime import Runtime
from knowledge_graph import GraphStore
from knowledge_graph.builders import sample_curriculum
from personas import (
    PROFILES,
    LearnerItem,
    Persona,
    ReadingModel,
    SimulatedStudent,
    SimulatedTeacherMind,
    ToolRegistry,
    builtin_persona,
    calculator_tool,
    learner_items,
    run_state,
)
from personas.moves import bridge_tool, moves_tool
from personas.teacher import Explain
from protocols import (
    Answer,
    Envelope,
    Explanation,
    Hint,
    Message,
    Question,
    Stop,
    TaskAssignment,
    TaskResult,
    UserError,
)

__all__ = [
    "CONDITIONS",
    "HELD_OUT",
    "Comparison",
    "EffectReport",
    "Estimate",
    "Outcome",
    "PostTestLesson",
    "effect_graph",
    "effect_teacher",
    "run_effects",
]

CONDITIONS: tuple[Explain, ...] = ("none", "generic", "targeted", "misleading")
HELD_OUT = ("item:frac-add-2", "item:eq-2")
"""Items only the post-test asks: each shares its skill with a taught item before it."""
PROFILE_CYCLE = ("novice", "average", "overconfident")
"""The students: the demo's profiles that hold misconceptions, in turn."""
BUDGET = Budget(turns=400)
CONCURRENT = 32
"""Runs in flight at once: the calculator runs in a worker thread, and while one run
waits for it the others use the CPU."""


class PostTestLesson(Lesson):
    """The lesson over the taught items, then a post-test of every item put straight to
    ``student``; it stops after the last post-test answer.

    Args:
        name: The agent name.
        kg: The curriculum.
        teacher: Who teaches the lesson.
        student: Who takes the post-test.
        held_out: Items left out of the lesson (asked only in the post-test).
    """

    def __init__(
        self,
        name: str,
        kg: GraphStore,
        teacher: str = "teacher",
        student: str = "student",
        held_out: Sequence[str] = HELD_OUT,
    ) -> None:
        super().__init__(name, kg, teacher)
        missing = [i for i in held_out if i not in self.items]
        if missing:
            raise UserError(f"held-out item(s) {missing} are not Item nodes of the curriculum")
        self.student = student
        self.tested = list(self.items)
        self.items = [i for i in self.items if i not in held_out]

    def _next(self, place: LessonPlace) -> list[Envelope]:
        if place.next < len(self.items):
            place.next += 1
            return [self._ask(self.items[place.next - 1])]
        k = place.next - len(self.items)
        if k >= len(self.tested):
            return [Stop(detail=f"post-test finished: {len(self.tested)} items")]
        place.next += 1
        item = self.tested[k]
        return [Question(to=self.student, text=self.texts[item], item_id=item)]

    async def handle(self, message: Message, ctx: object) -> Sequence[Envelope]:
        place = run_state(ctx, LessonPlace)
        if isinstance(message, Answer) and place.next > len(self.items):
            return self._next(place)  # a post-test answer: the next post-test item
        return await super().handle(message, ctx)


def effect_teacher(kg: GraphStore, explain: Explain) -> Persona:
    """The teacher persona of one condition. It keeps no state of its own between runs
    (each run's memory is its ``new_state()``), so one serves every student."""
    return Persona(
        builtin_persona("teacher"),
        SimulatedTeacherMind(kg, explain=explain),
        tools=ToolRegistry([bridge_tool(), moves_tool(), calculator_tool()]),
        kinds=["question", "hint", "explanation", "task_result"],
    )


def effect_graph(
    kg: GraphStore,
    teacher: Persona,
    lesson: PostTestLesson,
    profile: str,
    seed: int,
    reading: ReadingModel,
    items: Mapping[str, LearnerItem],
) -> AgentGraph:
    """One student's run: post-test lesson → teacher ⇄ student (no reviewer: what is
    measured is the text's effect, not a gate on it)."""
    student = SimulatedStudent(
        "student",
        kg,
        PROFILES[profile],
        seed=seed,
        misconceptions=DEMO_MISCONCEPTIONS[profile],
        reading=reading,
        items=items,
    )
    return (
        AgentGraph()
        .add(teacher, student, lesson)
        .edge(lesson, teacher, kinds=[Question])
        .edge(lesson, student, kinds=[Question])
        .edge(teacher, student, kinds=[Question, Explanation, Hint])
        .edge(student, teacher, kinds=[Answer])
        .edge(student, lesson, kinds=[Answer])
        .edge(teacher, lesson, kinds=[Explanation, TaskResult])
    )


@dataclass(frozen=True)
class Outcome:
    """One student's results in one condition (accuracies in [0, 1]; ``reask`` is None
    when nothing was explained)."""

    condition: Explain
    seed: int
    profile: str
    held_out: float
    taught: float
    reask: float | None


def outcome(
    kg: GraphStore, messages: Sequence[Message], condition: Explain, seed: int, profile: str
) -> Outcome:
    """Score one run's transcript."""
    post: dict[str, bool] = {}
    explained: set[str] = set()
    reask: dict[str, bool] = {}
    for m in messages:
        if isinstance(m, Explanation | Hint) and m.sender == "teacher" and m.item_id:
            explained.add(m.item_id)
        elif isinstance(m, Answer) and m.sender == "student" and m.item_id:
            if m.recipients == ("lesson",):
                post[m.item_id] = is_right(kg, m)
            elif m.item_id in explained and m.item_id not in reask:
                reask[m.item_id] = is_right(kg, m)
    held = [post[i] for i in HELD_OUT]
    taught = [v for i, v in post.items() if i not in HELD_OUT]
    if len(post) != len(kg.match("Item")):
        raise UserError(f"run of seed {seed} ({condition}) did not finish its post-test")
    return Outcome(
        condition,
        seed,
        profile,
        held_out=float(np.mean(held)),
        taught=float(np.mean(taught)),
        reask=float(np.mean(list(reask.values()))) if reask else None,
    )


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
    data = np.asarray(values, dtype=float)
    low, high = stats.t.interval(0.95, len(data) - 1, loc=data.mean(), scale=stats.sem(data))
    return Estimate(float(data.mean()), float(low), float(high), len(data))


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
            test = stats.ttest_rel([x for x, _ in pairs], [y for _, y in pairs])
            ci = test.confidence_interval(0.95)
            mean = float(np.mean([x - y for x, y in pairs]))
            diff = Estimate(mean, float(ci.low), float(ci.high), len(pairs))
            comparisons.append(Comparison(metric, a, b, diff, float(test.pvalue)))
    return EffectReport(tuple(outcomes), estimates, tuple(comparisons), seconds, workers)
