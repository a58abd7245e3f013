"""A text classifier: TF-IDF over word n-grams, then multinomial logistic regression.

Training uses scikit-learn (``TfidfVectorizer``, then ``LogisticRegression``); the
inverse regularisation strength ``C`` is chosen by cross-validation on the training data
only, scored by macro-F1. What is kept is plain numbers (vocabulary, idf,
coefficients), so a model is saved as arrays and rebuilt on load without unpickling
(:mod:`personas.learned.model_file`). Optional numeric features (``extra``) sit beside the
text features, which is how a Bridge head is conditioned on the heads before it.

The fixed choices, made before looking at any score:

- ``NGRAMS = (1, 2)``, ``MIN_DF = 2``: words and word pairs seen in two texts or more.
- ``TOKEN = r"(?u)\\b\\w+\\b"``: one-character tokens are kept (numbers and ``x`` matter
  in maths talk; scikit-learn's default drops them).
- sublinear term frequency, l2-normalised rows (scikit-learn's usual TF-IDF).
- ``class_weight="balanced"``: the target is macro-F1, so rare classes are not ignored.
- ``C_GRID``: a log grid, the only hyperparameter searched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from personas.learned.model_file import ModelArrays
from personas.learned.sklearn_import import one_thread, sklearn

__all__ = [
    "C_GRID",
    "FOLDS",
    "Progress",
    "TextClassifier",
    "choose_c",
    "folds",
    "out_of_fold",
    "quiet",
]

NGRAMS = (1, 2)
MIN_DF = 2
TOKEN = r"(?u)\b\w+\b"
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
FOLDS = 5
"""Cross-validation folds for choosing ``C`` (and for out-of-fold predictions)."""
MAX_ITER = 5000
Progress = Callable[[str], None]
"""Reports a long step's progress, one line per step (the build command prints them)."""


def quiet(_: str) -> None:
    """A :data:`Progress` that reports nothing."""


def _vectorizer() -> Any:
    return sklearn("feature_extraction.text").TfidfVectorizer(
        ngram_range=NGRAMS, min_df=MIN_DF, token_pattern=TOKEN, sublinear_tf=True
    )


def _model(c: float, seed: int) -> Any:
    return sklearn("linear_model").LogisticRegression(
        C=c, class_weight="balanced", max_iter=MAX_ITER, random_state=seed
    )


def _features(matrix: Any, extra: Any | None, rows: Any) -> Any:
    if extra is None:
        return matrix
    from scipy import sparse

    return sparse.hstack([matrix, sparse.csr_matrix(np.asarray(extra, dtype=float)[rows])]).tocsr()


def folds(seed: int, *, grouped: bool = False) -> Any:
    """The cross-validation splitter: ``GroupKFold`` (no group split across folds) or a
    shuffled ``KFold`` (not stratified: some classes have fewer members than folds)."""
    selection = sklearn("model_selection")
    if grouped:
        return selection.GroupKFold(FOLDS)
    return selection.KFold(FOLDS, shuffle=True, random_state=seed)


def _fold_fits(
    texts: Sequence[str],
    labels: Sequence[str],
    grid: Sequence[float],
    *,
    extra: Any | None,
    groups: Sequence[Any] | None,
    seed: int,
) -> Iterator[tuple[Any, list[Any]]]:
    """For each fold: its test rows and the predictions there of a model per ``C`` of
    ``grid``, trained on the other folds (TF-IDF fitted on those folds only)."""
    text, gold = np.asarray(texts, dtype=object), np.asarray(labels, dtype=object)
    splits = folds(seed, grouped=groups is not None).split(text, gold, groups)
    with one_thread():
        for train, test in splits:
            vectorizer = _vectorizer()
            fit_x = _features(vectorizer.fit_transform(text[train]), extra, train)
            test_x = _features(vectorizer.transform(text[test]), extra, test)
            model = _model(grid[0], seed).set_params(warm_start=True)
            predictions = []
            for c in grid:  # increasing C, each fit starting from the last (same optimum)
                model.set_params(C=c).fit(fit_x, gold[train])
                predictions.append(model.predict(test_x))
            yield test, predictions


