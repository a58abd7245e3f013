"""Scores of a classifier against the majority-class baseline (scikit-learn's metrics)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from personas.learned.sklearn_import import sklearn

__all__ = ["Detection", "HeadScore", "detection_score", "head_score", "majority"]


def majority(labels: Sequence[str]) -> str:
    """The most common label (the first seen, on a tie)."""
    return Counter(labels).most_common(1)[0][0]


@dataclass(frozen=True)
class HeadScore:
    """Accuracy and macro-F1 of predictions, and of the majority-class baseline.

    Macro-F1 averages F1 over every label that occurs among the true labels or the
    predictions (scikit-learn's default), so a model that predicts a class the gold never
    has is charged for it. The baseline predicts ``baseline_label``, the training data's
    most common label, for every example.
    """

    name: str
    n: int
    accuracy: float
    macro_f1: float
    baseline_label: str
    baseline_accuracy: float
    baseline_macro_f1: float

    @property
    def beats_baseline(self) -> bool:
        """Whether macro-F1 is above the baseline's."""
        return self.macro_f1 > self.baseline_macro_f1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def head_score(
    name: str, gold: Sequence[str], predicted: Sequence[str], baseline: Sequence[str]
) -> HeadScore:
    """Score ``predicted`` and the ``baseline`` predictions against ``gold``.

    ``baseline`` is per example, so cross-validation can use each fold's own majority.
    """
    metrics = sklearn("metrics")

    def f1(pred: Sequence[str]) -> float:
        return float(metrics.f1_score(gold, pred, average="macro", zero_division=0))

    return HeadScore(
        name=name,
        n=len(gold),
        accuracy=float(metrics.accuracy_score(gold, predicted)),
        macro_f1=f1(predicted),
        baseline_label=majority(baseline),
        baseline_accuracy=float(metrics.accuracy_score(gold, baseline)),
        baseline_macro_f1=f1(baseline),
    )


@dataclass(frozen=True)
class Detection:
    """Precision and recall of a yes/no detector against gold labels."""

    name: str
    n: int
    positives: int
    flagged: int
    precision: float
    recall: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def detection_score(name: str, gold: Sequence[bool], flagged: Sequence[bool]) -> Detection:
    """Precision and recall of ``flagged`` against ``gold``."""
    metrics = sklearn("metrics")
    return Detection(
        name=name,
        n=len(gold),
        positives=sum(gold),
        flagged=sum(flagged),
        precision=float(metrics.precision_score(gold, flagged, zero_division=0)),
        recall=float(metrics.recall_score(gold, flagged, zero_division=0)),
    )
