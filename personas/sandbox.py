"""The tutor's calculator ("code soliloquy"): an interpreter of a small arithmetic language.

A program is parsed with ``ast.parse`` and evaluated node by node here; nothing reaches
Python's ``exec``, ``eval`` or ``compile``, no Python object is ever looked up by a name the
program wrote, and it runs in-process, bounded by a step count and a time limit.

The language:

- numbers: ``int``, ``Fraction``, ``Decimal`` and ``float`` (and ``True``/``False``);
  arithmetic ``+ - * / // % **``, bit operations, unary ``- + ~ not``, comparisons (chained,
  ``in``) and ``and``/``or``, ``x if c else y``;
- names bound by earlier assignments (``=``, ``+=`` …, tuple unpacking); several statements,
  ``if``/``for``/``while``/``break``/``continue``; the value of the last expression is the
  result;
- lists and tuples, indexing and slicing of them, list comprehensions;
- a fixed table of functions called by name (``sqrt(2)``, ``gcd(12, 18)``,
  ``Fraction(1, 3)``, ``Decimal("0.1")``, ``print(x)`` …; see
  ``personas.calc_functions.FUNCTIONS``). ``math.gcd(12, 18)`` is the same function: the
  dotted name is looked up in that table, it is not attribute access.

Refused, with an error naming the line: attribute access, subscripts of anything but the
program's own lists, calls of anything but table functions, ``import``, ``def``, ``lambda``,
``class``, ``with``, ``try``, f-strings, dicts and sets. Sizes are bounded *before* computing
(``10**10**8`` is refused at once): integers and fractions to ``MAX_BITS`` bits, lists to
``MAX_ITEMS`` items, the program to ``MAX_SOURCE`` characters and ``MAX_DEPTH`` levels of
nesting, the run to ``max_steps`` evaluation steps and ``timeout`` seconds.
"""

from __future__ import annotations

import ast
import decimal
import io
import re
import time
from dataclasses import dataclass
from typing import Any

from personas.calc_functions import CONSTANTS, DECIMAL_CONTEXT, FUNCTIONS, LimitError
from personas.calc_interpreter import Interpreter, OutOfSteps, dotted_name
from protocols import UserError

__all__ = [
    "MAX_DEPTH",
    "MAX_SOURCE",
    "SandboxError",
    "SandboxResult",
    "check_program",
    "needs_calculation",
    "run_sandboxed",
]

MAX_SOURCE = 10_000  # characters
MAX_DEPTH = 100  # levels of nesting in the syntax tree
MAX_OUTPUT = 10_000  # characters of printed output kept

_ALLOWED: tuple[type[ast.AST], ...] = (
    ast.Module,
    ast.Expr,
    ast.Assign,
    ast.AugAssign,
    ast.If,
    ast.For,
    ast.While,
    ast.Break,
    ast.Continue,
    ast.Pass,
    ast.Name,
    ast.Constant,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.keyword,
    ast.Attribute,  # only as a dotted name of the table (``math.gcd``), checked below
    ast.List,
    ast.Tuple,
    ast.Subscript,
    ast.Slice,
    ast.ListComp,
    ast.GeneratorExp,
    ast.comprehension,
    ast.Load,
    ast.Store,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
)
_WHY = {
    ast.Import: "imports are not allowed",
    ast.ImportFrom: "imports are not allowed",
    ast.FunctionDef: "defining functions is not allowed",
    ast.AsyncFunctionDef: "defining functions is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ClassDef: "defining classes is not allowed",
    ast.With: "'with' is not allowed",
    ast.Try: "'try' is not allowed",
    ast.Global: "'global' is not allowed",
    ast.Nonlocal: "'nonlocal' is not allowed",
    ast.Raise: "'raise' is not allowed",
    ast.Delete: "'del' is not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.Starred: "'*' unpacking is not allowed",
    ast.Dict: "dicts are not available in the calculator",
    ast.Set: "sets are not available in the calculator",
}


class SandboxError(UserError):
    """A calculation was refused or failed.

    Attributes:
        reason: ``syntax`` (not parseable, too long or too deep), ``forbidden`` (outside the
            language), ``limit`` (a size bound), ``timeout`` (the step or time bound) or
            ``error`` (it raised, e.g. a division by zero).
        line: The offending line, when known.
    """

    def __init__(self, message: str, *, reason: str, line: int | None = None) -> None:
        self.reason = reason
        self.line = line
        super().__init__(message)


@dataclass(frozen=True)
class SandboxResult:
    """The value of the last expression (None if there is none; numbers other than ``int``,
    ``float`` and ``bool`` as text, e.g. ``"1/2"``), the printed output, and the time."""

    value: Any
    output: str
    seconds: float


def _parse(code: str) -> ast.Module:
    if len(code) > MAX_SOURCE:
        raise SandboxError(
            f"the program has {len(code)} characters, over the limit of {MAX_SOURCE}",
            reason="syntax",
        )
    try:
        return ast.parse(code, mode="exec")
    except SyntaxError as exc:
        raise SandboxError(
            f"not valid Python: {exc.msg} (line {exc.lineno})", reason="syntax", line=exc.lineno
        ) from None
    except (MemoryError, RecursionError):
        raise SandboxError(
            "the program is nested too deeply to parse (line 1)", reason="syntax", line=1
        ) from None