def choose_c(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    extra: Any | None = None,
    groups: Sequence[Any] | None = None,
    seed: int = 0,
) -> tuple[float, float]:
    """``(C, mean cross-validated macro-F1)``: the best ``C`` of ``C_GRID`` on this data (the
    smallest, on a tie). Folds are grouped when ``groups`` is given, else shuffled."""
    f1 = sklearn("metrics").f1_score
    gold = np.asarray(labels, dtype=object)
    totals = np.zeros(len(C_GRID))
    n = 0
    fits = _fold_fits(texts, labels, C_GRID, extra=extra, groups=groups, seed=seed)
    for test, predictions in fits:
        n += 1
        for j, predicted in enumerate(predictions):
            totals[j] += f1(gold[test], predicted, average="macro", zero_division=0)
    best = int(np.argmax(totals))
    return C_GRID[best], float(totals[best] / n)


def out_of_fold(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    c: float,
    extra: Any | None = None,
    groups: Sequence[Any] | None = None,
    seed: int = 0,
) -> list[str]:
    """Each text's prediction by a model trained on the other folds (``C`` fixed): how a
    later Bridge head sees an earlier head's errors while it is trained."""
    predicted = np.empty(len(texts), dtype=object)
    for test, (guess,) in _fold_fits(texts, labels, [c], extra=extra, groups=groups, seed=seed):
        predicted[test] = guess
    return [str(p) for p in predicted]


