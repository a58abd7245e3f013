"""A MathDial teacher-move classifier: focus, probing, telling or generic, from a turn's text.

Trained on MathDial's annotated teacher turns (the move tag is removed from the text it
reads). Its quality is measured by grouped cross-validation: turns of one problem, and so
of each dialogue, stay in one fold, and inside each training fold ``C`` is chosen by a
second grouped cross-validation (nested), so no test turn ever informs a choice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from personas.learned.mathdial import MathDialDialogue, teacher_examples
from personas.learned.metrics import HeadScore, head_score, majority
from personas.learned.model_file import default_models_dir, read_model_file, write_model_file
from personas.learned.text_classifier import Progress, TextClassifier, folds, quiet
from personas.moves import TeacherMove

__all__ = [
    "MOVES_FILE",
    "MOVES_KIND",
    "MoveClassifier",
    "MoveCrossValidation",
    "cross_validate_moves",
]

MOVES_KIND = "mathdial-moves"
MOVES_FILE = "mathdial-moves.npz"


@dataclass(frozen=True, eq=False)
class MoveClassifier:
    """Names the MathDial move of a teacher's turn.

    Attributes:
        classifier: The trained text classifier (classes: the four moves).
        info: What the build recorded (training size, seed, cross-validated scores).
    """

    classifier: TextClassifier
    info: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def train(
        cls, dialogues: Sequence[MathDialDialogue], *, seed: int = 0, progress: Progress = quiet
    ) -> MoveClassifier:
        """Train on every annotated teacher turn (``C`` by grouped cross-validation)."""
        texts, moves, groups = teacher_examples(dialogues)
        progress(f"MathDial move classifier: choosing C on {len(texts)} teacher turns")
        classifier = TextClassifier.fit(texts, moves, groups=groups, seed=seed)
        return cls(classifier, info={"train_turns": len(texts), "seed": seed})

    def predict(self, text: str) -> TeacherMove:
        """The move of one teacher turn."""
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[TeacherMove]:
        """The move of each teacher turn."""
        return [TeacherMove(label) for label in self.classifier.predict(texts)]

    def proba(self, text: str) -> dict[TeacherMove, float]:
        """The probability of each move for one teacher turn."""
        row = self.classifier.proba([text])[0]
        return {TeacherMove(k): float(p) for k, p in zip(self.classifier.classes, row, strict=True)}

    def save(self, path: Path | None = None) -> Path:
        """Write the classifier (default: ``MOVES_FILE`` in the models folder)."""
        target = path or default_models_dir() / MOVES_FILE
        header = {"info": dict(self.info)}
        return write_model_file(target, MOVES_KIND, header, self.classifier.arrays("moves"))

    @classmethod
    def load(cls, path: Path | None = None) -> MoveClassifier:
        """Read a classifier written by :meth:`save` (default: the models folder).

        Raises:
            ConfigError: No file there (with how to build one), or it is corrupt or of
                another kind or version.
        """
        model = read_model_file(path or default_models_dir() / MOVES_FILE, MOVES_KIND)
        classifier = TextClassifier.from_arrays(model, "moves")
        unknown = set(classifier.classes) - {m.value for m in TeacherMove}
        if unknown or classifier.n_extra:
            raise model.corrupt(f"not a move classifier (classes {list(classifier.classes)})")
        info = model.header.get("info")
        return cls(classifier, info=info if isinstance(info, dict) else {})


@dataclass(frozen=True)
class MoveCrossValidation:
    """Out-of-fold results of the move classifier.

    Attributes:
        score: Accuracy and macro-F1, against each training fold's most common move (the
            gap's interval resamples whole problems).
        gold: The annotated move of each teacher turn.
        predicted: Its out-of-fold prediction.
        chosen_c: The ``C`` chosen inside each outer fold.
    """

    score: HeadScore
    gold: tuple[str, ...]
    predicted: tuple[str, ...]
    chosen_c: tuple[float, ...]


def cross_validate_moves(
    dialogues: Sequence[MathDialDialogue], *, seed: int = 0, progress: Progress = quiet
) -> MoveCrossValidation:
    """Nested grouped cross-validation of the move classifier over ``dialogues``."""
    texts, moves, groups = teacher_examples(dialogues)
    predicted = np.empty(len(texts), dtype=object)
    baseline = np.empty(len(texts), dtype=object)
    chosen: list[float] = []
    splits = folds(seed, grouped=True).split(texts, moves, groups)
    for k, (train, test) in enumerate(splits, 1):
        progress(f"MathDial moves: outer fold {k}, choosing C on {len(train)} turns")
        pick = [int(i) for i in train]
        model = TextClassifier.fit(
            [texts[i] for i in pick],
            [moves[i] for i in pick],
            groups=[groups[i] for i in pick],
            seed=seed,
        )
        chosen.append(model.c)
        predicted[test] = model.predict([texts[int(i)] for i in test])
        baseline[test] = majority([moves[i] for i in pick])
    score = head_score("move", moves, list(predicted), list(baseline), groups=groups)
    return MoveCrossValidation(score, tuple(moves), tuple(str(p) for p in predicted), tuple(chosen))
