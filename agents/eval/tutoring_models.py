"""The learned models a tutoring sweep uses: the move classifier that labels every teacher
turn, and the learned policies' models (Bridge's decisions; MathDial's next move).

``TutoringModels.load_or_train`` reads the move classifier and the Bridge model from the
models folder (``lyceum models build`` writes them there); a missing one is trained from
the data folder the dialogues are in (``mathdial/dev.jsonl``, ``bridge/train.json``), as
that command trains it, and saved there; so is the next-move model (``NEXT_MOVE_FILE``),
which only this sweep uses. Training all three takes about two minutes on two cores;
later runs, and every worker of a Ray sweep, read the files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from agents.eval.tutoring_policies import (
    NEXT_MOVE_FILE,
    BridgeDecider,
    MoveDecider,
    NextMoveModel,
    Policy,
)
from personas.learned.bridge_data import load_bridge
from personas.learned.bridge_model import BRIDGE_FILE, BridgeModel
from personas.learned.mathdial import load_mathdial
from personas.learned.model_file import default_models_dir
from personas.learned.move_classifier import MOVES_FILE, MoveClassifier
from protocols import ConfigError

__all__ = ["TutoringModels"]


class _Saved(Protocol):
    def save(self, path: Path) -> Path: ...


M = TypeVar("M", bound=_Saved)


def _load_or_train(load: Callable[[], M], train: Callable[[], M], path: Path) -> M:
    """The model at ``path``, or, when there is none, one trained and saved there."""
    try:
        return load()
    except ConfigError:
        model = train()
        model.save(path)
        return model


@dataclass(frozen=True, eq=False)
class TutoringModels:
    """The move classifier, and the learned policies' models where configured.

    Attributes:
        moves: Labels each teacher turn's move from its text.
        bridge: The Bridge decision model (policy ``bridge``).
        next_move: The MathDial next-move model (policy ``mathdial``).
    """

    moves: MoveClassifier
    bridge: BridgeModel | None = None
    next_move: NextMoveModel | None = None

    def decider(self, policy: Policy) -> MoveDecider | None:
        """The learned model of ``policy`` (None for the hand-written policies).

        Raises:
            ConfigError: The policy's model is not loaded.
        """
        match policy:
            case "bridge" if self.bridge is not None:
                return BridgeDecider(self.bridge)
            case "mathdial" if self.next_move is not None:
                return self.next_move
            case "bridge" | "mathdial":
                raise ConfigError(f"policy {policy!r} needs its learned model; none was loaded")
            case _:
                return None

    @classmethod
    def load_or_train(
        cls, source: Path, policies: Sequence[Policy], *, models_dir: Path | None = None
    ) -> TutoringModels:
        """Load (or train and save) what ``policies`` need; ``source`` is the dialogues
        file, in ``<data folder>/mathdial/``."""
        folder = models_dir or default_models_dir()
        data_dir = source.parent.parent
        dialogues = load_mathdial(path=source)
        moves = _load_or_train(
            lambda: MoveClassifier.load(folder / MOVES_FILE),
            lambda: MoveClassifier.train(dialogues),
            folder / MOVES_FILE,
        )
        bridge = None
        if "bridge" in policies:
            bridge = _load_or_train(
                lambda: BridgeModel.load(folder / BRIDGE_FILE),
                lambda: BridgeModel.train(load_bridge("train", data_dir)),
                folder / BRIDGE_FILE,
            )
        next_move = None
        if "mathdial" in policies:
            next_move = _load_or_train(
                lambda: NextMoveModel.load(folder / NEXT_MOVE_FILE),
                lambda: NextMoveModel.train(dialogues),
                folder / NEXT_MOVE_FILE,
            )
        return cls(moves, bridge, next_move)
