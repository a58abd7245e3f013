"""The calculator's values, size bounds and its fixed table of functions.

Values are numbers (``int``, ``bool``, ``Fraction``, ``Decimal``, ``float``), string
constants (only as arguments of ``Fraction``, ``Decimal`` and ``print``), ``None``, and lists
and tuples of values. Every operation that could build a huge value is checked *before* it
runs (``10**10**8``, ``1 << 10**9``, ``[0] * 10**10``, ``factorial(10**6)``), and every value
an operation returns is checked after (integer and fraction bit length, list length).

Functions are Python callables chosen here, called by name (``sqrt(2)``) or by their dotted
name (``math.sqrt(2)``: a lookup of the string ``"math.sqrt"`` in this table, not attribute
access). Nothing else is reachable: no attributes, no builtins, no modules.
"""

from __future__ import annotations

import ast
import decimal
import math
import operator
import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from functools import reduce
from typing import Any

from protocols import UserError

__all__ = [
    "CONSTANTS",
    "DECIMAL_CONTEXT",
    "FUNCTIONS",
    "MAX_BITS",
    "MAX_CELLS",
    "MAX_ITEMS",
    "LimitError",
    "apply_binary",
    "check_value",
]

MAX_BITS = 10_000  # about 3,000 decimal digits, for integers, numerators and denominators
MAX_ITEMS = 100_000  # list and tuple length
MAX_CELLS = 2_000_000  # list slots and 64-bit words of numbers built in one run, in all
MAX_STRING = 200  # a string argument of Fraction or Decimal

# Decimals keep the default 28 digits of precision; the exponent is bounded so that a
# Decimal converts to an integer of at most MAX_BITS bits; overflow and invalid operations
# raise instead of producing Infinity or NaN.
DECIMAL_CONTEXT = decimal.Context(
    prec=28,
    Emax=3000,
    Emin=-3000,
    traps=[decimal.Overflow, decimal.InvalidOperation, decimal.DivisionByZero],
)


class LimitError(UserError):
    """A value or operation over the calculator's size bounds."""


def _bits(value: Any) -> int:
    if isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return value.bit_length()
    if isinstance(value, Fraction):
        return max(value.numerator.bit_length(), value.denominator.bit_length())
    if isinstance(value, Decimal) and value.is_finite():
        return int(max(value.adjusted(), 0) * 3.33) + 1
    return 1


def cells(value: Any) -> int:
    """What building ``value`` costs against ``MAX_CELLS`` (its items are already paid for)."""
    if isinstance(value, list | tuple):
        return len(value) + 1
    return _bits(value) // 64 + 1


def check_value(value: Any) -> Any:
    """``value`` itself, if it is within the bounds; raises ``LimitError`` otherwise. (A list's
    items were checked when they were built.)"""
    if isinstance(value, list | tuple):
        if len(value) > MAX_ITEMS:
            raise LimitError(f"a list of {len(value)} items is over the limit of {MAX_ITEMS}")
    elif isinstance(value, complex):
        raise LimitError("the result is a complex number, which the calculator does not use")
    elif _bits(value) > MAX_BITS:
        raise LimitError(f"a number of about {_bits(value)} bits is over the limit of {MAX_BITS}")
    return value


def _too_big(what: str) -> None:
    raise LimitError(f"{what} would have more than {MAX_BITS} bits; it was not computed")


def _check_power(base: Any, exponent: Any) -> None:
    if not (isinstance(base, int | Fraction) and isinstance(exponent, int | Fraction)):
        return  # floats overflow to an error quickly; decimals are bounded by their context
    size: int = max(abs(base.numerator), base.denominator)
    steps: int | Fraction = -exponent if exponent < 0 else exponent
    if size > 1 and (steps > MAX_BITS or math.log2(size) * float(steps) > MAX_BITS):
        _too_big("the power")


def _check_before(op: type[ast.operator], left: Any, right: Any) -> None:
    if isinstance(left, str) or isinstance(right, str):
        raise UserError(
            "strings cannot be calculated with; they are only arguments of Fraction, Decimal "
            "and print"
        )
    if op is ast.Pow:
        _check_power(left, right)
    elif op is ast.LShift and isinstance(right, int) and _bits(left) + right > MAX_BITS:
        _too_big("the shift")
    elif op is ast.Mult:
        sequence, count = (left, right) if isinstance(left, list | tuple) else (right, left)
        if isinstance(sequence, list | tuple) and isinstance(count, int):
            if len(sequence) * count > MAX_ITEMS:
                raise LimitError(
                    f"a list of {len(sequence) * count} items is over the limit of {MAX_ITEMS}"
                )
        elif (
            isinstance(left, int | Fraction)
            and isinstance(right, int | Fraction)
            and _bits(left) + _bits(right) > MAX_BITS + 1
        ):
            _too_big("the product")


# The binary operators, keyed by the ast operator class.
BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
}


def apply_binary(op: type[ast.operator], left: Any, right: Any) -> Any:
    """``left <op> right`` with the size checks before and after."""
    if op not in BINARY:
        raise UserError(f"the operator {op.__name__} is not available in the calculator")
    _check_before(op, left, right)
    return check_value(BINARY[op](left, right))


