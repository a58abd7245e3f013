"""One conformance suite for every graph store: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from knowledge_graph import (
    Edge,
    GraphIntegrityError,
    GraphSchema,
    GraphStore,
    MemoryGraphStore,
    Node,
    SchemaViolation,
    SqlGraphStore,
    export_graphml,
    export_jsonl,
    import_graphml,
    import_jsonl,
)
from protocols import ConfigError

from .conftest import _postgres_database


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[type]:
    """A factory of empty stores on one backend: make_store(schema=None)."""
    made: list[GraphStore] = []
    databases: list[Iterator[str]] = []

    def make(schema: GraphSchema | None = None) -> GraphStore:
        if request.param == "memory":
            store: GraphStore = MemoryGraphStore(schema)
        elif request.param == "sqlite":
            store = SqlGraphStore(f"sqlite:///{tmp_path / f'kg{len(made)}.db'}", schema=schema)
        else:
            databases.append(_postgres_database())
            store = SqlGraphStore(next(databases[-1]), schema=schema)
        made.append(store)
        return store

    yield make  # type: ignore[misc]
    for store in made:
        store.close()
    for database in databases:
        for _ in database:  # drops the database
            pass


def curriculum() -> tuple[list[Node], list[Edge]]:
    nodes = [
        Node(id="c:fractions", labels=["Concept"], properties={"name": "fractions", "grade": 4}),
        Node(
            id="s:common-denominator", labels=["Skill"], properties={"name": "common denominator"}
        ),
        Node(
            id="s:add-fractions", labels=["Skill"], properties={"name": "add fractions", "grade": 5}
        ),
        Node(
            id="m:add-across",
            labels=["Misconception"],
            properties={"name": "adds numerators and denominators", "tags": ["fractions"]},
        ),
        Node(id="i:1", labels=["Item", "Fractions"], properties={"text": "1/3 + 1/6", "grade": 5}),
        Node(id="x:1", labels=["Explanation"], properties={"text": "rewrite over sixths"}),
    ]
    edges = [
        Edge(source="s:common-denominator", target="s:add-fractions", type="PREREQUISITE_OF"),
        Edge(source="i:1", target="s:add-fractions", type="REQUIRES", properties={"weight": 1.0}),
        Edge(source="i:1", target="m:add-across", type="EXHIBITS"),
        Edge(source="x:1", target="m:add-across", type="REMEDIATES"),
        Edge(source="s:add-fractions", target="c:fractions", type="PART_OF"),
    ]
    return nodes, edges


def loaded(make_store) -> GraphStore:  # type: ignore[no-untyped-def]
    store: GraphStore = make_store()
    store.add(*curriculum())
    return store


def test_add_get_and_stats(make_store) -> None:  # type: ignore[no-untyped-def]
    store = loaded(make_store)
    assert store.node("i:1") == Node(
        id="i:1", labels=("Fractions", "Item"), properties={"text": "1/3 + 1/6", "grade": 5}
    ) or store.node("i:1") == Node(
        id="i:1", labels=("Item", "Fractions"), properties={"text": "1/3 + 1/6", "grade": 5}
    )
    assert store.node("nope") is None
    stats = store.stats()
    assert (stats.nodes, stats.edges) == (6, 5)
    assert stats.labels == {
        "Concept": 1,
        "Explanation": 1,
        "Fractions": 1,
        "Item": 1,
        "Misconception": 1,
        "Skill": 2,
    }
    assert stats.edge_types == {
        "EXHIBITS": 1,
        "PART_OF": 1,
        "PREREQUISITE_OF": 1,
        "REMEDIATES": 1,
        "REQUIRES": 1,
    }


def test_match_by_label_and_properties(make_store) -> None:  # type: ignore[no-untyped-def]
    store = loaded(make_store)
    assert [n.id for n in store.match("Skill")] == ["s:add-fractions", "s:common-denominator"]
    assert [n.id for n in store.match(grade=5)] == ["i:1", "s:add-fractions"]
    assert [n.id for n in store.match("Skill", grade=5)] == ["s:add-fractions"]
    assert [n.id for n in store.match(name="fractions")] == ["c:fractions"]
    assert [n.id for n in store.match(tags=["fractions"])] == ["m:add-across"]
    assert store.match("Nothing") == []


def test_edges_and_traversal_by_type_direction_and_depth(make_store) -> None:  # type: ignore[no-untyped-def]
    store = loaded(make_store)
    assert [str(e) for e in store.edges("i:1")] == [
        "i:1 -[EXHIBITS]-> m:add-across",
        "i:1 -[REQUIRES]-> s:add-fractions",
    ]
    assert store.edges("i:1", type="REQUIRES")[0].properties == {"weight": 1.0}
    assert [str(e) for e in store.edges("m:add-across", direction="in")] == [
        "i:1 -[EXHIBITS]-> m:add-across",
        "x:1 -[REMEDIATES]-> m:add-across",
    ]
    assert [n.id for n in store.traverse("i:1", depth=1)] == ["m:add-across", "s:add-fractions"]
    assert [n.id for n in store.traverse("i:1", depth=2)] == [
        "m:add-across",
        "s:add-fractions",
        "c:fractions",
    ]
    assert [n.id for n in store.traverse("i:1", types=["REQUIRES"], depth=3)] == ["s:add-fractions"]
    assert [n.id for n in store.traverse("s:add-fractions", direction="in")] == [
        "i:1",
        "s:common-denominator",
    ]
    assert store.neighborhood(["x:1"], depth=3, direction="both") == {
        "x:1": 0,
        "m:add-across": 1,
        "i:1": 2,
        "s:add-fractions": 3,
    }
    assert store.neighborhood(["x:1", "c:fractions"], depth=1, direction="both") == {
        "x:1": 0,
        "c:fractions": 0,
        "m:add-across": 1,
        "s:add-fractions": 1,
    }
    assert store.neighborhood(["missing"], depth=2) == {}


def test_shortest_path_and_subgraph(make_store) -> None:  # type: ignore[no-untyped-def]
    store = loaded(make_store)
    assert store.shortest_path("s:common-denominator", "c:fractions") == [
        "s:common-denominator",
        "s:add-fractions",
        "c:fractions",
    ]
    assert store.shortest_path("c:fractions", "i:1") is None
    assert store.shortest_path("c:fractions", "i:1", direction="both") == [
        "c:fractions",
        "s:add-fractions",
        "i:1",
    ]
    nodes, edges = store.subgraph(["i:1", "m:add-across", "x:1"])
    assert [n.id for n in nodes] == ["i:1", "m:add-across", "x:1"]
    assert sorted(str(e) for e in edges) == [
        "i:1 -[EXHIBITS]-> m:add-across",
        "x:1 -[REMEDIATES]-> m:add-across",
    ]


def test_update_and_delete(make_store) -> None:  # type: ignore[no-untyped-def]
    store = loaded(make_store)
    updated = store.update_node("c:fractions", {"grade": None, "level": "core"})
    assert updated.properties == {"name": "fractions", "level": "core"}
    assert store.node("c:fractions") == updated
    store.update_node("x:1", {}, labels=["Explanation", "Worked"])
    assert set(store.node("x:1").labels) == {"Explanation", "Worked"}  # type: ignore[union-attr]
    assert [n.id for n in store.match("Worked")] == ["x:1"]
    store.delete_edge("i:1", "EXHIBITS", "m:add-across")
    assert [e.type for e in store.edges("i:1")] == ["REQUIRES"]
    store.delete_node("s:add-fractions")
    assert store.node("s:add-fractions") is None
    assert store.stats().edges == 1  # only x:1 -[REMEDIATES]-> m:add-across is left
    with pytest.raises(GraphIntegrityError, match="cannot delete node 'nope': it does not exist"):
        store.delete_node("nope")
    with pytest.raises(GraphIntegrityError, match="cannot update node 'nope'"):
        store.update_node("nope", {})


def test_a_bad_write_writes_nothing(make_store) -> None:  # type: ignore[no-untyped-def]
    store = loaded(make_store)
    before = store.stats()
    fresh = Node(id="new", labels=["Skill"], properties={})
    with pytest.raises(GraphIntegrityError, match="node 'ghost' does not exist"):
        store.add([fresh], [Edge(source="new", target="ghost", type="REQUIRES")])
    with pytest.raises(GraphIntegrityError, match="duplicate node id 'i:1'"):
        store.add([fresh, Node(id="i:1", labels=["Item"])])
    with pytest.raises(GraphIntegrityError, match="duplicate edge i:1 -\\[REQUIRES\\]-> s:add"):
        store.add([fresh], [Edge(source="i:1", target="s:add-fractions", type="REQUIRES")])
    assert store.stats() == before
    assert store.node("new") is None


def test_bulk_load_streams_and_rolls_back_as_a_whole(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    nodes = (Node(id=f"n{i:05d}", labels=["N"], properties={"i": i}) for i in range(3000))
    edges = (
        Edge(source=f"n{i:05d}", target=f"n{(i + 1) % 3000:05d}", type="NEXT") for i in range(3000)
    )
    assert store.bulk_load(nodes, edges) == (3000, 3000)
    assert store.neighborhood(["n00000"], depth=2, direction="out") == {
        "n00000": 0,
        "n00001": 1,
        "n00002": 2,
    }
    bad_nodes = [Node(id=f"m{i}", labels=["M"]) for i in range(2000)]
    bad_edges = [Edge(source="m0", target="m1", type="X"), Edge(source="m1", target="zz", type="X")]
    with pytest.raises(GraphIntegrityError, match="node 'zz' does not exist"):
        store.bulk_load(bad_nodes, bad_edges)
    assert store.stats().nodes == 3000 and store.match("M") == []
    assert [n.id for n in store.iter_nodes()][:2] == ["n00000", "n00001"]


class SkillProps(BaseModel):
    name: str
    grade: int | None = None


class RequiresProps(BaseModel):
    weight: float


def test_schema_violations_name_the_field_and_write_nothing(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store(GraphSchema(nodes={"Skill": SkillProps}, edges={"REQUIRES": RequiresProps}))
    store.add([Node(id="s1", labels=["Skill"], properties={"name": "add", "grade": 3})])
    with pytest.raises(SchemaViolation) as info:
        store.add([Node(id="s2", labels=["Skill"], properties={"name": "x", "grade": "third"})])
    assert info.value.field == "grade" and info.value.item == "s2"
    assert "property 'grade' violates the 'Skill' label schema" in str(info.value)
    assert "(got 'third')" in str(info.value)
    with pytest.raises(SchemaViolation, match="property 'weight'"):
        store.add(
            [Node(id="i1", labels=["Item"])],
            [Edge(source="i1", target="s1", type="REQUIRES", properties={})],
        )
    assert store.node("s2") is None and store.node("i1") is None
    with pytest.raises(SchemaViolation, match="property 'name'"):
        store.update_node("s1", {"name": None})


def test_jsonl_and_graphml_round_trip(make_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = loaded(make_store)
    export_jsonl(store, tmp_path / "g.jsonl")
    export_graphml(store, tmp_path / "g.graphml")
    again, graphml = make_store(), make_store()
    assert import_jsonl(again, tmp_path / "g.jsonl") == (6, 5)
    assert import_graphml(graphml, tmp_path / "g.graphml") == (6, 5)
    for other in (again, graphml):
        assert list(other.iter_nodes()) == list(store.iter_nodes())
        assert other.edges() == store.edges()


def test_import_errors_name_the_line_and_write_nothing(make_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    good = json.dumps({"node": {"id": "a", "labels": ["A"]}})
    path = tmp_path / "bad.jsonl"
    path.write_text(good + "\n\n" + '{"node": {"id": "b", "labels": ["B"]}\n')
    with pytest.raises(ConfigError, match=r"bad\.jsonl:3: not valid JSON"):
        import_jsonl(store, path)
    path.write_text(good + "\n" + json.dumps({"node": {"id": "b", "labels": []}}) + "\n")
    with pytest.raises(ConfigError, match=r"bad\.jsonl:2: field 'node.labels'"):
        import_jsonl(store, path)
    path.write_text(good + "\n" + good + "\n")
    with pytest.raises(GraphIntegrityError, match="duplicate node id 'a'"):
        import_jsonl(store, path)
    path.write_text(good + "\n" + json.dumps({"edge": {"source": "a", "target": "b", "type": "T"}}))
    with pytest.raises(GraphIntegrityError, match="node 'b' does not exist"):
        import_jsonl(store, path)
    assert store.stats().nodes == 0


def test_property_indexes_serve_matches(tmp_path: Path) -> None:
    store = SqlGraphStore(str(tmp_path / "kg.db"))
    store.add([Node(id=f"n{i}", labels=["A"], properties={"name": f"x{i}"}) for i in range(50)])
    store.create_property_index("name")
    assert [n.id for n in store.match("A", name="x7")] == ["n7"]
    with store.engine.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM kg_nodes "
            "WHERE json_extract(properties, '$.\"name\"') = ?",
            ("x7",),
        ).all()
    assert "USING INDEX ix_kg_prop_name" in str(plan)
    store.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.mark.postgres
def test_property_indexes_serve_matches_on_postgresql(postgres_url: str) -> None:
    store = SqlGraphStore(postgres_url)
    store.add([Node(id=f"n{i}", labels=["A"], properties={"name": f"x{i}"}) for i in range(50)])
    store.create_property_index("name")
    store.create_property_index("name")  # again: nothing changes
    assert [n.id for n in store.match("A", name="x7")] == ["n7"]
    with store.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")  # 50 rows: else a scan wins
        plan = conn.exec_driver_sql(
            "EXPLAIN SELECT id FROM kg_nodes WHERE (properties ->> 'name') = %s", ("x7",)
        ).all()
    store.close()
    assert "ix_kg_prop_name" in str(plan)


def test_graph_migrations_match_the_tables_and_share_a_database_with_runs(store_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from agents.store import SqlRunStore
    from knowledge_graph.sql import metadata

    url = store_url
    with SqlRunStore(url) as runs:
        runs.init()
    store = SqlGraphStore(url)
    store.add(*curriculum())
    engine = create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": "kg_alembic_version"})
        diff = [d for d in compare_metadata(context, metadata) if _kg_item(d)]
        versions = conn.exec_driver_sql("SELECT version_num FROM kg_alembic_version").all()
    engine.dispose()
    store.close()
    assert diff == []
    assert versions == [("kg0001",)]


def _kg_item(diff: tuple) -> bool:  # type: ignore[type-arg]
    """Whether an autogenerate difference concerns the graph store's own tables (the run
    store's tables in the shared database are not its business)."""
    thing = diff[1]
    table = getattr(thing, "table", thing)
    return str(getattr(table, "name", "")).startswith("kg_")
