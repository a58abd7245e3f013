"""The supervisor on a real, fast server: Python's own ``http.server`` serving a folder
whose files answer ``/health`` and ``/v1/models``. It is started, killed with SIGKILL and
restarted with the policy's pauses, given up on after the bound (the error quotes the
log), and stopped with no process left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from agents.serve import RestartPolicy, ServeError, ServerCommand, Supervisor
from agents.serve.process import free_port, launch, stop_group

from .servers import running

pytestmark = pytest.mark.allow_model_requests  # loopback only


def static_server(tmp_path: Path, serves: tuple[str, ...] = ("tiny",)) -> ServerCommand:
    root = tmp_path / "www"
    (root / "v1").mkdir(parents=True)
    (root / "health").write_text("ok")
    (root / "v1" / "models").write_text(json.dumps({"data": [{"id": "tiny"}]}))
    port = free_port()
    argv = (sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
            "--directory", str(root))  # fmt: skip
    return ServerCommand("static", argv, "127.0.0.1", port, serves)


def gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def kill(supervisor: Supervisor) -> int:
    process = supervisor.process
    assert process is not None
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    return process.pid


class Recorder:
    """The supervisor's sleep: really sleeps, and keeps the restart pauses."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    def __call__(self, seconds: float) -> None:
        if seconds != 0.25:  # the health check's poll
            self.pauses.append(seconds)
        time.sleep(seconds)


def test_a_killed_server_is_restarted_after_the_policys_pause(tmp_path: Path) -> None:
    sleep, events = Recorder(), []
    supervisor = Supervisor(
        static_server(tmp_path),
        log_path=tmp_path / "logs" / "static.log",
        startup_timeout=30,
        policy=RestartPolicy(max_restarts=3, window=60, backoff=(0.05, 0.1)),
        on_event=events.append,
        sleep=sleep,
    )
    with supervisor:
        assert supervisor.check() is False  # healthy: nothing to do
        first = kill(supervisor)
        assert supervisor.check() is True
        second = kill(supervisor)
        assert supervisor.check() is True
        assert supervisor.pid not in (None, first, second)
        assert gone(first) and gone(second)
        assert sleep.pauses == pytest.approx([0.05, 0.1], abs=0.01)
        last = supervisor.pid
    assert last is not None and gone(last)
    url = supervisor.command.base_url
    pids = [first, second, last]
    assert events == [
        f"static: started (pid {first}), loading", f"static: ready at {url}",
        "static: died (exit -9); restarting in 0.05s",
        f"static: started (pid {second}), loading", f"static: ready at {url}",
        "static: died (exit -9); restarting in 0.1s",
        f"static: started (pid {pids[2]}), loading", f"static: ready at {url}",
        "static: stopped",
    ]  # fmt: skip
    # The log survives the server, with every start of it.
    assert supervisor.log().count('"GET /health HTTP/1.1" 200') >= 3


def test_it_gives_up_after_the_bound_and_quotes_the_log(tmp_path: Path) -> None:
    supervisor = Supervisor(
        static_server(tmp_path),
        log_path=tmp_path / "static.log",
        startup_timeout=30,
        policy=RestartPolicy(max_restarts=2, window=60, backoff=(0.0,)),
    )
    supervisor.start()
    pids = [kill(supervisor)]
    assert supervisor.check()
    pids.append(kill(supervisor))
    assert supervisor.check()
    pids.append(kill(supervisor))
    with pytest.raises(ServeError) as error:
        supervisor.check()
    message = str(error.value)
    assert message.startswith(
        "static server died (exit -9) 3 times within 60s; gave up. The end of its log "
        f"({tmp_path / 'static.log'}):\n"
    )
    assert '"GET /v1/models HTTP/1.1" 200' in message
    assert supervisor.process is None and all(gone(p) for p in pids)


