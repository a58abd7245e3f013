"""The calculation sandbox refuses what it must, clearly, and within its time limit."""

from __future__ import annotations

import time

import pytest

from personas import SandboxError, calculator_tool, run_sandboxed


def test_exact_arithmetic_and_small_programs() -> None:
    assert run_sandboxed("Fraction(1, 3) + Fraction(1, 6)").value == "1/2"
    result = run_sandboxed(
        "total = 0\nfor i in range(1, 5):\n    total += i\nprint(total)\ntotal * 2"
    )
    assert (result.value, result.output) == (20, "10\n")
    assert run_sandboxed("math.gcd(12, 18)").value == 6
    assert run_sandboxed("x = 3").value is None


@pytest.mark.parametrize(
    ("code", "reason", "message"),
    [
        ("import os", "forbidden", "imports are not allowed (line 1)"),
        ("from os import path", "forbidden", "imports are not allowed (line 1)"),
        (
            "x = 1\nopen('/etc/passwd').read()",
            "forbidden",
            "'open' is not available in the calculator (line 2)",
        ),
        ("().__class__.__bases__[0].__subclasses__()", "forbidden", "access to '__subclasses__'"),
        ("__import__('os').system('true')", "forbidden", "the name '__import__' is not allowed"),
        ("'{0.__class__}'.format(1)", "forbidden", "attribute access is allowed on 'math' only"),
        ("eval('1+1')", "forbidden", "'eval' is not available"),
        ("def f():\n    return 1", "forbidden", "defining functions is not allowed (line 1)"),
        ("lambda: 1", "forbidden", "lambda is not allowed"),
        ("x = (1", "syntax", "not valid Python"),
        ("1 / 0", "error", "ZeroDivisionError: division by zero"),
        ("[0] * 10**10", "error", "MemoryError"),
    ],
)
def test_refusals_are_clear(code: str, reason: str, message: str) -> None:
    with pytest.raises(SandboxError) as info:
        run_sandboxed(code)
    assert info.value.reason == reason
    assert message in str(info.value)


def test_an_endless_loop_is_stopped_within_the_time_limit() -> None:
    start = time.perf_counter()
    with pytest.raises(SandboxError) as info:
        run_sandboxed("while True:\n    pass", timeout=0.5)
    elapsed = time.perf_counter() - start
    assert info.value.reason == "timeout"
    assert "did not finish within 0.5s" in str(info.value)
    assert elapsed < 3.0  # the limit plus process start and kill, not the loop's lifetime


async def test_the_calculator_is_a_conceptual_tool() -> None:
    calculator = calculator_tool(timeout=1.0)
    assert await calculator(code="Fraction(3, 4) - Fraction(1, 2)") == {
        "value": "1/4",
        "output": "",
        "error": None,
        "reason": None,
    }
    refused = await calculator(code="import socket")
    assert refused["reason"] == "forbidden" and "imports are not allowed" in refused["error"]
