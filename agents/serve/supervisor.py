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
from agents.serve.health import (
    LOG_TAIL,
    ServeError,
    ServerExited,
    missing_models,
    not_ready,
    wait_healthy,
)
from agents.serve.process import launch, port_free, stop_group

__all__ = ["RestartPolicy", "ServeError", "ServerExited", "Supervisor", "wait_healthy"]

MAX_LOG_BYTES = 100 * 2**20
"""A log larger than this when its server (re)starts is moved to ``LOG.1`` first."""


@dataclass(frozen=True)
class RestartPolicy:
    """At most ``max_restarts`` restarts within ``window`` seconds; the n-th restart in a
    row waits ``backoff[n]`` seconds (the last value once past the end)."""

    max_restarts: int = 3
    window: float = 300.0
    backoff: tuple[float, ...] = (1.0, 2.0, 4.0)

    def pause(self, n: int) -> float:
        return self.backoff[min(n, len(self.backoff) - 1)] if self.backoff else 0.0


class Supervisor:
    """Runs ``command`` and keeps it running.

    ``start`` waits until the server is healthy. After that ``poll`` supervises it without
    waiting: each call takes one step of a restart (a death seen, the policy's pause, the
    launch, the loading, healthy again), so that ``run_plan`` polls every server in turn
    and one server's long reload never holds up another's restart, nor Ctrl-C: a server
    that is still loading is ``self.process`` like any other, and ``stop`` ends it.
    ``check`` is the waiting form, for a single server.

    Each launch happens in the thread that calls ``start``, ``poll`` or ``check``, and that
    thread must live as long as the server: Linux sends the parent-death signal
    (``PR_SET_PDEATHSIG``, see ``process.launch``) when the *thread* that started the
    child exits, not only the process, so a server started from a short-lived worker
    thread is sent SIGTERM when that thread ends. ``run_plan`` polls from the main thread
    and starts no thread.

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
        self._due: float | None = None  # a restart pauses until then
        self._deadline: float | None = None  # a restarted server loads until then
        self._missing: list[str] | None = None
        self._http: httpx.Client | None = None

    @property
    def pid(self) -> int | None:
        """The server's pid while it runs."""
        return self.process.pid if self.process is not None else None

    @property
    def restarting(self) -> bool:
        """Whether a restart is under way (in its pause, or loading)."""
        return self._due is not None or self._deadline is not None

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
            process = self._launch()
            wait_healthy(
                self.command,
                process,
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

    def _launch(self) -> subprocess.Popen[bytes]:
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
            self.process = process = launch(argv, log=self._log, env=self.command.env)
        except OSError as exc:
            raise ServeError(
                f"{self.command.name}: cannot start {argv[0]!r} (log {self.log_path}): "
                f"{exc.strerror or exc}; is the server installed?"
            ) from None
        self.on_event(f"{self.command.name}: started (pid {process.pid}), loading")
        return process

    def poll(self) -> bool:
        """One step of supervision, without waiting (at most one health check, of a server
        that is loading after a restart). True when a restart has just finished.

        A server that dies again while it loads after a restart counts as one more death,
        and is restarted again within the same bound.

        Raises:
            ServeError: It died more than ``policy.max_restarts`` times within
                ``policy.window`` seconds, could not be launched, or was not healthy within
                ``startup_timeout`` of a restart; quoting its log (it is stopped then)."""
        now = self.clock()
        try:
            if self._due is not None:  # in the pause before a restart
                if now >= self._due:
                    self._due, self._missing = None, None
                    self._launch()
                    self._deadline = now + self.startup_timeout
                return False
            process = self.process
            if process is None or process.poll() is None:
                return self._deadline is not None and self._loaded(now)
            self._died(process.returncode, now)
        except BaseException:
            self.stop()
            raise
        return False

    def _loaded(self, now: float) -> bool:
        """Whether the restarted server is healthy now."""
        if self._http is None:
            self._http = httpx.Client(timeout=2, trust_env=False)  # a local server: no proxy
        found = missing_models(self.command, self._http)
        if found != []:
            self._missing = found if found is not None else self._missing
            if self._deadline is not None and now >= self._deadline:
                raise not_ready(self.command, self.startup_timeout, self._missing, self.log())
            return False
        self._deadline = None
        self.on_event(f"{self.command.name}: ready at {self.command.base_url}")
        return True

    def _died(self, code: int, now: float) -> None:
        """Schedule the restart of a server that exited with ``code``."""
        assert self.process is not None
        stop_group(self.process, grace=5)  # what the dead server started goes too (GPU)
        self._deadline = None
        self.restarts = [t for t in self.restarts if now - t < self.policy.window]
        if len(self.restarts) >= self.policy.max_restarts:
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
        self._due = now + pause

    def check(self) -> bool:
        """Restart the server if it has died, and wait until it is healthy again (``poll``
        in a loop: for one server alone). True when it was restarted.

        Raises:
            ServeError: As ``poll``."""
        restarted = self.poll()
        while not restarted and self.restarting:
            if self._due is not None:
                self.sleep(max(0.0, self._due - self.clock()))
                self._due = min(self._due, self.clock())  # the pause is over
            else:
                self.sleep(0.25)
            restarted = self.poll()
        return restarted

    def stop(self) -> None:
        """Stop the server's process group (SIGTERM, then SIGKILL), even while it loads or
        pauses before a restart, and close its log."""
        process, self.process = self.process, None
        self._due = self._deadline = None
        if process is not None:
            stop_group(process)
            self.on_event(f"{self.command.name}: stopped")
        for resource in (self._log, self._http):
            if resource is not None:
                resource.close()
        self._log, self._http = None, None

    def __enter__(self) -> Supervisor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
