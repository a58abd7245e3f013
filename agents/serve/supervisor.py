"""Supervising one server process: start it, wait until it is healthy and serves what it
should, restart it when it dies (a bounded number of times within a window, with a growing
pause), and stop it (its whole process group) for good. Its output goes to a log file that
outlives it.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from agents.serve.commands import ServerCommand
from agents.serve.process import launch, port_free, stop_group
from protocols import LyceumError

__all__ = ["RestartPolicy", "ServeError", "ServerExited", "Supervisor", "wait_healthy"]

LOG_TAIL = 3000
"""Characters of a server's log quoted in an error."""
MAX_LOG_BYTES = 100 * 2**20
"""A log larger than this when its server (re)starts is moved to ``LOG.1`` first."""


class ServeError(LyceumError):
    """A server did not start, or kept dying; the message quotes the end of its log."""


class ServerExited(ServeError):
    """The server exited before it was healthy (a death while loading, which a restart
    counts against its bound like any other)."""

    def __init__(self, message: str, returncode: int) -> None:
        super().__init__(message)
        self.returncode = returncode


@dataclass(frozen=True)
class RestartPolicy:
    """At most ``max_restarts`` restarts within ``window`` seconds; the n-th restart in a
    row waits ``backoff[n]`` seconds (the last value once past the end)."""

    max_restarts: int = 3
    window: float = 300.0
    backoff: tuple[float, ...] = (1.0, 2.0, 4.0)

    def pause(self, n: int) -> float:
        return self.backoff[min(n, len(self.backoff) - 1)] if self.backoff else 0.0


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
        ServeError: The process exited first, or ``timeout`` passed; quoting its log.
    """
    deadline = clock() + timeout
    missing: list[str] = list(command.serves)
    with httpx.Client(timeout=5, trust_env=False) as http:  # a local server: no proxy
        while clock() < deadline:
            if process.poll() is not None:
                raise ServerExited(
                    f"{command.name} server exited with {process.returncode} before it was "
                    f"healthy; the end of its log:\n{log()[-LOG_TAIL:]}",
                    process.returncode,
                )
            try:
                if http.get(command.root_url + "/health").is_success:
                    listed = http.get(command.base_url + "/models").json().get("data", [])
                    ids = {m.get("id") for m in listed if isinstance(m, dict)}
                    missing = [n for n in command.serves if n not in ids]
                    if not missing:
                        return
            except (httpx.HTTPError, ValueError, AttributeError):
                pass
            sleep(0.25)
    raise ServeError(
        f"{command.name} server was not ready after {timeout:g}s (not serving yet: "
        f"{', '.join(missing) or '-'}); the end of its log:\n{log()[-LOG_TAIL:]}"
    )


class Supervisor:
    """Runs ``command`` and keeps it running.

    Args:
        command: The server to run.
        log_path: Its stdout and stderr, appended (kept after it stops).
        startup_timeout: Seconds to wait for it to be healthy (loading a model included).
        policy: How often, and after which pauses, it is restarted.
        on_event: Told of each start, crash, restart and stop, as one line.
        max_log_bytes: A log larger than this when the server (re)starts is moved to
            ``LOG.1`` (replacing an older one), so restarts keep at most two logs' worth;
            within one run of the server the log grows unbounded (docs/serving.md).
        clock, sleep: Injected for tests.
    """

    def __init__(
        self,
        command: ServerCommand,
        *,
        log_path: Path,
        startup_timeout: float = 600.0,
        policy: RestartPolicy | None = None,
        on_event: Callable[[str], None] | None = None,
        max_log_bytes: int = MAX_LOG_BYTES,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.command = command
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.policy = policy or RestartPolicy()
        self.on_event = on_event or (lambda line: None)
        self.clock, self.sleep = clock, sleep
        self.max_log_bytes = max_log_bytes
        self.restarts: list[float] = []
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The server's pid while it runs."""
        return self.process.pid if self.process is not None else None

    def log(self) -> str:
        """The server's log so far (every start of it)."""
        try:
            return self.log_path.read_bytes().decode(errors="replace")
        except OSError:
            return ""

    def start(self) -> Supervisor:
        """Start the server and wait until it is healthy.

        Raises:
            ServeError: It exited or was not healthy in time (it is stopped then)."""
        try:
            self._launch()
            assert self.process is not None
            self.on_event(f"{self.command.name}: started (pid {self.process.pid}), loading")
            wait_healthy(
                self.command,
                self.process,
                timeout=self.startup_timeout,
                log=self.log,
                clock=self.clock,
                sleep=self.sleep,
            )
        except BaseException:
            self.stop()
            raise
        self.on_event(f"{self.command.name}: ready at {self.command.base_url}")
        return self

    def _launch(self) -> None:
        argv = self.command.argv
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            if self._log is None:
                if self.log_path.exists() and self.log_path.stat().st_size > self.max_log_bytes:
                    self.log_path.replace(self.log_path.with_name(self.log_path.name + ".1"))
                self._log = self.log_path.open("ab")
        except OSError as exc:
            raise ServeError(
                f"{self.command.name}: cannot write its log {self.log_path}: "
                f"{exc.strerror or exc}; give a writable --log-dir"
            ) from None
        try:
            if not port_free(self.command.host, self.command.port):
                raise ServeError(
                    f"{self.command.name}: port {self.command.port} on {self.command.host} is "
                    "in use (another server?); choose another port (--port)"
                )
            self.process = launch(argv, log=self._log, env=self.command.env)
        except OSError as exc:
            raise ServeError(
                f"{self.command.name}: cannot start {argv[0]!r} (log {self.log_path}): "
                f"{exc.strerror or exc}; is the server installed?"
            ) from None

    def check(self) -> bool:
        """Restart the server if it has died. True when it was restarted.

        A server that dies again while it loads after a restart counts as one more death,
        and is restarted again within the same bound.

        Raises:
            ServeError: It died more than ``policy.max_restarts`` times within
                ``policy.window`` seconds, or did not come back; quoting its log."""
        process = self.process
        if process is None or process.poll() is None:
            return False
        code = process.returncode
        stop_group(process, grace=5)  # what the dead server started goes too (GPU memory)
        while True:
            now = self.clock()
            self.restarts = [t for t in self.restarts if now - t < self.policy.window]
            if len(self.restarts) >= self.policy.max_restarts:
                self.stop()
                raise ServeError(
                    f"{self.command.name} server died (exit {code}) {len(self.restarts) + 1} "
                    f"times within {self.policy.window:g}s; gave up. The end of its log "
                    f"({self.log_path}):\n{self.log()[-LOG_TAIL:]}"
                )
            if self._log is not None:  # reopened (moved aside first if too large) at the restart
                self._log.close()
                self._log = None
            pause = self.policy.pause(len(self.restarts))
            self.on_event(f"{self.command.name}: died (exit {code}); restarting in {pause:g}s")
            self.restarts.append(now)
            self.sleep(pause)
            try:
                self.start()
            except ServerExited as exc:  # died again while loading: one more death
                code = exc.returncode
                continue
            return True

    def stop(self) -> None:
        """Stop the server's process group (SIGTERM, then SIGKILL) and close its log."""
        process, self.process = self.process, None
        if process is not None:
            stop_group(process)
            self.on_event(f"{self.command.name}: stopped")
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Supervisor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
