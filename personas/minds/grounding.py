"""The reading model's grounding: the curriculum graph arranged for reading (node texts
indexed with BM25 on stemmed words; item problems, skill forms and misconception examples
parsed), and the reading of one text against it. See ``personas.minds.reading``."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import bm25s
import numpy as np
import snowballstemmer

from knowledge_graph import GraphStore
from personas.minds.statements import Claim, Problem, claims, problem_of, stated_answers
from protocols import UserError

if TYPE_CHECKING:
    from personas.minds.reading import ReadingParams

Parts = tuple[dict[str, float], dict[str, float], dict[str, float], dict[str, str], tuple[str, ...]]

__all__ = ["GraphIndex"]

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


class GraphIndex:
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

    def read(self, text: str, params: ReadingParams) -> Parts:
        """What ``text`` does: (teaches, remedies, implants, reveals, cites), the fields of a
        ``Reading``."""
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
        return teaches, remedies, implants, reveals, tuple(cites)

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
