"""The server command lines: ``vllm serve`` (one base model, a LoRA adapter per expert) and
``transformers serve`` (one server per model folder), and which of them runs here.

The vLLM flags are those of ``vllm serve`` as documented in vLLM's "LoRA Adapters" page
(docs/features/lora.md, "Serving LoRA Adapters") and its CLI arguments
(``vllm/entrypoints/openai/cli_args.py``, ``vllm/config/lora.py``): ``--enable-lora``,
``--lora-modules`` taking ``name=path`` or the JSON form
``{"name": ..., "path": ..., "base_model_name": ...}`` (the JSON form is used where a
name or path holds ``=`` or ``,``, which the ``name=path`` parser cannot take),
``--max-loras`` (adapters in one batch; default 1) and ``--max-lora-rank`` (one of
``VLLM_LORA_RANKS``; default 16).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "VLLM_LORA_RANKS",
    "LoraModule",
    "ServerCommand",
    "choose_backend",
    "cuda_present",
    "transformers_command",
    "vllm_command",
    "vllm_installed",
]

VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
"""The values ``--max-lora-rank`` accepts (vLLM's ``MaxLoRARanks``)."""
VLLM_DEFAULT_LORA_RANK = 16
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
"""Served folders are local: the servers never reach a hub."""


@dataclass(frozen=True)
class ServerCommand:
    """One server to start: its command line, where it listens, and the model names its
    ``/v1/models`` must list once it is up.

    Attributes:
        name: A label for logs and status lines (``vllm``, or the model folder's name).
        argv: The command line.
        host: The interface it listens on.
        port: Its port.
        serves: The model names ``GET /v1/models`` lists when it is ready.
        env: Environment variables added to lyceum's own.
    """

    name: str
    argv: tuple[str, ...]
    host: str
    port: int
    serves: tuple[str, ...]
    env: dict[str, str] = field(default_factory=lambda: dict(OFFLINE))

    @property
    def root_url(self) -> str:
        """``http://HOST:PORT``, with a wildcard host reached over loopback."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (``…/v1``)."""
        return self.root_url + "/v1"


@dataclass(frozen=True)
class LoraModule:
    """A LoRA adapter served under ``name`` (``--lora-modules``)."""

    name: str
    path: str

    def argument(self, base_model_name: str) -> str:
        """``name=path``, or vLLM's JSON form where ``name=path`` would not parse."""
        if any(c in self.name + self.path for c in "=,") or not self.name:
            return json.dumps(
                {"name": self.name, "path": self.path, "base_model_name": base_model_name}
            )
        return f"{self.name}={self.path}"


def vllm_command(
    base: str,
    *,
    host: str,
    port: int,
    adapters: Sequence[LoraModule] = (),
    max_lora_rank: int = VLLM_DEFAULT_LORA_RANK,
    extra_args: Sequence[str] = (),
    executable: str = "vllm",
) -> list[str]:
    """``vllm serve BASE --host H --port P [--enable-lora --lora-modules … --max-loras N
    [--max-lora-rank R]] [extra_args…]``.

    Args:
        base: The base model (a local folder); it is also the served name of the base.
        host: The interface to listen on.
        port: The port.
        adapters: One LoRA adapter per expert, served under the adapter's name.
        max_lora_rank: The largest adapter rank (``r``); rounded up to the next rank vLLM
            accepts, and left out when it is within vLLM's default (16).
        extra_args: More ``vllm serve`` options, appended as they are.
        executable: The ``vllm`` command.
    """
    argv = [executable, "serve", base, "--host", host, "--port", str(port)]
    if adapters:
        argv += ["--enable-lora", "--lora-modules", *(a.argument(base) for a in adapters)]
        argv += ["--max-loras", str(len(adapters))]
        if max_lora_rank > VLLM_DEFAULT_LORA_RANK:
            fits = [r for r in VLLM_LORA_RANKS if r >= max_lora_rank]
            if not fits:
                raise ValueError(
                    f"LoRA rank {max_lora_rank} is above vLLM's largest, {VLLM_LORA_RANKS[-1]}"
                )
            argv += ["--max-lora-rank", str(fits[0])]
    return [*argv, *extra_args]


def transformers_command(
    model: str,
    *,
    host: str,
    port: int,
    continuous_batching: bool = True,
    extra_args: Sequence[str] = (),
    executable: str | None = None,
) -> list[str]:
    """``transformers serve MODEL --host H --port P [--continuous-batching] --log-level info
    [extra_args…]``: a server pinned to one model folder, whose requests name ``MODEL``."""
    exe = executable or str(Path(sys.executable).with_name("transformers"))
    argv = [exe, "serve", model, "--host", host, "--port", str(port)]
    if continuous_batching:
        argv.append("--continuous-batching")
    return [*argv, "--log-level", "info", *extra_args]


def vllm_installed() -> bool:
    """Whether vLLM can be run here: importable, or a ``vllm`` command on the PATH."""
    return importlib.util.find_spec("vllm") is not None or shutil.which("vllm") is not None


def cuda_present() -> bool:
    """Whether an NVIDIA GPU and its driver are present (read from the driver's files, not
    by importing torch)."""
    gpus = Path("/proc/driver/nvidia/gpus")
    return (gpus.is_dir() and any(gpus.iterdir())) or Path("/dev/nvidia0").exists()


def choose_backend(
    wanted: Literal["auto", "vllm", "transformers"],
    *,
    has_vllm: Callable[[], bool] = vllm_installed,
    has_cuda: Callable[[], bool] = cuda_present,
) -> Literal["vllm", "transformers"]:
    """``vllm`` when asked for, or for ``auto`` when vLLM is installed and a CUDA GPU is
    present; ``transformers`` otherwise."""
    if wanted != "auto":
        return wanted
    return "vllm" if has_vllm() and has_cuda() else "transformers"
