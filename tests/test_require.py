"""A test module that ``pytest.importorskip``s a missing optional package is skipped on a
laptop and fails its collection under ``LYCEUM_REQUIRE_ALL=1`` (CI), like ``require``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _collect(module: Path, require_all: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LYCEUM_REQUIRE_ALL"}
    if require_all:
        env["LYCEUM_REQUIRE_ALL"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
         "-rs", str(module)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("require_all", [False, True])
def test_a_module_skipped_for_a_missing_package_fails_only_under_require_all(
    tmp_path: Path, require_all: bool
) -> None:
    module = tmp_path / "test_needs_missing.py"
    module.write_text(
        "import pytest\n"
        "pytest.importorskip('lyceum_no_such_package', reason=\"pip install 'lyceum[x]'\")\n"
        "def test_never() -> None:\n    assert False\n"
    )
    done = _collect(module, require_all)
    out = done.stdout + done.stderr
    if require_all:
        assert done.returncode == 2, out  # a collection error: the run fails
        assert "LYCEUM_REQUIRE_ALL=1 but" in out and "pip install 'lyceum[x]'" in out
    else:
        assert done.returncode == 5, out  # nothing ran, nothing failed
        assert "1 skipped" in out and "pip install 'lyceum[x]'" in out
