"""CLI fuzz: whatever the arguments and the files they name, no traceback reaches the user.

Every command of the ``lyceum`` group (found recursively, so a new command is fuzzed
without a change here) is run in-process with arguments mixing its own options with
hostile values: unicode, huge strings, negative and huge numbers, missing paths, folders,
and generated files (random bytes, YAML, JSONL and GraphML of random structure, another
program's SQLite file, a real lyceum store). Each run must end with exit code 0 or 2
(1 where a command documents it) and, on error, one ``error: …`` line or click's usage
message. Deterministic: hypothesis is derandomized.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import tempfile
import traceback
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.cli import main

# Commands that would start long or networked work get bounded arguments: options left out
# of the fuzz, and arguments always added.
LEFT_OUT: dict[str, set[str]] = {
    "kg query": {"--embeddings", "--mode"},  # loads a sentence-embedding model
    "kg eval-retrieval": {"--embeddings", "--no-embeddings"},
    "experts check": {"--timeout"},
}
ALWAYS: dict[str, list[str]] = {
    "kg eval-retrieval": ["--no-embeddings"],
    "kg query": ["--mode", "bm25"],
    "experts check": ["--timeout", "0.5"],
    # a small classroom: the fuzz is after bad input, not long lessons
    "classroom": ["--students", "1", "--turns", "2"],
    "demo": ["--students", "1", "--turns", "2"],
    # the app's server would take the test's place (execve): fuzz its options, print only
    "ui": ["--print-command"],
    # lyceum serve would start servers and wait for Ctrl-C: fuzz its options, print only
    "serve": ["--print-command"],
}
# Exit code 1 is documented for these: a failed probe, a replay that differs.
MAY_EXIT_1 = {"experts check", "runs replay"}
EXAMPLES = {"demo": 12, "classroom": 12}
DEFAULT_EXAMPLES = 30


def leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += leaf_commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def command_of(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


# -- files ---------------------------------------------------------------------------------
FILES = [
    "a.yaml",
    "b.jsonl",
    "c.graphml",
    "d.bin",
    "other.db",
    "store.db",
    "empty.db",
    "missing.yaml",
    "folder",
    "no/such/folder/x.jsonl",
]
WORDS = [
    "agents",
    "edges",
    "experts",
    "from",
    "to",
    "kinds",
    "factory",
    "args",
    "name",
    "skills",
    "backend",
    "base_url",
    "model",
    "concepts",
    "id",
    "labels",
    "properties",
    "node",
    "edge",
    "source",
    "target",
    "type",
    "Answer",
    "Question",
    "a",
    "b",
]
FACTORIES = ["agents.demo.lesson:make_demo_agent", "builtins:dict", "os:getcwd", "no.such:x"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(WORDS + FACTORIES),
)
structures = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(WORDS), inner, max_size=4),
    ),
    max_leaves=12,
)
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True)
)


KINDS = st.sampled_from(["Answer", "Question", "Hint", "A", "Nope"])
graphs = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True).flatmap(
    lambda names: st.fixed_dictionaries(
        {
            "agents": st.fixed_dictionaries(
                {
                    n: st.fixed_dictionaries(
                        {"factory": st.sampled_from(FACTORIES)},
                        optional={
                            "args": st.one_of(
                                st.dictionaries(
                                    st.sampled_from(["profile", "seed", "level", "name"]),
                                    st.one_of(scalars, st.sampled_from(["strong", "novice"])),
                                    max_size=2,
                                ),
                                structures,
                            )
                        },
                    )
                    for n in names
                }
            ),
            "edges": st.lists(
                st.fixed_dictionaries(
                    {"from": st.sampled_from([*names, "zz"]), "to": st.sampled_from(names)},
                    optional={"kinds": st.one_of(KINDS, st.lists(KINDS, max_size=3), structures)},
                ),
                max_size=3,
            ),
        }
    )
)
experts = st.fixed_dictionaries(
    {
        "experts": st.lists(
            st.fixed_dictionaries(
                {
                    "name": st.text(max_size=8),
                    "skills": st.lists(st.text(max_size=8), max_size=2),
                    "backend": st.fixed_dictionaries(
                        {
                            "kind": st.sampled_from(["openai", "lora", "other"]),
                            # loopback port 9 refuses at once: no network is reached
                            "base_url": st.sampled_from(["http://127.0.0.1:9/v1", "", "x"]),
                        },
                        optional={"model": st.text(max_size=8), "adapter": st.text(max_size=8)},
                    ),
                },
                optional={"generation": st.dictionaries(st.sampled_from(WORDS), scalars)},
            ),
            max_size=2,
        )
    }
)


@st.composite
def yaml_text(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["structure", "graph", "experts", "text", "bomb", "latin1"]))
    if kind in ("structure", "graph", "experts"):
        shape = {"structure": structures, "graph": graphs, "experts": experts}[kind]
        return yaml.safe_dump(draw(shape), allow_unicode=True).encode()
    if kind == "bomb":
        return ALIAS_BOMB.encode()
    if kind == "latin1":
        return "agents: {élève: {}}\n".encode("latin-1")
    return draw(st.text(max_size=60)).encode("utf-8", "surrogatepass")


@st.composite
def jsonl_text(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(structures, max_size=4))
    text = "".join(json.dumps(line) + "\n" for line in lines)
    return text.encode() + draw(st.sampled_from([b"", b"{", b"\xff\n", b"[" * 3000 + b"\n"]))


@st.composite
def graphml_text(draw: st.DrawFn) -> bytes:
    props = draw(st.one_of(structures.map(json.dumps), st.text(max_size=10)))
    escaped = props.replace("&", "&amp;").replace("<", "&lt;")
    node_id = draw(st.text(min_size=1, max_size=6)).replace("&", "").replace("<", "")
    text = (
        '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
        '<key id="p" for="node" attr.name="properties" attr.type="string"/>'
        '<key id="l" for="node" attr.name="labels" attr.type="string"/>'
        f'<graph edgedefault="directed"><node id="{node_id}"><data key="p">{escaped}</data>'
        f'<data key="l">{draw(st.sampled_from(["", "A", ";", "A;B"]))}</data></node>'
        f'<edge source="{node_id}" target="{node_id}"/></graph></graphml>'
    )
    return draw(st.sampled_from([text.encode(), text.encode()[: len(text) // 2]]))


@pytest.fixture(scope="module")
def lyceum_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real store: the sample curriculum and one demo run."""
    db = tmp_path_factory.mktemp("store") / "store.db"
    runner = CliRunner()
    for args in (
        ["kg", "build", "curriculum"],
        ["demo", "--students", "0", "--profiles", "strong", "--quiet"],
    ):
        assert runner.invoke(main, [*args, "--db", str(db)]).exit_code == 0
    return db


