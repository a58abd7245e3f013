"""The calculator is an interpreter of a small arithmetic language: exact results, clear
refusals naming the line, and bounds that stop a program before it gets expensive."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from personas import SandboxError, calculator_tool, run_sandboxed
from personas.sandbox import MAX_SOURCE, needs_calculation
from personas.tools import Calculation


@pytest.mark.parametrize(
    ("code", "value", "output"),
    [
        ("Fraction(1, 3) + Fraction(1, 6)", "1/2", ""),
        ("total = 0\nfor i in range(1, 5):\n    total += i\nprint(total)\ntotal * 2", 20, "10\n"),
        ("math.gcd(12, 18)", 6, ""),
        ("gcd(12, 18) + lcm(4, 6)", 18, ""),
        ("x = 3", None, ""),
        ("Decimal('0.1') + Decimal('0.2')", "0.3", ""),
        ("Decimal(1) / Decimal(3)", "0.3333333333333333333333333333", ""),
        ("0.1 + 0.2", 0.30000000000000004, ""),
        ("7 // 2, 7 % 2, -7 // 2, 2 ** -1", "(3, 1, -4, 0.5)", ""),
        ("sqrt(16) + floor(2.7) + ceil(2.1)", 9.0, ""),
        ("round(Fraction(2, 3), 2)", "67/100", ""),
        ("Fraction('3/4') == Fraction(3, 4) and 1 < 2 <= 2", True, ""),
        ("a, b = 3, 4\nhypot(a, b)", 5.0, ""),
        (
            "xs = [x * x for x in range(6) if x % 2]\nxs[1:], sum(xs), len(xs)",
            "([9, 25], 35, 3)",
            "",
        ),
        ("sum(Fraction(1, n) for n in range(1, 4))", "11/6", ""),
        ("sum([1, 2], 10), sum(1, 2, 3), prod([2, 3, 4])", "(13, 6, 24)", ""),
        ("n = 0\nwhile True:\n    n += 1\n    if n == 4:\n        break\nn", 4, ""),
        ("min([3, 1, 2]), max(3, 9), sorted([3, 1, 2], reverse=True)", "(1, 9, [3, 2, 1])", ""),
        ("print(Fraction(1, 2), 'of', 4, sep=' ')", None, "1/2 of 4\n"),
        ("2 ** 100", 2**100, ""),
        ("factorial(20) // factorial(18)", 380, ""),
        ("math.pi > 3 if True else 0", True, ""),
    ],
)
def test_the_language_computes_exactly(code: str, value: object, output: str) -> None:
    result = run_sandboxed(code)
    assert (result.value, result.output) == (value, output)


@pytest.mark.parametrize(
    ("code", "reason", "message"),
    [
        ("import os", "forbidden", "imports are not allowed (line 1)"),
        ("from os import path", "forbidden", "imports are not allowed (line 1)"),
        (
            "x = 1\nopen('/etc/passwd').read()",
            "forbidden",
            "'open' is not available in the calculator (line 2); functions: Decimal, Fraction,",
        ),
        ("x = 1\n\nx.real", "forbidden", "attribute access is not allowed (.real) (line 3)"),
        ("eval('1+1')", "forbidden", "'eval' is not available in the calculator (line 1)"),
        ("def f():\n    return 1", "forbidden", "defining functions is not allowed (line 1)"),
        ("lambda: 1", "forbidden", "lambda is not allowed (line 1)"),
        ("f'{1}'", "forbidden", "f-strings are not allowed (line 1)"),
        ("{1: 2}", "forbidden", "dicts are not available in the calculator (line 1)"),
        ("x = [1]\nx[0] = 2", "forbidden", "assigning to an item is not allowed (line 2)"),
        ("x = (1", "syntax", "not valid Python: '(' was never closed (line 1)"),
        ("1 + " * 3000 + "1", "syntax", f"over the limit of {MAX_SOURCE}"),
        ("-" * 5000 + "1", "syntax", "the program is nested too deeply to parse (line 1)"),
        ("x = " + "[" * 120 + "]" * 120, "syntax", "nested more than 100 levels deep"),
        ("1 / 0", "error", "the calculation failed: ZeroDivisionError: division by zero (line 1)"),
        ("y = 2\ny + z", "error", "the calculation failed: the name 'z' is not defined (line 2)"),
        ("'a' * 3", "error", "strings cannot be calculated with"),
        ("x = 1\nbreak", "error", "'break' and 'continue' belong inside a loop (line 2)"),
        ("x = sqrt\n", "error", "'sqrt' is a function; call it, e.g. sqrt(...) (line 1)"),
        ("Fraction(1, 2) + Decimal(1)", "error", "TypeError: unsupported operand type(s) for +"),
        ("Decimal(10) ** 5000", "error", "a Decimal operation signalled Overflow (line 1)"),
        ("[0] * 10**10", "limit", "a list of 10000000000 items is over the limit of 100000"),
        (
            "10 ** 10 ** 8",
            "limit",
            "the power would have more than 10000 bits; it was not computed",
        ),
        ("1 << 10**8", "limit", "the shift would have more than 10000 bits; it was not computed"),
        ("range(10**9)", "limit", "a range of 1000000000 numbers is over the limit of 100000"),
        ("factorial(10**6)", "limit", "factorial is limited to arguments up to 1000"),
        ("(-8) ** (1 / 3)", "limit", "the result is a complex number"),
        ("[[0] * 100000 for i in range(100)]", "limit", "built more than 2000000 list items"),
    ],
)
def test_refusals_are_clear(code: str, reason: str, message: str) -> None:
    with pytest.raises(SandboxError) as info:
        run_sandboxed(code)
    assert (info.value.reason, message in str(info.value)) == (reason, True), str(info.value)


def test_an_endless_loop_is_stopped_by_the_step_bound_and_the_time_bound() -> None:
    with pytest.raises(SandboxError) as info:
        run_sandboxed("while True:\n    pass", max_steps=10_000)
    assert (info.value.reason, str(info.value)) == (
        "timeout",
        "the calculation did not finish within 10000 steps (an endless loop?); it was stopped "
        "(line 2)",
    )
    start = time.monotonic()
    with pytest.raises(SandboxError) as info:
        run_sandboxed("while True:\n    pass", timeout=0.2, max_steps=10**9)
    assert info.value.reason == "timeout" and "within 0.2s" in str(info.value)
    assert time.monotonic() - start < 2.0


def test_what_the_teacher_and_reviewer_generate_still_evaluates() -> None:
    assert needs_calculation("What is 2/3 × 3/4?") == "Fraction(2, 3) * Fraction(3, 4)"
    assert run_sandboxed(needs_calculation("What is 2/3 × 3/4?") or "").value == "1/2"
    assert run_sandboxed("(Fraction(1, 3) + Fraction(1, 6)) == (Fraction(1, 2))").value is True
    assert run_sandboxed("(3 * 4) == (13)").value is False


async def test_the_calculator_is_a_conceptual_tool() -> None:
    calculator = calculator_tool(timeout=1.0)
    done = await calculator(call_id="c1", code="Fraction(3, 4) - Fraction(1, 2)")
    assert (done.call_id, done.tool, done.output, done.error) == (
        "c1",
        "calculator",
        Calculation(value="1/4"),
        None,
    )
    refused = await calculator(call_id="c2", code="import socket")
    assert (refused.call_id, refused.tool, refused.output, refused.error) == (
        "c2",
        "calculator",
        Calculation(reason="forbidden"),
        "imports are not allowed (line 1)",
    )


TOKENS = [
    *("1", "0", "-1", "2", "10", "0.5", "1e308", "'1/3'", "'x'", "x", "y", "xs", "True", "None"),
    *("+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^", "~", "not", "and", "or"),
    *("<", "==", "in", "is", "(", ")", "[", "]", ",", ":", "=", " ", "\n", "\n    ", "if"),
    *("else", "for", "while", "break", "x = ", "xs = [1, 2]", "Fraction(", "Decimal(", "sqrt("),
    *("range(", "sum(", "max(", "round(", "pow(", "factorial(", "print(", "math.gcd(", "."),
    *("__class__", "gi_frame", "lambda", "import", "[x for x in xs]", "'{0}'", "\\"),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=30))
def test_any_input_gives_a_result_or_a_sandbox_error(tokens: list[str]) -> None:
    """Whatever the program, the calculator returns a result or raises SandboxError with a
    reason it documents, within its bounds: never another exception, never a hang."""
    try:
        result = run_sandboxed("".join(tokens), timeout=2.0)
    except SandboxError as error:
        assert error.reason in {"syntax", "forbidden", "limit", "timeout", "error"}
        assert "\n" not in str(error)
    else:
        assert result.seconds < 2.5
