"""The typed configuration of a theory-of-mind sweep (``lyceum eval tom --config FILE``).

Every field has a default, so ``ToMConfig()`` is the default offline sweep: simulated
students on the sample curriculum, knowledge-graph explanations, the estimating mental
model, all seven strategies, budgets 0, .2, …, 1 and five seeds. A YAML file overrides
what it names; a typo or a bad value is a ``ConfigError`` naming the file, line and field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from agents.eval.strategies import STRATEGIES, Strategy
from personas.minds.learner import PROFILES
from personas.minds.population import MISCONCEPTION_SHARE
from protocols.config import validate_yaml

__all__ = [
    "DatasetSpec",
    "ExplanationSpec",
    "MentalModelSpec",
    "StudentsSpec",
    "ToMConfig",
]

BUDGETS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetSpec(_Strict):
    """Which items: ``name`` (``sample`` is built in; the others are read from ``path`` or
    ``LYCEUM_DATA_DIR``), at most ``limit`` of them, skipping malformed records when
    ``skip_bad``."""

    name: Literal["sample", "gsm8k", "strategyqa", "ecqa"] = "sample"
    path: str | None = None
    limit: int | None = Field(default=None, ge=1)
    skip_bad: bool = False


class StudentsSpec(_Strict):
    """The students of each seed.

    Attributes:
        kind: ``simulated``: a cohort of ``cohort`` simulated learners, each drawn from
            ``profiles`` (names of ``personas.minds.PROFILES``) and holding each
            misconception the items exhibit with probability ``misconception_share``.
            ``lm``: one language-model student per seed answering through a model client
            that scores (``agents.eval.lm``): ``model`` is its ``LMModelSpec`` (path,
            device, max_score_batch, cache), with ``demos`` unexplained demonstrations
            and ``max_tokens`` for a free-form answer.
    """

    kind: Literal["simulated", "lm"] = "simulated"
    cohort: int = Field(default=100, ge=1)
    profiles: tuple[str, ...] = tuple(PROFILES)
    misconception_share: float = Field(default=MISCONCEPTION_SHARE, ge=0.0, le=1.0)
    model: dict[str, Any] = Field(default_factory=dict)
    demos: int = Field(default=2, ge=0)
    max_tokens: int = Field(default=24, ge=1)

    @field_validator("profiles")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [p for p in value if p not in PROFILES]
        if unknown or not value:
            raise ValueError(
                f"unknown profile(s) {unknown}; known: {', '.join(PROFILES)}"
                if unknown
                else "name at least one profile"
            )
        return value


class ExplanationSpec(_Strict):
    """Where explanations come from, and what the misaligned teacher gives.

    Attributes:
        source: ``kg`` (the knowledge graph), ``gold`` (the data's own), ``llm`` (an LLM
            teacher persona).
        kg: For ``kg``: ``personalised`` (the teacher picks, by Û, among the generic text
            and the remedies of its skill's misconceptions) or ``generic``.
        misaligned: ``misleading`` (the misaligned teacher gives misleading texts: the
            graph's misconception descriptions, or the data's harmful explanations) or
            ``lowest_utility`` (it gives its chosen text, to the lowest-Û items).
        contrast_generic: Also run ``expected_utility_generic`` (personalised vs generic;
            ``kg`` with ``personalised`` only).
    """

    source: Literal["kg", "gold", "llm"] = "kg"
    kg: Literal["personalised", "generic"] = "personalised"
    misaligned: Literal["misleading", "lowest_utility"] = "misleading"
    contrast_generic: bool = True


class MentalModelSpec(_Strict):
    """The teacher's mental model: ``estimating`` (``EstimatingMentalModel``, fitted on
    ``population`` earlier simulated students) or ``few_shot`` (an LM simulating the
    student from its ``shots`` latest observed answers, ``agents.eval.lm``; ``model`` is its
    ``LMModelSpec``, by default the student's own: "the same LM")."""

    kind: Literal["estimating", "few_shot"] = "estimating"
    population: int = Field(default=300, ge=1)
    model: dict[str, Any] | None = None
    shots: int = Field(default=2, ge=1)


class ToMConfig(_Strict):
    """A theory-of-mind intervention sweep.

    Attributes:
        dataset: The items.
        students: ``kind: simulated`` (a cohort per seed) or ``kind: lm``.
        explanations: Where explanations come from.
        mental_model: The teacher's model of the student.
        strategies: Intervention functions to compare (default: all seven).
        budgets: Fractions of the items explained, in [0, 1].
        seeds: How many seeds (0 … seeds − 1); 95% CIs are over seeds.
        diagnostic: How many items the teacher sees each student answer on a pre-test
            before deciding (``None``: every item).
        multi_turn: Also measure multi-turn teaching (explained items kept in context).
    """

    dataset: DatasetSpec = DatasetSpec()
    students: StudentsSpec = StudentsSpec()
    explanations: ExplanationSpec = ExplanationSpec()
    mental_model: MentalModelSpec = Field(default=MentalModelSpec(), validate_default=True)
    strategies: tuple[Strategy, ...] = STRATEGIES
    budgets: tuple[float, ...] = BUDGETS
    seeds: int = Field(default=5, ge=1)
    diagnostic: int | None = Field(default=None, ge=0)
    multi_turn: bool = True

    @field_validator("budgets")
    @classmethod
    def _budgets(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        bad = [b for b in value if not 0.0 <= b <= 1.0]
        if bad or not value:
            raise ValueError(f"budgets are fractions in [0, 1]; got {list(value)}")
        return tuple(sorted(set(value)))

    @field_validator("mental_model")
    @classmethod
    def _mind_for(cls, value: MentalModelSpec, info: ValidationInfo) -> MentalModelSpec:
        students = info.data.get("students")
        if students is not None and students.kind == "lm" and value.kind == "estimating":
            raise ValueError(
                "LM students need the few_shot mental model (the estimating one models "
                "simulated learners): set mental_model: {kind: few_shot}"
            )
        return value

    @field_validator("strategies")
    @classmethod
    def _strategies(cls, value: tuple[Strategy, ...]) -> tuple[Strategy, ...]:
        if not value:
            raise ValueError(f"name at least one strategy of {', '.join(STRATEGIES)}")
        return tuple(dict.fromkeys(value))

    @property
    def contrast(self) -> bool:
        """Whether the personalised-vs-generic contrast runs."""
        e = self.explanations
        return e.source == "kg" and e.kg == "personalised" and e.contrast_generic

    @classmethod
    def from_yaml(cls, path: str | Path) -> ToMConfig:
        """Load and validate a YAML config.

        Raises:
            ConfigError: Naming the file, line and field of the first problem.
        """
        return validate_yaml(path, cls)
