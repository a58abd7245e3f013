"""Nodes, edges and optional schemas of the property graph.

A node has an id, one or more labels and properties; an edge has a source, a target, a type
and properties. A ``GraphSchema`` may attach a pydantic model to a label or an edge type;
every write is then validated, and a violation names the node or edge and the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from protocols import UserError

__all__ = ["Edge", "GraphSchema", "Node", "SchemaViolation"]


class SchemaViolation(UserError):
    """A node or edge does not satisfy the schema of its label or type.

    Attributes:
        item: The node id or ``source -[TYPE]-> target`` of the offending edge.
        field: The offending property.
    """

    def __init__(self, message: str, *, item: str, field: str | None) -> None:
        self.item = item
        self.field = field
        super().__init__(message)


class Node(BaseModel):
    """A node: an id, labels (at least one) and JSON-serialisable properties."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    labels: Sequence[str] = Field(min_length=1)
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else tuple(value)

    @field_validator("labels")
    @classmethod
    def _tuple(cls, value: Sequence[str]) -> tuple[str, ...]:
        return tuple(value)

    def text(self, fields: Iterable[str] = ("name", "text", "description")) -> str:
        """The node's searchable text: the named properties that are strings, joined."""
        return " ".join(
            str(self.properties[f]) for f in fields if isinstance(self.properties.get(f), str)
        )


class Edge(BaseModel):
    """A directed, typed edge with properties. (source, type, target) is unique."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(min_length=1)
    target: str = Field(min_length=1)
    type: str = Field(min_length=1)
    properties: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.type, self.target)

    def __str__(self) -> str:
        return f"{self.source} -[{self.type}]-> {self.target}"


class GraphSchema:
    """Optional pydantic models for the properties of labels and edge types.

    Args:
        nodes: Label → model; a node is checked against the model of each of its labels.
        edges: Edge type → model.
        strict: When True, labels and edge types without a model are rejected.
    """

    def __init__(
        self,
        nodes: Mapping[str, type[BaseModel]] | None = None,
        edges: Mapping[str, type[BaseModel]] | None = None,
        *,
        strict: bool = False,
    ) -> None:
        self.nodes = dict(nodes or {})
        self.edges = dict(edges or {})
        self.strict = strict

    def _check(
        self, model: type[BaseModel] | None, props: dict[str, Any], item: str, what: str
    ) -> None:
        if model is None:
            if self.strict:
                raise SchemaViolation(
                    f"{item}: {what} has no schema (strict schema)", item=item, field=None
                )
            return
        try:
            model.model_validate(props)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            field = ".".join(str(p) for p in first["loc"]) or None
            got = f" (got {first['input']!r})" if first["type"] != "missing" else ""
            raise SchemaViolation(
                f"{item}: property '{field}' violates the {what} schema: {first['msg']}{got}",
                item=item,
                field=field,
            ) from None

    def validate_node(self, node: Node) -> None:
        for label in node.labels:
            self._check(self.nodes.get(label), node.properties, node.id, f"{label!r} label")

    def validate_edge(self, edge: Edge) -> None:
        self._check(self.edges.get(edge.type), edge.properties, str(edge), f"{edge.type!r} edge")
