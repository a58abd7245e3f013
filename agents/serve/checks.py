"""Checking what an experts file asks to serve, before anything starts: every folder is a
folder (not a file, not a symbolic-link loop), its JSON files are JSON objects, an
adapter's rank is one vLLM takes, and a chat template given is valid Jinja. Every error
names the experts file, the line and the field, and says what to do."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.meta.experts import ServeSettings
from agents.serve.commands import VLLM_LORA_RANKS
from agents.serve.templates import (
    ChatTemplate,
    builtin_template,
    has_chat_template,
    serving_copy,
)
from protocols import ConfigError, UserError
from protocols.config import LineMap

__all__ = ["Checker"]

Loc = tuple[str | int, ...]


class Checker:
    """Resolves and checks the file's folders; every error names file, line and field.

    Args:
        path: The experts file.
        lines: Its line map.
        settings: Its ``serve:`` settings (overrides applied).
        cache: Where serving copies go.
        write: Make serving copies (False: only name them).
        has_cuda: Whether a CUDA GPU is present.
    """

    def __init__(
        self,
        path: Path,
        lines: LineMap,
        settings: ServeSettings,
        cache: Path,
        write: bool,
        has_cuda: Callable[[], bool],
    ) -> None:
        self.path, self.lines, self.settings, self.cache = path, lines, settings, cache
        self.write, self.has_cuda = write, has_cuda
        self.notes: list[str] = []
        self.copies: list[tuple[Path, ChatTemplate]] = []

    def error(self, loc: Loc, problem: str) -> ConfigError:
        """A ``ConfigError`` at ``loc`` of the experts file."""
        field = ".".join(str(p) for p in loc)
        return ConfigError(problem, path=str(self.path), line=self.lines.line(loc), field=field)

    def folder(self, loc: Loc, raw: str, *, needs: str) -> Path:
        """The folder ``raw`` names (relative to the experts file), checked: it holds
        ``needs`` (``config.json`` or ``adapter_config.json``) as a JSON object."""
        folder = Path(raw).expanduser()
        folder = folder if folder.is_absolute() else self.path.parent / folder
        try:
            os.stat(folder)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise self.error(
                    loc, f"{str(folder)!r} is a loop of symbolic links; point it at the folder"
                ) from None
            raise self.error(loc, f"no folder {str(folder)!r}; give a local model folder") from None
        if not folder.is_dir():
            raise self.error(loc, f"{str(folder)!r} is a file, not a folder; give its folder")
        if not (folder / needs).is_file():
            kind = "model" if needs == "config.json" else "LoRA adapter"
            raise self.error(loc, f"{str(folder)!r} has no {needs}: it is not a {kind} folder")
        self.json_object(loc, folder / needs)
        return folder.resolve()

    def json_object(self, loc: Loc, file: Path) -> dict[str, Any]:
        """``file``'s JSON object (an error for junk, a list, or a file not UTF-8)."""
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise self.error(loc, f"cannot read {file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise self.error(
                loc, f"{file} is not UTF-8 text; save it again (re-download)"
            ) from None
        except json.JSONDecodeError as exc:
            raise self.error(
                loc, f"{file}:{exc.lineno} is not valid JSON ({exc.msg}); fix or re-download it"
            ) from None
        if not isinstance(data, dict):
            raise self.error(
                loc, f"{file} holds a JSON {type(data).__name__}, not an object; re-download it"
            )
        return data

    def rank(self, loc: Loc, folder: Path) -> int:
        """The LoRA rank ``r`` of the adapter in ``folder``."""
        config = folder / "adapter_config.json"
        rank = self.json_object(loc, config).get("r")
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
            got = "no 'r'" if rank is None else f"'r': {rank!r}"
            raise self.error(
                loc,
                f"{config} has {got}: a LoRA adapter's config gives its rank as a whole number "
                "(peft saves it; r: 8)",
            )
        if rank > VLLM_LORA_RANKS[-1]:
            raise self.error(
                loc, f"{config}: rank {rank} is above vLLM's largest, {VLLM_LORA_RANKS[-1]}"
            )
        return rank

    def chat_ready(self, loc: Loc, folder: Path, *, write: bool) -> Path:
        """The folder to serve: ``folder``, or a serving copy with a chat template added."""
        tokenizer = folder / "tokenizer_config.json"
        if tokenizer.exists():
            self.json_object(loc, tokenizer)
        if has_chat_template(folder):
            return folder
        template = self.template() or builtin_template(folder)
        if template is None:
            raise self.error(
                loc,
                f"{str(folder)!r} has no chat template (a base model?) and lyceum knows none "
                "for its model type; give one as serve.chat_template: FILE.jinja",
            )
        generation = folder / "generation_config.json"
        if template.extra_eos and generation.exists():
            self.json_object(loc, generation)
        copy = serving_copy(folder, self.cache, template, write=False)
        if write:
            self.copies.append((folder, template))  # made once every check has passed
        self.notes.append(
            f"{folder} has no chat template: serving {copy} ({template.source} added)"
        )
        return copy

    def make_copies(self) -> None:
        """Make the serving copies that the checks named.

        Raises:
            UserError: The cache cannot be written."""
        for folder, template in self.copies:
            try:
                serving_copy(folder, self.cache, template)
            except OSError as exc:
                raise UserError(
                    f"cannot make a serving copy of {folder} in {self.cache}: "
                    f"{exc.strerror or exc}; set LYCEUM_CACHE to a writable folder"
                ) from None

    def template(self) -> ChatTemplate | None:
        """The ``serve.chat_template`` file, checked to be a Jinja template."""
        raw = self.settings.chat_template
        if raw is None:
            return None
        loc = ("serve", "chat_template")
        file = Path(raw).expanduser()
        file = file if file.is_absolute() else self.path.parent / file
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise self.error(loc, f"cannot read {str(file)!r}: {exc}") from None
        import jinja2  # lazy: only a template given needs it

        try:
            jinja2.Environment().parse(text)
        except jinja2.TemplateSyntaxError as exc:
            raise self.error(
                loc, f"{file}:{exc.lineno} is not a valid Jinja template ({exc.message}); fix it"
            ) from None
        if not text.strip():
            raise self.error(loc, f"{file} is empty; give a chat template")
        return ChatTemplate(text, str(file))
