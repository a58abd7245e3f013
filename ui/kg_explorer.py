"""The knowledge-graph page's logic, free of Streamlit (the page is ``ui/views/knowledge.py``):
which graphs can be explored, where each citation of a retrieval came from, and Graphviz DOT
pictures of a node's neighbourhood and of a retrieval.

Networkx stays inside ``knowledge_graph``: the pictures are DOT text built from the store's
own queries (``neighborhood``, ``subgraph``, ``shortest_path``), drawn by
``st.graphviz_chart``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise

from knowledge_graph import Edge, GraphStore, Node
from knowledge_graph.builders import (
    cbt_graph,
    misconception_graph,
    sample_curriculum,
    sample_patient_graph,
)
from knowledge_graph.retrieval import RetrievalResult, Retriever

__all__ = [
    "MAX_NODES",
    "Provenance",
    "graph_builders",
    "neighbourhood",
    "provenance",
    "retrieval_dot",
    "to_dot",
]

MAX_NODES = 60
"""A neighbourhood picture keeps the nearest this many nodes (a readable picture)."""

_PALETTE = ("#cfe2ff", "#d1e7dd", "#fff3cd", "#f8d7da", "#e2d9f3", "#d2f4ea", "#fde2c8")


def graph_builders(data_dir: str | None) -> dict[str, Callable[[], GraphStore]]:
    """The graphs on offer, by title: the project's own samples, then (when ``data_dir``
    is given) the graphs built from the real data folder."""
    builders: dict[str, Callable[[], GraphStore]] = {
        "Sample curriculum (fractions, linear equations)": sample_curriculum,
        "Sample CBT patient (Dana)": sample_patient_graph,
    }
    if data_dir:
        builders["Algebra misconceptions (data folder)"] = lambda: misconception_graph(data_dir)
        builders["PATIENT-Ψ CBT profiles (data folder)"] = lambda: cbt_graph(data_dir)
    return builders


@dataclass(frozen=True)
class Provenance:
    """Where one citation of a retrieval came from.

    Attributes:
        node: The cited node's id.
        rank: Its rank (1-based) among the direct BM25 matches of the query, or None when
            only graph expansion reached it.
        start: For an expanded hit, the nearest direct match it was reached from.
        path: The edges from ``start`` to it (either direction).
    """

    node: str
    rank: int | None
    start: str | None = None
    path: tuple[Edge, ...] = ()

    def describe(self) -> str:
        """A one-line account, e.g. ``direct match (BM25 rank 2)``."""
        if self.rank is not None:
            return f"direct match (BM25 rank {self.rank})"
        if self.start is None:
            return "graph expansion (no path from a direct match within the hops)"
        steps = ", ".join(f"[{e.source}] -{e.type}-> [{e.target}]" for e in self.path)
        return f"graph expansion from [{self.start}]: {steps}"


def _edge_between(store: GraphStore, a: str, b: str) -> Edge | None:
    for edge in store.edges(a, direction="out"):
        if edge.target == b:
            return edge
    for edge in store.edges(b, direction="out"):
        if edge.target == a:
            return edge
    return None


def provenance(
    store: GraphStore, retriever: Retriever, result: RetrievalResult, hops: int
) -> list[Provenance]:
    """Each citation of ``result``: a direct BM25 match of its query (with its rank), or
    a node that graph expansion reached (with the edges from the nearest direct match)."""
    direct = retriever.search(result.query, k=retriever.candidates, mode="bm25").citations
    ranks = {node: i + 1 for i, node in enumerate(direct)}
    out = []
    for node in result.citations:
        if node in ranks:
            out.append(Provenance(node, ranks[node]))
            continue
        best: list[str] | None = None
        for start in direct:
            nodes = store.shortest_path(start, node, direction="both", max_depth=max(hops, 1))
            if nodes is not None and (best is None or len(nodes) < len(best)):
                best = nodes
        if best is None:
            out.append(Provenance(node, None))
            continue
        edges = [_edge_between(store, a, b) for a, b in pairwise(best)]
        out.append(Provenance(node, None, best[0], tuple(e for e in edges if e is not None)))
    return out


def neighbourhood(store: GraphStore, node: str, depth: int) -> tuple[list[Node], list[Edge]]:
    """The nodes within ``depth`` hops of ``node`` (the nearest ``MAX_NODES``), and the
    edges among them."""
    hops = store.neighborhood([node], depth=depth, direction="both")
    keep = [i for _, i in sorted((d, i) for i, d in hops.items())][:MAX_NODES]
    return store.subgraph(keep)


def _q(text: str) -> str:
    """A DOT string literal."""
    return json.dumps(text, ensure_ascii=False)


def _label(node: Node, width: int = 28) -> str:
    text = node.text() or node.id
    text = text if len(text) <= 2 * width else text[: 2 * width - 1] + "…"
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + len(word) > width:
            lines.append(line)
            line = ""
        line = f"{line} {word}".strip()
    lines.append(line)
    kind = ", ".join(node.labels)
    return "\n".join([kind, *lines])


def to_dot(
    nodes: Iterable[Node],
    edges: Iterable[Edge],
    *,
    focus: Iterable[str] = (),
    marks: Mapping[str, str] | None = None,
) -> str:
    """Graphviz DOT text for ``nodes`` and ``edges``: nodes coloured by label, ``focus``
    nodes drawn bold, ``marks`` adding an outline colour per node id."""
    nodes = list(nodes)
    focus, marks = set(focus), dict(marks or {})
    labels = sorted({n.labels[0] if n.labels else "" for n in nodes})
    colour = {lab: _PALETTE[i % len(_PALETTE)] for i, lab in enumerate(labels)}
    lines = [
        "digraph G {",
        '  graph [rankdir=LR, fontname="Helvetica"];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=8, color="#666666"];',
    ]
    for n in nodes:
        attrs = [f"label={_q(_label(n))}", f"tooltip={_q(n.id)}"]
        attrs.append(f"fillcolor={_q(colour[n.labels[0] if n.labels else ''])}")
        if n.id in focus:
            attrs.append("penwidth=3")
        if n.id in marks:
            attrs.append(f"color={_q(marks[n.id])}")
            attrs.append("penwidth=3")
        lines.append(f"  {_q(n.id)} [{', '.join(attrs)}];")
    for e in edges:
        lines.append(f"  {_q(e.source)} -> {_q(e.target)} [label={_q(e.type)}];")
    lines.append("}")
    return "\n".join(lines)


DIRECT, EXPANDED = "#0d6efd", "#fd7e14"
"""Outline colours of a retrieval picture: direct matches blue, expansion orange."""


def retrieval_dot(store: GraphStore, found: list[Provenance]) -> str:
    """A picture of a retrieval: its citations (direct matches outlined blue, expanded
    ones orange) and the paths that reached the expanded ones."""
    ids = [p.node for p in found]
    ids += [i for p in found for e in p.path for i in (e.source, e.target)]
    nodes, edges = store.subgraph(dict.fromkeys(ids))
    marks = {p.node: DIRECT if p.rank is not None else EXPANDED for p in found}
    return to_dot(nodes, edges, marks=marks)
