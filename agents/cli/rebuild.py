"""Rebuilding a stored run's graph for replay, without running code named by the store.

A run records how its graph was built (``graph.source``: a ``module:function`` factory
with JSON keyword arguments, or a graph YAML path). That record is data: anyone who can
write to a shared store can change it. So the record never chooses code to import. A
graph is rebuilt only from

* a factory or graph YAML file that the user names (``lyceum runs replay RUN --graph
  mypkg.graphs:build`` or ``--graph graph.yaml``), or
* a factory that an installed package registers under the ``lyceum.graphs`` entry-point
  group, in its ``pyproject.toml``::

      [project.entry-points."lyceum.graphs"]
      lesson = "mypkg.graphs:build_lesson_graph"

The recorded keyword arguments are passed to that trusted factory only when they are
plain JSON data (strings, numbers, booleans, null, lists and objects).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from agents.graph import AgentGraph
from protocols import UserError

__all__ = ["GRAPH_ENTRY_POINTS", "rebuild_graph", "registered_graph_factories"]

GRAPH_ENTRY_POINTS = "lyceum.graphs"
_SHOWN = 120  # characters of a stored value shown in an error


def _shown(value: object) -> str:
    """A stored value as an error may show it: ``repr`` (escapes control characters),
    cut to a readable length."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def registered_graph_factories() -> dict[str, str]:
    """``module:function`` of each graph factory registered under ``lyceum.graphs``,
    mapped to its entry-point name."""
    return {"".join(ep.value.split()): ep.name for ep in entry_points(group=GRAPH_ENTRY_POINTS)}


def _is_json_data(value: object, depth: int = 0) -> bool:
    if depth > 32:
        return False
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, list):
        return all(_is_json_data(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json_data(v, depth + 1) for k, v in value.items())
    return False


def _kwargs(run_id: str, source: Mapping[str, Any]) -> dict[str, Any]:
    kwargs = source.get("kwargs") or {}
    if not isinstance(kwargs, dict) or not _is_json_data(kwargs):
        raise UserError(
            f"run {run_id} records graph kwargs that are not a JSON object of plain values "
            f"({_shown(kwargs)}); replay it from Python with Runtime(store).replay(run_id, graph)"
        )
    return kwargs


def _call(factory_name: str, kwargs: dict[str, Any]) -> AgentGraph:
    module, _, attr = factory_name.partition(":")
    try:
        factory = getattr(importlib.import_module(module), attr) if module and attr else None
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        raise UserError(
            f"cannot import the graph factory {factory_name!r} ({exc}); write it as "
            "'package.module:function'"
        ) from None
    if not callable(factory):
        raise UserError(
            f"the graph factory {factory_name!r} is not a callable; write it as "
            "'package.module:function'"
        )
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as exc:
        raise UserError(
            f"the graph factory {factory_name!r} does not accept the run's recorded "
            f"arguments {_shown(kwargs)} ({exc})"
        ) from None
    except ValueError:  # no signature to check (a builtin): let the call say
        pass
    graph = factory(**kwargs)
    if not isinstance(graph, AgentGraph):
        raise UserError(
            f"the graph factory {factory_name!r} returned {type(graph).__name__}, not an AgentGraph"
        )
    return graph


def _is_file(path: str) -> bool:
    try:
        return Path(path).is_file()
    except (OSError, ValueError):  # a name too long, or with a NUL byte
        return False


def _from_user(run_id: str, source: Mapping[str, Any], graph: str) -> AgentGraph:
    """The graph named on the command line: a YAML file, or a factory given the run's
    recorded kwargs."""
    if graph.endswith((".yaml", ".yml")) or _is_file(graph):
        return AgentGraph.from_yaml(graph)
    return _call(graph, _kwargs(run_id, source) if "factory" in source else {})


def rebuild_graph(
    run_id: str, source: Mapping[str, Any] | None, *, graph: str | None = None
) -> AgentGraph:
    """The graph to replay run ``run_id`` with, from trusted code only (see module docs).

    Args:
        run_id: The run, for error messages.
        source: The run's recorded ``graph_source`` (data, never trusted).
        graph: A ``module:function`` factory or a graph YAML path the user named; it is
            called with the recorded kwargs.

    Raises:
        UserError: The recorded factory is not registered and no ``graph`` was named, or
            the factory fails to import, to accept the kwargs, or to return a graph.
    """
    source = source if isinstance(source, Mapping) else {}
    if graph is not None:
        return _from_user(run_id, source, graph)
    fix = (
        f"`lyceum runs replay {run_id} --graph module:function` (or --graph graph.yaml) "
        f"if you trust it, or register the factory under the {GRAPH_ENTRY_POINTS!r} entry "
        "points of its package"
    )
    if "factory" in source:
        factory = "".join(str(source["factory"]).split())
        if factory in registered_graph_factories():
            return _call(factory, _kwargs(run_id, source))
        raise UserError(
            f"run {run_id} records the graph factory {_shown(source['factory'])}, which is not "
            f"registered under {GRAPH_ENTRY_POINTS!r}, so it was not imported (a store is "
            f"data, not code); replay with {fix}"
        )
    if "yaml" in source:
        raise UserError(
            f"run {run_id} was built from the graph file {_shown(source['yaml'])}; a path read "
            f"from the store is not loaded by itself (its factories are code); replay with "
            f"`--graph PATH` naming that file if you trust it"
        )
    raise UserError(
        f"run {run_id} was built in Python without a graph source, so the CLI cannot rebuild "
        f"it; replay with {fix}, or from Python with Runtime(store).replay(run_id, graph)"
    )