def write_files(folder: Path, contents: dict[str, bytes], store: Path) -> None:
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    shutil.copy(store, folder / "store.db")
    (folder / "empty.db").write_bytes(b"")
    (folder / "folder").mkdir()
    conn = sqlite3.connect(folder / "other.db")
    conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
    conn.execute("INSERT INTO alembic_version VALUES ('3f2a9c1b7d4e')")
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.commit()
    conn.close()


file_contents = st.fixed_dictionaries(
    {
        "a.yaml": yaml_text(),
        "b.jsonl": jsonl_text(),
        "c.graphml": graphml_text(),
        "d.bin": st.binary(max_size=64),
    }
)

# -- arguments -----------------------------------------------------------------------------
HUGE = "<100,000 x>"  # stands for "x" * 100_000, so that hypothesis reports stay short
# A command line holds no NUL byte (argv is C strings) and no lone surrogate but those that
# stand for undecodable bytes (surrogateescape, U+DC80-U+DCFF, sampled below).
ARG_TEXT = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=20)
HOSTILE = st.one_of(
    st.sampled_from(FILES),
    ARG_TEXT,
    st.sampled_from(
        [
            "",
            "-",
            "--",
            "-1",
            "0",
            "nan",
            "inf",
            "1e309",
            str(10**30),
            str(-(10**30)),
            HUGE,
            "%",
            "é" * 50,
            "\u202e\n\r\x1b[31m",
            "caf\udce9.yaml",  # the Latin-1 byte of 'café.yaml', as Python decodes argv
            "mysql://user@host/db",
            "notascheme://x",
            "sqlite:///no/such/folder/x.db",
            ":memory:",
            "novice,strong",
            "novice",
        ]
    ),
)
NUMBERS = st.one_of(st.integers(-(10**25), 10**25).map(str), st.floats().map(str))


