"""``transformers serve`` as a subprocess on a free loopback port, for tests and benchmarks.

    with TransformersServe(folder) as server:
        client = OpenAIChatClient(server.base_url, server.model)

The server is started offline (``HF_HUB_OFFLINE=1``) and pinned to one local model folder,
so a request's ``model`` must be that folder's path (``server.model``); anything else is
answered 400. Start-up waits for ``GET /health`` and shows the server's log when it fails;
``stop`` terminates the process group, then kills it.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import httpx

__all__ = ["TransformersServe", "serve_available"]


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


def die_with_parent() -> None:
    """In a child process (``Popen(preexec_fn=die_with_parent)``): ask Linux to send it
    SIGTERM when the test process dies, so that a server outlives no ``kill -9`` of pytest.
    Elsewhere it does nothing (the servers are still stopped by ``stop()``)."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
        self.port = _free_port()
        # The server writes here for as long as it runs; __exit__ closes it.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        command = [
            str(_executable()),
            "serve",
            self.model,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--device",
            "cpu",
            "--log-level",
            "info",
            *self.extra_args,
        ]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        env.pop("COLUMNS", None)
        self._process = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent,  # set before exec; no threads are started here
        )
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        process = self._process
        assert process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.stop()
                raise RuntimeError(
                    f"transformers serve exited with {process.returncode} before it "
                    f"was healthy; its log:\n{self.log()[-4000:]}"
                )
            try:
                if httpx.get(self.base_url.removesuffix("/v1") + "/health", timeout=2).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(
            f"transformers serve was not healthy after {self.startup_timeout:g}s; its log:\n"
            f"{self.log()[-4000:]}"
        )

    def stop(self) -> None:
        """Terminate the server's process group; kill it if it has not exited in 10 s."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def __enter__(self) -> TransformersServe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self._log is not None:
            self._log.close()
            self._log = None
