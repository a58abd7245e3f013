"""A CBT graph from PATIENT-Ψ cognitive-conceptualization profiles.

For each patient: situation → automatic thought → emotions and behaviour (TRIGGERS,
LEADS_TO); core beliefs → intermediate beliefs → coping strategies (GIVES_RISE_TO,
RESULTS_IN); and the patient's history, which SHAPES the core beliefs. Core beliefs carry
their category: helpless, unlovable or worthless. ``sample_patient_graph`` builds the
project's own written sample profile (``sample_patient.yaml``), for offline use."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from knowledge_graph.builders.data import read_records
from knowledge_graph.memory import MemoryGraphStore
from knowledge_graph.model import Edge, Node
from knowledge_graph.store import GraphStore

__all__ = ["CBT_FIELDS", "cbt_graph", "load_profiles", "sample_patient_graph"]

CBT_FIELDS = (
    "name",
    "id",
    "history",
    "helpless_belief",
    "unlovable_belief",
    "worthless_belief",
    "intermediate_belief",
    "coping_strategies",
    "situation",
    "auto_thought",
    "emotion",
    "behavior",
)


def load_profiles(data_dir: str | Path | None = None) -> list[dict[str, Any]]:
    return read_records("patient_psi/profiles.json", CBT_FIELDS, data_dir)


def _as_list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in items if str(v).strip()]


def sample_patient_graph(store: GraphStore | None = None) -> GraphStore:
    """The CBT graph of the project's own sample patient, ``patient:sample-1`` (Dana)."""
    text = resources.files("knowledge_graph.builders").joinpath("sample_patient.yaml")
    return cbt_graph(profiles=yaml.safe_load(text.read_text("utf-8")), store=store)


def cbt_graph(
    data_dir: str | Path | None = None,
    *,
    profiles: Sequence[dict[str, Any]] | None = None,
    store: GraphStore | None = None,
) -> GraphStore:
    """Build the CBT graph of every profile (``profiles``, else those in the data folder)."""
    nodes: list[Node] = []
    edges: list[Edge] = []
    for p in profiles if profiles is not None else load_profiles(data_dir):
        pid = f"patient:{p['id']}"

        def add(kind: str, suffix: str, text: str, pid: str = pid, **props: Any) -> str:
            node_id = f"{pid}/{suffix}"
            nodes.append(Node(id=node_id, labels=[kind], properties={"text": text, **props}))
            edges.append(Edge(source=pid, target=node_id, type="HAS"))
            return node_id

        nodes.append(
            Node(
                id=pid,
                labels=["Patient"],
                properties={"name": p["name"], "styles": list(p.get("type") or [])},
            )
        )
        history = add("History", "history", p["history"])
        situation = add("Situation", "situation", p["situation"])
        thought = add("AutomaticThought", "thought", p["auto_thought"])
        edges.append(Edge(source=situation, target=thought, type="TRIGGERS"))
        for i, emotion in enumerate(_as_list(p["emotion"])):
            e = add("Emotion", f"emotion-{i}", emotion)
            edges.append(Edge(source=thought, target=e, type="LEADS_TO"))
        behavior = add("Behavior", "behavior", p["behavior"])
        edges.append(Edge(source=thought, target=behavior, type="LEADS_TO"))
        intermediate = add("IntermediateBelief", "intermediate", p["intermediate_belief"])
        coping = add("CopingStrategy", "coping", p["coping_strategies"])
        edges.append(Edge(source=intermediate, target=coping, type="RESULTS_IN"))
        for category in ("helpless", "unlovable", "worthless"):
            for i, belief in enumerate(_as_list(p[f"{category}_belief"])):
                core = add("CoreBelief", f"core-{category}-{i}", belief, category=category)
                edges.append(Edge(source=history, target=core, type="SHAPES"))
                edges.append(Edge(source=core, target=intermediate, type="GIVES_RISE_TO"))
    store = store if store is not None else MemoryGraphStore()
    store.add(nodes, edges)
    return store
