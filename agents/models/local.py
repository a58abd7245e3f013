"""``TransformersClient``: an in-process Hugging Face ``transformers`` causal LM.

Imports torch and transformers lazily (``pip install 'lyceum[local]'``), picks CUDA when
available and the CPU otherwise, uses the tokenizer's chat template when it has one (a
plain "Role: text" prompt otherwise), batches concurrent requests into one ``generate``
call, and scores candidate continuations by their log-probability. Loading happens on the
first call, in a worker thread, so constructing a client is cheap.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.models.base import ModelClient, ModelRequest, ModelResponse, Usage
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


def render_prompt(request: ModelRequest, tokenizer: Any) -> str:
    """The text prompt for ``request``: the chat template if the tokenizer has one, else
    plain turns ("System: …", "User: …") ending with "Assistant:"; a single user turn with
    no system message is passed through unchanged (base models continue text)."""
    turns = [m.model_dump() for m in request.messages]
    if getattr(tokenizer, "chat_template", None):
        text: str = tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
        return text
    if len(turns) == 1 and turns[0]["role"] == "user":
        return str(turns[0]["content"])
    lines = [f"{t['role'].capitalize()}: {t['content']}" for t in turns]
    return "\n\n".join(lines) + "\n\nAssistant:"


@dataclass
class _Pending:
    request: ModelRequest
    future: asyncio.Future[ModelResponse]
    queued: float


class TransformersClient(ModelClient):
    """A causal LM loaded with ``AutoModelForCausalLM``.

    Args:
        path: A local model folder (``save_pretrained`` output) or, with ``gguf_file``, the
            folder holding that GGUF file. Nothing is downloaded.
        device: ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        dtype: torch dtype name; default bfloat16 on CUDA, float32 on CPU.
        gguf_file: Name of a GGUF file inside ``path`` to load (needs ``gguf``).
        max_batch_size: Most requests per ``generate`` call.
        batch_window_ms: How long the first request of a batch waits for company.
        model: Name recorded with each call (default: the folder name).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        device: str = "auto",
        dtype: str | None = None,
        gguf_file: str | None = None,
        max_batch_size: int = 8,
        batch_window_ms: float = 5.0,
        model: str | None = None,
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
        self.batch_sizes: list[int] = []
        self._model: Any = None
        self._tokenizer: Any = None
        self.device: str | None = None
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._load_lock: asyncio.Lock | None = None

    def describe(self) -> str:
        return f"TransformersClient({self.model} on {self.device or self.device_request})"

    # -- loading -----------------------------------------------------------------------
    def load(self) -> None:
        """Load the tokenizer and weights now (otherwise done on first use)."""
        if self._model is not None:
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
        self._tokenizer, self._model, self.device = tokenizer, model, device

    def save(self, folder: str | Path) -> None:
        """Save the loaded model and tokenizer (e.g. a converted GGUF) for fast reloads."""
        self.load()
        if self.gguf_file:
            # GGUF weights are de-quantized on load; save them as plain tensors.
            self._model.hf_quantizer = None
            if hasattr(self._model.config, "quantization_config"):
                del self._model.config.quantization_config
        self._model.save_pretrained(str(folder))
        self._tokenizer.save_pretrained(str(folder))

    async def _ensure_loaded(self) -> None:
        if self._model is None:
            if self._load_lock is None:
                self._load_lock = asyncio.Lock()
            async with self._load_lock:
                if self._model is None:
                    await asyncio.to_thread(self.load)

    # -- batching ----------------------------------------------------------------------
    async def complete(self, request: ModelRequest) -> ModelResponse:
        await self._ensure_loaded()
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._worker is None or self._worker.done():
            self._loop = loop
            self._queue = asyncio.Queue()
            self._worker = loop.create_task(self._batcher())
        assert self._queue is not None
        future: asyncio.Future[ModelResponse] = loop.create_future()
        self._queue.put_nowait(_Pending(request, future, time.perf_counter()))
        return await future

    async def _batcher(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            batch = [await queue.get()]
            deadline = time.perf_counter() + self.batch_window
            while len(batch) < self.max_batch_size:
                timeout = deadline - time.perf_counter()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(queue.get(), timeout))
                except TimeoutError:
                    break
            self.batch_sizes.append(len(batch))
            try:
                texts = await asyncio.to_thread(self._generate, [p.request for p in batch])
            except Exception as exc:  # noqa: BLE001 - handed to every waiting caller
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            for p, (text, usage, finish) in zip(batch, texts, strict=True):
                if not p.future.done():
                    latency = (time.perf_counter() - p.queued) * 1000
                    p.future.set_result(
                        ModelResponse(
                            text=text,
                            model=self.model,
                            usage=usage,
                            latency_ms=latency,
                            finish_reason=finish,
                        )
                    )

    def _generate(self, requests: Sequence[ModelRequest]) -> list[tuple[str, Usage, str]]:
        torch, _ = _import()
        tok, model = self._tokenizer, self._model
        prompts = [render_prompt(r, tok) for r in requests]
        tok.padding_side = "left"
        enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=True).to(
            self.device
        )
        max_new = max(r.max_tokens or 256 for r in requests)
        temperature = max(r.temperature for r in requests)
        options: dict[str, Any] = {"max_new_tokens": max_new, "pad_token_id": tok.pad_token_id}
        if temperature > 0:
            if requests[0].seed is not None:
                torch.manual_seed(requests[0].seed)
            options.update(do_sample=True, temperature=temperature)
        else:
            options.update(do_sample=False)
        with torch.no_grad():
            out = model.generate(**enc, **options)
        width = enc["input_ids"].shape[1]
        results = []
        for i, request in enumerate(requests):
            new = out[i, width:].tolist()
            limit = request.max_tokens or 256
            if tok.eos_token_id in new:
                new = new[: new.index(tok.eos_token_id)]
                finish = "stop"
            else:
                finish = "length"
            new = new[:limit]
            text = tok.decode(new, skip_special_tokens=True)
            for stop in request.stop:
                if stop in text:
                    text, finish = text[: text.index(stop)], "stop"
            prompt_tokens = int(enc["attention_mask"][i].sum())
            results.append(
                (text, Usage(prompt_tokens=prompt_tokens, completion_tokens=len(new)), finish)
            )
        return results

    # -- scoring -----------------------------------------------------------------------
    async def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        """Sum of natural-log probabilities of each continuation's tokens after ``prompt``.

        The prompt and each continuation are tokenized separately and concatenated, so the
        continuation's tokens are exactly the ones scored."""
        if not continuations:
            return []
        await self._ensure_loaded()
        return await asyncio.to_thread(self._score, prompt, list(continuations))

    def _score(self, prompt: str, continuations: list[str]) -> list[float]:
        torch, _ = _import()
        tok, model = self._tokenizer, self._model
        prefix = tok(prompt, add_special_tokens=True)["input_ids"]
        if not prefix:
            prefix = [tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id]
        rows = [prefix + tok(c, add_special_tokens=False)["input_ids"] for c in continuations]
        width = max(len(r) for r in rows)
        pad = tok.pad_token_id
        ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows], device=self.device)
        mask = torch.tensor(
            [[1] * len(r) + [0] * (width - len(r)) for r in rows], device=self.device
        )
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask).logits.float()
        logprobs = torch.log_softmax(logits, dim=-1)
        scores = []
        for i, row in enumerate(rows):
            total = 0.0
            for pos in range(len(prefix), len(row)):
                total += float(logprobs[i, pos - 1, row[pos]])
            scores.append(total)
        return scores

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        self._model = None
        self._tokenizer = None
