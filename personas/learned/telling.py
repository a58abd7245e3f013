"""A telling detector: does a teacher's turn reveal the answer or a solution step?

MathDial calls a move *telling* when the teacher gives away the solution (Macina et al.,
2023), and telling@k counts dialogues where the teacher revealed the answer first. This
detector judges it from numbers, with no learning, fixed before any score was seen:

- the **solution's results** are the final answer (the last number of ``ground_truth``)
  and every number written right after an ``=`` in its steps (``12+3=15`` gives 15);
- numbers the **problem states** are givens, not results, and are never counted;
- a turn **reveals** a result when it states that number and the student has not said it
  before (in the conversation so far or in their own solution): repeating the student's
  number back is not telling.

So it finds telling that states numbers. Telling in words only ("you need to add, not
subtract") is out of its reach, which the measured recall shows (docs/simulation.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from personas.learned.mathdial import DialogueTurn, MathDialDialogue
from personas.learned.metrics import Detection, detection_score
from personas.moves import TeacherMove

__all__ = [
    "SolutionFacts",
    "Telling",
    "TellingDetector",
    "evaluate_telling",
    "judge_dialogue",
    "numbers",
]

_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d*\.\d+|\d+)(?:\s*/\s*(\d+))?")
_RESULT = re.compile(r"=\s*\$?\s*(-?(?:\d{1,3}(?:,\d{3})+|\d*\.\d+|\d+)(?:\s*/\s*\d+)?)")


def _value(whole: str, denominator: str | None) -> Fraction | None:
    try:
        value = Fraction(whole.replace(",", ""))
        return value / Fraction(denominator) if denominator else value
    except (ValueError, ZeroDivisionError):
        return None


def numbers(text: str) -> frozenset[Fraction]:
    """The numbers ``text`` states: integers (``1,000``), decimals (``.05``, ``4.50``) and
    fractions (``3/4``), as exact values."""
    found = (_value(m.group(1), m.group(2)) for m in _NUMBER.finditer(text))
    return frozenset(v for v in found if v is not None)


@dataclass(frozen=True)
class SolutionFacts:
    """What a turn could reveal about one problem.

    Attributes:
        answer: The final answer, or None when the solution does not end in a number.
        results: The answer and the step results, less the givens.
        givens: The numbers the problem states.
    """

    answer: Fraction | None
    results: frozenset[Fraction]
    givens: frozenset[Fraction]

    @classmethod
    def of(cls, question: str, solution: str) -> SolutionFacts:
        """The facts of a problem (``question``) and its worked ``solution``."""
        givens = numbers(question)
        lines = [line for line in solution.splitlines() if line.strip()]
        final = _last_number(lines[-1]) if lines else None
        steps = {_value(*_split(m.group(1))) for m in _RESULT.finditer(solution)}
        results = {v for v in (*steps, final) if v is not None} - givens
        return cls(answer=final, results=frozenset(results), givens=givens)


def _split(token: str) -> tuple[str, str | None]:
    whole, _, denominator = token.partition("/")
    return whole.strip(), denominator.strip() or None


def _last_number(line: str) -> Fraction | None:
    found = list(_NUMBER.finditer(line))
    return _value(found[-1].group(1), found[-1].group(2)) if found else None


@dataclass(frozen=True)
class Telling:
    """The detector's verdict on one turn.

    Attributes:
        revealed: The solution results the turn states that the student had not said.
        reveals_answer: Whether the final answer is among them.
    """

    revealed: frozenset[Fraction]
    reveals_answer: bool

    @property
    def tells(self) -> bool:
        """Whether the turn reveals the answer or a solution step."""
        return bool(self.revealed)


class TellingDetector:
    """Judges teacher turns about one problem.

    Example:
        >>> facts = SolutionFacts.of("Tom has 3 bags of 4 apples.", "3*4=12\\n 12")
        >>> TellingDetector(facts).check("So the answer is 12.").reveals_answer
        True
    """

    def __init__(self, facts: SolutionFacts) -> None:
        self.facts = facts

    @classmethod
    def of(cls, question: str, solution: str) -> TellingDetector:
        return cls(SolutionFacts.of(question, solution))

    def check(self, turn: str, said_before: Iterable[str] = ()) -> Telling:
        """The verdict on ``turn``, given what the student said before it."""
        known = frozenset().union(*(numbers(text) for text in said_before))
        revealed = (numbers(turn) & self.facts.results) - known
        answer = self.facts.answer
        return Telling(frozenset(revealed), answer is not None and answer in revealed)


def judge_dialogue(dialogue: MathDialDialogue) -> list[tuple[DialogueTurn, Telling]]:
    """Each teacher turn of ``dialogue`` with the detector's verdict, the student's solution
    and earlier turns counting as said before."""
    detector = TellingDetector.of(dialogue.question, dialogue.ground_truth)
    said = [dialogue.student_incorrect_solution]
    verdicts = []
    for turn in dialogue.turns:
        if turn.speaker == "student":
            said.append(turn.text)
        else:
            verdicts.append((turn, detector.check(turn.text, said)))
    return verdicts


def evaluate_telling(dialogues: Sequence[MathDialDialogue]) -> tuple[Detection, Detection]:
    """Precision and recall against the annotated ``(telling)`` moves, of "reveals the
    answer or a step" and of "reveals the final answer"."""
    gold: list[bool] = []
    step: list[bool] = []
    final: list[bool] = []
    for dialogue in dialogues:
        for turn, verdict in judge_dialogue(dialogue):
            gold.append(turn.move is TeacherMove.TELLING)
            step.append(verdict.tells)
            final.append(verdict.reveals_answer)
    return (
        detection_score("reveals the answer or a step", gold, step),
        detection_score("reveals the final answer", gold, final),
    )