def test_a_death_while_reloading_counts_against_the_bound_and_is_restarted(
    tmp_path: Path,
) -> None:
    """The server comes up once, is killed, then dies while loading at every restart: each
    of those deaths is restarted too (max_restarts in all), not given up on at the first."""
    static = static_server(tmp_path)
    starts = tmp_path / "starts"
    code = (
        "import os, pathlib, sys\n"
        f"p = pathlib.Path({str(starts)!r})\n"
        "n = int(p.read_text()) + 1 if p.exists() else 1\n"
        "p.write_text(str(n))\n"
        "print('start', n, flush=True)\n"
        "if n > 1: sys.exit(3)\n"
        "os.execv(sys.argv[1], sys.argv[1:])\n"
    )
    command = ServerCommand(
        "flaky", (sys.executable, "-c", code, *static.argv), "127.0.0.1", static.port, ("tiny",)
    )
    supervisor = Supervisor(
        command,
        log_path=tmp_path / "flaky.log",
        startup_timeout=30,
        policy=RestartPolicy(max_restarts=3, window=60, backoff=(0.0,)),
    )
    supervisor.start()
    kill(supervisor)
    with pytest.raises(ServeError) as error:
        supervisor.check()
    assert str(error.value).startswith(
        "flaky server died (exit 3) 4 times within 60s; gave up. The end of its log "
    )
    assert starts.read_text() == "4"  # the first start and three restarts
    assert supervisor.process is None


def test_restarts_outside_the_window_do_not_count(tmp_path: Path) -> None:
    now = [0.0]
    supervisor = Supervisor(
        static_server(tmp_path),
        log_path=tmp_path / "static.log",
        startup_timeout=30,
        policy=RestartPolicy(max_restarts=1, window=10, backoff=(0.0,)),
        clock=lambda: now[0],
        sleep=lambda s: time.sleep(min(s, 0.05)),
    )
    with supervisor:
        for _ in range(3):  # one crash every 11 s: never two within the window
            now[0] += 11
            kill(supervisor)
            assert supervisor.check()


def test_a_server_that_cannot_start_is_an_error_with_its_log(tmp_path: Path) -> None:
    code = "import sys; print('no model in /nowhere', flush=True); sys.exit(3)"
    command = ServerCommand("broken", (sys.executable, "-c", code), "127.0.0.1", free_port(), ())
    supervisor = Supervisor(command, log_path=tmp_path / "broken.log", startup_timeout=30)
    with pytest.raises(ServeError) as error:
        supervisor.start()
    assert str(error.value) == (
        "broken server exited with 3 before it was healthy; the end of its log:\n"
        "no model in /nowhere\n"
    )
    assert supervisor.process is None


def test_a_server_that_never_serves_its_model_times_out(tmp_path: Path) -> None:
    command = static_server(tmp_path, serves=("tiny", "other"))
    supervisor = Supervisor(command, log_path=tmp_path / "s.log", startup_timeout=1.5)
    with pytest.raises(ServeError, match=r"was not ready after 1.5s \(not serving yet: other\)"):
        supervisor.start()
    assert supervisor.process is None


def test_stop_ends_the_process_group_children_included(tmp_path: Path) -> None:
    # A server that starts a worker of its own (as vLLM does): both must go.
    code = (
        "import subprocess, sys, http.server, functools;"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']);"
        "print(child.pid, flush=True);"
        "h = functools.partial(http.server.SimpleHTTPRequestHandler,"
        f" directory={str(tmp_path / 'www')!r});"
        "http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), h).serve_forever()"
    )
    base = static_server(tmp_path)
    command = ServerCommand("parent", (sys.executable, "-c", code, str(base.port)),
                            "127.0.0.1", base.port, ("tiny",))  # fmt: skip
    supervisor = Supervisor(
        command,
        log_path=tmp_path / "p.log",
        startup_timeout=30,
        policy=RestartPolicy(backoff=(0.0,)),
    )
    with supervisor:
        # The leader is killed: its worker must not outlive it into the restart.
        (orphan,) = pids(supervisor)
        kill(supervisor)
        assert running(orphan)
        assert supervisor.check()
        assert ends(orphan)
        leader = supervisor.pid
        child = pids(supervisor)[-1]
        assert running(child) and child != orphan
    assert leader is not None and not running(leader)
    assert ends(child)


