"""Validation shared by the simulated minds' parameter records."""

from __future__ import annotations

from collections.abc import Mapping

from protocols import UserError

__all__ = ["check_fields"]


def check_fields(record: object, low: Mapping[str, float] | None = None) -> None:
    """Every field of a parameter dataclass must lie in [low, 1] (low is 0 unless ``low``
    names the field); the error names the class, the field and the value."""
    for name, value in vars(record).items():
        bottom = (low or {}).get(name, 0.0)
        if not bottom <= value <= 1.0:
            raise UserError(
                f"{type(record).__name__}.{name} must be in [{bottom:g}, 1], got {value!r}"
            )
