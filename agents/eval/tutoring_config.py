"""The tutoring sweep's configuration (a YAML file; see ``examples/sweeps/``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.eval.mathdial_metrics import MAX_K
from agents.eval.tutoring_policies import Policy
from personas.minds.tutee import TuteeParams

__all__ = ["DataSpec", "LMStudentSpec", "SimulatedStudentSpec", "TutoringConfig"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSpec(_Strict):
    """Where the dialogues are: ``path`` (a ``dev.jsonl``; relative to the config file),
    else ``mathdial/dev.jsonl`` under ``LYCEUM_DATA_DIR``; the first ``limit`` of them.
    ``skip_bad`` skips malformed records (the report counts them) instead of stopping."""

    path: str | None = None
    limit: int | None = Field(default=None, gt=0)
    skip_bad: bool = False


class SimulatedStudentSpec(_Strict):
    """The simulated tutee, with its a-priori parameters (``TuteeParams``)."""

    kind: Literal["simulated"] = "simulated"
    accept: float = Field(default=TuteeParams.accept, ge=0, le=1)
    work_question: float = Field(default=TuteeParams.work_question, ge=0, le=1)
    work_statement: float = Field(default=TuteeParams.work_statement, ge=0, le=1)
    leap: float = Field(default=TuteeParams.leap, ge=0, le=1)
    recheck: float = Field(default=TuteeParams.recheck, ge=0, le=1)
    floor: float = Field(default=TuteeParams.floor, ge=0, le=1)

    def params(self) -> TuteeParams:
        return TuteeParams(**self.model_dump(exclude={"kind"}))


class LMStudentSpec(_Strict):
    """MathDial's LM student on an OpenAI-compatible server (``base_url``, ``model``)."""

    kind: Literal["lm"]
    base_url: str
    model: str


class TutoringConfig(_Strict):
    """A tutoring sweep.

    Attributes:
        data: The dialogues.
        policies: The teacher policies compared.
        seeds: Seeds 0 … seeds − 1 per (dialogue, policy).
        rounds: Student replies after which the teacher stops (MathDial scores k ≤ 7,
            i.e. the student's first 8 utterances).
        max_k: The largest k scored.
        human: Whether to score the human teachers' conversations as the reference row.
        student: The student.
        models_dir: Where the learned models are read from (and saved to when trained
            here); default ``$LYCEUM_CACHE/models``.
    """

    data: DataSpec = DataSpec()
    policies: tuple[Policy, ...] = ("telling_first", "probing_first", "bridge", "mathdial")
    seeds: int = Field(default=5, gt=0)
    rounds: int = Field(default=8, gt=0)
    max_k: int = Field(default=MAX_K, gt=0)
    human: bool = True
    student: SimulatedStudentSpec | LMStudentSpec = Field(
        default=SimulatedStudentSpec(), discriminator="kind"
    )
    models_dir: str | None = None
