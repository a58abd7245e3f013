"""A small deterministic ``SweepTask`` for the runner's tests (importable by Ray workers and
subprocesses, so it lives in a module, not in a test).

Two stages, like the ToM sweep: stage 0 measures a per-item "signal" (a seeded score);
stage 1 answers each item under each strategy and budget, explaining the top ⌊B·N⌋ items
by that signal. Whether an item is answered correctly follows from a seeded draw, so the
numbers are arbitrary but reproducible: the tests check the runner, not a research result.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.eval.base import BadRecord, EpisodeKey, Payload
from protocols.config import validate_yaml


class FakeConfig(BaseModel):
    """The fake sweep's config."""

    model_config = ConfigDict(extra="forbid")

    items: int = Field(6, ge=1)
    seeds: int = Field(2, ge=1)
    strategies: list[str] = ["none", "random", "signal"]
    budgets: list[float] = [0.0, 0.5, 1.0]
    delay: float = Field(0.0, ge=0.0)
    fail_on: str | None = None  # a unit (EpisodeKey.text()) that raises


@dataclass(frozen=True)
class Point:
    """A curve point, as ``ToMTask.curves`` gives them."""

    strategy: str
    budget: float
    mean: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class KPoint:
    """A success@k-style point, as ``TutoringTask.curves`` gives them."""

    strategy: str
    metric: str
    k: int
    mean: float
    low: float
    high: float
    n: int


def _draw(*parts: object) -> float:
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return random.Random(digest).random()


def _ci(values: list[float]) -> tuple[float, float, float]:
    from scipy import stats

    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, mean, mean
    sem = stats.sem(values)
    if sem == 0 or math.isnan(sem):
        return mean, mean, mean
    low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=sem)
    return mean, float(low), float(high)


class FakeTask:
    """A deterministic two-stage sweep (see the module docs)."""

    kind = "tom"
    student_kind: Literal["simulated", "lm"] = "simulated"

    def __init__(self, config: FakeConfig | None = None, *, kind: str = "tom") -> None:
        self.config = config or FakeConfig()
        self.kind = kind
        self.data_sha256 = hashlib.sha256(b"fake items").hexdigest()
        self.skipped: tuple[object, ...] = ()

    @classmethod
    def from_config(cls, path: str | Path, *, skip_bad: bool = False) -> FakeTask:
        """Read the YAML config (errors name file, line and field); ``skip_bad`` pretends
        one malformed record was skipped."""
        task = cls(validate_yaml(path, FakeConfig))
        if skip_bad:
            task.skipped = (BadRecord("fake.jsonl", 3, "field 'answer' is missing"),)
        return task

    def config_hash(self) -> str:
        text = self.config.model_dump_json(exclude={"delay", "fail_on"}) + self.kind
        return hashlib.sha256(text.encode()).hexdigest()

    def stages(self) -> int:
        return 2

    def _items(self) -> list[str]:
        return [f"fake:{i}" for i in range(self.config.items)]

    def units(self, stage: int, done: Mapping[EpisodeKey, Payload]) -> list[EpisodeKey]:
        c = self.config
        if stage == 0:
            return [
                EpisodeKey("signal", item, "", 0.0, seed)
                for seed in range(c.seeds)
                for item in self._items()
            ]
        return [
            EpisodeKey("episode", item, strategy, budget, seed)
            for seed in range(c.seeds)
            for strategy in c.strategies
            for budget in c.budgets
            for item in self._items()
        ]

    def inputs(self, key: EpisodeKey, done: Mapping[EpisodeKey, Payload]) -> Payload:
        if key.kind == "signal":
            return {}
        signals = {
            k.item: float(p["score"])
            for k, p in done.items()
            if k.kind == "signal" and k.seed == key.seed
        }
        if key.strategy == "none":
            order: list[str] = []
        elif key.strategy == "random":
            order = sorted(signals, key=lambda item: _draw("order", key.seed, item))
        else:
            order = sorted(signals, key=lambda item: -signals[item])
        chosen = order[: math.floor(key.budget * len(signals) + 1e-9)]
        return {"explained": key.item in chosen}

    async def run(self, key: EpisodeKey, inputs: Payload) -> Payload:
        if self.config.delay:
            await asyncio.sleep(self.config.delay)
        if key.text() == self.config.fail_on:
            raise RuntimeError(f"unit {key.text()} failed on purpose")
        if key.kind == "signal":
            return {"score": round(_draw("signal", key.seed, key.item), 6)}
        p = 0.3 + (0.5 if inputs["explained"] else 0.0)
        correct = _draw("answer", key.seed, key.item) < p
        return {"correct": correct, "explained": inputs["explained"]}

    def curves(self, results: Mapping[EpisodeKey, Payload]) -> list[Point | KPoint]:
        if self.kind == "tutoring":
            return self._k_curves(results)
        points: list[Point | KPoint] = []
        for strategy in self.config.strategies:
            for budget in self.config.budgets:
                per_seed = []
                for seed in range(self.config.seeds):
                    got = [
                        float(p["correct"])
                        for k, p in results.items()
                        if (k.kind, k.strategy, k.budget, k.seed)
                        == ("episode", strategy, budget, seed)
                    ]
                    per_seed.append(sum(got) / len(got))
                points.append(Point(strategy, budget, *_ci(per_seed), len(per_seed)))
        return points

    def _k_curves(self, results: Mapping[EpisodeKey, Payload]) -> list[Point | KPoint]:
        points: list[Point | KPoint] = []
        for strategy in self.config.strategies:
            for metric in ("success", "telling"):
                for k in range(4):
                    per_seed = [
                        float(k >= 1 + (seed % 2) and metric == "success")
                        for seed in range(self.config.seeds)
                    ]
                    points.append(KPoint(strategy, metric, k, *_ci(per_seed), len(per_seed)))
        return points

    def findings(self, results: Mapping[EpisodeKey, Payload]) -> str:
        explained = [p["correct"] for k, p in results.items() if p.get("explained")]
        return f"- explained items answered correctly: {sum(explained)} of {len(explained)}"


