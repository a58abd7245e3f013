"""The config of a classroom simulation (MAIC / SimClass): who is in the class, which mind
runs each role, the lesson, and the limits. ``lyceum classroom`` builds one from its
options, the Streamlit app from its form, and ``load_classroom_config`` from a YAML file
(errors name the file, the line and the field).

Every role is a ``Persona`` on a mind: ``simulated`` (documented cognitive models, no LLM;
labelled as simulation wherever results appear) or ``llm`` (an ``LLMMind`` over the
OpenAI-compatible ``model`` endpoint). The students are simulated learners with profiles
(``personas.PROFILES``); a real person may join as one more student (``human``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from personas import PROFILES
from protocols import UserError
from protocols.config import validate_yaml

__all__ = [
    "CLASSMATE_ROLES",
    "DEFAULT_ROSTER",
    "PROFILE_MISCONCEPTIONS",
    "ClassmateRole",
    "ClassroomConfig",
    "MindKind",
    "ModelEndpoint",
    "RoleMinds",
    "StudentSpec",
    "load_classroom_config",
    "roster",
]

MindKind = Literal["simulated", "llm"]
"""Which mind runs a role: a documented simulation, or an ``LLMMind`` over ``model``."""

ClassmateRole = Literal["class_clown", "deep_thinker", "note_taker", "inquisitive_mind"]
"""A classmate role of MAIC / SimClass (a built-in persona spec of the same name)."""

CLASSMATE_ROLES: tuple[ClassmateRole, ...] = (
    "class_clown",
    "deep_thinker",
    "note_taker",
    "inquisitive_mind",
)
"""The four classmate roles of MAIC / SimClass (built-in persona specs of the same names)."""

DEFAULT_ROSTER: tuple[tuple[str, str], ...] = (
    ("ada", "novice"),
    ("ben", "average"),
    ("cleo", "overconfident"),
    ("dev", "strong"),
)
"""(name, profile) of the simulated students ``roster(n)`` draws from, in order."""


PROFILE_MISCONCEPTIONS: dict[str, tuple[str, ...]] = {
    "novice": (
        "misconception:add_across",
        "misconception:same_operation",
        "misconception:divide_first",
    ),
    "average": ("misconception:subtract_across",),
    "overconfident": ("misconception:add_across", "misconception:cross_multiply"),
    "strong": (),
}
"""The misconceptions a student of each profile starts with (node ids of the sample
curriculum; on another curriculum, those of them its items exhibit)."""


class StudentSpec(BaseModel):
    """One simulated student.

    Attributes:
        name: Its agent name (letters, digits, ``_`` and ``-``).
        profile: Its learner parameters, a key of ``personas.PROFILES``.
        misconceptions: Misconception node ids it starts with; None takes its profile's
            defaults for the lesson (``PROFILE_MISCONCEPTIONS`` that the curriculum's
            items exhibit).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
    profile: str = "average"
    misconceptions: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _known_profile(self) -> StudentSpec:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}; choose from {', '.join(PROFILES)}")
        return self


class ModelEndpoint(BaseModel):
    """An OpenAI-compatible endpoint (``transformers serve``, vLLM, llama.cpp, any API).

    Attributes:
        base_url: Its URL, up to ``/v1``.
        model: The model name it serves.
        api_key_env: The environment variable that holds its key (never the key itself).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    model: str = Field(min_length=1)
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://\S+", value):
            raise ValueError(
                "must be an http(s) URL of an OpenAI-compatible server, up to /v1, "
                "such as http://127.0.0.1:8000/v1"
            )
        return value

    def api_key(self) -> str | None:
        """The key from the environment, or None when ``api_key_env`` is unset.

        Raises:
            UserError: ``api_key_env`` names a variable that is not set.
        """
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise UserError(
                f"the environment variable {self.api_key_env} (api_key_env) is not set; "
                f"export it with the server's key, or drop api_key_env"
            )
        return key


class RoleMinds(BaseModel):
    """Which mind runs each speaking role; None: ``llm`` when the config has a ``model``,
    else ``simulated``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    teacher: MindKind | None = None
    teaching_assistant: MindKind | None = None
    classmates: MindKind | None = None

    def of(
        self, role: Literal["teacher", "teaching_assistant", "classmates"], llm: bool
    ) -> MindKind:
        """The mind of ``role`` given whether a model endpoint is configured."""
        chosen: MindKind | None = getattr(self, role)
        return chosen if chosen is not None else ("llm" if llm else "simulated")


