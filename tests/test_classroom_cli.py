"""``lyceum classroom``: the live transcript, the stored run, the HTML report, and one-line
errors for bad input (options, config files, an unreachable model, Ctrl-C)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from markupsafe import escape as html_escape

from agents.classroom import ClassroomConfig, classroom_view, report_label, roster
from agents.cli import main
from agents.cli.render import render_message
from agents.models.fake_server import FakeOpenAIServer
from agents.store import SqlRunStore
from protocols import LessonStep, Mastery, Message, Plan, Thought
from tests.conformance.backends import fake_model

ROOT = Path(__file__).resolve().parents[1]


def classroom(tmp_path: Path, *args: str, typed: str | None = None) -> tuple[int, str]:
    """``lyceum classroom`` with a store and an --out folder in ``tmp_path``; ``typed`` is
    what a person types on the terminal."""
    result = CliRunner().invoke(
        main,
        ["classroom", "--db", str(tmp_path / "runs.db"), "--out", str(tmp_path / "out"), *args],
        input=typed,
    )
    return result.exit_code, result.output


def printed(message: Message, think: bool = False) -> bool:
    """What the live transcript prints (a step's rule aside)."""
    if isinstance(message, Thought | Plan):
        return think
    if isinstance(message, Mastery) and message.source != "quiz":
        return think
    return not isinstance(message, LessonStep)


def test_a_classroom_streams_its_transcript_and_writes_its_report(tmp_path: Path) -> None:
    code, output = classroom(tmp_path, "--students", "2", "--turns", "12", "--seed", "3")
    assert code == 0, output
    config = ClassroomConfig(students=tuple(roster(2)), turns=12, seed=3)
    lines = output.splitlines()
    assert lines[0] == report_label(config)
    assert lines[0].startswith("SIMULATION: every mind in this classroom is simulated")
    with SqlRunStore(str(tmp_path / "runs.db")) as store:
        (run,) = store.list_runs()
        messages = store.messages(run.id)
    assert run.status == "completed" and run.graph_source is not None
    assert run.graph_source["kwargs"]["config"] == config.model_dump(mode="json")
    # the whole transcript, in order, as `lyceum runs show` renders each message
    body = "\n".join(line for line in lines if not line.startswith("─"))
    expected = "\n".join("  " + render_message(m) for m in messages if printed(m))
    assert expected in body
    steps = [m for m in messages if isinstance(m, LessonStep)]
    assert len(steps) >= 3
    assert re.findall(r"─ (step \d+: \w+ [^─]+?) ─", output) == [
        f"step {s.index}: {s.step} {s.concept.split(':')[1]}"
        + (f" / {s.skill.split(':')[1]}" if s.skill else "")
        for s in steps
    ]
    # the summary table and the report are read back from the store
    view = classroom_view(messages)
    for row in view.summary():
        quizzes = " → ".join(f"{q:.2f}" for q in row.quizzes)
        assert re.search(rf"│ {row.student} +│ \w+ +│ {quizzes} +│", output), row
    report = tmp_path / "out" / f"classroom-{run.id[:12]}.html"
    assert f"Report: {report}" in lines
    html = report.read_text()
    assert f"<code>{run.id}</code>" in html and html.count('src="data:image/png;base64,') == 2
    assert html.count('<td class="kind">') == len(messages)
    replay = CliRunner().invoke(main, ["runs", "replay", run.id, "--db", str(tmp_path / "runs.db")])
    assert replay.exit_code == 0 and "identical transcript" in replay.output, replay.output


def test_the_same_seed_prints_the_same_lesson_and_another_seed_another(tmp_path: Path) -> None:
    def transcript(seed: int) -> str:
        code, output = classroom(tmp_path, "--students", "2", "--turns", "8", "--seed", str(seed))
        assert code == 0, output
        return re.sub(r"[0-9a-f]{12}", "RUN", output)

    first = transcript(5)
    assert transcript(5) == first
    assert transcript(6) != first


def test_think_prints_reasoning_and_every_estimate(tmp_path: Path) -> None:
    code, output = classroom(tmp_path, "--students", "1", "--turns", "3", "--think")
    assert code == 0, output
    with SqlRunStore(str(tmp_path / "runs.db")) as store:
        messages = store.messages(store.list_runs()[0].id)
    body = "\n".join(line for line in output.splitlines() if not line.startswith("─"))
    assert "\n".join("  " + render_message(m) for m in messages if printed(m, True)) in body
    assert "teacher → user  Thought: " in output
    assert re.search(r"Mastery: ada at step \d+ \(teacher_model\)", output)
    assert re.search(r"Mastery: ada at step \d+ \(simulated_truth\)", output)


def test_a_config_file_with_options_over_it(tmp_path: Path) -> None:
    config = tmp_path / "class.yaml"
    config.write_text(
        "lesson: fractions\nstudents:\n  - {name: zoe, profile: strong}\n"
        "reviewer: true\nturns: 30\nteaching_assistant: false\n"
    )
    code, output = classroom(tmp_path, "--config", str(config), "--turns", "6", "--seed", "2")
    assert code == 0, output
    with SqlRunStore(str(tmp_path / "runs.db")) as store:
        (run,) = store.list_runs()
        messages = store.messages(run.id)
    assert run.graph_source is not None
    stored = ClassroomConfig.model_validate(run.graph_source["kwargs"]["config"])
    assert (stored.turns, stored.seed, stored.reviewer, stored.teaching_assistant) == (
        6,
        2,
        True,
        False,
    )
    assert [s.name for s in stored.students] == ["zoe"]
    verdicts = classroom_view(messages).verdicts()
    assert sum(verdicts.values()) > 0
    assert (
        f"Reviewer: {verdicts['approved']} approved, "
        f"{verdicts['changes requested']} changes requested." in output
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--lesson", "calculus"], "error: unknown lesson 'calculus'; the curriculum teaches: "),
        (["--model", "http://127.0.0.1:9/v1"], "error: --model URL and --model-name NAME go"),
        (["--api-key-env", "KEY"], "error: --api-key-env names the key of --model; give"),
        (
            ["--model", "localhost:8000", "--model-name", "m"],
            "error: --model: must be an http(s) URL of an OpenAI-compatible server, up to /v1, "
            "such as http://127.0.0.1:8000/v1 (got 'localhost:8000')",
        ),
        (
            [
                "--model",
                "http://127.0.0.1:9/v1",
                "--model-name",
                "m",
                "--api-key-env",
                "LYCEUM_TEST_NO_SUCH_KEY",
            ],
            "error: the environment variable LYCEUM_TEST_NO_SUCH_KEY (api_key_env) is not set",
        ),
        (
            ["--config", "{tmp}/missing.yaml"],
            "error: {tmp}/missing.yaml: cannot read the file: No such",
        ),
        (
            ["--config", "{tmp}/bad.yaml"],
            "error: {tmp}/bad.yaml:2: field 'studnts': unknown field (allowed: classmates, ",
        ),
        (["--out", "{tmp}/file/out"], "error: --out '{tmp}/file/out': cannot write there"),
    ],
)
def test_bad_input_is_one_line_and_nothing_runs(
    tmp_path: Path, args: list[str], error: str
) -> None:
    (tmp_path / "bad.yaml").write_text("lesson: fractions\nstudnts: []\n")
    (tmp_path / "file").write_text("")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, output = classroom(tmp_path, *args)
    assert code == 2, output
    assert output.startswith(error.replace("{tmp}", str(tmp_path))), output
    assert len(output.splitlines()) == 1
    assert not (tmp_path / "runs.db").exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.allow_model_requests
