"""Build every learned model from the data folder, and measure each once.

- **Bridge**: train the decision model on ``bridge/train.json``, evaluate it once on
  ``bridge/validation.json`` against the training split's most common codes, save it.
- **MathDial**: cross-validate the move classifier (nested, grouped by problem), then
  train it on every annotated teacher turn and save it; measure the telling detector
  against the ``(telling)`` annotations, and, for comparison, the classifier's
  out-of-fold ``telling`` class.

The scores are stored in each model file's header too, so a loaded model says how good
it was measured to be.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from personas.learned.bridge_data import load_bridge
from personas.learned.bridge_model import BRIDGE_FILE, BridgeModel
from personas.learned.mathdial import load_mathdial
from personas.learned.metrics import Detection, HeadScore, detection_score
from personas.learned.model_file import default_models_dir
from personas.learned.move_classifier import MOVES_FILE, MoveClassifier, cross_validate_moves
from personas.learned.telling import evaluate_telling
from personas.learned.text_classifier import Progress, quiet
from personas.moves import TeacherMove

__all__ = ["BuildReport", "build_bridge", "build_models", "build_moves"]


@dataclass(frozen=True)
class BuildReport:
    """What a build wrote and measured.

    Attributes:
        bridge_path: The Bridge decision model file.
        bridge: Each head on the validation split, against the majority code.
        moves_path: The move classifier file.
        moves: The move classifier's nested cross-validated scores.
        telling: The telling detector: "reveals the answer or a step", then "reveals the
            final answer", against the ``(telling)`` annotations.
        telling_by_classifier: The move classifier's out-of-fold ``telling`` class, scored
            the same way.
        seconds: How long the build took.
    """

    bridge_path: Path
    bridge: tuple[HeadScore, ...]
    moves_path: Path
    moves: HeadScore
    telling: tuple[Detection, Detection]
    telling_by_classifier: Detection
    seconds: float


def build_bridge(
    data_dir: str | Path | None, out: Path, *, seed: int = 0, progress: Progress = quiet
) -> tuple[Path, tuple[HeadScore, ...]]:
    """Train, evaluate once on validation, and save the Bridge decision model."""
    train = load_bridge("train", data_dir)
    validation = load_bridge("validation", data_dir)
    model = BridgeModel.train(train, seed=seed, progress=progress)
    progress(f"Bridge: evaluating once on {len(validation)} validation examples")
    scores = model.evaluate(validation, train)
    info = {**model.info, "validation": [s.as_dict() for s in scores]}
    path = replace(model, info=info).save(out / BRIDGE_FILE)
    return path, scores


def build_moves(
    data_dir: str | Path | None, out: Path, *, seed: int = 0, progress: Progress = quiet
) -> tuple[Path, HeadScore, tuple[Detection, Detection], Detection]:
    """Cross-validate, train and save the move classifier; measure the telling detector."""
    dialogues = load_mathdial(data_dir)
    checked = cross_validate_moves(dialogues, seed=seed, progress=progress)
    progress("MathDial: training the move classifier on every teacher turn")
    model = MoveClassifier.train(dialogues, seed=seed, progress=progress)
    info = {**model.info, "cross_validation": checked.score.as_dict()}
    path = replace(model, info=info).save(out / MOVES_FILE)
    progress("MathDial: measuring the telling detector")
    telling = evaluate_telling(dialogues)
    tell = TeacherMove.TELLING.value
    by_classifier = detection_score(
        "move classifier says telling (out of fold)",
        [g == tell for g in checked.gold],
        [p == tell for p in checked.predicted],
    )
    return path, checked.score, telling, by_classifier


def build_models(
    data_dir: str | Path | None = None,
    out: Path | None = None,
    *,
    seed: int = 0,
    progress: Progress = quiet,
) -> BuildReport:
    """Build the Bridge decision model and the MathDial move classifier into ``out``
    (default: the models folder, ``$LYCEUM_CACHE/models``)."""
    started = time.perf_counter()
    folder = out or default_models_dir()
    bridge_path, bridge = build_bridge(data_dir, folder, seed=seed, progress=progress)
    moves_path, moves, telling, by_classifier = build_moves(
        data_dir, folder, seed=seed, progress=progress
    )
    return BuildReport(
        bridge_path=bridge_path,
        bridge=bridge,
        moves_path=moves_path,
        moves=moves,
        telling=telling,
        telling_by_classifier=by_classifier,
        seconds=time.perf_counter() - started,
    )
