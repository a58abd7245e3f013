"""Bridge's annotated tutoring conversations, read into typed examples.

Each record of ``bridge/{train,validation}.json`` (Wang et al., 2024) holds the
conversation before the tutor's reply (``c_h``: four turns, tutor and student), the
tutor's reply and an expert's revision of it, and the expert's decision: the student's
error type (``e``), a remediation strategy (``z_what``) and an intention (``z_why``). The
decision is made before the reply is written, so only the conversation before it is input
to the decision model; replies are never read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge_graph.builders.data import data_file, read_records
from personas.moves import BridgeDecision
from protocols import ConfigError

__all__ = [
    "CONTEXT_TURNS",
    "SPLITS",
    "BridgeExample",
    "conversation_text",
    "load_bridge",
    "texts_and_codes",
]

SPLITS = ("train", "validation")
CONTEXT_TURNS = 4
"""The turns a decision sees, the last ones: Bridge annotates four turns of context."""
_FIELDS = ("c_id", "lesson_topic", "c_h", "e", "z_what", "z_why")
_SPEAKERS = ("tutor", "student")


@dataclass(frozen=True)
class BridgeExample:
    """One annotated decision.

    Attributes:
        id: Bridge's conversation id (``c_id``).
        topic: The lesson topic.
        history: ``(speaker, text)`` turns before the reply; the speaker is ``"tutor"`` or
            ``"student"``.
        decision: The expert's decision; free-text codes become ``other`` with the text in
            ``notes`` (``BridgeDecision.from_annotation``).
    """

    id: str
    topic: str
    history: tuple[tuple[str, str], ...]
    decision: BridgeDecision

    @property
    def text(self) -> str:
        """The conversation as the decision model reads it (:func:`conversation_text`)."""
        return conversation_text(self.history)


def conversation_text(turns: Iterable[tuple[str, str]]) -> str:
    """The last ``CONTEXT_TURNS`` turns as ``"speaker: text"`` lines: the one input format
    of the decision model, in training and in the teacher mind alike."""
    lines = [f"{speaker}: {' '.join(text.split())}" for speaker, text in turns]
    return "\n".join(lines[-CONTEXT_TURNS:])


def _history(turns: object, path: str, index: int) -> tuple[tuple[str, str], ...]:
    where = f"[{index}].c_h"
    if not isinstance(turns, list):
        raise ConfigError("expected a list of turns", path=path, field=where)
    out: list[tuple[str, str]] = []
    for j, turn in enumerate(turns):
        user = turn.get("user") if isinstance(turn, dict) else None
        text = turn.get("text") if isinstance(turn, dict) else None
        if user not in _SPEAKERS or not isinstance(text, str):
            raise ConfigError(
                f"a turn needs 'user' (one of {', '.join(_SPEAKERS)}) and a text 'text'; got "
                f"{str(turn)[:80]}",
                path=path,
                field=f"{where}[{j}]",
            )
        out.append((str(user), text))
    return tuple(out)


def load_bridge(split: str, data_dir: str | Path | None = None) -> list[BridgeExample]:
    """The examples of ``bridge/<split>.json`` (``train`` or ``validation``).

    Raises:
        ConfigError: The file is missing (with where to point ``LYCEUM_DATA_DIR``) or a
            record lacks a field or holds a malformed one (with the file and the field).
    """
    if split not in SPLITS:
        raise ConfigError(f"no Bridge split {split!r}; choose from {', '.join(SPLITS)}")
    relative = f"bridge/{split}.json"
    path = str(data_file(relative, data_dir))
    records = read_records(relative, _FIELDS, data_dir)
    examples: list[BridgeExample] = []
    for i, record in enumerate(records):
        codes = [record[k] for k in ("e", "z_what", "z_why")]
        if not all(isinstance(c, str) for c in codes):
            raise ConfigError("e, z_what and z_why must be text", path=path, field=f"[{i}]")
        examples.append(
            BridgeExample(
                id=str(record["c_id"]),
                topic=str(record["lesson_topic"]),
                history=_history(record["c_h"], path, i),
                decision=BridgeDecision.from_annotation(*codes),
            )
        )
    return examples


def texts_and_codes(
    examples: Sequence[BridgeExample],
) -> tuple[list[str], list[str], list[str], list[str]]:
    """The conversation texts and the three codes of ``examples``, as parallel lists."""
    return (
        [e.text for e in examples],
        [e.decision.error_type.value for e in examples],
        [e.decision.strategy.value for e in examples],
        [e.decision.intention.value for e in examples],
    )
