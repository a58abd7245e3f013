"""MathDial's interactive-tutoring metrics, success@k and telling@k, as its own
``interactivetutoring/evaluate.py`` defines them (Macina et al., 2023).

A conversation is a list of utterances, each ``"Teacher: …"`` or ``"Student: …"``, the
teacher first (MathDial opens with the teacher asking the student to walk through their
solution). For one role, the *first mention* of the ground-truth number is the index,
counted over that role's utterances only and from 0, of its first utterance that states
the number; infinity if none does. Then, for ``k`` = 1 … 7:

- **success@k**: the student's first mention is ≤ k (within the student's first k + 1
  utterances; utterance 0 is the walk-through of the incorrect solution);
- **telling@k**: the teacher's first mention is ≤ min(student's first mention, k) (the
  teacher stated it no later than the student did, and within k).

Matching, as evaluate.py does it: commas are removed from the utterance and from the
answer, numbers are the runs ``[0-9]+(\\.[0-9]+)?`` (so ``-5`` reads as ``5``, ``$1,000``
as ``1000``, ``2.50`` as ``2.50``, and ``.5`` as ``5``); if the answer parses as a float,
any number within 1e-7 of it matches (``2.50`` matches ``2.5``); otherwise the answer must
equal one of the number strings exactly. The ground-truth number is the last line of
``ground_truth``, stripped. Utterances are stripped of spaces and newlines before the role
prefix is checked; an utterance of neither role counts for neither.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Literal

from personas.learned.mathdial import MathDialDialogue

__all__ = [
    "MAX_K",
    "at_k",
    "evaluate_at_k",
    "find_numbers",
    "first_mention",
    "get_match",
    "human_utterances",
    "numerical_answer",
    "utterance",
]

MAX_K = 7
"""evaluate.py's default ``--max_k``."""

_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
_TOLERANCE = 1e-7

Role = Literal["Teacher", "Student"]


def find_numbers(text: str) -> list[str]:
    """The number strings of ``text`` with its commas removed, in order."""
    return [m.group(0) for m in _NUMBER.finditer(text.replace(",", ""))]


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def get_match(text: str, answer: str) -> bool:
    """Whether ``text`` states ``answer`` (see the module docs)."""
    numbers = find_numbers(text)
    target = answer.replace(",", "")
    value = _as_float(target)
    if value is None:
        return target in numbers
    for number in numbers:
        found = _as_float(number)
        if found is not None and abs(value - found) < _TOLERANCE:
            return True
    return False


def first_mention(role: Role, utterances: Sequence[str], answer: str) -> float:
    """The index among ``role``'s utterances of the first that states ``answer``, or
    ``math.inf``."""
    count = 0
    prefix = f"{role}:"
    for raw in utterances:
        text = raw.strip().strip("\n")
        if text.startswith(prefix):
            if get_match(text, answer):
                return count
            count += 1
    return math.inf


def evaluate_at_k(utterances: Sequence[str], answer: str, k: int) -> tuple[bool, bool]:
    """``(success@k, telling@k)`` of one conversation."""
    student = first_mention("Student", utterances, answer)
    teacher = first_mention("Teacher", utterances, answer)
    return student <= k, teacher <= min(student, k)


def at_k(
    utterances: Sequence[str], answer: str, max_k: int = MAX_K
) -> tuple[list[bool], list[bool]]:
    """success@k and telling@k of one conversation for k = 1 … ``max_k`` (index k − 1)."""
    pairs = [evaluate_at_k(utterances, answer, k) for k in range(1, max_k + 1)]
    return [s for s, _ in pairs], [t for _, t in pairs]


def numerical_answer(ground_truth: str) -> str:
    """The ground-truth number: the last line of the worked solution, stripped (and, as
    evaluate.py does, the last piece of it split at a literal ``\\n``)."""
    last = ground_truth.split("\n")[-1].strip()
    return last.split("\\n")[-1].strip()


def utterance(role: Role, text: str) -> str:
    """One utterance as MathDial writes it (its ``Message``): ``"Role: text"``, newlines
    escaped."""
    return f"{role}: " + text.replace("\n", "\\n")


def human_utterances(dialogue: MathDialDialogue) -> list[str]:
    """The human teacher's conversation of ``dialogue`` as utterances: the move tag is
    dropped and a student turn under the student's name becomes ``Student:`` (the data
    writes some as ``Mariana: …``, which evaluate.py's prefix test would skip)."""
    return [
        utterance("Teacher" if t.speaker == "teacher" else "Student", t.text)
        for t in dialogue.turns
    ]
