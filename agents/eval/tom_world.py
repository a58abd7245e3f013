"""What a theory-of-mind sweep runs on, built once per process from its config: the data
set, the students, the teacher's mind and the explanation sources (``ToMTask`` holds the
config and builds this lazily, so the task pickles small for Ray workers)."""

from __future__ import annotations

import importlib
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from agents.eval.base import Dataset, Demo, EvalItem, ExplanationSource, Student, TeacherMind
from agents.eval.datasets import load_dataset
from agents.eval.explainers import GoldExplanations, MisleadingExplanations
from agents.eval.kg_explainers import KGExplanations
from agents.eval.llm_explainer import tom_explainer
from agents.eval.simulated import CohortStudent, EstimatingTeacherMind
from agents.eval.tom_config import ToMConfig
from personas.minds.belief import MentalParams
from personas.minds.learner import PROFILES
from personas.minds.mental_model import EstimatingMentalModel
from personas.minds.reading import ReadingModel
from personas.simulated import learner_items
from protocols import ConfigError

__all__ = ["ToMWorld", "load_items", "pair_id", "split_pair"]


def pair_id(student: int, item: str) -> str:
    """The sweep's unit of intervention: one student's item (``"s3/item:eq-1"``)."""
    return f"s{student}/{item}"


def split_pair(pair: str) -> tuple[int, str]:
    """``(student, item id)`` of a ``pair_id``."""
    student, item = pair.split("/", 1)
    return int(student[1:]), item


def load_items(config: ToMConfig, base_dir: Path | None) -> Dataset:
    """The config's data set (a relative ``path`` is read from ``base_dir``)."""
    spec = config.dataset
    path = Path(spec.path) if spec.path else None
    if path is not None and not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return load_dataset(spec.name, path, limit=spec.limit, skip_bad=spec.skip_bad)


