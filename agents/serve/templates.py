"""Chat templates for model folders that have none, added in a serving copy.

A server renders every chat request with the tokenizer's chat template, and base models
(Gemma 3 270M among them) ship none. ``lyceum serve`` never edits the user's folder: it
makes a **serving copy** in its cache (``serving_copy``): the weights and other files are
symbolic links to the original, and ``tokenizer_config.json`` is a copy with the template
added (for Gemma 3, ``generation_config.json`` also lists ``<end_of_turn>`` as an end of
generation, as the instruction-tuned release does).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "GEMMA3_CHAT_TEMPLATE",
    "GEMMA3_END_OF_TURN",
    "ChatTemplate",
    "builtin_template",
    "has_chat_template",
    "serving_copy",
]

GEMMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}"
    "{%- set first_user_prefix = '' -%}"
    "{%- set loop_messages = messages -%}"
    "{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') "
    "+ message['content'] | trim + '<end_of_turn>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}"
)
"""Gemma 3's turn format; a system message is folded into the first user turn."""

GEMMA3_END_OF_TURN = 106
"""``<end_of_turn>``: Gemma 3's instruction-tuned configs list it as an end-of-sequence id."""


@dataclass(frozen=True)
class ChatTemplate:
    """A template to add, where it came from, and ids that end a turn."""

    text: str
    source: str
    extra_eos: tuple[int, ...] = ()


def has_chat_template(folder: Path) -> bool:
    """Whether the model folder's tokenizer has a chat template (in
    ``tokenizer_config.json`` or a ``chat_template.jinja`` file beside it)."""
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    try:
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and bool(config.get("chat_template"))


def builtin_template(folder: Path) -> ChatTemplate | None:
    """The template lyceum knows for the folder's model type (Gemma 3), or None."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kind = config.get("model_type", "") if isinstance(config, dict) else ""
    if kind in ("gemma3", "gemma3_text"):
        return ChatTemplate(GEMMA3_CHAT_TEMPLATE, "Gemma 3's turn format", (GEMMA3_END_OF_TURN,))
    return None


def serving_copy(source: Path, cache: Path, template: ChatTemplate, *, write: bool = True) -> Path:
    """The serving copy of ``source`` with ``template`` (made when ``write``; its path is
    the same either way, named after the source and the template).

    Every file of ``source`` is linked, except the JSON files that are changed:
    ``tokenizer_config.json`` gets ``chat_template``, and ``generation_config.json`` the
    template's end-of-turn ids."""
    key = hashlib.sha256(f"{source.resolve()}\0{template.text}".encode()).hexdigest()[:12]
    dest = cache / f"{source.name}-{key}"
    if not write:
        return dest
    # Made aside and moved in place, so a copy is never seen half-made.
    made = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.rmtree(made, ignore_errors=True)
    made.mkdir(parents=True)
    try:
        for item in source.iterdir():
            (made / item.name).symlink_to(item.resolve())
        _edit_json(made / "tokenizer_config.json", {"chat_template": template.text})
        generation = made / "generation_config.json"
        if template.extra_eos and generation.exists():
            data = json.loads(generation.read_text(encoding="utf-8"))
            eos = data.get("eos_token_id")
            ids = [eos] if isinstance(eos, int) else list(eos or [])
            extra = [i for i in template.extra_eos if i not in ids]
            _edit_json(generation, {"eos_token_id": [*ids, *extra]})
        old = dest.with_name(f".{dest.name}.{os.getpid()}.old")
        if dest.exists():  # made by an earlier run: made anew
            dest.rename(old)
        made.rename(dest)
        shutil.rmtree(old, ignore_errors=True)  # links and small JSON files only
    finally:
        shutil.rmtree(made, ignore_errors=True)
    return dest


def _edit_json(path: Path, changes: dict[str, object]) -> None:
    """Replace the link ``path`` with a copy of its JSON, ``changes`` applied."""
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if path.is_symlink() or path.exists():
        path.unlink()
    path.write_text(json.dumps({**data, **changes}, indent=2), encoding="utf-8")
