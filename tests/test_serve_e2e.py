"""End to end over loopback: ``lyceum serve`` (a subprocess) serves a model built in the
test on ``transformers serve``, registers it in the served registry, the meta-agent asks
the expert through that registry and the answer arrives in the run's transcript; the
server is killed and comes back; SIGTERM stops everything. Then the same with Gemma 3
270M, a base model whose chat template ``lyceum serve`` adds."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agents import AgentGraph, Budget, Runtime
from agents.cli import main
from agents.meta import MetaAgent, RuleBasedPlanner, load_experts
from agents.serve.process import die_with_parent, free_port
from agents.serve.templates import has_chat_template
from knowledge_graph.builders import sample_curriculum
from knowledge_graph.retrieval import Retriever
from personas import ToolRegistry, calculator_tool, retrieval_tool

from .conftest import require
from .servers import running, serve_available
from .test_meta_agent import TASK
from .tiny_models import gemma_folder, tiny_chat_model

pytestmark = pytest.mark.allow_model_requests


class LyceumServe:
    """``lyceum serve --experts FILE`` as a subprocess, its output kept in a file."""

    def __init__(self, experts: Path, tmp_path: Path) -> None:
        env = {"LYCEUM_CACHE": str(tmp_path / "cache")}
        self.experts = experts
        self.output = experts.parent / "lyceum-serve.out"
        self.served = experts.with_name("experts.served.yaml")
        argv = [sys.executable, "-m", "agents.cli", "serve", "--experts", str(experts),
                "--log-dir", str(experts.parent / "logs"), "--startup-timeout", "600"]  # fmt: skip
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **env},
                preexec_fn=die_with_parent,  # a kill -9 of pytest still stops it
            )

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 600) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text())
            if found:
                return found
            assert self.process.poll() is None, f"lyceum serve exited:\n{self.text()}"
            time.sleep(0.2)
        raise AssertionError(f"no {pattern!r} in lyceum serve's output:\n{self.text()}")

    def server_pid(self) -> int:
        return int(re.findall(r"started \(pid (\d+)\)", self.text())[-1])

    def assert_stopped_cleanly(self, server: str) -> None:
        """Its last lines say so, no server is left, and the served registry is gone."""
        last = [line.split(" ", 1)[1] for line in self.text().splitlines()[-3:]]
        assert last == ["stopping", f"{server}: stopped", "stopped; no server left running"]
        assert not running(self.server_pid()) and not self.served.exists()

    def stop(self, how: signal.Signals = signal.SIGTERM) -> int:
        """Stop it as a process manager (SIGTERM) or Ctrl-C (SIGINT) would."""
        if self.process.poll() is None:
            self.process.send_signal(how)
        return self.process.wait(timeout=60)


async def ask_the_meta_agent(served: Path) -> tuple[list[dict[str, Any]], Any]:
    registry = load_experts(served)
    tools = ToolRegistry([retrieval_tool(Retriever(sample_curriculum())), calculator_tool()])
    clients = {e.name: registry.client(e.name) for e in registry.experts}
    meta = MetaAgent("meta", RuleBasedPlanner(registry), registry, clients, tools)
    try:
        result = await Runtime().run(AgentGraph().add(meta), TASK, budget=Budget(model_calls=3))
    finally:
        for client in clients.values():
            await client.aclose()  # type: ignore[attr-defined]
    return result.transcript(), result


def served_experts(tmp_path: Path, folder: Path, max_tokens: int) -> Path:
    experts = tmp_path / "experts.yaml"
    experts.write_text(
        f"serve: {{backend: transformers, port: {free_port()}, args: [--device, cpu]}}\n"
        "experts:\n"
        "  - name: fractions-tutor\n"
        "    skills: [fraction_addition]\n"
        f"    serve: {{model: {folder}}}\n"
        f"    generation: {{max_tokens: {max_tokens}}}\n"
    )
    return experts


@contextmanager
def lyceum_serve(
    tmp_path: Path, folder: Path, *, max_tokens: int, stop: signal.Signals = signal.SIGTERM
) -> Iterator[LyceumServe]:
    """``lyceum serve`` on ``folder`` until the block ends; then it must stop cleanly."""
    require(serve_available() is None, serve_available() or "")
    serve = LyceumServe(served_experts(tmp_path, folder, max_tokens=max_tokens), tmp_path)
    try:
        serve.wait_for(r"registry ")
        yield serve
    finally:
        code = serve.stop(stop)
    assert code == 0, serve.text()
    serve.assert_stopped_cleanly(folder.name)


@pytest.mark.slow  # ~30 s: a server process loads the model
def test_lyceum_serve_registers_a_tiny_model_the_meta_agent_calls(tmp_path: Path) -> None:
    folder = tiny_chat_model(tmp_path / "tiny")
    with lyceum_serve(tmp_path, folder, max_tokens=6) as serve:
        url = re.search(r"http://127\.0\.0\.1:\d+/v1", serve.served.read_text())
        assert url is not None
        check = CliRunner().invoke(main, ["experts", "check", "--file", str(serve.served)])
        assert check.exit_code == 0, check.output
        assert check.output == f"ok   fractions-tutor: {url[0]}/models serves {str(folder)!r}\n"
        transcript, _ = asyncio.run(ask_the_meta_agent(serve.served))
        assert transcript == EXPECTED_TINY
    log = next((tmp_path / "logs").glob("tiny-*.log")).read_text()
    assert "Application startup complete" in log and "POST /v1/chat/completions" in log


@pytest.mark.slow  # two model loads
def test_a_killed_server_comes_back_and_the_expert_answers_again(tmp_path: Path) -> None:
    folder = tiny_chat_model(tmp_path / "tiny")
    with lyceum_serve(tmp_path, folder, max_tokens=6, stop=signal.SIGINT) as serve:  # Ctrl-C
        first = serve.server_pid()
        os.kill(first, signal.SIGKILL)
        serve.wait_for(r"died \(exit -9\); restarting in 1s")
        serve.wait_for(r"(?s)restarting in 1s.*ready at ")
        assert serve.server_pid() != first and not running(first)
        transcript, _ = asyncio.run(ask_the_meta_agent(serve.served))
        assert transcript == EXPECTED_TINY


EXPECTED_TINY: list[dict[str, Any]] = [
    {
        "sender": "user",
        "recipients": ["meta"],
        "parent": None,
        "kind": "task_assignment",
        "task": "explain",
        "skills": ["fraction_addition"],
        "inputs": {
            "question": "What is 1/3 + 1/6?",
            "student_answer": "2/9",
            "expression": "Fraction(1, 3) + Fraction(1, 6)",
        },
    },
    {
        "sender": "meta",
        "recipients": ["user"],
        "parent": 0,
        "kind": "task_result",
        "task_id": 0,
        # The tiny model's greedy reply: random weights, so one corpus word, then a word
        # that ends generation. The reviewer finds nothing wrong in it.
        "output": "by",
        "success": True,
        "provenance": [
            "retrieve: kg_retrieval",
            "kg:misconception:add_across",
            "kg:misconception:cross_multiply",
            "calculate: calculator",
            "explain: fractions-tutor",
            "review: approved",
        ],
    },
    {
        "sender": "runtime",
        "recipients": [],
        "parent": 1,
        "kind": "stop",
        "reason": "completed",
        "detail": "no messages left to deliver",
    },
]


@pytest.mark.slow  # loads Gemma 3 270M on CPU
def test_gemma_is_served_with_the_chat_template_lyceum_serve_adds(tmp_path: Path) -> None:
    folder = gemma_folder()  # a base model: no chat template
    assert not has_chat_template(folder)
    with lyceum_serve(tmp_path, folder, max_tokens=48) as serve:
        note = re.search(r"has no chat template: serving (\S+) \(Gemma 3's turn format added\)",
                         serve.text())  # fmt: skip
        assert note is not None
        copy = Path(note[1])
        assert copy.parent == tmp_path / "cache" / "serving" and has_chat_template(copy)
        assert load_experts(serve.served).get("fractions-tutor").backend.model == str(copy)  # type: ignore[union-attr]
        transcript, _ = asyncio.run(ask_the_meta_agent(serve.served))
    assert not has_chat_template(folder)  # the user's folder is left as it was
    # Gemma's words are its own; everything around them is the same as for any expert.
    answer = transcript[1].pop("output")
    review = transcript[1]["provenance"].pop()
    assert isinstance(answer, str) and answer.strip()
    assert review.startswith("review: ")
    assert transcript[1].pop("success") == (review == "review: approved")
    expected = [dict(m) for m in EXPECTED_TINY]
    expected[1] = {k: v for k, v in expected[1].items() if k not in ("output", "success")}
    expected[1]["provenance"] = expected[1]["provenance"][:-1]
    assert transcript == expected
    log = next((tmp_path / "logs").glob(f"{folder.name}-*.log")).read_text()
    assert 'POST /v1/chat/completions HTTP/1.1" 200' in log


@pytest.mark.slow  # starts transformers serve, which fails
def test_a_server_that_cannot_start_is_one_line_with_its_log_and_exit_2(tmp_path: Path) -> None:
    require(serve_available() is None, serve_available() or "")
    folder = tmp_path / "hollow"  # passes the checks, but holds no weights
    folder.mkdir()
    (folder / "config.json").write_text(
        '{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}'
    )
    (folder / "tokenizer_config.json").write_text('{"chat_template": "{{ messages }}"}')
    experts = served_experts(tmp_path, folder, max_tokens=4)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "agents.cli",
            "serve",
            "--experts",
            str(experts),
            "--log-dir",
            str(tmp_path / "logs"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=die_with_parent,
    )
    assert result.returncode == 2
    (error,) = result.stderr.splitlines()  # one line, the log's line breaks escaped
    assert error.startswith("error: hollow server exited with 1 before it was healthy; the end")
    assert "\\n" in error and "Traceback" not in result.stdout
    log = next((tmp_path / "logs").glob("hollow-*.log")).read_text()
    assert log.splitlines()[-1] in error  # the log's last line is quoted
    assert result.stdout.splitlines()[-1].endswith("hollow: stopped")
    assert not (tmp_path / "experts.served.yaml").exists()
