"""What a trainee's turn asks the patient: the intent classifier.

A turn is split into sentences, and each sentence is labelled by an ``ExampleClassifier``
over the example turns in ``intents.yaml`` (package data): one of the eight cognitive-model
fields, or ``empathy`` (validation, which builds trust), ``rapport`` (greeting, small talk)
or ``other``. A sentence that matches no example at all is ``other``. The turn asks about
the field its field-labelled sentences name (the last one if several: a question usually
follows its preamble), and is empathic when one of its sentences is labelled ``empathy``.
No keyword decides anything: "What did you think I meant?" mentions thinking but is
nearest to the ``other`` examples.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from knowledge_graph.retrieval import Embedder
from personas.patient.classifier import TOP_K, Backend, ExampleClassifier, Vote
from protocols import ConfigError

__all__ = ["FIELDS", "INTENTS", "Intent", "IntentClassifier", "load_examples"]

FIELDS = (
    "situation",
    "automatic_thought",
    "emotion",
    "behavior",
    "coping",
    "history",
    "intermediate_belief",
    "core_belief",
)
"""The cognitive-model fields of a PATIENT-Ψ profile, as the patient and the scorer name them."""
INTENTS = (*FIELDS, "empathy", "rapport", "other")
"""Every label of the intent classifier: the fields, and three for turns that ask none."""

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def load_examples(path: str | Path | None = None) -> dict[str, list[str]]:
    """The labelled example turns (the packaged ``intents.yaml`` when ``path`` is None),
    checked: a mapping from each of ``INTENTS`` to a list of non-empty strings."""
    where = str(path) if path is not None else "personas/patient/intents.yaml"
    try:
        text = (
            Path(path).read_text(encoding="utf-8")
            if path is not None
            else resources.files("personas.patient").joinpath("intents.yaml").read_text("utf-8")
        )
        data: Any = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the intent examples: {exc}", path=where) from None
    if not isinstance(data, dict):
        raise ConfigError("the intent examples must be a mapping of intent: [turns]", path=where)
    unknown = sorted(set(data) - set(INTENTS))
    if unknown:
        raise ConfigError(f"unknown intent(s) {unknown}; use only {', '.join(INTENTS)}", path=where)
    examples: dict[str, list[str]] = {}
    for intent in INTENTS:
        turns = data.get(intent)
        if (
            not isinstance(turns, list)
            or not turns
            or not all(isinstance(t, str) and t.strip() for t in turns)
        ):
            raise ConfigError(
                f"intent {intent!r} needs a non-empty list of example turns (strings)",
                path=where,
            )
        examples[intent] = turns
    return examples


@dataclass(frozen=True)
class Intent:
    """What one trainee turn carries, as the classifier reads it.

    Attributes:
        label: The turn's intent: the field it asks about, else ``empathy``, ``rapport`` or
            ``other``.
        empathic: Whether one of its sentences is labelled ``empathy``.
        rapport: Whether one of its sentences is labelled ``rapport``.
        sentences: Each sentence with its vote.
    """

    label: str
    empathic: bool
    rapport: bool
    sentences: tuple[tuple[str, Vote], ...]

    @property
    def field(self) -> str | None:
        """The cognitive-model field asked about, or None."""
        return self.label if self.label in FIELDS else None


class IntentClassifier:
    """Reads a trainee's turn: which field it asks about, and whether it is empathic.

    Args:
        examples: Example turns per intent (default: the packaged ``intents.yaml``).
        backend: ``"bm25"`` (the default: fast, no extra needed), ``"embedding"``, or
            ``"auto"`` (embeddings when the ``embeddings`` extra is installed).
        embedder: The sentence embedder for the embedding backend.
        top_k: How many nearest examples vote.
    """

    def __init__(
        self,
        examples: Mapping[str, Sequence[str]] | None = None,
        *,
        backend: Backend = "bm25",
        embedder: Embedder | None = None,
        top_k: int = TOP_K,
    ) -> None:
        self.examples = dict(examples) if examples is not None else load_examples()
        self.classifier = ExampleClassifier(
            self.examples, backend=backend, embedder=embedder, top_k=top_k
        )

    @property
    def backend(self) -> str:
        """The backend in use (``"bm25"`` or ``"embedding"``)."""
        return self.classifier.backend

    def sentence(self, text: str) -> Vote:
        """The vote for one sentence (label ``other`` when it matches nothing)."""
        vote = self.classifier.vote(text)
        return vote if vote.label else Vote("other", 1.0, {"other": 1.0}, 0.0)

    def classify(self, text: str) -> Intent:
        """The intent of a whole turn (see the module docstring for how sentences combine)."""
        parts = [s for s in _SENTENCE.split(text.strip()) if s.strip()] or [text]
        votes = tuple((s, self.sentence(s)) for s in parts)
        labels = [v.label for _, v in votes]
        fields = [label for label in labels if label in FIELDS]
        if fields:
            label = fields[-1]
        else:
            label = next((x for x in ("empathy", "rapport") if x in labels), "other")
        return Intent(label, "empathy" in labels, "rapport" in labels, votes)
