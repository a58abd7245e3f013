"""The shared vocabulary of the evaluation workbench: items, answers, students, the
teacher's mind, explanation sources, and the sweep task the runner executes.

Every episode is a *pure function* of its key and the results it depends on: a student
answers each item from the state it started in (plus the explained items given to it as
``context``, in the multi-turn setting), with randomness seeded by the episode alone. So
an episode can run in any order, in any process (``--executor ray``), be persisted as it
finishes, and be skipped on a rerun, and the sweep's results do not change.

A sweep runs in ``stages``: the units of stage ``k`` may read the results of the stages
before it (the interventions of a budget need the per-item signals: Û, confidences, true
utility). ``agents.eval.runner`` executes any ``SweepTask``; ``agents.eval.tom`` and
``agents.eval.tutoring`` are the two tasks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from knowledge_graph.store import GraphStore

__all__ = [
    "Answer",
    "BadRecord",
    "Dataset",
    "Demo",
    "EpisodeKey",
    "EvalItem",
    "Explanation",
    "ExplanationSource",
    "Payload",
    "Student",
    "StudentKind",
    "SweepTask",
    "TeacherMind",
    "close_task",
]

StudentKind = Literal["simulated", "lm"]


@dataclass(frozen=True)
class EvalItem:
    """One evaluation item.

    Attributes:
        id: Stable and unique within its data set: ``"<dataset>:<record id or line>"``.
        dataset: ``"sample"``, ``"gsm8k"``, ``"strategyqa"``, ``"ecqa"``.
        question: The question as the student sees it (ECQA: with its choices).
        answer: The gold answer, normalised (a number's text, ``"yes"``/``"no"``, or the
            choice text).
        options: The candidate answers where the format has them (yes/no, the five
            choices), gold included; empty for free-form answers.
        explanation: The data's gold explanation, where it has one (GSM8K: the worked
            solution; StrategyQA: the facts joined; ECQA: the free-text explanation).
        skills: Knowledge-graph skill node ids, from the tagger.
        source: Where it came from, ``"file:line"`` (for error messages and reports).
    """

    id: str
    dataset: str
    question: str
    answer: str
    options: tuple[str, ...] = ()
    explanation: str | None = None
    skills: tuple[str, ...] = ()
    source: str | None = None


@dataclass(frozen=True)
class BadRecord:
    """A malformed record skipped under ``--skip-bad``: where it is and what is wrong."""

    file: str
    line: int
    reason: str


@dataclass(frozen=True)
class Dataset:
    """A loaded evaluation set.

    Attributes:
        name: ``"sample"``, ``"gsm8k"``, ``"strategyqa"``, ``"ecqa"``.
        items: The items, in file order.
        kg: A knowledge graph holding every item as an ``Item`` node (node id ==
            ``EvalItem.id``, with its ``answer``) that REQUIRES its skill nodes, so that
            ``personas.learner_items(kg)`` and ``ReadingModel(kg)`` work on it.
        source: The file read (``None`` for the built-in sample).
        sha256: The hash of the data read (the report states it).
        skipped: Malformed records skipped under ``skip_bad`` (empty otherwise).
    """

    name: str
    items: tuple[EvalItem, ...]
    kg: GraphStore
    source: str | None
    sha256: str
    skipped: tuple[BadRecord, ...] = ()


@dataclass(frozen=True)
class Answer:
    """A student's answer, whether it is correct (exact match after normalisation), and the
    student's own confidence in it where the student reports one (simulated: reported
    confidence; LM: the probability of its chosen option)."""

    text: str
    correct: bool
    confidence: float | None = None


@dataclass(frozen=True)
class Explanation:
    """An explanation a teacher can give, with what it is *meant* as (for reports only:
    neither students nor the teacher's mind may read ``aim``; they read ``text``)."""

    text: str
    aim: Literal["generic", "personalised", "gold", "misleading", "llm"] = "generic"


@dataclass(frozen=True)
class Demo:
    """An explained item kept in the student's context (multi-turn): demonstrations for an
    LM student, learning for a simulated one."""

    item: EvalItem
    explanation: str


class Student(Protocol):
    """One student (of one seed). Calls are pure: each starts from the student's initial
    state, studies ``context`` in order, then reads ``explanation`` (if any) and answers.
    The same arguments always give the same result."""

    kind: StudentKind

    async def answer(
        self, item: EvalItem, explanation: str | None = None, *, context: Sequence[Demo] = ()
    ) -> Answer:
        """The student's answer to ``item``."""
        ...

    async def p_correct(
        self, item: EvalItem, explanation: str | None = None, *, context: Sequence[Demo] = ()
    ) -> float:
        """The *true* P(correct) (for the oracle): the exact expectation for a simulated
        student; the normalised probability of the gold option for an LM student."""
        ...


class TeacherMind(Protocol):
    """The teacher's model of one student: it sees only what the student answered."""

    async def observe(self, item: EvalItem, answer: Answer) -> None:
        """Update on an answer the teacher saw."""
        ...

    async def predict(self, item: EvalItem, explanation: str | None = None) -> float:
        """P̂(the student answers ``item`` correctly), with or without ``explanation``.
        Expected Utility is ``predict(item, text) - predict(item)``."""
        ...


class ExplanationSource(Protocol):
    """Where a teacher's explanations come from: the data's gold explanations, the
    knowledge graph, or an LLM teacher persona."""

    async def candidates(self, item: EvalItem) -> Sequence[Explanation]:
        """The explanations the teacher could give for ``item`` (at least one)."""
        ...


@dataclass(frozen=True, order=True)
class EpisodeKey:
    """The idempotent key of one unit of a sweep (with the config hash, the primary key of
    its stored result).

    Attributes:
        kind: What the unit is, e.g. ``"signal"`` (per-item measurements), ``"episode"``
            (an answer under an intervention), ``"multi"``, ``"dialogue"``.
        item: The item (or dialogue) id.
        strategy: The intervention strategy or teacher policy; ``""`` where none applies.
        budget: The budget; ``0.0`` where none applies.
        seed: The seed.
    """

    kind: str
    item: str
    strategy: str
    budget: float
    seed: int

    def text(self) -> str:
        """A readable one-line form (for logs and errors)."""
        return f"{self.kind}:{self.item}:{self.strategy}:{self.budget:g}:{self.seed}"


Payload = dict[str, Any]
"""A unit's result: JSON-serialisable (str, int, float, bool, None, lists and dicts)."""


class SweepTask(Protocol):
    """What the runner executes. The task object must be picklable (it is shipped to Ray
    workers): hold the config, and build heavy things (graphs, models) lazily."""

    kind: str  # "tom" or "tutoring"

    def config_hash(self) -> str:
        """A stable hash of everything that decides the results (config and data hash)."""
        ...

    def stages(self) -> int:
        """How many stages the sweep has."""
        ...

    def units(self, stage: int, done: Mapping[EpisodeKey, Payload]) -> list[EpisodeKey]:
        """The units of ``stage``, given every result of the stages before it."""
        ...

    def inputs(self, key: EpisodeKey, done: Mapping[EpisodeKey, Payload]) -> Payload:
        """What unit ``key`` needs of earlier results (kept small: it travels to workers)."""
        ...

    async def run(self, key: EpisodeKey, inputs: Payload) -> Payload:
        """Run one unit. Deterministic: the same key and inputs give the same payload."""
        ...


def close_task(task: SweepTask) -> None:
    """Release what ``task`` opened while running units (a store's connection pool), if it
    has a ``close()`` method (optional on a ``SweepTask``). The executors call it in a worker
    when the worker's share of units (a chunk) is done; the runner calls it when the sweep
    is done, for the units the local executor ran in this process."""
    close = getattr(task, "close", None)
    if callable(close):
        close()
