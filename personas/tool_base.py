"""The conceptual-tool machinery: a tool's argument model (``ToolArgs``), its typed output
(``ToolOutput``), the ``ConceptualTool`` that validates arguments and turns every failure of a
call into a ``ToolResult`` error, and the ``ToolRegistry``. The shipped tools are in
``personas.tools`` (and ``personas.moves``)."""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from personas.prompting import ToolInfo
from protocols import BudgetExceeded, LyceumError, ModelContext, ToolResult, UserError

__all__ = ["ConceptualTool", "ToolArgs", "ToolError", "ToolOutput", "ToolRegistry"]


class ToolOutput(BaseModel):
    """Base of every tool's typed output."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ToolError(LyceumError):
    """Raised by a tool that ran but failed (the failure is reported to the mind, in the
    ``ToolResult``'s ``error``, instead of ending the turn).

    Args:
        message: What went wrong.
        output: What the tool can still report (e.g. why the calculator refused).
    """

    def __init__(self, message: str, *, output: ToolOutput | None = None) -> None:
        super().__init__(message)
        self.output = output


class ToolArgs(BaseModel):
    """Base of every tool's argument model: frozen, and extra fields are an error, so a
    misspelt argument is reported (and re-asked) instead of being dropped."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True, kw_only=True)
class ConceptualTool:
    """A named capability: a description and an argument model (both shown to LLM
    planners; the model's JSON schema constrains what a planner may send) and an async call
    that returns a typed ``ToolOutput``.

    Attributes:
        name: What planners call it.
        description: What it does, for the planner.
        arguments: Its argument model, a pydantic model that forbids extra fields
            (subclass ``ToolArgs``); give each field a ``description``.
        call: ``call(args)``, or ``call(args, ctx)`` when ``needs_context``; ``args`` is a
            validated instance of ``arguments``.
        needs_context: Whether the call needs the run (``ctx``), e.g. to make model calls.
    """

    name: str
    description: str
    arguments: type[BaseModel]
    call: Callable[..., Awaitable[ToolOutput]]
    needs_context: bool = False

    def __post_init__(self) -> None:
        if self.arguments.model_config.get("extra") != "forbid":
            raise UserError(
                f"the argument model {self.arguments.__name__} of tool {self.name!r} must "
                "forbid extra fields, so that a misspelt argument is an error: subclass "
                "personas.tools.ToolArgs or set model_config = ConfigDict(extra='forbid')"
            )

    async def run(
        self,
        arguments: Mapping[str, Any] | BaseModel,
        *,
        call_id: str | None = None,
        ctx: ModelContext | None = None,
    ) -> ToolResult:
        """Validate ``arguments`` against the argument model and run the tool.

        Whatever goes wrong with the call itself becomes the result's ``error``: arguments
        that do not validate, a ``ToolError``, or any other exception of the tool. Only
        ``BudgetExceeded`` (the run must stop) and ``UserError`` (a mistake in the calling
        code, e.g. a missing ``ctx``) propagate.

        Args:
            arguments: A mapping (as a planner sends it) or an ``arguments`` instance.
            call_id: Names the call in the record (default: the tool's name).
            ctx: The run; required when ``needs_context``.
        """
        cid = call_id or self.name
        if self.needs_context and ctx is None:
            raise UserError(f"tool {self.name!r} makes model calls: pass ctx= (the run)")
        try:
            if isinstance(arguments, BaseModel) and not isinstance(arguments, self.arguments):
                arguments = arguments.model_dump()
            args = self.arguments.model_validate(arguments)
        except ValidationError as exc:
            return ToolResult(call_id=cid, tool=self.name, error=self._invalid(exc))
        try:
            output = await (self.call(args, ctx) if self.needs_context else self.call(args))
        except ToolError as exc:
            return ToolResult(call_id=cid, tool=self.name, output=exc.output, error=str(exc))
        except (BudgetExceeded, UserError):
            raise
        except Exception as exc:  # noqa: BLE001 - a failed tool is reported, not fatal
            error = f"{type(exc).__name__}: {exc}"
            return ToolResult(call_id=cid, tool=self.name, error=error)
        return ToolResult(call_id=cid, tool=self.name, output=output)

    def _invalid(self, error: ValidationError) -> str:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(arguments)'}: {e['msg']}"
            for e in error.errors(include_url=False)
        )
        fields = ", ".join(self.arguments.model_fields) or "none"
        return f"invalid arguments for {self.name!r} ({problems}); its arguments are: {fields}"

    async def __call__(
        self, *, call_id: str | None = None, ctx: ModelContext | None = None, **arguments: Any
    ) -> ToolResult:
        """``run`` with the arguments as keywords: ``await calculator(code="1 + 1")``."""
        return await self.run(arguments, call_id=call_id, ctx=ctx)


class ToolRegistry:
    """Tools by name. Unknown names are errors that suggest the closest one."""

    def __init__(self, tools: Iterable[ConceptualTool] = ()) -> None:
        self._tools: dict[str, ConceptualTool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: ConceptualTool) -> ConceptualTool:
        if tool.name in self._tools:
            raise UserError(f"a tool named {tool.name!r} is already registered")
        self._tools[tool.name] = tool
        return tool

    def get(self, name: str) -> ConceptualTool:
        if name not in self._tools:
            close = difflib.get_close_matches(name, list(self._tools), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UserError(
                f"unknown tool {name!r}.{hint} Registered: "
                f"{', '.join(sorted(self._tools)) or '(none)'}."
            )
        return self._tools[name]

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._tools)

    def infos(self, only: Collection[str] | None = None) -> list[ToolInfo]:
        """The tools as planners see them (name, description, argument model), sorted by
        name; only those named in ``only`` when given."""
        return [
            ToolInfo(name=t.name, description=t.description, arguments=t.arguments)
            for name, t in sorted(self._tools.items())
            if only is None or name in only
        ]
