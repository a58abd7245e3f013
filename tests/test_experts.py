"""The expert registry: YAML with clear errors, routing by skill, health checks against a
real loopback server."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from agents.cli import main
from agents.meta.experts import load_experts
from agents.models import OpenAIChatClient, TransformersClient
from agents.models.fake_server import FakeOpenAIServer
from protocols import ConfigError, UserError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "experts.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def registry_file(tmp_path: Path, base_url: str) -> Path:
    (tmp_path / "local").mkdir(exist_ok=True)
    (tmp_path / "local" / "config.json").write_text("{}")
    return write(
        tmp_path,
        f"""
        experts:
          - name: fractions-tutor
            skills: [fraction_addition, fraction_subtraction]
            backend: {{kind: openai, base_url: "{base_url}", model: fake}}
            generation: {{temperature: 0.2, max_tokens: 128}}
          - name: algebra-lora
            skills: [one_step_equations, two_step_equations]
            backend: {{kind: lora, base_url: "{base_url}", adapter: algebra}}
          - name: cpu-scorer
            skills: [scoring]
            backend: {{kind: transformers, path: "{tmp_path / "local"}"}}
        """,
    )


def test_routing_by_skill_and_clients_by_backend(tmp_path: Path) -> None:
    registry = load_experts(registry_file(tmp_path, "http://127.0.0.1:9/v1"))
    assert registry.route(["fraction_addition"]).name == "fractions-tutor"
    assert registry.route(["two_step_equations", "unknown"]).name == "algebra-lora"
    with pytest.raises(UserError, match="no expert serves any of \\['poetry'\\]"):
        registry.route(["poetry"])
    lora = registry.client("algebra-lora")
    assert isinstance(lora, OpenAIChatClient) and lora.model == "algebra"
    assert isinstance(registry.client("cpu-scorer"), TransformersClient)


@pytest.mark.allow_model_requests
async def test_check_probes_health_and_model_lists(tmp_path: Path) -> None:
    with FakeOpenAIServer(models=("fake",)) as server:
        health = await load_experts(registry_file(tmp_path, server.base_url)).check()
    assert [(h.expert, h.ok) for h in health] == [
        ("fractions-tutor", True),
        ("algebra-lora", False),
        ("cpu-scorer", True),
    ]
    assert "does not serve 'algebra' (it serves: fake)" in health[1].detail
    down = await load_experts(registry_file(tmp_path, "http://127.0.0.1:9/v1")).check(timeout=1)
    assert not down[0].ok and "ConnectError" in down[0].detail


@pytest.mark.allow_model_requests
def test_the_cli_lists_and_checks(tmp_path: Path) -> None:
    with FakeOpenAIServer(models=("fake", "algebra")) as server:
        path = registry_file(tmp_path, server.base_url)
        listed = CliRunner().invoke(main, ["experts", "list", "--file", str(path)])
        checked = CliRunner().invoke(main, ["experts", "check", "--file", str(path)])
    assert listed.exit_code == 0 and "fractions-tutor" in listed.output
    assert checked.exit_code == 0, checked.output
    assert checked.output.count("ok  ") == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "experts:\n  - name: a\n    skills: [x]\n    backend: {kind: openai, base_url: u}\n",
            ":4: field 'experts.0.backend.openai.model': Field required",
        ),
        (
            "experts:\n  - name: a\n    skills: [x]\n    backend: {kind: openai, base_url: u,"
            " model: m, dialect: grammar}\n",
            ":4: field 'experts.0.backend.openai.dialect': Input should be 'auto', "
            "'json_schema', 'json_object' or 'prompt'",
        ),
        (
            "experts:\n  - name: a\n    skills: [x]\n    backend: {kind: vllm, path: p}\n",
            ":4: field 'experts.0.backend'",
        ),
        (
            "experts:\n  - name: a\n    skils: [x]\n",
            ":3: field 'experts.0.skils': unknown field; did you mean 'skills'?",
        ),
        (
            "experts:\n  - name: a\n    skills: [x]\n    backend: {kind: transformers, path: p}\n"
            "  - name: a\n    skills: [y]\n    backend: {kind: transformers, path: q}\n",
            ":5: field 'experts.1.name': expert name 'a' is taken (by experts.0); give each",
        ),
    ],
)
def test_bad_expert_yaml_names_file_line_and_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "experts.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_experts(path)
    assert str(info.value).startswith(f"{path}{expected}"), str(info.value)
