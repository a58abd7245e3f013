"""Typed loaders of the evaluation data sets: GSM8K, StrategyQA, ECQA and the built-in sample.

``load_dataset(name, path)`` reads a data set into a ``Dataset``: its ``EvalItem``\\ s in
file order, a knowledge graph of the items and their skills (``agents.eval.skills``), the
SHA-256 of the file read, and the records skipped as malformed. Files resolve from ``path``
(the file itself or the data folder) or from ``$LYCEUM_DATA_DIR``:

======================  =========================  ==============================
name                    file                       item id
======================  =========================  ==============================
``gsm8k``               ``gsm8k/train.jsonl``      ``gsm8k:<line>``
``strategyqa``          ``strategyqa/train.json``  ``strategyqa:<qid>``
``ecqa``                ``ecqa/cqa_data_val.csv``  ``ecqa:<q_no>``
``sample``              (built in)                 the curriculum's Item node id
======================  =========================  ==============================

A malformed record raises ``ConfigError`` naming the file, the line, the field and how to
fix it; with ``skip_bad=True`` it is skipped and recorded as a ``BadRecord``.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from importlib import resources
from pathlib import Path

from agents.eval.base import BadRecord, Dataset, EvalItem
from agents.eval.formats import (
    Malformed,
    Record,
    csv_records,
    json_list_records,
    jsonl_records,
    read_text,
)
from agents.eval.records import Bad, Parsed, ecqa_item, gsm8k_item, strategyqa_item
from agents.eval.skills import dataset_graph, gsm8k_skill_id, gsm8k_skill_specs, order_gsm8k_tags
from knowledge_graph.builders import data_file, sample_curriculum
from protocols import ConfigError
from protocols.errors import UserError, shorten

__all__ = ["DATASETS", "DATA_FILES", "load_dataset"]

DATA_FILES = {
    "gsm8k": "gsm8k/train.jsonl",
    "strategyqa": "strategyqa/train.json",
    "ecqa": "ecqa/cqa_data_val.csv",
}
"""Each real data set's file, relative to the data folder."""

DATASETS = ("sample", *DATA_FILES)
"""The data sets ``load_dataset`` reads."""

ECQA_COLUMNS = ("q_no", "q_concept", "q_text", *(f"q_op{i}" for i in range(1, 6)), "q_ans", "taskB")


def load_dataset(
    name: str,
    path: str | Path | None = None,
    *,
    limit: int | None = None,
    skip_bad: bool = False,
) -> Dataset:
    """Load an evaluation data set.

    Args:
        name: One of ``DATASETS``.
        path: The data file, or the data folder that holds it (by default
            ``$LYCEUM_DATA_DIR``); ignored for ``"sample"``.
        limit: Keep only the first ``limit`` (good) items.
        skip_bad: Skip malformed records (recorded in ``Dataset.skipped``) instead of
            raising.

    Returns:
        The items in file order, with their knowledge graph and the data's SHA-256.

    Raises:
        ConfigError: An unknown name, a missing file, or a malformed record (file, line,
            field and the fix).
    """
    if limit is not None and limit < 0:
        raise UserError(f"limit must be a number of items (0 or more), got {limit}")
    if name == "sample":
        return _sample(limit)
    if name not in DATA_FILES:
        close = difflib.get_close_matches(name, DATASETS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"unknown data set {name!r}; {hint}choose one of {', '.join(DATASETS)}")
    file = _resolve(name, path)
    text, data = read_text(file)
    parsed, skipped = _parse(name, file, text, limit, skip_bad)
    items = [item for item, _ in parsed]
    if name == "gsm8k":
        counts = Counter(tag for item in items for tag in item.skills)
        items = [
            replace(
                item, skills=tuple(gsm8k_skill_id(t) for t in order_gsm8k_tags(item.skills, counts))
            )
            for item in items
        ]
        skills = gsm8k_skill_specs()
    else:
        skills = [skill for _, skill in parsed if skill is not None]
    kg = dataset_graph(
        ((i.id, i.question, i.answer, i.source or "", i.skills) for i in items), skills
    )
    return Dataset(
        name=name,
        items=tuple(items),
        kg=kg,
        source=str(file),
        sha256=hashlib.sha256(data).hexdigest(),
        skipped=tuple(skipped),
    )


