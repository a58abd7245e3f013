"""lyceum serve, without starting a server: the vLLM and transformers command lines, the
serving spec in the experts file and its errors (file:line:field), chat templates added
in serving copies, the served registry, and ``--print-command``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from agents.cli import main
from agents.meta.experts import load_experts
from agents.serve import (
    LoraModule,
    choose_backend,
    plan_serving,
    served_registry,
    transformers_command,
    vllm_command,
    write_served,
)
from agents.serve.templates import GEMMA3_CHAT_TEMPLATE, has_chat_template
from protocols import ConfigError

TRANSFORMERS = str(Path(sys.executable).with_name("transformers"))


def model_folder(
    path: Path, *, template: str | None = "{{ messages }}", kind: str = "llama"
) -> Path:
    """A folder that passes the checks (nothing here loads weights)."""
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"model_type": kind}))
    (path / "model.safetensors").write_bytes(b"weights")
    tokenizer: dict[str, object] = {"bos_token": "<bos>"}
    if template is not None:
        tokenizer["chat_template"] = template
    (path / "tokenizer_config.json").write_text(json.dumps(tokenizer))
    (path / "generation_config.json").write_text(json.dumps({"eos_token_id": 1}))
    return path


def adapter_folder(path: Path, rank: int = 8) -> Path:
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text(json.dumps({"r": rank, "peft_type": "LORA"}))
    return path


def experts_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "experts.yaml"
    path.write_text(text)
    return path


def two_folders(tmp_path: Path) -> Path:
    """An experts file with three experts on two model folders and one remote expert."""
    model_folder(tmp_path / "tutor")
    model_folder(tmp_path / "scorer")
    path = experts_file(
        tmp_path,
        "serve: {backend: transformers, port: 8100, args: [--device, cpu]}\n"
        "experts:\n"
        "  - {name: a, skills: [x], serve: {model: tutor}}\n"
        "  - {name: b, skills: [y], serve: {model: ./tutor/}}\n"
        "  - {name: c, skills: [z], serve: {model: scorer}, generation: {max_tokens: 9}}\n"
        "  - name: remote\n"
        "    skills: [w]\n"
        "    backend: {kind: openai, base_url: 'http://10.0.0.1:8000/v1', model: big}\n",
    )
    return path


# -- command lines ----------------------------------------------------------------------
def test_the_vllm_command_serves_one_base_with_an_adapter_per_expert() -> None:
    argv = vllm_command(
        "/m/base",
        host="127.0.0.1",
        port=8000,
        adapters=[LoraModule("algebra", "/a/algebra"), LoraModule("odd", "/a/x=1,2")],
        max_lora_rank=24,
        extra_args=["--max-model-len", "4096"],
    )
    assert argv == [
        "vllm", "serve", "/m/base", "--host", "127.0.0.1", "--port", "8000",
        "--enable-lora", "--lora-modules", "algebra=/a/algebra",
        '{"name": "odd", "path": "/a/x=1,2", "base_model_name": "/m/base"}',
        "--max-loras", "2", "--max-lora-rank", "32", "--max-model-len", "4096",
    ]  # fmt: skip
    # Each --lora-modules value parses as vLLM documents it (cli_args.LoRAParserAction):
    # `name=path` when it holds '=' and no ',', else a JSON object of LoRAModulePath fields.
    for item in argv[argv.index("--lora-modules") + 1 : argv.index("--max-loras")]:
        if "=" in item and "," not in item:
            name, path = item.split("=")  # exactly two parts, or vLLM's parser fails
            assert (name, path) == ("algebra", "/a/algebra")
        else:
            assert set(json.loads(item)) <= {"name", "path", "base_model_name"}


def test_the_vllm_command_without_adapters_and_within_the_default_rank() -> None:
    assert vllm_command("/m/base", host="0.0.0.0", port=9000) == [
        "vllm", "serve", "/m/base", "--host", "0.0.0.0", "--port", "9000",
    ]  # fmt: skip
    argv = vllm_command("/b", host="h", port=1, adapters=[LoraModule("a", "/a")], max_lora_rank=16)
    assert argv[-4:] == ["--lora-modules", "a=/a", "--max-loras", "1"]  # rank 16: vLLM's default
    with pytest.raises(ValueError, match="above vLLM's largest, 512"):
        vllm_command("/b", host="h", port=1, adapters=[LoraModule("a", "/a")], max_lora_rank=600)


def test_the_transformers_command_is_pinned_to_its_folder() -> None:
    argv = transformers_command("/m/tiny", host="127.0.0.1", port=8001, executable="transformers")
    assert argv == [
        "transformers", "serve", "/m/tiny", "--host", "127.0.0.1", "--port", "8001",
        "--continuous-batching", "--log-level", "info",
    ]  # fmt: skip
    plain = transformers_command(
        "/m/tiny", host="h", port=1, continuous_batching=False, extra_args=["--device", "cpu"]
    )
    assert plain == [TRANSFORMERS, "serve", "/m/tiny", "--host", "h", "--port", "1",
                     "--log-level", "info", "--device", "cpu"]  # fmt: skip


def test_auto_picks_vllm_only_with_vllm_and_a_cuda_gpu() -> None:
    yes, no = (lambda: True), (lambda: False)
    assert choose_backend("auto", has_vllm=yes, has_cuda=yes) == "vllm"
    assert choose_backend("auto", has_vllm=yes, has_cuda=no) == "transformers"
    assert choose_backend("auto", has_vllm=no, has_cuda=yes) == "transformers"
    assert choose_backend("vllm", has_vllm=no, has_cuda=no) == "vllm"


# -- plans ------------------------------------------------------------------------------
def test_transformers_serves_one_pinned_server_per_model_folder(tmp_path: Path) -> None:
    path = two_folders(tmp_path)
    plan = plan_serving(path, cache=tmp_path / "cache", has_cuda=lambda: False)
    tutor, scorer = str((tmp_path / "tutor").resolve()), str((tmp_path / "scorer").resolve())
    assert plan.backend == "transformers" and plan.notes == ()
    assert [(s.name, s.port, s.serves) for s in plan.servers] == [
        ("tutor", 8100, (tutor,)),
        ("scorer", 8101, (scorer,)),
    ]
    assert plan.servers[1].argv == (
        TRANSFORMERS, "serve", scorer, "--host", "127.0.0.1", "--port", "8101",
        "--log-level", "info", "--device", "cpu",
    )  # fmt: skip
    assert plan.servers[0].env == {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    url = "http://127.0.0.1:8100/v1"
    assert plan.endpoints == {
        "a": {"kind": "openai", "base_url": url, "model": tutor, "dialect": "prompt"},
        "b": {"kind": "openai", "base_url": url, "model": tutor, "dialect": "prompt"},
        "c": {
            "kind": "openai",
            "base_url": "http://127.0.0.1:8101/v1",
            "model": scorer,
            "dialect": "prompt",
        },
    }
    # With a CUDA GPU, continuous batching is on unless the file says otherwise.
    on_gpu = plan_serving(path, cache=tmp_path / "cache", has_cuda=lambda: True)
    assert "--continuous-batching" in on_gpu.servers[0].argv
    assert "--cb-num-blocks" not in on_gpu.servers[0].argv  # the GPU sizes its own cache


def test_continuous_batching_on_a_cpu_gets_a_bounded_cache(tmp_path: Path) -> None:
    """On a CPU, transformers serve would size its paged cache from system memory; lyceum
    passes a bounded one, unless the file's args size it themselves."""
    model_folder(tmp_path / "tutor")
    text = (
        "serve: {backend: transformers, continuous_batching: true, args: [%s]}\n"
        "experts:\n  - {name: a, skills: [x], serve: {model: tutor}}\n"
    )
    plan = plan_serving(experts_file(tmp_path, text % "--device, cpu"), has_cuda=lambda: False,
                        cache=tmp_path / "cache")  # fmt: skip
    tutor = str((tmp_path / "tutor").resolve())
    assert plan.servers[0].argv == (
        TRANSFORMERS, "serve", tutor, "--host", "127.0.0.1", "--port", "8000",
        "--continuous-batching", "--log-level", "info",
        "--cb-num-blocks", "64", "--cb-max-batch-tokens", "512", "--device", "cpu",
    )  # fmt: skip
    own = plan_serving(experts_file(tmp_path, text % "--cb-num-blocks, '8'"),
                       has_cuda=lambda: False, cache=tmp_path / "cache")  # fmt: skip
    assert own.servers[0].argv[-3:] == ("info", "--cb-num-blocks", "8")


