"""Starting a server process so that it never outlives lyceum: its own process group,
a parent-death signal, its output in a log file, and a stop that ends the whole group."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from functools import partial
from typing import IO

__all__ = ["die_with_parent", "free_port", "launch", "port_free", "stop_group"]

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int | None = None) -> None:
    """In a child process (``Popen(preexec_fn=die_with_parent)``): ask Linux to send it
    SIGTERM when its parent dies, so that a server outlives no ``kill -9`` of lyceum (or of
    pytest). Elsewhere it does nothing (the servers are still stopped by ``stop_group``).

    Args:
        parent: The pid of the process that started it (``launch`` passes its own). If
            that parent died before the request was made (the kernel then sends nothing),
            the child ends itself at once.
    """
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if parent is not None and os.getppid() != parent:
        # The default action, not a handler the parent installed (Python's would raise
        # in this preexec_fn instead of ending the child): SIG_DFL is 0.
        libc.signal(signal.SIGTERM, 0)
        os.kill(os.getpid(), signal.SIGTERM)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_free(host: str, port: int) -> bool:
    """Whether ``port`` can be bound on ``host`` now (a wildcard host: on every interface)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As servers bind: a port whose last connections are closing (TIME_WAIT) is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def launch(
    argv: Sequence[str], *, log: IO[bytes], env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session (its own process group), writing stdout and stderr
    to ``log``, with the parent-death signal set. ``env`` is added to this process's
    environment (``COLUMNS`` is dropped, so that server logs are not wrapped).

    The parent-death signal is sent when the *thread* that called ``launch`` exits (Linux
    ties it to the thread, not the process): call it from a thread that lives as long as
    the server, as ``run_plan`` does from the main thread."""
    full = {**os.environ, **(env or {})}
    full.pop("COLUMNS", None)
    return subprocess.Popen(
        list(argv),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=full,
        start_new_session=True,
        preexec_fn=partial(die_with_parent, os.getpid()),  # before exec; no threads here
    )


def stop_group(process: subprocess.Popen[bytes], *, grace: float = 10.0) -> None:
    """SIGTERM the process group of ``process``, wait ``grace`` seconds, then SIGKILL it;
    the group is gone when this returns (a child the server started included)."""
    group = process.pid  # start_new_session: the group id is the leader's pid
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, sig)
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        with contextlib.suppress(ProcessLookupError):  # stragglers of the group
            os.killpg(group, signal.SIGKILL)
        return
