"""`lyceum kg build|stats|query|export` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from agents.cli import main


def test_build_stats_query_and_export(tmp_path: Path) -> None:
    db = str(tmp_path / "kg.db")
    runner = CliRunner()
    built = runner.invoke(main, ["kg", "build", "curriculum", "--db", db])
    assert built.exit_code == 0, built.output
    assert "27 nodes, 41 edges" in built.output and "building curriculum" in built.output
    stats = runner.invoke(main, ["kg", "stats", "--db", db])
    assert "Misconception" in stats.output and "REMEDIATES" in stats.output
    found = runner.invoke(
        main,
        [
            "kg",
            "query",
            "adds numerators and denominators",
            "--db",
            db,
            "--label",
            "Misconception",
            "-k",
            "1",
            "--mode",
            "bm25",
        ],
    )
    assert found.exit_code == 0, found.output
    assert found.output.startswith("[misconception:add_across] (Misconception) Adding across")
    out = tmp_path / "g.jsonl"
    exported = runner.invoke(main, ["kg", "export", str(out), "--db", db])
    assert exported.exit_code == 0 and "wrote 68 lines" in exported.output
    assert json.loads(out.read_text().splitlines()[0])["node"]["id"] == "concept:fractions"
    again = str(tmp_path / "again.db")
    imported = runner.invoke(main, ["kg", "build", "jsonl", "--file", str(out), "--db", again])
    assert "27 nodes, 41 edges" in imported.output
    graphml = tmp_path / "g.graphml"
    assert runner.invoke(main, ["kg", "export", str(graphml), "--db", db]).exit_code == 0
    assert graphml.read_text().startswith("<?xml")


def test_build_errors_are_clear_and_write_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "kg.db")
    runner = CliRunner()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"node": {"id": "a", "labels": ["A"]}}\n{"edge": {"source": "a"}}\n')
    result = runner.invoke(main, ["kg", "build", "jsonl", "--file", str(bad), "--db", db])
    assert result.exit_code == 2
    assert f"error: {bad}:2: field 'edge.target': Field required" in result.output
    result = runner.invoke(main, ["kg", "build", "jsonl", "--db", db])
    assert result.exit_code == 2 and "needs --file" in result.output
    runner.invoke(main, ["kg", "build", "curriculum", "--db", db])
    twice = runner.invoke(main, ["kg", "build", "curriculum", "--db", db])
    assert twice.exit_code == 2 and "duplicate node id 'concept:fractions'" in twice.output
    stats = runner.invoke(main, ["kg", "stats", "--db", db])
    assert "27 nodes, 41 edges" in stats.output


@pytest.mark.parametrize("columns", [None, "40", "100", "200"])
@pytest.mark.parametrize("term", [None, "dumb", "xterm-256color"])
def test_output_is_not_wrapped_by_the_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, columns: str | None, term: str | None
) -> None:
    """Whatever COLUMNS, TERM and the temporary folder's length, a line stays one line."""
    for name, value in (("COLUMNS", columns), ("TERM", term)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    folder = tmp_path / ("a-long-folder-name-" * 8)
    folder.mkdir()
    db = str(folder / "kg.db")
    runner = CliRunner()
    built = runner.invoke(main, ["kg", "build", "curriculum", "--db", db])
    assert built.exit_code == 0, built.output
    assert f"built curriculum into sqlite:///{db}: 27 nodes, 41 edges\n" in built.output
    stats = runner.invoke(main, ["kg", "stats", "--db", db])
    assert stats.output.startswith(f"sqlite:///{db}: 27 nodes, 41 edges\n")
    assert "│ REMEDIATES      │     6 │" in stats.output
