"""Knowledge graph: search a graph (hybrid retrieval), see where each citation came from,
and see a node's neighbourhood as a picture."""

from __future__ import annotations

import os
from typing import Literal

import pandas as pd
import streamlit as st

from knowledge_graph import GraphStore
from knowledge_graph.builders import DATA_ENV
from knowledge_graph.retrieval import Retriever
from ui.common import shown_errors
from ui.kg_explorer import (
    DIRECT,
    EXPANDED,
    MAX_NODES,
    graph_builders,
    neighbourhood,
    provenance,
    retrieval_dot,
    to_dot,
)


@st.cache_resource(show_spinner="Building the graph…")
def _graph(title: str, data_dir: str | None) -> tuple[GraphStore, Retriever]:
    """A graph and its retriever, indexed (read-only; shared by every browser session)."""
    store = graph_builders(data_dir)[title]()
    return store, Retriever(store).index()


def _search(store: GraphStore, retriever: Retriever) -> list[str]:
    """The search form and its results; the cited node ids."""
    labels = sorted(store.stats().labels)
    with st.container(border=True):
        query = st.text_input("Search", key="kg_query", placeholder="e.g. adds the denominators")
        a, b, c, d = st.columns([2, 1, 1, 3])
        mode: Literal["hybrid", "bm25"] = a.selectbox("Mode", ["hybrid", "bm25"], key="kg_mode")
        k = b.number_input("Results", min_value=1, max_value=25, value=6, key="kg_k")
        hops = c.number_input("Hops", min_value=0, max_value=3, value=1, key="kg_hops")
        only = d.multiselect("Only labels", labels, key="kg_labels")
    if not query.strip():
        return []
    with shown_errors():
        result = retriever.search(query, k=int(k), hops=int(hops), mode=mode, labels=only or None)
        if not result.hits:
            st.warning(f"Nothing in this graph matches {query!r}.")
            return []
        found = provenance(store, retriever, result, int(hops))
        rows = [
            {
                "#": i + 1,
                "node": h.node.id,
                "labels": ", ".join(h.node.labels),
                "score": round(h.score, 4),
                "came from": p.describe(),
                "text": h.node.text(),
            }
            for i, (h, p) in enumerate(zip(result.hits, found, strict=True))
        ]
        st.dataframe(
            pd.DataFrame(rows),
            hide_index=True,
            key="kg_results",
            column_config={"came from": st.column_config.TextColumn(width="large")},
        )
        left, right = st.columns(2)
        with left.container(key="kg_retrieval"):
            st.caption(
                f"Where the citations came from: direct matches outlined blue ({DIRECT}), "
                f"nodes reached by graph expansion orange ({EXPANDED}), with the edges "
                "that reached them."
            )
            st.graphviz_chart(retrieval_dot(store, found), alt="Where the citations came from")
        with right.container(key="kg_context"):
            st.caption("The context a prompt gets, with [node-id] citations:")
            st.code(result.context(), language=None, wrap_lines=True)
        return result.citations
    return []


def _neighbourhood(store: GraphStore, cited: list[str]) -> None:
    st.subheader("Neighbourhood")
    ids = [n.id for n in store.iter_nodes()]
    first = cited[0] if cited else ids[0]
    a, b = st.columns([4, 1])
    node = a.selectbox("Node", ids, index=ids.index(first), key=f"kg_node_{first}")
    depth = b.number_input("Depth", min_value=1, max_value=3, value=1, key="kg_depth")
    nodes, edges = neighbourhood(store, node, int(depth))
    if len(nodes) >= MAX_NODES:
        st.caption(f"The nearest {MAX_NODES} nodes are drawn.")
    with st.container(key="kg_neighbourhood"):
        st.graphviz_chart(to_dot(nodes, edges, focus=[node]), alt=f"The neighbourhood of {node}")


def main() -> None:
    st.title("Knowledge graph")
    data_dir = os.environ.get(DATA_ENV) or None
    titles = list(graph_builders(data_dir))
    title = st.selectbox("Graph", titles, key="kg_graph")
    with shown_errors():
        store, retriever = _graph(title, data_dir)
        stats = store.stats()
        st.caption(
            f"{stats.nodes} nodes, {stats.edges} edges; labels: "
            + ", ".join(f"{k} {v}" for k, v in sorted(stats.labels.items()))
        )
        cited = _search(store, retriever)
        _neighbourhood(store, cited)


main()
