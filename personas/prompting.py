"""Prompt templates as data: Jinja files in ``personas/prompts``, rendered with
``StrictUndefined`` from typed variables. A missing variable is an error, never a blank."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, UndefinedError
from pydantic import BaseModel, ConfigDict

from personas.spec import PersonaSpec
from protocols import ToolResult, UserError

__all__ = [
    "TEMPLATES",
    "ExecuteVars",
    "MetaExplainVars",
    "MetaPlanVars",
    "MetaRegenerateVars",
    "MetaStepVars",
    "Observation",
    "PlanVars",
    "SimulateVars",
    "ThinkVars",
    "ThoughtVars",
    "ToolInfo",
    "render_prompt",
]


class _Vars(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThoughtVars(_Vars):
    knowledge: str
    misconception: str | None = None
    emotion: str | None = None
    guideline: str


class ToolInfo(_Vars):
    name: str
    description: str


class ThinkVars(_Vars):
    persona: PersonaSpec
    history: list[str]
    sender: str
    message: str
    context: str = ""


class PlanVars(_Vars):
    persona: PersonaSpec
    sender: str
    thought: ThoughtVars
    tools: list[ToolInfo]


class ExecuteVars(_Vars):
    persona: PersonaSpec
    sender: str
    message: str
    thought: ThoughtVars
    results: list[ToolResult]
    kinds: list[str]


class Observation(_Vars):
    """One real past answer of a student, with the explanation it followed, if any."""

    question: str
    answer: str
    correct: bool
    explanation: str | None = None


class SimulateVars(_Vars):
    examples: list[Observation]
    question: str
    explanation: str | None = None


class MetaPlanVars(_Vars):
    """The meta-agent's action generator: the task to split into steps."""

    task: str
    inputs: dict[str, Any]


class MetaRegenerateVars(_Vars):
    """The meta-agent's action generator, after a step failed."""

    step: str
    error: str
    tried: list[str]


class MetaExplainVars(_Vars):
    """The rule-based plan's explain step: the instruction given to the expert."""

    question: str
    student_answer: str


class MetaStepVars(_Vars):
    """An expert step's prompt: its instruction, then the earlier steps' notes."""

    instruction: str
    notes: list[str]


TEMPLATES: dict[str, type[_Vars]] = {
    "think": ThinkVars,
    "plan": PlanVars,
    "execute": ExecuteVars,
    "simulate_student": SimulateVars,
    "meta_plan": MetaPlanVars,
    "meta_regenerate": MetaRegenerateVars,
    "meta_explain": MetaExplainVars,
    "meta_step": MetaStepVars,
}
"""Every template and the type of its variables."""


def _json(value: object) -> str:
    """The ``json`` filter: a tool output (a pydantic model) or plain value as JSON."""
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, default=str)


@cache
def _template(name: str) -> Template:
    env = Environment(
        loader=PackageLoader("personas", "prompts"),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
    )
    env.filters["json"] = _json
    return env.get_template(f"{name}.jinja")


def render_prompt(name: str, variables: BaseModel) -> str:
    """Render template ``name`` with ``variables`` (an instance of ``TEMPLATES[name]``)."""
    expected = TEMPLATES.get(name)
    if expected is None:
        raise UserError(f"no prompt template {name!r}; templates: {', '.join(TEMPLATES)}")
    if not isinstance(variables, expected):
        raise UserError(
            f"template {name!r} takes {expected.__name__}, got {type(variables).__name__}"
        )
    values: dict[str, Any] = {k: getattr(variables, k) for k in type(variables).model_fields}
    try:
        return _template(name).render(**values)
    except UndefinedError as exc:
        raise UserError(f"template {name!r} uses an undefined variable: {exc}") from None
