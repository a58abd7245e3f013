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

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

from knowledge_graph import GraphStore
from personas.minds.checks import check_fields
from personas.minds.grounding import GraphIndex
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


class ReadingModel:
    """Reads texts against a curriculum graph (Skill, Misconception, Item and Explanation
    nodes joined by PART_OF, REQUIRES, EXHIBITS and REMEDIATES edges).

    The graph is indexed on the first ``read`` (so the graph must be complete by then), and
    the last ``cache`` readings are kept: a reading depends on nothing but the text, so one
    model serves many students and runs.

    Args:
        kg: The curriculum.
        params: The model's weights (``ReadingParams()`` by default).
        cache: How many readings to keep.
    """

    def __init__(
        self, kg: GraphStore, params: ReadingParams | None = None, *, cache: int = 4096
    ) -> None:
        self.kg = kg
        self.params = params or ReadingParams()
        self.cache = cache
        self._index: GraphIndex | None = None
        self._read: OrderedDict[str, Reading] = OrderedDict()

    def read(self, text: str) -> Reading:
        """What ``text`` does to a learner. Deterministic (no randomness): the learner
        samples the outcome (``SimulatedLearner.study``)."""
        if text in self._read:
            self._read.move_to_end(text)
            return self._read[text]
        if self._index is None:
            self._index = GraphIndex(self.kg)
        reading = self._read[text] = Reading(*self._index.read(text, self.params))
        while len(self._read) > self.cache:
            self._read.popitem(last=False)
        return reading
