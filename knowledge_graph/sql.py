"""``SqlGraphStore``: the property graph in SQL through SQLAlchemy (SQLite or PostgreSQL).

Nodes, labels and edges are three indexed tables; properties are JSON (JSONB on
PostgreSQL). k-hop neighbourhoods are one recursive CTE evaluated in the database, so a
graph of millions of nodes is never loaded into memory. Bulk loads stream in chunks inside
one transaction: any error rolls back the whole load.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError

from knowledge_graph.model import Edge, GraphSchema, Node
from knowledge_graph.store import Direction, GraphIntegrityError, GraphStats, GraphStore
from protocols import UserError
from protocols.secrets import mask_db_url
from protocols.sql import GRAPH_STORE_LOCK, StoreSchema, db_url, open_engine, parse_db_url

__all__ = ["GRAPH_STORE", "SqlGraphStore"]

T = TypeVar("T")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_JSON = JSON().with_variant(JSONB(), "postgresql")
metadata = MetaData()
nodes_t = Table(
    "kg_nodes",
    metadata,
    Column("id", String(512), primary_key=True),
    Column("properties", _JSON, nullable=False),
)
labels_t = Table(
    "kg_labels",
    metadata,
    Column("label", String(128), primary_key=True),
    Column("node_id", String(512), ForeignKey("kg_nodes.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_kg_labels_node", "node_id"),
)
edges_t = Table(
    "kg_edges",
    metadata,
    Column("source", String(512), ForeignKey("kg_nodes.id", ondelete="CASCADE"), primary_key=True),
    Column("type", String(128), primary_key=True),
    Column("target", String(512), ForeignKey("kg_nodes.id", ondelete="CASCADE"), primary_key=True),
    Column("properties", _JSON, nullable=False),
    Index("ix_kg_edges_target_type", "target", "type"),
    Index("ix_kg_edges_type", "type"),
)

GRAPH_STORE = StoreSchema(
    "graph store",
    "knowledge_graph",
    GRAPH_STORE_LOCK,
    tables=frozenset(metadata.tables),
    version_table="kg_alembic_version",
    maker="`lyceum kg build`",
)
"""Opened with its own Alembic version table (``kg_alembic_version``), so the graph store
can share a database with the run store."""


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class SqlGraphStore(GraphStore):
    """A property graph in a SQL database.

    The store never writes to a database that is not a lyceum store: a SQLite file holding
    other tables, or another revision in ``kg_alembic_version``, is refused with
    ``StoreError`` and left byte-identical. A ``read_only`` store does not create the file,
    migrate the schema or change the journal mode, and refuses a database that holds no
    graph store; its writes fail.

    Args:
        url: SQLAlchemy URL or SQLite path (may be the run store's database).
        schema: Optional label and edge-type schemas, checked on every write.
        chunk_size: Rows per statement when bulk loading.
        read_only: Only read (``lyceum kg stats``, ``query`` and ``export``).
    """

    def __init__(
        self,
        url: str,
        *,
        schema: GraphSchema | None = None,
        chunk_size: int = 5000,
        read_only: bool = False,
    ) -> None:
        self.url = db_url(url)
        """The URL to connect with; it may hold a password, so show ``display_url``."""
        parse_db_url(self.url, GRAPH_STORE.name)  # a bad URL fails here, not on first use
        self.schema = schema
        self.chunk_size = chunk_size
        self.read_only = read_only
        self._engine: Engine | None = None

    def __repr__(self) -> str:
        return f"SqlGraphStore({self.display_url!r})"

    @property
    def display_url(self) -> str:
        """The URL as it may be printed or logged: password and query values masked."""
        return mask_db_url(self.url)

    @property
    def engine(self) -> Engine:
        """The engine, opened (and the schema migrated) on first use."""
        if self._engine is None:
            self._engine = open_engine(self.url, GRAPH_STORE, read_only=self.read_only)
        return self._engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- writes ------------------------------------------------------------------------
    def add(self, nodes: Iterable[Node] = (), edges: Iterable[Edge] = ()) -> None:
        nodes, edges = list(nodes), list(edges)
        self._validate(nodes, edges)
        self.bulk_load(nodes, edges, _validated=True)

    def bulk_load(
        self, nodes: Iterable[Node] = (), edges: Iterable[Edge] = (), *, _validated: bool = False
    ) -> tuple[int, int]:
        """Stream nodes, then edges, into the store in one transaction; returns the counts.
        Any error (duplicate id, edge to a missing node, schema violation) loads nothing."""
        counts = [0, 0]
        with self.engine.connect() as conn, conn.begin() as tx:
            for chunk in _chunks(nodes, self.chunk_size):
                if not _validated:
                    self._validate(chunk, [])
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(nodes_t),
                            [{"id": n.id, "properties": n.properties} for n in chunk],
                        )
                        conn.execute(
                            insert(labels_t),
                            [
                                {"label": label, "node_id": n.id}
                                for n in chunk
                                for label in n.labels
                            ],
                        )
                except IntegrityError as exc:
                    error = self._explain_nodes(conn, chunk, exc)
                    tx.rollback()
                    raise error from None
                counts[0] += len(chunk)
            for echunk in _chunks(edges, self.chunk_size):
                if not _validated:
                    self._validate([], echunk)
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(edges_t),
                            [
                                {
                                    "source": e.source,
                                    "type": e.type,
                                    "target": e.target,
                                    "properties": e.properties,
                                }
                                for e in echunk
                            ],
                        )
                except IntegrityError as exc:
                    error = self._explain_edges(conn, echunk, exc)
                    tx.rollback()
                    raise error from None
                counts[1] += len(echunk)
        if sum(counts) >= self.chunk_size:
            self.analyze()
        return counts[0], counts[1]

    def analyze(self) -> None:
        """Refresh the query planner's statistics (done after large bulk loads; without it
        PostgreSQL plans k-hop queries for the table sizes it last saw)."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql(
                "ANALYZE kg_nodes"
                if self.dialect == "sqlite"
                else "ANALYZE kg_nodes, kg_labels, kg_edges"
            )
            if self.dialect == "sqlite":
                conn.exec_driver_sql("ANALYZE kg_labels")
                conn.exec_driver_sql("ANALYZE kg_edges")

    @staticmethod
    def _existing(conn: Connection, ids: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(sorted(set(ids)), 900):
            found |= set(conn.scalars(select(nodes_t.c.id).where(nodes_t.c.id.in_(chunk))))
        return found

    def _explain_nodes(
        self, conn: Connection, chunk: list[Node], exc: IntegrityError
    ) -> GraphIntegrityError:
        existing = self._existing(conn, (n.id for n in chunk))
        for node in chunk:
            if node.id in existing:
                return GraphIntegrityError(
                    f"duplicate node id {node.id!r}: already in the store; nothing was written"
                )
        return GraphIntegrityError(
            f"the write broke an integrity rule ({exc.orig}); nothing was written"
        )

    def _explain_edges(
        self, conn: Connection, chunk: list[Edge], exc: IntegrityError
    ) -> GraphIntegrityError:
        existing = self._existing(conn, (end for e in chunk for end in (e.source, e.target)))
        for edge in chunk:
            for end in (edge.source, edge.target):
                if end not in existing:
                    return GraphIntegrityError(
                        f"edge {edge}: node {end!r} does not exist; nothing was written"
                    )
        for edge in chunk:
            if conn.scalar(
                select(func.count())
                .select_from(edges_t)
                .where(
                    edges_t.c.source == edge.source,
                    edges_t.c.type == edge.type,
                    edges_t.c.target == edge.target,
                )
            ):
                return GraphIntegrityError(
                    f"duplicate edge {edge}: already in the store; nothing was written"
                )
        return GraphIntegrityError(
            f"the write broke an integrity rule ({exc.orig}); nothing was written"
        )

    def update_node(
        self, node_id: str, properties: Mapping[str, Any], *, labels: Sequence[str] | None = None
    ) -> Node:
        _, updated = self._updated(node_id, properties, labels)
        with self.engine.begin() as conn:
            conn.execute(
                update(nodes_t).where(nodes_t.c.id == node_id).values(properties=updated.properties)
            )
            if labels is not None:
                conn.execute(delete(labels_t).where(labels_t.c.node_id == node_id))
                conn.execute(
                    insert(labels_t), [{"label": lb, "node_id": node_id} for lb in updated.labels]
                )
        return updated

    def delete_node(self, node_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(edges_t).where((edges_t.c.source == node_id) | (edges_t.c.target == node_id))
            )
            conn.execute(delete(labels_t).where(labels_t.c.node_id == node_id))
            gone = conn.execute(delete(nodes_t).where(nodes_t.c.id == node_id)).rowcount
            if not gone:
                raise GraphIntegrityError(f"cannot delete node {node_id!r}: it does not exist")

    def delete_edge(self, source: str, type: str, target: str) -> None:
        with self.engine.begin() as conn:
            gone = conn.execute(
                delete(edges_t).where(
                    edges_t.c.source == source, edges_t.c.type == type, edges_t.c.target == target
                )
            ).rowcount
        if not gone:
            raise GraphIntegrityError(
                f"cannot delete edge {source} -[{type}]-> {target}: it does not exist"
            )

    def _text_property(self, key: str) -> Any:
        """The SQL expression of a string property, with the key written literally so that
        an expression index on it can serve ``match`` (a bound key would not)."""
        if not _KEY.match(key):
            raise UserError(f"property index keys must be identifiers, got {key!r}")
        if self.dialect == "sqlite":
            return literal_column(f"json_extract(properties, '$.\"{key}\"')")
        return literal_column(f"(properties ->> '{key}')")

    def create_property_index(self, key: str) -> None:
        """Index a property that ``match`` queries often (an expression index used by
        equality matches on string values)."""
        expr = self._text_property(key)
        with self.engine.begin() as conn:
            conn.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS ix_kg_prop_{key} ON kg_nodes ({expr})"
            )

    # -- reads -------------------------------------------------------------------------
    def _nodes(self, conn: Connection, ids: Sequence[str]) -> list[Node]:
        if not ids:
            return []
        props: dict[str, dict[str, Any]] = {}
        labels: dict[str, list[str]] = {}
        for chunk in _chunks(ids, 900):
            for row in conn.execute(select(nodes_t).where(nodes_t.c.id.in_(chunk))):
                props[row.id] = row.properties
            for row in conn.execute(
                select(labels_t).where(labels_t.c.node_id.in_(chunk)).order_by(labels_t.c.label)
            ):
                labels.setdefault(row.node_id, []).append(row.label)
        return [
            Node(id=i, labels=tuple(labels[i]), properties=props[i])
            for i in ids
            if i in props and i in labels
        ]

    def node(self, node_id: str) -> Node | None:
        with self.engine.connect() as conn:
            found = self._nodes(conn, [node_id])
        return found[0] if found else None

    def nodes_by_id(self, node_ids: Iterable[str]) -> list[Node]:
        with self.engine.connect() as conn:
            return self._nodes(conn, list(node_ids))

    def subgraph(self, node_ids: Iterable[str]) -> tuple[list[Node], list[Edge]]:
        ids = list(dict.fromkeys(node_ids))
        edges: list[Edge] = []
        with self.engine.connect() as conn:
            nodes = self._nodes(conn, ids)
            keep = {n.id for n in nodes}
            for chunk in _chunks(ids, 900):
                query = select(edges_t).where(edges_t.c.source.in_(chunk))
                edges += [
                    Edge(source=r.source, target=r.target, type=r.type, properties=r.properties)
                    for r in conn.execute(query)
                    if r.target in keep
                ]
        return nodes, sorted(edges, key=lambda e: e.key)

    def match(self, label: str | None = None, **properties: Any) -> list[Node]:
        query = select(nodes_t.c.id)
        if label is not None:
            query = query.join(labels_t, labels_t.c.node_id == nodes_t.c.id).where(
                labels_t.c.label == label
            )
        rest = {}
        for key, value in properties.items():
            field = nodes_t.c.properties[key]
            if isinstance(value, bool):
                query = query.where(field.as_boolean() == value)
            elif isinstance(value, str) and _KEY.match(key):
                query = query.where(self._text_property(key) == value)
            elif isinstance(value, str):
                query = query.where(field.as_string() == value)
            elif isinstance(value, int):
                query = query.where(field.as_integer() == value)
            elif isinstance(value, float):
                query = query.where(field.as_float() == value)
            else:
                rest[key] = value
        with self.engine.connect() as conn:
            ids = list(conn.scalars(query.order_by(nodes_t.c.id)))
            found = self._nodes(conn, ids)
        return [n for n in found if all(n.properties.get(k) == v for k, v in rest.items())]

    def edges(
        self, node_id: str | None = None, *, type: str | None = None, direction: Direction = "out"
    ) -> list[Edge]:
        query = select(edges_t)
        if node_id is not None:
            conditions = []
            if direction in ("out", "both"):
                conditions.append(edges_t.c.source == node_id)
            if direction in ("in", "both"):
                conditions.append(edges_t.c.target == node_id)
            query = query.where(
                conditions[0] if len(conditions) == 1 else conditions[0] | conditions[1]
            )
        if type is not None:
            query = query.where(edges_t.c.type == type)
        query = query.order_by(edges_t.c.source, edges_t.c.type, edges_t.c.target)
        with self.engine.connect() as conn:
            return [
                Edge(source=r.source, target=r.target, type=r.type, properties=r.properties)
                for r in conn.execute(query)
            ]

    def neighborhood(
        self,
        node_ids: Sequence[str],
        *,
        depth: int = 1,
        types: Sequence[str] | None = None,
        direction: Direction = "both",
    ) -> dict[str, int]:
        if not node_ids:
            return {}
        sql = self._hop_sql(direction, types is not None)
        params: dict[str, Any] = {"starts": list(node_ids), "depth": depth}
        if types is not None:
            params["types"] = list(types)
        with self.engine.connect() as conn:
            return {row[0]: int(row[1]) for row in conn.execute(sql, params)}

    def _hop_sql(self, direction: Direction, typed: bool) -> Any:
        tf = " AND e.type IN :types" if typed else ""
        out = f"SELECT e.target AS other FROM kg_edges e WHERE e.source = h.id{tf}"
        inn = f"SELECT e.source AS other FROM kg_edges e WHERE e.target = h.id{tf}"
        seed = "SELECT id, 0 FROM kg_nodes WHERE id IN :starts"
        if self.dialect == "sqlite":
            parts = []
            if direction in ("out", "both"):
                parts.append(
                    f"SELECT e.target, h.depth + 1 FROM hop h JOIN kg_edges e "
                    f"ON e.source = h.id WHERE h.depth < :depth{tf}"
                )
            if direction in ("in", "both"):
                parts.append(
                    f"SELECT e.source, h.depth + 1 FROM hop h JOIN kg_edges e "
                    f"ON e.target = h.id WHERE h.depth < :depth{tf}"
                )
            recursive = " UNION ".join(parts)
        else:
            branches = {"out": out, "in": inn, "both": f"{out} UNION ALL {inn}"}[direction]
            recursive = (
                f"SELECT x.other, h.depth + 1 FROM hop h CROSS JOIN LATERAL "
                f"({branches}) x WHERE h.depth < :depth"
            )
        sql = text(
            f"WITH RECURSIVE hop(id, depth) AS ({seed} UNION {recursive}) "
            "SELECT id, MIN(depth) FROM hop GROUP BY id"
        )
        sql = sql.bindparams(bindparam("starts", expanding=True))
        if typed:
            sql = sql.bindparams(bindparam("types", expanding=True))
        return sql

    def iter_nodes(self) -> Iterator[Node]:
        after = ""
        while True:
            with self.engine.connect() as conn:
                ids = list(
                    conn.scalars(
                        select(nodes_t.c.id)
                        .where(nodes_t.c.id > after)
                        .order_by(nodes_t.c.id)
                        .limit(self.chunk_size)
                    )
                )
                batch = self._nodes(conn, ids)
            if not ids:
                return
            yield from batch
            after = ids[-1]

    def stats(self) -> GraphStats:
        with self.engine.connect() as conn:
            nodes = conn.scalar(select(func.count()).select_from(nodes_t)) or 0
            edges = conn.scalar(select(func.count()).select_from(edges_t)) or 0
            labels: dict[Any, Any] = dict(
                conn.execute(
                    select(labels_t.c.label, func.count())
                    .group_by(labels_t.c.label)
                    .order_by(labels_t.c.label)
                ).all()
            )
            types: dict[Any, Any] = dict(
                conn.execute(
                    select(edges_t.c.type, func.count())
                    .group_by(edges_t.c.type)
                    .order_by(edges_t.c.type)
                ).all()
            )
        return GraphStats(
            nodes=nodes,
            edges=edges,
            labels={str(k): int(v) for k, v in labels.items()},
            edge_types={str(k): int(v) for k, v in types.items()},
        )
