"""The patient's intent classifier, measured on the hand-written evaluation set
(benchmarks/data/patient_intent_eval.yaml), which shares no turn with its examples."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from personas.patient import INTENTS, IntentClassifier, embeddings_installed, load_examples
from protocols import ConfigError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from patient_intents import evaluate, load_eval  # noqa: E402


def test_the_evaluation_set_is_large_and_shares_no_turn_with_the_examples() -> None:
    items = load_eval()
    examples = {t.strip().lower() for ts in load_examples().values() for t in ts}
    assert len(items) >= 100
    assert {gold for _, gold in items} == set(INTENTS)
    assert not {t.strip().lower() for t, _ in items} & examples


def test_bm25_accuracy_on_the_evaluation_set() -> None:
    accuracy, n, _ = evaluate("bm25")
    assert (n, accuracy) == (138, pytest.approx(0.848, abs=0.005))  # measured: 117 of 138


@pytest.mark.slow
@pytest.mark.skipif(not embeddings_installed(), reason="the embeddings extra is not installed")
def test_embedding_accuracy_on_the_evaluation_set() -> None:
    accuracy, _, _ = evaluate("embedding")
    assert accuracy == pytest.approx(0.877, abs=0.01)  # measured: 121 of 138


def test_a_turn_is_read_sentence_by_sentence() -> None:
    intent = IntentClassifier().classify("That must have been awful. What did you do next?")
    assert (intent.label, intent.field, intent.empathic) == ("behavior", "behavior", True)
    nothing = IntentClassifier().classify("Zyx qwv.")
    assert (nothing.label, nothing.field, nothing.empathic) == ("other", None, False)


def test_bad_examples_file(tmp_path: Path) -> None:
    path = tmp_path / "intents.yaml"
    path.write_text(yaml.safe_dump({"feelings": ["How do you feel?"]}))
    with pytest.raises(ConfigError, match="unknown intent"):
        load_examples(path)
    path.write_text(yaml.safe_dump({key: [] for key in INTENTS}))
    with pytest.raises(ConfigError, match="needs a non-empty list"):
        load_examples(path)
