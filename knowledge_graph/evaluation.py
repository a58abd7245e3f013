"""Retrieval quality on real data: find a student's misconception from their wrong answer.

For each of the 110 examples in ``misconceptions/data.json`` the query is the question plus
the incorrect answer, and the target is that example's own misconception. Each
misconception has two examples; the graph holds the *other* one (two folds), so a query
never finds its own text. Reported: recall@k of the target Misconception node for

- ``bm25``: BM25 over the Misconception nodes' text,
- ``embedding``: all-MiniLM-L6-v2 cosine similarity over the same nodes,
- ``bm25+graph``: BM25 over every node of the fold's graph, spread over the graph as below,
- ``hybrid+graph``: BM25 and embeddings fused (reciprocal rank) over every node of the
  fold's graph (misconceptions, topics, the held-in examples and their explanations), then
  spread over the graph with personalised PageRank (1 hop) and ranked among misconceptions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge_graph.builders.misconceptions import load_misconception_records, misconception_graph
from knowledge_graph.retrieval import Embedder, Mode, Retriever

__all__ = ["RecallReport", "misconception_recall"]


@dataclass(frozen=True)
class RecallReport:
    """recall@k per method, over ``queries`` queries."""

    k: int
    queries: int
    recall: dict[str, float]

    def table(self) -> str:
        lines = [f"| method | recall@{self.k} ({self.queries} queries) |", "|---|---|"]
        lines += [f"| {name} | {value:.3f} |" for name, value in self.recall.items()]
        return "\n".join(lines)


def misconception_recall(
    data_dir: str | Path | None = None,
    *,
    k: int = 5,
    embedder: Embedder | None = None,
    progress: Callable[[int], None] | None = None,
) -> RecallReport:
    """Run the evaluation; methods that need ``embedder`` are skipped without one."""
    records = load_misconception_records(data_dir)
    methods: list[tuple[str, Mode, bool, int, Embedder | None]] = [
        ("bm25", "bm25", False, 0, None),
        ("bm25+graph", "hybrid", True, 1, None),
    ]
    if embedder is not None:
        methods.append(("embedding", "embedding", False, 0, embedder))
        methods.append(("hybrid+graph", "hybrid", True, 1, embedder))
    hits = {name: 0 for name, *_ in methods}
    total = 0
    for held_out in (1, 2):

        def held_in(record: dict[str, Any], held: int = held_out) -> bool:
            return bool(record["Example Number"] != held)

        graph = misconception_graph(data_dir, include_example=held_in)
        for name, mode, whole_graph, hops, dense in methods:
            retriever = Retriever(
                graph, embedder=dense, labels=None if whole_graph else ["Misconception"]
            )
            for record in records:
                if record["Example Number"] != held_out:
                    continue
                query = f"{record['Question']} {record['Incorrect Answer']}"
                result = retriever.search(
                    query, k=k, hops=hops, mode=mode, labels=["Misconception"]
                )
                hits[name] += f"misconception:{record['Misconception ID']}" in result.citations
                if progress is not None and name == methods[0][0]:
                    progress(1)
        total += sum(1 for r in records if r["Example Number"] == held_out)
    return RecallReport(k, total, {name: hits[name] / total for name in hits})
