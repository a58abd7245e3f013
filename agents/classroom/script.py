"""A lesson script drawn from the knowledge graph (MAIC / SimClass's "show, explain, ask,
quiz"): the lesson's concept after its prerequisite concepts, and within each concept its
skills in prerequisite order.

For each concept the script is:

1. ``quiz`` over the concept's items (what the class knows before it is taught);
2. for each skill of the concept, in prerequisite order: ``explain`` it; and when items
   REQUIRE it, ``ask`` one student its first item and ``practice`` all its items;
3. ``quiz`` over the concept's items again.

A concept without items has no quizzes. The director (``agents.classroom.director``) walks
the script and gives the floor; it never changes the script.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge_graph import GraphStore, Node
from protocols import LessonStepKind, UserError

__all__ = ["LessonScript", "ScriptStep", "lesson_names", "lesson_script"]


@dataclass(frozen=True)
class ScriptStep:
    """One step of a lesson script.

    Attributes:
        step: What it does: ``explain``, ``ask``, ``practice`` or ``quiz``.
        concept: The concept node it belongs to.
        skill: The skill node it teaches (None for a quiz over the whole concept).
        items: The item nodes it uses, in lesson order.
    """

    step: LessonStepKind
    concept: str
    skill: str | None = None
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class LessonScript:
    """The steps of a lesson, in order.

    Attributes:
        lesson: The concept node the lesson teaches.
        steps: Its steps.
    """

    lesson: str
    steps: tuple[ScriptStep, ...]

    def skills(self) -> list[str]:
        """The skills the script teaches, in order."""
        return list(dict.fromkeys(s.skill for s in self.steps if s.skill is not None))

    def items(self) -> list[str]:
        """Every item the script uses, in order."""
        return list(dict.fromkeys(i for s in self.steps for i in s.items))


def _topological(nodes: list[str], before: dict[str, list[str]]) -> list[str]:
    """``nodes`` with each after its prerequisites among ``nodes`` (ties: given order)."""
    done: list[str] = []
    visiting: set[str] = set()

    def visit(node: str) -> None:
        if node in done:
            return
        if node in visiting:
            raise UserError(f"the prerequisites of {node} form a cycle; break it in the curriculum")
        visiting.add(node)
        for pre in before.get(node, []):
            if pre in nodes:
                visit(pre)
        visiting.discard(node)
        done.append(node)

    for node in nodes:
        visit(node)
    return done


def _prerequisites(kg: GraphStore, node: str) -> list[str]:
    return sorted(e.source for e in kg.edges(node, type="PREREQUISITE_OF", direction="in"))


def lesson_names(kg: GraphStore) -> list[str]:
    """The lessons ``kg`` can teach: the keys of its ``Concept`` nodes (``fractions`` for
    ``concept:fractions``), sorted."""
    return sorted(n.id.removeprefix("concept:") for n in kg.match("Concept"))


def _concept(kg: GraphStore, lesson: str) -> str:
    node_id = lesson if lesson.startswith("concept:") else f"concept:{lesson}"
    node = kg.node(node_id)
    if node is None or "Concept" not in node.labels:
        raise UserError(
            f"unknown lesson {lesson!r}; the curriculum teaches: {', '.join(lesson_names(kg))}"
        )
    return node_id


def _position(item: Node) -> int:
    return int(item.properties.get("position", 0))


def _concept_steps(kg: GraphStore, concept: str) -> list[ScriptStep]:
    skills = sorted(e.source for e in kg.edges(concept, type="PART_OF", direction="in"))
    skills = [s for s in skills if (n := kg.node(s)) is not None and "Skill" in n.labels]
    ordered = _topological(skills, {s: _prerequisites(kg, s) for s in skills})
    teach: list[ScriptStep] = []
    quiz: list[Node] = []
    for skill in ordered:
        found = [kg.node(e.source) for e in kg.edges(skill, type="REQUIRES", direction="in")]
        items = sorted(
            (n for n in found if n is not None and "answer" in n.properties), key=_position
        )
        ids = tuple(n.id for n in items)
        teach.append(ScriptStep("explain", concept, skill))
        if ids:
            teach.append(ScriptStep("ask", concept, skill, ids[:1]))
            teach.append(ScriptStep("practice", concept, skill, ids))
        quiz.extend(items)
    if not quiz:
        return teach
    quizzed = tuple(dict.fromkeys(n.id for n in sorted(quiz, key=_position)))
    return [
        ScriptStep("quiz", concept, None, quizzed),
        *teach,
        ScriptStep("quiz", concept, None, quizzed),
    ]


def lesson_script(kg: GraphStore, lesson: str) -> LessonScript:
    """The script of ``lesson`` (a concept key or node id) over ``kg``: its prerequisite
    concepts first (transitively, in prerequisite order), then the concept itself.

    Raises:
        UserError: ``lesson`` is no concept of ``kg`` (the message lists the known ones),
            or the prerequisites form a cycle.
    """
    target = _concept(kg, lesson)
    needed: list[str] = []
    stack = [target]
    while stack:
        node = stack.pop()
        if node not in needed:
            needed.append(node)
            stack.extend(_prerequisites(kg, node))
    concepts = _topological(sorted(needed), {c: _prerequisites(kg, c) for c in needed})
    steps = [step for c in concepts for step in _concept_steps(kg, c)]
    if not steps:
        raise UserError(f"lesson {lesson!r} has no skills to teach; add skills PART_OF {target}")
    return LessonScript(target, tuple(steps))
