"""Scores of a classifier against the majority-class baseline (scikit-learn's metrics)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from personas.learned.sklearn_import import sklearn

__all__ = [
    "RESAMPLES",
    "Detection",
    "HeadScore",
    "detection_score",
    "f1_gap_interval",
    "head_score",
    "macro_f1",
    "majority",
]

RESAMPLES = 2000
"""Bootstrap resamples for the interval of a macro-F1 gap (percentile method)."""


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
    gap_interval: tuple[float, float] = (float("nan"), float("nan"))
    """95% bootstrap interval of macro-F1 minus the baseline's (examples resampled)."""

    @property
    def beats_baseline(self) -> bool:
        """Whether macro-F1 is above the baseline's."""
        return self.macro_f1 > self.baseline_macro_f1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def head_score(
    name: str,
    gold: Sequence[str],
    predicted: Sequence[str],
    baseline: Sequence[str],
    *,
    groups: Sequence[object] | None = None,
) -> HeadScore:
    """Score ``predicted`` and the ``baseline`` predictions against ``gold``.

    ``baseline`` is per example, so cross-validation can use each fold's own majority;
    ``groups`` makes the gap's bootstrap resample whole groups.
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
        gap_interval=f1_gap_interval(gold, predicted, baseline, groups=groups),
    )


def macro_f1(gold: Any, predicted: Any, n_labels: int) -> Any:
    """Macro-F1 of integer-coded rows (``(resamples, n)`` arrays), as scikit-learn computes
    it: F1 = 2·TP / (gold + predicted counts), averaged over the labels that occur."""
    rows = np.atleast_2d(gold).shape[0]
    offset = (np.arange(rows) * n_labels)[:, None]
    size = rows * n_labels

    def counts(codes: Any) -> Any:
        return np.bincount((np.atleast_2d(codes) + offset).ravel(), minlength=size).reshape(
            rows, n_labels
        )

    hits = np.where(np.atleast_2d(gold) == np.atleast_2d(predicted), np.atleast_2d(gold), -1)
    tp = np.bincount((hits + offset)[hits >= 0].ravel(), minlength=size).reshape(rows, n_labels)
    total = counts(gold) + counts(predicted)
    present = total > 0
    f1 = np.divide(2 * tp, total, out=np.zeros(total.shape), where=present)
    return f1.sum(axis=1) / present.sum(axis=1)


def f1_gap_interval(
    gold: Sequence[str],
    predicted: Sequence[str],
    baseline: Sequence[str],
    *,
    groups: Sequence[object] | None = None,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> tuple[float, float]:
    """The 95% percentile-bootstrap interval of macro-F1(predicted) − macro-F1(baseline),
    paired (both scored on the same resample). Examples are resampled with replacement,
    or, with ``groups``, whole groups are (turns of one dialogue are not independent)."""
    labels = {label: i for i, label in enumerate(sorted({*gold, *predicted, *baseline}))}
    code = np.vectorize(labels.__getitem__, otypes=[int])
    g, p, b = code(list(gold)), code(list(predicted)), code(list(baseline))
    rng, k = np.random.default_rng(seed), len(labels)
    if groups is None:
        picks = rng.integers(0, len(g), size=(resamples, len(g)))
        gaps = macro_f1(g[picks], p[picks], k) - macro_f1(g[picks], b[picks], k)
    else:
        members = [
            np.flatnonzero(np.asarray(groups, dtype=object) == key) for key in dict.fromkeys(groups)
        ]
        gaps = np.empty(resamples)
        for r in range(resamples):
            rows = np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])
            gaps[r] = (macro_f1(g[rows], p[rows], k) - macro_f1(g[rows], b[rows], k))[0]
    low, high = np.percentile(gaps, [2.5, 97.5])
    return float(low), float(high)


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
