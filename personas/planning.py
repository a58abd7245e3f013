"""The Plan phase's contract: what a planner may send, as a pydantic type built from the
tools it may use.

Each tool's call is a ``PlannedCall`` narrowed to that tool: ``tool`` is the literal name
and ``arguments`` validates against the tool's argument model. A plan's ``calls`` are a
discriminated union of those call types (``tool`` is the discriminator), so a server that
enforces the JSON schema cannot produce an unknown tool or a wrong argument name, and a
server that ignores it gets the validation error back in a re-ask. The validated arguments
stay a plain dict (what the model said), so the persisted ``protocols.Plan`` is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetPydanticSchema,
    create_model,
)
from pydantic_core import core_schema

from protocols import PlannedCall

__all__ = ["PlanOut", "arguments_field", "plan_output_type", "tool_call_type"]


_CALLS = "The tool calls to make, in order; [] for none."


class PlanOut(BaseModel):
    """The Plan phase's output: the conceptual-tool calls to make, and why.

    A mind returns a ``PlanOut``; an LLM mind asks for ``plan_output_type(tools)``, a
    subclass whose calls are narrowed to the persona's tools (a test double recognises the
    phase with ``issubclass(request.output_type, PlanOut)``)."""

    model_config = ConfigDict(extra="forbid")
    calls: list[PlannedCall] = Field(default_factory=list, description=_CALLS)
    rationale: str = Field(default="", description="Why these calls, in a sentence.")


def arguments_field(model: type[BaseModel]) -> Any:
    """A ``dict[str, Any]`` field type that validates (and is documented in JSON schema) as
    ``model``; the value kept is the dict of the fields the sender set."""

    def keep(value: BaseModel) -> dict[str, Any]:
        return value.model_dump(mode="json", exclude_unset=True)

    def schema(_: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            keep,
            handler.generate_schema(model),
            serialization=core_schema.plain_serializer_function_ser_schema(
                dict, return_schema=core_schema.dict_schema()
            ),
        )

    return Annotated[dict[str, Any], GetPydanticSchema(schema)]


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_"))


@cache
def tool_call_type(name: str, arguments: type[BaseModel]) -> type[PlannedCall]:
    """The call type of one tool: ``{"tool": name, "arguments": <arguments>}``."""
    fields: dict[str, Any] = {
        "tool": (Literal[name], ...),
        "arguments": (arguments_field(arguments), ...),
    }
    return create_model(
        f"{_camel(name)}Call",
        __base__=PlannedCall,
        __doc__=f"A call of the tool {name!r}.",
        **fields,
    )


@cache
def _plan_type(tools: tuple[tuple[str, type[BaseModel]], ...]) -> type[PlanOut]:
    calls: Any
    if not tools:
        calls = Annotated[list[PlannedCall], Field(max_length=0)]
    else:
        types = tuple(tool_call_type(name, args) for name, args in tools)
        item = types[0] if len(types) == 1 else Union[types]  # noqa: UP007 - built at runtime
        calls = list[Annotated[item, Field(discriminator="tool")]]  # type: ignore[valid-type]
    return create_model(
        "PlanOut",
        __base__=PlanOut,
        __doc__="The tool calls to make before replying, and why.",
        calls=(calls, Field(default_factory=list, description=_CALLS)),
    )


def plan_output_type(tools: Sequence[tuple[str, type[BaseModel]]]) -> type[PlanOut]:
    """The Plan output type for these tools, ``(name, argument model)`` pairs: a
    ``PlanOut`` whose calls may only name these tools, with their arguments. With no tools
    the plan's calls must be empty."""
    return _plan_type(tuple(sorted(tools, key=lambda t: t[0])))
