"""Running a serving plan until it is stopped: what ``lyceum serve`` does after planning.

Before anything starts, ``run_plan`` checks that the log folder and the served registry's
folder are writable and that every port is free (``preflight``). Then it starts the
servers, writes the served registry, restarts a server that dies, and on Ctrl-C or SIGTERM
stops every server and removes the registry. Every server is polled in turn from the main
thread (``Supervisor.poll``, which never waits for a restart to finish), so one server's
slow reload holds up neither another's restart nor a Ctrl-C, which stops a server that is
still loading too; and no server is started from a thread that could exit before it
(the parent-death signal follows the starting thread). A second Ctrl-C or SIGTERM while it stops is
ignored, so that the stop is not cut short and no server is left behind.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from agents.serve.plan import ServePlan
from agents.serve.process import port_free
from agents.serve.registry import served_path, write_served
from agents.serve.supervisor import RestartPolicy, Supervisor
from protocols import UserError

__all__ = ["log_path", "preflight", "run_plan"]


def log_path(log_dir: Path, name: str, port: int) -> Path:
    """Where the server ``name`` on ``port`` writes its log."""
    return log_dir / f"{name}-{port}.log"


def preflight(plan: ServePlan, log_dir: Path, registry: Path) -> None:
    """Check, before anything starts, that the logs and the registry can be written and
    that every server's port is free.

    Raises:
        UserError: Naming what cannot be written or which port is taken, and the fix.
    """
    probe = registry.with_name(f".{registry.name}.{os.getpid()}.check")
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(
            f"cannot write the served registry {registry}: {exc.strerror or exc}; make its "
            "folder writable, or copy the experts file to a writable folder"
        ) from None
    for server in plan.servers:
        if not port_free(server.host, server.port):
            raise UserError(
                f"port {server.port} on {server.host} is in use (another server?); choose "
                "another port (--port or serve.port)"
            )
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        for server in plan.servers:
            with log_path(log_dir, server.name, server.port).open("ab"):
                pass
    except OSError as exc:
        raise UserError(
            f"cannot write the servers' logs in {log_dir}: {exc.strerror or exc}; give a "
            "writable folder as --log-dir"
        ) from None


SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _ignore_signals() -> None:
    """From here on a second Ctrl-C or SIGTERM cannot cut the stop short."""
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def run_plan(
    plan: ServePlan,
    *,
    log_dir: Path,
    startup_timeout: float = 600.0,
    registry: Path | None = None,
    policy: RestartPolicy | None = None,
    on_event: Callable[[str], None] = lambda line: None,
    tick: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Serve ``plan`` until Ctrl-C or SIGTERM (in the main thread).

    Args:
        plan: What to serve (``plan_serving``).
        log_dir: Where each server's log goes.
        startup_timeout: Seconds a server may take to be healthy.
        registry: The served registry (default ``served_path(plan.source)``); it exists
            only while every server runs.
        policy: How dead servers are restarted.
        on_event: Told of each step, as one line.
        tick: Seconds between two rounds of polling the servers.
        clock, sleep: Injected for tests.

    Raises:
        UserError: A preflight check failed (nothing was started).
        ServeError: A server did not start or kept dying (every server is stopped).
    """
    registry = registry or served_path(plan.source)
    preflight(plan, log_dir, registry)
    supervisors = [
        Supervisor(
            server,
            log_path=log_path(log_dir, server.name, server.port),
            startup_timeout=startup_timeout,
            policy=policy,
            on_event=on_event,
            clock=clock,
            sleep=sleep,
        )
        for server in plan.servers
    ]
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    try:
        for sig in SIGNALS:
            signal.signal(sig, _interrupt)
        try:
            for supervisor in supervisors:
                supervisor.start()
            write_served(plan, registry)
            on_event(f"{plan.backend}: serving {', '.join(plan.endpoints)}; registry {registry}")
            on_event(f"logs in {log_dir}; Ctrl-C stops")
            while True:
                for supervisor in supervisors:
                    supervisor.poll()
                sleep(tick)
        except KeyboardInterrupt:
            _ignore_signals()
            on_event("stopping")
    finally:
        _ignore_signals()
        registry.unlink(missing_ok=True)
        for supervisor in supervisors:
            supervisor.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    on_event("stopped; no server left running")