@dataclass(frozen=True, eq=False)
class TextClassifier:
    """A trained classifier, as plain arrays; ``proba`` recomputes what the scikit-learn
    vectorizer and model it came from compute.

    Attributes:
        classes: The labels, in the order of the coefficient rows.
        vocabulary: The n-gram of each text feature, in column order.
        idf: The inverse document frequency of each text feature.
        coef: ``(classes, text features + extra features)`` weights.
        intercept: One bias per class.
        n_extra: How many numeric features follow the text features.
        c: The regularisation strength chosen by cross-validation.
        cv_macro_f1: The cross-validated macro-F1 of that choice, on the training data.
    """

    classes: tuple[str, ...]
    vocabulary: tuple[str, ...]
    idf: Any
    coef: Any
    intercept: Any
    n_extra: int = 0
    c: float = 1.0
    cv_macro_f1: float = float("nan")

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        extra: Any | None = None,
        groups: Sequence[Any] | None = None,
        seed: int = 0,
    ) -> TextClassifier:
        """Choose ``C`` by cross-validation on (``texts``, ``labels``), then fit on all of it.

        ``extra``: ``(len(texts), k)`` numeric features beside the text's; ``groups``: one
        group per text, kept in one fold (e.g. the dialogue a turn is from).
        """
        c, score = choose_c(texts, labels, extra=extra, groups=groups, seed=seed)
        vectorizer = _vectorizer()
        with one_thread():
            matrix = _features(vectorizer.fit_transform(list(texts)), extra, slice(None))
            model = _model(c, seed).fit(matrix, list(labels))
        return cls.of(vectorizer, model, c=c, cv_macro_f1=score)

    @classmethod
    def of(
        cls, vectorizer: Any, model: Any, *, c: float = 1.0, cv_macro_f1: float = float("nan")
    ) -> TextClassifier:
        """The arrays of a fitted ``TfidfVectorizer`` and ``LogisticRegression`` (whose
        columns past the vocabulary are extra features)."""
        terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        coef, intercept = np.asarray(model.coef_), np.asarray(model.intercept_)
        if coef.shape[0] == 1:  # two classes: sigmoid(w·x + b) = softmax([0, w·x + b])
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.concatenate([[0.0], intercept])
        return cls(
            classes=tuple(str(k) for k in model.classes_),
            vocabulary=tuple(terms),
            idf=np.asarray(vectorizer.idf_, dtype=float),
            coef=coef,
            intercept=intercept,
            n_extra=coef.shape[1] - len(terms),
            c=c,
            cv_macro_f1=cv_macro_f1,
        )

    @cached_property
    def _counter(self) -> Any:
        return sklearn("feature_extraction.text").CountVectorizer(
            ngram_range=NGRAMS,
            token_pattern=TOKEN,
            vocabulary={term: i for i, term in enumerate(self.vocabulary)},
            dtype=np.float64,
        )

    def features(self, texts: Sequence[str], extra: Any | None = None) -> Any:
        """The feature matrix of ``texts`` (and their ``extra`` columns)."""
        pre = sklearn("preprocessing")
        from scipy import sparse

        counts = self._counter.transform(list(texts))
        counts.data = np.log(counts.data) + 1.0  # sublinear tf
        matrix = pre.normalize(counts @ sparse.diags(self.idf))
        if not self.n_extra:
            return matrix
        columns = np.zeros((len(texts), self.n_extra)) if extra is None else np.asarray(extra)
        return sparse.hstack([matrix, sparse.csr_matrix(columns)]).tocsr()

    def proba(self, texts: Sequence[str], extra: Any | None = None) -> Any:
        """``(texts, classes)`` probabilities."""
        scores = self.features(texts, extra) @ self.coef.T + self.intercept
        scores = np.asarray(scores) - np.max(scores, axis=1, keepdims=True)
        weights = np.exp(scores)
        return weights / weights.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str], extra: Any | None = None) -> list[str]:
        """The most probable class of each text."""
        return [self.classes[i] for i in np.argmax(self.proba(texts, extra), axis=1)]

    def arrays(self, prefix: str) -> dict[str, Any]:
        """This classifier as named arrays for a model file (see :meth:`from_arrays`)."""
        return {
            f"{prefix}.classes": np.array(self.classes),
            f"{prefix}.vocabulary": np.array(self.vocabulary),
            f"{prefix}.idf": self.idf,
            f"{prefix}.coef": self.coef,
            f"{prefix}.intercept": self.intercept,
            f"{prefix}.params": np.array([self.n_extra, self.c, self.cv_macro_f1]),
        }

    @classmethod
    def from_arrays(cls, model: ModelArrays, prefix: str) -> TextClassifier:
        """The classifier stored under ``prefix`` in ``model``, checked for consistent shapes."""
        classes = model.array(f"{prefix}.classes", dtype="U", ndim=1)
        vocabulary = model.array(f"{prefix}.vocabulary", dtype="U", ndim=1)
        idf = model.array(f"{prefix}.idf", ndim=1)
        coef = model.array(f"{prefix}.coef", ndim=2)
        intercept = model.array(f"{prefix}.intercept", ndim=1)
        params = model.array(f"{prefix}.params", ndim=1, finite=False)
        if params.shape != (3,) or not np.all(np.isfinite(params[:2])):
            raise model.corrupt(f"array '{prefix}.params' has shape {params.shape}")
        n_extra = int(params[0])
        want = (len(classes), len(vocabulary) + n_extra)
        if len(classes) < 2 or idf.shape != vocabulary.shape or coef.shape != want:
            raise model.corrupt(f"the arrays of {prefix!r} do not fit together")
        if intercept.shape != (len(classes),):
            raise model.corrupt(f"array '{prefix}.intercept' has shape {intercept.shape}")
        return cls(
            classes=tuple(str(k) for k in classes),
            vocabulary=tuple(str(t) for t in vocabulary),
            idf=idf.astype(float),
            coef=coef.astype(float),
            intercept=intercept.astype(float),
            n_extra=n_extra,
            c=float(params[1]),
            cv_macro_f1=float(params[2]),
        )