def _resolve(name: str, path: str | Path | None) -> Path:
    """The data file: ``path`` itself, or ``DATA_FILES[name]`` in the folder ``path`` (by
    default ``$LYCEUM_DATA_DIR``)."""
    if path is not None:
        given = Path(path)
        try:
            is_file, is_dir = given.is_file(), given.is_dir()
        except (OSError, ValueError) as exc:  # a name too long to look up, a NUL byte
            raise ConfigError(
                f"not a usable path ({exc}); pass the {name} file or its data folder",
                path=shorten(str(given), 200),
            ) from None
        if is_file:
            return given
        if given.suffix and not is_dir:
            raise ConfigError(
                f"no such file; pass the {name} file ({DATA_FILES[name]}) or the data "
                "folder that holds it",
                path=str(given),
            )
    return data_file(DATA_FILES[name], path)


def _records(name: str, file: Path, text: str) -> Iterator[Record | Malformed]:
    if name == "gsm8k":
        return jsonl_records(file, text)
    if name == "strategyqa":
        return iter(json_list_records(file, text))
    return csv_records(file, text, ECQA_COLUMNS)


_MALFORMED_FIX = {
    "gsm8k": "make the line one JSON object",
    "strategyqa": "make the record one JSON object",
    "ecqa": "give the row one field per header column (quote fields that hold commas)",
}
_PARSERS = {"gsm8k": gsm8k_item, "strategyqa": strategyqa_item, "ecqa": ecqa_item}


def _parse(
    name: str, file: Path, text: str, limit: int | None, skip_bad: bool
) -> tuple[list[Parsed], list[BadRecord]]:
    items: list[Parsed] = []
    skipped: list[BadRecord] = []
    lines: dict[str, int] = {}
    for record in _records(name, file, text):
        if limit is not None and len(items) >= limit:
            break
        try:
            if isinstance(record, Malformed):
                raise Bad(record.reason, _MALFORMED_FIX[name])
            item, skill = _PARSERS[name](record.value, f"{file}:{record.line}", record.line)
            if item.id in lines:
                raise Bad(
                    f"duplicate id {item.id!r}: already on line {lines[item.id]}",
                    "give each record its own id",
                    field="qid" if name == "strategyqa" else "q_no",
                )
        except Bad as bad:
            if not skip_bad:
                raise ConfigError(
                    f"{bad.reason}; {bad.fix} (or pass --skip-bad to skip such records)",
                    path=str(file),
                    line=record.line,
                    field=bad.field,
                ) from None
            skipped.append(BadRecord(str(file), record.line, bad.message()))
            continue
        lines[item.id] = record.line
        items.append((item, skill))
    return items, skipped


_SAMPLE = "curriculum.yaml"


def _sample(limit: int | None) -> Dataset:
    """The built-in sample curriculum: its Item nodes with answers, in file order."""
    yaml_file = resources.files("knowledge_graph.builders") / _SAMPLE
    data = yaml_file.read_bytes()
    kg = sample_curriculum()
    lines = data.decode("utf-8").splitlines()
    items = []
    for node in sorted(kg.match("Item"), key=lambda n: int(n.properties.get("position", 0))):
        skills = tuple(e.target for e in kg.edges(node.id, type="REQUIRES"))
        if "answer" not in node.properties or not skills:
            continue
        key = node.id.removeprefix("item:")
        line = next(
            (n for n, text in enumerate(lines, 1) if re.match(rf"\s+{re.escape(key)}:", text)),
            None,
        )
        items.append(
            EvalItem(
                id=node.id,
                dataset="sample",
                question=str(node.properties["text"]),
                answer=str(node.properties["answer"]),
                skills=skills,
                source=f"{_SAMPLE}:{line}" if line else _SAMPLE,
            )
        )
    return Dataset(
        name="sample",
        items=tuple(items[:limit] if limit is not None else items),
        kg=kg,
        source=None,
        sha256=hashlib.sha256(data).hexdigest(),
    )
