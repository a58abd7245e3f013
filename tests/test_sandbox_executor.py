"""The code executor's own behaviour: whole results, its fallback, its bounds and its tool.
(Its containment is tested by the escape corpus in test_escapes.py.)"""

from __future__ import annotations

import os
import sys

import pytest

from personas import CodeExecutor, ExecutorLimits, Isolation, python_tool
from personas.executor import bubblewrap_argv, probe_bubblewrap
from personas.tools import PythonRun
from protocols import UserError

from .conftest import require

MISSING = "/nonexistent/bwrap"


@pytest.fixture(scope="module")
def rlimits() -> CodeExecutor:
    return CodeExecutor(ExecutorLimits(seconds=5), isolation="rlimits")


def test_a_program_runs_and_its_whole_result_is_reported(rlimits: CodeExecutor) -> None:
    result = rlimits.run(
        "import os, sys\nprint(sum(range(5)), sorted(os.environ))\nsys.stderr.write('note')"
    )
    assert result.run_id.startswith("lyceum-exec-") and result.seconds < 5
    assert (
        result.stdout,
        result.stderr,
        result.exit_code,
        result.isolation,
        result.timed_out,
        result.truncated,
        result.notes,
        result.ok,
    ) == (
        "10 ['LC_CTYPE']\n",  # empty, but for the locale Python itself sets (PEP 538)
        "note",
        0,
        Isolation.RLIMITS,
        False,
        False,
        ("bubblewrap not requested: no network isolation",),
        True,
    )


def test_a_crash_is_a_result_not_an_exception(rlimits: CodeExecutor) -> None:
    result = rlimits.run("x = 1\nraise SystemExit(3)")
    assert (result.exit_code, result.ok, result.stdout) == (3, False, "")
    failed = rlimits.run("1 / 0")
    assert failed.exit_code == 1
    assert failed.stderr.strip().splitlines()[-1] == "ZeroDivisionError: division by zero"


def test_output_is_truncated_to_its_bound() -> None:
    executor = CodeExecutor(ExecutorLimits(output_bytes=10), isolation="rlimits")
    result = executor.run("print('0123456789' * 5)")
    assert (result.stdout, result.truncated, result.exit_code) == ("0123456789", True, 0)


def test_a_timeout_kills_the_program() -> None:
    executor = CodeExecutor(ExecutorLimits(seconds=0.5), isolation="rlimits")
    result = executor.run("import time\ntime.sleep(60)")
    assert (result.timed_out, result.exit_code, result.ok) == (True, -9, False)
    assert result.seconds < 3


def test_a_program_over_the_size_limit_is_refused() -> None:
    executor = CodeExecutor(ExecutorLimits(code_chars=10), isolation="rlimits")
    with pytest.raises(UserError, match="the program has 11 characters, over the limit of 10"):
        executor.run("print(1234)")


def test_without_bubblewrap_auto_falls_back_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    executor = CodeExecutor(bwrap=MISSING)
    result = executor.run("print(6 * 7)")
    assert (result.stdout, result.isolation) == ("42\n", Isolation.RLIMITS)
    assert result.notes == (
        f"bubblewrap did not start: [Errno 2] No such file or directory: '{MISSING}'; "
        "fell back to rlimits and uid only (no network isolation)",
    )
    assert "fell back to rlimits" in caplog.text
    with pytest.raises(UserError, match="isolation='bubblewrap' was asked for, but"):
        CodeExecutor(isolation="bubblewrap", bwrap=MISSING).run("print(1)")


def test_the_bubblewrap_command_line() -> None:
    argv = bubblewrap_argv("/usr/bin/bwrap", "/usr/bin/python3", "/tmp/w", as_root=False)
    assert argv[:7] == [
        "/usr/bin/bwrap",
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    assert argv[-14:] == [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        "--bind",
        "/tmp/w",
        "/sandbox",
        "--chdir",
        "/",
        "--unsetenv",
        "PWD",
        os.path.realpath("/usr/bin/python3"),
    ]
    as_root = bubblewrap_argv("/usr/bin/bwrap", sys.executable, "/tmp/w", as_root=True)
    assert as_root[1:12] == [
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "CAP_SETUID",
        "--cap-add",
        "CAP_SETGID",
    ]
    assert "--unshare-all" not in as_root and "--unshare-user" not in as_root


def test_the_bubblewrap_level_sees_only_its_own_filesystem() -> None:
    why_not = probe_bubblewrap()
    require(why_not is None, f"the bubblewrap level cannot run here: {why_not}")
    result = CodeExecutor(isolation="bubblewrap").run(
        "import os\nprint(os.getcwd(), os.path.exists('/etc/passwd'), os.path.exists('/work'))"
    )
    assert (result.stdout, result.isolation, result.notes) == (
        "/sandbox False False\n",
        Isolation.BUBBLEWRAP,
        (),
    )


async def test_the_python_tool() -> None:
    tool = python_tool(CodeExecutor(isolation="rlimits"))
    assert tool.name == "python"
    ran = await tool(code="print(2 ** 10)")
    assert (ran.tool, ran.error) == ("python", None)
    assert ran.output == PythonRun(
        stdout="1024\n",
        stderr="",
        exit_code=0,
        timed_out=False,
        truncated=False,
        isolation="rlimits",
    )
    refused = await python_tool(CodeExecutor(ExecutorLimits(code_chars=1)))(code="print(1)")
    assert (refused.tool, refused.output, refused.error) == (
        "python",
        None,
        "the program has 8 characters, over the limit of 1",
    )
