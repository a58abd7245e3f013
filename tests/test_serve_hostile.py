"""Hostile input to ``lyceum serve``, as a user would hit it: junk in the experts file and
in the folders it names (one line naming file:line:field and the fix, exit 2, nothing
started, nothing written), and faults at run time (an unwritable registry folder or log
folder, a taken port, a server that exits at once, Ctrl-C during startup, SIGTERM twice,
a log grown too large, a registry whose server died), with Python's ``http.server`` as
the server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from agents.cli import main
from agents.serve import (
    ServeError,
    ServePlan,
    ServerCommand,
    Supervisor,
    plan_serving,
    run_plan,
    write_served,
)
from agents.serve.process import die_with_parent, free_port
from protocols import UserError

from .servers import running
from .test_serve import adapter_folder, model_folder

pytestmark = pytest.mark.allow_model_requests  # loopback only

M = "experts:\n  - {name: a, skills: [x], serve: {model: m}}\n"
VLLM = (
    "serve: {backend: vllm, base: m}\nexperts:\n  - {name: a, skills: [x], serve: {adapter: %s}}\n"
)
JUNK = [
    ("", ": the file is empty; give an 'experts:' list"),
    ("- a\n- b\n", ":1: the top level must be a mapping with an 'experts:' list"),
    ("serve: fast\n" + M, ":1: field 'serve': 'serve' must be a mapping of server settings"),
    ("serve: {prot: 1}\n" + M, ":1: field 'serve.prot': unknown field; did you mean 'port'"),
    ("serve: {zzz: 1}\n" + M, ":1: field 'serve.zzz': unknown field (allowed: backend, host"),
    ("experts:\n  - {name: a, skills: [x], serve: {modle: m}}\n",
     ":2: field 'experts.0.serve.modle': unknown field; did you mean 'model'?"),
    ("serve: {port: 0}\n" + M, ":1: field 'serve.port': Input should be greater than or equal"),
    ("serve: {port: 70000}\n" + M, ":1: field 'serve.port': Input should be less than or equal"),
    ("serve: {port: abc}\n" + M, ":1: field 'serve.port': Input should be a valid integer"),
    ("serve: {host: 'http://0.0.0.0'}\n" + M,
     ":1: field 'serve.host': not a host name or address; give the host alone"),
    ("serve: {args: --foo}\n" + M, ":1: field 'serve.args': give the options as a list"),
    ("experts: nope\n", ":1: field 'experts': give 'experts:' as a list of experts"),
    ("experts:\n  - {name: a, skills: [x], serve: {model: afile}}\n",
     ":2: field 'experts.0.serve.model': '{tmp}/afile' is a file, not a folder"),
    ("experts:\n  - {name: a, skills: [x], serve: {model: loop}}\n",
     ":2: field 'experts.0.serve.model': '{tmp}/loop' is a loop of symbolic links"),
    ("experts:\n  - {name: a, skills: [x], serve: {model: junkconfig}}\n",
     ":2: field 'experts.0.serve.model': {tmp}/junkconfig/config.json:1 is not valid JSON"),
    ("experts:\n  - {name: a, skills: [x], serve: {model: listconfig}}\n",
     ":2: field 'experts.0.serve.model': {tmp}/listconfig/config.json holds a JSON list, not an"),
    ("experts:\n  - {name: a, skills: [x], serve: {model: junktokenizer}}\n",
     ":2: field 'experts.0.serve.model': {tmp}/junktokenizer/tokenizer_config.json:2 is not valid"),
    (VLLM % "nor", ":3: field 'experts.0.serve.adapter': {tmp}/nor/adapter_config.json has no 'r'"),
    (VLLM % "bigr", ":3: field 'experts.0.serve.adapter': {tmp}/bigr/adapter_config.json has 'r': "
     "'big': a LoRA adapter's config gives its rank as a whole number"),
    (VLLM % "hugr", ":3: field 'experts.0.serve.adapter': {tmp}/hugr/adapter_config.json: rank"),
    ("serve: {chat_template: bad.jinja}\nexperts:\n"
     "  - {name: a, skills: [x], serve: {model: bare}}\n",
     ":1: field 'serve.chat_template': {tmp}/bad.jinja:2 is not a valid Jinja template"),
    (M + "  - {name: a, skills: [y], serve: {model: m}}\n",
     ":3: field 'experts.1.name': expert name 'a' is taken (by experts.0)"),
    ("experts:\n  - name: a\n    skills: [x]\n    serve: {model: m}\n"
     "    backend: {kind: openai, base_url: 'http://h/v1', model: q}\n",
     ":5: field 'experts.0.backend': give 'serve' (what `lyceum serve` serves) or 'backend'"),
    ("experts:\n  - {name: a, skills: [x], serve: {model: gemma}}\n"  # a copy is due,
     "  - {name: b, skills: [y], serve: {model: junkconfig}}\n",  # but this fails: none made
     ":3: field 'experts.1.serve.model': {tmp}/junkconfig/config.json:1 is not valid JSON"),
    ("experts:\n  - {name: a, skills: [x], serve: {model: junkgemma}}\n",
     ":2: field 'experts.0.serve.model': {tmp}/junkgemma/generation_config.json:1 is not valid"),
    ("experts:\n  - {name: \xe9, skills: [x], serve: {model: m}}\n",
     ":2: not UTF-8 text (byte 0xe9 cannot be decoded); save the file as UTF-8"),
]  # fmt: skip


def junk_folders(tmp_path: Path) -> None:
    model_folder(tmp_path / "m")
    model_folder(tmp_path / "bare", template=None)
    model_folder(tmp_path / "gemma", template=None, kind="gemma3_text")
    model_folder(tmp_path / "junkgemma", template=None, kind="gemma3_text")
    (tmp_path / "junkgemma" / "generation_config.json").write_text("{eos")
    (tmp_path / "afile").write_text("weights")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    for name, config in (("junkconfig", "{junk"), ("listconfig", "[1, 2]")):
        model_folder(tmp_path / name)
        (tmp_path / name / "config.json").write_text(config)
    model_folder(tmp_path / "junktokenizer")
    (tmp_path / "junktokenizer" / "tokenizer_config.json").write_text('{\n  "chat_template": }')
    for name, config in (("nor", {"peft_type": "LORA"}), ("bigr", {"r": "big"})):
        adapter_folder(tmp_path / name)
        (tmp_path / name / "adapter_config.json").write_text(json.dumps(config))
    adapter_folder(tmp_path / "hugr", rank=1024)
    (tmp_path / "bad.jinja").write_text("{{ bos_token }}\n{% if %}")


@pytest.mark.parametrize(("text", "expected"), JUNK, ids=[e[:48] for _, e in JUNK])
def test_junk_is_one_line_naming_file_line_field_and_nothing_starts(
    tmp_path: Path, text: str, expected: str
) -> None:
    junk_folders(tmp_path)
    path = tmp_path / "experts.yaml"
    path.write_bytes(text.encode("latin-1"))
    before = sorted(p.name for p in tmp_path.iterdir())
    result = CliRunner().invoke(
        main,
        ["serve", "--experts", str(path), "--log-dir", str(tmp_path / "logs")],
        env={"LYCEUM_CACHE": str(tmp_path / "cache")},
    )
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {path}" + expected.replace("{tmp}", str(tmp_path)))
    assert result.output.count("\n") == 1  # one line
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no registry, logs or cache


def test_two_experts_on_one_adapter_load_it_once(tmp_path: Path) -> None:
    model_folder(tmp_path / "m")
    adapter_folder(tmp_path / "lora")
    path = tmp_path / "experts.yaml"
    path.write_text(
        "serve: {backend: vllm, base: m}\nexperts:\n"
        "  - {name: a, skills: [x], serve: {adapter: lora}}\n"
        "  - {name: b, skills: [y], serve: {adapter: ./lora/}}\n"
    )
    plan = plan_serving(path, cache=tmp_path / "cache")
    (server,) = plan.servers
    modules = server.argv[
        server.argv.index("--lora-modules") + 1 : server.argv.index("--max-loras")
    ]
    assert modules == (f"a={(tmp_path / 'lora').resolve()}",)
    assert server.argv[server.argv.index("--max-loras") + 1] == "1"
    assert [plan.endpoints[n]["adapter"] for n in "ab"] == ["a", "a"]


def test_a_host_with_a_scheme_on_the_command_line_is_an_error(tmp_path: Path) -> None:
    model_folder(tmp_path / "m")
    (tmp_path / "experts.yaml").write_text(M)
    result = CliRunner().invoke(
        main, ["serve", "--experts", str(tmp_path / "experts.yaml"), "--host", "http://h"]
    )
    assert result.exit_code == 2
    assert result.output.startswith("error: --host http://h: not a host name or address")


# -- faults at run time, with http.server as the server -----------------------------------
def fake_server(tmp_path: Path, ids: tuple[str, ...], *, health: bool = True) -> ServerCommand:
    """``python -m http.server`` answering ``/health`` (when ``health``) and
    ``/v1/models`` (listing ``ids``), on a free port."""
    root = tmp_path / f"www-{len(list(tmp_path.glob('www-*')))}"
    (root / "v1").mkdir(parents=True)
    if health:
        (root / "health").write_text("ok")
    (root / "v1" / "models").write_text(json.dumps({"data": [{"id": i} for i in ids]}))
    port = free_port()
    argv = (sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
            "--directory", str(root))  # fmt: skip
    return ServerCommand("fake", argv, "127.0.0.1", port, ids)


def fake_plan(tmp_path: Path, server: ServerCommand) -> ServePlan:
    """The plan of an experts file in ``tmp_path``, served by ``server``."""
    model_folder(tmp_path / "m")
    path = tmp_path / "experts.yaml"
    path.write_text(f"serve: {{port: {server.port}}}\n{M}")
    plan = plan_serving(path, backend="transformers", cache=tmp_path / "cache")
    return replace(plan, servers=(server,))


def test_an_unwritable_registry_or_log_folder_or_a_taken_port_starts_nothing(
    tmp_path: Path,
) -> None:
    server = fake_server(tmp_path, ("m",))
    plan = fake_plan(tmp_path, server)
    events: list[str] = []
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(UserError, match=r"cannot write the served registry .*: Not a directory; "):
        run_plan(
            plan, log_dir=tmp_path / "logs", registry=blocker / "r.yaml", on_event=events.append
        )
    if os.geteuid() != 0:  # root writes anywhere: the check above stands in for it
        readonly = tmp_path / "readonly"
        readonly.mkdir(mode=0o555)
        with pytest.raises(UserError, match="Permission denied; make its folder writable"):
            run_plan(plan, log_dir=tmp_path / "logs", registry=readonly / "r.yaml")
    with pytest.raises(UserError, match=r"cannot write the servers' logs in .*; give a writable"):
        run_plan(plan, log_dir=blocker / "logs", on_event=events.append)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", server.port))
        taken.listen()
        with pytest.raises(UserError, match=f"port {server.port} on 127.0.0.1 is in use"):
            run_plan(plan, log_dir=tmp_path / "logs", on_event=events.append)
    assert events == []  # nothing started
    assert not (tmp_path / "experts.served.yaml").exists() and not (tmp_path / "logs").exists()


def test_a_server_that_exits_at_once_is_an_error_and_no_registry(tmp_path: Path) -> None:
    quits = ServerCommand("quits", (sys.executable, "-c", "print('bye')"), "127.0.0.1",
                          free_port(), ("m",))  # fmt: skip
    events: list[str] = []
    with pytest.raises(
        ServeError, match=r"(?s)quits server exited with 0 before it was healthy.*bye"
    ):
        run_plan(fake_plan(tmp_path, quits), log_dir=tmp_path / "logs", on_event=events.append)
    assert events[1:] == ["quits: stopped"]
    assert not (tmp_path / "experts.served.yaml").exists()


def test_a_log_too_large_at_a_start_is_moved_aside(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "fake.log"
    log.parent.mkdir()
    log.write_bytes(b"old line\n" * 200)
    with Supervisor(fake_server(tmp_path, ("m",)), log_path=log, max_log_bytes=1000):
        pass
    assert (tmp_path / "logs" / "fake.log.1").read_bytes() == b"old line\n" * 200
    assert b"old line" not in log.read_bytes()
    with Supervisor(fake_server(tmp_path, ("m",)), log_path=log, max_log_bytes=1000):
        pass  # a small log is kept and appended to
    assert (tmp_path / "logs" / "fake.log.1").read_bytes() == b"old line\n" * 200


RUN = """
import json, sys
from dataclasses import replace
from pathlib import Path
from agents.serve import ServerCommand, plan_serving, run_plan
path, server = Path(sys.argv[1]), json.loads(sys.argv[2])
server = ServerCommand(server["name"], tuple(server["argv"]), "127.0.0.1", server["port"],
                       tuple(server["serves"]))
