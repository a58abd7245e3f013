"""The Bridge decision model: error type → strategy → intention, learned from the data.

Three text classifiers (:class:`~personas.learned.text_classifier.TextClassifier`) read
the conversation before the tutor's reply, in Bridge's order:

1. the **error type** from the text;
2. the **strategy** from the text and the error type (one-hot);
3. the **intention** from the text, the error type and the strategy.

While training, a later head is given the earlier heads' *out-of-fold* predictions, not
the experts' codes, so it learns to use them as they will be at prediction time, mistakes
included. Each head's ``C`` is chosen by cross-validation on the training split only.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from personas.learned.bridge_data import BridgeExample, texts_and_codes
from personas.learned.metrics import HeadScore, head_score, majority
from personas.learned.model_file import (
    default_models_dir,
    read_model_file,
    write_model_file,
)
from personas.learned.text_classifier import Progress, TextClassifier, out_of_fold, quiet
from personas.moves import BridgeDecision, ErrorType, Intention, Strategy

__all__ = ["BRIDGE_FILE", "BRIDGE_KIND", "HEADS", "BridgeModel"]

BRIDGE_KIND = "bridge-decisions"
BRIDGE_FILE = "bridge-decisions.npz"
HEADS: tuple[tuple[str, type[StrEnum]], ...] = (
    ("error_type", ErrorType),
    ("strategy", Strategy),
    ("intention", Intention),
)


def one_hot(values: Sequence[str], enum: type[StrEnum]) -> Any:
    """``(len(values), len(enum))`` indicator columns, in the enum's order (fixed, so a
    saved model's columns mean the same whatever the training data held)."""
    order = {member.value: i for i, member in enumerate(enum)}
    out = np.zeros((len(values), len(order)))
    for row, value in enumerate(values):
        out[row, order[value]] = 1.0
    return out


@dataclass(frozen=True, eq=False)
class BridgeModel:
    """Three chained heads and what was measured when they were built.

    Attributes:
        error_type: Reads the conversation.
        strategy: Reads the conversation and the error type.
        intention: Reads the conversation, the error type and the strategy.
        info: What the build recorded (training size, seed, validation scores), as JSON.
    """

    error_type: TextClassifier
    strategy: TextClassifier
    intention: TextClassifier
    info: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def train(
        cls, examples: Sequence[BridgeExample], *, seed: int = 0, progress: Progress = quiet
    ) -> BridgeModel:
        """Train the three heads on ``examples`` (``C`` chosen by cross-validation on them)."""
        texts, *codes = texts_and_codes(examples)
        heads: list[TextClassifier] = []
        extra: Any = None
        for (name, enum), labels in zip(HEADS, codes, strict=True):
            progress(f"Bridge {name} head: choosing C by cross-validation on {len(texts)} examples")
            head = TextClassifier.fit(texts, labels, extra=extra, seed=seed)
            heads.append(head)
            if len(heads) < len(HEADS):
                guessed = out_of_fold(texts, labels, c=head.c, extra=extra, seed=seed)
                columns = one_hot(guessed, enum)
                extra = columns if extra is None else np.hstack([extra, columns])
        info = {"train_examples": len(examples), "seed": seed}
        return cls(heads[0], heads[1], heads[2], info=info)

    def _heads(self) -> tuple[TextClassifier, TextClassifier, TextClassifier]:
        return self.error_type, self.strategy, self.intention

    def predict(self, text: str, *, exclude: Collection[StrEnum] = ()) -> BridgeDecision:
        """The decision for one conversation (:func:`conversation_text`), each head's most
        probable code; codes in ``exclude`` are never chosen (e.g. the teacher, having
        seen that the answer is wrong, excludes ``affirm_correct_answer``)."""
        banned = {str(code) for code in exclude}
        codes: list[str] = []
        extra: Any = None
        for head, (_, enum) in zip(self._heads(), HEADS, strict=True):
            proba = head.proba([text], extra)[0]
            allowed = np.where([k in banned for k in head.classes], -1.0, proba)
            codes.append(head.classes[int(np.argmax(allowed))])
            columns = one_hot(codes[-1:], enum)
            extra = columns if extra is None else np.hstack([extra, columns])
        error, strategy, intention = codes
        return BridgeDecision(
            error_type=ErrorType(error), strategy=Strategy(strategy), intention=Intention(intention)
        )

    def evaluate(
        self, examples: Sequence[BridgeExample], train: Sequence[BridgeExample]
    ) -> tuple[HeadScore, ...]:
        """Accuracy and macro-F1 of each head on ``examples`` against always predicting the
        most common code of ``train``."""
        decisions = [self.predict(e.text) for e in examples]
        gold = texts_and_codes(examples)[1:]
        seen = texts_and_codes(train)[1:]
        scores = []
        for i, (name, _) in enumerate(HEADS):
            predicted = [str(getattr(d, name).value) for d in decisions]
            baseline = [majority(seen[i])] * len(examples)
            scores.append(head_score(name, gold[i], predicted, baseline))
        return tuple(scores)

    def save(self, path: Path | None = None) -> Path:
        """Write the model (default: ``BRIDGE_FILE`` in the models folder)."""
        arrays: dict[str, Any] = {}
        for (name, _), head in zip(HEADS, self._heads(), strict=True):
            arrays.update(head.arrays(name))
        target = path or default_models_dir() / BRIDGE_FILE
        return write_model_file(target, BRIDGE_KIND, {"info": dict(self.info)}, arrays)

    @classmethod
    def load(cls, path: Path | None = None) -> BridgeModel:
        """Read a model written by :meth:`save` (default: the models folder).

        Raises:
            ConfigError: No model there (with how to build one), or the file is corrupt or
                of another kind or version.
        """
        model = read_model_file(path or default_models_dir() / BRIDGE_FILE, BRIDGE_KIND)
        heads = [TextClassifier.from_arrays(model, name) for name, _ in HEADS]
        for head, (name, enum) in zip(heads, HEADS, strict=True):
            unknown = set(head.classes) - {m.value for m in enum}
            if unknown:
                raise model.corrupt(f"the {name} head has unknown codes {sorted(unknown)}")
        widths = [0, len(ErrorType), len(ErrorType) + len(Strategy)]
        if [h.n_extra for h in heads] != widths:
            raise model.corrupt("the heads are not chained error type → strategy → intention")
        info = model.header.get("info")
        return cls(heads[0], heads[1], heads[2], info=info if isinstance(info, dict) else {})
