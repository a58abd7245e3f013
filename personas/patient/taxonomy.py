"""The PATIENT-Ψ option lists and style texts (``cbt_ccd_taxonomy_and_styles.json``).

Read by path (``load_taxonomy(path)``, or ``load_taxonomy(data_dir=...)`` for
``patient_psi/cbt_ccd_taxonomy_and_styles.json`` in the data folder). The project does not
ship this file: without it, the patient describes its style in the project's own words and
the scorer compares core beliefs and emotions as free text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge_graph.builders.data import data_file, read_json
from protocols import ConfigError

__all__ = ["TAXONOMY_FILE", "CCDTaxonomy", "load_taxonomy"]

TAXONOMY_FILE = "patient_psi/cbt_ccd_taxonomy_and_styles.json"
_CATEGORIES = {
    "helplessBeliefItems": "helpless",
    "unlovableBeliefItems": "unlovable",
    "worthlessBeliefItems": "worthless",
}


@dataclass(frozen=True)
class CCDTaxonomy:
    """The taxonomy's options and style texts.

    Attributes:
        core_beliefs: Option id -> label (e.g. ``"failure"`` -> ``"I am a failure, loser."``).
        categories: Core-belief option id -> its category (helpless, unlovable, worthless).
        emotions: Option id -> label (e.g. ``"anxious"`` -> ``"anxious, worried, ..."``).
        simulator_instructions: Style -> the paper's instruction to its LLM simulator.
        descriptions: Style -> the trainer-facing description of that style.
    """

    core_beliefs: dict[str, str]
    categories: dict[str, str]
    emotions: dict[str, str]
    simulator_instructions: dict[str, str]
    descriptions: dict[str, str]


def _pairs(
    items: Any, field: str, where: str, key: str = "id", value: str = "label"
) -> dict[str, str]:
    """A list of ``{key, value}`` objects as a dict, checked (the error names the field)."""
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get(key), str) and isinstance(i.get(value), str)
        for i in items
    ):
        raise ConfigError(
            f"field {field!r} must be a list of {{{key}, {value}}} objects with string values",
            path=where,
        )
    return {i[key]: i[value] for i in items}


def _styles(data: dict[str, Any], name: str, where: str) -> dict[str, str]:
    styles = data.get("conversational_styles")
    items = styles.get(name) if isinstance(styles, dict) else None
    return _pairs(items, f"conversational_styles.{name}", where, "type", "content")


def load_taxonomy(
    path: str | Path | None = None, *, data_dir: str | Path | None = None
) -> CCDTaxonomy:
    """Read and check the taxonomy file (``path``, else ``TAXONOMY_FILE`` in the data folder:
    ``data_dir`` or ``$LYCEUM_DATA_DIR``)."""
    where = Path(path) if path is not None else data_file(TAXONOMY_FILE, data_dir)
    if not where.is_file():
        raise ConfigError(
            "no such taxonomy file; pass the path of " + TAXONOMY_FILE, path=str(where)
        )
    data = read_json(where)
    if not isinstance(data, dict) or not isinstance(data.get("core_beliefs"), dict):
        raise ConfigError(
            "the taxonomy must be an object with 'core_beliefs', 'emotions' and "
            "'conversational_styles'",
            path=str(where),
        )
    core: dict[str, str] = {}
    categories: dict[str, str] = {}
    for key, category in _CATEGORIES.items():
        options = _pairs(data["core_beliefs"].get(key), f"core_beliefs.{key}", str(where))
        core.update(options)
        categories.update(dict.fromkeys(options, category))
    return CCDTaxonomy(
        core_beliefs=core,
        categories=categories,
        emotions=_pairs(data.get("emotions"), "emotions", str(where)),
        simulator_instructions=_styles(data, "simulator_instructions", str(where)),
        descriptions=_styles(data, "trainer_facing_descriptions", str(where)),
    )
