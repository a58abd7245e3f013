"""``AutoGenModelClient``: any AutoGen ``ChatCompletionClient`` as a lyceum model client.

lyceum's chat turns become AutoGen ``SystemMessage`` / ``UserMessage`` /
``AssistantMessage``; AutoGen's ``CreateResult`` becomes a ``ModelResponse`` with its
``RequestUsage`` as ``Usage`` and the measured latency. Structured output
(``ModelRequest.response_schema``) goes the way the client's ``model_info`` allows:

- ``structured_output``: the pydantic type (``ModelRequest.output_type``) is passed as
  ``json_output=``, so the client constrains the reply to its schema;
- ``json_output`` only: ``json_output=True`` (JSON mode) and the schema written into the
  system message, as lyceum's ``prompt`` dialect writes it (``agents.models.dialects``);
- neither: the ``prompt`` dialect alone.

The reply is validated (and re-asked) by ``ctx.complete(..., output=...)`` as for every
client: the adapter is only a client, and the call goes through the run's gateway like any
other (budgeted, recorded, replayable). An exception from the AutoGen client becomes a
``ModelHTTPError`` (its HTTP status when the exception carries one), and so does an
``asyncio.CancelledError`` it raises while the call was not being cancelled (a real
cancellation of the call still propagates); a reply of function
calls (lyceum sends no tools) is an ``UnexpectedModelOutput``. Where real model requests
are blocked (the test suite), only AutoGen's in-process ``ReplayChatCompletionClient``
(or a client declared ``offline=True``) may be called.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from autogen_core.models import (
    AssistantMessage,
    ChatCompletionClient,
    CreateResult,
    LLMMessage,
    RequestUsage,
    SystemMessage,
    UserMessage,
)
from autogen_ext.models.replay import ReplayChatCompletionClient
from pydantic import BaseModel

from agents.models.base import (
    ModelClient,
    ModelRequest,
    ModelResponse,
    TextDelta,
    Usage,
    check_model_requests_allowed,
)
from agents.models.dialects import apply_dialect
from agents.models.usage import estimate_tokens
from protocols import LyceumError, ModelHTTPError, UnexpectedModelOutput

__all__ = ["AutoGenModelClient", "to_autogen_messages"]


def to_autogen_messages(turns: list[dict[str, Any]]) -> list[LLMMessage]:
    """lyceum chat turns (``{"role", "content"}``) as AutoGen ``LLMMessage`` objects; user
    turns get source ``"user"``, assistant turns source ``"assistant"``."""
    out: list[LLMMessage] = []
    for turn in turns:
        role, content = turn["role"], str(turn["content"])
        if role == "system":
            out.append(SystemMessage(content=content))
        elif role == "assistant":
            out.append(AssistantMessage(content=content, source="assistant"))
        else:
            out.append(UserMessage(content=content, source="user"))
    return out


def _cancelled_here() -> bool:
    """Whether the running task is being cancelled: a ``CancelledError`` is then ours to
    propagate; otherwise the AutoGen client raised it on its own."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _usage(reported: RequestUsage | None, request: ModelRequest, text: str) -> Usage:
    """AutoGen's count, or ``ceil(chars / 4)`` marked estimated when it reports zeros."""
    if reported is not None and (reported.prompt_tokens or reported.completion_tokens or not text):
        return Usage(
            prompt_tokens=reported.prompt_tokens, completion_tokens=reported.completion_tokens
        )
    return Usage(
        prompt_tokens=sum(estimate_tokens(m.content) for m in request.messages),
        completion_tokens=estimate_tokens(text),
        estimated=True,
    )


