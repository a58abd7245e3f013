"""GSM8K problems as Item nodes, tagged with skills by a deterministic tagger.

The tagger reads the worked solution (and, for vocabulary tags, the question too):

- ``op:add`` ``op:sub`` ``op:mul`` ``op:div``: the operator appears in a calculator
  annotation ``<<expr=value>>`` (a solution without annotations is read line by line);
- ``steps:1`` … ``steps:5+``: the number of annotated calculations (or solution lines
  before ``####``), capped at 5;
- ``fractions``: a number written ``a/b`` in the question, or the words half, third,
  quarter, fraction;
- ``percentages``: ``%`` or the word percent;
- ``rates``: per, each, every, rate, speed, an hour, a day, mph;
- ``units:money`` ``units:time`` ``units:length`` ``units:weight`` ``units:volume``: a
  currency sign or a unit word of that kind.

The same text always gets the same tags; ``tag_distribution`` counts them over a data set.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from knowledge_graph.builders.data import data_file, read_jsonl_records
from knowledge_graph.memory import MemoryGraphStore
from knowledge_graph.model import Edge, Node
from knowledge_graph.store import GraphStore
from protocols import ConfigError

__all__ = ["TAGS", "gsm8k_graph", "load_gsm8k", "tag_distribution", "tag_solution"]

_ANNOTATION = re.compile(r"<<([^=<>]*)=([^<>]*)>>")
_OPS = {"+": "op:add", "-": "op:sub", "*": "op:mul", "/": "op:div"}
_WORDS = {
    "fractions": r"\bhalf\b|\bhalves\b|\bthirds?\b|\bquarters?\b|\bfractions?\b",
    "percentages": r"%|\bpercent",
    "rates": r"\bper\b|\beach\b|\bevery\b|\brate\b|\bspeed\b|\ban hour\b|\ba day\b|\bmph\b",
    "units:money": r"\$|\bdollars?\b|\bcents?\b|\beuros?\b",
    "units:time": r"\b(seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b",
    "units:length": r"\b(miles?|km|kilometers?|meters?|metres?|feet|foot|inch(es)?|yards?|cm)\b",
    "units:weight": r"\b(pounds?|lbs?|kg|kilograms?|grams?|ounces?|tons?)\b",
    "units:volume": r"\b(liters?|litres?|gallons?|cups?|ml|quarts?|pints?)\b",
}
TAGS = (*_OPS.values(), "steps:1", "steps:2", "steps:3", "steps:4", "steps:5+", *_WORDS)


def _operations(expression: str) -> set[str]:
    # A '-' right after another operator or '(' (or first) is a sign, not a subtraction.
    found = set()
    previous = ""
    for char in expression.replace(" ", ""):
        if char in _OPS and not (char == "-" and (previous in ("", "(") or previous in _OPS)):
            found.add(_OPS[char])
        previous = char
    return found


def tag_solution(question: str, solution: str) -> list[str]:
    """The skill tags of one problem, in ``TAGS`` order."""
    work = solution.split("####")[0]
    annotations = _ANNOTATION.findall(work)
    tags: set[str] = set()
    if annotations:
        for expression, _ in annotations:
            tags |= _operations(expression)
        steps = len(annotations)
    else:
        lines = [ln for ln in work.splitlines() if ln.strip()]
        for line in lines:
            left = line.split("=")[0] if "=" in line else ""
            tags |= _operations(re.sub(r"[^\d+\-*/().]", "", left))
        steps = len(lines)
    tags.add(f"steps:{min(max(steps, 1), 5)}" + ("+" if steps >= 5 else ""))
    text = f"{question}\n{_ANNOTATION.sub('', work)}".lower()
    tags |= {tag for tag, pattern in _WORDS.items() if re.search(pattern, text)}
    if re.search(r"\b\d+/\d+\b", question):  # in solutions a slash is usually division
        tags.add("fractions")
    return [t for t in TAGS if t in tags]


def load_gsm8k(
    data_dir: str | Path | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    path = data_file("gsm8k/train.jsonl", data_dir)
    records = read_jsonl_records(path)
    for i, record in enumerate(records):
        if not isinstance(record.get("question"), str) or not isinstance(record.get("answer"), str):
            raise ConfigError(
                "each record needs string 'question' and 'answer'", path=str(path), line=i + 1
            )
    return records[:limit] if limit is not None else records


def tag_distribution(records: Iterable[dict[str, Any]]) -> Counter[str]:
    """How many problems carry each tag."""
    counts: Counter[str] = Counter()
    for record in records:
        counts.update(tag_solution(record["question"], record["answer"]))
    return counts


def gsm8k_graph(
    data_dir: str | Path | None = None,
    *,
    limit: int | None = None,
    store: GraphStore | None = None,
    progress: Callable[[int], None] | None = None,
) -> GraphStore:
    """Item nodes (question, final answer) that REQUIRE the Skill nodes of their tags.
    ``progress`` is called with 1 per problem tagged."""
    records = load_gsm8k(data_dir, limit)
    nodes = [
        Node(id=f"skill:gsm8k/{tag}", labels=["Skill"], properties={"name": tag}) for tag in TAGS
    ]
    edges = []
    for i, record in enumerate(records):
        item = f"item:gsm8k-train-{i}"
        final = record["answer"].split("####")[-1].strip()
        nodes.append(
            Node(
                id=item,
                labels=["Item"],
                properties={
                    "text": record["question"],
                    "answer": final,
                    "source": "gsm8k/train.jsonl",
                    "line": i + 1,
                },
            )
        )
        edges += [
            Edge(source=item, target=f"skill:gsm8k/{tag}", type="REQUIRES")
            for tag in tag_solution(record["question"], record["answer"])
        ]
        if progress is not None:
            progress(1)
    store = store if store is not None else MemoryGraphStore()
    store.bulk_load(nodes, edges)
    return store
