"""The arithmetic a text states, found and checked with the calculator.

A reader who meets ``2/6 + 1/6 = 3/6 = 1/2`` or ``x + 5 = 12, so x = 7`` can check it.
This module finds such statements in a text and checks each with the project's calculator
(``personas.sandbox.run_sandboxed``, the arithmetic interpreter the ``calculator`` tool
runs), so that the reading model (``personas.minds.reading``) can tell a correct worked
example from a wrong rule stated as if it were right.

- A **problem** is what is being computed: an expression with an operator (``1/3 + 1/6``)
  or a linear equation in x (``2x + 3 = 11``). Its *form* keeps the shape and drops the
  numbers (``f+f``: fraction plus fraction; ``nx+n=n``), so two problems of one kind share
  a form.
- A **claim** states a result for a problem: the last value of an arithmetic chain
  (``= 3/6 = 1/2``), or the x a solution line gives (``x = 7``, ``gives 17``). It is true
  when the calculator agrees, *worked* when an intermediate step is shown (a chain of two
  or more ``=``, or a step equation between the problem and its solution), and *negated*
  when its sentence marks it as wrong ("not", "never", "wrong", "mistake", "incorrect").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

from personas.sandbox import SandboxError, run_sandboxed

__all__ = ["Claim", "Problem", "check_result", "claims", "problem_of", "stated_answers"]

_FRACTION = r"\d+/\d*[1-9]\d*"  # no zero denominator: ``1/0`` is not read as a number
_NUMBER = rf"-?(?:{_FRACTION}|\d+)"
_TERM = rf"(?:{_FRACTION}|\d*x|\d+)"
_OP = r"[-+×*÷]"
# A span of terms joined by operators and ``=``; not part of a decimal (``0.8``) or a mixed
# number (``8 1/3``), which the reading model does not read.
_SPAN = re.compile(
    rf"(?<![\w/.])(?<!\d )(?<!\d\.){_TERM}(?:\s*(?:{_OP}|=)\s*{_TERM})+(?![\w/]|\.\d)"
)
_TOKEN = re.compile(rf"{_TERM}|{_OP}|=")
_GIVES = re.compile(rf"\bgives\s+(?:x\s*=\s*)?({_NUMBER})(?![\w/])")
_ANSWER = re.compile(rf"\banswer\s*(?:is|:|=)\s*({_NUMBER})(?![\w/])", re.I)
_NEGATION = re.compile(r"\b(?:not|never|wrong|mistake|incorrect)\b|n't\b", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Problem:
    """What is computed: its form (shape without numbers) and its numbers, in order."""

    form: str
    values: tuple[Fraction, ...]


@dataclass(frozen=True)
class Claim:
    """A result a text states for a problem, checked with the calculator."""

    problem: Problem
    value: Fraction
    true: bool
    worked: bool
    negated: bool


def _shape(token: str) -> str:
    if token == "x":
        return "x"
    if token.endswith("x"):
        return "nx"
    if "/" in token:
        return "f"
    if token.isdigit():
        return "n"
    return {"*": "×"}.get(token, token)


def _code(expr: list[str]) -> str:
    """Calculator code for tokens: fractions exact, ``3x`` as ``3*x``."""
    out = []
    for token in expr:
        if re.fullmatch(r"\d+/\d+", token):
            num, den = token.split("/")
            token = f"Fraction({num}, {den})"
        elif re.fullmatch(r"\d+x", token):
            token = f"{token[:-1]}*x"
        out.append({"×": "*", "÷": "/"}.get(token, token))
    return " ".join(out)


def _calc(code: str) -> Fraction | None:
    try:
        value = run_sandboxed(code, timeout=2.0).value
    except SandboxError:
        return None
    try:
        return Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None


def _numbers(tokens: list[str]) -> tuple[Fraction, ...]:
    values = []
    for token in tokens:
        digits = token[:-1] if token.endswith("x") else token
        if digits and digits[0].isdigit():
            values.append(Fraction(digits))
    return tuple(values)


def _solve(left: list[str], right: list[str]) -> Fraction | None:
    """x for a linear equation, from f(x) = left − right at x = 0 and x = 1."""
    body = f"({_code(left)}) - ({_code(right)})"
    f0, f1 = _calc(f"x = Fraction(0)\n{body}"), _calc(f"x = Fraction(1)\n{body}")
    if f0 is None or f1 is None or f1 == f0:
        return None
    return -f0 / (f1 - f0)


def _split(tokens: list[str]) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    for token in tokens:
        if token == "=":
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


def problem_of(text: str) -> Problem | None:
    """The first problem ``text`` poses (an item's ``What is 1/3 + 1/6?``), if any."""
    for match in _SPAN.finditer(text):
        tokens = _TOKEN.findall(match.group(0))
        parts = _split(tokens)
        if any("x" in t for t in tokens) and len(parts) == 2 and parts[0] != ["x"]:
            return Problem("=".join("".join(map(_shape, p)) for p in parts), _numbers(tokens))
        if len(parts[0]) > 1:
            return Problem("".join(map(_shape, parts[0])), _numbers(parts[0]))
    return None


def _arithmetic(parts: list[list[str]], negated: bool) -> Claim | None:
    first = parts[0]
    if len(parts) < 2 or len(first) < 3 or any(len(p) == 0 for p in parts):
        return None  # an expression alone (``What is 1/3 + 1/6?``) states no result
    values = [_calc(_code(p)) for p in parts]
    if any(v is None for v in values):
        return None
    true = all(a == b for a, b in pairwise(values))
    problem = Problem("".join(map(_shape, first)), _numbers(first))
    last = values[-1]
    assert last is not None
    return Claim(problem, last, true, worked=len(parts) > 2, negated=negated)


def claims(text: str) -> list[Claim]:
    """Every claim ``text`` states, in order, each checked with the calculator."""
    found: list[Claim] = []
    problem: tuple[Problem, Fraction | None] | None = None
    steps = 0
    for sentence in _SENTENCE.split(text):
        negated = bool(_NEGATION.search(sentence))
        events = [(m.start(), "span", m.group(0)) for m in _SPAN.finditer(sentence)]
        events += [(m.start(), "gives", m.group(1)) for m in _GIVES.finditer(sentence)]
        for _, kind, body in sorted(events):
            tokens = _TOKEN.findall(body)
            parts = _split(tokens)
            solution: Fraction | None = None
            if kind == "gives":
                solution = Fraction(body)
            elif not any("x" in t for t in tokens):
                claim = _arithmetic(parts, negated)
                found += [claim] if claim else []
                continue
            elif parts[0] == ["x"] and len(parts) == 2 and len(parts[1]) == 1:
                solution = Fraction(parts[1][0])
            elif len(parts) == 2:
                root = _solve(parts[0], parts[1])
                if problem is not None and root is not None and root == problem[1]:
                    steps += 1  # a step that keeps the problem's solution
                    continue
                shape = "=".join("".join(map(_shape, p)) for p in parts)
                problem, steps = (Problem(shape, _numbers(tokens)), root), 0
                continue
            if problem is not None and solution is not None:
                true = problem[1] is not None and solution == problem[1]
                found.append(Claim(problem[0], solution, true, steps > 0, negated))
    return found


def stated_answers(text: str) -> list[str]:
    """Answers stated without their problem: ``The answer is 1/2.`` → ``["1/2"]``."""
    return [str(Fraction(m.group(1))) for m in _ANSWER.finditer(text)]


def check_result(question: str, value: str) -> Claim | None:
    """``value`` stated as the result of the first problem ``question`` poses, checked with
    the calculator; None when the question poses no problem this module reads or ``value``
    is not a number."""
    for match in _SPAN.finditer(question):
        span = match.group(0)
        linear = "x" in span and "=" in span
        found = claims(f"{span}, so x = {value}." if linear else f"{span} = {value}")
        if found:
            return found[0]
    return None
