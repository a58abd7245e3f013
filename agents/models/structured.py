"""Structured output: validate a reply into a pydantic model, re-asking on failure.

Agents get structured output from ``ctx.complete(model, request, output=SomeModel)``, which
runs the loop below with every attempt going through the run's gateway (budgeted and
recorded). There is no client-side shortcut around the budget."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from agents.models.base import ModelRequest, ModelResponse
from protocols import UnexpectedModelOutput, UserError

__all__ = ["complete_structured", "parse_structured"]

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)

REASK = (
    "Your reply did not validate against the required JSON schema:\n{error}\n"
    "Reply again with only a JSON object that fixes these errors."
)


def parse_structured(text: str, output_type: type[T]) -> T:
    """Parse ``text`` (JSON, optionally in a ```json fence) into ``output_type``.

    Raises:
        ValidationError: When the text is not valid JSON for the model.
    """
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1)
    return output_type.model_validate_json(stripped)


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        loc = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"- {loc}: {item['msg']}")
    return "\n".join(parts)


async def complete_structured(
    complete: Callable[[ModelRequest], Awaitable[ModelResponse]],
    request: ModelRequest,
    output_type: type[T],
    *,
    max_retries: int = 2,
) -> tuple[T, list[ModelResponse]]:
    """Ask for a reply that validates as ``output_type``; re-ask with the error on failure.

    Args:
        complete: The call to make: the run's gateway bound to a client, so each attempt is
            budgeted and recorded (``RunContext.complete`` passes it).
        request: The request; its ``response_schema`` and ``output_type`` are set from
            ``output_type``.
        output_type: The pydantic model the reply must validate into.
        max_retries: How many times to re-ask after the first failure.

    Returns:
        The validated value and every response received, oldest first.

    Raises:
        UnexpectedModelOutput: After ``max_retries`` re-asks still fail; carries the raw text.
    """
    if max_retries < 0:
        raise UserError(f"max_retries must be >= 0, got {max_retries}")
    schema = output_type.model_json_schema()
    request = request.model_copy(update={"response_schema": schema, "output_type": output_type})
    responses: list[ModelResponse] = []
    errors: list[str] = []
    for _ in range(max_retries + 1):
        response = await complete(request)
        responses.append(response)
        try:
            return parse_structured(response.text, output_type), responses
        except ValidationError as exc:
            error = _describe(exc)
        except json.JSONDecodeError as exc:  # pragma: no cover - pydantic wraps these
            error = str(exc)
        errors.append(error)
        request = request.then(response.text, REASK.format(error=error))
    raise UnexpectedModelOutput(
        f"the model's reply did not validate as {output_type.__name__} after "
        f"{max_retries + 1} attempts; last error:\n{errors[-1]}\nraw reply: "
        f"{responses[-1].text[:500]!r}",
        raw=responses[-1].text,
        errors=errors,
    )
