"""``AgentGraph``: which agent may send which message kinds to whom. Validated when built.

Build it in Python::

    graph = (AgentGraph()
             .edge(teacher, student, kinds=[Question, Explanation])
             .edge(student, teacher, kinds=[Answer]))

or load the topology from YAML (see ``from_yaml``). Every mistake raises ``GraphBuildError``
naming the offending agent or edge (and the file:line for YAML) before anything runs.
networkx holds the structure and never appears in a public signature.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Self

import networkx as nx

from agents.agent import Agent
from protocols import MESSAGE_KINDS, Envelope, GraphBuildError, LyceumError
from protocols.config import LineMap, load_yaml
from protocols.errors import shorten

__all__ = ["AgentGraph", "Edge"]

_ALL_KINDS = frozenset(MESSAGE_KINDS)


@dataclass(frozen=True)
class Edge:
    """A directed edge: ``source`` may send messages of ``kinds`` (class names) to ``target``."""

    source: str
    target: str
    kinds: frozenset[str]


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _kind_names(
    kinds: Iterable[type[Envelope] | str] | type[Envelope] | str | None, where: str
) -> frozenset[str]:
    if kinds is None:
        return _ALL_KINDS
    if isinstance(kinds, str | type):
        kinds = [kinds]  # one kind, written without a list
    names = set()
    for kind in kinds:
        name = kind if isinstance(kind, str) else getattr(kind, "__name__", repr(kind))
        if name not in MESSAGE_KINDS:
            raise GraphBuildError(
                f"{where}unknown message kind {name!r}.{_suggest(name, MESSAGE_KINDS)} "
                f"Known kinds: {', '.join(sorted(MESSAGE_KINDS))}."
            )
        names.add(name)
    if not names:
        raise GraphBuildError(
            f"{where}an edge needs at least one message kind (or kinds=None for all)"
        )
    return frozenset(names)


def _check_call(factory: Any, target: str, kwargs: dict[str, Any], where: str) -> None:
    """Raise ``GraphBuildError`` unless ``factory`` accepts ``kwargs`` (without calling it)."""
    if not callable(factory):
        raise GraphBuildError(f"{where}{target!r} is {shorten(factory)}, not a callable")
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return  # a builtin without a signature: let the call decide
    try:
        signature.bind(**kwargs)
    except TypeError as exc:
        raise GraphBuildError(
            f"{where}{target}{signature} cannot be called with "
            f"{', '.join(f'{k}=...' for k in kwargs)}: {exc}; fix 'args' or the factory"
        ) from None


def _mermaid_id(name: str) -> str:
    return re.sub(r"\W", "_", name)


class AgentGraph:
    """A directed graph of agents whose edges say which message kinds may flow.

    Attributes:
        source: How to rebuild this graph (``{"factory": "module:fn", "kwargs": {...}}`` or
            ``{"yaml": path}``), recorded with runs. ``lyceum runs replay`` treats it as
            data: it calls the factory only if it is registered under the
            ``lyceum.graphs`` entry points, and otherwise needs ``--graph``
            (``agents/cli/rebuild.py``). kwargs must be plain JSON values.
    """

    def __init__(self) -> None:
        self._g: nx.DiGraph[str] = nx.DiGraph()
        self._agents: dict[str, Agent] = {}
        self.source: dict[str, Any] | None = None

    # -- building ----------------------------------------------------------------------
    def add(self, *agents: Agent) -> Self:
        """Add agents (without edges). Adding the same agent twice is a no-op."""
        for agent in agents:
            self._add(agent, where="")
        return self

    def _add(self, agent: Agent, where: str) -> str:
        name = getattr(agent, "name", None)
        if not isinstance(name, str) or not name:
            raise GraphBuildError(f"{where}{agent!r} has no usable 'name' attribute")
        if not callable(getattr(agent, "handle", None)):
            raise GraphBuildError(f"{where}agent {name!r} has no async handle(message, ctx) method")
        if name in ("user", "runtime"):
            raise GraphBuildError(f"{where}agent name {name!r} is reserved; choose another name")
        known = self._agents.get(name)
        if known is not None and known is not agent:
            raise GraphBuildError(f"{where}two different agents are both named {name!r}")
        self._agents[name] = agent
        self._g.add_node(name)
        return name

    def _resolve(self, agent: Agent | str, where: str) -> str:
        if isinstance(agent, str):
            if agent not in self._agents:
                raise GraphBuildError(
                    f"{where}unknown agent {agent!r}.{_suggest(agent, self._agents)} "
                    f"Known agents: {', '.join(sorted(self._agents)) or '(none)'}."
                )
            return agent
        return self._add(agent, where)

    def edge(
        self,
        source: Agent | str,
        target: Agent | str,
        *,
        kinds: Sequence[type[Envelope] | str] | type[Envelope] | str | None = None,
        _where: str = "",
    ) -> Self:
        """Allow ``source`` to send ``kinds`` (message classes or their names, one or a list;
        None = all) to ``target``. Agents given as objects are added; names must already be
        known."""
        src = self._resolve(source, _where)
        dst = self._resolve(target, _where)
        where = _where or f"edge {src} → {dst}: "
        names = _kind_names(kinds, where)
        emits = getattr(self._agents[src], "emits", None)
        if emits is not None:
            emitted = {k.__name__ for k in emits}
            never = sorted(names - emitted) if kinds is not None else []
            if never:
                raise GraphBuildError(
                    f"{where}{src!r} never sends {', '.join(never)} (it sends: "
                    f"{', '.join(sorted(emitted)) or 'nothing'})"
                )
        previous = self._g.edges[src, dst]["kinds"] if self._g.has_edge(src, dst) else frozenset()
        self._g.add_edge(src, dst, kinds=previous | names)
        return self

    # -- queries -----------------------------------------------------------------------
    @property
    def agents(self) -> Mapping[str, Agent]:
        """Agents by name, in the order they were added (read-only)."""
        return MappingProxyType(self._agents)

    def edges(self) -> list[Edge]:
        return [Edge(s, t, d["kinds"]) for s, t, d in self._g.edges(data=True)]

    def accepts(self, source: str, target: str, kind: str) -> bool:
        """Whether ``source`` may send a ``kind`` message to ``target``."""
        return self._g.has_edge(source, target) and kind in self._g.edges[source, target]["kinds"]

    def successors(self, source: str, kind: str) -> list[str]:
        """Agents that receive a ``kind`` message from ``source`` when it names no recipient."""
        return [t for t in self._g.successors(source) if kind in self._g.edges[source, t]["kinds"]]

    def validate(self) -> None:
        """Raise ``GraphBuildError`` if the graph cannot run."""
        if not self._agents:
            raise GraphBuildError("the graph has no agents; add some with .add() or .edge()")

    def to_mermaid(self) -> str:
        """A mermaid ``flowchart`` of agents and their typed edges."""
        lines = ["flowchart LR"]
        for name in self._agents:
            lines.append(f'    {_mermaid_id(name)}["{name}"]')
        for edge in self.edges():
            label = "all" if edge.kinds == _ALL_KINDS else ", ".join(sorted(edge.kinds))
            lines.append(f"    {_mermaid_id(edge.source)} -->|{label}| {_mermaid_id(edge.target)}")
        return "\n".join(lines)

    # -- YAML --------------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, path: str | Path, agents: Mapping[str, Agent] | None = None) -> AgentGraph:
        """Load a graph whose topology is YAML::

            agents:
              teacher: {factory: "mypkg.agents:make_teacher", args: {level: 2}}
              student: {}                  # passed in Python: agents={"student": ...}
            edges:
              - {from: teacher, to: student, kinds: [Question, Explanation]}
              - {from: student, to: teacher, kinds: [Answer]}

        Raises:
            ConfigError: The file is missing or not YAML.
            GraphBuildError: An unknown agent, edge end or message kind, with file:line.
        """
        data, lines = load_yaml(path)
        return _GraphYaml(str(path), data, lines, dict(agents or {})).build(cls())


class _GraphYaml:
    def __init__(self, path: str, data: Any, lines: LineMap, given: dict[str, Agent]) -> None:
        self.path, self.data, self.lines, self.given = path, data, lines, given

    def where(self, *loc: str | int) -> str:
        line = self.lines.line(loc)
        at = f"{self.path}:{line}: " if line is not None else f"{self.path}: "
        field = ".".join(str(p) for p in loc)
        return f"{at}{field}: " if field else at

    def build(self, graph: AgentGraph) -> AgentGraph:
        if not isinstance(self.data, dict):
            raise GraphBuildError(f"{self.where()}expected a mapping with 'agents' and 'edges'")
        unknown = set(self.data) - {"agents", "edges"}
        if unknown:
            key = sorted(unknown)[0]
            raise GraphBuildError(
                f"{self.where(key)}unknown key {key!r}.{_suggest(key, ['agents', 'edges'])} "
                "A graph file has 'agents' and 'edges'."
            )
        specs = self.data.get("agents") or {}
        if not isinstance(specs, dict):
            raise GraphBuildError(f"{self.where('agents')}expected a mapping of agent names")
        for name, spec in specs.items():
            graph._add(self.agent(str(name), spec or {}), self.where("agents", name))
        for i, edge in enumerate(self.data.get("edges") or []):
            self.add_edge(graph, i, edge)
        graph.validate()
        graph.source = {"yaml": str(Path(self.path).resolve())}
        return graph

    def agent(self, name: str, spec: Any) -> Agent:
        where = self.where("agents", name)
        if not isinstance(spec, dict):
            raise GraphBuildError(f"{where}expected a mapping (factory, args) or {{}}")
        if "factory" not in spec:
            if name not in self.given:
                raise GraphBuildError(
                    f"{where}agent {name!r} has no 'factory' and was not passed in agents= "
                    f"(passed: {', '.join(sorted(self.given)) or 'none'})"
                )
            return self.given[name]
        target = str(spec["factory"])
        module, _, attr = target.partition(":")
        where = self.where("agents", name, "factory")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError, ValueError) as exc:
            raise GraphBuildError(
                f"{where}cannot import {target!r} ({exc}); write it as 'package.module:callable'"
            ) from None
        args = spec.get("args") or {}
        if not isinstance(args, dict):
            raise GraphBuildError(
                f"{self.where('agents', name, 'args')}expected a mapping of keyword arguments, "
                f"got {shorten(args)}"
            )
        _check_call(factory, target, {"name": name, **args}, where)
        try:
            agent: Agent = factory(name=name, **args)
        except LyceumError:
            raise
        except Exception as exc:  # the factory's own error, shown on the YAML's line
            raise GraphBuildError(
                f"{where}{target} raised {shorten(exc, 200)}; fix 'args' or the factory"
            ) from exc
        if not callable(getattr(agent, "handle", None)):
            raise GraphBuildError(
                f"{where}{target!r} returned {shorten(agent)}, not an agent; a factory must "
                "return an object with a 'name' and an async handle(message, ctx) method"
            )
        return agent

    def add_edge(self, graph: AgentGraph, i: int, edge: Any) -> None:
        if not isinstance(edge, dict) or not {"from", "to"} <= set(edge):
            raise GraphBuildError(f"{self.where('edges', i)}an edge needs 'from' and 'to'")
        extra = set(edge) - {"from", "to", "kinds"}
        if extra:
            raise GraphBuildError(
                f"{self.where('edges', i, sorted(extra)[0])}unknown edge key; use from, to, kinds"
            )
        for end in ("from", "to"):
            name = str(edge[end])
            if name not in graph.agents:
                raise GraphBuildError(
                    f"{self.where('edges', i, end)}unknown agent {name!r}."
                    f"{_suggest(name, graph.agents)} Declared agents: "
                    f"{', '.join(sorted(graph.agents)) or '(none)'}."
                )
        kinds = edge.get("kinds")
        if isinstance(kinds, str):
            kinds = [kinds]  # `kinds: Answer` means one kind
        if kinds is not None:
            if not isinstance(kinds, list):
                raise GraphBuildError(
                    f"{self.where('edges', i, 'kinds')}expected a kind or a list of kinds, "
                    f"got {shorten(kinds)}"
                )
            for j, kind in enumerate(kinds):
                _kind_names([str(kind)], self.where("edges", i, "kinds", j))
        graph.edge(str(edge["from"]), str(edge["to"]), kinds=kinds, _where=self.where("edges", i))
