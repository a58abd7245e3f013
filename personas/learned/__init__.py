"""Decisions learned from data: the Bridge decision model, the MathDial move classifier
and telling detector, and the loaders and text classifier they are built on.

Training and the learned models need scikit-learn (``pip install 'lyceum[learn]'``);
importing this package does not. ``lyceum models build`` trains every model from the data
folder into ``$LYCEUM_CACHE/models`` (default ``~/.cache/lyceum/models``), and
``BridgeModel.load()`` / ``MoveClassifier.load()`` read them back. Model files hold arrays
and JSON only, never pickles (:mod:`personas.learned.model_file`).
"""

from personas.learned.bridge_data import BridgeExample, conversation_text, load_bridge
from personas.learned.bridge_model import BridgeModel
from personas.learned.build import BuildReport, build_models
from personas.learned.mathdial import DialogueTurn, MathDialDialogue, load_mathdial
from personas.learned.metrics import Detection, HeadScore
from personas.learned.model_file import default_models_dir
from personas.learned.move_classifier import (
    MoveClassifier,
    MoveCrossValidation,
    cross_validate_moves,
)
from personas.learned.telling import (
    SolutionFacts,
    Telling,
    TellingDetector,
    evaluate_telling,
    judge_dialogue,
)
from personas.learned.text_classifier import TextClassifier

__all__ = [
    "BridgeExample",
    "BridgeModel",
    "BuildReport",
    "Detection",
    "DialogueTurn",
    "HeadScore",
    "MathDialDialogue",
    "MoveClassifier",
    "MoveCrossValidation",
    "SolutionFacts",
    "Telling",
    "TellingDetector",
    "TextClassifier",
    "build_models",
    "conversation_text",
    "cross_validate_moves",
    "default_models_dir",
    "evaluate_telling",
    "judge_dialogue",
    "load_bridge",
    "load_mathdial",
]