def roster(n: int) -> list[StudentSpec]:
    """``n`` simulated students from ``DEFAULT_ROSTER``, cycling its profiles past four
    (names get a number: ``ada2``)."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 64:
        raise UserError(f"a class has 1 to 64 simulated students, got {n!r}")
    out = []
    for i in range(n):
        name, profile = DEFAULT_ROSTER[i % len(DEFAULT_ROSTER)]
        out.append(
            StudentSpec(
                name=name + (str(i // len(DEFAULT_ROSTER) + 1) if i >= 4 else ""), profile=profile
            )
        )
    return out


class ClassroomConfig(BaseModel):
    """A classroom run.

    Attributes:
        lesson: The concept to teach: a ``Concept`` node id (``concept:fractions``) or its
            key (``fractions``). Its prerequisite concepts come first.
        curriculum: A curriculum YAML file (``knowledge_graph.builders.curriculum_graph``);
            None: the sample curriculum shipped with the package.
        students: The simulated students (1 to 64).
        human: The name of a real person joining as a student, or None.
        classmates: Which classmate roles take part (``CLASSMATE_ROLES``).
        teaching_assistant: Whether the teaching assistant takes part.
        reviewer: Whether a reviewer checks the teacher's explanations and hints before
            the students hear them (Teacher-Reviewer-Student).
        turns: Classroom turns: how many times the director gives someone the floor.
        seed: Seeds the students, the director and every other random choice.
        model: The endpoint ``llm`` minds call.
        minds: Which mind runs each role.
        seconds: The run's wall-time budget.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    lesson: str = "fractions"
    curriculum: str | None = None
    students: tuple[StudentSpec, ...] = Field(
        default_factory=lambda: tuple(roster(4)), min_length=1, max_length=64
    )
    human: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
    classmates: tuple[ClassmateRole, ...] = CLASSMATE_ROLES
    teaching_assistant: bool = True
    reviewer: bool = False
    turns: int = Field(default=40, ge=1, le=10_000)
    seed: int = Field(default=0, ge=0)
    model: ModelEndpoint | None = None
    minds: RoleMinds = RoleMinds()
    seconds: float = Field(default=600.0, gt=0, le=86_400)

    @model_validator(mode="after")
    def _consistent(self) -> ClassroomConfig:
        names = [s.name for s in self.students] + ([self.human] if self.human else [])
        taken = {"director", "teacher", "teaching_assistant", "reviewer", "user", *CLASSMATE_ROLES}
        clash = sorted({n for n in names if n in taken or names.count(n) > 1})
        if clash:
            raise ValueError(
                f"student names must be unique and not a role name; rename {', '.join(clash)}"
            )
        wants_llm = [
            r
            for r in ("teacher", "teaching_assistant", "classmates")
            if getattr(self.minds, r) == "llm"
        ]
        if wants_llm and self.model is None:
            raise ValueError(
                f"minds.{wants_llm[0]} is 'llm' but no model is given; set model "
                "(base_url and model) or make it 'simulated'"
            )
        return self

    def simulated(self) -> bool:
        """True when no role runs on an LLM: every result is a simulation's."""
        has_model = self.model is not None
        return all(
            self.minds.of(r, has_model) == "simulated"
            for r in ("teacher", "teaching_assistant", "classmates")
        )


def load_classroom_config(path: str | Path) -> ClassroomConfig:
    """A ``ClassroomConfig`` from a YAML file.

    Raises:
        ConfigError: Naming the file, the line and the field, with the fix.
    """
    return validate_yaml(path, ClassroomConfig)
