"""Scoring a trainee's written cognitive model against the patient's true one.

Per field, a score in [0, 1]:

- **Core beliefs and emotions** (when the taxonomy is given): both texts are mapped to the
  taxonomy's options, and the score is the Dice overlap 2|A∩B| / (|A|+|B|) of the two option
  sets. A text is split into clauses (at , ; . newlines and "and"), and each clause is mapped
  to the option whose label (or one of its comma-separated synonyms) is most similar, if that
  similarity reaches ``OPTION_MIN_SIMILARITY``. A truth that maps to no option is scored as
  free text.
- **Other fields** (and the two above without the taxonomy): the similarity of the two texts,
  clipped at 0: the cosine of sentence embeddings (``TextSimilarity("embedding")``), or the
  lexical fallback, the cosine of TF-IDF vectors of character 3–5-grams within words, stop
  words removed (scikit-learn's ``TfidfVectorizer``; character n-grams match inflections and
  misspellings, "failed"/"failures", "failture"/"failure", without a stemmer).
- **Parroting**: the fraction ``c`` of the written text's word ``COPY_NGRAM``-grams that occur
  in what the patient said is penalised: score × (1 − ``PARROT_PENALTY`` × c). Pasting the
  patient's sentence is not a formulation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from knowledge_graph.retrieval import Embedder, SentenceEmbedder
from personas.patient.classifier import words
from personas.patient.taxonomy import CCDTaxonomy
from protocols import UserError

__all__ = [
    "COPY_NGRAM",
    "OPTION_MIN_SIMILARITY",
    "PARROT_PENALTY",
    "TextSimilarity",
    "copied_fraction",
    "score_cognitive_model",
]

COPY_NGRAM = 3
"""Copying is measured on word trigrams: long enough that shared function words ("I am a")
are rare, short enough that a lightly edited copy still counts."""
PARROT_PENALTY = 0.5
"""A fully copied answer keeps half its score: it shows the trainee heard the field, not
that they formulated it."""
OPTION_MIN_SIMILARITY = {"lexical": 0.3, "embedding": 0.5}
"""Below this similarity a clause names no taxonomy option. Lexical TF-IDF cosines of
unrelated short phrases sit near 0, MiniLM cosines near .1–.3 (chosen by design, not fitted)."""

_CLAUSES = re.compile(r"[,;.\n]+|\band\b")


class TextSimilarity:
    """Similarity of two short texts in [-1, 1].

    Args:
        backend: ``"lexical"`` (TF-IDF cosine of character n-grams; no extra needed) or
            ``"embedding"`` (sentence-embedding cosine; the ``embeddings`` extra).
        embedder: The embedder for the embedding backend (default: all-MiniLM-L6-v2).
    """

    def __init__(
        self,
        backend: Literal["lexical", "embedding"] = "lexical",
        *,
        embedder: Embedder | None = None,
    ) -> None:
        if backend not in ("lexical", "embedding"):
            raise UserError(f"backend must be 'lexical' or 'embedding', got {backend!r}")
        self.backend = backend
        self._embedder = embedder

    def matrix(self, left: Sequence[str], right: Sequence[str]) -> np.ndarray[Any, Any]:
        """Pairwise similarities, ``len(left) × len(right)``."""
        if self.backend == "embedding":
            self._embedder = self._embedder or SentenceEmbedder()
            vectors = self._embedder.encode([*left, *right])
            return np.asarray(vectors[: len(left)] @ vectors[len(left) :].T, dtype=np.float64)
        try:
            from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise ImportError("lexical similarity needs scikit-learn: pip install lyceum") from exc
        texts = [
            " ".join(w for w in words(t) if w not in ENGLISH_STOP_WORDS) for t in (*left, *right)
        ]
        if not any(texts):
            return np.zeros((len(left), len(right)))
        vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        x = vectors.fit_transform(texts)
        return np.asarray((x[: len(left)] @ x[len(left) :].T).toarray(), dtype=np.float64)

    def __call__(self, a: str, b: str) -> float:
        if not a.strip() or not b.strip():
            return 0.0
        return float(self.matrix([a], [b])[0, 0])


def copied_fraction(text: str, said: Sequence[str], n: int = COPY_NGRAM) -> float:
    """The share of ``text``'s word n-grams that occur in ``said`` (a text shorter than n
    words counts as one n-gram)."""

    def grams(t: str) -> set[tuple[str, ...]]:
        w = words(t)
        return {tuple(w[i : i + n]) for i in range(max(1, len(w) - n + 1))} if w else set()

    mine = grams(text)
    heard = set().union(*(grams(s) for s in said)) if said else set()
    return len(mine & heard) / len(mine) if mine else 0.0


def _options(text: str, options: Mapping[str, str], sim: TextSimilarity) -> set[str]:
    clauses = [c.strip() for c in _CLAUSES.split(text) if len(words(c)) > 0]
    if not clauses:
        return set()
    names = [(oid, part.strip()) for oid, label in options.items() for part in label.split(",")]
    names += [(oid, label) for oid, label in options.items()]
    sims = sim.matrix(clauses, [p for _, p in names])
    floor = OPTION_MIN_SIMILARITY[sim.backend]
    return {names[int(np.argmax(row))][0] for row in sims if row.max() >= floor}


def _field_score(
    field: str, mine: str, true_text: str, taxonomy: CCDTaxonomy | None, sim: TextSimilarity
) -> float:
    options = None
    if taxonomy is not None and field in ("core_belief", "emotion"):
        options = taxonomy.core_beliefs if field == "core_belief" else taxonomy.emotions
    if options is not None:
        truth = _options(true_text, options, sim)
        if truth:
            found = _options(mine, options, sim)
            return 2 * len(truth & found) / (len(truth) + len(found))
    return max(0.0, sim(mine, true_text))


def score_cognitive_model(
    written: Mapping[str, str],
    truth: Mapping[str, Sequence[str]],
    *,
    said: Sequence[str] = (),
    taxonomy: CCDTaxonomy | None = None,
    similarity: TextSimilarity | None = None,
) -> dict[str, float]:
    """Per field of ``truth`` that has content, the score (0–1) of the trainee's ``written``
    text for it (see the module docstring); blank fields score 0.

    Args:
        written: The trainee's cognitive model, field by field.
        truth: The patient's true model (``SimulatedPatient.model``).
        said: What the patient said in the interview; copying it is penalised.
        taxonomy: The PATIENT-Ψ options; core beliefs and emotions are then scored by option.
        similarity: The text similarity (default: the lexical fallback).
    """
    sim = similarity or TextSimilarity()
    scores: dict[str, float] = {}
    for field, true_texts in truth.items():
        if not true_texts:
            continue
        mine = written.get(field, "")
        if not mine.strip():
            scores[field] = 0.0
            continue
        score = _field_score(field, mine, " ".join(true_texts), taxonomy, sim)
        scores[field] = score * (1 - PARROT_PENALTY * copied_fraction(mine, said))
    return scores
