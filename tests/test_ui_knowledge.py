"""The knowledge-graph page (AppTest): search a graph, see where each citation came from
(a direct match or graph expansion along which edges), and a node's neighbourhood drawn
from the store's edges."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from knowledge_graph.builders import sample_curriculum
from knowledge_graph.retrieval import Retriever
from ui.kg_explorer import neighbourhood, provenance, to_dot

from .conftest import require

DATA = os.environ.get("LYCEUM_DATA_DIR")
APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
QUERY = "the student adds the tops and the bottoms"


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.delenv("LYCEUM_DATA_DIR", raising=False)
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    return app.switch_page("views/knowledge.py").run()


def charts(at: AppTest) -> list[str]:
    """The DOT text of each Graphviz chart on the page."""
    return [chart.proto.spec for chart in at.get("graphviz_chart")]


def test_a_search_shows_its_citations_and_where_they_came_from(at: AppTest) -> None:
    assert not at.exception
    assert at.selectbox[0].value == "Sample curriculum (fractions, linear equations)"
    at.text_input(key="kg_query").input(QUERY).run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    store = sample_curriculum()
    retriever = Retriever(store)
    result = retriever.search(QUERY, k=6, hops=1)
    assert list(table["node"]) == result.citations
    found = provenance(store, retriever, result, 1)
    assert list(table["came from"]) == [p.describe() for p in found]
    direct = [p for p in found if p.rank is not None]
    expanded = [p for p in found if p.rank is None]
    assert direct and expanded, "the query finds direct matches and expands from them"
    for p in expanded:  # each expanded citation is joined to a direct match by its path
        assert p.start in retriever.search(QUERY, k=20, mode="bm25").citations
        ends = {p.start, p.node}
        touched = {n for e in p.path for n in (e.source, e.target)}
        assert ends <= touched and len(p.path) == 1
    assert at.code[0].value == result.context()
    picture, around = charts(at)
    for p in found:
        assert f'"{p.node}"' in picture
    assert picture.count("#0d6efd") == len(direct) and picture.count("#fd7e14") == len(expanded)
    first = result.citations[0]
    nodes, edges = neighbourhood(store, first, 1)
    assert around == to_dot(nodes, edges, focus=[first])
    for e in edges:
        assert f'"{e.source}" -> "{e.target}" [label="{e.type}"]' in around


def test_the_neighbourhood_of_a_chosen_node_and_depth(at: AppTest) -> None:
    at.selectbox(key="kg_node_concept:fractions").select("skill:fraction_addition").run()
    (one,) = charts(at)
    at.number_input(key="kg_depth").set_value(2).run()
    (two,) = charts(at)
    store = sample_curriculum()
    near = store.neighborhood(["skill:fraction_addition"], depth=1)
    far = store.neighborhood(["skill:fraction_addition"], depth=2)
    assert len(far) > len(near) > 1
    assert {i for i in near if f'"{i}" [' in one} == set(near)
    assert {i for i in far if f'"{i}" [' in two} == set(far)
    assert not any(f'"{i}" [' in one for i in set(far) - set(near))


def test_an_empty_result_and_every_graph_on_offer(at: AppTest) -> None:
    at.text_input(key="kg_query").input("zzzzqqq").run()
    assert not at.exception
    assert "Nothing in this graph matches" in at.warning[0].value
    at.selectbox[0].select("Sample CBT patient (Dana)").run()
    assert not at.exception
    assert "Patient 1" in at.caption[0].value


def test_the_graphs_of_the_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    require(
        bool(DATA) and Path(DATA or "", "misconceptions", "data.json").is_file(),
        "LYCEUM_DATA_DIR is not set to the data folder (../shared/data)",
    )
    monkeypatch.setenv("LYCEUM_DATA_DIR", DATA or "")
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    at = app.switch_page("views/knowledge.py").run()
    for title, query in (
        ("Algebra misconceptions (data folder)", "adds the numerators and the denominators"),
        ("PATIENT-Ψ CBT profiles (data folder)", "I am a failure"),
    ):
        at.selectbox[0].select(title).run()
        at.text_input(key="kg_query").input(query).run()
        assert not at.exception and not at.error, title
        assert len(at.dataframe[0].value) > 0 and len(charts(at)) == 2