def test_the_served_registry_is_written_beside_the_experts_file(tmp_path: Path) -> None:
    path = two_folders(tmp_path)
    plan = plan_serving(path, cache=tmp_path / "cache", has_cuda=lambda: False)
    tutor = str((tmp_path / "tutor").resolve())
    # The served registry: live backends for the served experts, the others as they were.
    served = write_served(plan)
    assert served == tmp_path / "experts.served.yaml"
    registry = load_experts(served)
    assert [e.model_dump(exclude_none=True) for e in registry.experts] == [
        e.model_dump(exclude_none=True) for e in served_registry(plan).experts
    ]
    assert registry.get("c").generation.max_tokens == 9
    assert registry.get("remote").backend == load_experts(path).get("remote").backend
    assert registry.client("b").model == tutor  # type: ignore[attr-defined]


def test_vllm_serves_the_base_with_one_adapter_per_expert(tmp_path: Path) -> None:
    base = model_folder(tmp_path / "base")
    adapter_folder(tmp_path / "algebra", rank=8)
    adapter_folder(tmp_path / "fractions", rank=64)
    path = experts_file(
        tmp_path,
        "serve: {backend: vllm, base: base, port: 8200}\n"
        "experts:\n"
        "  - {name: algebra, skills: [x], serve: {adapter: algebra}}\n"
        "  - {name: fractions, skills: [y], serve: {adapter: fractions}}\n"
        "  - {name: plain, skills: [z], serve: {model: base}}\n",
    )
    plan = plan_serving(path, cache=tmp_path / "cache")
    (server,) = plan.servers
    b = str(base.resolve())
    assert server.argv[1:] == (
        "serve", b, "--host", "127.0.0.1", "--port", "8200", "--enable-lora",
        "--lora-modules", f"algebra={(tmp_path / 'algebra').resolve()}",
        f"fractions={(tmp_path / 'fractions').resolve()}",
        "--max-loras", "2", "--max-lora-rank", "64",
    )  # fmt: skip
    assert Path(server.argv[0]).name == "vllm"
    assert server.serves == (b, "algebra", "fractions")
    at = {"base_url": "http://127.0.0.1:8200/v1", "dialect": "json_schema"}
    assert plan.endpoints == {
        "algebra": {"kind": "lora", "adapter": "algebra", **at},
        "fractions": {"kind": "lora", "adapter": "fractions", **at},
        "plain": {"kind": "openai", "model": b, **at},
    }


