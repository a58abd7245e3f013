"""``lyceum eval tutoring``: MathDial's interactive tutoring evaluation as a sweep.

A teacher persona tutors a student on each dialogue's problem of ``mathdial/dev.jsonl``
(the student starts from the dialogue's incorrect solution, with its profile), for each
teacher policy and seed; success@k and telling@k are scored as MathDial's evaluate.py
does (:mod:`agents.eval.mathdial_metrics`). The dataset's human teacher conversations,
scored the same way, are the reference row (policy ``human``). Every teacher turn is
labelled by the move classifier (``MoveClassifier``), so the report gives each policy's
move mix as measured on its text, not as its policy meant it.

Units (one stage): ``dialogue`` units ``(item = dialogue id, strategy = policy, seed)``
and ``human`` units ``(item, "human", seed 0)``. The students: ``simulated``
(``personas.minds.tutee``; results describe the simulation) or ``lm`` (MathDial's
student prompt on an OpenAI-compatible server).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agents.agent import Agent
from agents.eval.base import BadRecord, EpisodeKey, Payload, StudentKind
from agents.eval.mathdial_metrics import (
    at_k,
    first_mention,
    human_utterances,
    numerical_answer,
)
from agents.eval.tutoring_config import (
    DataSpec,
    LMStudentSpec,
    SimulatedStudentSpec,
    TutoringConfig,
)
from agents.eval.tutoring_models import TutoringModels
from agents.eval.tutoring_policies import POLICIES, Policy
from agents.eval.tutoring_report import TutoringPoint, tutoring_curves, tutoring_findings
from agents.eval.tutoring_run import run_seed, tutor
from agents.eval.tutoring_students import LMTutee, SimulatedTutee
from knowledge_graph.builders.data import data_file
from personas.learned.mathdial import MATHDIAL_FILE, MathDialDialogue, read_mathdial
from protocols import ConfigError, ModelClient
from protocols.config import validate_yaml

__all__ = ["DataSpec", "LMStudentSpec", "SimulatedStudentSpec", "TutoringConfig", "TutoringTask"]


def _policy(key: EpisodeKey) -> Policy:
    for policy in POLICIES:
        if key.strategy == policy:
            return policy
    raise ConfigError(f"unit {key.text()} names no teacher policy; known: {', '.join(POLICIES)}")


class TutoringTask:
    """The tutoring sweep (a ``SweepTask``). Holds the config; the dialogues, the learned
    models and the LM client are built lazily and dropped when pickled.

    Args:
        config: The sweep.
        base_dir: What relative paths in ``config`` are relative to.
        models: The learned models (default: loaded, or trained from the data folder).
        client: The LM student's model (default: built from ``config.student``).
    """

    kind = "tutoring"

    def __init__(
        self,
        config: TutoringConfig,
        *,
        base_dir: str | Path | None = None,
        models: TutoringModels | None = None,
        client: ModelClient | None = None,
    ) -> None:
        self.config = config
        self.base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
        self._models = models
        self._models_given = models is not None
        self._client = client
        self._client_given = client is not None
        self._dialogues: dict[str, MathDialDialogue] | None = None
        self._skipped: tuple[BadRecord, ...] = ()

    @classmethod
    def from_config(cls, path: str | Path, *, skip_bad: bool = False) -> TutoringTask:
        """The task of a YAML config file (relative paths: from the file's folder).
        ``skip_bad`` (``--skip-bad``) skips malformed records whatever the file says.

        Raises:
            ConfigError: The file is not a valid ``TutoringConfig`` (file, line, field).
        """
        config = validate_yaml(path, TutoringConfig)
        if skip_bad:
            data = config.data.model_copy(update={"skip_bad": True})
            config = config.model_copy(update={"data": data})
        return cls(config, base_dir=Path(path).parent)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_dialogues"] = None  # rebuilt lazily in the worker
        if not self._models_given:
            state["_models"] = None  # loaded (or trained) again in the worker
        if not self._client_given:
            state["_client"] = None  # an HTTP client stays in its process
        return state

    @property
    def student_kind(self) -> StudentKind:
        """Whether the students are simulated or LMs (the report says which)."""
        return self.config.student.kind

    def source(self) -> Path:
        """The dialogues file."""
        if self.config.data.path is None:
            return data_file(MATHDIAL_FILE, None)
        path = Path(self.config.data.path)
        return path if path.is_absolute() else self.base_dir / path

    def dialogues(self) -> dict[str, MathDialDialogue]:
        """The dialogues by id (``mathdial:<line>``), the first ``limit``."""
        if self._dialogues is None:
            found, bad = read_mathdial(self.source(), skip_bad=self.config.data.skip_bad)
            self._dialogues = {f"mathdial:{d.line}": d for d in found[: self.config.data.limit]}
            self._skipped = tuple(
                BadRecord(
                    e.path or str(self.source()),
                    e.line or 0,
                    f"field {e.field!r}: {e.problem}" if e.field else e.problem,
                )
                for e in bad
            )
        return self._dialogues

    @property
    def skipped(self) -> tuple[BadRecord, ...]:
        """The malformed records skipped under ``skip_bad`` (the report counts them)."""
        self.dialogues()
        return self._skipped

    def models(self) -> TutoringModels:
        """The move classifier and the policies' learned models."""
        if self._models is None:
            dir_ = Path(self.config.models_dir) if self.config.models_dir else None
            self._models = TutoringModels.load_or_train(
                self.source(), self.config.policies, models_dir=dir_
            )
        return self._models

    @property
    def data_sha256(self) -> str:
        """The hash of the dialogues file (the report states it)."""
        return hashlib.sha256(self.source().read_bytes()).hexdigest()

    def config_hash(self) -> str:
        data = self.data_sha256
        text = json.dumps({"config": self.config.model_dump(mode="json"), "data": data})
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def stages(self) -> int:
        return 1

    def units(self, stage: int, done: Mapping[EpisodeKey, Payload]) -> list[EpisodeKey]:
        if stage != 0:
            raise ConfigError(f"the tutoring sweep has one stage, not stage {stage}")
        keys = []
        for item in self.dialogues():
            if self.config.human:
                keys.append(EpisodeKey("human", item, "human", 0.0, 0))
            for policy in self.config.policies:
                keys += [
                    EpisodeKey("dialogue", item, policy, 0.0, s) for s in range(self.config.seeds)
                ]
        return keys

    def inputs(self, key: EpisodeKey, done: Mapping[EpisodeKey, Payload]) -> Payload:
        return {}

    def _student(self, dialogue: MathDialDialogue) -> Agent:
        spec = self.config.student
        if isinstance(spec, SimulatedStudentSpec):
            return SimulatedTutee("student", dialogue, spec.params())
        if self._client is None:
            from agents.models import OpenAIChatClient

            self._client = OpenAIChatClient(base_url=spec.base_url, model=spec.model)
        return LMTutee("student", dialogue, self._client)

    async def run(self, key: EpisodeKey, inputs: Payload) -> Payload:
        dialogue = self.dialogues()[key.item]
        models = self.models()
        answer = numerical_answer(dialogue.ground_truth)
        if key.kind == "human":
            utterances = human_utterances(dialogue)
            success, telling = at_k(
                utterances, numerical_answer(dialogue.ground_truth), self.config.max_k
            )
            decided = [t.move.value for t in dialogue.teacher_turns if t.move is not None]
            reason = "human"
        else:
            policy = _policy(key)
            done = await tutor(
                dialogue,
                policy,
                self._student(dialogue),
                seed=run_seed(key.seed, key.item),
                decider=models.decider(policy),
                rounds=self.config.rounds,
                max_k=self.config.max_k,
            )
            utterances, success, telling = (
                list(done.utterances),
                list(done.success),
                list(done.telling),
            )
            decided, reason = list(done.decided), done.reason
        teacher = [u.split(": ", 1)[1] for u in utterances if u.startswith("Teacher:")]
        return {
            "utterances": utterances,
            "success": success,
            "telling": telling,
            "moves": [m.value for m in models.moves.predict_many(teacher)] if teacher else [],
            "decided": decided,
            "reason": reason,
            "walkthrough_states_answer": first_mention("Student", utterances, answer) == 0,
        }

    def curves(self, results: Mapping[EpisodeKey, Payload]) -> list[TutoringPoint]:
        """success@k and telling@k per policy (and ``human``), with 95% CIs."""
        return tutoring_curves(results)

    def findings(self, results: Mapping[EpisodeKey, Payload]) -> str:
        """The report's Markdown: the metric table, the move mix, what they show."""
        return tutoring_findings(results, student_kind=self.student_kind)
