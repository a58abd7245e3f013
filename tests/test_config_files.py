"""Config files are read defensively: alias bombs, non-UTF-8 and odd YAML are clear errors."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from agents.cli import main
from protocols import ConfigError
from protocols.config import MAX_ALIAS_REPEATS, iter_jsonl, load_yaml


def alias_bomb(levels: int = 9) -> str:
    """About 500 bytes that expand to 9**9 (387 million) strings."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("args", [["experts", "list", "--file"], ["graph", "check"]])
def test_an_alias_bomb_is_refused_quickly(tmp_path: Path, args: list[str]) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb())
    assert len(bomb.read_bytes()) < 800
    start = time.monotonic()
    result = subprocess.run(  # a process, so that a hang fails the test instead of the suite
        [sys.executable, "-m", "agents.cli", *args, str(bomb)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert time.monotonic() - start < 30
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {bomb}:1: YAML aliases repeat more than {MAX_ALIAS_REPEATS} values (an alias "
        "bomb?); write the values out or use fewer nested aliases\n"
    )


def test_a_few_aliases_still_work(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("base: &b {x: 1, y: [1, 2]}\nu: *b\nv: *b\n")
    data, lines = load_yaml(path)
    assert data == {"base": {"x": 1, "y": [1, 2]}, "u": {"x": 1, "y": [1, 2]}, "v": data["u"]}
    assert lines.line(("v",)) == 3


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("a: &a [1, *a]\n", 1, "a YAML alias refers to its own anchor (a recursive value)"),
        (
            "x: 1\n? [1, 2]\n: x\n",
            2,
            "a mapping key must be a plain value, not a list or a mapping",
        ),
        ("when: 2020-99-99\n", 1, "cannot read the value '2020-99-99': month must be in 1..12"),
        ("a: !!python/name:os.system x\n", 1, "cannot read the value"),
    ],
)
def test_odd_yaml_is_a_config_error_with_the_line(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert str(info.value).startswith(f"{path}:{line}: {problem}")


def test_deeply_nested_yaml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("[" * 1200 + "]" * 1200)
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_yaml(path)


def test_non_utf8_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("agents:\n  élève: {}\n".encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert str(info.value) == (
        f"{path}:2: not UTF-8 text (byte 0xe9 cannot be decoded); save the file as UTF-8"
    )
    result = CliRunner().invoke(main, ["graph", "check", str(path)])
    assert result.exit_code == 2 and result.stderr == f"error: {info.value}\n"


def test_non_utf8_jsonl_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_bytes(b'{"node": {"id": "a", "labels": ["A"]}}\n{"node": {"id": "\xe9"}}\n')
    with pytest.raises(ConfigError) as info:
        list(iter_jsonl(path))
    assert str(info.value) == (
        f"{path}:2: not UTF-8 text (byte 0xe9 cannot be decoded); save the file as UTF-8"
    )
    db = str(tmp_path / "kg.db")
    result = CliRunner().invoke(main, ["kg", "build", "jsonl", "--file", str(path), "--db", db])
    assert result.exit_code == 2 and result.stderr == f"error: {info.value}\n"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("1" * 5000, "not valid JSON: Exceeds the limit (4300 digits)"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON: nested too deeply"),
    ],
)
def test_hostile_jsonl_lines_are_config_errors(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(ConfigError) as info:
        list(iter_jsonl(path))
    assert str(info.value).startswith(f"{path}:1: {problem}")