def pids(supervisor: Supervisor) -> list[int]:
    """The workers' pids, as the server printed them (one a line)."""
    return [int(line) for line in supervisor.log().splitlines() if line.isdigit()]


def ends(pid: int) -> bool:
    """Whether ``pid`` stops running within 10 s (a signal takes a moment to land)."""
    deadline = time.monotonic() + 10
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not running(pid)


def test_a_busy_port_or_a_missing_server_is_a_clear_error(tmp_path: Path) -> None:
    command = static_server(tmp_path)
    with Supervisor(command, log_path=tmp_path / "a.log", startup_timeout=30) as first:
        second = Supervisor(command, log_path=tmp_path / "b.log", startup_timeout=30)
        with pytest.raises(ServeError) as busy:
            second.start()
        assert str(busy.value) == (
            f"static: port {command.port} on 127.0.0.1 is in use (another server?); "
            "choose another port (--port)"
        )
        assert first.check() is False  # the first one is untouched
    missing = ServerCommand("vllm", ("/nowhere/vllm", "serve"), "127.0.0.1", free_port(), ())
    with pytest.raises(ServeError) as error:
        Supervisor(missing, log_path=tmp_path / "v.log").start()
    assert str(error.value) == (
        f"vllm: cannot start '/nowhere/vllm' (log {tmp_path / 'v.log'}): No such file or "
        "directory; is the server installed?"
    )


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_a_child_whose_parent_died_before_it_asked_ends_itself() -> None:
    """The kernel sends the parent-death signal only for a death after the request; a
    child that finds another parent by then (the given one died first) ends at once."""
    import subprocess
    from functools import partial

    from agents.serve.process import die_with_parent

    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    orphan = subprocess.Popen(sleeper, preexec_fn=partial(die_with_parent, os.getpid() + 10**6))
    assert orphan.wait(timeout=10) == -signal.SIGTERM
    # Also when the parent has a SIGTERM handler of its own (Ray, lyceum serve's): the
    # forked child inherits it, and it must not turn the ending into a preexec_fn error.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        wrong = partial(die_with_parent, os.getpid() + 10**6)
        assert subprocess.Popen(sleeper, preexec_fn=wrong).wait(timeout=10) == -signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)
    child = subprocess.Popen(sleeper, preexec_fn=partial(die_with_parent, os.getpid()))
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(timeout=0.5)  # its parent (this process) lives: it runs on
    finally:
        child.kill()
        child.wait(timeout=10)