def test_a_model_without_a_chat_template_is_served_from_a_copy_with_one(tmp_path: Path) -> None:
    gemma = model_folder(tmp_path / "gemma", template=None, kind="gemma3_text")
    before = {p.name: p.read_bytes() for p in gemma.iterdir()}
    path = experts_file(tmp_path, "experts:\n  - {name: g, skills: [x], serve: {model: gemma}}\n")
    plan = plan_serving(path, backend="transformers", cache=tmp_path / "cache")
    (copy,) = (Path(s.serves[0]) for s in plan.servers)
    assert copy.parent == tmp_path / "cache" and copy.name.startswith("gemma-")
    assert plan.notes == (
        f"{gemma.resolve()} has no chat template: serving {copy} (Gemma 3's turn format added)",
    )
    config = json.loads((copy / "tokenizer_config.json").read_text())
    assert config == {"bos_token": "<bos>", "chat_template": GEMMA3_CHAT_TEMPLATE}
    assert json.loads((copy / "generation_config.json").read_text()) == {"eos_token_id": [1, 106]}
    assert (copy / "model.safetensors").resolve() == (gemma / "model.safetensors").resolve()
    assert (copy / "model.safetensors").is_symlink()
    # The user's folder is untouched, and serving it again reuses the copy.
    assert {p.name: p.read_bytes() for p in gemma.iterdir()} == before
    assert not has_chat_template(gemma) and has_chat_template(copy)
    again = plan_serving(path, backend="transformers", cache=tmp_path / "cache")
    assert again.servers[0].serves == (str(copy),)
    # A template of one's own, for a model type lyceum does not know.
    model_folder(tmp_path / "base", template=None)
    (tmp_path / "chat.jinja").write_text("{{ messages[0]['content'] }}")
    own = experts_file(
        tmp_path,
        "serve: {chat_template: chat.jinja}\n"
        "experts:\n  - {name: b, skills: [x], serve: {model: base}}\n",
    )
    served = Path(
        plan_serving(own, backend="transformers", cache=tmp_path / "c2").servers[0].serves[0]
    )
    assert json.loads((served / "tokenizer_config.json").read_text())["chat_template"] == (
        "{{ messages[0]['content'] }}"
    )


