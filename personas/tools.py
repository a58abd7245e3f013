"""Conceptual tools: what a persona's Plan phase can call. This module holds the registry,
the knowledge-graph retrieval tool, the calculator (an arithmetic interpreter), the python
tool (the isolating executor) and expert calls; tutoring moves and CBT techniques live
with their personas."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from knowledge_graph.retrieval import Retriever
from personas.executor import CodeExecutor
from personas.sandbox import SandboxError, run_sandboxed
from protocols import UserError

__all__ = [
    "ConceptualTool",
    "ToolRegistry",
    "calculator_tool",
    "expert_tool",
    "python_tool",
    "retrieval_tool",
]


@dataclass(frozen=True)
class ConceptualTool:
    """A named capability with a description (shown to LLM planners) and an async call."""

    name: str
    description: str
    call: Callable[..., Awaitable[dict[str, Any]]]
    needs_context: bool = False  # called with ctx= (the run), e.g. to make model calls

    async def __call__(self, **arguments: Any) -> dict[str, Any]:
        return await self.call(**arguments)


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
    in; ``context`` (text with [node-id] citations) and ``citations`` out."""

    async def call(
        query: str, k: int = 5, hops: int = 1, labels: list[str] | None = None
    ) -> dict[str, Any]:
        result = retriever.search(query, k=k, hops=hops, labels=labels)
        return {"context": result.context(), "citations": result.citations}

    return ConceptualTool(
        name=name,
        description="Search the knowledge graph (BM25, embeddings and graph expansion); "
        "returns matching nodes with their ids as citations.",
        call=call,
    )


def calculator_tool(*, timeout: float = 2.0, name: str = "calculator") -> ConceptualTool:
    """The code-soliloquy calculator: evaluates a small arithmetic program with the
    interpreter of ``personas.sandbox`` (no ``exec``) and returns its ``value`` and printed
    ``output``, or an ``error`` and ``reason`` saying why it was refused or failed."""

    async def call(code: str) -> dict[str, Any]:
        try:
            result = await asyncio.to_thread(run_sandboxed, code, timeout=timeout)
        except SandboxError as exc:
            return {"value": None, "output": "", "error": str(exc), "reason": exc.reason}
        return {"value": result.value, "output": result.output, "error": None, "reason": None}

    return ConceptualTool(
        name=name,
        description="Evaluate arithmetic exactly (Fraction, Decimal, math functions such as "
        "sqrt and gcd) instead of guessing: assignments, if/for/while and lists, but no imports, "
        "attributes, files or network; the last expression is the result.",
        call=call,
    )


def python_tool(executor: CodeExecutor | None = None, *, name: str = "python") -> ConceptualTool:
    """Model-written Python, run by the isolating ``CodeExecutor`` (a separate, unprivileged,
    rlimited process; bubblewrap where it works). Returns ``stdout``, ``stderr``,
    ``exit_code``, ``timed_out``, ``truncated`` and the ``isolation`` level, or an ``error``
    when the program was not run at all."""
    runner = executor or CodeExecutor()

    async def call(code: str) -> dict[str, Any]:
        try:
            result = await asyncio.to_thread(runner.run, code)
        except UserError as exc:
            return {"error": str(exc), "stdout": "", "stderr": "", "exit_code": None}
        return {
            "error": None,
            "stdout": result.stdout,
            "stderr": result.stderr,
            "exit_code": result.exit_code,
            "timed_out": result.timed_out,
            "truncated": result.truncated,
            "isolation": result.isolation.value,
        }

    return ConceptualTool(
        name=name,
        description="Run a Python program (standard library only) in an isolated process: "
        "no network, files or fork, bounded time and memory; returns what it printed.",
        call=call,
    )


def expert_tool(
    route: Callable[[Sequence[str]], str], clients: Mapping[str, Any], *, name: str = "ask_expert"
) -> ConceptualTool:
    """Expert-model calls as a conceptual tool: ``skills`` pick the expert (``route``, e.g.
    ``ExpertRegistry.route(...).name``), ``prompt`` is sent to its client through the run,
    so the call is budgeted and recorded."""

    async def call(ctx: Any, skills: list[str], prompt: str) -> dict[str, Any]:
        expert = route(skills)
        if expert not in clients:
            return {"expert": expert, "reply": None, "error": f"no client for {expert!r}"}
        return {"expert": expert, "reply": await ctx.say(clients[expert], prompt), "error": None}

    return ConceptualTool(
        name,
        "Ask the expert model for the given skills; returns its reply.",
        call,
        needs_context=True,
    )
