"""Whether a server is healthy: ``GET /health`` answers 2xx and ``GET /v1/models`` lists
every name it should serve; the errors that quote the end of its log when it is not."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx

from agents.serve.commands import ServerCommand
from protocols import LyceumError

__all__ = ["ServeError", "ServerExited", "missing_models", "not_ready", "wait_healthy"]

LOG_TAIL = 3000
"""Characters of a server's log quoted in an error."""


class ServeError(LyceumError):
    """A server did not start, or kept dying; the message quotes the end of its log."""


class ServerExited(ServeError):
    """The server exited before it was healthy (a death while loading, which a restart
    counts against its bound like any other)."""

    def __init__(self, message: str, returncode: int) -> None:
        super().__init__(message)
        self.returncode = returncode


def missing_models(command: ServerCommand, http: httpx.Client) -> list[str] | None:
    """One health check: the names in ``command.serves`` that ``GET /v1/models`` does not
    list yet (empty: healthy), or None while ``GET /health`` does not answer 2xx."""
    try:
        if not http.get(command.root_url + "/health").is_success:
            return None
        listed = http.get(command.base_url + "/models").json().get("data", [])
        ids = {m.get("id") for m in listed if isinstance(m, dict)}
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return [n for n in command.serves if n not in ids]


def exited(command: ServerCommand, code: int, log: str) -> ServerExited:
    """The error for a server that exited with ``code`` while it loaded."""
    return ServerExited(
        f"{command.name} server exited with {code} before it was healthy; the end of its "
        f"log:\n{log[-LOG_TAIL:]}",
        code,
    )


def not_ready(
    command: ServerCommand, timeout: float, missing: list[str] | None, log: str
) -> ServeError:
    """The error for a server still not serving (``missing``) after ``timeout``."""
    return ServeError(
        f"{command.name} server was not ready after {timeout:g}s (not serving yet: "
        f"{', '.join(missing or command.serves) or '-'}); the end of its log:\n{log[-LOG_TAIL:]}"
    )


def wait_healthy(
    command: ServerCommand,
    process: subprocess.Popen[bytes],
    *,
    timeout: float,
    log: Callable[[], str],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Wait until ``GET /health`` answers 2xx and ``GET /v1/models`` lists every name in
    ``command.serves``.

    Raises:
        ServeError: The process exited first (``ServerExited``), or ``timeout`` passed;
            quoting its log.
    """
    deadline = clock() + timeout
    missing: list[str] | None = None
    with httpx.Client(timeout=5, trust_env=False) as http:  # a local server: no proxy
        while clock() < deadline:
            if process.poll() is not None:
                raise exited(command, process.returncode, log())
            found = missing_models(command, http)
            if found == []:
                return
            missing = found if found is not None else missing
            sleep(0.25)
    raise not_ready(command, timeout, missing, log())
