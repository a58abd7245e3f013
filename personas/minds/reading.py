"""The reading model: what a text does to a simulated learner, judged from the text alone.

A learner reads an explanation (or a hint) and may learn a skill, give up a misconception,
pick one up, or remember an answer it was told. ``ReadingModel(kg).read(text)`` decides
which, and how strongly, from two things a reader can get out of a text, both grounded in
the knowledge graph, and from nothing else (never from labels the sender attaches):

1. **What it is about** — graded lexical similarity (BM25, ``bm25s``, on stemmed words)
   between the text and each Skill's description and each Explanation node that
   REMEDIATES a misconception. Similarity is the text's BM25 score for a node divided by
   the node's score for its own text (1 for a text that covers the node's words; a
   paraphrase scores partly; unrelated words score 0), ramped from ``lexical_floor``.
2. **What it states** — the arithmetic it asserts, found and checked with the calculator
   (``personas.minds.statements``). A correct *worked* example (steps shown) of a problem
   of the form a skill's items take supports that skill, and counters the misconceptions
   of that form; a false result stated as true that is a misconception's characteristic
   answer (its description's example, or an item's EXHIBITS ``wrong_answer``) implants
   that misconception; the same false result marked as wrong refutes it. A result stated
   for an item's problem, or ``The answer is …``, *reveals* an answer: the learner can
   repeat it, but it teaches nothing.

The combination rules (noisy-OR: each cue convinces independently) are in
``docs/simulation.md``; every weight is a named field of ``ReadingParams``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import bm25s
import numpy as np
import snowballstemmer

from knowledge_graph import GraphStore
from personas.minds.checks import check_fields
from personas.minds.statements import Claim, Problem, claims, problem_of, stated_answers
from protocols import UserError

__all__ = ["Reading", "ReadingModel", "ReadingParams"]


@dataclass(frozen=True)
class Reading:
    """What one text does to a learner, as the reading model judges it from the text alone.

    Attributes:
        teaches: Skill node id → strength in [0, 1]; scales the learner's learn rate.
        remedies: Misconception node id → P(an active one is removed).
        implants: Misconception node id → P(it becomes active).
        reveals: Item node id → the answer the text states for it (lets the learner repeat
            it on that item now; teaches nothing).
        cites: The knowledge-graph node ids the text was matched to (provenance).
    """

    teaches: Mapping[str, float] = field(default_factory=dict)
    remedies: Mapping[str, float] = field(default_factory=dict)
    implants: Mapping[str, float] = field(default_factory=dict)
    reveals: Mapping[str, str] = field(default_factory=dict)
    cites: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadingParams:
    """The reading model's weights (probabilities or strengths in [0, 1]), set a priori.

    Attributes:
        lexical_floor: Similarity below this is incidental overlap (one shared common word
            against a node's dozen) and counts as 0; above it, similarity is rescaled to
            [0, 1].
        remedy_lexical: P(an active misconception is given up) after a text that fully
            covers an explanation written to remedy it. Below 1: refutation texts help most
            readers, not all of them.
        worked_teaches: Strength with which a correct worked example of a skill's kind of
            problem teaches the skill, relative to a full explanation of it (1): it shows
            the method without naming it.
        worked_remedies: P(a correct worked example of a misconception's kind of problem
            removes it): the right result conflicts with the wrong rule, but does not say
            where the rule fails.
        refutation: P(a misconception is removed) when the text states its characteristic
            wrong result and marks it as wrong.
        implant: P(a misconception becomes active) when the text asserts, as if right, its
            characteristic wrong result on one of its own examples.
        form_match: How much a false result on a *different* problem of the misconception's
            form counts, relative to its own example; it is further scaled by the text's
            similarity to the misconception's description (the words must state the same
            rule).
    """

    lexical_floor: float = 0.1
    remedy_lexical: float = 0.8
    worked_teaches: float = 0.5
    worked_remedies: float = 0.3
    refutation: float = 0.5
    implant: float = 0.8
    form_match: float = 0.5

    def __post_init__(self) -> None:
        check_fields(self)
        if self.lexical_floor >= 1.0:
            raise UserError("ReadingParams.lexical_floor must be below 1")


_STEMMER = snowballstemmer.stemmer("english")


def _tokens(texts: list[str]) -> list[list[str]]:
    tokenized = bm25s.tokenize(
        texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False
    )
    return [list(t) for t in tokenized]


def _noisy_or(*cues: float) -> float:
    """P(at least one cue works), each working independently with its own probability."""
    return float(1.0 - np.prod([1.0 - c for c in cues]))


class _Corpus:
    """BM25 over a list of node texts, with the self-score each similarity is scaled by."""

    def __init__(self, ids: list[str], texts: list[str]) -> None:
        self.ids = ids
        self.bm25: Any = bm25s.BM25()
        self.bm25.index(
            bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, show_progress=False),
            show_progress=False,
        )
        own = _tokens(texts)
        self.self_score = np.array([self.bm25.get_scores(t)[i] for i, t in enumerate(own)])

    def similarity(self, tokens: list[str], floor: float) -> dict[str, float]:
        if not tokens:
            return {}
        ratio = np.minimum(1.0, self.bm25.get_scores(tokens) / np.maximum(self.self_score, 1e-9))
        ramped = np.maximum(0.0, (ratio - floor) / (1.0 - floor))
        return {i: float(r) for i, r in zip(self.ids, ramped, strict=True) if r > 0}


def _contradicts(stated: list[Claim], forms: set[str]) -> bool:
    """Does the text assert, as right, a false result on a problem of one of ``forms``? A
    text wrong about a kind of problem cannot teach or correct the reader about it."""
    return any(not c.true and not c.negated and c.problem.form in forms for c in stated)


def _is_example(claim: Claim, examples: list[Claim]) -> bool:
    return any(claim.problem == e.problem and claim.value == e.value for e in examples)


class ReadingModel:
    """Reads texts against a curriculum graph (Skill, Misconception, Item and Explanation
    nodes joined by PART_OF, REQUIRES, EXHIBITS and REMEDIATES edges).

    Args:
        kg: The curriculum.
        params: The model's weights (``ReadingParams()`` by default).
    """

    def __init__(self, kg: GraphStore, params: ReadingParams | None = None) -> None:
        self.kg = kg
        self.params = params or ReadingParams()
        self._index: _Index | None = None
        self._read: dict[str, Reading] = {}

    def read(self, text: str) -> Reading:
        """What ``text`` does to a learner. Deterministic (no randomness): the learner
        samples the outcome (``SimulatedLearner.study``)."""
        if text not in self._read:
            if self._index is None:
                self._index = _Index(self.kg)
            self._read[text] = self._index.read(text, self.params)
        return self._read[text]


class _Index:
    """The graph, arranged for reading: node texts indexed, problems and examples parsed."""

    def __init__(self, kg: GraphStore) -> None:
        skills = {n.id: n for n in kg.match("Skill")}
        if not skills:
            raise UserError("the reading model needs a graph with Skill nodes (a curriculum)")
        self.skill_of: dict[str, str] = {}
        self.description: dict[str, str] = {}
        for node in kg.match("Misconception"):
            owners = [e.target for e in kg.edges(node.id, type="PART_OF") if e.target in skills]
            if owners:
                self.skill_of[node.id] = owners[0]
                self.description[node.id] = str(node.properties.get("description", ""))
        self.remedy_of: dict[str, list[str]] = {}
        remedy_text: dict[str, str] = {}
        for node in kg.match("Explanation"):
            for edge in kg.edges(node.id, type="REMEDIATES"):
                if edge.target in self.skill_of:
                    self.remedy_of.setdefault(node.id, []).append(edge.target)
                    remedy_text[node.id] = str(node.properties.get("text", ""))
        self.items: dict[str, Problem] = {}
        self.forms: dict[str, set[str]] = {s: set() for s in skills}
        self.examples: dict[str, list[Claim]] = {m: [] for m in self.skill_of}
        for node in kg.match("Item"):
            problem = problem_of(str(node.properties.get("text", "")))
            if problem is None:
                continue
            self.items[node.id] = problem
            for edge in kg.edges(node.id, type="REQUIRES"):
                if edge.target in self.forms:
                    self.forms[edge.target].add(problem.form)
            for edge in kg.edges(node.id, type="EXHIBITS"):
                if edge.target in self.examples and "wrong_answer" in edge.properties:
                    value = _fraction(str(edge.properties["wrong_answer"]))
                    if value is not None:
                        self.examples[edge.target].append(
                            Claim(problem, value, False, False, False)
                        )
        for mis, text in self.description.items():
            self.examples[mis] += [c for c in claims(text) if not c.true]
        self.skill_index = _Corpus(
            list(skills),
            [
                f"{n.properties.get('name', '')}. {n.properties.get('description', '')}"
                for n in skills.values()
            ],
        )
        self.remedy_index = (
            _Corpus(list(remedy_text), list(remedy_text.values())) if remedy_text else None
        )
        self.rule_index = (
            _Corpus(list(self.description), list(self.description.values()))
            if self.description
            else None
        )
        self.all_items = sorted(n.id for n in kg.match("Item"))

    def read(self, text: str, params: ReadingParams) -> Reading:
        words = _tokens([text])[0]
        skill_sim = self.skill_index.similarity(words, params.lexical_floor)
        remedy_sim = (
            self.remedy_index.similarity(words, params.lexical_floor) if self.remedy_index else {}
        )
        rule_sim = (
            self.rule_index.similarity(words, params.lexical_floor) if self.rule_index else {}
        )
        stated = claims(text)
        remedy_sim = {  # a text that contradicts what a remedy corrects is not that remedy
            x: sim
            for x, sim in remedy_sim.items()
            if not any(_contradicts(stated, self._forms(m)) for m in self.remedy_of[x])
        }
        teaches: dict[str, float] = {}
        for skill, forms in self.forms.items():
            lexical = max(
                [skill_sim.get(skill, 0.0)]
                + [
                    s
                    for x, s in remedy_sim.items()
                    if any(self.skill_of[m] == skill for m in self.remedy_of[x])
                ]
            )
            worked = any(
                c.true and c.worked and not c.negated and c.problem.form in forms for c in stated
            )
            if not _contradicts(stated, forms):
                teaches[skill] = _noisy_or(lexical, params.worked_teaches * worked)
        remedies: dict[str, float] = {}
        implants: dict[str, float] = {}
        for mis, examples in self.examples.items():
            forms = {e.problem.form for e in examples}
            lexical = max([0.0] + [s for x, s in remedy_sim.items() if mis in self.remedy_of[x]])
            counter = any(
                c.true and c.worked and not c.negated and c.problem.form in forms for c in stated
            )
            refuted = max(
                [0.0]
                + [
                    self._match(c, mis, rule_sim, params)
                    for c in stated
                    if c.negated and not c.true
                ]
            )
            if not _contradicts(stated, forms):
                remedies[mis] = _noisy_or(
                    params.remedy_lexical * lexical,
                    params.worked_remedies * counter,
                    params.refutation * refuted,
                )
            asserted = max(
                [0.0]
                + [
                    self._match(c, mis, rule_sim, params)
                    for c in stated
                    if not c.negated and not c.true
                ]
            )
            implants[mis] = params.implant * asserted
        reveals = {
            item: str(c.value)
            for c in stated
            if not c.negated
            for item, p in self.items.items()
            if p == c.problem
        }
        for answer in stated_answers(text):
            reveals.update({item: answer for item in self.all_items if item not in reveals})
        teaches = {k: v for k, v in teaches.items() if v > 0}
        remedies = {k: v for k, v in remedies.items() if v > 0}
        implants = {k: v for k, v in implants.items() if v > 0}
        cites = sorted({*teaches, *remedies, *implants, *remedy_sim, *reveals})
        return Reading(teaches, remedies, implants, reveals, tuple(cites))

    def _forms(self, mis: str) -> set[str]:
        return {e.problem.form for e in self.examples[mis]}

    def _match(
        self, claim: Claim, mis: str, rule_sim: Mapping[str, float], params: ReadingParams
    ) -> float:
        examples = self.examples[mis]
        if _is_example(claim, examples):
            return 1.0
        if any(claim.problem.form == e.problem.form for e in examples):
            return params.form_match * rule_sim.get(mis, 0.0)
        return 0.0


def _fraction(text: str) -> Fraction | None:
    try:
        return Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        return None