def test_an_unreachable_model_is_one_line_and_the_run_is_kept(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    code, output = classroom(
        tmp_path,
        "--students",
        "1",
        "--turns",
        "4",
        "--model",
        url,
        "--model-name",
        "m",
        "--quiet",
    )
    assert code == 2 and "Traceback" not in output
    last = output.splitlines()[-1]
    assert last.startswith(
        f"error: the classroom stopped with an error: agent 'teacher' failed: ModelHTTPError: "
        f"{url}/chat/completions could not get a response"
    ), output
    assert output.splitlines()[0].startswith("SIMULATION (students): The teacher, the teaching")
    with SqlRunStore(str(tmp_path / "runs.db")) as store:
        (run,) = store.list_runs()
    assert run.status == "error"
    assert (tmp_path / "out" / f"classroom-{run.id[:12]}.html").exists()


@pytest.mark.allow_model_requests
def test_with_a_model_the_teacher_and_classmates_run_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over real loopback HTTP to a server that enforces the JSON schema (vLLM's way); the
    key comes from the variable --api-key-env names, and the label says which roles ran on
    the LLM and that the students are still simulated."""
    monkeypatch.setenv("CLASS_KEY", "sk-class")
    with FakeOpenAIServer(fake_model("vllm"), mode="vllm") as server:
        code, output = classroom(
            tmp_path,
            *("--students", "1", "--turns", "6", "--quiet"),
            *("--model", server.base_url, "--model-name", "fake", "--api-key-env", "CLASS_KEY"),
        )
        chats = [r for r in server.requests if r.path.endswith("/chat/completions")]
        url = server.base_url
    assert code == 0, output
    label = output.splitlines()[0]
    assert label == (
        "SIMULATION (students): The teacher, the teaching assistant and the classmates run on "
        f"the LLM fake at {url}; the students are simulated learners, so their quiz "
        "scores and the 'simulated truth' describe the simulation, not LLMs."
    )
    with SqlRunStore(str(tmp_path / "runs.db")) as store:
        (run,) = store.list_runs()
        calls = store.model_calls(run.id)
    assert len(chats) == len(calls) > 0 and "sk-class" not in output
    assert all(r.headers.get("Authorization") == "Bearer sk-class" for r in chats)
    html = (tmp_path / "out" / f"classroom-{run.id[:12]}.html").read_text()
    assert f'<p class="label">{html_escape(label)}</p>' in html
    assert "<tr><td>teacher</td><td>teacher</td><td>llm</td></tr>" in html


def test_ctrl_c_leaves_the_run_interrupted_with_its_report(tmp_path: Path) -> None:
    db, out = tmp_path / "runs.db", tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | {"PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agents.cli",
            "classroom",
            "--lesson",
            "linear_equations",
            "--students",
            "8",
            "--db",
            str(db),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if "step 2:" in line:
                proc.send_signal(signal.SIGINT)
                break
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    output = "".join(seen) + rest
    assert proc.returncode == 2, output
    assert "Traceback" not in output
    with SqlRunStore(str(db)) as store:
        (run,) = store.list_runs()
        messages = store.messages(run.id)
    assert run.status == "interrupted"
    assert output.splitlines()[-1] == (
        f"error: interrupted: run {run.id[:12]} is saved as interrupted; its report so far is "
        f"{out / f'classroom-{run.id[:12]}.html'}"
    )
    html = (out / f"classroom-{run.id[:12]}.html").read_text()
    assert "<tr><th>Status</th><td>interrupted</td></tr>" in html
    assert html.count('<td class="kind">') == len(messages)


def test_a_real_student_answers_on_the_terminal_and_is_graded(tmp_path: Path) -> None:
    answers = "1/2\n3/10\n1/4\n1/2\n" * 3  # the opening and the closing quiz, and spares
    code, output = classroom(
        tmp_path, "--students", "1", "--turns", "6", "--human", "zoe", "--quiet", typed=answers
    )
    assert code == 0, output
    with SqlRunStore(str(tmp_path / "runs.db")) as store:
        (run,) = store.list_runs()
        messages = store.messages(run.id)
    zoe = [m for m in messages if m.sender == "zoe"]
    assert zoe and all(m.kind == "answer" for m in zoe)
    assert output.splitlines()[0].endswith(
        "not LLMs. zoe is a real person who joined as a student: their answers are theirs, "
        "and they have no simulated truth."
    )
    assert [m.text for m in zoe] == answers.split()[: len(zoe)]  # type: ignore[union-attr]
    quiz = [m for m in messages if isinstance(m, Mastery) and m.student == "zoe"]
    assert {m.source for m in quiz} >= {"quiz", "teacher_model"}  # no simulated truth
    assert "simulated_truth" not in {m.source for m in quiz}
    assert re.search(r"│ zoe +│ human +│ [0-9.]+ → [0-9.]+ +│ [0-9.]+ +│ - +│", output)
    html = (tmp_path / "out" / f"classroom-{run.id[:12]}.html").read_text()
    assert "<tr><td>zoe</td><td>student</td><td>a real person</td></tr>" in html