plan = replace(plan_serving(path, backend="transformers", cache=path.parent / "cache"),
               servers=(server,))
run_plan(plan, log_dir=path.parent / "logs", startup_timeout=60,
         on_event=lambda line: print(line, flush=True))
"""


STOPPED = "stopped; no server left running"


def lyceum_serve(tmp_path: Path, server: ServerCommand) -> tuple[subprocess.Popen[str], Path]:
    """``run_plan`` (what ``lyceum serve`` runs) in a process of its own, as from a shell."""
    plan = fake_plan(tmp_path, server)
    spec = {"name": server.name, "argv": server.argv, "port": server.port, "serves": server.serves}
    out = tmp_path / "out.txt"
    with out.open("w") as file:
        process = subprocess.Popen(
            [sys.executable, "-c", RUN, str(plan.source), json.dumps(spec)],
            stdout=file,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=die_with_parent,
        )
    return process, out


def wait_for(out: Path, text: str, process: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 60  # a busy machine starts Python slowly
    while time.monotonic() < deadline:
        if text in (seen := out.read_text()):
            return seen
        assert process.poll() is None, seen
        time.sleep(0.05)
    raise AssertionError(f"no {text!r} in:\n{out.read_text()}")


def server_pid(seen: str) -> int:
    return int(seen.split("started (pid ")[1].split(")")[0])


def assert_stopped(process: subprocess.Popen[str], out: Path, pid: int, last: list[str]) -> None:
    """It exits 0 with ``last`` lines; its server is gone and so is the registry."""
    assert process.wait(timeout=60) == 0, out.read_text()
    assert out.read_text().splitlines()[-3:] == last
    assert not running(pid) and not (out.parent / "experts.served.yaml").exists()


def test_ctrl_c_before_the_server_is_healthy_leaves_no_server_and_no_registry(
    tmp_path: Path,
) -> None:
    process, out = lyceum_serve(tmp_path, fake_server(tmp_path, ("m",), health=False))
    pid = server_pid(wait_for(out, "loading", process))
    process.send_signal(signal.SIGINT)
    assert_stopped(process, out, pid, ["fake: stopped", "stopping", STOPPED])


def test_sigterm_twice_still_stops_everything_and_removes_the_registry(tmp_path: Path) -> None:
    slow = fake_server(tmp_path, ("m",))  # stops 1.5 s after SIGTERM
    code = (
        "import runpy, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: (time.sleep(1.5), sys.exit(0)))\n"
        f"sys.argv = ['http.server', *{list(slow.argv[3:])!r}]\n"
        "runpy.run_module('http.server', run_name='__main__')\n"
    )
    slow = replace(slow, argv=(sys.executable, "-c", code))
    process, out = lyceum_serve(tmp_path, slow)
    pid = server_pid(wait_for(out, "Ctrl-C stops", process))
    assert (tmp_path / "experts.served.yaml").exists()
    process.send_signal(signal.SIGTERM)
    wait_for(out, "stopping", process)
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGINT)
    assert_stopped(process, out, pid, ["stopping", "fake: stopped", STOPPED])


def test_experts_check_on_a_registry_whose_server_died_says_so_per_expert(tmp_path: Path) -> None:
    server = fake_server(tmp_path, (str((tmp_path / "m").resolve()),))
    plan = fake_plan(tmp_path, server)
    registry = write_served(plan)
    with Supervisor(server, log_path=tmp_path / "fake.log"):
        alive = CliRunner().invoke(main, ["experts", "check", "--experts", str(registry)])
    assert alive.exit_code == 0, alive.output
    dead = CliRunner().invoke(main, ["experts", "check", "--experts", str(registry)])
    assert dead.exit_code == 1
    assert dead.output == (
        f"FAIL a: nothing answers at http://127.0.0.1:{server.port}/v1/models (ConnectError): "
        "its server is down; start it (a served registry's servers: `lyceum serve --experts "
        "FILE` again), or fix base_url\n"
    )