def test_the_health_check_ignores_proxy_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server is on this machine: an HTTP_PROXY in the environment (a corporate proxy)
    must not route the health check away from it."""
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with Supervisor(static_server(tmp_path), log_path=tmp_path / "s.log", startup_timeout=8):
        pass


# -- several servers under run_plan: one's slow reload holds up nothing else -------------
def slow_to_restart(static: ServerCommand, name: str, starts: Path) -> ServerCommand:
    """``static`` named ``name``, whose every start after the first sleeps 600 s before
    it listens (a model that takes long to load)."""
    code = (
        "import os, pathlib, sys, time\n"
        f"p = pathlib.Path({str(starts)!r})\n"
        "n = int(p.read_text()) + 1 if p.exists() else 1\n"
        "p.write_text(str(n))\n"
        "if n > 1: time.sleep(600)\n"
        "os.execv(sys.argv[1], sys.argv[1:])\n"
    )
    argv = (sys.executable, "-c", code, *static.argv)
    return ServerCommand(name, argv, "127.0.0.1", static.port, static.serves)


class Script:
    """``run_plan``'s sleep: each tick it takes the next step of the scenario once the
    events say its moment has come (and gives up after 60 s)."""

    def __init__(self, events: list[str]) -> None:
        self.events, self.step = events, 0
        self.deadline = time.monotonic() + 60
        self.seen: dict[str, bool] = {}

    def pids(self, name: str) -> list[int]:
        prefix = f"{name}: started (pid "
        return [int(e[len(prefix) :].split(")")[0]) for e in self.events if e.startswith(prefix)]

    def count(self, line: str) -> int:
        return sum(e.startswith(line) for e in self.events)

    def __call__(self, seconds: float) -> None:
        time.sleep(0.02)
        assert time.monotonic() < self.deadline, self.events
        if self.step == 0 and self.count("logs in"):
            os.kill(self.pids("a")[0], signal.SIGKILL)  # A dies, and reloads for long
        elif self.step == 1 and len(self.pids("a")) == 2:
            os.kill(self.pids("b")[0], signal.SIGKILL)  # B dies while A loads
        elif self.step == 2 and self.count("b: ready") == 2:
            time.sleep(0.3)  # a parent-death signal (a launch from an ended thread) lands
            self.seen = {
                "a still loading": self.count("a: ready") == 1,
                "a running": running(self.pids("a")[1]),
                "b running": running(self.pids("b")[1]),
            }
            os.kill(os.getpid(), signal.SIGTERM)  # while A still loads
        else:
            return
        self.step += 1


def test_one_servers_slow_reload_holds_up_neither_anothers_restart_nor_sigterm(
    tmp_path: Path,
) -> None:
    from agents.serve import run_plan

    from .test_serve_hostile import fake_plan

    a = slow_to_restart(static_server(tmp_path / "a"), "a", tmp_path / "a-starts")
    b = replace(static_server(tmp_path / "b"), name="b")
    plan = replace(fake_plan(tmp_path, a), servers=(a, b))
    events: list[str] = []
    script = Script(events)
    registry = tmp_path / "served.yaml"
    before = signal.getsignal(signal.SIGTERM)  # SIG_DFL, or Ray's when a Ray test ran first
    run_plan(plan, log_dir=tmp_path / "logs", startup_timeout=60, registry=registry,
             policy=RestartPolicy(backoff=(0.0,)), on_event=events.append, tick=0.02,
             sleep=script)  # fmt: skip
    assert script.seen == {"a still loading": True, "a running": True, "b running": True}
    (a1, a2), (b1, b2) = script.pids("a"), script.pids("b")
    assert events == [
        f"a: started (pid {a1}), loading", f"a: ready at {a.base_url}",
        f"b: started (pid {b1}), loading", f"b: ready at {b.base_url}",
        f"transformers: serving {', '.join(plan.endpoints)}; registry {registry}",
        f"logs in {tmp_path / 'logs'}; Ctrl-C stops",
        "a: died (exit -9); restarting in 0s", f"a: started (pid {a2}), loading",
        "b: died (exit -9); restarting in 0s", f"b: started (pid {b2}), loading",
        f"b: ready at {b.base_url}",
        "stopping", "a: stopped", "b: stopped", "stopped; no server left running",
    ]  # fmt: skip
    assert not any(running(pid) for pid in (a1, a2, b1, b2))  # the loading A too
    assert not registry.exists()
    assert signal.getsignal(signal.SIGTERM) is before  # lyceum serve's handler is removed


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_a_server_started_from_a_thread_that_ends_is_sent_sigterm(tmp_path: Path) -> None:
    """Why ``run_plan`` starts servers from the main thread only: Linux sends the
    parent-death signal when the *thread* that started the child ends."""
    started: list[subprocess.Popen[bytes]] = []
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    with (tmp_path / "log").open("ab") as log:
        worker = threading.Thread(target=lambda: started.append(launch(sleeper, log=log)))
        worker.start()
        worker.join()
    (process,) = started
    try:
        assert process.wait(timeout=10) == -signal.SIGTERM
    finally:
        stop_group(process)
