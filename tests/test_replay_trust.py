"""Replay never runs code that the store names: a shared database is data, not code.

A run records how its graph was built (``graph_source``). Anyone who can write to the
store can change that record, so ``lyceum runs replay`` rebuilds a graph only from a
factory or file the user names (``--graph``) or from a factory registered under the
``lyceum.graphs`` entry points (the demo's is, in pyproject.toml).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agents import AgentGraph, Runtime
from agents.cli import main
from agents.cli.rebuild import registered_graph_factories
from agents.demo import start_message
from agents.store import SqlRunStore
from protocols import UserError

EVIL = "lyceum_evil_graphs"  # a module that leaves a marker file when imported or called
EVIL_SOURCE = """
from pathlib import Path
Path(__file__).with_name("imported.marker").write_text("imported")

def build(**kwargs):
    Path(__file__).with_name("called.marker").write_text("called")

def build_agent(name, **kwargs):
    Path(__file__).with_name("called.marker").write_text("called")
"""


@pytest.fixture
def evil(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path holding the marker-writing module."""
    folder = tmp_path / "evil"
    folder.mkdir()
    (folder / f"{EVIL}.py").write_text(EVIL_SOURCE)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, EVIL, raising=False)
    return folder


def demo_run(db: Path) -> str:
    """One offline demo run in ``db``; its id."""
    result = CliRunner().invoke(
        main, ["demo", "--db", str(db), "--students", "0", "--profiles", "novice", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    with SqlRunStore(str(db)) as store:
        (run,) = store.list_runs()
    return run.id


def tamper(db: Path, run_id: str, column: str, value: Any) -> None:
    """What anyone with write access to a shared store can do."""
    with sqlite3.connect(db) as conn:
        conn.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (json.dumps(value), run_id))
    conn.close()


def replay(db: Path, run_id: str, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["runs", "replay", run_id, "--db", str(db), *extra])
    return result.exit_code, result.output


def identical(output: str, run_id: str) -> bool:
    """The replay's verdict line says the transcript came out the same."""
    verdict = output.splitlines()[-1]
    return verdict.startswith(f"replay of {run_id} as ") and verdict.endswith(
        ": identical transcript (90 messages)"
    )


def refusal(run_id: str, factory: str) -> str:
    return (
        f"error: run {run_id} records the graph factory {factory!r}, which is not registered "
        "under 'lyceum.graphs', so it was not imported (a store is data, not code); replay "
        f"with `lyceum runs replay {run_id} --graph module:function` (or --graph graph.yaml) "
        "if you trust it, or register the factory under the 'lyceum.graphs' entry points of "
        "its package\n"
    )


@pytest.mark.parametrize("factory", ["os:system", f"{EVIL}:build"])
def test_a_factory_named_by_the_store_is_never_imported_or_called(
    factory: str, evil: Path, tmp_path: Path
) -> None:
    db = tmp_path / "shared.db"
    run_id = demo_run(db)
    shell_marker = tmp_path / "shell.marker"
    tamper(
        db,
        run_id,
        "graph_source",
        {"factory": factory, "kwargs": {"command": f"touch {shell_marker}"}},
    )
    code, output = replay(db, run_id)
    assert (code, output) == (2, refusal(run_id, factory))
    assert sorted(p.name for p in evil.iterdir()) == [f"{EVIL}.py"]  # no marker: not imported
    assert EVIL not in sys.modules and not shell_marker.exists()


def test_a_graph_file_named_by_the_store_is_not_loaded(evil: Path, tmp_path: Path) -> None:
    hostile = tmp_path / "planted.yaml"
    hostile.write_text(f"agents:\n  teacher: {{factory: '{EVIL}:build_agent'}}\nedges: []\n")
    db = tmp_path / "shared.db"
    run_id = demo_run(db)
    tamper(db, run_id, "graph_source", {"yaml": str(hostile)})
    code, output = replay(db, run_id)
    assert (code, output) == (
        2,
        f"error: run {run_id} was built from the graph file {str(hostile)!r}; a path read from "
        "the store is not loaded by itself (its factories are code); replay with "
        "`--graph PATH` naming that file if you trust it\n",
    )
    assert sorted(p.name for p in evil.iterdir()) == [f"{EVIL}.py"]


def test_a_factory_named_on_the_command_line_gets_the_recorded_arguments(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    run_id = demo_run(db)
    tamper(db, run_id, "graph_source", {"factory": "gone:away", "kwargs": {"profile": "novice"}})
    code, output = replay(db, run_id, "--graph", "agents.demo.lesson:build_lesson_graph")
    assert code == 0, output
    assert identical(output, run_id)


def test_a_registered_factory_replays_with_no_flag(tmp_path: Path) -> None:
    assert registered_graph_factories()["agents.demo.lesson:build_lesson_graph"] == "demo-lesson"
    db = tmp_path / "runs.db"
    run_id = demo_run(db)
    code, output = replay(db, run_id)
    assert code == 0, output
    assert identical(output, run_id)


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        (
            ["novice"],
            "records graph kwargs that are not a JSON object of plain values (['novice'])",
        ),
        ({"level": 3}, "does not accept the run's recorded arguments {'level': 3}"),
    ],
)
def test_bad_recorded_arguments_are_one_line_errors(
    kwargs: object, why: str, tmp_path: Path
) -> None:
    db = tmp_path / "runs.db"
    run_id = demo_run(db)
    factory = "agents.demo.lesson:build_lesson_graph"
    tamper(db, run_id, "graph_source", {"factory": factory, "kwargs": kwargs})
    code, output = replay(db, run_id)
    assert code == 2 and output.startswith("error: ") and why in output
    assert output.count("\n") == 1


