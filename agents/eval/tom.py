"""The theory-of-mind intervention sweep (Saha, Hase & Bansal, 2023) as a ``SweepTask``:
budgets × strategies × students × seeds.

The unit of intervention is one student's item (a *pair*, ``"s3/item:eq-1"``): per seed,
a cohort of students answers every item, and the teacher may explain ⌊B·N⌋ of the N pairs.
Stages (each unit a pure function of its key and inputs):

0. ``fit`` (estimating mind only), one per seed: the teacher's population parameters,
   fitted on what it observed of earlier simulated students (their own seed).
1. ``signal``, one per (seed, pair): the student's unexplained answer and confidence; the
   teacher's mind, after seeing the student's pre-test answers, scores every candidate
   explanation by Û = P̂(correct | text) − P̂(correct) and picks the best; the teacher's
   confidence; the true utility from the student (for the oracle); the generic and the
   misleading alternatives.
2. ``episode``, one per (seed, strategy, budget, explained pair): the student's answer after
   reading the text the strategy gives. A pair a strategy does not explain is answered as
   in its signal (the same call: students are pure), so it is not run again. And
   ``multi`` (multi-turn): per student, the first half of its items (a seeded order) are
   explained and kept in context; each later item is answered with that context
   (``taught``) and without (``control``).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agents.eval.base import Dataset, Demo, EpisodeKey, Payload, StudentKind
from agents.eval.strategies import GENERIC, Signal, explained
from agents.eval.tom_config import ToMConfig
from agents.eval.tom_world import ToMWorld, load_items, pair_id, split_pair
from personas.minds.belief import MentalParams
from personas.minds.learner import PROFILES
from protocols import UserError

__all__ = ["ToMTask"]


class ToMTask:
    """A theory-of-mind sweep (implements ``agents.eval.SweepTask``).

    Args:
        config: The sweep.
        base_dir: Where relative data paths in ``config`` are read from (the config
            file's folder).
    """

    kind = "tom"

    def __init__(self, config: ToMConfig | None = None, *, base_dir: str | Path | None = None):
        self.config = config or ToMConfig()
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self._world: ToMWorld | None = None
        self._chosen: dict[tuple[int, str, float], dict[str, str]] = {}

    @classmethod
    def from_config(cls, path: str | Path, *, skip_bad: bool = False) -> ToMTask:
        """The task of a YAML config file (relative data paths are read from its folder);
        ``skip_bad`` (``--skip-bad``) skips malformed data records whatever the file says.

        Raises:
            ConfigError: Naming the file, line and field of the first problem.
        """
        config = ToMConfig.from_yaml(path)
        if skip_bad:
            dataset = config.dataset.model_copy(update={"skip_bad": True})
            config = config.model_copy(update={"dataset": dataset})
        return cls(config, base_dir=Path(path).parent)

    @property
    def dataset(self) -> Dataset:
        """The data set read (its hash and skipped records go in the report)."""
        return self.world.data

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config, "base_dir": self.base_dir}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"], base_dir=state["base_dir"])  # type: ignore[misc]

    @property
    def world(self) -> ToMWorld:
        """The data set, students and minds (built on first use, in each process)."""
        if self._world is None:
            data = load_items(self.config, self.base_dir)
            self._world = ToMWorld(self.config, data, base_dir=self.base_dir)
        return self._world

    @property
    def student_kind(self) -> StudentKind:
        """``"simulated"`` or ``"lm"`` (the report says which)."""
        return self.config.students.kind

    @property
    def series(self) -> tuple[str, ...]:
        """The curves: the configured strategies, and the generic contrast if it runs."""
        return (*self.config.strategies, *((GENERIC,) if self.config.contrast else ()))

    def config_hash(self) -> str:
        """A hash of the config and the data read."""
        blob = json.dumps(
            {"config": self.config.model_dump(mode="json"), "data": self.world.data.sha256},
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    def stages(self) -> int:
        """Three: fit, signals, episodes (and multi-turn)."""
        return 3

    def seeds(self) -> range:
        """The seeds of the sweep."""
        return range(self.config.seeds)

    def units(self, stage: int, done: Mapping[EpisodeKey, Payload]) -> list[EpisodeKey]:
        """The units of ``stage`` (see the module)."""
        if stage == 0:
            if self.config.mental_model.kind != "estimating":
                return []
            return [EpisodeKey("fit", "population", "", 0.0, s) for s in self.seeds()]
        pairs = self.world.pairs()
        if stage == 1:
            return [EpisodeKey("signal", p, "", 0.0, s) for s in self.seeds() for p in pairs]
        if stage != 2:
            raise UserError(f"a ToM sweep has stages 0, 1 and 2; got {stage}")
        self._chosen.clear()
        keys = []
        for seed in self.seeds():
            for strategy in self.series:
                for budget in self.config.budgets:
                    chosen = self._explained(seed, strategy, budget, done)
                    keys += [EpisodeKey("episode", p, strategy, budget, seed) for p in chosen]
            if self.config.multi_turn:
                keys += [
                    EpisodeKey("multi", p, arm, 0.0, seed)
                    for p in self._later(seed)
                    for arm in ("taught", "control")
                ]
        return keys

    def _signals(self, seed: int, done: Mapping[EpisodeKey, Payload]) -> dict[str, Signal]:
        return {
            p: Signal.of(done[EpisodeKey("signal", p, "", 0.0, seed)]) for p in self.world.pairs()
        }

    def _explained(
        self, seed: int, strategy: str, budget: float, done: Mapping[EpisodeKey, Payload]
    ) -> dict[str, str]:
        key = (seed, strategy, budget)
        if key not in self._chosen:
            self._chosen[key] = explained(strategy, self._signals(seed, done), budget)
        return self._chosen[key]

    def split(self, seed: int, student: int) -> tuple[list[str], list[str]]:
        """Multi-turn: the items a student is taught (the first half of a seeded order),
        and the later ones it is tested on."""
        order = sorted(i.id for i in self.world.data.items)
        random.Random(f"tom:{seed}:{student}:multi").shuffle(order)
        half = (len(order) + 1) // 2
        return order[:half], order[half:]

    def _later(self, seed: int) -> list[str]:
        return [pair_id(k, i) for k in range(self.world.cohort) for i in self.split(seed, k)[1]]

    def inputs(self, key: EpisodeKey, done: Mapping[EpisodeKey, Payload]) -> Payload:
        """What a unit needs: the fitted parameters (signals), the text (episodes), the
        explained items to keep in context (multi-turn)."""
        if key.kind == "signal" and self.config.mental_model.kind == "estimating":
            return {"params": done[EpisodeKey("fit", "population", "", 0.0, key.seed)]}
        if key.kind == "episode":
            return {"text": self._explained(key.seed, key.strategy, key.budget, done)[key.item]}
        if key.kind == "multi" and key.strategy == "taught":
            student, _ = split_pair(key.item)
            taught = self.split(key.seed, student)[0]
            texts = [
                done[EpisodeKey("signal", pair_id(student, i), "", 0.0, key.seed)]["text"]
                for i in taught
            ]
            return {"context": [[i, t] for i, t in zip(taught, texts, strict=True)]}
        return {}

    async def run(self, key: EpisodeKey, inputs: Payload) -> Payload:
        """Run one unit (deterministic: seeded by its key)."""
        if key.kind == "fit":
            return self._fit(key.seed)
        if key.kind == "signal":
            from agents.eval.tom_signal import signal

            return await signal(self.world, key, inputs.get("params"))
        student, item_id = split_pair(key.item)
        world = self.world
        item = world.by_id[item_id]
        learner = world.student(key.seed, student)
        if key.kind == "episode":
            text = str(inputs["text"])
            answer = await learner.answer(item, text)
            p = await learner.p_correct(item, text)
        elif key.kind == "multi":
            context = [Demo(world.by_id[i], t) for i, t in inputs.get("context", [])]
            answer = await learner.answer(item, context=context)
            p = await learner.p_correct(item, context=context)
        else:
            raise UserError(f"unknown unit kind {key.kind!r} ({key.text()})")
        return {"answer": answer.text, "correct": answer.correct, "p": p}

    def _fit(self, seed: int) -> Payload:
        from agents.eval.simulated import fit_population

        world = self.world
        students = self.config.students
        profiles = [PROFILES[p] for p in students.profiles]
        share = students.misconception_share
        params: MentalParams = fit_population(
            world.data.kg,
            world.learner_items,
            world.reader,
            n=self.config.mental_model.population,
            seed=10_000 + seed,
            profiles=profiles,
            share=share,
        )
        return dict(vars(params))

    def curves(self, results: Mapping[EpisodeKey, Payload]) -> list[Any]:
        """Accuracy vs budget per strategy, mean and 95% t-interval over seeds."""
        from agents.eval.analysis import curves

        return list(curves(results, self.series, self.config.budgets))

    def findings(self, results: Mapping[EpisodeKey, Payload]) -> str:
        """The must-show checks with their numbers (Markdown)."""
        from agents.eval.analysis import findings

        text = findings(results, self.series, self.config.budgets)
        if self.student_kind == "simulated":
            text = (
                "Students: **simulated** (a SIMULATION: these numbers describe the models of "
                "docs/simulation.md, never language models).\n\n" + text
            )
        return text
