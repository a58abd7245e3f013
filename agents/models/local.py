"""``TransformersClient``: an in-process Hugging Face ``transformers`` causal LM.

Imports torch and transformers lazily (``pip install 'lyceum[local]'``), picks CUDA when
available and the CPU otherwise, uses the tokenizer's chat template when it has one (a
plain "Role: text" prompt otherwise, which stops at the next "User:"/"System:" turn),
honours ``response_schema`` by constrained decoding (``agents.models.grammar``), batches
concurrent requests into one ``generate`` call and concurrent ``score`` calls into one
forward pass (``agents.models.local_ops``). Loading happens on the first call, in a worker
thread, so constructing a client is cheap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.models.base import ModelClient, ModelRequest, ModelResponse, Usage
from agents.models.batching import MicroBatcher
from agents.models.local_ops import (
    Loaded,
    generate_batch,
    json_grammar,
    render_prompt,
    score_batch,
)
from protocols import UserError

__all__ = ["TransformersClient", "render_prompt"]


def _import() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ImportError(
            f"TransformersClient needs torch and transformers ({exc.name} is missing). "
            "Install them with: pip install torch==2.13.0 && pip install 'lyceum[local]'"
        ) from exc
    return torch, transformers


class TransformersClient(ModelClient):
    """A causal LM loaded with ``AutoModelForCausalLM``.

    Args:
        path: A local model folder (``save_pretrained`` output) or, with ``gguf_file``, the
            folder holding that GGUF file. Nothing is downloaded.
        device: ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        dtype: torch dtype name; default bfloat16 on CUDA, float32 on CPU.
        gguf_file: Name of a GGUF file inside ``path`` to load (needs ``gguf``).
        max_batch_size: Most requests per ``generate`` call.
        max_score_batch: Most ``score`` calls per forward pass (a pass is also split so
            that it computes at most ``local_ops.SCORE_LOGITS_BUDGET`` logits).
        max_new_tokens: Most tokens one reply may have, whatever ``request.max_tokens``
            asks (e.g. to bound CPU time); a reply cut short has finish reason "length".
        repetition_penalty: Passed to ``generate`` (e.g. 1.3): keeps a greedy base model from
            repeating itself until ``max_tokens`` (an array of the same item, say).
        batch_window_ms: How long the first request of a batch waits for company.
        model: Name recorded with each call (default: the folder name).
        constrain: Whether a ``response_schema`` constrains decoding. None (default):
            when the tokenizer allows it, and otherwise once warned, generated
            unconstrained (then validated and re-asked); True: a tokenizer that does not
            allow it is a ``UserError``; False: never.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        device: str = "auto",
        dtype: str | None = None,
        gguf_file: str | None = None,
        max_batch_size: int = 8,
        max_score_batch: int = 32,
        max_new_tokens: int | None = None,
        repetition_penalty: float | None = None,
        batch_window_ms: float = 5.0,
        model: str | None = None,
        constrain: bool | None = None,
    ) -> None:
        if max_batch_size < 1:
            raise UserError(f"max_batch_size must be >= 1, got {max_batch_size}")
        self.path = Path(path)
        self.model = model or self.path.name
        self.device_request = device
        self.dtype_name = dtype
        self.gguf_file = gguf_file
        self.max_batch_size = max_batch_size
        self.batch_window = batch_window_ms / 1000
        self.max_new_tokens = max_new_tokens
        self.repetition_penalty = repetition_penalty
        self.constrain = constrain
        if max_score_batch < 1:
            raise UserError(f"max_score_batch must be >= 1, got {max_score_batch}")
        self._lm: Loaded | None = None
        self.device: str | None = None
        self._load_lock: asyncio.Lock | None = None
        self._generator: MicroBatcher[ModelRequest, tuple[str, Usage, str]] = MicroBatcher(
            self._generate, max_size=max_batch_size, window=self.batch_window
        )
        self._scorer: MicroBatcher[tuple[str, Sequence[str]], list[float]] = MicroBatcher(
            self._score, max_size=max_score_batch, window=self.batch_window
        )

    @property
    def batch_sizes(self) -> list[int]:
        """How many requests each ``generate`` call served, oldest first."""
        return self._generator.sizes

    @property
    def score_batch_sizes(self) -> list[int]:
        """How many ``score`` calls each forward pass served, oldest first."""
        return self._scorer.sizes

    def describe(self) -> str:
        return f"TransformersClient({self.model} on {self.device or self.device_request})"

    # -- loading -----------------------------------------------------------------------
    def load(self) -> None:
        """Load the tokenizer and weights now (otherwise done on first use)."""
        if self._lm is not None:
            return
        torch, transformers = _import()
        if not self.path.exists():
            raise UserError(
                f"model path {str(self.path)!r} does not exist; TransformersClient "
                "loads local folders only (nothing is downloaded)"
            )
        device = self.device_request
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype_name = self.dtype_name or ("bfloat16" if device.startswith("cuda") else "float32")
        kwargs: dict[str, Any] = {"dtype": getattr(torch, dtype_name)}
        if self.gguf_file:
            kwargs["gguf_file"] = self.gguf_file
        tok_kwargs = {"gguf_file": self.gguf_file} if self.gguf_file else {}
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(self.path), **tok_kwargs)
        model = transformers.AutoModelForCausalLM.from_pretrained(str(self.path), **kwargs)
        model.to(device)
        model.eval()
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        eos = model.generation_config.eos_token_id
        if eos is None:
            eos = tokenizer.eos_token_id
        eos_ids = [eos] if isinstance(eos, int) else list(eos)
        self._lm = Loaded(
            torch, transformers, tokenizer, model, device, eos_ids, constrain=self.constrain
        )
        self.device = device

    def save(self, folder: str | Path) -> None:
        """Save the loaded model and tokenizer (e.g. a converted GGUF) for fast reloads."""
        lm = self._loaded()
        if self.gguf_file:
            # GGUF weights are de-quantized on load; save them as plain tensors.
            lm.model.hf_quantizer = None
            if hasattr(lm.model.config, "quantization_config"):
                del lm.model.config.quantization_config
        lm.model.save_pretrained(str(folder))
        lm.tokenizer.save_pretrained(str(folder))

    def _loaded(self) -> Loaded:
        self.load()
        assert self._lm is not None
        return self._lm

    async def _ensure_loaded(self) -> None:
        if self._lm is None:
            if self._load_lock is None:
                self._load_lock = asyncio.Lock()
            async with self._load_lock:
                if self._lm is None:
                    await asyncio.to_thread(self.load)

    # -- batching ----------------------------------------------------------------------
    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Generate a reply; concurrent calls share one ``generate`` call.

        With ``response_schema`` set, decoding is constrained by that schema's grammar: the
        reply is schema-valid JSON unless ``max_tokens`` cut it short (finish reason
        ``"length"``)."""
        await self._ensure_loaded()
        if request.response_schema is not None:
            # A schema that cannot be compiled fails this call alone, not its whole batch.
            await asyncio.to_thread(self._check_schema, request.response_schema)
        (text, usage, finish), latency = await self._generator.submit(request)
        return ModelResponse(
            text=text, model=self.model, usage=usage, latency_ms=latency, finish_reason=finish
        )

    def _check_schema(self, schema: dict[str, Any]) -> None:
        grammar = json_grammar(self._loaded())
        if grammar is not None:
            grammar.matcher(schema)

    def _generate(self, requests: Sequence[ModelRequest]) -> list[tuple[str, Usage, str]]:
        cap = self.max_new_tokens
        if cap is not None:
            requests = [
                r.model_copy(update={"max_tokens": min(r.max_tokens or cap, cap)}) for r in requests
            ]
        return generate_batch(self._loaded(), requests, self.repetition_penalty)

    # -- scoring -----------------------------------------------------------------------
    async def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        """Sum of natural-log probabilities of each continuation's tokens after ``prompt``.

        The prompt and each continuation are tokenized separately and concatenated, so the
        continuation's tokens are exactly the ones scored. Concurrent calls share one
        forward pass."""
        if not continuations:
            return []
        await self._ensure_loaded()
        scores, _ = await self._scorer.submit((prompt, tuple(continuations)))
        return scores

    def _score(self, jobs: Sequence[tuple[str, Sequence[str]]]) -> list[list[float]]:
        return score_batch(self._loaded(), jobs)

    async def aclose(self) -> None:
        self._generator.close()
        self._scorer.close()
        self._lm = None