def _numbers(args: tuple[Any, ...]) -> list[Any]:
    """The arguments of sum/min/max/prod: one list, or the numbers themselves."""
    items = list(args[0]) if len(args) == 1 and isinstance(args[0], list | tuple) else list(args)
    if not items and len(args) != 1:
        raise UserError("expected at least one number")
    return items


def _sum(*args: Any, start: Any = 0) -> Any:
    items = args
    if len(args) == 2 and isinstance(args[0], list | tuple):  # sum(items, start)
        items, start = args[:1], args[1]
    return reduce(lambda a, b: apply_binary(ast.Add, a, b), _numbers(items), start)


def _prod(*args: Any, start: Any = 1) -> Any:
    return reduce(lambda a, b: apply_binary(ast.Mult, a, b), _numbers(args), start)


def _min(*args: Any) -> Any:
    return min(_numbers(args))


def _max(*args: Any) -> Any:
    return max(_numbers(args))


def _sorted(items: list[Any] | tuple[Any, ...], *, reverse: bool = False) -> list[Any]:
    return sorted(items, reverse=bool(reverse))


def _range(*args: int) -> list[int]:
    span = range(*args)
    if len(span) > MAX_ITEMS:
        raise LimitError(f"a range of {len(span)} numbers is over the limit of {MAX_ITEMS}")
    return list(span)


def _round(value: Any, ndigits: int | None = None) -> Any:
    if ndigits is not None and not -1000 <= ndigits <= 1000:
        raise LimitError(f"round to {ndigits} digits is over the limit of 1000")
    return round(value) if ndigits is None else round(value, ndigits)


def _pow(base: Any, exponent: Any, modulus: int | None = None) -> Any:
    if modulus is None:
        return apply_binary(ast.Pow, base, exponent)
    return pow(base, exponent, modulus)


def _bounded_int(name: str, bound: int, fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        if any(isinstance(a, int) and abs(a) > bound for a in args):
            raise LimitError(f"{name} is limited to arguments up to {bound}")
        return fn(*args)

    return call


_EXPONENT = re.compile(r"e([-+]?\d+)", re.I)


def _string(value: str, what: str) -> str:
    exponent = _EXPONENT.search(value)
    if len(value) > MAX_STRING or (exponent and abs(int(exponent.group(1))) > 3000):
        raise LimitError(f"{what}({value[:40]!r}...) is over the calculator's size limits")
    return value


def _fraction(numerator: Any = 0, denominator: Any = None) -> Fraction:
    if isinstance(numerator, str):
        numerator = _string(numerator, "Fraction")
    if isinstance(numerator, float | Decimal) and not _is_finite(numerator):
        raise UserError(f"Fraction({numerator}) is not a number")
    return Fraction(numerator) if denominator is None else Fraction(numerator, denominator)


def _is_finite(value: float | Decimal) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def _decimal(value: Any = "0") -> Decimal:
    if isinstance(value, str):
        value = _string(value, "Decimal")
    if isinstance(value, Fraction):
        return DECIMAL_CONTEXT.divide(Decimal(value.numerator), Decimal(value.denominator))
    return DECIMAL_CONTEXT.create_decimal(value)


def _int(value: Any = 0) -> int:
    if isinstance(value, str):
        value = _string(value, "int")
    return int(value)


_MATH = [
    "sqrt",
    "isqrt",
    "gcd",
    "lcm",
    "floor",
    "ceil",
    "trunc",
    "log",
    "log2",
    "log10",
    "exp",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sinh",
    "cosh",
    "tanh",
    "hypot",
    "degrees",
    "radians",
    "fabs",
    "copysign",
    "isclose",
    "isfinite",
    "isnan",
    "dist",
    "fsum",
]

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "min": _min,
    "max": _max,
    "round": _round,
    "sum": _sum,
    "prod": _prod,
    "len": len,
    "range": _range,
    "sorted": _sorted,
    "list": list,
    "int": _int,
    "float": float,
    "bool": bool,
    "pow": _pow,
    "divmod": divmod,
    "Fraction": _fraction,
    "Decimal": _decimal,
    "factorial": _bounded_int("factorial", 1000, math.factorial),
    "comb": _bounded_int("comb", 5000, math.comb),
    "perm": _bounded_int("perm", 5000, math.perm),
    **{name: getattr(math, name) for name in _MATH},
}
# ``math.sqrt(2)`` names the same function as ``sqrt(2)``.
FUNCTIONS.update(
    {f"math.{name}": FUNCTIONS[name] for name in [*_MATH, "factorial", "comb", "perm", "prod"]}
)
FUNCTIONS.update({"math.pow": math.pow, "fractions.Fraction": _fraction})
FUNCTIONS["decimal.Decimal"] = _decimal

CONSTANTS: dict[str, Any] = {
    "pi": math.pi,
    "e": math.e,
    "tau": math.tau,
    "inf": math.inf,
    "True": True,
    "False": False,
    "None": None,
}
CONSTANTS.update({f"math.{name}": CONSTANTS[name] for name in ("pi", "e", "tau", "inf")})


def iterate(value: Any) -> list[Any]:
    """What a ``for`` loop or comprehension may iterate over: the calculator's lists."""
    if not isinstance(value, list | tuple):
        raise UserError(f"only lists can be looped over, not {type(value).__name__}")
    return list(value)
