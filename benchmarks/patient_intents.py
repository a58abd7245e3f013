"""Accuracy of the simulated patient's intent classifier (docs/simulation.md, "The simulated
patient").

    python benchmarks/patient_intents.py            # the evaluation set, each backend installed
    python benchmarks/patient_intents.py --cv       # leave-one-out on the examples, per top_k

The evaluation set (benchmarks/data/patient_intent_eval.yaml) was written before the
classifier was tuned and shares no turn with its examples; ``--cv`` is what chooses
``TOP_K`` (cross-validation on the examples only).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from knowledge_graph.retrieval import SentenceEmbedder
from personas.patient.classifier import ExampleClassifier, embeddings_installed
from personas.patient.intent import INTENTS, IntentClassifier, load_examples

EVAL = Path(__file__).parent / "data" / "patient_intent_eval.yaml"


class _Cached:
    """Encodes each text once (leave-one-out re-indexes the same examples many times)."""

    def __init__(self) -> None:
        self.inner = SentenceEmbedder()
        self.seen: dict[str, np.ndarray[Any, Any]] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        new = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if new:
            self.seen.update(zip(new, self.inner.encode(new), strict=True))
        return np.stack([self.seen[t] for t in texts])


def load_eval() -> list[tuple[str, str]]:
    data = yaml.safe_load(EVAL.read_text(encoding="utf-8"))
    return [(turn, intent) for intent in INTENTS for turn in data.get(intent, [])]


def evaluate(backend: str) -> tuple[float, int, Counter[tuple[str, str]]]:
    """Accuracy on the evaluation set, its size, and the confusions (gold, predicted)."""
    items = load_eval()
    embedder = None
    if backend == "embedding":  # encode every sentence in one batch, not one call each
        embedder = _Cached()
        embedder.encode([s for turn, _ in items for s in re.split(r"(?<=[.!?])\s+", turn)])
    classifier = IntentClassifier(backend=backend, embedder=embedder)  # type: ignore[arg-type]
    errors: Counter[tuple[str, str]] = Counter()
    for turn, gold in items:
        got = classifier.classify(turn).label
        if got != gold:
            errors[(gold, got)] += 1
    return 1 - sum(errors.values()) / len(items), len(items), errors


_CACHE: list[_Cached] = []


def cross_validate(backend: str, top_k: int) -> float:
    """Leave-one-out accuracy on the examples: each example classified by the others."""
    if backend == "embedding" and not _CACHE:
        _CACHE.append(_Cached())
    embedder = _CACHE[0] if backend == "embedding" else None
    examples = load_examples()
    items = [(label, text) for label, texts in examples.items() for text in texts]
    right = 0
    for i, (label, text) in enumerate(items):
        rest: dict[str, list[str]] = {}
        for j, (lab, other) in enumerate(items):
            if j != i:
                rest.setdefault(lab, []).append(other)
        clf = ExampleClassifier(
            rest,
            backend=backend,  # type: ignore[arg-type]
            embedder=embedder,
            top_k=top_k,
        )
        right += (clf.vote(text).label or "other") == label
    return right / len(items)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv", action="store_true", help="leave-one-out on the examples")
    parser.add_argument("--errors", action="store_true", help="list the confusions")
    args = parser.parse_args(argv)
    backends = ["bm25"] + (["embedding"] if embeddings_installed() else [])
    if args.cv:
        print("| backend | " + " | ".join(f"top_k={k}" for k in (1, 3, 5, 7)) + " |")
        print("|---|" + "---|" * 4)
        for backend in backends:
            accs = [cross_validate(backend, k) for k in (1, 3, 5, 7)]
            print(f"| {backend} | " + " | ".join(f"{a:.3f}" for a in accs) + " |")
        return 0
    print("| backend | turns | accuracy |")
    print("|---|---|---|")
    confusions = {}
    for backend in backends:
        acc, n, errors = evaluate(backend)
        confusions[backend] = errors
        print(f"| {backend} | {n} | {acc:.3f} |")
    if args.errors:
        for backend, errors in confusions.items():
            print(f"\n{backend}: gold -> predicted")
            for (gold, got), count in errors.most_common():
                print(f"  {gold} -> {got}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
