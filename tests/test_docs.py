"""Every code block in README.md and docs/ is executed, so the docs cannot rot.

- ```python blocks run in a fresh folder; ``print(...)  # expected`` comments are checked.
- ```bash blocks: ``lyceum ...`` lines run through the CLI (RUN_ID becomes a real run id);
  ``make X`` lines must name a Makefile target.
- ```text blocks that show `make demo` output: their transcript and summary lines must
  appear in the real output (run ids aside).
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from agents.cli import main as cli
from agents.store import SqlRunStore

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(lang: str) -> list[tuple[str, int, str]]:
    found: list[tuple[str, int, str]] = []
    for doc in DOCS:
        text = doc.read_text()
        for match in FENCE.finditer(text):
            if match.group(1) == lang:
                line = text[: match.start()].count("\n") + 1
                found.append((f"{doc.relative_to(ROOT)}:{line}", line, match.group(2)))
    return found


def test_the_docs_have_code_to_check() -> None:
    assert len(blocks("python")) >= 3 and len(blocks("bash")) >= 2


@pytest.mark.parametrize(
    ("where", "line", "code"), blocks("python"), ids=[b[0] for b in blocks("python")]
)
def test_python_blocks_run(
    where: str, line: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, where, "exec"), {"__name__": "__docs__"})
    printed = out.getvalue()
    for expected in re.findall(r"^[ \t]*print\(.*\)[ \t]+#[ \t]*(.+)$", code, re.M):
        assert expected.strip() in printed, f"{where}: expected {expected!r} in {printed!r}"


def demo_db(tmp_path: Path) -> tuple[Path, str]:
    db = tmp_path / "docs.db"
    result = CliRunner().invoke(
        cli, ["demo", "--db", str(db), "--students", "0", "--profiles", "novice", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    with SqlRunStore(str(db)) as store:
        return db, store.list_runs()[0].id


@pytest.mark.parametrize(
    ("where", "line", "code"), blocks("bash"), ids=[b[0] for b in blocks("bash")]
)
def test_shell_blocks_run(
    where: str, line: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, run_id = demo_db(tmp_path)
    monkeypatch.setenv("LYCEUM_DB", str(db))
    monkeypatch.chdir(tmp_path)
    targets = re.findall(r"^(\w+):", (ROOT / "Makefile").read_text(), re.M)
    for raw in code.splitlines():
        command = raw.split("#")[0].strip()
        if not command:
            continue
        words = shlex.split(command.replace("RUN_ID", run_id))
        if words[0] == "make":
            assert words[1] in targets, f"{where}: Makefile has no target {words[1]!r}"
            continue
        assert words[0] == "lyceum", f"{where}: do not know how to check {command!r}"
        args = [str(ROOT / w) if w.startswith("examples/") else w for w in words[1:]]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, f"{where}: `{command}` failed:\n{result.output}"


def test_the_demo_output_shown_in_the_readme_is_real() -> None:
    shown = next(code for where, _, code in blocks("text") if "SIMULATION:" in code)
    result = CliRunner().invoke(cli, ["demo", "--db", ":memory:"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    actual = result.output
    for line in shown.splitlines():
        if line.startswith("  ") and "→" in line:
            assert line in actual, f"README transcript line not produced by the demo: {line!r}"
        elif line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            row = [c for i, c in enumerate(cells) if i != 1]  # the run id differs every run
            assert any(
                [c.strip() for i, c in enumerate(out.strip("│").split("│")) if i != 1] == row
                for out in actual.splitlines()
                if out.startswith("│")
            ), f"README summary row not produced by the demo: {row}"
    assert shown.splitlines()[0] in actual
