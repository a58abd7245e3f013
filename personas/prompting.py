"""Prompt templates as data: Jinja files in ``personas/prompts``, rendered with
``StrictUndefined`` from typed variables. A missing variable is an error, never a blank."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, UndefinedError
from pydantic import BaseModel, ConfigDict, Field

from personas.spec import PersonaSpec
from protocols import ToolResult, UserError

__all__ = [
    "TEMPLATES",
    "AnswerDemo",
    "AnswerItemVars",
    "ExecuteVars",
    "ExpertInfo",
    "ExplainItemVars",
    "MathDialStudentVars",
    "MetaExplainVars",
    "MetaPlanVars",
    "MetaRegenerateVars",
    "MetaStepVars",
    "Observation",
    "PlanVars",
    "SimulateAnswerVars",
    "SimulateVars",
    "SystemVars",
    "ThinkVars",
    "ThoughtVars",
    "ToolInfo",
    "render_prompt",
    "schema_text",
]


class _Vars(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThoughtVars(_Vars):
    """The Think phase's output: the reading of the interlocutor and a guideline."""

    knowledge: str = Field(description="What the interlocutor knows, in a sentence.")
    misconception: str | None = Field(
        default=None,
        description="The misconception behind their words: the id of a Misconception node "
        "from the knowledge given (e.g. misconception:add_across) when one fits, otherwise "
        "a short description; null if none is seen.",
    )
    emotion: str | None = Field(default=None, description="Their emotion; null if unclear.")
    guideline: str = Field(description="One sentence: how to reply.")


class ToolInfo(_Vars):
    """A tool as a planner sees it: its name, description and argument model."""

    name: str
    description: str
    arguments: type[BaseModel]


class ExpertInfo(_Vars):
    """An expert as a planner sees it: its name and the skills it serves."""

    name: str
    skills: list[str]


class SystemVars(_Vars):
    """A persona's system prompt: who it is, from its spec."""

    persona: PersonaSpec


class ThinkVars(_Vars):
    """Think: the conversation before the message, the message, and the knowledge-graph
    context (lines ``[node-id] (labels) text``) retrieved for it."""

    history: list[str]
    sender: str
    message: str
    context: str = ""
    output: type[BaseModel]


class PlanVars(_Vars):
    """Plan: the thought, and the tools the persona may call."""

    sender: str
    thought: ThoughtVars
    tools: list[ToolInfo]
    output: type[BaseModel]


class ExecuteVars(_Vars):
    """Execute: the conversation, the thought, the tool results and the allowed kinds."""

    history: list[str]
    sender: str
    message: str
    thought: ThoughtVars
    results: list[ToolResult]
    kinds: list[str]
    context: str = ""
    output: type[BaseModel]


class Observation(_Vars):
    """One real past answer of a student, with the explanation it followed, if any."""

    question: str
    answer: str
    correct: bool
    explanation: str | None = None


class SimulateVars(_Vars):
    """The few-shot mental model, stated variant: the student's past answers, the
    question (and explanation), and the schema of the stated probability."""

    examples: list[Observation]
    question: str
    explanation: str | None = None
    output: type[BaseModel]


class SimulateAnswerVars(_Vars):
    """The few-shot mental model, likelihood variant: the student's past answers, then
    the question (and explanation); the prompt ends where the student's answer begins,
    and the gold answer's log-probability is scored there."""

    examples: list[Observation]
    question: str
    explanation: str | None = None


class MetaPlanVars(_Vars):
    """The meta-agent's action generator: the task to split into steps, and who can do
    them (experts with their skills, tools with their argument models)."""

    task: str
    skills: list[str]
    inputs: dict[str, Any]
    experts: list[ExpertInfo]
    tools: list[ToolInfo]
    output: type[BaseModel]


class MetaRegenerateVars(_Vars):
    """The meta-agent's action generator, after a step failed."""

    step: str
    error: str
    tried: list[str]
    experts: list[ExpertInfo]
    tools: list[ToolInfo]
    output: type[BaseModel]


class MetaExplainVars(_Vars):
    """The rule-based plan's explain step: the instruction given to the expert."""

    question: str
    student_answer: str


class MetaStepVars(_Vars):
    """An expert step's prompt: its instruction, then the earlier steps' notes."""

    instruction: str
    notes: list[str]


class AnswerDemo(_Vars):
    """One demonstration in an LM student's prompt: a question, the explanation that came
    with it (if any), and its answer."""

    question: str
    explanation: str | None = None
    answer: str


class AnswerItemVars(_Vars):
    """An LM student answering an item (``agents.eval.LMStudent``): its demonstrations,
    then the question (and the teacher's explanation); the prompt ends where the answer
    begins, so the options are scored there or the answer is generated."""

    demos: list[AnswerDemo]
    question: str
    explanation: str | None = None


class ExplainItemVars(_Vars):
    """An LLM teacher persona writing an explanation for an item
    (``agents.eval.LLMExplanations``): who it is, the question, and the answer when the
    teacher is told it."""

    persona: PersonaSpec
    question: str
    answer: str | None = None


class MathDialStudentVars(_Vars):
    """MathDial's LM student (``interactivetutoring/students.py``): its persona, the
    problem, its incorrect solution, its name and the dialogue so far (``"Role: text"``
    utterances, oldest first); the prompt ends where the student's next turn begins."""

    persona: str
    problem: str
    solution: str
    name: str
    history: list[str]


TEMPLATES: dict[str, type[_Vars]] = {
    "system": SystemVars,
    "think": ThinkVars,
    "plan": PlanVars,
    "execute": ExecuteVars,
    "simulate_student": SimulateVars,
    "simulate_answer": SimulateAnswerVars,
    "meta_plan": MetaPlanVars,
    "meta_regenerate": MetaRegenerateVars,
    "meta_explain": MetaExplainVars,
    "meta_step": MetaStepVars,
    "answer_item": AnswerItemVars,
    "explain_item": ExplainItemVars,
    "mathdial_student": MathDialStudentVars,
}
"""Every template and the type of its variables."""


def _json(value: object) -> str:
    """The ``json`` filter: a tool output (a pydantic model) or plain value as JSON."""
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, default=str)


def _untitled(schema: Any) -> Any:
    """A JSON schema without its generated ``title`` keys (a property named ``title`` stays)."""
    if isinstance(schema, list):
        return [_untitled(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in ("properties", "$defs"):
            out[key] = {name: _untitled(sub) for name, sub in value.items()}
        else:
            out[key] = _untitled(value)
    return out


def schema_text(output: type[BaseModel]) -> str:
    """The ``schema`` filter: ``output``'s JSON schema (as sent with the request, less the
    generated titles) on one line, so a prompt states exactly the contract the reply is
    validated against."""
    return json.dumps(_untitled(output.model_json_schema()), separators=(",", ":"))


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
    env.filters["schema"] = schema_text
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
