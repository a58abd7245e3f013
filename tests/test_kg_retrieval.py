"""Retrieval: BM25, embeddings, hybrid with graph expansion; real-data recall."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from knowledge_graph import MemoryGraphStore, SqlGraphStore
from knowledge_graph.builders import sample_curriculum
from knowledge_graph.retrieval import Retriever
from protocols import UserError

from .conftest import require


class BagOfWords:
    """A deterministic embedder for tests: normalised word counts over a fixed vocabulary."""

    def __init__(self, vocabulary: list[str]) -> None:
        self.vocabulary = vocabulary

    def encode(self, texts: list[str]) -> np.ndarray:  # type: ignore[type-arg]
        rows = []
        for text in texts:
            words = text.lower().replace(",", " ").replace(".", " ").split()
            v = np.array([words.count(w) for w in self.vocabulary], dtype=np.float32) + 1e-6
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows)


def test_bm25_finds_the_misconception_by_its_words() -> None:
    result = Retriever(sample_curriculum()).search(
        "adds the numerators and adds the denominators", k=3, mode="bm25"
    )
    assert result.citations[0] == "misconception:add_across"
    assert all(h.via == "bm25" for h in result.hits)
    assert "[misconception:add_across] (Misconception) Adding across" in result.context()


def test_graph_expansion_reaches_nodes_without_matching_words() -> None:
    graph = sample_curriculum()
    query = "What is 1/3 + 1/6? Answered 2/9"
    lexical = Retriever(graph).search(query, k=5, mode="bm25", labels=["Explanation"])
    assert lexical.hits == []  # no explanation shares words with the query
    expanded = Retriever(graph).search(query, k=2, hops=2, mode="hybrid", labels=["Explanation"])
    assert expanded.citations[0] == "explanation:x-common-denominator"
    assert all(h.via == "hybrid" for h in expanded.hits)


def test_results_carry_the_edges_among_the_hits() -> None:
    result = Retriever(sample_curriculum()).search("1/3 + 1/6 adding fractions", k=6, hops=1)
    ids = set(result.citations)
    assert result.edges and all(e.source in ids and e.target in ids for e in result.edges)


def test_dense_and_hybrid_modes_use_the_embedder() -> None:
    embedder = BagOfWords(["inverse", "opposite", "balanced", "fractions", "multiply"])
    retriever = Retriever(sample_curriculum(), embedder=embedder)
    dense = retriever.search("do the opposite to keep it balanced", k=1, mode="embedding")
    assert dense.citations == ["explanation:x-inverse"]
    with pytest.raises(UserError, match="no embedder"):
        Retriever(sample_curriculum()).search("x", mode="embedding")
    with pytest.raises(UserError, match="the query is empty"):
        retriever.search("  ")


def test_memory_and_sql_stores_retrieve_the_same(tmp_path: Path) -> None:
    sql = SqlGraphStore(str(tmp_path / "kg.db"))
    sample_curriculum(sql)
    for query in ("common denominator for sixths", "divide both sides by 3"):
        a = Retriever(sample_curriculum()).search(query, k=5, hops=1)
        b = Retriever(sql).search(query, k=5, hops=1)
        assert a.citations == b.citations
        assert [round(h.score, 9) for h in a.hits] == [round(h.score, 9) for h in b.hits]
    sql.close()


def test_indexing_an_empty_graph_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="nothing to index"):
        Retriever(MemoryGraphStore()).search("anything")


@pytest.mark.slow
def test_recall_at_5_on_the_real_misconceptions() -> None:
    data = os.environ.get("LYCEUM_DATA_DIR")
    require(bool(data), "LYCEUM_DATA_DIR is not set to the evaluation data folder")
    require(
        importlib.util.find_spec("sentence_transformers") is not None,
        "sentence-transformers is not installed (pip install 'lyceum[embeddings]')",
    )
    from knowledge_graph.evaluation import misconception_recall
    from knowledge_graph.retrieval import SentenceEmbedder

    report = misconception_recall(data, k=5, embedder=SentenceEmbedder())
    assert report.queries == 110
    # The figures in docs/knowledge_graph.md, reproduced.
    assert report.recall == pytest.approx(
        {"bm25": 0.245, "bm25+graph": 0.382, "embedding": 0.573, "hybrid+graph": 0.573}, abs=0.005
    )


async def test_retrieval_is_a_conceptual_tool_personas_can_call() -> None:
    from personas import ToolRegistry, retrieval_tool
    from personas.tools import Retrieved

    tools = ToolRegistry([retrieval_tool(Retriever(sample_curriculum()))])
    result = await tools.get("kg_retrieval")(
        query="adds numerators and denominators", k=2, labels=["Misconception"]
    )
    assert (result.tool, result.error) == ("kg_retrieval", None)
    assert isinstance(result.output, Retrieved)
    assert result.output.citations[0] == "misconception:add_across"
    assert result.output.context.startswith("[misconception:add_across]")
    with pytest.raises(
        UserError, match=r"unknown tool 'kg_retreival'\. Did you mean 'kg_retrieval'"
    ):
        tools.get("kg_retreival")
