"""MathDial dialogues (Macina et al., 2023), read into typed records.

Each line of ``mathdial/dev.jsonl`` holds a word problem, its worked solution
(``ground_truth``, ending in the final number), a student's incorrect solution and
profile, and the dialogue as one string: turns separated by ``|EOM|``, each ``Speaker:
text``; a teacher turn starts with its move, ``(focus)``, ``(probing)``, ``(telling)`` or
``(generic)``. Student turns are prefixed ``Student:`` or with the student's name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from knowledge_graph.builders.data import data_file
from personas.moves import TeacherMove
from protocols import ConfigError
from protocols.config import jsonl_records

__all__ = [
    "MATHDIAL_FILE",
    "DialogueTurn",
    "MathDialDialogue",
    "load_mathdial",
    "parse_turns",
    "teacher_examples",
]

MATHDIAL_FILE = "mathdial/dev.jsonl"
TURN_SEPARATOR = "|EOM|"
_TEACHER = re.compile(r"Teacher:\s*\((\w+)\)\s*(.*)", re.DOTALL)
_SPEAKER = re.compile(r"([^\s:]{1,40}):\s?(.*)", re.DOTALL)
_TEXT_FIELDS = ("question", "ground_truth", "student_incorrect_solution", "conversation")


@dataclass(frozen=True)
class DialogueTurn:
    """One turn: who spoke, what they said (without the prefix and the move tag), and, for
    a teacher turn, the annotated move."""

    speaker: Literal["teacher", "student"]
    text: str
    move: TeacherMove | None = None


@dataclass(frozen=True)
class MathDialDialogue:
    """One tutoring dialogue and the problem it is about.

    Attributes:
        qid: The problem's id.
        line: The line of the file it was read from.
        question: The word problem.
        ground_truth: The worked solution; its last line is the final answer.
        student_incorrect_solution: The simulated student's wrong solution.
        student_profile: The student's profile.
        teacher_described_confusion: The teacher's description of the student's confusion.
        turns: The dialogue.
    """

    qid: str
    line: int
    question: str
    ground_truth: str
    student_incorrect_solution: str
    student_profile: str
    teacher_described_confusion: str
    turns: tuple[DialogueTurn, ...]

    @property
    def teacher_turns(self) -> tuple[DialogueTurn, ...]:
        return tuple(t for t in self.turns if t.speaker == "teacher")


def parse_turns(
    conversation: str, *, path: str = "", line: int | None = None
) -> tuple[DialogueTurn, ...]:
    """The turns of one ``conversation`` string.

    Raises:
        ConfigError: A teacher turn lacks a known move tag (naming ``path``, ``line`` and the
            turn), or a turn has no ``Speaker:`` prefix.
    """
    turns: list[DialogueTurn] = []
    for i, raw in enumerate(conversation.split(TURN_SEPARATOR)):
        where = f"conversation turn {i + 1}"
        text = raw.strip()
        if text.startswith("Teacher:"):
            found = _TEACHER.fullmatch(text)
            moves = ", ".join(f"({m.value})" for m in TeacherMove)
            if found is None or found.group(1) not in {m.value for m in TeacherMove}:
                raise ConfigError(
                    f"a teacher turn must start with one of {moves}; got {text[:60]!r}",
                    path=path or None,
                    line=line,
                    field=where,
                )
            move = TeacherMove(found.group(1))
            turns.append(DialogueTurn("teacher", found.group(2).strip(), move))
            continue
        spoken = _SPEAKER.fullmatch(text)
        if spoken is None:
            raise ConfigError(
                f"a turn must start with 'Speaker:'; got {text[:60]!r}",
                path=path or None,
                line=line,
                field=where,
            )
        turns.append(DialogueTurn("student", spoken.group(2).strip()))
    return tuple(turns)


def _text(record: dict[str, Any], name: str, path: str, line: int, *, required: bool) -> str:
    value = record.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ConfigError(
            f"expected text, got {type(value).__name__}", path=path, line=line, field=name
        )
    return value


def parse_dialogue(record: dict[str, Any], where: str, line: int) -> MathDialDialogue:
    """One record of ``dev.jsonl`` as a dialogue.

    Raises:
        ConfigError: The record lacks a field, or a turn is malformed;
            the message names the file, the line and the field.
    """
    texts = {name: _text(record, name, where, line, required=True) for name in _TEXT_FIELDS}
    if "qid" not in record:
        raise ConfigError("lacks 'qid'", path=where, line=line, field="qid")
    return MathDialDialogue(
        qid=str(record["qid"]),
        line=line,
        question=texts["question"],
        ground_truth=texts["ground_truth"],
        student_incorrect_solution=texts["student_incorrect_solution"],
        student_profile=_text(record, "student_profile", where, line, required=False),
        teacher_described_confusion=_text(
            record, "teacher_described_confusion", where, line, required=False
        ),
        turns=parse_turns(texts["conversation"], path=where, line=line),
    )


def read_mathdial(
    path: Path, *, skip_bad: bool = False
) -> tuple[list[MathDialDialogue], list[ConfigError]]:
    """The dialogues of the file ``path``, and the malformed records skipped.

    Args:
        path: A MathDial ``dev.jsonl``.
        skip_bad: Skip a malformed record (a line that is not JSON, lacks a field, or holds
            a malformed turn) and return its error, instead of raising it.

    Raises:
        ConfigError: The file cannot be read or holds no dialogue, or (without
            ``skip_bad``) a record is malformed; the message names the file and the line.
    """
    where = str(path)
    dialogues, skipped = [], []
    for line, record in jsonl_records(path):
        try:
            if isinstance(record, ConfigError):
                raise record
            dialogues.append(parse_dialogue(record, where, line))
        except ConfigError as exc:
            if not skip_bad:
                raise
            skipped.append(exc)
    if not dialogues:
        raise ConfigError("holds no dialogues", path=where)
    return dialogues, skipped


def load_mathdial(
    data_dir: str | Path | None = None, *, path: Path | None = None
) -> list[MathDialDialogue]:
    """The dialogues of ``mathdial/dev.jsonl`` in the data folder (or of the file ``path``).

    Raises:
        ConfigError: The file is missing, or a line is not JSON or lacks a field, or a turn is
            malformed; the message names the file and the line.
    """
    source = path or data_file(MATHDIAL_FILE, data_dir)
    return read_mathdial(source)[0]


def teacher_examples(
    dialogues: Sequence[MathDialDialogue],
) -> tuple[list[str], list[str], list[str]]:
    """Every annotated teacher turn as (texts, moves, problem ids): the move classifier's
    data, grouped by problem (a problem's dialogues, and so each dialogue, stay in one
    fold)."""
    texts, moves, groups = [], [], []
    for dialogue in dialogues:
        for turn in dialogue.teacher_turns:
            assert turn.move is not None
            texts.append(turn.text)
            moves.append(turn.move.value)
            groups.append(dialogue.qid)
    return texts, moves, groups