# -- errors: file, line and field, before anything starts ---------------------------------
BAD = [
    (
        "experts:\n  - name: a\n    skills: [x]\n",
        ":2: field 'experts.0': give a 'backend' (where the model is served) or 'serve'",
    ),
    (
        "experts:\n  - name: a\n    skills: [x]\n    serve: {model: m, adapter: n}\n",
        ":4: field 'experts.0.serve': give exactly one of 'model' (a model folder) or 'adapter'",
    ),
    (
        "serve: {prot: 8000}\nexperts:\n  - {name: a, skills: [x], serve: {model: m}}\n",
        ":1: field 'serve.prot': unknown field; did you mean 'port'?",
    ),
    (
        "serve:\n  backend: gpu\nexperts:\n  - {name: a, skills: [x], serve: {model: m}}\n",
        ":2: field 'serve.backend': Input should be 'auto', 'vllm' or 'transformers'",
    ),
    (
        "experts:\n  - name: a\n    skills: [x]\n    serve:\n      model: nowhere\n",
        ":5: field 'experts.0.serve.model': no folder '{tmp}/nowhere'; give a local model folder",
    ),
    (
        "experts:\n  - name: a\n    skills: [x]\n    serve:\n      model: empty\n",
        ":5: field 'experts.0.serve.model': '{tmp}/empty' has no config.json: it is not a model",
    ),
    (
        "experts:\n  - name: a\n    skills: [x]\n    serve: {model: bare}\n",
        ":4: field 'experts.0.serve.model': '{tmp}/bare' has no chat template (a base model?)",
    ),
    (
        "experts:\n  - {name: a, skills: [x], serve: {model: m}}\n"
        "  - name: b\n    skills: [x]\n    serve:\n      adapter: lora\n",
        ":6: field 'experts.1.serve.adapter': transformers serve cannot serve a LoRA adapter",
    ),
    (
        "serve: {backend: vllm}\nexperts:\n  - {name: a, skills: [x], serve: {adapter: lora}}\n",
        ":1: field 'serve': vLLM serves one base model with an adapter per expert: give serve.base",
    ),
    (
        "serve: {backend: vllm, base: m}\nexperts:\n"
        "  - {name: a, skills: [x], serve: {model: m2}}\n",
        ":3: field 'experts.0.serve.model': vLLM serves one base model",
    ),
    (
        "serve: {backend: vllm, base: m}\nexperts:\n"
        "  - {name: a, skills: [x], serve: {adapter: m}}\n",
        ":3: field 'experts.0.serve.adapter': '{tmp}/m' has no adapter_config.json: it is not a "
        "LoRA adapter folder",
    ),
    (
        "serve: {chat_template: none.jinja}\nexperts:\n"
        "  - {name: a, skills: [x], serve: {model: bare}}\n",
        ":1: field 'serve.chat_template': cannot read '{tmp}/none.jinja'",
    ),
    (
        "experts:\n  - name: a\n    skills: [x]\n"
        "    backend: {kind: openai, base_url: 'http://h/v1', model: m}\n",
        ":1: field 'experts': no expert says what to serve; give one a serve: {model: FOLDER}",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD, ids=[e.split(":")[2] for _, e in BAD])
def test_what_cannot_be_served_is_a_config_error_naming_file_line_and_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    model_folder(tmp_path / "m")
    model_folder(tmp_path / "m2")
    model_folder(tmp_path / "bare", template=None)
    (tmp_path / "empty").mkdir()
    adapter_folder(tmp_path / "lora")
    path = experts_file(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        plan_serving(path, backend=None, cache=tmp_path / "cache", has_vllm=lambda: False)
    assert str(error.value).startswith(str(path) + expected.replace("{tmp}", str(tmp_path)))
    assert not (tmp_path / "cache").exists()  # nothing was made or started


def test_an_expert_not_served_yet_says_how_to_serve_it(tmp_path: Path) -> None:
    model_folder(tmp_path / "m")
    path = experts_file(tmp_path, "experts:\n  - {name: a, skills: [x], serve: {model: m}}\n")
    registry = load_experts(path)
    with pytest.raises(Exception, match="expert 'a' has no backend yet: `lyceum serve --experts"):
        registry.client("a")
    result = CliRunner().invoke(main, ["experts", "check", "--experts", str(path)])
    assert result.exit_code == 1
    assert result.output.startswith("FAIL a: expert 'a' has no backend yet")
    listed = CliRunner().invoke(
        main, ["experts", "list", "--file", str(path)], env={"COLUMNS": "200"}
    )
    assert listed.exit_code == 0 and "served by lyceum serve=m" in listed.output


def test_print_command_prints_the_server_commands_and_starts_nothing(tmp_path: Path) -> None:
    model_folder(tmp_path / "base", template=None, kind="gemma3")
    adapter_folder(tmp_path / "algebra")
    path = experts_file(
        tmp_path,
        "serve: {base: base}\nexperts:\n"
        "  - {name: algebra, skills: [x], serve: {adapter: algebra}}\n",
    )
    result = CliRunner().invoke(
        main,
        ["serve", "--experts", str(path), "--backend", "vllm", "--port", "8300", "--print-command"],
        env={"LYCEUM_CACHE": str(tmp_path / "cache")},
    )
    assert result.exit_code == 0, result.output
    note, command = result.output.splitlines()
    copy = tmp_path / "cache" / "serving"
    assert note.startswith(
        f"# {(tmp_path / 'base').resolve()} has no chat template: serving {copy}/base-"
    )
    words = command.split()
    assert words[:3] == ["HF_HUB_OFFLINE=1", "TRANSFORMERS_OFFLINE=1", words[2]]
    assert Path(words[2]).name == "vllm" and words[3] == "serve"
    assert words[4].startswith(f"{copy}/base-")
    assert words[5:] == [
        "--host", "127.0.0.1", "--port", "8300", "--enable-lora", "--lora-modules",
        f"algebra={(tmp_path / 'algebra').resolve()}", "--max-loras", "1",
    ]  # fmt: skip
    assert not copy.exists()  # printing makes no serving copy
    broken = tmp_path / "broken.yaml"
    broken.write_text("experts: [")
    failed = CliRunner().invoke(main, ["serve", "--experts", str(broken), "--print-command"])
    assert failed.exit_code == 2 and failed.output.startswith(f"error: {broken}:1")
    assert yaml.safe_load(path.read_text())["serve"] == {"base": "base"}
