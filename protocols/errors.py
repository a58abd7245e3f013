"""The error tree, organised by who is to blame and in which phase.

Every message says what went wrong, shows the offending value and says how to fix it::

    LyceumError
    ├── UserError              a developer mistake in Python code (bad argument, budget of 0)
    │   ├── GraphBuildError    an agent graph that cannot run (unknown agent, edge or kind)
    │   └── ModelRequestsBlocked  a real model call where requests are forbidden (tests)
    ├── ConfigError            a bad file: carries ``path``, ``line`` and ``field``
    ├── StoreError             the run store cannot be opened or written
    ├── ModelHTTPError         a model endpoint failed for good: ``status`` and ``body``
    ├── UnexpectedModelOutput  a model reply that never validated: carries ``raw``
    └── BudgetExceeded         a run budget ran out: ``resource``, ``used``, ``limit``
"""

from __future__ import annotations

__all__ = [
    "BudgetExceeded",
    "ConfigError",
    "GraphBuildError",
    "LyceumError",
    "ModelHTTPError",
    "ModelRequestsBlocked",
    "StoreError",
    "UnexpectedModelOutput",
    "UserError",
    "shorten",
]


def shorten(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for showing a value in an error."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}...({len(text)} characters)"


class LyceumError(Exception):
    """Base class of every error lyceum raises on purpose."""


class UserError(LyceumError):
    """The calling code did something lyceum cannot do; the message says how to fix it."""


class GraphBuildError(UserError):
    """An agent graph is invalid. Raised when the graph is built, never mid-run."""


class ModelRequestsBlocked(UserError):
    """A real model request was attempted where model requests are forbidden (tests)."""


class ConfigError(LyceumError):
    """A configuration file is invalid.

    Attributes:
        path: The file, if the configuration came from one.
        line: The 1-based line of the offending value, when known.
        field: The dotted path of the offending field, when known.
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.problem = problem
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        at = f"field '{field}': " if field else ""
        super().__init__(f"{where}{at}{problem}")


class StoreError(LyceumError):
    """The run store could not be opened, migrated or written."""


class ModelHTTPError(LyceumError):
    """A model endpoint failed after all retries.

    Attributes:
        status: The HTTP status of the last attempt, or None when no response arrived
            (connection refused, timeout).
        body: The (truncated) body of the last response, or the transport error text.
        attempts: How many attempts were made.
    """

    def __init__(self, message: str, *, status: int | None, body: str, attempts: int = 1) -> None:
        self.status = status
        self.body = body
        self.attempts = attempts
        super().__init__(message)


class UnexpectedModelOutput(LyceumError):
    """A model reply could not be validated, even after re-asking.

    Attributes:
        raw: The raw text of the last reply.
        errors: The validation error text of each attempt, oldest first.
    """

    def __init__(self, message: str, *, raw: str, errors: list[str]) -> None:
        self.raw = raw
        self.errors = errors
        super().__init__(message)


class BudgetExceeded(LyceumError):
    """A run budget ran out. The runtime turns this into a typed ``Stop`` message."""

    def __init__(self, resource: str, used: float, limit: float) -> None:
        self.resource = resource
        self.used = used
        self.limit = limit
        super().__init__(f"budget exhausted: {resource} used {used:g} of {limit:g}")
