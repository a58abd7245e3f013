"""The curriculum graph: Concept, Skill, Misconception, Item and Explanation nodes joined by
PREREQUISITE_OF, PART_OF, REQUIRES, EXHIBITS and REMEDIATES edges."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from knowledge_graph.memory import MemoryGraphStore
from knowledge_graph.model import Edge, Node
from knowledge_graph.store import GraphStore
from protocols import ConfigError
from protocols.config import load_yaml, validate_yaml

__all__ = ["CURRICULUM_EDGES", "CURRICULUM_LABELS", "curriculum_graph", "sample_curriculum"]

CURRICULUM_LABELS = ("Concept", "Skill", "Misconception", "Item", "Explanation")
CURRICULUM_EDGES = ("PREREQUISITE_OF", "PART_OF", "REQUIRES", "EXHIBITS", "REMEDIATES")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConceptSpec(_Strict):
    name: str
    description: str
    prerequisites: tuple[str, ...] = ()


class SkillSpec(ConceptSpec):
    concept: str


class MisconceptionSpec(_Strict):
    name: str
    description: str
    skill: str


class ItemSpec(_Strict):
    text: str
    answer: str
    skills: tuple[str, ...]
    exhibits: dict[str, str] = {}


class ExplanationSpec(_Strict):
    text: str
    remediates: tuple[str, ...]


class CurriculumSpec(_Strict):
    concepts: dict[str, ConceptSpec]
    skills: dict[str, SkillSpec]
    misconceptions: dict[str, MisconceptionSpec] = {}
    items: dict[str, ItemSpec] = {}
    explanations: dict[str, ExplanationSpec] = {}


def _graph(spec: CurriculumSpec) -> tuple[list[Node], list[Edge], list[tuple[str, str, str]]]:
    """Nodes, edges and the references to check: (where, kind, id)."""
    nodes: list[Node] = []
    edges: list[Edge] = []
    refs: list[tuple[str, str, str]] = []
    for key, c in spec.concepts.items():
        nodes.append(
            Node(
                id=f"concept:{key}",
                labels=["Concept"],
                properties=c.model_dump(exclude={"prerequisites"}),
            )
        )
        for pre in c.prerequisites:
            refs.append((f"concepts.{key}.prerequisites", "concepts", pre))
            edges.append(
                Edge(source=f"concept:{pre}", target=f"concept:{key}", type="PREREQUISITE_OF")
            )
    for key, s in spec.skills.items():
        nodes.append(
            Node(
                id=f"skill:{key}",
                labels=["Skill"],
                properties={"name": s.name, "description": s.description},
            )
        )
        refs.append((f"skills.{key}.concept", "concepts", s.concept))
        edges.append(Edge(source=f"skill:{key}", target=f"concept:{s.concept}", type="PART_OF"))
        for pre in s.prerequisites:
            refs.append((f"skills.{key}.prerequisites", "skills", pre))
            edges.append(Edge(source=f"skill:{pre}", target=f"skill:{key}", type="PREREQUISITE_OF"))
    for key, m in spec.misconceptions.items():
        nodes.append(
            Node(
                id=f"misconception:{key}",
                labels=["Misconception"],
                properties={"name": m.name, "description": m.description},
            )
        )
        refs.append((f"misconceptions.{key}.skill", "skills", m.skill))
        edges.append(Edge(source=f"misconception:{key}", target=f"skill:{m.skill}", type="PART_OF"))
    for position, (key, i) in enumerate(spec.items.items()):
        props = {"text": i.text, "answer": i.answer, "position": position}
        nodes.append(Node(id=f"item:{key}", labels=["Item"], properties=props))
        for skill in i.skills:
            refs.append((f"items.{key}.skills", "skills", skill))
            edges.append(Edge(source=f"item:{key}", target=f"skill:{skill}", type="REQUIRES"))
        for mis, wrong in i.exhibits.items():
            refs.append((f"items.{key}.exhibits", "misconceptions", mis))
            edges.append(
                Edge(
                    source=f"item:{key}",
                    target=f"misconception:{mis}",
                    type="EXHIBITS",
                    properties={"wrong_answer": wrong},
                )
            )
    for key, x in spec.explanations.items():
        nodes.append(
            Node(id=f"explanation:{key}", labels=["Explanation"], properties={"text": x.text})
        )
        for mis in x.remediates:
            refs.append((f"explanations.{key}.remediates", "misconceptions", mis))
            edges.append(
                Edge(source=f"explanation:{key}", target=f"misconception:{mis}", type="REMEDIATES")
            )
    return nodes, edges, refs


def curriculum_graph(path: str | Path, store: GraphStore | None = None) -> GraphStore:
    """Build a curriculum graph from a YAML file like the shipped ``curriculum.yaml``.

    Raises:
        ConfigError: An unknown field, a wrong type, or a reference to an undefined
            concept, skill or misconception, with file:line and the field path.
    """
    data, lines = load_yaml(path)
    spec = validate_yaml(path, CurriculumSpec, data, lines)
    nodes, edges, refs = _graph(spec)
    for where, kind, ref in refs:
        if ref not in getattr(spec, kind):
            loc = tuple(where.split("."))
            raise ConfigError(
                f"{ref!r} is not one of the {kind} defined in this file "
                f"({', '.join(sorted(getattr(spec, kind)))})",
                path=str(path),
                line=lines.line(loc),
                field=where,
            )
    store = store if store is not None else MemoryGraphStore()
    store.add(nodes, edges)
    return store


def sample_curriculum(store: GraphStore | None = None) -> GraphStore:
    """The project's own small fractions and linear-equations curriculum, as a graph."""
    path = Path(str(resources.files("knowledge_graph.builders") / "curriculum.yaml"))
    return curriculum_graph(path, store)
