"""``MemoryGraphStore``: the property graph in memory (networkx inside)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import networkx as nx

from knowledge_graph.model import Edge, GraphSchema, Node
from knowledge_graph.store import Direction, GraphIntegrityError, GraphStats, GraphStore

__all__ = ["MemoryGraphStore"]


class MemoryGraphStore(GraphStore):
    """A graph held in memory: fast, and gone with the process."""

    def __init__(self, schema: GraphSchema | None = None) -> None:
        self.schema = schema
        self._g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        self._labels: dict[str, set[str]] = defaultdict(set)

    def add(self, nodes: Iterable[Node] = (), edges: Iterable[Edge] = ()) -> None:
        nodes, edges = list(nodes), list(edges)
        self._validate(nodes, edges)
        for node in nodes:
            if node.id in self._g:
                raise GraphIntegrityError(f"duplicate node id {node.id!r}: already in the store")
        new = {n.id for n in nodes}
        for edge in edges:
            for end in (edge.source, edge.target):
                if end not in new and end not in self._g:
                    raise GraphIntegrityError(f"edge {edge}: node {end!r} does not exist")
            if self._g.has_edge(edge.source, edge.target, key=edge.type):
                raise GraphIntegrityError(f"duplicate edge {edge}: already in the store")
        for node in nodes:
            self._g.add_node(node.id, labels=node.labels, properties=dict(node.properties))
            for label in node.labels:
                self._labels[label].add(node.id)
        for edge in edges:
            self._g.add_edge(
                edge.source, edge.target, key=edge.type, properties=dict(edge.properties)
            )

    def update_node(
        self, node_id: str, properties: Mapping[str, Any], *, labels: Sequence[str] | None = None
    ) -> Node:
        current, updated = self._updated(node_id, properties, labels)
        for label in current.labels:
            self._labels[label].discard(node_id)
        for label in updated.labels:
            self._labels[label].add(node_id)
        self._g.nodes[node_id].update(labels=updated.labels, properties=dict(updated.properties))
        return updated

    def delete_node(self, node_id: str) -> None:
        node = self.node(node_id)
        if node is None:
            raise GraphIntegrityError(f"cannot delete node {node_id!r}: it does not exist")
        for label in node.labels:
            self._labels[label].discard(node_id)
        self._g.remove_node(node_id)

    def delete_edge(self, source: str, type: str, target: str) -> None:
        if not self._g.has_edge(source, target, key=type):
            raise GraphIntegrityError(
                f"cannot delete edge {source} -[{type}]-> {target}: it does not exist"
            )
        self._g.remove_edge(source, target, key=type)

    def node(self, node_id: str) -> Node | None:
        if node_id not in self._g:
            return None
        data = self._g.nodes[node_id]
        # Stored nodes were validated when they were added: rebuild without validating again
        # (a simulated lesson looks nodes up thousands of times).
        return Node.model_construct(
            id=node_id, labels=data["labels"], properties=dict(data["properties"])
        )

    def match(self, label: str | None = None, **properties: Any) -> list[Node]:
        ids = sorted(self._labels.get(label, set())) if label else sorted(self._g.nodes)
        found = []
        for node_id in ids:
            props = self._g.nodes[node_id]["properties"]
            if all(props.get(k) == v for k, v in properties.items()):
                found.append(self.node(node_id))
        return [n for n in found if n is not None]

    def edges(
        self, node_id: str | None = None, *, type: str | None = None, direction: Direction = "out"
    ) -> list[Edge]:
        if node_id is None:
            raw = list(self._g.edges(keys=True, data=True))
        elif node_id not in self._g:
            return []
        else:
            raw = []
            if direction in ("out", "both"):
                raw += list(self._g.out_edges(node_id, keys=True, data=True))
            if direction in ("in", "both"):
                raw += list(self._g.in_edges(node_id, keys=True, data=True))
        out = [
            Edge.model_construct(source=s, target=t, type=k, properties=dict(d["properties"]))
            for s, t, k, d in raw
            if type is None or k == type
        ]
        return sorted(set_by_key(out), key=lambda e: e.key)

    def neighborhood(
        self,
        node_ids: Sequence[str],
        *,
        depth: int = 1,
        types: Sequence[str] | None = None,
        direction: Direction = "both",
    ) -> dict[str, int]:
        found = {i: 0 for i in node_ids if i in self._g}
        frontier = list(found)
        for d in range(1, depth + 1):
            nxt = []
            for current in frontier:
                for other in self._step(current, types, direction):
                    if other not in found:
                        found[other] = d
                        nxt.append(other)
            frontier = nxt
        return found

    def _step(self, node_id: str, types: Sequence[str] | None, direction: Direction) -> list[str]:
        out: set[str] = set()
        if direction in ("out", "both"):
            for _, other, key in self._g.out_edges(node_id, keys=True):
                if types is None or key in types:
                    out.add(other)
        if direction in ("in", "both"):
            for other, _, key in self._g.in_edges(node_id, keys=True):
                if types is None or key in types:
                    out.add(other)
        return sorted(out)

    def iter_nodes(self) -> Iterator[Node]:
        for node_id in sorted(self._g.nodes):
            node = self.node(node_id)
            if node is not None:
                yield node

    def stats(self) -> GraphStats:
        types: dict[str, int] = defaultdict(int)
        for _, _, key in self._g.edges(keys=True):
            types[key] += 1
        return GraphStats(
            nodes=self._g.number_of_nodes(),
            edges=self._g.number_of_edges(),
            labels={k: len(v) for k, v in sorted(self._labels.items()) if v},
            edge_types=dict(sorted(types.items())),
        )


def set_by_key(edges: list[Edge]) -> list[Edge]:
    """Edges without duplicates (a self-loop is both in and out)."""
    return list({e.key: e for e in edges}.values())
