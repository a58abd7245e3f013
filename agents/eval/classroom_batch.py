"""Batches of classroom runs (``lyceum classroom --batch``): every lesson × class profile ×
seed of a ``ClassroomBatch``, each classroom one unit of a sweep run by the evaluation
runner (``agents.eval.runner.run_sweep``), so it runs on any of its executors (asyncio in
this process, a local process pool, a Ray cluster) and resumes like any sweep.

Each unit runs its classroom with ``run_classroom`` on a ``Runtime`` over the run store at
``db`` (a URL: SQLite on one machine, PostgreSQL across nodes), so every classroom is a
stored run (``lyceum runs show``), and returns its summary row (``BatchRow``). The rows
are kept in the sweep tables of the same database under the batch's config hash: a rerun
skips every classroom already stored and runs only the rest. A classroom is a pure
function of its config (seeded), so its row is the same wherever it runs; only its run id
differs. A process killed mid-batch loses the classrooms in flight: their runs stay in the
run store as ``interrupted`` and the rerun runs them again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
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
from protocols import UserError
from protocols.config import validate_yaml

__all__ = [
    "MIXED",
    "BatchRow",
    "ClassroomBatch",
    "ClassroomBatchTask",
    "load_batch_config",
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
        run_id: The run in the store (differs between reruns; nothing else does).
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


class ClassroomBatchTask:
    """A ``ClassroomBatch`` as a ``SweepTask`` (one stage, one unit per classroom).

    Picklable: it holds the batch and the run store's URL, and opens the store in the
    process that runs a unit.

    Args:
        batch: The classrooms.
        db: The run store's URL (each classroom is stored there as a run); it must be
            reachable from wherever units run (PostgreSQL on a multi-node cluster).
    """

    kind = "classroom"
    student_kind = "simulated"

    def __init__(self, batch: ClassroomBatch, db: str) -> None:
        self.config = batch
        self.db = db

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
        base = set(ClassroomConfig.model_fields) - {"lesson", "seed"}  # set by each unit
        same = self.config.model_dump_json(include={"base": base, "students": True})
        text = f"classroom-batch/1\n{same}\n{self.data_sha256}"
        return hashlib.sha256(text.encode()).hexdigest()

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
        """Run the classroom of ``key``, store it as a run and return its ``BatchRow``."""
        config = self.config.classroom(key)
        with SqlRunStore(self.db) as store:
            result = await run_classroom(config, runtime=Runtime(store))
        view = classroom_view(result.messages)
        summary, gaps = view.summary(), view.estimate_gap()
        row = BatchRow(
            lesson=key.item,
            profile=key.strategy,
            seed=key.seed,
            students=len(config.students),
            status=result.status,
            quiz_before=_mean([s.quizzes[0] for s in summary if s.quizzes]),
            quiz_after=_mean([s.quizzes[-1] for s in summary if s.quizzes]),
            estimate_gap=gaps[-1][1] if gaps else None,
            messages=len(result.messages),
            simulated=config.simulated(),
            run_id=result.run_id,
        )
        return asdict(row)