def test_a_graph_file_named_on_the_command_line_is_loaded(tmp_path: Path) -> None:
    graph_file = Path(__file__).resolve().parents[1] / "examples" / "graph.yaml"
    db = tmp_path / "runs.db"

    async def run() -> str:
        result = await Runtime(str(db)).run(AgentGraph.from_yaml(graph_file), start_message())
        return result.run_id

    run_id = asyncio.run(run())
    code, output = replay(db, run_id)
    assert code == 2 and "built from the graph file" in output
    code, output = replay(db, run_id, "--graph", str(graph_file))
    assert code == 0, output
    assert output.splitlines()[-1].startswith(f"replay of {run_id} as ")
    assert "identical transcript" in output


def test_runtime_replay_refuses_a_tampered_budget(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    run_id = demo_run(db)
    tamper(db, run_id, "budget", {"turns": 5, "shell": "rm -rf /"})
    from agents.demo import build_lesson_graph

    with pytest.raises(UserError) as info:
        asyncio.run(Runtime(str(db)).replay(run_id, build_lesson_graph("novice")))
    assert str(info.value).startswith(f"run {run_id} records a budget that is not valid (")


def test_stored_text_is_shown_as_it_is_never_as_markup(tmp_path: Path) -> None:
    """Rich markup in stored columns is printed literally; an unbalanced tag is no crash."""
    db = tmp_path / "runs.db"
    run_id = demo_run(db)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE runs SET status = ?, stop_reason = ?, graph_source = ? WHERE id = ?",
            ("[/]", "[bold]loud[/bold]", json.dumps({"factory": "[link=x]y[/link]"}), run_id),
        )
    conn.close()
    listed = CliRunner().invoke(main, ["runs", "list", "--db", str(db)])
    assert listed.exit_code == 0, listed.output
    assert "[/]" in listed.output and "[bold]loud[/bold]" in listed.output
    assert "[link=x]y[/link]" in listed.output
    shown = CliRunner().invoke(main, ["runs", "show", run_id, "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith(f"run {run_id}  status: [/]  reason: [bold]loud[/bold]\n")
