"""How much of real misconception data the reading model's arithmetic channel can read.

For each diagnostic example of ``misconceptions/data.json`` (question, correct answer,
incorrect answer), ``arithmetic_coverage`` asks whether the question poses a problem the
channel parses (``personas.minds.statements``), whether both answers end in a number, and
whether the calculator then confirms the correct answer and rejects the incorrect one.
``python -m agents.eval --coverage DATA_DIR`` writes the counts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from personas.minds.statements import check_result, problem_of

__all__ = ["Coverage", "arithmetic_coverage"]

_LAST_NUMBER = re.compile(r"(?<![\w/.])-?\d+(?:/\d+)?(?![\w/]|\.\d)")


@dataclass(frozen=True)
class Coverage:
    """Counts over the examples: all, those whose question parses as a problem, those of
    them with numeric answers, and those the calculator reads as the data says (the correct
    answer true, the incorrect one false)."""

    examples: int
    parsed: int
    checkable: int
    consistent: int


def _final_number(text: str) -> str | None:
    found = _LAST_NUMBER.findall(text)
    return found[-1] if found else None


def arithmetic_coverage(records: Iterable[Mapping[str, Any]]) -> Coverage:
    """Count what the arithmetic channel can read of ``records`` (misconception examples
    with ``Question``, ``Correct Answer`` and ``Incorrect Answer``)."""
    examples = parsed = checkable = consistent = 0
    for record in records:
        examples += 1
        question = str(record["Question"])
        if problem_of(question) is None:
            continue
        parsed += 1
        right = _final_number(str(record["Correct Answer"]))
        wrong = _final_number(str(record["Incorrect Answer"]))
        said_right = check_result(question, right) if right else None
        said_wrong = check_result(question, wrong) if wrong else None
        if said_right is None or said_wrong is None:
            continue
        checkable += 1
        consistent += said_right.true and not said_wrong.true
    return Coverage(examples, parsed, checkable, consistent)
