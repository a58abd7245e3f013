"""The lyceum command line, driven as a user would."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from agents.cli import main
from agents.store import SqlRunStore
from protocols import (
    Answer,
    Explanation,
    Hint,
    Plan,
    Question,
    Review,
    Stop,
    TaskAssignment,
    TaskResult,
    Thought,
)


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", commands(main), ids=lambda p: " ".join(p) or "lyceum")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output and len(result.output.splitlines()) > 3


def test_schema_export_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "messages.schema.json"
    result = CliRunner().invoke(main, ["schema", "-o", str(out)])
    assert result.exit_code == 0, result.output
    schema = json.loads(out.read_text())
    assert schema["title"] == "lyceum Message"
    assert "question" in schema["discriminator"]["mapping"]
    events = json.loads(CliRunner().invoke(main, ["schema", "--events"]).output)
    assert "token_delta" in events["discriminator"]["mapping"]


def test_demo_runs_offline_persists_and_replays_exactly(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    runner = CliRunner()
    result = runner.invoke(
        main, ["demo", "--db", str(db), "--students", "0", "--profiles", "novice,strong"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "SIMULATION: no LLM and no model call. The teacher is a persona"
    )
    assert "teacher → student  Question: What is 1/3 + 1/6?" in result.output
    assert "Demo summary (simulated students, not LLMs; read from the store)" in result.output
    shown = [line for line in result.output.splitlines() if "teacher → user" in line]
    assert shown == [  # Think and Plan, for each run's first wrong answer only
        "  teacher → user  Thought: student: applies a wrong rule consistently "
        "(misconception:add_across). Guideline: clarify the misunderstanding.",
        "  teacher → user  Plan: other → explain_concept → clarify_misunderstanding; move focus; "
        "decided by the rule table"
        "  [tools: calculator, bridge_decision, teacher_moves]",
        "  teacher → user  Thought: student: unclear. Guideline: find out how they got it.",
        "  teacher → user  Plan: careless → provide_hint → hint_mistake; move focus; "
        "decided by the rule table"
        "  [tools: calculator, bridge_decision, teacher_moves]",
    ]
    with SqlRunStore(str(db)) as store:
        runs = store.list_runs()
        assert len(runs) == 2 and all(r.status == "completed" for r in runs)
        novice = runs[-1]
        messages = store.messages(novice.id)
        calls = store.model_calls(novice.id)
        kinds = {type(m) for run in runs for m in store.messages(run.id)}
    assert isinstance(messages[0], TaskAssignment)
    assert isinstance(messages[-1], Stop) and messages[-1].sender == "lesson"
    assert {Question, Answer, Explanation, Hint, Review, TaskResult, Thought, Plan} <= kinds
    assert calls == []  # no model anywhere: the minds are simulations

    shown_run = runner.invoke(main, ["runs", "show", novice.id[:10], "--db", str(db)])
    assert shown_run.exit_code == 0, shown_run.output
    assert "status: completed" in shown_run.output
    assert "user → lesson  TaskAssignment: teach the sample curriculum" in shown_run.output

    listed = runner.invoke(main, ["runs", "list", "--db", str(db)])
    assert novice.id[:12] in listed.output

    replayed = runner.invoke(main, ["runs", "replay", novice.id, "--db", str(db)])
    assert replayed.exit_code == 0, replayed.output
    assert f"replay of {novice.id}" in replayed.output and "identical transcript" in replayed.output


def test_show_as_json(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    CliRunner().invoke(
        main, ["demo", "--db", str(db), "--students", "0", "--profiles", "strong", "--quiet"]
    )
    with SqlRunStore(str(db)) as store:
        (run,) = store.list_runs()
    result = CliRunner().invoke(main, ["runs", "show", run.id, "--db", str(db), "--json"])
    data = json.loads(result.output)
    assert data["id"] == run.id and data["messages"][0]["kind"] == "task_assignment"


def test_errors_are_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    corrupt = tmp_path / "bad.db"
    corrupt.write_bytes(b"garbage" * 100)
    result = CliRunner().invoke(main, ["runs", "list", "--db", str(corrupt)])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: cannot open the run store {corrupt}")
    result = CliRunner().invoke(
        main, ["demo", "--db", str(tmp_path / "x.db"), "--profiles", "genius"]
    )
    assert result.exit_code == 2
    assert "unknown profile 'genius'; choose from novice, average, strong, overconfident" in (
        result.output
    )
    assert not (tmp_path / "x.db").exists()
    result = CliRunner().invoke(main, ["runs", "show", "nope", "--db", str(tmp_path / "y.db")])
    assert (
        result.exit_code == 2 and f"there is no run store at {tmp_path / 'y.db'}" in result.output
    )
    assert not (tmp_path / "y.db").exists()
    SqlRunStore(str(tmp_path / "z.db")).init()
    result = CliRunner().invoke(main, ["runs", "show", "nope", "--db", str(tmp_path / "z.db")])
    assert result.exit_code == 2 and "no run matches 'nope'" in result.output


def test_graph_check_validates_yaml(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        "agents:\n"
        "  a: {factory: 'agents.demo.lesson:make_demo_agent'}\n"
        "  b: {factory: 'agents.demo.lesson:make_demo_agent'}\n"
        "edges:\n  - {from: a, to: b, kinds: [Answer]}\n"
    )
    result = CliRunner().invoke(main, ["graph", "check", str(good)])
    assert result.exit_code == 0, result.output
    assert "2 agents, 1 edges: OK" in result.output and "a -->|Answer| b" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("to: b", "to: c"))
    result = CliRunner().invoke(main, ["graph", "check", str(bad)])
    assert result.exit_code == 2
    assert f"error: {bad}:5: edges.0.to: unknown agent 'c'" in result.output


GRAPHML = (
    '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
    '<key id="p" for="node" attr.name="properties" attr.type="string"/>'
    '<graph edgedefault="directed"><node id="n0"><data key="p">{}</data></node></graph>'
    "</graphml>"
)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["schema", "-o", "{tmp}/no/such/folder/schema.json"],
            "cannot write '{tmp}/no/such/folder/schema.json': the folder "
            "'{tmp}/no/such/folder' does not exist; create it first or choose another path",
        ),
        (
            ["kg", "export", "{tmp}/missing/out.jsonl", "--db", "{tmp}/kg.db"],
            "cannot write '{tmp}/missing/out.jsonl': the folder '{tmp}/missing' does not "
            "exist; create it first or choose another path",
        ),
        (
            ["kg", "export", "{tmp}/kg.db/g.graphml", "--db", "{tmp}/kg.db"],
            "cannot write '{tmp}/kg.db/g.graphml': Not a directory; choose another path",
        ),
        (
            ["demo", "--profiles", " , ", "--db", "{tmp}/runs.db"],
            "--profiles ' , ' names no profile; give one or more of novice, average, strong, "
            "overconfident, separated by commas",
        ),
        (
            ["runs", "list", "--db", "mysql://user@host/db"],
            "unsupported run store URL 'mysql://user@host/db': lyceum stores live in SQLite or "
            "PostgreSQL. Use a path like 'lyceum.db', 'sqlite:///lyceum.db' or "
            "'postgresql+psycopg://user@host/db'.",
        ),
        (
            ["demo", "--db", "notascheme://x"],
            "unsupported run store URL 'notascheme://x': lyceum stores live in SQLite or "
            "PostgreSQL.",
        ),
        (
            ["kg", "stats", "--db", "mysql://user@host/db"],
            "unsupported graph store URL 'mysql://user@host/db': lyceum stores live in SQLite "
            "or PostgreSQL.",
        ),
        (
            ["kg", "build", "curriculum", "--db", "notascheme://x"],
            "unsupported graph store URL 'notascheme://x'",
        ),
        (
            ["runs", "show", "f" * 100_000, "--db", "{tmp}/runs.db"],
            f"no run matches '{'f' * 76}...(100002 characters) in SqlRunStore('sqlite:///{{tmp}}/"
            "runs.db'); `lyceum runs list` shows the ids",
        ),
        (
            ["runs", "show", "%", "--db", "{tmp}/runs.db"],
            "no run matches '%' in SqlRunStore('sqlite:///{tmp}/runs.db')",
        ),
        (
            ["kg", "build", "graphml", "--file", "{tmp}/g.graphml", "--db", "{tmp}/new.db"],
            "{tmp}/g.graphml: node 'n0': 'properties' must be a JSON object, got []",
        ),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path: Path, args: list[str], expected: str) -> None:
    from knowledge_graph import SqlGraphStore

    graph = SqlGraphStore(str(tmp_path / "kg.db"))
    graph.stats()
    graph.close()
    SqlRunStore(str(tmp_path / "runs.db")).init().close()
    (tmp_path / "g.graphml").write_text(GRAPHML.replace("{}", "[]"))
    tmp = str(tmp_path)
    result = CliRunner().invoke(main, [a.replace("{tmp}", tmp) for a in args])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: " + expected.replace("{tmp}", tmp))
    assert not (tmp_path / "new.db").exists() or "graphml" in args


def test_kg_export_refuses_to_overwrite_its_own_store(tmp_path: Path) -> None:
    db = tmp_path / "kg.db"
    assert CliRunner().invoke(main, ["kg", "build", "curriculum", "--db", str(db)]).exit_code == 0
    before = db.read_bytes()
    result = CliRunner().invoke(main, ["kg", "export", str(db), "--db", str(db)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {db} is the graph store itself; export to another file\n"
    assert db.read_bytes() == before


# Found by tests/test_cli_fuzz.py: each was a traceback (or a two-line error) before.
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["demo", "--seed", str(10**20)], "Invalid value for '--seed': 100000000000000000000"),
        (["runs", "list", "--limit", str(10**20)], "Invalid value for '--limit'"),
        (["kg", "query", "x", "--hops", str(10**20)], "Invalid value for '--hops'"),
        (["runs", "list", "--db", "a\nb.db"], "error: there is no run store at a\\nb.db: no"),
        (["runs", "show", "x", "--db", "x" * 100_000], "error: cannot use 'xxxxxxxxxxxxxxx"),
        (["kg", "export", "x" * 100_000], "error: cannot write 'xxxxxxxxxxxxxxxx"),
        (
            ["kg", "eval-retrieval", "--no-embeddings", "--data", "x" * 100_000],
            "error: xxxxxxxxxxxxxxxxxxxx",
        ),
        (["graph", "check", "empty.yaml"], "error: empty.yaml: expected a mapping with 'agents'"),
        (
            ["graph", "check", "raises.yaml"],
            "error: raises.yaml:2: agents.a.factory: agents.demo.lesson:make_demo_agent raised "
            "TypeError(\"unhashable type: 'list'\"); fix 'args' or the factory",
        ),
        (["runs", "show", "caf\udce9"], "error: no run matches 'caf\\udce9'"),
        (
            ["runs", "show", "x", "--db", "caf\udce9.db"],
            "error: no run matches 'x' in SqlRunStore(",
        ),
    ],
)
def test_fuzz_findings_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("empty.yaml").write_text("")
    Path("raises.yaml").write_text(
        "agents:\n  a: {factory: 'agents.demo.lesson:make_demo_agent', args: {profile: [x]}}\n"
    )
    SqlRunStore(str(tmp_path / "lyceum.db")).init().close()
    SqlRunStore(str(tmp_path / "caf\udce9.db")).init().close()
    assert (
        CliRunner().invoke(main, ["kg", "build", "curriculum", "--db", "lyceum.db"]).exit_code == 0
    )
    result = CliRunner().invoke(main, args, env={"LYCEUM_DB": "lyceum.db"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2
    if expected.startswith("error: "):
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith(expected)
    else:
        assert result.stderr.startswith("Usage: ") and expected in result.stderr


def test_a_path_with_bytes_that_are_not_utf8_is_shown_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = "caf\udce9.db"  # `--db $'caf\xe9.db'` from a shell, as Python decodes argv
    built = CliRunner().invoke(main, ["kg", "build", "curriculum", "--db", db])
    assert built.exit_code == 0, built.exception
    flat = " ".join(built.output.split())  # whatever the terminal width
    assert "built curriculum into sqlite:///caf\\udce9.db: 27 nodes, 41 edges" in flat
    stats = CliRunner().invoke(main, ["kg", "stats", "--db", db])
    assert stats.exit_code == 0, stats.exception
    assert "sqlite:///caf\\udce9.db: 27 nodes, 41 edges" in " ".join(stats.output.split())


def test_lyceum_ui_says_what_it_starts() -> None:
    """``lyceum ui`` becomes the Streamlit server (execve), so a test asks it to print the
    command instead: the app's file, the port and address, headless, no error details
    for users, and the store as ``LYCEUM_DB`` with its password masked."""
    import shlex
    import sys

    from agents.cli.ui import app_path

    result = CliRunner().invoke(
        main,
        ["ui", "--print-command", "--port", "8765", "--db", "postgresql://me:pw-123@db/lyceum"],
    )
    assert result.exit_code == 0, result.output
    assert shlex.split(result.output) == [
        "LYCEUM_DB=postgresql://me:***@db/lyceum",
        sys.executable, "-m", "streamlit", "run", str(app_path()),
        "--server.port", "8765", "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--client.showErrorDetails", "none", "--client.toolbarMode", "minimal",
    ]  # fmt: skip
    assert app_path().name == "app.py" and app_path().is_file()
    bad = CliRunner().invoke(main, ["ui", "--print-command", "--port", "0"])
    assert bad.exit_code == 2 and "0 is not in the range 1<=x<=65535" in bad.output
