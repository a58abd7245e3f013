"""Import and export: JSONL (one node or edge per line) and GraphML.

JSONL lines look like ``{"node": {"id": "c1", "labels": ["Concept"], "properties": {...}}}``
or ``{"edge": {"source": "c1", "target": "s1", "type": "REQUIRES"}}``. A malformed line
raises ``ConfigError`` naming the file and the line; nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
from pydantic import ValidationError

from knowledge_graph.model import Edge, Node
from knowledge_graph.store import GraphStore
from protocols import ConfigError
from protocols.config import iter_jsonl
from protocols.errors import shorten

__all__ = ["export_graphml", "export_jsonl", "import_graphml", "import_jsonl", "read_jsonl"]


def read_jsonl(path: str | Path) -> tuple[list[Node], list[Edge]]:
    """Parse a JSONL graph file completely (so a bad line stops before any write)."""
    nodes: list[Node] = []
    edges: list[Edge] = []
    for number, record in iter_jsonl(path):
        if len(record) != 1 or not ({"node", "edge"} & set(record)):
            raise ConfigError(
                'each line must be {"node": {...}} or {"edge": {...}}', path=str(path), line=number
            )
        kind, body = next(iter(record.items()))
        try:
            if kind == "node":
                nodes.append(Node.model_validate(body))
            else:
                edges.append(Edge.model_validate(body))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            field = ".".join([kind, *[str(p) for p in first["loc"]]])
            raise ConfigError(first["msg"], path=str(path), line=number, field=field) from None
    return nodes, edges


def import_jsonl(store: GraphStore, path: str | Path) -> tuple[int, int]:
    """Load a JSONL file into ``store`` in one transaction."""
    nodes, edges = read_jsonl(path)
    store.add(nodes, edges)
    return len(nodes), len(edges)


def _records(store: GraphStore) -> Iterator[dict[str, Any]]:
    for node in store.iter_nodes():
        yield {"node": node.model_dump(mode="json")}
    for edge in store.edges():
        yield {"edge": edge.model_dump(mode="json")}


def export_jsonl(store: GraphStore, path: str | Path) -> int:
    """Write every node, then every edge, one per line; returns the line count."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as out:
        for record in _records(store):
            out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def export_graphml(store: GraphStore, path: str | Path) -> None:
    """Write GraphML. Labels are joined with ';'; properties are stored as JSON strings."""
    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for node in store.iter_nodes():
        graph.add_node(
            node.id,
            labels=";".join(node.labels),
            properties=json.dumps(node.properties, sort_keys=True),
        )
    for edge in store.edges():
        graph.add_edge(
            edge.source,
            edge.target,
            key=edge.type,
            type=edge.type,
            properties=json.dumps(edge.properties, sort_keys=True),
        )
    nx.write_graphml(graph, str(path))


def _properties(data: dict[str, Any]) -> dict[str, Any]:
    """The ``properties`` attribute of a GraphML node or edge: a JSON object."""
    text = data.get("properties", "{}")
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        raise ValueError(
            f"'properties' must be a JSON object, got {shorten(text)}; export with "
            "`lyceum kg export` to see the expected form"
        ) from None
    if not isinstance(value, dict):
        raise ValueError(f"'properties' must be a JSON object, got {shorten(value)}")
    return value


def import_graphml(store: GraphStore, path: str | Path) -> tuple[int, int]:
    """Load a GraphML file written by ``export_graphml``."""
    try:
        graph: Any = nx.read_graphml(str(path), force_multigraph=True)
    except (OSError, ValueError, SyntaxError) as exc:
        raise ConfigError(f"cannot read GraphML: {exc}", path=str(path)) from None
    nodes: list[Node] = []
    edges: list[Edge] = []
    where = ""
    try:
        for i, d in graph.nodes(data=True):
            where = f"node {shorten(str(i))}"
            labels = tuple(str(d.get("labels", "Node")).split(";"))
            nodes.append(Node(id=str(i), labels=labels, properties=_properties(d)))
        for s, t, k, d in graph.edges(keys=True, data=True):
            where = f"edge {shorten(str(s))} -> {shorten(str(t))}"
            edge_type = str(d.get("type", k))
            edges.append(
                Edge(source=str(s), target=str(t), type=edge_type, properties=_properties(d))
            )
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{where}: {field}: {first['msg']}", path=str(path)) from None
    except (ValueError, RecursionError) as exc:
        problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ConfigError(f"{where}: {problem}", path=str(path)) from None
    store.add(nodes, edges)
    return len(nodes), len(edges)
