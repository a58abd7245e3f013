"""Token counts for servers that do not report usage.

Some servers leave ``usage`` out (llama.cpp sends none in SSE streams, whatever
``stream_options`` asks), or report zeros. Budgets and the store still need a number, so
the client counts for itself and marks the result ``Usage(estimated=True)``:

- With a local tokenizer folder (``OpenAIChatClient(tokenizer=...)``), the model's own
  tokenizer counts: the prompt through the tokenizer's chat template when it has one
  (``apply_chat_template(..., add_generation_prompt=True)``), else the sum of the
  messages' contents; the reply as its text. Special tokens added by the tokenizer itself
  (a BOS) are not counted for the reply.
- Without one, an estimate: ``ceil(chars / 4)`` per message content and for the reply,
  the usual rule of thumb for English text with BPE tokenizers (OpenAI's "about four
  characters per token"). It is a stand-in for budgets, not a measurement.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agents.models.base import ChatMessage, Usage
from protocols import UserError

__all__ = ["TokenCounter", "chars_to_tokens", "estimate_tokens", "server_usage"]

CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """``ceil(len(text) / 4)``: the documented estimate when no tokenizer is known."""
    return chars_to_tokens(len(text))


def chars_to_tokens(chars: int) -> int:
    """``ceil(chars / 4)``: the estimate for a text of ``chars`` characters."""
    return math.ceil(chars / CHARS_PER_TOKEN)


def server_usage(usage: Mapping[str, Any] | None, text: str) -> Usage | None:
    """The usage a server reported, or None when it reported none (or zeros for a reply
    that has text, which no server that counts would send)."""
    if not usage:
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    if prompt + completion == 0 and text:
        return None
    return Usage(prompt_tokens=prompt, completion_tokens=completion)


class TokenCounter:
    """Counts a call's tokens with a local tokenizer, or estimates them.

    Args:
        tokenizer: A local folder with the model's tokenizer files (loaded with
            ``transformers.AutoTokenizer``, offline, on first use), or None for the
            ``ceil(chars / 4)`` estimate.
    """

    def __init__(self, tokenizer: str | Path | None = None) -> None:
        self.path = Path(tokenizer) if tokenizer is not None else None
        self._tokenizer: Any = None
        self._lock = asyncio.Lock()

    def _load(self) -> Any:
        assert self.path is not None
        if not self.path.is_dir():
            raise UserError(
                f"tokenizer={str(self.path)!r} is not a folder; give the local folder that "
                "holds the model's tokenizer files (tokenizer.json, tokenizer_config.json)"
            )
        try:
            from transformers import AutoTokenizer
        except ImportError as exc:  # pragma: no cover - the local extra is installed in CI
            raise ImportError(
                "counting tokens with a local tokenizer needs transformers: "
                "pip install 'lyceum[local]'"
            ) from exc
        return AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)

    def _count(self, messages: Sequence[ChatMessage], text: str) -> Usage:
        tok = self._tokenizer
        turns = [m.model_dump() for m in messages]
        if getattr(tok, "chat_template", None):
            ids = tok.apply_chat_template(turns, tokenize=True, add_generation_prompt=True)
            if isinstance(ids, Mapping):  # newer transformers return a BatchEncoding
                ids = ids["input_ids"]
            prompt = len(ids)
        else:
            prompt = sum(len(tok.encode(t["content"], add_special_tokens=False)) for t in turns)
        completion = len(tok.encode(text, add_special_tokens=False))
        return Usage(prompt_tokens=prompt, completion_tokens=completion, estimated=True)

    async def count(self, messages: Sequence[ChatMessage], text: str) -> Usage:
        """The call's usage, counted or estimated; always ``estimated=True``."""
        if self.path is None:
            return Usage(
                prompt_tokens=sum(estimate_tokens(m.content) for m in messages),
                completion_tokens=estimate_tokens(text),
                estimated=True,
            )
        async with self._lock:
            if self._tokenizer is None:
                self._tokenizer = await asyncio.to_thread(self._load)
        return await asyncio.to_thread(self._count, messages, text)
