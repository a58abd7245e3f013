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
    result = runner.invoke(main, ["demo", "--db", str(db), "--profiles", "novice,strong"])
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
        "  teacher → user  Plan: other → explain_concept → clarify_misunderstanding; move focus"
        "  [tools: calculator, bridge_decision, teacher_moves]",
        "  teacher → user  Thought: student: unclear. Guideline: find out how they got it.",
        "  teacher → user  Plan: careless → provide_hint → hint_mistake; move focus"
        "  [tools: calculator, bridge_decision, teacher_moves]",
    ]
    with SqlRunStore(str(db)) as store:
        runs = store.list_runs()
        assert len(runs) == 2 and all(r.status == "completed" for r in runs)
        novice = runs[-1]
        messages = store.messages(novice.id)
        calls = store.model_calls(novice.id)
    assert isinstance(messages[0], TaskAssignment)
    assert isinstance(messages[-1], Stop) and messages[-1].sender == "lesson"
    kinds = {type(m) for m in messages}
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
    CliRunner().invoke(main, ["demo", "--db", str(db), "--profiles", "strong", "--quiet"])
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
