"""Conceptual tools: what a persona's Plan phase can call. This module holds the registry,
the knowledge-graph retrieval tool, the calculator (an arithmetic interpreter), the python
tool (the isolating executor) and expert calls; tutoring moves and CBT techniques live
with their personas.

A tool returns a typed output (a pydantic model such as ``Retrieved`` or ``Calculation``);
calling a ``ConceptualTool`` wraps it in a ``protocols.ToolResult`` record, with ``error``
set when the tool raised ``ToolError``. The persona keeps those records for its mind to
read, typed, in the Execute phase."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from knowledge_graph.retrieval import Retriever
from personas.executor import CodeExecutor
from personas.sandbox import SandboxError, run_sandboxed
from protocols import LyceumError, ModelClient, ModelContext, ModelRequest, ToolResult, UserError

__all__ = [
    "Calculation",
    "ConceptualTool",
    "ExpertReply",
    "PythonRun",
    "Retrieved",
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


@dataclass(frozen=True)
class ConceptualTool:
    """A named capability with a description (shown to LLM planners) and an async call
    that returns a typed ``ToolOutput``.

    Calling the tool returns a ``ToolResult`` record: the output, or the error when the
    call raised ``ToolError``."""

    name: str
    description: str
    call: Callable[..., Awaitable[ToolOutput]]
    needs_context: bool = False  # called with ctx= (the run), e.g. to make model calls

    async def __call__(self, *, call_id: str | None = None, **arguments: Any) -> ToolResult:
        """Run the tool with ``arguments``; ``call_id`` names the call in the record."""
        cid = call_id or self.name
        try:
            output = await self.call(**arguments)
        except ToolError as exc:
            return ToolResult(call_id=cid, tool=self.name, output=exc.output, error=str(exc))
        return ToolResult(call_id=cid, tool=self.name, output=output)


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
        return sorted(self._tools)


def retrieval_tool(retriever: Retriever, *, name: str = "kg_retrieval") -> ConceptualTool:
    """Knowledge-graph retrieval as a conceptual tool: ``query``, ``k``, ``hops``, ``labels``
    in; ``Retrieved``: ``context`` (text with [node-id] citations) and ``citations`` out."""

    async def call(
        query: str, k: int = 5, hops: int = 1, labels: list[str] | None = None
    ) -> Retrieved:
        result = retriever.search(query, k=k, hops=hops, labels=labels)
        return Retrieved(context=result.context(), citations=tuple(result.citations))

    return ConceptualTool(
        name=name,
        description="Search the knowledge graph (BM25, embeddings and graph expansion); "
        "returns matching nodes with their ids as citations.",
        call=call,
    )


def calculator_tool(*, timeout: float = 2.0, name: str = "calculator") -> ConceptualTool:
    """The code-soliloquy calculator: evaluates a small arithmetic program with the
    interpreter of ``personas.sandbox`` (no ``exec``) and returns a ``Calculation``: its
    ``value`` and printed ``output``, or (with the result's ``error``) the ``reason`` it was
    refused or failed."""

    async def call(code: str) -> Calculation:
        try:
            result = await asyncio.to_thread(run_sandboxed, code, timeout=timeout)
        except SandboxError as exc:
            raise ToolError(str(exc), output=Calculation(reason=exc.reason)) from None
        return Calculation(value=result.value, output=result.output)

    return ConceptualTool(
        name=name,
        description="Evaluate arithmetic exactly (Fraction, Decimal, math functions such as "
        "sqrt and gcd) instead of guessing: assignments, if/for/while and lists, but no imports, "
        "attributes, files or network; the last expression is the result.",
        call=call,
    )


def python_tool(executor: CodeExecutor | None = None, *, name: str = "python") -> ConceptualTool:
    """Model-written Python, run by the isolating ``CodeExecutor`` (a separate, unprivileged,
    rlimited process; bubblewrap where it works). Returns a ``PythonRun`` (``stdout``,
    ``stderr``, ``exit_code``, ``timed_out``, ``truncated`` and the ``isolation`` level), or
    an ``error`` when the program was not run at all."""
    runner = executor or CodeExecutor()

    async def call(code: str) -> PythonRun:
        try:
            result = await asyncio.to_thread(runner.run, code)
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
        call=call,
    )


def expert_tool(
    route: Callable[[Sequence[str]], str],
    clients: Mapping[str, ModelClient],
    *,
    name: str = "ask_expert",
) -> ConceptualTool:
    """Expert-model calls as a conceptual tool: ``skills`` pick the expert (``route``, e.g.
    ``ExpertRegistry.route(...).name``), ``prompt`` is sent to its client through the run,
    so the call is budgeted and recorded. Returns an ``ExpertReply``."""

    async def call(ctx: ModelContext, skills: list[str], prompt: str) -> ExpertReply:
        expert = route(skills)
        if expert not in clients:
            raise ToolError(f"no client for {expert!r}")
        response = await ctx.complete(clients[expert], ModelRequest.of(prompt))
        return ExpertReply(expert=expert, reply=response.text)

    return ConceptualTool(
        name,
        "Ask the expert model for the given skills; returns its reply.",
        call,
        needs_context=True,
    )
