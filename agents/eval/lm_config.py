"""The config of LM students and the LM teacher's mind (the ``kind: lm`` branch of a ToM
sweep's ``students`` and the ``few_shot`` mental model), and the clients they build.

A model is a local ``transformers`` folder, loaded in-process by ``TransformersClient``
(nothing is downloaded); ``gemma3-270m`` names the converted Gemma 3 270M folder in
``$LYCEUM_CACHE`` (``~/.cache/lyceum/gemma3-270m-hf``). With ``cache`` set, every call goes
through ``CachedModel``, so a rerun of a sweep costs no model time for what it already
scored.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.eval.base import Demo, EvalItem
from agents.eval.lm import LMStudent, LMTeacherMind
from agents.models.base import ModelClient

__all__ = [
    "FewShotMindConfig",
    "LMModelSpec",
    "LMStudentConfig",
    "alternating_demos",
    "build_client",
    "build_mind",
    "build_student",
]

_NAMED = {"gemma3-270m": "gemma3-270m-hf"}


class LMModelSpec(BaseModel):
    """Which model, where it runs, and how its scoring calls are batched.

    Attributes:
        path: A local model folder, or ``gemma3-270m`` (the converted folder in
            ``$LYCEUM_CACHE``).
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto``.
        max_score_batch: Most scoring calls per forward pass.
        cache: A ``CachedModel`` file (relative to the sweep's base directory), or none.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1)
    device: str = "cpu"
    max_score_batch: int = Field(default=16, ge=1)
    cache: str | None = None

    def folder(self) -> Path:
        """The model folder this spec names."""
        if self.path in _NAMED:
            root = Path(os.environ.get("LYCEUM_CACHE", Path.home() / ".cache" / "lyceum"))
            return root / _NAMED[self.path]
        return Path(self.path).expanduser()


class LMStudentConfig(BaseModel):
    """LM students: one model, its own demonstrations drawn from the data set.

    Attributes:
        kind: ``lm``.
        model: The student's model.
        demos: How many demonstrations (without explanations, alternating answers) it is
            given before each question.
        max_tokens: The reply budget of a free-form (generated) answer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["lm"] = "lm"
    model: LMModelSpec
    demos: int = Field(default=2, ge=0)
    max_tokens: int = Field(default=24, ge=1)


class FewShotMindConfig(BaseModel):
    """The teacher's few-shot mental model (gold-answer likelihood).

    Attributes:
        kind: ``few_shot``.
        model: The teacher's model; none: the student's own (the same LM).
        shots: How many of the student's observed answers its prompt shows.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["few_shot"] = "few_shot"
    model: LMModelSpec | None = None
    shots: int = Field(default=2, ge=1)


def build_client(spec: LMModelSpec, base_dir: Path | None = None) -> ModelClient:
    """The in-process client of ``spec`` (loaded on its first call), cached if asked."""
    from agents.models import CachedModel, TransformersClient

    client: ModelClient = TransformersClient(
        spec.folder(), device=spec.device, max_score_batch=spec.max_score_batch, model=spec.path
    )
    if spec.cache is None:
        return client
    return CachedModel(client, (base_dir or Path.cwd()) / spec.cache)


def alternating_demos(items: Sequence[EvalItem], n: int) -> list[Demo]:
    """``n`` unexplained demonstrations from ``items`` in file order, their answers taking
    turns over the answers present (yes, no, yes, ...), so that no answer is favoured."""
    by_answer: dict[str, list[EvalItem]] = {}
    for item in items:
        by_answer.setdefault(item.answer, []).append(item)
    queues = list(by_answer.values())
    out: list[Demo] = []
    for rank in range(max((len(q) for q in queues), default=0)):
        out += [Demo(q[rank], "") for q in queues if rank < len(q)]
        if len(out) >= n:
            break
    return out[:n]


def build_student(config: LMStudentConfig, model: ModelClient, demos: Sequence[Demo]) -> LMStudent:
    """An ``LMStudent`` on ``model`` with the first ``config.demos`` of ``demos``."""
    return LMStudent(model, demos=demos[: config.demos], max_tokens=config.max_tokens)


def build_mind(config: FewShotMindConfig, model: ModelClient) -> LMTeacherMind:
    """An ``LMTeacherMind`` on ``model`` (the student's, unless ``config.model`` is set)."""
    return LMTeacherMind(model, shots=config.shots)
