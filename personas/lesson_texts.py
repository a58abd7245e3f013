"""What a classroom speaker can say about a curriculum, read from its knowledge graph: a
skill's own explanation, the remedy of a misconception (the Explanation node that
REMEDIATES it), the misconception a wrong answer exhibits, and a misconception's wrong
rule stated as if it were right (a misaligned teacher's text)."""

from __future__ import annotations

from fractions import Fraction

from knowledge_graph import GraphStore

__all__ = ["LessonTexts", "same_value"]

AGAIN = "Let's go over the last step again."
"""What is said for a skill the graph does not have."""


def same_value(given: str, answer: str) -> bool:
    """Whether two answers are equal: as numbers where both are (``2/4`` is ``1/2``), else
    as text, ignoring case and surrounding space."""
    try:
        return Fraction(given.strip()) == Fraction(answer.strip())
    except (ValueError, ZeroDivisionError):
        return given.strip().lower() == answer.strip().lower()


class LessonTexts:
    """Texts and lookups over a curriculum graph (Skill, Misconception, Item and
    Explanation nodes joined by PART_OF, EXHIBITS and REMEDIATES edges).

    Args:
        kg: The curriculum.
    """

    def __init__(self, kg: GraphStore) -> None:
        self.kg = kg

    def name(self, node_id: str | None) -> str:
        """A node's ``name`` (its id when it has none)."""
        node = self.kg.node(node_id) if node_id else None
        return str(node.properties.get("name", node_id)) if node else str(node_id)

    def is_skill(self, node_id: str) -> bool:
        node = self.kg.node(node_id)
        return node is not None and "Skill" in node.labels

    def skill(self, skill: str | None) -> str:
        """The skill's own explanation: its name and description."""
        node = self.kg.node(skill) if skill else None
        if node is None:
            return AGAIN
        return f"{node.properties.get('name', skill)}: {node.properties.get('description', '')}"

    def misconceptions(self, skill: str | None) -> list[str]:
        """The misconceptions PART_OF ``skill``, sorted."""
        if not skill:
            return []
        return sorted(e.source for e in self.kg.edges(skill, type="PART_OF", direction="in"))

    def remedy(self, misconception: str | None) -> str | None:
        """The text of the Explanation node that REMEDIATES ``misconception``, if any."""
        for edge in (
            self.kg.edges(misconception, type="REMEDIATES", direction="in") if misconception else []
        ):
            node = self.kg.node(edge.source)
            if node is not None and "text" in node.properties:
                return str(node.properties["text"])
        return None

    def exhibited(self, item: str, given: str) -> str | None:
        """The misconception whose EXHIBITS wrong answer on ``item`` is ``given``."""
        for edge in self.kg.edges(item, type="EXHIBITS"):
            if same_value(given, str(edge.properties.get("wrong_answer", ""))):
                return edge.target
        return None

    def wrong_rule(self, misconception: str) -> str | None:
        """A misaligned teacher's text: the misconception's description stated as the
        rule, its example as a worked claim (``… For example, 1/3 + 1/6 = 2/9.``)."""
        node = self.kg.node(misconception)
        text = str(node.properties.get("description", "")) if node else ""
        if not text:
            return None
        rule = text.replace(", as in ", ". For example, ")
        return f"Here is the rule: {rule[0].lower()}{rule[1:]}"
