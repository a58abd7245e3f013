"""A MathDial problem as a simulated tutee sees it: the steps of the worked solution, the
numbers the problem gives, and the student's own incorrect solution.

Nothing here is annotated: the steps are the lines of ``ground_truth`` (its last line is
the final number), each step's *result* is the last number after an ``=`` in its line
and its *operands* the numbers before that ``=``; a step's *words* are the content words
of its line that not every step shares (so "spoons" in every line says nothing about
which step a turn is about). Numbers are read by :func:`stated_numbers`: digits
(``1,000``, ``4.50``, ``3/4``) and the number words zero to twenty and the tens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from personas.learned.telling import numbers

__all__ = ["SolutionStep", "TuteeProblem", "content_words", "stated_numbers"]

_WORD_NUMBERS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80}
_WORD = re.compile(r"[a-z]+")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "that",
        "this",
        "with",
        "from",
        "then",
        "than",
        "what",
        "how",
        "many",
        "much",
        "you",
        "your",
        "she",
        "her",
        "his",
        "him",
        "they",
        "them",
        "their",
        "its",
        "our",
        "can",
        "does",
        "did",
        "not",
        "but",
        "all",
        "each",
        "there",
        "here",
        "into",
        "out",
        "per",
        "total",
        "so",
    ]
)
_EQUATION = re.compile(r"[\d$(][\d\s$.,+\-*/x×÷()]*=[\d\s$.,+\-*/x×÷()=]*\d")


def stated_numbers(text: str) -> frozenset[Fraction]:
    """The numbers ``text`` states, in digits or as number words."""
    words = {Fraction(_WORD_NUMBERS[w]) for w in _WORD.findall(text.lower()) if w in _WORD_NUMBERS}
    return numbers(text) | words


def content_words(text: str) -> frozenset[str]:
    """Lower-cased words of three letters or more, stop words dropped, a plural ``s``
    stripped."""
    found = (w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in _STOP)
    return frozenset(w[:-1] if w.endswith("s") and len(w) > 3 else w for w in found)


@dataclass(frozen=True)
class SolutionStep:
    """One line of the worked solution.

    Attributes:
        text: The line.
        equation: The arithmetic it states (``12+3=15``), or the line when it states none.
        operands: The numbers before its last ``=``.
        result: The number after its last ``=`` (None when the line has no ``=``).
        words: Its content words that not every step shares.
    """

    text: str
    equation: str
    operands: frozenset[Fraction]
    result: Fraction | None
    words: frozenset[str]


def _step(line: str, common: frozenset[str]) -> SolutionStep:
    head, eq, tail = line.rpartition("=")
    result_numbers = sorted(numbers(tail.split()[0] if tail.split() else ""))
    result = result_numbers[0] if eq and result_numbers else None
    found = _EQUATION.search(line)
    return SolutionStep(
        text=line,
        equation=found.group(0).strip() if found else line,
        operands=numbers(head) if eq else frozenset(),
        result=result,
        words=content_words(line) - common,
    )


@dataclass(frozen=True)
class TuteeProblem:
    """What the simulated tutee works with.

    Attributes:
        question: The word problem.
        steps: The worked solution's steps (its last line, the final number, excluded).
        answer: The final number (None if the solution does not end in one).
        answer_text: The final number as the data writes it (``2,520,000``).
        givens: The numbers the problem states.
        solution: The student's incorrect solution, one line per entry.
        wrong: Numbers the student's solution states that are neither givens nor results
            of the worked solution: the student's own wrong results.
        student_answer: The final number of the student's solution, as written.
    """

    question: str
    steps: tuple[SolutionStep, ...]
    answer: Fraction | None
    answer_text: str
    givens: frozenset[Fraction]
    solution: tuple[str, ...]
    wrong: frozenset[Fraction]
    student_answer: str

    @classmethod
    def of(cls, question: str, ground_truth: str, incorrect_solution: str) -> TuteeProblem:
        """Read a problem, its worked solution and the student's incorrect solution."""
        lines = [line.strip() for line in ground_truth.splitlines() if line.strip()]
        answer_text = lines[-1] if lines else ""
        step_lines = lines[:-1]
        shared = [content_words(line) for line in step_lines]
        common = frozenset.intersection(*shared) if len(shared) > 1 else frozenset()
        steps = tuple(_step(line, common) for line in step_lines)
        answer = sorted(numbers(answer_text))[-1] if numbers(answer_text) else None
        givens = stated_numbers(question)
        mine = tuple(line.strip() for line in incorrect_solution.splitlines() if line.strip())
        results = {s.result for s in steps if s.result is not None} | (
            {answer} if answer is not None else set()
        )
        said = frozenset().union(*(numbers(line) for line in mine)) if mine else frozenset()
        wrong, last = frozenset(said - givens - results), mine[-1] if mine else ""
        return cls(question, steps, answer, answer_text, givens, mine, wrong, last)

    def known(self, reached: set[int]) -> frozenset[Fraction]:
        """The givens and the results of the steps in ``reached``."""
        results = {self.steps[i].result for i in reached if self.steps[i].result is not None}
        return self.givens | frozenset(r for r in results if r is not None)