def _check_depth(tree: ast.Module) -> None:
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            line = getattr(node, "lineno", 1)
            raise SandboxError(
                f"the program is nested more than {MAX_DEPTH} levels deep (line {line})",
                reason="syntax",
                line=line,
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _attribute_problem(attr: str) -> tuple[int, str]:
    return 1, f"attribute access is not allowed (.{attr}); call functions by name, e.g. sqrt(2)"


def _call_problem(node: ast.Call) -> tuple[int, str] | None:
    name = dotted_name(node.func)
    if isinstance(node.func, ast.Attribute) and (name is None or name not in FUNCTIONS):
        return _attribute_problem(node.func.attr)
    if name is None:
        return 1, "only calculator functions can be called, by name (e.g. sqrt(2))"
    if name != "print" and name not in FUNCTIONS:
        return 0, f"{name!r} is not available in the calculator; functions: " + ", ".join(
            sorted(n for n in FUNCTIONS if "." not in n)
        )
    if any(k.arg is None for k in node.keywords):
        return 0, "'**' unpacking is not allowed"
    return None


def _problem(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> tuple[int, str] | None:
    """What is wrong with one node, with a rank: names and statements (0) are reported before
    attribute and call-shape problems (1), because they are the clearer explanation; then
    the earliest line."""
    if type(node) in _WHY:
        return 0, _WHY[type(node)]
    if not isinstance(node, _ALLOWED):
        return 0, f"{type(node).__name__} is not allowed in the calculator"
    if isinstance(node, ast.Call):
        return _call_problem(node)
    if isinstance(node, ast.Attribute):
        name = dotted_name(node)
        parent = parents.get(node)
        if isinstance(parent, ast.Attribute | ast.Call) and (
            isinstance(parent, ast.Attribute) or parent.func is node
        ):
            return None  # part of a dotted function name, checked with the call
        if name is None or name not in CONSTANTS:
            return _attribute_problem(node.attr)
    if isinstance(node, ast.Subscript) and not isinstance(node.ctx, ast.Load):
        return 0, "assigning to an item is not allowed"
    if isinstance(node, ast.Constant) and not isinstance(
        node.value, int | float | str | type(None)
    ):
        return 0, f"the constant {node.value!r} is not available in the calculator"
    return None


def check_program(code: str) -> ast.Module:
    """Parse ``code`` and check that it stays inside the calculator's language.

    Raises:
        SandboxError: ``syntax`` or ``forbidden``, naming the line.
    """
    tree = _parse(code)
    _check_depth(tree)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    problems = []
    for order, node in enumerate(ast.walk(tree)):  # outermost first
        found = _problem(node, parents)
        if found is not None:
            line = getattr(node, "lineno", None) or getattr(parents.get(node), "lineno", 1)
            problems.append((found[0], line, order, found[1]))
    if problems:
        _, line, _, problem = min(problems)
        where = problem.find(";")
        message = (
            f"{problem} (line {line})"
            if where < 0
            else f"{problem[:where]} (line {line}){problem[where:]}"
        )
        raise SandboxError(message, reason="forbidden", line=line)
    return tree


def _shown(value: Any) -> Any:
    return value if isinstance(value, int | float | str | bool | type(None)) else str(value)


def run_sandboxed(code: str, *, timeout: float = 2.0, max_steps: int = 100_000) -> SandboxResult:
    """Check and evaluate ``code``; at most ``max_steps`` steps and ``timeout`` seconds.

    Raises:
        SandboxError: The program is refused (``syntax``, ``forbidden``), over a size bound
            (``limit``), runs too long (``timeout``), or raises (``error``).
    """
    tree = check_program(code)
    start = time.monotonic()
    output = io.StringIO()
    machine = Interpreter(
        max_steps=max_steps, deadline=start + timeout, output=output, max_output=MAX_OUTPUT
    )
    try:
        with decimal.localcontext(DECIMAL_CONTEXT):
            value = machine.run(tree)
    except OutOfSteps as exc:
        bound = f"{timeout:g}s" if exc.by_time else f"{max_steps} steps"
        raise SandboxError(
            f"the calculation did not finish within {bound} (an endless loop?); it was stopped "
            f"(line {machine.line})",
            reason="timeout",
            line=machine.line,
        ) from None
    except LimitError as exc:
        raise SandboxError(
            f"{exc} (line {machine.line})", reason="limit", line=machine.line
        ) from None
    except UserError as exc:
        raise SandboxError(
            f"the calculation failed: {exc} (line {machine.line})",
            reason="error",
            line=machine.line,
        ) from None
    except decimal.DecimalException as exc:
        raise SandboxError(
            f"the calculation failed: a Decimal operation signalled {type(exc).__name__} "
            f"(line {machine.line})",
            reason="error",
            line=machine.line,
        ) from None
    except (ArithmeticError, TypeError, ValueError, IndexError) as exc:
        raise SandboxError(
            f"the calculation failed: {type(exc).__name__}: {exc} (line {machine.line})",
            reason="error",
            line=machine.line,
        ) from None
    return SandboxResult(_shown(value), output.getvalue(), time.monotonic() - start)


_ARITHMETIC = re.compile(r"\d+(?:/\d+)?(?:\s*[-+×*÷]\s*\d+(?:/\d+)?)+")


def needs_calculation(text: str) -> str | None:
    """Code soliloquy's first step: does ``text`` ask for arithmetic? If so, the calculator
    program that computes it exactly (fractions as ``Fraction``); else None."""
    match = _ARITHMETIC.search(text)
    if match is None:
        return None
    expr = match.group(0).replace("×", "*").replace("÷", "/")
    return re.sub(r"(\d+)/(\d+)", r"Fraction(\1, \2)", expr)
