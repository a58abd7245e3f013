"""Persona specs: the built-ins load; bad YAML names file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from personas.spec import BUILTIN_PERSONAS, PersonaSpec, builtin_persona, load_persona
from protocols import ConfigError, UserError


@pytest.mark.parametrize("name", BUILTIN_PERSONAS)
def test_every_builtin_persona_loads(name: str) -> None:
    spec = builtin_persona(name)
    assert isinstance(spec, PersonaSpec) and spec.role == name
    assert spec.profile and spec.goals


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "persona.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name: t\nrole: teacher\nmind: simulated\ngoal: [x]\n",
            ":4: field 'goal': unknown field (allowed: ",
        ),
        (
            "name: t\nrole: teacher\nmind: simulated\ngoals: 3\n",
            ":4: field 'goals': Input should be a valid tuple (got 3)",
        ),
        (
            "name: t\nrole: teacher\nmind: telepathic\n",
            ":3: field 'mind': Input should be 'llm' or 'simulated' (got 'telepathic')",
        ),
        (
            "name: t\nrole: teacher\nmind: llm\ntools: [calculator]\n",
            ":3: field 'model': mind 'llm' needs a 'model'",
        ),
        ("name: t\nmind: simulated\n", ":1: field 'role': Field required"),
        ("name: t\nrole: [teacher\n", ":3: not valid YAML: expected ',' or ']'"),
    ],
)
def test_bad_persona_yaml_names_file_line_and_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_persona(path)
    assert str(info.value).startswith(f"{path}{expected}"), str(info.value)


def test_an_llm_persona_with_a_model_loads(tmp_path: Path) -> None:
    spec = load_persona(write(tmp_path, "name: t\nrole: teacher\nmind: llm\nmodel: local-expert\n"))
    assert (spec.mind, spec.model) == ("llm", "local-expert")


def test_unknown_builtin_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="no built-in persona 'techer'"):
        builtin_persona("techer")
