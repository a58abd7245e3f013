"""The calculator's evaluator: walks a checked syntax tree node by node.

It only ever produces the calculator's values (numbers, strings from the program's own
constants, lists, tuples, None), looks names up in the program's own variables and the
fixed tables of ``personas.calc_functions``, and counts every step.
"""

from __future__ import annotations

import ast
import operator
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from personas.calc_functions import (
    CONSTANTS,
    FUNCTIONS,
    MAX_CELLS,
    LimitError,
    apply_binary,
    cells,
    check_value,
    iterate,
)
from protocols import UserError

__all__ = ["Interpreter", "OutOfSteps", "dotted_name"]

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in iterate(b),
    ast.NotIn: lambda a, b: a not in iterate(b),
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
    ast.Invert: operator.invert,
}


class OutOfSteps(Exception):
    """The step or time bound was reached."""

    def __init__(self, *, by_time: bool) -> None:
        self.by_time = by_time
        super().__init__("out of steps" if not by_time else "out of time")


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def dotted_name(node: ast.expr) -> str | None:
    """``"math.gcd"`` for the expression ``math.gcd``; None if it is not a dotted name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


class Interpreter:
    """Evaluates one checked program (one instance per run).

    Args:
        max_steps: How many nodes may be evaluated.
        deadline: A ``time.monotonic()`` value after which the run stops.
        output: Where ``print`` writes.
        max_output: How many characters of output are kept.
    """

    def __init__(self, *, max_steps: int, deadline: float, output: TextIO, max_output: int) -> None:
        self.max_steps = max_steps
        self.deadline = deadline
        self.output = output
        self.max_output = max_output
        self.steps = 0
        self.cells = 0
        self.line = 1
        self.scopes: list[dict[str, Any]] = [{}]

    def run(self, tree: ast.Module) -> Any:
        """The value of the last statement if it is an expression, else None."""
        body = tree.body
        last = body[-1] if body and isinstance(body[-1], ast.Expr) else None
        try:
            self.block(body[:-1] if last is not None else body)
        except (_Break, _Continue):
            raise UserError("'break' and 'continue' belong inside a loop") from None
        return None if last is None else self.expr(last.value)

    def _step(self, node: ast.AST) -> None:
        self.steps += 1
        self.line = getattr(node, "lineno", self.line)
        if self.steps > self.max_steps:
            raise OutOfSteps(by_time=False)
        if self.steps % 256 == 0 and time.monotonic() > self.deadline:
            raise OutOfSteps(by_time=True)

    # statements

    def block(self, body: list[ast.stmt]) -> None:
        for statement in body:
            self.statement(statement)

    def statement(self, node: ast.stmt) -> None:
        self._step(node)
        match node:
            case ast.Expr(value=value):
                self.expr(value)
            case ast.Assign(targets=targets, value=value):
                result = self.expr(value)
                for target in targets:
                    self.assign(target, result)
            case ast.AugAssign(target=ast.Name(id=name) as target, op=op, value=value):
                self.assign(target, apply_binary(type(op), self.lookup(name), self.expr(value)))
            case ast.If(test=test, body=body, orelse=orelse):
                self.block(body if self.expr(test) else orelse)
            case ast.For():
                self.loop_for(node)
            case ast.While():
                self.loop_while(node)
            case ast.Break():
                raise _Break
            case ast.Continue():
                raise _Continue
            case ast.Pass():
                pass
            case _:
                raise UserError(f"{type(node).__name__} is not allowed in the calculator")

    def loop_for(self, node: ast.For) -> None:
        for item in iterate(self.expr(node.iter)):
            self._step(node)
            self.assign(node.target, item)
            if not self._loop_body(node.body):
                return
        self.block(node.orelse)

    def loop_while(self, node: ast.While) -> None:
        while self.expr(node.test):
            if not self._loop_body(node.body):
                return
        self.block(node.orelse)

    def _loop_body(self, body: list[ast.stmt]) -> bool:
        """Run one pass of a loop's body; False if it ``break``s."""
        try:
            self.block(body)
        except _Break:
            return False
        except _Continue:
            pass
        return True

    def assign(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.scopes[-1][target.id] = value
        elif isinstance(target, ast.Tuple | ast.List):
            items = iterate(value)
            if len(items) != len(target.elts):
                raise UserError(f"cannot unpack {len(items)} values into {len(target.elts)}")
            for element, item in zip(target.elts, items, strict=True):
                self.assign(element, item)
        else:
            raise UserError("only names can be assigned to")

    def lookup(self, name: str) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS or name == "print":
            raise UserError(f"{name!r} is a function; call it, e.g. {name}(...)")
        raise UserError(f"the name {name!r} is not defined")

    def _built(self, value: Any) -> Any:
        """Charge a newly built value against the run's allocation bound."""
        self.cells += cells(value)
        if self.cells > MAX_CELLS:
            raise LimitError(
                f"the calculation built more than {MAX_CELLS} list items and number words; "
                "it was stopped"
            )
        return value

    # expressions

    def expr(self, node: ast.expr) -> Any:
        self._step(node)
        handler = _EXPRESSIONS.get(type(node))
        if handler is None:
            raise UserError(f"{type(node).__name__} is not allowed in the calculator")
        value = handler(self, node)
        return value if isinstance(node, _REUSED) else self._built(value)

    def _constant(self, node: ast.Constant) -> Any:
        return node.value

    def _name(self, node: ast.Name) -> Any:
        return self.lookup(node.id)

    def _attribute(self, node: ast.Attribute) -> Any:
        name = dotted_name(node)
        if name is None or name not in CONSTANTS:
            raise UserError(f"attribute access is not allowed (.{node.attr})")
        return CONSTANTS[name]

    def _binop(self, node: ast.BinOp) -> Any:
        return apply_binary(type(node.op), self.expr(node.left), self.expr(node.right))

    def _unary(self, node: ast.UnaryOp) -> Any:
        operand = self.expr(node.operand)
        if isinstance(operand, str):
            raise UserError("strings cannot be calculated with")
        return check_value(_UNARY[type(node.op)](operand))

    def _boolop(self, node: ast.BoolOp) -> Any:
        value: Any = None
        for operand in node.values:
            value = self.expr(operand)
            if bool(value) is isinstance(node.op, ast.Or):
                return value
        return value

    def _compare(self, node: ast.Compare) -> bool:
        left = self.expr(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.expr(comparator)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def _ifexp(self, node: ast.IfExp) -> Any:
        return self.expr(node.body) if self.expr(node.test) else self.expr(node.orelse)

    def _sequence(self, node: ast.List | ast.Tuple) -> Any:
        items = [self.expr(element) for element in node.elts]
        return check_value(items if isinstance(node, ast.List) else tuple(items))

    def _subscript(self, node: ast.Subscript) -> Any:
        container = self.expr(node.value)
        if not isinstance(container, list | tuple):
            raise UserError(f"only lists can be indexed, not {type(container).__name__}")
        if isinstance(node.slice, ast.Slice):
            parts = (node.slice.lower, node.slice.upper, node.slice.step)
            bounds = [None if part is None else self.expr(part) for part in parts]
            return container[slice(*bounds)]
        return container[self.expr(node.slice)]

    def _comprehension(self, node: ast.ListComp | ast.GeneratorExp) -> list[Any]:
        self.scopes.append({})
        try:
            items: list[Any] = check_value(list(self._generate(node.elt, node.generators)))
            return items
        finally:
            self.scopes.pop()

    def _generate(self, element: ast.expr, generators: list[ast.comprehension]) -> Iterator[Any]:
        first, rest = generators[0], generators[1:]
        if first.is_async:
            raise UserError("async comprehensions are not allowed")
        for item in iterate(self.expr(first.iter)):
            self.assign(first.target, item)
            if all(self.expr(condition) for condition in first.ifs):
                if rest:
                    yield from self._generate(element, rest)
                else:
                    yield self.expr(element)

    def _call(self, node: ast.Call) -> Any:
        name = dotted_name(node.func)
        args = [self.expr(arg) for arg in node.args]
        kwargs = {k.arg: self.expr(k.value) for k in node.keywords if k.arg is not None}
        if name == "print":
            self._print(args, kwargs)
            return None
        if name is None or name not in FUNCTIONS:
            raise UserError(f"{name!r} is not available in the calculator")
        return check_value(FUNCTIONS[name](*args, **kwargs))

    def _print(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        if self.output.tell() >= self.max_output:
            return  # the output is full; do not even format more
        sep, end = kwargs.pop("sep", " "), kwargs.pop("end", "\n")
        if kwargs or not isinstance(sep, str) or not isinstance(end, str):
            raise UserError("print takes values, and sep= and end= as strings")
        text = sep.join(str(arg) for arg in args) + end
        self.output.write(text[: self.max_output - self.output.tell()])


_REUSED = (ast.Constant, ast.Name, ast.Attribute, ast.IfExp, ast.BoolOp, ast.Compare)
_EXPRESSIONS: dict[type[ast.AST], Callable[[Interpreter, Any], Any]] = {
    ast.Constant: Interpreter._constant,
    ast.Name: Interpreter._name,
    ast.Attribute: Interpreter._attribute,
    ast.BinOp: Interpreter._binop,
    ast.UnaryOp: Interpreter._unary,
    ast.BoolOp: Interpreter._boolop,
    ast.Compare: Interpreter._compare,
    ast.IfExp: Interpreter._ifexp,
    ast.List: Interpreter._sequence,
    ast.Tuple: Interpreter._sequence,
    ast.Subscript: Interpreter._subscript,
    ast.ListComp: Interpreter._comprehension,
    ast.GeneratorExp: Interpreter._comprehension,
    ast.Call: Interpreter._call,
}
