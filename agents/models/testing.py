"""Test doubles that ship with the library: ``FunctionModel`` and ``ReplayModel``.

They implement the same ``ModelClient`` interface as the real clients, so a graph runs
unchanged on a function of the prompt or on a fixed list of replies::

    >>> import asyncio
    >>> from agents.models import FunctionModel, ModelRequest
    >>> echo = FunctionModel(lambda request: request.messages[-1].content.upper())
    >>> asyncio.run(echo.complete(ModelRequest.of("hi"))).text
    'HI'
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from agents.models.base import ModelClient, ModelRequest, ModelResponse, TextDelta, Usage
from protocols import UserError

__all__ = ["FunctionModel", "ReplayModel", "count_tokens"]

ReplyFn = Callable[[ModelRequest], "str | ModelResponse | Awaitable[str | ModelResponse]"]
ScoreFn = Callable[[str, Sequence[str]], Sequence[float]]


def count_tokens(text: str) -> int:
    """Whitespace token count: the usage doubles report (real clients report the backend's)."""
    return len(text.split())


def _response(model: str, request: ModelRequest, reply: str | ModelResponse) -> ModelResponse:
    if isinstance(reply, ModelResponse):
        return reply
    if not isinstance(reply, str):
        raise UserError(
            f"a FunctionModel function must return str or ModelResponse, got "
            f"{type(reply).__name__}: {reply!r}"
        )
    prompt_tokens = sum(count_tokens(m.content) for m in request.messages)
    return ModelResponse(
        text=reply,
        model=model,
        usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=count_tokens(reply)),
        finish_reason="stop",
    )


async def _stream_words(response: ModelResponse) -> AsyncIterator[TextDelta | ModelResponse]:
    words = response.text.split(" ")
    for i, word in enumerate(words):
        yield TextDelta(text=word if i == 0 else " " + word)
    yield response


class FunctionModel(ModelClient):
    """A model whose reply is ``fn(request)``; ``fn`` may be sync or async.

    Args:
        fn: Returns the reply text (or a full ``ModelResponse``).
        model: Name recorded with each call.
        scorer: ``scorer(prompt, continuations)`` gives each continuation's
            log-probability, for ``score``; without it the model does not score.
    """

    def __init__(
        self, fn: ReplyFn, *, model: str = "function", scorer: ScoreFn | None = None
    ) -> None:
        self._fn = fn
        self._scorer = scorer
        self.model = model
        self.calls: list[ModelRequest] = []
        self.scored: list[tuple[str, tuple[str, ...]]] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.calls.append(request)
        reply = self._fn(request)
        if inspect.isawaitable(reply):
            reply = await reply
        return _response(self.model, request, reply)

    async def stream(self, request: ModelRequest) -> AsyncIterator[TextDelta | ModelResponse]:
        async for piece in _stream_words(await self.complete(request)):
            yield piece

    async def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        if self._scorer is None:
            raise NotImplementedError(
                "FunctionModel does not support logprob scoring; pass scorer=... to it"
            )
        self.scored.append((prompt, tuple(continuations)))
        return [float(s) for s in self._scorer(prompt, continuations)]


class ReplayModel(ModelClient):
    """A model that returns ``replies`` in order, then fails loudly.

    Args:
        replies: Reply texts or responses, served one per call.
        model: Name recorded with each call.
    """

    def __init__(self, replies: Sequence[str | ModelResponse], *, model: str = "replay") -> None:
        self._replies = list(replies)
        self.model = model
        self.calls: list[ModelRequest] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        if len(self.calls) >= len(self._replies):
            raise UserError(
                f"ReplayModel ran out of replies: it was given {len(self._replies)} and this is "
                f"call {len(self.calls) + 1}. Last prompt: "
                f"{request.messages[-1].content[:200]!r}. Add replies or check for extra calls."
            )
        reply = self._replies[len(self.calls)]
        self.calls.append(request)
        return _response(self.model, request, reply)

    async def stream(self, request: ModelRequest) -> AsyncIterator[TextDelta | ModelResponse]:
        async for piece in _stream_words(await self.complete(request)):
            yield piece