class AutoGenModelClient(ModelClient):
    """A lyceum ``ModelClient`` backed by any AutoGen ``ChatCompletionClient``.

    Use it wherever lyceum takes a client (``LLMMind(AutoGenModelClient(...))``); every call
    still goes through the run's gateway, so it is budgeted and recorded in the store.

    Args:
        client: The AutoGen client (``OpenAIChatCompletionClient``,
            ``ReplayChatCompletionClient``, ...). It is not closed by ``aclose``: whoever
            made it closes it.
        model: The model name recorded with each call; default: the client's class name.
        offline: Whether the client reaches no real model, so it may run where model
            requests are blocked (the test suite); default: only for AutoGen's
            ``ReplayChatCompletionClient``.
        forward_options: Pass the request's ``temperature``, ``max_tokens``, ``seed`` and
            ``stop`` as ``extra_create_args`` (the OpenAI names). Set False for a client
            that refuses them.

    Example:
        See docs/autogen.md.
    """

    def __init__(
        self,
        client: ChatCompletionClient,
        *,
        model: str | None = None,
        offline: bool | None = None,
        forward_options: bool = True,
    ) -> None:
        self.client = client
        self.offline = (
            isinstance(client, ReplayChatCompletionClient) if offline is None else offline
        )
        self.model = model or type(client).__name__
        self.forward_options = forward_options

    def describe(self) -> str:
        return f"AutoGenModelClient({type(self.client).__name__}: {self.model})"

    def _json_output(self, request: ModelRequest) -> bool | type[BaseModel] | None:
        """What to pass as ``json_output``: the output type, JSON mode, or nothing."""
        if request.response_schema is None:
            return None
        info = self.client.model_info
        if info.get("structured_output") and request.output_type is not None:
            return request.output_type
        return True if info.get("json_output") else None

    def _messages(self, request: ModelRequest, json_output: object) -> list[LLMMessage]:
        body: dict[str, Any] = {"messages": [m.model_dump() for m in request.messages]}
        if request.response_schema is not None and not isinstance(json_output, type):
            apply_dialect(body, request, "prompt")  # the schema goes into the prompt
        return to_autogen_messages(body["messages"])

    def _options(self, request: ModelRequest) -> Mapping[str, Any]:
        if not self.forward_options:
            return {}
        options: dict[str, Any] = {"temperature": request.temperature}
        if request.max_tokens is not None:
            options["max_tokens"] = request.max_tokens
        if request.seed is not None:
            options["seed"] = request.seed
        if request.stop:
            options["stop"] = list(request.stop)
        return options

    def _failed(self, exc: BaseException) -> ModelHTTPError:
        status = getattr(exc, "status_code", None)
        body = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return ModelHTTPError(
            f"{self.describe()} failed: {body[:300]}. Check the AutoGen client's "
            "configuration (model, endpoint, key) and its logs.",
            status=status if isinstance(status, int) else None,
            body=body[:2000],
        )

    def _response(self, result: CreateResult, request: ModelRequest, start: float) -> ModelResponse:
        if not isinstance(result.content, str):
            raise UnexpectedModelOutput(
                f"{self.describe()} answered with function calls ({result.content!r}), but "
                "lyceum sent no tools; expected text",
                raw=repr(result.content),
                errors=["function calls instead of text"],
            )
        return ModelResponse(
            text=result.content,
            model=self.model,
            usage=_usage(result.usage, request, result.content),
            latency_ms=(time.perf_counter() - start) * 1000,
            finish_reason=str(result.finish_reason),
        )

    def _check_allowed(self) -> None:
        if not self.offline:
            check_model_requests_allowed(type(self).__name__, self.describe())

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self._check_allowed()
        start = time.perf_counter()
        json_output = self._json_output(request)
        try:
            result = await self.client.create(
                self._messages(request, json_output),
                json_output=json_output,
                extra_create_args=self._options(request),
            )
        except LyceumError:
            raise
        except asyncio.CancelledError as exc:
            if _cancelled_here():
                raise
            raise self._failed(exc) from exc
        except Exception as exc:
            raise self._failed(exc) from exc
        return self._response(result, request, start)

    async def stream(self, request: ModelRequest) -> AsyncIterator[TextDelta | ModelResponse]:
        """Stream with the client's ``create_stream``: its text chunks as ``TextDelta``,
        then the final ``ModelResponse``."""
        self._check_allowed()
        start = time.perf_counter()
        json_output = self._json_output(request)
        final: CreateResult | None = None
        chunks = self.client.create_stream(
            self._messages(request, json_output),
            json_output=json_output,
            extra_create_args=self._options(request),
        )
        try:
            # Closed here, also when the reader stops early: the client's HTTP stream is
            # released now, not whenever the event loop finalizes the generator.
            async with contextlib.aclosing(chunks):
                async for chunk in chunks:
                    if isinstance(chunk, str):
                        yield TextDelta(text=chunk)
                    else:
                        final = chunk
        except LyceumError:
            raise
        except asyncio.CancelledError as exc:
            if _cancelled_here():
                raise
            raise self._failed(exc) from exc
        except Exception as exc:
            raise self._failed(exc) from exc
        if final is None:
            raise self._failed(RuntimeError("the stream ended without a final CreateResult"))
        yield self._response(final, request, start)
