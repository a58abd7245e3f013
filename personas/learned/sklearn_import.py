"""The lazy import of scikit-learn, which only training and the learned models need."""

from __future__ import annotations

import importlib
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any

__all__ = ["EXTRA", "one_thread", "sklearn"]

EXTRA = "learn"


def sklearn(module: str) -> ModuleType:
    """``sklearn.<module>``, imported on first use.

    Raises:
        ImportError: scikit-learn is not installed; the message names the extra to install.
    """
    try:
        return importlib.import_module(f"sklearn.{module}")
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("sklearn"):
            raise
        raise ImportError(
            f"the learned decision models need scikit-learn: pip install 'lyceum[{EXTRA}]'"
        ) from None


def one_thread() -> AbstractContextManager[Any]:
    """Training runs with one BLAS/OpenMP thread: these problems are small, and on a shared
    machine many threads made a 0.1 s fit take 7 s (threadpoolctl, a scikit-learn
    dependency)."""
    sklearn("base")  # the ImportError naming the extra, if scikit-learn is missing
    from threadpoolctl import threadpool_limits

    limits: AbstractContextManager[Any] = threadpool_limits(limits=1)
    return limits
