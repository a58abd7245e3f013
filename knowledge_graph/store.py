"""The ``GraphStore`` interface. Every backend (memory, SQLite, PostgreSQL) passes the same
conformance suite (``tests/test_kg_store.py``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from knowledge_graph.model import Edge, GraphSchema, Node
from protocols import UserError

__all__ = ["Direction", "GraphIntegrityError", "GraphStats", "GraphStore"]

Direction = Literal["out", "in", "both"]


class GraphIntegrityError(UserError):
    """A write would break the graph: a duplicate id or an edge to a missing node.
    Nothing of the failed write is kept."""


@dataclass(frozen=True)
class GraphStats:
    """Counts of a graph: nodes, edges, and nodes per label and edges per type."""

    nodes: int
    edges: int
    labels: dict[str, int] = field(default_factory=dict)
    edge_types: dict[str, int] = field(default_factory=dict)


class GraphStore(ABC):
    """A property graph store.

    Writes are transactional: ``add`` either stores every node and edge it was given or,
    on any error (duplicate id, edge to a missing node, schema violation), none of them.
    """

    schema: GraphSchema | None = None

    def _validate(self, nodes: Sequence[Node], edges: Sequence[Edge]) -> None:
        seen: set[str] = set()
        for node in nodes:
            if node.id in seen:
                raise GraphIntegrityError(f"duplicate node id {node.id!r} in the same write")
            seen.add(node.id)
            if self.schema is not None:
                self.schema.validate_node(node)
        keys: set[tuple[str, str, str]] = set()
        for edge in edges:
            if edge.key in keys:
                raise GraphIntegrityError(f"duplicate edge {edge} in the same write")
            keys.add(edge.key)
            if self.schema is not None:
                self.schema.validate_edge(edge)

    # -- writes ------------------------------------------------------------------------
    @abstractmethod
    def add(self, nodes: Iterable[Node] = (), edges: Iterable[Edge] = ()) -> None:
        """Add nodes and edges in one transaction (all or nothing)."""

    def bulk_load(self, nodes: Iterable[Node] = (), edges: Iterable[Edge] = ()) -> tuple[int, int]:
        """Load many nodes, then edges, in one transaction; returns (nodes, edges) loaded.
        Backends stream the input in chunks where they can."""
        nodes, edges = list(nodes), list(edges)
        self.add(nodes, edges)
        return len(nodes), len(edges)

    @abstractmethod
    def update_node(
        self, node_id: str, properties: Mapping[str, Any], *, labels: Sequence[str] | None = None
    ) -> Node:
        """Merge ``properties`` into a node (a None value removes a key); optionally
        replace its labels. Returns the updated node."""

    @abstractmethod
    def delete_node(self, node_id: str) -> None:
        """Delete a node and every edge touching it."""

    @abstractmethod
    def delete_edge(self, source: str, type: str, target: str) -> None:
        """Delete one edge."""

    def _updated(
        self, node_id: str, properties: Mapping[str, Any], labels: Sequence[str] | None
    ) -> tuple[Node, Node]:
        """The node as it is and as ``update_node`` would leave it, schema-checked."""
        current = self.node(node_id)
        if current is None:
            raise GraphIntegrityError(f"cannot update node {node_id!r}: it does not exist")
        props = {k: v for k, v in {**current.properties, **properties}.items() if v is not None}
        updated = Node(id=node_id, labels=tuple(labels or current.labels), properties=props)
        if self.schema is not None:
            self.schema.validate_node(updated)
        return current, updated

    # -- reads -------------------------------------------------------------------------
    @abstractmethod
    def node(self, node_id: str) -> Node | None:
        """The node with this id, or None."""

    @abstractmethod
    def match(self, label: str | None = None, **properties: Any) -> list[Node]:
        """Nodes with ``label`` (if given) whose properties equal ``properties``, by id."""

    @abstractmethod
    def edges(
        self, node_id: str | None = None, *, type: str | None = None, direction: Direction = "out"
    ) -> list[Edge]:
        """Edges of a node (or all edges), optionally of one type."""

    @abstractmethod
    def neighborhood(
        self,
        node_ids: Sequence[str],
        *,
        depth: int = 1,
        types: Sequence[str] | None = None,
        direction: Direction = "both",
    ) -> dict[str, int]:
        """Every node within ``depth`` hops of ``node_ids`` (the starts at distance 0),
        following edges of ``types`` (all when None), with its hop distance."""

    @abstractmethod
    def iter_nodes(self) -> Iterator[Node]:
        """Every node, in id order, streamed (no full load in memory)."""

    @abstractmethod
    def stats(self) -> GraphStats:
        """Counts of nodes, edges, labels and edge types."""

    # -- derived -----------------------------------------------------------------------
    def nodes_by_id(self, node_ids: Iterable[str]) -> list[Node]:
        """The nodes with these ids that exist, in the given order."""
        found = [self.node(i) for i in node_ids]
        return [n for n in found if n is not None]

    def subgraph(self, node_ids: Iterable[str]) -> tuple[list[Node], list[Edge]]:
        """The given nodes and the edges among them."""
        ids = list(dict.fromkeys(node_ids))
        keep = set(ids)
        nodes = self.nodes_by_id(ids)
        edges = [e for i in ids for e in self.edges(i, direction="out") if e.target in keep]
        return nodes, edges

    def traverse(
        self,
        node_id: str,
        *,
        types: Sequence[str] | None = None,
        direction: Direction = "out",
        depth: int = 1,
    ) -> list[Node]:
        """Nodes reachable from ``node_id`` within ``depth`` hops (not the node itself),
        nearest first, then by id."""
        hops = self.neighborhood([node_id], depth=depth, types=types, direction=direction)
        order = sorted((d, i) for i, d in hops.items() if i != node_id)
        return self.nodes_by_id(i for _, i in order)

    def shortest_path(
        self,
        source: str,
        target: str,
        *,
        types: Sequence[str] | None = None,
        direction: Direction = "out",
        max_depth: int = 10,
    ) -> list[str] | None:
        """Node ids of a shortest path from ``source`` to ``target`` (breadth first over
        the store's edge queries), or None if there is none within ``max_depth`` hops."""
        if self.node(source) is None or self.node(target) is None:
            return None
        parents: dict[str, str | None] = {source: None}
        frontier = [source]
        for _ in range(max_depth):
            nxt: list[str] = []
            for current in frontier:
                for other in self._step(current, types, direction):
                    if other not in parents:
                        parents[other] = current
                        nxt.append(other)
            if target in parents:
                path = [target]
                while (p := parents[path[-1]]) is not None:
                    path.append(p)
                return path[::-1]
            frontier = sorted(nxt)
            if not frontier:
                break
        return None

    def _step(self, node_id: str, types: Sequence[str] | None, direction: Direction) -> list[str]:
        out: list[str] = []
        if direction in ("out", "both"):
            out += [
                e.target
                for e in self.edges(node_id, direction="out")
                if types is None or e.type in types
            ]
        if direction in ("in", "both"):
            out += [
                e.source
                for e in self.edges(node_id, direction="in")
                if types is None or e.type in types
            ]
        return sorted(set(out))

    def close(self) -> None:
        """Release resources; the store reopens on next use."""
        return None
