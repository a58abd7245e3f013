"""Batches of classroom runs (``lyceum classroom --batch``): every lesson × class profile ×
seed of a ``ClassroomBatch``, each classroom one unit of a sweep run by the evaluation
runner (``agents.eval.runner.run_sweep``), so it runs on any of its executors (asyncio in
this process, a local process pool, a Ray cluster) and resumes like any sweep.

Each unit runs its classroom with ``run_classroom`` on a ``Runtime`` over the run store at
``db`` (a URL: SQLite on one machine, PostgreSQL across nodes), so every classroom is a
stored run (``lyceum runs show``), and returns its summary row (``BatchRow``). The rows
are kept in the sweep tables of the same database under the batch's config hash: a rerun
skips every classroom whose row is stored.

Exact resume. A classroom's run id is derived from the batch's config hash and the unit's
key (``unit_run_id``), so a unit first asks the run store for its run
(``SqlRunStore.reusable_run``): a finished run (completed, stopped, error) is reused, its
row rebuilt from the stored messages (the view is a pure function of them), and nothing
runs again. This covers a driver killed between a classroom finishing and its row being
saved. A run left ``interrupted`` by the crash (its process is gone) is deleted and run
again under the same id, so the store holds exactly one run per classroom and a resumed
batch's rows, run ids included, equal an uninterrupted batch's. A run still ``running``
(its process alive, or a heartbeat from another host within ten minutes) fails its unit
with a one-line error rather than running twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agents.classroom import (
    ClassroomConfig,
    StudentSpec,
    classroom_kg,
    classroom_view,
    lesson_script,
    roster,
    run_classroom,
)
from agents.eval.base import EpisodeKey, Payload
from agents.runtime import Runtime
from agents.store import SqlRunStore
from personas import PROFILES
from protocols import Message, UserError
from protocols.config import validate_yaml

__all__ = [
    "MIXED",
    "BatchRow",
    "ClassroomBatch",
    "ClassroomBatchTask",
    "load_batch_config",
    "unit_run_id",
]

MIXED = "mixed"
"""The class profile of the default roster: novice, average, overconfident and strong in
turn (``agents.classroom.roster``)."""


class ClassroomBatch(BaseModel):
    """A batch of classrooms: one per lesson × class profile × seed, over one base config.

    Attributes:
        base: The classroom every run starts from (students, turns, minds, model…).
        lessons: The lessons to teach; empty: ``base.lesson`` only.
        profiles: The class of each run: ``mixed`` (the base config's students, or the
            default roster of ``students``), or a profile of ``personas.PROFILES`` that
            every student of the class has.
        seeds: One run per seed (and lesson and profile).
        students: Students per class; None: as many as ``base`` has.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: ClassroomConfig = ClassroomConfig()
    lessons: tuple[str, ...] = ()
    profiles: tuple[str, ...] = Field(default=(MIXED,), min_length=1)
    seeds: tuple[int, ...] = Field(default=(0,), min_length=1, max_length=100_000)
    students: int | None = Field(default=None, ge=1, le=64)

    @field_validator("profiles")
    @classmethod
    def _known_profiles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [p for p in value if p != MIXED and p not in PROFILES]
        if unknown:
            raise ValueError(
                f"unknown profile {unknown[0]!r}; choose from {MIXED}, {', '.join(PROFILES)}"
            )
        return value

    @model_validator(mode="after")
    def _distinct(self) -> ClassroomBatch:
        for name in ("lessons", "profiles", "seeds"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ValueError(f"{name} must not repeat a value; got {list(values)}")
        if any(seed < 0 for seed in self.seeds):
            raise ValueError("seeds must be at least 0")
        if self.base.human is not None:
            raise ValueError("a batch runs unattended; drop base.human")
        return self

    def units(self) -> list[EpisodeKey]:
        """Every classroom of the batch as a sweep unit, lesson by profile by seed."""
        lessons = self.lessons or (self.base.lesson,)
        return [
            EpisodeKey("classroom", lesson, profile, 0.0, seed)
            for lesson in lessons
            for profile in self.profiles
            for seed in self.seeds
        ]

    def classroom(self, key: EpisodeKey) -> ClassroomConfig:
        """The config of the classroom of ``key`` (a key of ``units``)."""
        students: tuple[StudentSpec, ...]
        if key.strategy == MIXED:
            students = tuple(roster(self.students)) if self.students else self.base.students
        else:
            names = [s.name for s in roster(self.students or len(self.base.students))]
            students = tuple(StudentSpec(name=n, profile=key.strategy) for n in names)
        return self.base.model_copy(
            update={"lesson": key.item, "seed": key.seed, "students": students}
        )


def load_batch_config(path: str | Path) -> ClassroomBatch:
    """A ``ClassroomBatch`` from a YAML file.

    Raises:
        ConfigError: Naming the file, the line and the field, with the fix.
    """
    return validate_yaml(path, ClassroomBatch)


@dataclass(frozen=True)
class BatchRow:
    """One classroom of a batch as its summary shows it.

    Attributes:
        lesson: The lesson taught.
        profile: The class profile (``mixed`` or a learner profile).
        seed: The run's seed.
        students: How many students the class had.
        status: How the run ended (``completed``, ``stopped``, ``error``…).
        quiz_before: The class's mean score on its first quiz (None without one).
        quiz_after: The class's mean score on its last quiz.
        estimate_gap: The mean |teacher's estimate - simulated truth| at the last step
            where both were reported: how far the teacher's theory of mind was off.
        messages: How many messages the run has.
        simulated: Whether every mind was simulated (the numbers describe a simulation).
        run_id: The run in the store (``unit_run_id``: the same for the same batch
            config and unit, wherever and however often it runs).
    """

    lesson: str
    profile: str
    seed: int
    students: int
    status: str
    quiz_before: float | None
    quiz_after: float | None
    estimate_gap: float | None
    messages: int
    simulated: bool
    run_id: str

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> BatchRow:
        """The row a unit's payload holds."""
        return cls(**payload)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def unit_run_id(config_hash: str, key: EpisodeKey) -> str:
    """The run id of a batch's classroom: a UUID (hex) of the batch's config hash and the
    unit's key, so a rerun finds the run a crashed one stored."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"lyceum:classroom-batch/{config_hash}/{key.text()}").hex


def batch_row(
    key: EpisodeKey, config: ClassroomConfig, status: str, messages: Sequence[Message], run_id: str
) -> BatchRow:
    """The row of the classroom of ``key`` (run with ``config``) from its run's messages."""
    view = classroom_view(messages)
    summary, gaps = view.summary(), view.estimate_gap()
    return BatchRow(
        lesson=key.item,
        profile=key.strategy,
        seed=key.seed,
        students=len(config.students),
        status=status,
        quiz_before=_mean([s.quizzes[0] for s in summary if s.quizzes]),
        quiz_after=_mean([s.quizzes[-1] for s in summary if s.quizzes]),
        estimate_gap=gaps[-1][1] if gaps else None,
        messages=len(messages),
        simulated=config.simulated(),
        run_id=run_id,
    )


class ClassroomBatchTask:
    """A ``ClassroomBatch`` as a ``SweepTask`` (one stage, one unit per classroom).

    Picklable: it holds the batch and the run store's URL; the store itself is opened in
    the process that runs units, once for all the units it runs (``store``), and is not
    pickled.

    Args:
        batch: The classrooms.
        db: The run store's URL (each classroom is stored there as a run); it must be
            reachable from wherever units run (PostgreSQL on a multi-node cluster).
        store_factory: Opens the run store from ``db``; called once per process that runs
            units (it travels to workers, so it must be picklable: a class or a top-level
            function).
    """

    kind = "classroom"
    student_kind = "simulated"

    def __init__(
        self,
        batch: ClassroomBatch,
        db: str,
        *,
        store_factory: Callable[[str], SqlRunStore] = SqlRunStore,
    ) -> None:
        self.config = batch
        self.db = db
        self.store_factory = store_factory
        self._hash: str | None = None
        self._store: SqlRunStore | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_store"] = None  # a connection pool stays in its process
        return state

    @property
    def store(self) -> SqlRunStore:
        """The run store the units of this process share (opened on first use)."""
        if self._store is None:
            self._store = self.store_factory(self.db)
        return self._store

    def close(self) -> None:
        """Close the store the units opened (its pool); the next unit opens a new one."""
        store, self._store = self._store, None
        if store is not None:
            store.close()

    def check(self) -> None:
        """Fail before anything runs: an unknown lesson, an unset key variable.

        Raises:
            UserError: Naming the lesson and the known ones, or the variable.
        """
        for lesson in self.config.lessons or (self.config.base.lesson,):
            lesson_script(classroom_kg(self.config.base), lesson)
        if self.config.base.model is not None:
            self.config.base.model.api_key()

    @property
    def data_sha256(self) -> str | None:
        """The hash of the curriculum file, if the base config names one."""
        path = self.config.base.curriculum
        if path is None:
            return None
        try:
            return hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError as exc:
            raise UserError(f"cannot read the curriculum {path}: {exc.strerror}") from None

    def config_hash(self) -> str:
        """The batch's key in the store: its base config, class size and curriculum hash.
        The lessons, profiles and seeds are in each unit's key, so a batch that adds a seed
        reuses the classrooms stored before."""
        if self._hash is None:  # once: the curriculum is read once, not once per unit
            base = set(ClassroomConfig.model_fields) - {"lesson", "seed"}  # set by each unit
            same = self.config.model_dump_json(include={"base": base, "students": True})
            text = f"classroom-batch/1\n{same}\n{self.data_sha256}"
            self._hash = hashlib.sha256(text.encode()).hexdigest()
        return self._hash

    def stages(self) -> int:
        """One stage: the classrooms do not depend on each other."""
        return 1

    def units(self, stage: int, done: Mapping[EpisodeKey, Payload]) -> list[EpisodeKey]:
        """Every classroom of the batch."""
        return self.config.units()

    def inputs(self, key: EpisodeKey, done: Mapping[EpisodeKey, Payload]) -> Payload:
        """Nothing: a classroom needs only its config."""
        return {}

    async def run(self, key: EpisodeKey, inputs: Payload) -> Payload:
        """The ``BatchRow`` of the classroom of ``key``: rebuilt from its stored run if that
        finished (a crash lost only its row), else from running it (see the module docs).

        Raises:
            UserError: Its run is still running in another process.
        """
        config = self.config.classroom(key)
        run_id = unit_run_id(self.config_hash(), key)
        store = self.store
        stored = await asyncio.to_thread(store.reusable_run, run_id)
        if stored is not None:
            messages = await asyncio.to_thread(store.messages, run_id)
            return asdict(batch_row(key, config, stored.status, messages, run_id))
        result = await run_classroom(config, runtime=Runtime(store), run_id=run_id)
        return asdict(batch_row(key, config, result.status, result.messages, run_id))
