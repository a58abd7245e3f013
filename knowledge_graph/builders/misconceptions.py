"""The 55 algebra misconceptions of ``misconceptions/data.json`` (2 diagnostic examples
each) as a curriculum graph: a Concept per topic, a Misconception per id, an Item per
example (EXHIBITS its misconception, REQUIRES its topic) and, where the data explains an
example, an Explanation that REMEDIATES the misconception."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from knowledge_graph.builders.data import read_records
from knowledge_graph.memory import MemoryGraphStore
from knowledge_graph.model import Edge, Node
from knowledge_graph.store import GraphStore

__all__ = ["load_misconception_records", "misconception_graph", "slug"]

FIELDS = (
    "Misconception",
    "Misconception ID",
    "Topic",
    "Example Number",
    "Question",
    "Incorrect Answer",
    "Correct Answer",
)


def slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def load_misconception_records(data_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """The records, checked: each must have the fields the builder reads."""
    return read_records("misconceptions/data.json", FIELDS, data_dir)


def misconception_graph(
    data_dir: str | Path | None = None,
    *,
    store: GraphStore | None = None,
    include_example: Callable[[dict[str, Any]], bool] = lambda record: True,
) -> GraphStore:
    """Build the graph. ``include_example`` selects which examples become Item nodes (the
    retrieval evaluation holds one example of each misconception out)."""
    records = load_misconception_records(data_dir)
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
    for r in records:
        topic = f"concept:{slug(r['Topic'])}"
        mis = f"misconception:{r['Misconception ID']}"
        nodes.setdefault(topic, Node(id=topic, labels=["Concept"], properties={"name": r["Topic"]}))
        if mis not in nodes:
            nodes[mis] = Node(
                id=mis,
                labels=["Misconception"],
                properties={
                    "name": r["Misconception ID"],
                    "description": r["Misconception"],
                    "topic": r["Topic"],
                },
            )
            edges.append(Edge(source=mis, target=topic, type="PART_OF"))
        if not include_example(r):
            continue
        item = f"item:{r['Misconception ID']}-{r['Example Number']}"
        nodes[item] = Node(
            id=item,
            labels=["Item"],
            properties={
                "text": f"{r['Question']} Incorrect answer: {r['Incorrect Answer']}",
                "question": r["Question"],
                "incorrect_answer": r["Incorrect Answer"],
                "correct_answer": r["Correct Answer"],
            },
        )
        edges.append(
            Edge(
                source=item,
                target=mis,
                type="EXHIBITS",
                properties={"wrong_answer": r["Incorrect Answer"]},
            )
        )
        edges.append(Edge(source=item, target=topic, type="REQUIRES"))
        if str(r.get("Explanation", "")).strip():
            expl = f"explanation:{r['Misconception ID']}-{r['Example Number']}"
            nodes[expl] = Node(
                id=expl, labels=["Explanation"], properties={"text": r["Explanation"]}
            )
            edges.append(Edge(source=expl, target=mis, type="REMEDIATES"))
    store = store if store is not None else MemoryGraphStore()
    store.add(list(nodes.values()), edges)
    return store
