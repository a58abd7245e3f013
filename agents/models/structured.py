"""Structured output: validate a reply into a pydantic model, re-asking on failure.

Agents get structured output from ``ctx.complete(model, request, output=SomeModel)``, which
runs the loop below with every attempt going through the run's gateway (budgeted and
recorded). There is no client-side shortcut around the budget."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import json_repair
from pydantic import BaseModel, ValidationError

from agents.models.base import ModelRequest, ModelResponse
from protocols import UnexpectedModelOutput, UserError

__all__ = ["complete_structured", "parse_structured"]

T = TypeVar("T", bound=BaseModel)

REASK = (
    "Your reply did not validate against the required JSON schema:\n{error}\n"
    "Reply again with only a JSON object that fixes these errors."
)
MAX_REPAIR_CHARS = 20_000
"""Longer replies (about 5,000 tokens) are validated as they are, never repaired: repair
time grows faster than the text (20,000 ``{`` take 4 s), and a structured reply that long
is not a lapse in JSON."""
REASK_TEMPERATURE = 0.3  # the least temperature of a re-ask
REASK_STEP = 0.2  # added per further re-ask
REASK_MAX_TEMPERATURE = 1.0


def _repaired(text: str) -> Any:
    """What ``json-repair`` makes of ``text``: the JSON value in it (an object in prose or
    a fenced block, a raw newline in a string, trailing text), or ``""`` for none."""
    return json_repair.loads(text, skip_json_loads=False)


def parse_structured(text: str, output_type: type[T]) -> T:
    """Parse ``text`` into ``output_type``: lenient in what it accepts, strict in what it
    validates.

    The text is first validated as it is. When that fails, ``json-repair`` recovers the
    JSON value in it (control characters inside strings, an object inside prose or a
    ```json fence, trailing text, a missing closing brace), and the result is validated
    by pydantic exactly as strictly.

    Raises:
        ValidationError: When neither the text nor its repair validates; the error is the
            repaired value's when repair found an object, else the original text's.
    """
    try:
        return output_type.model_validate_json(text.strip())
    except ValidationError as strict:
        if len(text) > MAX_REPAIR_CHARS:
            raise strict from None
        try:
            value = _repaired(text)
        except (ValueError, TypeError, RecursionError):
            # json-repair gives up on some hostile texts (thousands of "{", deep nesting):
            # the reply is invalid, and is re-asked like any other.
            raise strict from None
        if not isinstance(value, dict | list):
            raise strict from None
        return output_type.model_validate(value)


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        loc = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"- {loc}: {item['msg']}")
    return "\n".join(parts)


def _reask(
    first: ModelRequest, previous: ModelRequest, reply: str, error: str, attempt: int
) -> ModelRequest:
    """The request for re-ask number ``attempt`` (1, 2, ...) after ``reply`` to
    ``previous`` failed; ``first`` is the structured call's first request.

    It differs from the one before in three ways, so that greedy decoding cannot answer
    the same text again: the reply and the validation error are appended as turns; the
    seed changes (``first.seed + attempt``; with no seed, one derived from the first
    request's hash); the temperature rises to at least 0.3, then by 0.2 per re-ask, up
    to 1.0 (a caller's temperature above 1.0 is kept, never lowered).
    """
    base = first.seed
    if base is None:
        base = int(first.request_hash("reask")[:8], 16)
    temperature = max(first.temperature, REASK_TEMPERATURE) + REASK_STEP * (attempt - 1)
    follow = previous.then(reply, REASK.format(error=error))
    return follow.model_copy(
        update={
            "seed": base + attempt,
            # capped at 1.0, but never below what the caller asked for
            "temperature": round(
                min(temperature, max(REASK_MAX_TEMPERATURE, first.temperature)), 6
            ),
        }
    )


async def complete_structured(
    complete: Callable[[ModelRequest], Awaitable[ModelResponse]],
    request: ModelRequest,
    output_type: type[T],
    *,
    max_retries: int = 2,
) -> tuple[T, list[ModelResponse]]:
    """Ask for a reply that validates as ``output_type``; re-ask on failure.

    Each re-ask feeds back the error and changes the request (a new seed and a higher
    temperature: ``seed + n``, ``max(t, 0.3) + 0.2 (n - 1)`` up to 1.0 for re-ask ``n``),
    so a greedy model does not answer the same text again.

    Args:
        complete: The call to make: the run's gateway bound to a client, so each attempt is
            budgeted and recorded (``RunContext.complete`` passes it).
        request: The request; its ``response_schema`` and ``output_type`` are set from
            ``output_type``.
        output_type: The pydantic model the reply must validate into.
        max_retries: How many times to re-ask after the first failure.

    Returns:
        The validated value and every response received, oldest first (so
        ``len(responses)`` is the number of attempts).

    Raises:
        UnexpectedModelOutput: After ``max_retries`` re-asks still fail; carries the raw text.
    """
    if max_retries < 0:
        raise UserError(f"max_retries must be >= 0, got {max_retries}")
    schema = output_type.model_json_schema()
    first = request.model_copy(update={"response_schema": schema, "output_type": output_type})
    request = first
    responses: list[ModelResponse] = []
    errors: list[str] = []
    for attempt in range(1, max_retries + 2):
        response = await complete(request)
        responses.append(response)
        try:
            return parse_structured(response.text, output_type), responses
        except ValidationError as exc:
            error = _describe(exc)
        except json.JSONDecodeError as exc:  # pragma: no cover - pydantic wraps these
            error = str(exc)
        errors.append(error)
        request = _reask(first, request, response.text, error, attempt)
    raise UnexpectedModelOutput(
        f"the model's reply did not validate as {output_type.__name__} after "
        f"{max_retries + 1} attempts; last error:\n{errors[-1]}\nraw reply: "
        f"{responses[-1].text[:500]!r}",
        raw=responses[-1].text,
        errors=errors,
    )
