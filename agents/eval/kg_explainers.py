"""Explanations from the knowledge graph: what a teacher that knows the curriculum could say
about an item, generic or personalised, and (for a misaligned teacher) misleading.

- **generic**: the description of the skill the item needs, the same for every student;
- **personalised**: the generic text plus every Explanation node that REMEDIATES a
  misconception of that skill. The teacher gives the candidate with the highest Û for the
  student (``EstimatingMentalModel`` reads each text), so the text it chooses is aimed at
  the misconception it diagnosed, not at a label;
- **misleading**: the description of each misconception of the skill (it states the wrong
  rule, with its wrong result), for the misaligned teacher.

``Explanation.aim`` says what a text is meant as, for reports only: students and the
teacher's mind read the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from agents.eval.base import EvalItem, Explanation
from knowledge_graph import GraphStore
from protocols import UserError

__all__ = ["KGExplanations", "KGMode"]

KGMode = Literal["generic", "personalised", "misleading"]


class KGExplanations:
    """An ``ExplanationSource`` over a curriculum graph (Skill, Misconception and Explanation
    nodes; REQUIRES, PART_OF and REMEDIATES edges).

    Args:
        kg: The data set's knowledge graph (``Dataset.kg``); items are its Item nodes.
        mode: ``"generic"``, ``"personalised"`` or ``"misleading"`` (see the module).
    """

    def __init__(self, kg: GraphStore, mode: KGMode = "personalised") -> None:
        self.kg = kg
        self.mode = mode

    def _skills(self, item: EvalItem) -> list[str]:
        skills = [e.target for e in self.kg.edges(item.id, type="REQUIRES")]
        skills += [s for s in item.skills if s not in skills]
        if not skills:
            raise UserError(
                f"item {item.id!r} REQUIRES no skill in the knowledge graph, so the graph "
                "has nothing to explain it with; tag its skills or use explanations: gold"
            )
        return skills

    def _misconceptions(self, skill: str) -> list[str]:
        return sorted(e.source for e in self.kg.edges(skill, type="PART_OF", direction="in"))

    def _text(self, node_id: str, prop: str) -> str | None:
        node = self.kg.node(node_id)
        if node is None or not node.properties.get(prop):
            return None
        return str(node.properties[prop])

    def covers(self, item: EvalItem) -> bool:
        """Whether the graph has a text for ``item`` in this mode (a graph without
        misconceptions, such as a data set's skill tags, has no misleading text)."""
        return bool(self._texts(item))

    async def candidates(self, item: EvalItem) -> Sequence[Explanation]:
        """The texts the teacher could give for ``item`` in this mode (at least one).

        Raises:
            UserError: The graph has no such text for the item (no skill description; in
                ``"misleading"`` mode, no misconception of its skill).
        """
        unique = self._texts(item)
        if not unique:
            what = (
                "misconception descriptions" if self.mode == "misleading" else "skill descriptions"
            )
            raise UserError(
                f"the knowledge graph has no {what} for item {item.id!r} "
                f"(skills: {', '.join(self._skills(item))}); choose another explanation source"
            )
        return unique

    def _texts(self, item: EvalItem) -> list[Explanation]:
        out: list[Explanation] = []
        for skill in self._skills(item):
            mis = [m for m in self._misconceptions(skill) if self._has_label(m)]
            if self.mode == "misleading":
                out += [
                    Explanation(text, "misleading")
                    for m in mis
                    if (text := self._text(m, "description"))
                ]
                continue
            if text := self._text(skill, "description"):
                out.append(Explanation(text, "generic"))
            if self.mode == "personalised":
                remedies = sorted(
                    {
                        e.source
                        for m in mis
                        for e in self.kg.edges(m, type="REMEDIATES", direction="in")
                    }
                )
                out += [
                    Explanation(text, "personalised")
                    for x in remedies
                    if (text := self._text(x, "text"))
                ]
        return list({e.text: e for e in out}.values())

    def _has_label(self, node_id: str) -> bool:
        node = self.kg.node(node_id)
        return node is not None and "Misconception" in node.labels
