"""Run-scoped correctness: a budget stop cancels the step's other agents and nothing is
recorded after the Stop; per-run agent state makes runs of one graph object, replays and
concurrent runs identical; bad budgets fail at construction; an observer's exception or a
runtime fault still ends the run with a typed Error and Stop."""

from __future__ import annotations

import math

import pytest

from agents import Budget
from protocols import UserError


# -- 3. budgets are validated when built; a runtime fault still ends the run ---------------
@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("turns", 2.5, r"Budget\.turns must be a whole number \(int\), got 2\.5\. .*turns=2\)"),
        ("turns", True, r"Budget\.turns must be a whole number \(int\), got True"),
        ("model_calls", 3.0, r"Budget\.model_calls must be a whole number \(int\), got 3\.0"),
        ("tokens", math.inf, r"Budget\.tokens must be a whole number \(int\), got inf"),
        ("turns", -1, r"Budget\.turns must be positive, got -1"),
        ("seconds", math.inf, r"Budget\.seconds must be finite, got inf"),
        ("seconds", math.nan, r"Budget\.seconds must be finite, got nan"),
        ("seconds", -0.5, r"Budget\.seconds must be positive, got -0\.5"),
        ("seconds", "60", r"Budget\.seconds must be a number of seconds, got '60'"),
        ("seconds", False, r"Budget\.seconds must be a number of seconds, got False"),
    ],
)
def test_a_budget_is_validated_when_it_is_built(field: str, value: object, expected: str) -> None:
    with pytest.raises(UserError, match=expected) as caught:
        Budget(**{field: value})  # type: ignore[arg-type]
    assert "Leave it out for the default" in str(caught.value)


def test_good_budgets_are_accepted() -> None:
    assert Budget(turns=1, model_calls=1, tokens=1, seconds=1).as_dict() == {
        "turns": 1,
        "model_calls": 1,
        "tokens": 1,
        "seconds": 1,
    }
    assert Budget(seconds=0.25).seconds == 0.25