def value_for(param: click.Parameter) -> st.SearchStrategy[str]:
    kind = param.type
    if isinstance(kind, click.Choice):
        return st.one_of(st.sampled_from([str(c) for c in kind.choices]), HOSTILE)
    if isinstance(kind, click.types._NumberParamTypeBase):
        return st.one_of(NUMBERS, HOSTILE)
    return HOSTILE


def arguments(path: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    command = command_of(path)
    left_out = LEFT_OUT.get(" ".join(path), set())
    positional = [value_for(p) for p in command.params if isinstance(p, click.Argument)]
    options: list[st.SearchStrategy[list[str]]] = []
    for param in command.params:
        if not isinstance(param, click.Option) or param.hidden:
            continue
        names = [n for n in param.opts + param.secondary_opts if n not in left_out]
        if not names:
            continue
        if param.is_flag or param.count:
            options.append(st.sampled_from(names).map(lambda n: [n]))
        else:
            options.append(st.tuples(st.sampled_from(names), value_for(param)).map(list))
    chosen = st.lists(st.one_of(*options), max_size=4) if options else st.just([])
    always = ALWAYS.get(" ".join(path), [])
    return st.tuples(st.tuples(*positional), chosen).map(
        lambda pair: [*path, *pair[0], *[token for group in pair[1] for token in group], *always]
    )


def check(path: tuple[str, ...], args: list[str], result: Result) -> None:
    shown = f"lyceum {' '.join(a if len(a) < 60 else a[:60] + '…' for a in args)}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert result.exc_info is not None
        trace = "".join(traceback.format_exception(*result.exc_info))
        pytest.fail(f"{shown} raised a traceback:\n{trace}")
    allowed = {0, 2} | ({1} if " ".join(path) in MAY_EXIT_1 else set())
    assert result.exit_code in allowed, f"{shown}: exit {result.exit_code}\n{result.output}"
    assert "Traceback" not in result.output, shown
    if result.exit_code == 0:
        return
    # Warnings (one line each, "warning: …") may come before the error's one line.
    lines = result.stderr.splitlines(keepends=True)
    while lines and lines[0].startswith("warning: "):
        lines = lines[1:]
    stderr = "".join(lines)
    usage = stderr.startswith("Usage: ") and "\nError: " in stderr
    one_line = stderr.startswith("error: ") and stderr.count("\n") == 1
    assert usage or one_line or result.exit_code == 1, f"{shown}: stderr is\n{stderr}"


COMMANDS = leaf_commands(main)


def test_every_command_is_fuzzed() -> None:
    assert len(COMMANDS) >= 13
    assert {" ".join(c) for c in COMMANDS} >= {"demo", "runs list", "kg export", "graph check"}
    unknown = (set(LEFT_OUT) | set(ALWAYS) | MAY_EXIT_1 | set(EXAMPLES)) - {
        " ".join(c) for c in COMMANDS
    }
    assert not unknown, f"bounded arguments for commands that do not exist: {unknown}"


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_no_traceback_reaches_the_user(
    path: tuple[str, ...], lyceum_store: Path, tmp_path: Path
) -> None:
    @settings(
        derandomize=True,
        max_examples=EXAMPLES.get(" ".join(path), DEFAULT_EXAMPLES),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(args=arguments(path), contents=file_contents)
    def run(args: list[str], contents: dict[str, bytes]) -> None:
        runner = CliRunner()
        with tempfile.TemporaryDirectory(dir=tmp_path) as folder, contextlib.chdir(folder):
            write_files(Path(folder), contents, lyceum_store)
            env = {
                "LYCEUM_DB": "store.db",
                "LYCEUM_DATA_DIR": "no-data",
                "COLUMNS": "80",
                "NO_COLOR": "1",
                "HF_HUB_OFFLINE": "1",
            }
            argv = [("x" * 100_000 if a == HUGE else a) for a in args]
            result = runner.invoke(main, argv, env=env, catch_exceptions=True)
        check(path, args, result)

    run()
