"""Skill tags of real evaluation items, and the knowledge graph a simulated learner reads.

A simulated learner (``personas.minds.SimulatedLearner``) answers an item by the one skill
it needs, and learns from an explanation by *reading* it against the graph's Skill nodes
(``personas.minds.ReadingModel``: BM25 between the text and each skill's ``name`` and
``description``). So every Skill node here carries words a text about that skill would use,
and every Item node REQUIRES its skills, the **primary** one (the one the learner answers
by) marked ``primary: true`` on its edge and listed first in ``EvalItem.skills``.

The taggers:

- **GSM8K**: ``knowledge_graph.builders.tag_solution`` reads the worked solution (operators
  of the calculator annotations, number of steps, fractions, percentages, rates, units).
  Each tag is a Skill node shared by all the items that carry it (so explaining one item
  can teach another: the multi-turn effect), described by the cue words of word problems
  that call for it (the vocabulary the tagger itself matches, for the word tags). The
  primary skill is the item's *most specific* piece of mathematics: of the tags that say
  what the solution does (operations, fractions, percentages, rates), the one fewest items
  of the loaded set carry (ties in ``TAGS`` order); the units it is in come next and its
  length (``steps:*``) last, primary only when nothing else is tagged.
- **StrategyQA**: the skill is *what must be known* to answer, which the data states as the
  question's decomposition (``"How many kids did Genghis Khan have?"``, ...). One Skill node
  per question (``name`` = the question's term, ``description`` = its decomposition steps,
  ``#1`` references dropped); the facts explanation is read against it, and against every
  other question's, by BM25: graded, never looked up by id.
- **ECQA**: what must be known is why the right choice answers the question: one Skill node
  per question (``name`` = its ConceptNet concept, ``description`` = the question with the
  right choice).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from knowledge_graph.builders import TAGS
from knowledge_graph.memory import MemoryGraphStore
from knowledge_graph.model import Edge, Node
from knowledge_graph.store import GraphStore

__all__ = [
    "GSM8K_SKILLS",
    "SkillSpec",
    "dataset_graph",
    "ecqa_skill",
    "gsm8k_skill_id",
    "gsm8k_skill_specs",
    "order_gsm8k_tags",
    "strategyqa_skill",
]


@dataclass(frozen=True)
class SkillSpec:
    """A Skill node to build: its id and the texts the reading model reads."""

    id: str
    name: str
    description: str


GSM8K_SKILLS: dict[str, tuple[str, str]] = {
    "op:add": ("Addition", "add, plus, sum, total, altogether, combined, in all, more, increase"),
    "op:sub": (
        "Subtraction",
        "subtract, minus, difference, left, remaining, remain, fewer, less, spent, change",
    ),
    "op:mul": ("Multiplication", "multiply, times, twice, double, triple, product, each, every"),
    "op:div": ("Division", "divide, half, split, share, equally, equal parts, each, per, ratio"),
    "steps:1": ("One-step problems", "one calculation answers the question"),
    "steps:2": ("Two-step problems", "two calculations, the first result feeds the second"),
    "steps:3": ("Three-step problems", "three calculations chained, each result feeds the next"),
    "steps:4": ("Four-step problems", "four calculations chained, each result feeds the next"),
    "steps:5+": ("Long multi-step problems", "five or more calculations chained in order"),
    "fractions": ("Fractions", "half, halves, third, thirds, quarter, quarters, fraction, of"),
    "percentages": ("Percentages", "percent, percentage, % of, discount, increase, decrease"),
    "rates": ("Rates", "per, each, every, rate, speed, an hour, a day, mph"),
    "units:money": ("Money", "dollars, cents, euros, price, cost, costs, pay, paid, earn, $"),
    "units:time": ("Time units", "seconds, minutes, hours, days, weeks, months, years"),
    "units:length": ("Length units", "miles, km, kilometers, meters, feet, inches, yards, cm"),
    "units:weight": ("Weight units", "pounds, lbs, kg, kilograms, grams, ounces, tons"),
    "units:volume": ("Volume units", "liters, gallons, cups, ml, quarts, pints"),
}
"""Each GSM8K tag's name and description (the cue words of problems that need it)."""


def gsm8k_skill_id(tag: str) -> str:
    """The Skill node id of a GSM8K tag."""
    return f"skill:gsm8k/{tag}"


def gsm8k_skill_specs() -> list[SkillSpec]:
    """The Skill nodes of every GSM8K tag."""
    return [SkillSpec(gsm8k_skill_id(t), *GSM8K_SKILLS[t]) for t in TAGS]


def order_gsm8k_tags(tags: Sequence[str], counts: Counter[str]) -> tuple[str, ...]:
    """``tags`` with the primary first: what the solution does (operations, fractions,
    percentages, rates) before the units it is in, before its length (``steps:*``); within
    each group, fewest items in ``counts`` first, ties in ``TAGS`` order."""

    def group(tag: str) -> int:
        return 2 if tag.startswith("steps:") else 1 if tag.startswith("units:") else 0

    return tuple(sorted(tags, key=lambda t: (group(t), counts[t], TAGS.index(t))))


_REFERENCE = re.compile(r"#\d+")


def strategyqa_skill(qid: str, term: str, decomposition: Sequence[str]) -> SkillSpec:
    """The Skill of a StrategyQA question: what must be known, its decomposition steps
    (``#1``-style references to earlier steps dropped: they are not words)."""
    steps = " ".join(_REFERENCE.sub("", step).strip() for step in decomposition)
    return SkillSpec(f"skill:strategyqa/{qid}", term, " ".join(steps.split()))


def ecqa_skill(qid: str, concept: str, question: str, answer: str) -> SkillSpec:
    """The Skill of an ECQA question: why its right choice answers it."""
    return SkillSpec(f"skill:ecqa/{qid}", concept, f"{question} {answer}")


def dataset_graph(
    items: Iterable[tuple[str, str, str, str, Sequence[str]]], skills: Iterable[SkillSpec]
) -> GraphStore:
    """A graph of Skill nodes and Item nodes that REQUIRE them.

    Args:
        items: ``(id, question, answer, source, skill ids)``, the primary skill first.
        skills: Every skill the items name.
    """
    nodes = [
        Node(id=s.id, labels=["Skill"], properties={"name": s.name, "description": s.description})
        for s in skills
    ]
    edges: list[Edge] = []
    for item_id, question, answer, source, item_skills in items:
        nodes.append(
            Node(
                id=item_id,
                labels=["Item"],
                properties={"text": question, "answer": answer, "source": source},
            )
        )
        edges += [
            Edge(source=item_id, target=skill, type="REQUIRES", properties={"primary": i == 0})
            for i, skill in enumerate(item_skills)
        ]
    store = MemoryGraphStore()
    store.bulk_load(nodes, edges)
    return store
