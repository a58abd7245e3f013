"""Loading an experts YAML file: shape checks on the raw YAML (an empty file, a list at
the top, unknown keys with a close one suggested), then validation against the schema in
``agents.meta.expert_spec``; every error names the file, line and field."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agents.meta.expert_spec import Expert, ExpertServe, ExpertsFile, Generation, ServeSettings
from protocols import ConfigError
from protocols.config import LineMap, load_yaml, validate_yaml

__all__ = ["load_experts_file"]


def load_experts_file(path: str | Path) -> tuple[ExpertsFile, LineMap]:
    """Load and validate an experts YAML file, with the line of every value (for errors
    found later, such as a missing model folder). Errors name the file, line and field."""
    data, lines = load_yaml(path)
    _check_shape(path, data, lines)
    spec = validate_yaml(path, ExpertsFile, data, lines)
    seen: dict[str, int] = {}
    for i, expert in enumerate(spec.experts):
        if expert.name in seen:
            raise ConfigError(
                f"expert name {expert.name!r} is taken (by experts.{seen[expert.name]}); give "
                "each expert its own name",
                path=str(path),
                line=lines.line(("experts", i, "name")),
                field=f"experts.{i}.name",
            )
        seen[expert.name] = i
    return spec, lines


def _check_shape(path: str | Path, data: Any, lines: LineMap) -> None:
    """The file's top level and ``serve:`` are mappings, and no section has an unknown
    key (a close one is suggested, or the allowed ones are listed)."""

    def fail(loc: tuple[str | int, ...], problem: str) -> ConfigError:
        field = ".".join(map(str, loc)) or None
        return ConfigError(problem, path=str(path), line=lines.line(loc), field=field)

    def unknown(section: Any, loc: tuple[str | int, ...], model: type[BaseModel]) -> None:
        for key in section if isinstance(section, dict) else ():
            if key not in model.model_fields:
                allowed = ", ".join(model.model_fields)
                close = difflib.get_close_matches(str(key), list(model.model_fields), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f" (allowed: {allowed})"
                raise fail((*loc, key), f"unknown field{hint}")

    if data is None:
        raise fail((), "the file is empty; give an 'experts:' list (docs/serving.md)")
    if not isinstance(data, dict):
        raise fail((), "the top level must be a mapping with an 'experts:' list, not a list")
    unknown(data, (), ExpertsFile)
    serve = data.get("serve")
    if "serve" in data and not isinstance(serve, dict):
        raise fail(
            ("serve",),
            f"'serve' must be a mapping of server settings, not {serve!r} (keys: "
            f"{', '.join(ServeSettings.model_fields)})",
        )
    unknown(serve, ("serve",), ServeSettings)
    if isinstance(serve, dict) and isinstance(serve.get("args"), str):
        raise fail(("serve", "args"), "give the options as a list: args: [--flag, value]")
    if not isinstance(data.get("experts"), list):
        raise fail(
            ("experts",) if "experts" in data else (),
            "give 'experts:' as a list of experts (- name: ..., skills: [...], serve: ...)",
        )
    for i, expert in enumerate(data["experts"]):
        if isinstance(expert, dict):
            if "serve" in expert and "backend" in expert:
                raise fail(
                    ("experts", i, "backend"),
                    "give 'serve' (what `lyceum serve` serves) or 'backend' (where it is "
                    "served), not both: `lyceum serve` writes the backend; remove one",
                )
            unknown(expert, ("experts", i), Expert)
            unknown(expert.get("serve"), ("experts", i, "serve"), ExpertServe)
            unknown(expert.get("generation"), ("experts", i, "generation"), Generation)
