"""An isolating executor for model-written Python, for the personas that need real code.

Model output is untrusted (see ``docs/security.md``), so the code never runs in lyceum's
process. Each run gets:

- a fresh ``python -I -S`` child process (``subprocess``, never a fork of this interpreter):
  an empty environment, a temporary working folder, stdin from a file, stdout and stderr to
  files that are read back up to ``output_bytes``;
- rlimits: CPU seconds, address space, open files, file size, and processes (no fork, no
  threads), set by ``personas/executor_child.py`` inside the child;
- when lyceum runs as root: the unprivileged ``nobody`` (65534) uid and gid, with no
  supplementary groups, taken before the limits are set;
- its own session and process group, killed as a whole (``SIGKILL``) at the time limit and
  always when the run ends;
- with bubblewrap (``bwrap``) where it is installed *and* works (probed once: containers may
  forbid namespaces): a read-only view of only ``/usr`` and the interpreter, a private
  ``/tmp``, ``/proc`` and ``/dev``, the working folder bound at ``/sandbox``, no network,
  its own PID namespace, and ``--die-with-parent``.

``isolation="auto"`` (the default) uses bubblewrap when the probe succeeds and otherwise
falls back to rlimits and the uid, saying so in the result's ``notes`` and in a log warning;
``isolation="bubblewrap"`` refuses to run without it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Literal

from protocols import UserError

__all__ = ["CodeExecutor", "ExecutionResult", "ExecutorLimits", "Isolation"]

log = logging.getLogger(__name__)

NOBODY = 65534
SANDBOX_DIR = "/sandbox"
_CHILD = Path(__file__).with_name("executor_child.py")


class Isolation(StrEnum):
    """How a run was isolated."""

    BUBBLEWRAP = "bubblewrap"  # namespaces + read-only filesystem + no network, and rlimits
    RLIMITS = "rlimits"  # a separate process, rlimits, unprivileged uid when root, no bwrap


@dataclass(frozen=True)
class ExecutorLimits:
    """The bounds of one run.

    Attributes:
        seconds: Wall-clock time before the process group is killed.
        cpu_seconds: ``RLIMIT_CPU`` (the kernel kills the process after one more second).
        memory_bytes: ``RLIMIT_AS``, the address space.
        file_bytes: ``RLIMIT_FSIZE``: the largest file it may write (stdout included).
        open_files: ``RLIMIT_NOFILE``.
        output_bytes: How much of stdout and of stderr is read back.
        code_chars: The longest program accepted.
    """

    seconds: float = 10.0
    cpu_seconds: int = 5
    memory_bytes: int = 512 * 2**20
    file_bytes: int = 8 * 2**20
    open_files: int = 64
    output_bytes: int = 64 * 2**10
    code_chars: int = 200_000

    def rlimits(self) -> dict[str, tuple[int, int]]:
        return {
            "RLIMIT_CPU": (self.cpu_seconds, self.cpu_seconds + 1),
            "RLIMIT_AS": (self.memory_bytes, self.memory_bytes),
            "RLIMIT_FSIZE": (self.file_bytes, self.file_bytes),
            "RLIMIT_NOFILE": (self.open_files, self.open_files),
            "RLIMIT_NPROC": (1, 1),  # already at it: no fork, no thread
            "RLIMIT_CORE": (0, 0),
        }


@dataclass(frozen=True)
class ExecutionResult:
    """What one run did.

    Attributes:
        stdout: Its standard output, decoded, at most ``output_bytes``.
        stderr: Its standard error, likewise (a traceback when the program raised).
        exit_code: The process's status: 0 on success; a signal is negative (``-9``) at
            the rlimits level and ``128 + N`` under bubblewrap (bwrap's convention).
        isolation: The level it ran under.
        timed_out: It ran past ``seconds`` and was killed.
        truncated: Output was longer than ``output_bytes`` and was cut.
        seconds: Wall-clock time.
        run_id: A marker in the child's command line (to find its processes).
        notes: Why a weaker level was used, and other remarks.
    """

    stdout: str
    stderr: str
    exit_code: int
    isolation: Isolation
    timed_out: bool
    truncated: bool
    seconds: float
    run_id: str
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """It finished in time with status 0."""
        return self.exit_code == 0 and not self.timed_out


def _mirror_root_dirs() -> list[str]:
    """bwrap arguments that give the sandbox the host's ``/bin``, ``/lib*`` (links into
    ``/usr`` on merged-/usr systems, folders elsewhere)."""
    argv: list[str] = []
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    return argv


def _interpreter_prefix(python: str) -> str:
    """The folder holding the interpreter and its standard library."""
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        return os.path.realpath(sys.base_prefix)
    return os.path.dirname(os.path.dirname(os.path.realpath(python)))


def bubblewrap_argv(bwrap: str, python: str, workdir: str, *, as_root: bool) -> list[str]:
    """The bwrap command line that runs ``python`` with ``workdir`` at ``/sandbox``.

    As root, bwrap makes every namespace but the user namespace (so that the child can still
    become ``nobody`` on the host, where the kernel counts its processes) and keeps only the
    capabilities to do so; otherwise ``--unshare-all``.
    """
    argv = [bwrap]
    if as_root:
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
        argv += ["--unshare-cgroup-try", "--cap-drop", "ALL"]
        argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        argv += ["--unshare-all"]
    argv += ["--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr"]
    argv += _mirror_root_dirs()
    prefix = _interpreter_prefix(python)
    if prefix != "/usr" and not prefix.startswith("/usr/"):
        parents = [str(p) for p in reversed(Path(prefix).parents) if str(p) != "/"]
        for parent in parents:  # readable by nobody, whatever the host's modes
            argv += ["--perms", "0755", "--dir", parent]
        argv += ["--ro-bind", prefix, prefix]
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    argv += ["--bind", workdir, SANDBOX_DIR, "--chdir", "/", "--unsetenv", "PWD"]
    return [*argv, os.path.realpath(python)]


def _wait_exited(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` has exited, without reaping it (so its process-group id cannot be
    reused before the group is killed); False at the timeout."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux 5.3+: poll
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
            time.sleep(0.01)
        return False
    try:
        ready, _, _ = select.select([pidfd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(pidfd)


def _kill_marked(marker: str, *, wait: float = 5.0) -> None:
    """SIGKILL every process whose command line holds ``marker`` (the run id, in the
    arguments of bwrap, its init and the child) and wait, bounded, until they have exited.

    bwrap's sandbox runs in its own session, and bwrap can exit before its init has, so the
    process group does not reach it. A pidfd pins each process before it is signalled, so a
    reused pid is never hit; and when the init of a PID namespace exits, the kernel has
    killed the rest of the namespace first."""
    pidfds: list[int] = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() not in cmdline.read_bytes():
                continue
            pidfd = os.pidfd_open(int(cmdline.parent.name))
        except (OSError, ValueError):
            continue
        try:
            if marker.encode() in cmdline.read_bytes():  # still the same process
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                pidfds.append(pidfd)
                continue
        except OSError:
            pass
        os.close(pidfd)
    deadline = time.monotonic() + wait
    for pidfd in pidfds:
        select.select([pidfd], [], [], max(0.0, deadline - time.monotonic()))
        os.close(pidfd)


def _read(stream: IO[bytes], limit: int) -> tuple[str, bool]:
    stream.seek(0)
    data = stream.read(limit + 1)
    return data[:limit].decode("utf-8", errors="replace"), len(data) > limit


def probe_bubblewrap(python: str = sys.executable, *, bwrap: str | None = None) -> str | None:
    """None if bubblewrap is installed and can run ``python`` here; else why not."""
    found = bwrap or shutil.which("bwrap")
    if found is None:
        return "bubblewrap (bwrap) is not installed; apt-get install bubblewrap"
    with tempfile.TemporaryDirectory(prefix="lyceum-probe-") as workdir:
        argv = bubblewrap_argv(found, python, workdir, as_root=os.geteuid() == 0)
        try:
            done = subprocess.run(
                [*argv, "-I", "-S", "-c", "pass"],
                env={},
                capture_output=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap did not start: {exc}"
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        return f"bubblewrap does not work here: {detail[-1] if detail else done.returncode}"
    return None


class CodeExecutor:
    """Runs model-written Python in an isolated child process.

    Args:
        limits: The bounds of each run.
        isolation: ``auto`` (bubblewrap if it works, else rlimits, with a note), or
            ``bubblewrap`` (refuse without it), or ``rlimits`` (never bubblewrap).
        python: The interpreter to run (default: this one). The child gets only its
            standard library (``-I -S``), never lyceum's packages.
        bwrap: The bubblewrap binary (default: ``bwrap`` on ``PATH``).
    """

    def __init__(
        self,
        limits: ExecutorLimits | None = None,
        *,
        isolation: Literal["auto", "bubblewrap", "rlimits"] = "auto",
        python: str | None = None,
        bwrap: str | None = None,
    ) -> None:
        self.limits = limits or ExecutorLimits()
        self.requested = isolation
        self.python = os.path.realpath(python or sys.executable)
        self.bwrap = bwrap or shutil.which("bwrap")
        self._level: tuple[Isolation, tuple[str, ...]] | None = None

    def level(self) -> tuple[Isolation, tuple[str, ...]]:
        """The isolation level runs get here, and notes on why (probed once)."""
        if self._level is None:
            self._level = self._choose()
        return self._level

    def _choose(self) -> tuple[Isolation, tuple[str, ...]]:
        if self.requested == "rlimits":
            return Isolation.RLIMITS, ("bubblewrap not requested: no network isolation",)
        why_not = probe_bubblewrap(self.python, bwrap=self.bwrap)
        if why_not is None:
            return Isolation.BUBBLEWRAP, ()
        if self.requested == "bubblewrap":
            raise UserError(f"isolation='bubblewrap' was asked for, but {why_not}")
        note = f"{why_not}; fell back to rlimits and uid only (no network isolation)"
        log.warning("code executor: %s", note)
        return Isolation.RLIMITS, (note,)

    def _argv(self, level: Isolation, workdir: str, run_id: str) -> list[str]:
        as_root = os.geteuid() == 0
        config = {
            "run": run_id,
            "cwd": SANDBOX_DIR if level is Isolation.BUBBLEWRAP else workdir,
            "drop_to": [NOBODY, NOBODY] if as_root else None,
            "rlimits": self.limits.rlimits(),
        }
        if level is Isolation.BUBBLEWRAP:
            assert self.bwrap is not None
            start = bubblewrap_argv(self.bwrap, self.python, workdir, as_root=as_root)
        else:
            start = [self.python]
        return [*start, "-I", "-S", "-c", _CHILD.read_text(), json.dumps(config)]

    def run(self, code: str) -> ExecutionResult:
        """Run ``code`` as ``__main__`` and report what it did; never raises for what the
        program does (a crash is a non-zero ``exit_code`` with the traceback in ``stderr``).

        Raises:
            UserError: The program is longer than ``limits.code_chars``, or bubblewrap was
                required and does not work.
        """
        if len(code) > self.limits.code_chars:
            raise UserError(
                f"the program has {len(code)} characters, over the limit of "
                f"{self.limits.code_chars}"
            )
        level, notes = self.level()
        run_id = f"lyceum-exec-{uuid.uuid4().hex}"
        workdir = tempfile.mkdtemp(prefix="lyceum-exec-")
        start = time.monotonic()
        try:
            if os.geteuid() == 0:
                os.chown(workdir, NOBODY, NOBODY)
            return self._run(code, level, notes, workdir, run_id, start)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _run(
        self,
        code: str,
        level: Isolation,
        notes: tuple[str, ...],
        workdir: str,
        run_id: str,
        start: float,
    ) -> ExecutionResult:
        with (
            tempfile.TemporaryFile() as stdin,
            tempfile.TemporaryFile() as stdout,
            tempfile.TemporaryFile() as stderr,
        ):
            stdin.write(code.encode())
            stdin.seek(0)
            process = subprocess.Popen(
                self._argv(level, workdir, run_id),
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                env={},
                cwd=workdir,
                start_new_session=True,
                close_fds=True,
            )
            try:
                timed_out = not _wait_exited(process.pid, self.limits.seconds)
            finally:
                # The leader is not reaped yet, so its group id is still ours.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                _kill_marked(run_id)
                process.wait()
            out, cut_out = _read(stdout, self.limits.output_bytes)
            err, cut_err = _read(stderr, self.limits.output_bytes)
        return ExecutionResult(
            stdout=out,
            stderr=err,
            exit_code=process.returncode,
            isolation=level,
            timed_out=timed_out,
            truncated=cut_out or cut_err,
            seconds=time.monotonic() - start,
            run_id=run_id,
            notes=notes,
        )
