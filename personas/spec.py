"""Persona specs: who a persona is, as data. Loadable from YAML; every error names the
file, the line and the field path, and nothing starts until the spec is valid."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from protocols import ConfigError, UserError
from protocols.config import load_yaml, validate_yaml

__all__ = ["BUILTIN_PERSONAS", "PersonaSpec", "builtin_persona", "load_persona"]

BUILTIN_PERSONAS = (
    "teacher",
    "student",
    "reviewer",
    "simulated_patient",
    "teaching_assistant",
    "class_clown",
    "deep_thinker",
    "note_taker",
    "inquisitive_mind",
)


class PersonaSpec(BaseModel):
    """A persona.

    Attributes:
        name: The agent name it runs under.
        role: What it does in a conversation (teacher, student, reviewer, …).
        profile: Who it is, in a sentence or two (used in prompts and by simulated minds).
        goals: What it tries to achieve.
        style: How it speaks.
        knowledge_scope: Knowledge-graph labels or node ids it may draw on.
        mind: ``llm`` (a model writes its turns) or ``simulated`` (a documented cognitive
            model, no LLM).
        model: The model client to use when ``mind`` is ``llm``.
        expert: An expert from the expert registry, instead of ``model``.
        tools: Conceptual tools it may plan with.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    role: str = Field(min_length=1)
    profile: str = ""
    goals: tuple[str, ...] = ()
    style: str = ""
    knowledge_scope: tuple[str, ...] = ()
    mind: Literal["llm", "simulated"]
    model: str | None = None
    expert: str | None = None
    tools: tuple[str, ...] = ()


def load_persona(path: str | Path) -> PersonaSpec:
    """Load and check a persona YAML file.

    Raises:
        ConfigError: Unknown field, wrong type, or an ``llm`` mind with neither ``model``
            nor ``expert``, naming the file, line and field.
    """
    data, lines = load_yaml(path)
    spec = validate_yaml(path, PersonaSpec, data, lines)
    if spec.mind == "llm" and not (spec.model or spec.expert):
        raise ConfigError(
            "mind 'llm' needs a 'model' (a model client name) or an 'expert' (from the "
            "expert registry); add one, or use mind: simulated",
            path=str(path),
            line=lines.line(("mind",)),
            field="model",
        )
    return spec


def builtin_persona(name: str) -> PersonaSpec:
    """One of the shipped persona specs (``BUILTIN_PERSONAS``)."""
    if name not in BUILTIN_PERSONAS:
        raise UserError(f"no built-in persona {name!r}; choose from {', '.join(BUILTIN_PERSONAS)}")
    return load_persona(Path(str(resources.files("personas.specs") / f"{name}.yaml")))
