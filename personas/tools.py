"""Conceptual tools: what a persona's Plan phase can call. This module holds the
knowledge-graph retrieval tool, the calculator (an arithmetic interpreter), the python tool
(the isolating executor) and expert calls, and re-exports the machinery of
``personas.tool_base`` (``ConceptualTool``, ``ToolArgs``, ``ToolRegistry``, ...); tutoring
moves and CBT techniques live with their personas.

A tool declares an argument model (a ``ToolArgs`` subclass: extra fields are an error,
each field has a description); planners are shown its JSON schema, and a call's arguments
are validated against it before the tool runs. A tool returns a typed output (a pydantic
model such as ``Retrieved`` or ``Calculation``); running a ``ConceptualTool`` wraps it in a
``protocols.ToolResult`` record, with ``error`` set when the arguments did not validate or
the tool failed. The persona keeps those records for its mind to read, typed, in the
Execute phase."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import Field

from knowledge_graph.retrieval import Retriever
from personas.executor import CodeExecutor
from personas.sandbox import SandboxError, run_sandboxed
from personas.tool_base import ConceptualTool, ToolArgs, ToolError, ToolOutput, ToolRegistry
from protocols import ModelClient, ModelContext, ModelRequest, UserError

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
