"""The meta-agent's plan vocabulary (``SubTask``, ``TaskPlan``) and the LLM action
generator.

``LLMPlanner`` shows the model who can do the work (the experts with their skills, the
tools with their argument schemas) and the task's inputs, and asks for a plan whose type is
built from that roster: each step is a ``SubTask`` narrowed to one assignee, a discriminated
union on ``assignee``. An expert step names a known expert; a tool step names a known tool
and its ``inputs`` validate against that tool's argument model. A server that enforces the
schema cannot invent an assignee; a reply from one that does not is re-asked with the
validation error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from agents.meta.experts import ExpertRegistry
from agents.models import ModelClient, ModelRequest
from personas.persona import STRUCTURED_MAX_TOKENS, positive_tokens
from personas.planning import arguments_field
from personas.prompting import (
    ExpertInfo,
    MetaPlanVars,
    MetaRegenerateVars,
    ToolInfo,
    render_prompt,
)
from personas.tools import ToolRegistry
from protocols import ModelContext, TaskAssignment, UserError

__all__ = ["LLMPlanner", "Regenerated", "SubTask", "TaskPlan"]

T = TypeVar("T", bound=BaseModel)


class SubTask(BaseModel):
    """One step: what to do, for which skills, and who does it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="A short id for the step, e.g. 'calculate'.")
    kind: Literal["retrieve", "calculate", "explain"] = Field(
        description="explain: an expert writes text; retrieve, calculate: a tool runs."
    )
    instruction: str = Field(description="What the assignee should do, in a sentence.")
    skills: list[str] = Field(default_factory=list, description="The skills the step needs.")
    assignee: str = Field(description="The expert or tool that does the step.")
    inputs: dict[str, Any] = Field(
        default_factory=dict, description="A tool step's arguments; {} for an expert step."
    )


class TaskPlan(BaseModel):
    """The steps of a task, in order."""

    model_config = ConfigDict(extra="forbid")
    subtasks: list[SubTask]


class Regenerated(BaseModel):
    """A failed step, rewritten (another assignee, or corrected inputs)."""

    model_config = ConfigDict(extra="forbid")
    step: SubTask


def _camel(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in name.replace("-", "_").split("_"))


def step_type(experts: ExpertRegistry, tools: ToolRegistry) -> Any:
    """The type of one step for this roster: a discriminated union (on ``assignee``) of an
    expert step and one step type per tool."""
    variants: list[type[SubTask]] = []
    names = tuple(e.name for e in experts.experts)
    if names:
        expert: dict[str, Any] = {
            "kind": (Literal["explain"], ...),
            "assignee": (Literal[names], Field(description="One of the experts.")),
            "inputs": (dict[str, Any], Field(default_factory=dict, max_length=0)),
        }
        doc = "A step an expert writes."
        variants.append(create_model("ExpertStep", __base__=SubTask, __doc__=doc, **expert))
    for name in tools.names():
        tool = tools.get(name)
        step: dict[str, Any] = {
            "kind": (Literal["retrieve", "calculate"], ...),
            "assignee": (Literal[name], ...),
            "inputs": (arguments_field(tool.arguments), Field(description="Its arguments.")),
        }
        doc = f"A step the tool {name!r} runs: {tool.description}"
        variants.append(create_model(f"{_camel(name)}Step", __base__=SubTask, __doc__=doc, **step))
    if not variants:
        raise UserError("the planner has no experts and no tools to give steps to")
    if len(variants) == 1:
        return variants[0]
    return Annotated[Union[tuple(variants)], Field(discriminator="assignee")]  # noqa: UP007


class LLMPlanner:
    """A model writes the plan and regenerates failed steps, choosing among ``experts`` and
    ``tools`` (the prompt lists them, the output type only admits them).

    Args:
        model: The planning model.
        experts: The experts steps may be given to (names and skills).
        tools: The tools steps may be given to (names, descriptions, argument models).
        max_retries: Re-asks when a plan does not validate (e.g. an unknown assignee).
        max_tokens: The reply budget of each planning call.
    """

    def __init__(
        self,
        model: ModelClient,
        *,
        experts: ExpertRegistry,
        tools: ToolRegistry,
        max_retries: int = 2,
        max_tokens: int = STRUCTURED_MAX_TOKENS,
    ) -> None:
        self.model = model
        self.max_tokens = positive_tokens(max_tokens)
        self.experts = experts
        self.tools = tools
        self.max_retries = max_retries

    def _roster(self) -> tuple[list[ExpertInfo], list[ToolInfo]]:
        experts = [ExpertInfo(name=e.name, skills=list(e.skills)) for e in self.experts.experts]
        return experts, self.tools.infos()

    async def _ask(self, ctx: ModelContext, prompt: str, output: type[T]) -> T:
        request = ModelRequest.of(prompt, max_tokens=self.max_tokens, schema_in_prompt=True)
        return await ctx.complete(self.model, request, output=output, max_retries=self.max_retries)

    async def plan(self, task: TaskAssignment, ctx: ModelContext) -> TaskPlan:
        subtasks: Any = list[step_type(self.experts, self.tools)]  # type: ignore[misc]
        output = create_model(
            "TaskPlan", __base__=TaskPlan, subtasks=(subtasks, Field(min_length=1))
        )
        experts, tools = self._roster()
        variables = MetaPlanVars(
            task=task.task,
            skills=list(task.skills),
            inputs=task.inputs,
            experts=experts,
            tools=tools,
            output=output,
        )
        return await self._ask(ctx, render_prompt("meta_plan", variables), output)

    async def regenerate(
        self, step: SubTask, error: str, tried: Sequence[str], ctx: ModelContext
    ) -> SubTask | None:
        output = create_model(
            "Regenerated", __base__=Regenerated, step=(step_type(self.experts, self.tools), ...)
        )
        experts, tools = self._roster()
        variables = MetaRegenerateVars(
            step=step.model_dump_json(),
            error=error,
            tried=list(tried),
            experts=experts,
            tools=tools,
            output=output,
        )
        rewritten = await self._ask(ctx, render_prompt("meta_regenerate", variables), output)
        return rewritten.step