class FakeTutoringTask(FakeTask):
    """The fake sweep as a tutoring task: its curves are success@k / telling@k points, with
    intervals over dialogues."""

    ci_over = "dialogues"

    def __init__(self, config: FakeConfig | None = None) -> None:
        super().__init__(config, kind="tutoring")


UNITS = "SELECT count(*) FROM sweep_units"
MID_RUN = (
    "SELECT count(*) FROM runs WHERE status = 'running' "
    "AND id IN (SELECT run_id FROM messages WHERE seq >= 20)"
)
"""Runs in flight, 20 messages or more into their run."""


def count_units(db: Path | str, query: str = UNITS) -> int:
    """How many sweep units the store at ``db`` holds (a SQLite file, or a database URL;
    0 before it exists), or the count of another ``query``."""
    import sqlite3

    if isinstance(db, str) and db.startswith("sqlite:///"):
        db = Path(db.removeprefix("sqlite:///"))  # never opened before it exists
    if isinstance(db, str):
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import SQLAlchemyError

        engine = create_engine(db)
        try:
            with engine.connect() as conn:
                return int(conn.execute(text(query)).scalar_one())
        except SQLAlchemyError:  # the schema is not there yet
            return 0
        finally:
            engine.dispose()
    if not db.exists():
        return 0
    # Read-only: a read-write connection that happens to be the file's last one checkpoints
    # and deletes its -wal and -shm files as it closes, under the process being watched
    # (once in about a dozen runs its store failed to open with "disk I/O error").
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute(query).fetchone()[0])
    except sqlite3.Error:  # the schema is not there yet, or the file is mid-write
        return 0
    finally:
        conn.close()


def kill_when_stored(
    script: str, db: Path | str, at_least: int, timeout: float = 60, *, mid_run: bool = False
) -> int:
    """Run ``script`` (``python -c``, the store URL as its argument) and SIGKILL it once
    ``db`` (a SQLite file or a database URL) holds ``at_least`` units and, with
    ``mid_run``, a run in flight (``MID_RUN``); returns how many units it holds after."""
    import os
    import signal
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    proc = subprocess.Popen([sys.executable, "-c", script, url], env=env)

    def ready() -> bool:
        return count_units(db) >= at_least and (not mid_run or count_units(db, MID_RUN) > 0)

    try:
        deadline = time.monotonic() + timeout
        while not ready() and time.monotonic() < deadline:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return count_units(db)
