"""From an experts file to what to start: ``plan_serving`` checks every folder before
anything starts (errors name the file, line and field), picks the backend, adds chat
templates in serving copies, and builds the server commands and each expert's endpoint.

- **vLLM**: one server, one base model (``serve.base``, or the only model folder named),
  a LoRA adapter per expert (``--lora-modules``). An expert whose ``serve.model`` is the
  base itself is served as the base model.
- **transformers serve**: one server per model folder, each pinned to its folder, on
  consecutive ports from ``serve.port``. One server cannot serve several folders well:
  it keeps one continuous-batching manager and restarts it whenever a request names
  another model, and an unpinned server unloads idle models and lists only loaded ones.
  It cannot load a LoRA adapter folder either (no ``config.json``; loading one needs
  ``peft``): serve adapters with vLLM, or merge them into a model folder first.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agents.meta.experts import ExpertsFile, ServeSettings, host_problem, load_experts_file
from agents.serve.checks import Checker
from agents.serve.commands import (
    LoraModule,
    ServerCommand,
    choose_backend,
    cuda_present,
    transformers_command,
    vllm_command,
    vllm_installed,
)
from protocols import UserError

__all__ = ["ServePlan", "default_cache", "plan_serving"]

CPU_CACHE_ARGS = ("--cb-num-blocks", "64", "--cb-max-batch-tokens", "512")
"""What continuous batching gets on a CPU unless ``serve.args`` sizes its cache itself
(any ``--cb-…`` option): without them transformers 5.24 sizes the paged KV cache from
free *system* memory (about 90% of it: 12 GB on a 23 GB machine, and minutes to
allocate). 64 blocks of 256 tokens hold 16,384 tokens in flight; 512 tokens are
prefilled per step (docs/serving.md)."""

Backend = Literal["auto", "vllm", "transformers"]


@dataclass(frozen=True)
class ServePlan:
    """What ``lyceum serve`` starts, and what it registers.

    Attributes:
        backend: ``vllm`` or ``transformers``.
        servers: The server commands.
        endpoints: Each expert's ``backend`` entry, by expert name, for the served registry
            (experts that were not served keep their own).
        notes: What was done to serve (serving copies with a chat template added).
        source: The experts file.
        spec: The validated experts file.
    """

    backend: Literal["vllm", "transformers"]
    servers: tuple[ServerCommand, ...]
    endpoints: dict[str, dict[str, Any]]
    notes: tuple[str, ...]
    source: Path
    spec: ExpertsFile


def default_cache() -> Path:
    """Where serving copies go: ``$LYCEUM_CACHE/serving`` (default ``~/.cache/lyceum``)."""
    return Path(os.environ.get("LYCEUM_CACHE", Path.home() / ".cache" / "lyceum")) / "serving"


def plan_serving(
    path: str | Path,
    *,
    backend: Backend | None = None,
    host: str | None = None,
    port: int | None = None,
    cache: Path | None = None,
    write: bool = True,
    has_vllm: Callable[[], bool] = vllm_installed,
    has_cuda: Callable[[], bool] = cuda_present,
) -> ServePlan:
    """Check the experts file at ``path`` and plan its servers (nothing is started).

    Args:
        path: The experts YAML file; its ``serve:`` block and the experts' ``serve``
            entries say what to serve.
        backend, host, port: Override the file's ``serve:`` settings.
        cache: Where serving copies go (default ``default_cache()``).
        write: Make the serving copies (False: only name them, as ``--print-command``).
        has_vllm, has_cuda: How ``auto`` detects vLLM and a CUDA GPU (injectable).

    Raises:
        ConfigError: Naming the file, line and field of what cannot be served.
    """
    path = Path(path)
    problem = host_problem(host) if host else None
    if problem:
        raise UserError(f"--host {host}: {problem}")
    spec, lines = load_experts_file(path)
    settings = (spec.serve or ServeSettings()).model_copy(
        update={k: v for k, v in {"backend": backend, "host": host, "port": port}.items() if v}
    )
    check = Checker(path, lines, settings, cache or default_cache(), write, has_cuda)
    served = [(i, e) for i, e in enumerate(spec.experts) if e.serve is not None]
    if not served:
        raise check.error(
            ("experts",), "no expert says what to serve; give one a serve: {model: FOLDER}"
        )
    chosen = choose_backend(settings.backend, has_vllm=has_vllm, has_cuda=has_cuda)
    plan = _vllm if chosen == "vllm" else _transformers
    servers, endpoints = plan(check, served)
    check.make_copies()
    return ServePlan(chosen, servers, endpoints, tuple(check.notes), path, spec)


def _vllm(
    check: Checker, served: list[tuple[int, Any]]
) -> tuple[tuple[ServerCommand, ...], dict[str, dict[str, Any]]]:
    settings, write = check.settings, check.write
    models = {
        (i, check.folder(("experts", i, "serve", "model"), e.serve.model, needs="config.json"))
        for i, e in served
        if e.serve.model is not None
    }
    if settings.base is not None:
        base = check.folder(("serve", "base"), settings.base, needs="config.json")
        base_loc: tuple[str | int, ...] = ("serve", "base")
    elif len({m for _, m in models}) == 1:
        i, base = next(iter(models))
        base_loc = ("experts", i, "serve", "model")
    else:
        raise check.error(
            ("serve",),
            "vLLM serves one base model with an adapter per expert: give serve.base, the "
            "base model folder",
        )
    for i, model in sorted(models):
        if model != base:
            raise check.error(
                ("experts", i, "serve", "model"),
                f"vLLM serves one base model ({str(base)!r}); serve this model with backend: "
                "transformers, or as a LoRA adapter of the base",
            )
    shown = str(check.chat_ready(base_loc, base, write=write))
    adapters: dict[Path, LoraModule] = {}  # one adapter folder is loaded once
    ranks, served_as = [1], {}
    for i, expert in served:
        if expert.serve.adapter is not None:
            loc = ("experts", i, "serve", "adapter")
            folder = check.folder(loc, expert.serve.adapter, needs="adapter_config.json")
            if folder not in adapters:
                adapters[folder] = LoraModule(expert.name, str(folder))
                ranks.append(check.rank(loc, folder))
            served_as[expert.name] = adapters[folder].name
    argv = vllm_command(
        shown,
        host=settings.host,
        port=settings.port,
        adapters=list(adapters.values()),
        max_lora_rank=max(ranks),
        extra_args=settings.args,
        executable=_vllm_executable(),
    )
    names = (shown, *(a.name for a in adapters.values()))
    server = ServerCommand("vllm", tuple(argv), settings.host, settings.port, names)
    endpoints: dict[str, dict[str, Any]] = {}
    for _, expert in served:
        where = {"base_url": server.base_url, "dialect": "json_schema"}
        if expert.serve.adapter is not None:
            adapter = served_as[expert.name]
            endpoints[expert.name] = {"kind": "lora", "adapter": adapter, **where}
        else:
            endpoints[expert.name] = {"kind": "openai", "model": shown, **where}
    return (server,), endpoints


def _vllm_executable() -> str:
    beside = Path(sys.executable).with_name("vllm")
    return str(beside) if beside.exists() else shutil.which("vllm") or "vllm"


def _transformers(
    check: Checker, served: list[tuple[int, Any]]
) -> tuple[tuple[ServerCommand, ...], dict[str, dict[str, Any]]]:
    settings, write = check.settings, check.write
    servers: dict[Path, ServerCommand] = {}
    endpoints: dict[str, dict[str, Any]] = {}
    batching = settings.continuous_batching
    if batching is None:
        batching = check.has_cuda()
    extra = tuple(settings.args)
    if batching and not check.has_cuda() and not any(a.startswith("--cb-") for a in extra):
        extra = (*CPU_CACHE_ARGS, *extra)
    for i, expert in served:
        if expert.serve.adapter is not None:
            raise check.error(
                ("experts", i, "serve", "adapter"),
                "transformers serve cannot serve a LoRA adapter folder: serve adapters with "
                "vLLM (backend: vllm, on a CUDA GPU), or merge the adapter into a model folder "
                "(peft: merge_and_unload, then save_pretrained) and give serve.model",
            )
        loc = ("experts", i, "serve", "model")
        folder = check.folder(loc, expert.serve.model, needs="config.json")
        if folder not in servers:
            shown = str(check.chat_ready(loc, folder, write=write))
            port = settings.port + len(servers)
            if port > 65535:
                raise check.error(
                    ("serve", "port"), f"one port per model from {settings.port} runs past 65535"
                )
            argv = transformers_command(
                shown,
                host=settings.host,
                port=port,
                continuous_batching=batching,
                extra_args=extra,
            )
            servers[folder] = ServerCommand(folder.name, tuple(argv), settings.host, port, (shown,))
        server = servers[folder]
        endpoints[expert.name] = {
            "kind": "openai",
            "base_url": server.base_url,
            "model": server.serves[0],
            "dialect": "prompt",  # transformers serve ignores response_format
        }
    return tuple(servers.values()), endpoints
