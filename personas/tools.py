"""Conceptual tools: what a persona's Plan phase can call. This module holds the registry,
the knowledge-graph retrieval tool, the calculator (an arithmetic interpreter), the python
tool (the isolating executor) and expert calls; tutoring moves and CBT techniques live
with their personas.

A tool declares an argument model (a ``ToolArgs`` subclass: extra fields are an error,
each field has a description); planners are shown its JSON schema, and a call's arguments
are validated against it before the tool runs. A tool returns a typed output (a pydantic
model such as ``Retrieved`` or ``Calculation``); running a ``ConceptualTool`` wraps it in a
``protocols.ToolResult`` record, with ``error`` set when the arguments did not validate or
the tool failed. The persona keeps those records for its mind to
read, typed, in the Execute phase."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from knowledge_graph.retrieval import Retriever
from personas.executor import CodeExecutor
from personas.prompting import ToolInfo
from personas.sandbox import SandboxError, run_sandboxed
from protocols import (
    BudgetExceeded,
    LyceumError,
    ModelClient,
    ModelContext,
    ModelRequest,
    ToolResult,
    UserError,
)

__all__ = [
    "Calculation",
    "CalculatorArgs",
    "ConceptualTool",
    "ExpertArgs",
    "ExpertReply",
    "PythonArgs",
    "PythonRun",
    "RetrievalArgs",
    "Retrieved",
    "ToolArgs",
    "ToolError",
    "ToolOutput",
    "ToolRegistry",
    "calculator_tool",
    "expert_tool",
    "python_tool",
    "retrieval_tool",
]


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


class Retrieved(ToolOutput):
    """``kg_retrieval``: the context text, with ``[node-id]`` citations, and the cited ids."""

    context: str
    citations: tuple[str, ...] = ()


class Calculation(ToolOutput):
    """``calculator``: the last expression's value and what the program printed; ``reason``
    says why a refused or failed program was not evaluated."""

    value: Any = None
    output: str = ""
    reason: str | None = None


class PythonRun(ToolOutput):
    """``python``: what the isolated program printed, and how it ended."""

    stdout: str
    stderr: str
    exit_code: int | None
    timed_out: bool
    truncated: bool
    isolation: str


class ExpertReply(ToolOutput):
    """``ask_expert``: which expert answered, and its reply."""

    expert: str
    reply: str


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


class RetrievalArgs(ToolArgs):
    """Arguments of kg_retrieval."""

    query: str = Field(min_length=1, description="What to look for, in words.")
    k: int = Field(default=5, ge=1, le=20, description="How many nodes to return.")
    hops: int = Field(
        default=1, ge=0, le=3, description="Depth of graph expansion around the hits (0: none)."
    )
    labels: list[str] | None = Field(
        default=None, description="Only nodes with one of these labels (e.g. Misconception)."
    )


def retrieval_tool(retriever: Retriever, *, name: str = "kg_retrieval") -> ConceptualTool:
    """Knowledge-graph retrieval as a conceptual tool: ``RetrievalArgs`` (``query``, ``k``,
    ``hops``, ``labels``) in; ``Retrieved``: ``context`` (text with [node-id] citations) and
    ``citations`` out."""

    async def call(args: RetrievalArgs) -> Retrieved:
        try:
            result = retriever.search(args.query, k=args.k, hops=args.hops, labels=args.labels)
        except UserError as exc:  # e.g. a blank query: the planner's mistake, reported
            raise ToolError(str(exc)) from None
        return Retrieved(context=result.context(), citations=tuple(result.citations))

    return ConceptualTool(
        name=name,
        description="Search the knowledge graph (BM25, embeddings and graph expansion); "
        "returns matching nodes with their ids as citations.",
        arguments=RetrievalArgs,
        call=call,
    )


class CalculatorArgs(ToolArgs):
    """Arguments of calculator."""

    code: str = Field(
        description="The arithmetic program, e.g. 'Fraction(1, 3) + Fraction(1, 6)'; its "
        "last expression is the result."
    )


def calculator_tool(*, timeout: float = 2.0, name: str = "calculator") -> ConceptualTool:
    """The code-soliloquy calculator: evaluates a small arithmetic program
    (``CalculatorArgs.code``) with the interpreter of ``personas.sandbox`` (no ``exec``) and
    returns a ``Calculation``: its ``value`` and printed ``output``, or (with the result's
    ``error``) the ``reason`` it was refused or failed."""

    async def call(args: CalculatorArgs) -> Calculation:
        try:
            result = await asyncio.to_thread(run_sandboxed, args.code, timeout=timeout)
        except SandboxError as exc:
            raise ToolError(str(exc), output=Calculation(reason=exc.reason)) from None
        return Calculation(value=result.value, output=result.output)

    return ConceptualTool(
        name=name,
        description="Evaluate arithmetic exactly (Fraction, Decimal, math functions such as "
        "sqrt and gcd) instead of guessing: assignments, if/for/while and lists, but no imports, "
        "attributes, files or network; the last expression is the result.",
        arguments=CalculatorArgs,
        call=call,
    )


class PythonArgs(ToolArgs):
    """Arguments of python."""

    code: str = Field(description="A Python program (standard library only); print results.")


def python_tool(executor: CodeExecutor | None = None, *, name: str = "python") -> ConceptualTool:
    """Model-written Python (``PythonArgs.code``), run by the isolating ``CodeExecutor`` (a
    separate, unprivileged, rlimited process; bubblewrap where it works). Returns a
    ``PythonRun`` (``stdout``, ``stderr``, ``exit_code``, ``timed_out``, ``truncated`` and the
    ``isolation`` level), or an ``error`` when the program was not run at all."""
    runner = executor or CodeExecutor()

    async def call(args: PythonArgs) -> PythonRun:
        try:
            result = await asyncio.to_thread(runner.run, args.code)
        except UserError as exc:
            raise ToolError(str(exc)) from None
        return PythonRun(
            stdout=result.stdout,
            stderr=result.stderr,
            exit_code=result.exit_code,
            timed_out=result.timed_out,
            truncated=result.truncated,
            isolation=result.isolation.value,
        )

    return ConceptualTool(
        name=name,
        description="Run a Python program (standard library only) in an isolated process: "
        "no network, files or fork, bounded time and memory; returns what it printed.",
        arguments=PythonArgs,
        call=call,
    )


class ExpertArgs(ToolArgs):
    """Arguments of ask_expert."""

    skills: list[str] = Field(
        min_length=1, description="The skills the question needs; they pick the expert."
    )
    prompt: str = Field(min_length=1, description="What to ask the expert.")


def expert_tool(
    route: Callable[[Sequence[str]], str],
    clients: Mapping[str, ModelClient],
    *,
    name: str = "ask_expert",
) -> ConceptualTool:
    """Expert-model calls as a conceptual tool: ``ExpertArgs.skills`` pick the expert
    (``route``, e.g. ``ExpertRegistry.route(...).name``), ``prompt`` is sent to its client
    through the run, so the call is budgeted and recorded. Returns an ``ExpertReply``."""

    async def call(args: ExpertArgs, ctx: ModelContext) -> ExpertReply:
        try:
            expert = route(args.skills)
        except UserError as exc:  # no expert serves these skills: the planner can retry
            raise ToolError(str(exc)) from None
        if expert not in clients:
            raise ToolError(f"no client for {expert!r}")
        response = await ctx.complete(clients[expert], ModelRequest.of(args.prompt))
        return ExpertReply(expert=expert, reply=response.text)

    return ConceptualTool(
        name=name,
        description="Ask the expert model for the given skills; returns its reply.",
        arguments=ExpertArgs,
        call=call,
        needs_context=True,
    )
