"""``transformers serve`` as a subprocess on a free loopback port, for tests and benchmarks.

    with TransformersServe(folder) as server:
        client = OpenAIChatClient(server.base_url, server.model)

The server is started offline (``HF_HUB_OFFLINE=1``) and pinned to one local model folder,
so a request's ``model`` must be that folder's path (``server.model``); anything else is
answered 400. It is started and health-checked by ``lyceum serve``'s own launcher
(``agents.serve``: its own process group, a parent-death signal, ``GET /health`` and then
``GET /v1/models`` listing the folder), and start-up failures show the server's log;
``stop`` terminates the process group, then kills it.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO

from agents.serve.commands import OFFLINE, ServerCommand, transformers_command
from agents.serve.process import die_with_parent, free_port, launch, stop_group
from agents.serve.supervisor import ServeError, wait_healthy

__all__ = ["TransformersServe", "die_with_parent", "running", "serve_available"]


def running(pid: int) -> bool:
    """Whether the process ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def serve_available() -> str | None:
    """Why ``transformers serve`` cannot run here, or None when it can."""
    missing = [m for m in ("transformers", "fastapi", "uvicorn", "openai") if not _has(m)]
    if missing:
        return (
            f"transformers serve needs {', '.join(missing)} "
            "(pip install 'lyceum[serving]'; the dev extra includes it)"
        )
    if not _executable().exists():
        return f"no `transformers` command next to {sys.executable}"
    return None


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _executable() -> Path:
    return Path(sys.executable).with_name("transformers")


class TransformersServe:
    """A ``transformers serve`` process pinned to the model folder ``model_dir``.

    Args:
        model_dir: A local model folder whose tokenizer has a chat template.
        startup_timeout: Seconds to wait for ``/health`` (loading a model included).
        extra_args: More ``transformers serve`` options, e.g. ``["--continuous-batching"]``.
    """

    def __init__(
        self,
        model_dir: Path,
        *,
        startup_timeout: float = 180.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.model = str(model_dir)
        self.startup_timeout = startup_timeout
        self.extra_args = extra_args
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def log(self) -> str:
        """Everything the server has written to stdout and stderr so far."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def start(self) -> TransformersServe:
        self.port = free_port()
        # The server writes here for as long as it runs; __exit__ closes it.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        argv = transformers_command(
            self.model,
            host="127.0.0.1",
            port=self.port,
            continuous_batching=False,  # extra_args may ask for it
            extra_args=("--device", "cpu", *self.extra_args),
        )
        command = ServerCommand("transformers", tuple(argv), "127.0.0.1", self.port, (self.model,))
        self._process = launch(argv, log=self._log, env=OFFLINE)
        try:
            wait_healthy(command, self._process, timeout=self.startup_timeout, log=self.log)
        except ServeError as exc:
            self.stop()
            raise RuntimeError(str(exc)) from None
        return self

    def stop(self) -> None:
        """Terminate the server's process group; kill it if it has not exited in 10 s."""
        process, self._process = self._process, None
        if process is not None:
            stop_group(process)

    def __enter__(self) -> TransformersServe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self._log is not None:
            self._log.close()
            self._log = None
