"""Constrained decoding for ``TransformersClient``: a JSON schema becomes a grammar that
masks the logits, so even a base model (or random weights) writes schema-valid JSON.

The grammar engine is **llguidance** (``pip install 'lyceum[local]'``). It was chosen over
xgrammar and outlines-core after measuring all three on CPU here (torch 2.13.0+cpu,
transformers 5.24, Gemma 3 270M, vocabulary 262,144; a 2-core shared machine, so the times
are indicative):

============================  ===============  ===============  ==================
                              llguidance 1.9   xgrammar 0.2.9   outlines-core 0.2
============================  ===============  ===============  ==================
installs on CPU               1 wheel, no deps needs triton     1 wheel, but no HF
                                               (286 MB) and     tokenizer adapter
                                               apache-tvm-ffi   (vocab hand-built)
compile, per pydantic schema  2-17 ms          90-210 ms        2.3-63 s
mask + advance, batch of 4    ~0.7 ms/token    ~0.6 ms/token    ~39 ms/token
$defs/$ref, anyOf null, enum,
discriminated oneOf + const   all compile      all compile      all (regex; no
                                                                recursion)
maintenance                   Microsoft; in    MLC; in vLLM,    dottxt; the regex
                              vLLM, SGLang,    SGLang           engine behind
                              llama.cpp                         outlines
============================  ===============  ===============  ==================

Both llguidance and xgrammar compute a batch's masks in under a millisecond per token, next
to a forward pass of Gemma on CPU of a few hundred ms; xgrammar's hard dependency on triton
(a GPU compiler) decided against it for a CPU install. Masks are applied here with numpy's
``unpackbits`` rather than the libraries' ``torch.compile`` kernels, which need a C++
toolchain at run time on CPU.

Two restrictions keep a base model from looping until it runs out of tokens, without ever
admitting an invalid value: whitespace is not flexible (compact JSON), and a ``number``
without ``multipleOf`` is written in decimal notation with at most ``NUMBER_DECIMALS``
decimals (greedy Gemma otherwise writes ``0.0000…`` for a confidence). Against a greedy
base model repeating an array item, ``TransformersClient(repetition_penalty=1.3)`` helps.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from protocols import UserError

__all__ = ["JsonGrammar", "SchemaLogitsProcessor"]

log = logging.getLogger(__name__)

_OPTIONS = {"whitespace_flexible": False}
NUMBER_DECIMALS = 4
"""Most decimals of a generated ``number`` whose schema sets no ``multipleOf``."""


def _bounded_numbers(node: Any) -> Any:
    """``node`` (a JSON schema, or part of one) with ``multipleOf`` on every ``number``."""
    if isinstance(node, list):
        return [_bounded_numbers(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _bounded_numbers(value) for key, value in node.items()}
    kind = node.get("type")
    is_number = kind == "number" or (isinstance(kind, list) and "number" in kind)
    if is_number and "multipleOf" not in node:
        out["multipleOf"] = 10**-NUMBER_DECIMALS
    return out


def _import() -> Any:
    try:
        import llguidance
        import llguidance.hf
    except ImportError as exc:
        raise ImportError(
            "TransformersClient needs llguidance to honour response_schema "
            f"({exc.name} is missing). Install it with: pip install 'lyceum[local]'"
        ) from exc
    return llguidance


@lru_cache(maxsize=64)
def _compile(schema_json: str) -> str:
    llg = _import()
    return str(llg.LLMatcher.grammar_from_json_schema(schema_json, defaults=_OPTIONS))


class JsonGrammar:
    """Compiles JSON schemas against one tokenizer and makes a matcher per generated row.

    Args:
        tokenizer: A fast Hugging Face tokenizer.
        vocab_size: The model's logits width (may exceed the tokenizer's vocabulary).
        eos_token_ids: The tokens that end generation; the grammar allows them once the JSON
            is complete.
    """

    def __init__(self, tokenizer: Any, vocab_size: int, eos_token_ids: Sequence[int]) -> None:
        llg = _import()
        self._llg = llg
        self.vocab_size = vocab_size
        self.eos_token_ids = list(eos_token_ids)
        # ~1-10 s for a 262k vocabulary: built once per client.
        self._tokenizer = llg.hf.from_tokenizer(
            tokenizer, n_vocab=vocab_size, eos_token=self.eos_token_ids[0]
        )

    def matcher(self, schema: dict[str, Any]) -> Any:
        """A fresh ``llguidance.LLMatcher`` for ``schema``.

        Raises:
            UserError: The schema cannot be compiled; the message names the schema.
        """
        # Key order is kept: properties are written in the order the schema declares them.
        grammar = _compile(json.dumps(_bounded_numbers(schema)))
        matcher = self._llg.LLMatcher(self._tokenizer, grammar, log_level=0)
        if matcher.is_error():
            title = schema.get("title", "(untitled)")
            raise UserError(
                f"response_schema {title!r} cannot be turned into a grammar for constrained "
                f"decoding: {matcher.get_error()}. Simplify the schema, or leave "
                "response_schema unset and rely on validation and re-asks."
            )
        return matcher


class SchemaLogitsProcessor:
    """A ``transformers`` logits processor with one matcher per batch row (None: free row).

    Args:
        matchers: One ``llguidance.LLMatcher`` per row, or None for an unconstrained row.
        eos_token_ids: The tokens that end a row; the first is the one forced.
        pad_token_id: What ``generate`` feeds a finished row.

    Each step it advances every live matcher by the token just chosen, then masks the row's
    logits to what the grammar allows next. When the JSON is complete only EOS is allowed,
    so the row stops; a row whose matcher fails is forced to EOS (its text then fails
    validation, which the structured-output re-ask handles).
    """

    def __init__(
        self, matchers: Sequence[Any | None], eos_token_ids: Sequence[int], pad_token_id: int
    ) -> None:
        import numpy as np

        self._np = np
        self.matchers = list(matchers)
        self.eos = list(eos_token_ids)
        # A row that ``generate`` has finished (EOS, its own stop or token limit) is fed pad.
        self.ends = {*self.eos, pad_token_id}
        self.done = [m is None for m in self.matchers]
        self._started = False
        self._bitmask: Any = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        np = self._np
        rows, width = scores.shape
        if self._bitmask is None:
            self._bitmask = np.zeros((rows, (width + 31) // 32), dtype=np.int32)
        live = []
        for i, matcher in enumerate(self.matchers):
            if self.done[i] or matcher is None:
                continue
            if self._started:
                token = int(input_ids[i, -1])
                if token in self.ends or not matcher.consume_token(token):
                    self._finish(i, matcher)
                    continue
            if matcher.is_error():
                self._finish(i, matcher)
                continue
            row = self._bitmask[i]
            matcher.unsafe_compute_mask_ptr(row.ctypes.data, row.nbytes)
            live.append(i)
        self._started = True
        for i, matcher in enumerate(self.matchers):
            if matcher is not None and self.done[i]:
                self._force_eos(scores, i)
        if live:
            bits = np.unpackbits(self._bitmask[live].view(np.uint8), axis=1, bitorder="little")
            blocked = torch.from_numpy(bits[:, :width] == 0).to(scores.device)
            sub = scores[live]
            sub.masked_fill_(blocked, float("-inf"))
            scores[live] = sub
        return scores

    def _finish(self, i: int, matcher: Any) -> None:
        self.done[i] = True
        if matcher.is_error():
            log.warning("constrained decoding stopped row %d: %s", i, matcher.get_error())

    def _force_eos(self, scores: Any, i: int) -> None:
        keep = scores[i, self.eos[0]].clone()
        scores[i] = float("-inf")
        scores[i, self.eos[0]] = keep if keep > float("-inf") else 0.0
