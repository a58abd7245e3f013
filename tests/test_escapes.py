"""The escape corpus: known sandbox escapes and bombs, run against the calculator and against
the code executor at each isolation level (docs/security.md).

Every program tries to do harm: read a file only the test's user may read (SECRET_FILE,
mode 0600), read the test process's environment secret, create MARKER in the test's
private folder, reach a loopback server, leave a process behind, or exhaust a resource. For
each one:

- the calculator refuses it with a clear error (never runs it);
- the executor contains it: the harmful action fails inside the child (the expected error
  is in its stderr) or the run is stopped at its limits; the secret is in no output,
  MARKER does not exist, and no process of the run is left alive.

Executor cases that need bubblewrap skip when it is missing or unusable, and fail instead
under ``LYCEUM_REQUIRE_ALL=1``. Cases that rely on the unprivileged uid skip at the rlimits
level when the tests do not run as root (then the child runs as you: documented).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from personas import CodeExecutor, ExecutionResult, ExecutorLimits, SandboxError, run_sandboxed
from personas.executor import probe_bubblewrap

from .conftest import require

# A goal most programs try once they think they have reached ``os``.
STEAL = "cat SECRET_FILE > MARKER; env >> MARKER"
ENV = "LYCEUM_ESCAPE_SECRET"


@dataclass(frozen=True)
class Escape:
    """One corpus program.

    Attributes:
        id: The readable test id.
        code: The program; SECRET_FILE, MARKER, OUTSIDE, PORT and STEAL are filled in.
        calculator: Part of the calculator's error message.
        executor: What the executor's child must report (any of these in stderr), or
            "TIMEOUT" (stopped at the wall-clock limit), or "KILLED" (by a signal, e.g.
            the CPU limit), or "" (nothing printed: only the containment checks apply).
        needs: "bubblewrap" (only bubblewrap contains it) or "uid" (the rlimits level
            contains it only as an unprivileged user), or "".
    """

    id: str
    code: str
    calculator: str
    executor: tuple[str, ...]
    needs: str = ""


NOT_AVAILABLE = "is not available in the calculator (line 1)"
ATTRIBUTE = "attribute access is not allowed"
DENIED = ("PermissionError", "FileNotFoundError")
NO_FORK = ("BlockingIOError", "Resource temporarily unavailable", "can't start new thread")

GI_FRAME_ORIGINAL = (
    "math = (y for i in [1] for y in [[math['__builtins__'] for math in [math.gi_frame] "
    "for math in [math.f_back] for math in [math.f_back] for math in [math.f_globals]]])\n"
    "b = list(math)[0][0]\n"
    "math = b['__import__']('os')\n"
    "math.system('STEAL')\n"
)

CORPUS = [
    # frames, generators, code objects, tracebacks
    Escape("gi_frame-original", GI_FRAME_ORIGINAL, "attribute access is not allowed (.", ("",)),
    Escape(
        "gi_frame-f_globals",
        "g = (x for x in [1])\n"
        "g.gi_frame.f_globals['__builtins__'].__import__('os').system('STEAL')\n",
        ATTRIBUTE,
        ("",),
    ),
    Escape(
        "gi_frame-f_back-in-generator",
        "g = (g.gi_frame.f_back.f_back for i in [1])\n"
        "f = next(g)\nf.f_globals['__builtins__']['__import__']('os').system('STEAL')\n",
        "'next' is not available in the calculator (line 2)",
        ("",),
    ),
    Escape(
        "tb_frame",
        "try:\n    1 / 0\nexcept Exception as e:\n"
        "    e.__traceback__.tb_frame.f_globals['__builtins__']"
        ".__import__('os').system('STEAL')\n",
        "'try' is not allowed (line 1)",
        ("",),
    ),
    Escape(
        "gi_code",
        "c = (x for x in [1]).gi_code\n"
        "f = type(lambda: 0)(compile(\"__import__('os').system('STEAL')\", 'x', 'exec'), {})\n"
        "f()\n",
        "'type' is not available in the calculator (line 2)",
        ("",),
    ),
    Escape(
        "subclasses-catch_warnings",
        "w = [c for c in ().__class__.__base__.__subclasses__() "
        "if c.__name__ == 'catch_warnings'][0]()\n"
        "w._module.__builtins__['__import__']('os').system('STEAL')\n",
        "only calculator functions can be called, by name",
        ("",),
    ),
    Escape(
        "class-mro-subclasses",
        "print([].__class__.__mro__[-1].__subclasses__())\n",
        ATTRIBUTE,
        ("",),
    ),
    # format strings
    Escape(
        "format-attribute",
        "print('{0.gi_frame.f_globals[__builtins__]}'.format((x for x in [1])))\n",
        ATTRIBUTE,
        ("",),
    ),
    Escape(
        "format_map",
        "print('{x.__class__.__mro__}'.format_map({'x': 1}))\n",
        "dicts are not available in the calculator (line 1)",
        ("",),
    ),
    Escape(
        "percent-format",
        "print('%s' % (open('SECRET_FILE').read(),))\n",
        NOT_AVAILABLE,
        DENIED,
        needs="uid",
    ),
    # encodings and spelling
    Escape(
        "unicode-exec",
        "ｅｘｅｃ(\"__import__('os').system('STEAL')\")\n",
        "'exec' " + NOT_AVAILABLE,
        ("",),
    ),
    Escape(
        "unicode-import",
        "__ｉｍｐｏｒｔ__('os').system('STEAL')\n",
        "'__import__' " + NOT_AVAILABLE,
        ("",),
    ),
    Escape(
        "coding-utf7",
        "# coding: utf-7\n+AF8AXw-import+AF8AXw-('os').system('STEAL')\n",
        "not valid Python",
        ("SyntaxError",),
    ),
    Escape(
        "string-escapes-getattr",
        "getattr(__builtins__, '\\x5f\\x5fimport\\x5f\\x5f')('os').system('STEAL')\n",
        "'getattr' " + NOT_AVAILABLE,
        ("",),
    ),
    Escape(
        "getattr-built-string",
        "name = '_' * 2 + 'import' + '_' * 2\ngetattr(__builtins__, name)('os').system('STEAL')\n",
        "'getattr' is not available in the calculator (line 2)",
        ("",),
    ),
    Escape("breakpoint", "breakpoint()\n", "'breakpoint' " + NOT_AVAILABLE, ("",)),
    Escape(
        "dunder-import",
        "__import__('os').system('STEAL')\n",
        "'__import__' " + NOT_AVAILABLE,
        ("",),
    ),
    Escape("import-os-system", "import os\nos.system('STEAL')\n", "imports are not allowed", ("",)),
    Escape(
        "subprocess-shell",
        "import subprocess\nsubprocess.run('STEAL', shell=True)\n",
        "imports are not allowed",
        (*NO_FORK, "ModuleNotFoundError"),
    ),
    # files, environment, network
    Escape(
        "open-etc-passwd",
        "print(open('/etc/passwd').read())\n",
        "'open' " + NOT_AVAILABLE,
        ("FileNotFoundError",),
        needs="bubblewrap",
    ),
    Escape(
        "read-0600-file",
        "print(open('SECRET_FILE').read())\n",
        "'open' " + NOT_AVAILABLE,
        DENIED,
        needs="uid",
    ),
    Escape(
        "read-file-outside-sandbox",
        "print(open('OUTSIDE').read())\n",
        "'open' " + NOT_AVAILABLE,
        ("FileNotFoundError",),
        needs="bubblewrap",
    ),
    Escape(
        "write-marker",
        "open('MARKER', 'w').write('escaped')\n",
        "'open' " + NOT_AVAILABLE,
        DENIED,
        needs="uid",
    ),
    Escape(
        "write-usr",
        "open('/usr/lyceum-planted', 'w').write('escaped')\n",
        "'open' " + NOT_AVAILABLE,
        ("PermissionError", "Read-only file system"),
    ),
    Escape(
        "inherited-environment",
        "import os\nprint(os.environ.get('LYCEUM_ESCAPE_SECRET'), len(os.environ))\n",
        "imports are not allowed",
        ("",),
    ),
    Escape(
        "parent-proc-environ",
        "import os\nprint(open('/proc/%d/environ' % os.getppid(), 'rb').read())\n",
        "imports are not allowed",
        (*DENIED, "ProcessLookupError"),
        needs="uid",
    ),
    Escape(
        "scan-proc-environ",
        "import os\nfor p in os.listdir('/proc'):\n"
        "    try:\n        print(open('/proc/' + p + '/environ', 'rb').read())\n"
        "    except OSError:\n        pass\n",
        "imports are not allowed",
        ("",),
        needs="uid",
    ),
    Escape(
        "kill-parent",
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
        "imports are not allowed",
        ("PermissionError", "ProcessLookupError", ""),
        needs="uid",
    ),
    Escape(
        "loopback-network",
        "import socket\ns = socket.create_connection(('127.0.0.1', PORT), timeout=2)\n"
        "print(s.recv(100))\n",
        "imports are not allowed",
        ("ConnectionRefusedError", "Network is unreachable", "OSError"),
        needs="bubblewrap",
    ),
    # bombs and limits
    Escape(
        "fork-bomb",
        "import os\nwhile True:\n    os.fork()\n",
        "imports are not allowed",
        NO_FORK,
    ),
    Escape(
        "orphan-left-alive",
        "import os, time\nif os.fork() == 0:\n    time.sleep(600)\n",
        "imports are not allowed",
        NO_FORK,
    ),
    Escape(
        "thread-bomb",
        "import threading\nwhile True:\n    threading.Thread(target=input).start()\n",
        "imports are not allowed",
        (*NO_FORK, "ModuleNotFoundError"),
    ),
    Escape(
        "memory-bomb", "x = bytearray(10**10)\n", "'bytearray' " + NOT_AVAILABLE, ("MemoryError",)
    ),
    Escape(
        "memory-growth",
        "x = []\nwhile True:\n    x.append(bytearray(10**6))\n",
        "'bytearray' is not available in the calculator (line 3)",
        ("MemoryError",),
    ),
    Escape(
        "power-bomb",
        "x = 10**10**8\n",
        "the power would have more than 10000 bits",
        ("KILLED", "TIMEOUT"),
    ),
    Escape(
        "list-bomb", "x = [0] * 10**10\n", "a list of 10000000000 items is over", ("MemoryError",)
    ),
    Escape(
        "deep-nesting",
        "x = " + "-" * 100_000 + "1\n",
        "over the limit of 10000",
        ("MemoryError", "RecursionError", "too many"),
    ),
    Escape(
        "infinite-loop",
        "while True:\n    pass\n",
        "did not finish within 100000 steps",
        ("KILLED", "TIMEOUT"),
    ),
    Escape(
        "sleep-forever",
        "import time\ntime.sleep(3600)\n",
        "imports are not allowed",
        ("TIMEOUT",),
    ),
    Escape(
        "huge-file",
        "open('big', 'wb').write(b'x' * 50 * 2**20)\n",
        "'open' " + NOT_AVAILABLE,
        ("File too large",),
    ),
    Escape(
        "many-files",
        "files = [open('f%d' % i, 'w') for i in range(100000)]\n",
        "'open' " + NOT_AVAILABLE,
        ("Too many open files",),
    ),
    Escape(
        "stdout-flood",
        "while True:\n    print('x' * 1000)\n",
        "strings cannot be calculated with",
        ("File too large",),
    ),
]
IDS = [escape.id for escape in CORPUS]


def test_the_corpus_is_large_and_ids_are_unique() -> None:
    assert len(CORPUS) >= 30 and len(set(IDS)) == len(IDS)


def test_the_reported_gi_frame_escape_is_refused(tmp_path: Path) -> None:
    """The escape reported in issue 7: it ran `touch` as the calling user before the fix."""
    marker = tmp_path / "escaped"
    with pytest.raises(SandboxError) as info:
        run_sandboxed(GI_FRAME_ORIGINAL.replace("STEAL", f"touch {marker}"))
    assert (info.value.reason, info.value.line, str(info.value)) == (
        "forbidden",
        1,
        "attribute access is not allowed (.gi_frame) (line 1); call functions by name, "
        "e.g. sqrt(2)",
    )
    assert not marker.exists()


@dataclass(frozen=True)
class Target:
    secret: str
    secret_file: Path
    marker: Path
    outside: Path
    port: int

    def fill(self, code: str) -> str:
        for token, value in (
            ("STEAL", STEAL),
            ("SECRET_FILE", str(self.secret_file)),
            ("MARKER", str(self.marker)),
            ("OUTSIDE", str(self.outside)),
            ("PORT", str(self.port)),
        ):
            code = code.replace(token, value)
        return code


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, bytes]]:
    """A loopback TCP server that sends a token to whoever connects."""
    token = f"served-{uuid.uuid4().hex}".encode()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(token)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], token
    stop.set()
    thread.join()
    listener.close()


@pytest.fixture
def target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: tuple[int, bytes]
) -> Iterator[Target]:
    secret = f"secret-{uuid.uuid4().hex}"
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(secret)
    secret_file.chmod(0o600)
    outside = Path("/tmp") / f"lyceum-outside-{uuid.uuid4().hex}.txt"
    outside.write_text(secret)
    outside.chmod(0o644)
    monkeypatch.setenv(ENV, secret)
    try:
        yield Target(secret, secret_file, tmp_path / "escaped", outside, server[0])
    finally:
        outside.unlink()


def _children() -> set[int]:
    """The live child processes of this test process."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def _processes_with(marker: str) -> list[int]:
    """Processes whose command line holds ``marker`` (the executor's run id)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def _assert_not_escaped(target: Target, *texts: str) -> None:
    assert not target.marker.exists(), "the program wrote into the test's private folder"
    for text in texts:
        assert target.secret not in text


@pytest.mark.parametrize("escape", CORPUS, ids=IDS)
def test_the_calculator_refuses(escape: Escape, target: Target) -> None:
    before = _children()
    with pytest.raises(SandboxError) as info:
        run_sandboxed(target.fill(escape.code), timeout=2.0)
    assert escape.calculator in str(info.value)
    _assert_not_escaped(target, str(info.value))
    assert _children() == before


LIMITS = ExecutorLimits(
    seconds=3.0, cpu_seconds=1, memory_bytes=256 * 2**20, file_bytes=4 * 2**20, open_files=32
)


@pytest.fixture(scope="module", params=["bubblewrap", "rlimits"])
def executor(request: pytest.FixtureRequest) -> CodeExecutor:
    if request.param == "bubblewrap":
        why_not = probe_bubblewrap()
        require(why_not is None, f"the bubblewrap level cannot run here: {why_not}")
        return CodeExecutor(LIMITS, isolation="bubblewrap")
    return CodeExecutor(LIMITS, isolation="rlimits")


def _outcome(result: ExecutionResult) -> str:
    if result.timed_out:
        return "TIMEOUT"
    if result.exit_code < 0 or result.exit_code > 128:
        return "KILLED"
    return result.stderr


@pytest.mark.parametrize("escape", CORPUS, ids=IDS)
def test_the_executor_contains(
    escape: Escape, target: Target, executor: CodeExecutor, server: tuple[int, bytes]
) -> None:
    level = executor.requested
    if escape.needs == "bubblewrap" and level != "bubblewrap":
        pytest.skip("only bubblewrap isolates the filesystem and network (docs/security.md)")
    if escape.needs == "uid" and level == "rlimits" and os.geteuid() != 0:
        pytest.skip("without root the rlimits level runs as you: your files are readable")
    result = executor.run(target.fill(escape.code))
    outcome = _outcome(result)
    assert result.isolation == level
    assert any(expected in outcome for expected in escape.executor), (outcome, result)
    _assert_not_escaped(target, result.stdout, result.stderr)
    assert server[1].decode() not in result.stdout
    assert _processes_with(result.run_id) == []
    assert os.path.exists(target.secret_file)  # the test process survived and still owns it