@dataclass
class ToMWorld:
    """The sweep's data set, reader, students, minds and explanation sources."""

    config: ToMConfig
    data: Dataset
    _minds: dict[tuple[int, int, str], TeacherMind] = field(default_factory=dict)
    _sources: dict[str, ExplanationSource] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict)
    base_dir: Path | None = None

    def __post_init__(self) -> None:
        self.by_id: dict[str, EvalItem] = {i.id: i for i in self.data.items}
        self.reader = ReadingModel(self.data.kg)
        self.learner_items = learner_items(self.data.kg) if self.simulated else {}
        missing = [i for i in self.by_id if self.simulated and i not in self.learner_items]
        if missing:
            raise ConfigError(
                f"{len(missing)} item(s) (e.g. {missing[0]!r}) have no Item node with an answer "
                "that REQUIRES a skill, so simulated students cannot answer them",
                field="dataset",
            )
        self.demos: list[Demo] = []
        if not self.simulated:  # the LM student's demonstrations: shown, so never tested
            lm = importlib.import_module("agents.eval.lm_config")
            self.demos = lm.alternating_demos(self.data.items, self.config.students.demos)
        self.tested = [i for i in self.data.items if i.id not in {d.item.id for d in self.demos}]

    @property
    def simulated(self) -> bool:
        return self.config.students.kind == "simulated"

    @property
    def cohort(self) -> int:
        return self.config.students.cohort if self.simulated else 1

    def pairs(self) -> list[str]:
        """Every (student, item) of one seed, in a fixed order: every item but an LM
        student's demonstrations (their answers are in its prompt)."""
        return [pair_id(k, i.id) for k in range(self.cohort) for i in self.tested]

    def student(self, seed: int, index: int) -> Student:
        """Student ``index`` of the cohort of ``seed``."""
        s = self.config.students
        if self.simulated:
            return CohortStudent(
                self.learner_items,
                self.reader,
                seed,
                index,
                tuple(PROFILES[p] for p in s.profiles),
                s.misconception_share,
            )
        return cast(Student, self._lm_student())

    def pretest(self, seed: int, index: int, item: EvalItem) -> list[EvalItem]:
        """The items the teacher sees the student answer before deciding about ``item``.
        A simulated student answers them on an earlier occasion (fresh draws, so the
        item itself may be among them); a deterministic LM student's answer to ``item``
        would be its test answer, so it is left out."""
        items = sorted(self.tested, key=lambda i: i.id)  # the data set's order aside
        if self.config.diagnostic is not None and self.config.diagnostic < len(items):
            rng = random.Random(f"tom:{seed}:{index}:diagnostic")
            items = rng.sample(items, self.config.diagnostic)
        return items if self.simulated else [i for i in items if i.id != item.id]

    async def mind(
        self, seed: int, index: int, item: EvalItem, params: Mapping[str, Any] | None
    ) -> tuple[TeacherMind, float | None]:
        """The teacher's mind of student ``index`` after its pre-test, and its largest
        P̂(active) of a misconception ``item`` exhibits (``None`` for an LM mind)."""
        key = (seed, index, "" if self.simulated else item.id)
        if key not in self._minds:
            if len(self._minds) > 512:
                self._minds.clear()
            mind = self.fresh_mind(seed, params)
            student = self.student(seed, index)
            earlier = student.on("pretest") if isinstance(student, CohortStudent) else student
            for seen in self.pretest(seed, index, item):
                await mind.observe(seen, await earlier.answer(seen))
            self._minds[key] = mind
        mind = self._minds[key]
        belief = (
            mind.misconception_belief(item) if isinstance(mind, EstimatingTeacherMind) else None
        )
        return mind, belief

    def fresh_mind(self, seed: int, params: Mapping[str, Any] | None) -> TeacherMind:
        """The teacher's mind before it has seen anything of a student."""
        if self.config.mental_model.kind == "estimating":
            fitted = MentalParams(**params) if params else MentalParams()
            model = EstimatingMentalModel(self.learner_items, self.reader, fitted)
            return EstimatingTeacherMind(model)
        return cast(TeacherMind, self._lm_mind())

    def _client(self, spec: Mapping[str, Any]) -> Any:
        """The model client of an ``LMModelSpec`` (one per spec and process)."""
        key = repr(sorted(spec.items()))
        if key not in self._clients:
            lm = importlib.import_module("agents.eval.lm_config")
            self._clients[key] = lm.build_client(lm.LMModelSpec(**spec), self.base_dir)
        return self._clients[key]

    def _lm_student(self) -> Any:
        """The LM student (``agents.eval.lm_config``): the same for every seed, as a
        deterministic model is; its demonstrations are the data set's first items."""
        lm = importlib.import_module("agents.eval.lm_config")
        s = self.config.students
        spec = lm.LMModelSpec(**s.model)
        config = lm.LMStudentConfig(model=spec, demos=s.demos, max_tokens=s.max_tokens)
        return lm.build_student(config, self._client(s.model), self.demos)

    def _lm_mind(self) -> Any:
        """A fresh few-shot mind of the student (the student's own model unless the
        config names another)."""
        lm = importlib.import_module("agents.eval.lm_config")
        m = self.config.mental_model
        spec = m.model if m.model is not None else self.config.students.model
        config = lm.FewShotMindConfig(shots=m.shots)
        return lm.build_mind(config, self._client(spec))

    def source(self, role: str) -> ExplanationSource:
        """The explanations for ``role``: ``"teacher"``, ``"generic"`` or ``"misleading"``
        (built once per process)."""
        if role not in self._sources:
            self._sources[role] = self._source(role)
        return self._sources[role]

    def _source(self, role: str) -> ExplanationSource:
        e = self.config.explanations
        if e.source == "kg" or role == "generic":
            mode = {"teacher": e.kg, "generic": "generic", "misleading": "misleading"}[role]
            if e.source != "kg" and role == "misleading":
                return self._data_source("misleading")
            return KGExplanations(self.data.kg, mode)  # type: ignore[arg-type]
        return self._data_source(e.source if role == "teacher" else role)

    def _data_source(self, name: str) -> ExplanationSource:
        """A source another module provides: ``gold`` and ``misleading`` from
        ``agents.eval.explainers``, ``llm`` from ``agents.eval.llm_explainer``."""
        if name == "gold":
            return GoldExplanations()
        if name == "misleading":  # the data folder of the config, else LYCEUM_DATA_DIR
            folder = Path(self.config.dataset.path) if self.config.dataset.path else None
            return MisleadingExplanations(folder if folder and folder.is_dir() else None)
        return tom_explainer(self.config)
