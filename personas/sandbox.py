"""A sandbox for the tutor's calculations ("code soliloquy"): small arithmetic programs,
checked against a whitelist of Python syntax, run in a separate process with a time limit.

Allowed: numbers, strings, lists, tuples, dicts, sets, arithmetic and comparisons,
variables, ``if``/``for``/``while``, comprehensions, and calls of a few safe functions
(``abs min max round sum len range sorted int float str Fraction Decimal`` and ``math.*``).
Refused, with an error naming the line: ``import``, ``open`` and every other name not on
the list, names starting with ``_`` (dunder tricks), attribute access except on ``math``,
``def``, ``class``, ``lambda``, ``with``, ``try``, ``global``. A program that runs past
``timeout`` (an infinite loop) is killed; one that allocates more than 512 MB fails with
``MemoryError``. The value of the last expression is the result.
"""

from __future__ import annotations

import ast
import io
import math
import multiprocessing
import re
import time
from contextlib import redirect_stdout
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from multiprocessing.connection import Connection
from typing import Any

from protocols import UserError

__all__ = [
    "SAFE_NAMES",
    "SandboxError",
    "SandboxResult",
    "check_program",
    "needs_calculation",
    "run_sandboxed",
]

SAFE_FUNCTIONS: dict[str, Any] = {
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
    "sum": sum,
    "len": len,
    "range": range,
    "sorted": sorted,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "list": list,
    "tuple": tuple,
    "dict": dict,
    "set": set,
    "enumerate": enumerate,
    "zip": zip,
    "pow": pow,
    "divmod": divmod,
    "Fraction": Fraction,
    "Decimal": Decimal,
    "print": print,
    "math": math,
}
SAFE_NAMES = frozenset(SAFE_FUNCTIONS)

_ALLOWED = (
    ast.Module,
    ast.Expr,
    ast.Assign,
    ast.AugAssign,
    ast.AnnAssign,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Constant,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.keyword,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.Subscript,
    ast.Slice,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.comprehension,
    ast.For,
    ast.While,
    ast.If,
    ast.Break,
    ast.Continue,
    ast.Pass,
    ast.Attribute,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
    ast.expr_context,
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
}


class SandboxError(UserError):
    """A program was refused or failed.

    Attributes:
        reason: ``syntax``, ``forbidden``, ``timeout`` or ``error``.
        line: The offending line, when known.
    """

    def __init__(self, message: str, *, reason: str, line: int | None = None) -> None:
        self.reason = reason
        self.line = line
        super().__init__(message)


@dataclass(frozen=True)
class SandboxResult:
    """The value of the last expression (None if there is none), printed output, time."""

    value: Any
    output: str
    seconds: float


def _problem(node: ast.AST, assigned: set[str]) -> tuple[int, str] | None:
    """What is wrong with one node, with a rank: names and statements (0) are reported
    before attribute problems (1, 2), because they are the clearer explanation."""
    if type(node) in _WHY:
        return 0, _WHY[type(node)]
    if not isinstance(node, _ALLOWED):
        return 0, f"{type(node).__name__} is not allowed"
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            return (
                0,
                f"the name {node.id!r} is not allowed (names starting with '_' are off limits)",
            )
        if isinstance(node.ctx, ast.Load) and node.id not in SAFE_NAMES | assigned:
            return 0, (
                f"{node.id!r} is not available in the calculator; allowed: "
                f"{', '.join(sorted(SAFE_NAMES))}"
            )
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("_"):
            return 1, (
                f"access to {node.attr!r} is not allowed (names starting with '_' are off limits)"
            )
        if not (isinstance(node.value, ast.Name) and node.value.id == "math"):
            return 2, f"attribute access is allowed on 'math' only (.{node.attr})"
    return None


def check_program(code: str) -> ast.Module:
    """Parse ``code`` and check it against the whitelist; raises ``SandboxError``."""
    try:
        tree = ast.parse(code, mode="exec")
    except SyntaxError as exc:
        raise SandboxError(
            f"not valid Python: {exc.msg} (line {exc.lineno})", reason="syntax", line=exc.lineno
        ) from None
    assigned = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    problems = []
    for order, node in enumerate(ast.walk(tree)):  # outermost first
        found = _problem(node, assigned)
        if found is not None:
            problems.append((found[0], order, getattr(node, "lineno", 0) or 0, found[1]))
    if problems:
        _, _, line, message = min(problems)
        where = message.find(";")
        message = (
            f"{message} (line {line})"
            if where < 0
            else f"{message[:where]} (line {line}){message[where:]}"
        )
        raise SandboxError(message, reason="forbidden", line=line or None)
    return tree


MEMORY_MB = 512


def _limit_memory(extra_mb: int) -> None:
    """Cap the sandbox process's address space at its current size plus ``extra_mb``."""
    try:
        import resource

        with open("/proc/self/status") as status:
            size_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize"))
        limit = (size_kb + extra_mb * 1024) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, OSError, StopIteration, ValueError):  # not Linux: time limit only
        pass


def _child(tree: ast.Module, conn: Connection) -> None:
    """Runs in the sandbox process: execute, send back (ok, value or error, output)."""
    _limit_memory(MEMORY_MB)
    namespace: dict[str, Any] = {"__builtins__": {}, **SAFE_FUNCTIONS}
    out = io.StringIO()
    last = tree.body[-1] if tree.body else None
    try:
        with redirect_stdout(out):
            if isinstance(last, ast.Expr):
                body = ast.Module(body=tree.body[:-1], type_ignores=[])
                exec(compile(body, "<calculation>", "exec"), namespace)
                value = eval(
                    compile(ast.Expression(last.value), "<calculation>", "eval"),
                    namespace,
                )
            else:
                exec(compile(tree, "<calculation>", "exec"), namespace)
                value = None
        conn.send(
            (
                True,
                value if isinstance(value, int | float | str | bool | type(None)) else str(value),
                out.getvalue()[:10_000],
            )
        )
    except Exception as exc:  # noqa: BLE001 - reported to the caller as a SandboxError
        conn.send((False, f"{type(exc).__name__}: {exc}", out.getvalue()[:10_000]))


def run_sandboxed(code: str, *, timeout: float = 2.0) -> SandboxResult:
    """Check and run ``code`` in a separate process; at most ``timeout`` seconds.

    Raises:
        SandboxError: The program is refused (``forbidden``, ``syntax``), runs too long
            (``timeout``), or raises (``error``).
    """
    tree = check_program(code)
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(tree, send), daemon=True)
    start = time.perf_counter()
    process.start()
    send.close()
    try:
        if not receive.poll(timeout):
            process.kill()
            raise SandboxError(
                f"the calculation did not finish within {timeout:g}s (an "
                "endless loop?); it was stopped",
                reason="timeout",
            )
        ok, value, output = receive.recv()
    finally:
        process.join(timeout=5)
        receive.close()
    if not ok:
        raise SandboxError(f"the calculation failed: {value}", reason="error")
    return SandboxResult(value, output, time.perf_counter() - start)


_ARITHMETIC = re.compile(r"\d+(?:/\d+)?(?:\s*[-+×*÷]\s*\d+(?:/\d+)?)+")


def needs_calculation(text: str) -> str | None:
    """Code soliloquy's first step: does ``text`` ask for arithmetic? If so, the sandbox
    program that computes it exactly (fractions as ``Fraction``); else None."""
    match = _ARITHMETIC.search(text)
    if match is None:
        return None
    expr = match.group(0).replace("×", "*").replace("÷", "/")
    return re.sub(r"(\d+)/(\d+)", r"Fraction(\1, \2)", expr)
