"""The classroom's director (the meta-agent of MAIC / SimClass): it walks the lesson script
and gives the floor to one role at a time.

**The protocol.** A floor-grant is one message from the director: a ``TaskAssignment`` to
the teacher, a classmate or the teaching assistant, or, for practice and quizzes, the
step's items as ``Question`` s to every student at once. The floor comes back to the
director with the one message that ends the turn (every role's turn ends with a message the
director hears: the teacher's explanation or remark, a classmate's remark or the teacher's
answer to its question, the assistant's help), or, after items were handed out, with every
student's ``Answer``. At each step's start the director sends a ``LessonStep`` to the
observer and the students. It grades quiz answers against the items' answers in the
knowledge graph and reports each student's score per skill as ``Mastery(source="quiz")``;
it hands practice and quiz answers to the teacher to review. It stops the run (``Stop``)
at the end of the script (reason ``completed``) or when ``turns`` grants are used (reason
``max_turns``).

**Who speaks next** (a documented, seeded policy over what the director has seen: the
students' practice and quiz answers, never their hidden state):

- each step's own turns first: explain → the teacher; ask → the teacher (it picks whom);
  practice and quiz → the items to every student, then the teacher reviews the answers;
- after an explanation, one of the deep thinker and the inquisitive mind (chosen at
  random) asks the teacher a question, with probability ``P_ASK_LOW`` when the class's
  observed mastery of the skill is below ``LOW`` and ``P_ASK_HIGH`` otherwise;
- after practice, the teaching assistant helps the student with the lowest observed
  mastery of the skill, if it is below ``LOW``;
- after any step, the class clown jokes with probability ``P_JOKE``;
- at the end of a skill (its last step), the note taker summarises;
- these extra turns are skipped when the grants left are needed for the script's own
  turns; and when only a quiz's worth of grants is left, the director jumps to the
  concept's closing quiz, so that a short lesson still measures what was learnt.

Observed mastery is the Laplace estimate (right + 1) / (tries + 2) over the answers it
collected (1/2 before any).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.classroom.script import LessonScript, ScriptStep
from knowledge_graph import GraphStore
from personas import run_state
from personas.lesson_texts import same_value
from protocols import (
    Answer,
    Envelope,
    LessonStep,
    Mastery,
    Message,
    Question,
    Stop,
    TaskAssignment,
    UserError,
)

__all__ = ["LOW", "P_ASK_HIGH", "P_ASK_LOW", "P_JOKE", "Director", "Floor"]

LOW = 0.6
"""Observed mastery below which the class (or a student) counts as struggling."""
P_ASK_LOW = 0.8
"""P(a classmate asks a question after an explanation) when the class struggles."""
P_ASK_HIGH = 0.2
"""P(a classmate asks a question after an explanation) otherwise."""
P_JOKE = 0.15
"""P(the class clown jokes after a step)."""
_COST = {"explain": 1, "ask": 1, "practice": 2, "quiz": 2}
"""Grants each kind of step needs for its own turns."""


def _properties(kg: GraphStore, node_id: str) -> dict[str, Any]:
    node = kg.node(node_id)
    if node is None:
        raise UserError(f"the lesson script names {node_id!r}, which is not in the graph")
    return dict(node.properties)


@dataclass
class Floor:
    """The director's state in one run.

    Attributes:
        step: The index of the current step (-1 before the first).
        queue: The turns still to grant in this step, in order.
        grants: Floor-grants used so far.
        waiting: Answers still expected to the items handed out.
        answers: The answers collected to the items handed out: student → [item, answer,
            confidence] triples.
        seen: What it observed: student → skill → [right, tries].
        taken: The steps it has begun (fewer than the script's when it jumped ahead).
        done: Whether it has stopped the run.
    """

    step: int = -1
    queue: list[tuple[str, str]] = field(default_factory=list)
    grants: int = 0
    waiting: int = 0
    answers: dict[str, list[list[Any]]] = field(default_factory=dict)
    seen: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    taken: int = 0
    done: bool = False


class Director:
    """Walks ``script`` and gives the floor (see the module docs).

    Args:
        name: Its agent name (``director``).
        kg: The curriculum: items' texts and answers.
        script: The lesson.
        students: Every student's agent name, a human one included.
        turns: The floor-grants it may give.
        classmates: The classmate roles present.
        assistant: The teaching assistant's name, or None.
        teacher: The teacher's name.
    """

    def __init__(
        self,
        name: str,
        kg: GraphStore,
        script: LessonScript,
        students: Sequence[str],
        *,
        turns: int,
        classmates: Sequence[str] = (),
        assistant: str | None = None,
        teacher: str = "teacher",
    ) -> None:
        self.name = name
        self.script = script
        self.students = tuple(students)
        self.turns = turns
        self.classmates = tuple(classmates)
        self.assistant = assistant
        self.teacher = teacher
        nodes = [*script.skills(), *dict.fromkeys(s.concept for s in script.steps)]
        self.names = {n: str(_properties(kg, n).get("name", n)) for n in nodes}
        self.text = {i: str(_properties(kg, i).get("text", i)) for i in script.items()}
        self.answer = {i: str(_properties(kg, i)["answer"]) for i in script.items()}
        skill_of = {
            e.source: e.target for i in script.items() for e in kg.edges(i, type="REQUIRES")
        }
        self.skill_of: dict[str, str] = skill_of
        self.emits = (LessonStep, Question, TaskAssignment, Mastery, Stop)

    def new_state(self) -> Floor:
        return Floor()

    # -- the policy ----------------------------------------------------------------------
    def observed(self, floor: Floor, student: str, skill: str | None) -> float:
        """The Laplace estimate of ``student``'s mastery of ``skill`` from what it saw."""
        right, tries = floor.seen.get(student, {}).get(skill or "", [0, 0])
        return (right + 1) / (tries + 2)

    def _mandatory_left(self, floor: Floor) -> int:
        return sum(_COST[s.step] for s in self.script.steps[floor.step + 1 :])

    def _extras(self, floor: Floor, step: ScriptStep, rng: Any) -> list[tuple[str, str]]:
        """The extra turns after a step's own (see the module docs), drawn now."""
        extras: list[tuple[str, str]] = []
        skill = step.skill
        if step.step == "explain":
            askers = [r for r in ("deep_thinker", "inquisitive_mind") if r in self.classmates]
            cls = sum(self.observed(floor, s, skill) for s in self.students) / len(self.students)
            if askers and rng.random() < (P_ASK_LOW if cls < LOW else P_ASK_HIGH):
                extras.append(("classmate", rng.choice(askers)))
        if step.step == "practice" and self.assistant:
            weakest = min(self.students, key=lambda s: self.observed(floor, s, skill))
            if self.observed(floor, weakest, skill) < LOW:
                extras.append(("assistant", weakest))
        if "class_clown" in self.classmates and rng.random() < P_JOKE:
            extras.append(("classmate", "class_clown"))
        following = self.script.steps[floor.step + 1 : floor.step + 2]
        last_of_skill = skill is not None and not (following and following[0].skill == skill)
        if last_of_skill and "note_taker" in self.classmates:
            extras.append(("classmate", "note_taker"))
        room = self.turns - floor.grants - self._mandatory_left(floor)
        return extras[: max(room, 0)]

    # -- the turns -----------------------------------------------------------------------
    def _start(self, floor: Floor) -> list[Envelope]:
        """Begin the next step: its ``LessonStep`` and its own turns in the queue."""
        steps = self.script.steps
        nxt = floor.step + 1
        left = self.turns - floor.grants
        closing = [
            i
            for i in range(nxt, len(steps))
            if steps[i].step == "quiz" and steps[i].concept == steps[nxt].concept and i > nxt
        ]
        if closing and left <= _COST["quiz"] and steps[nxt].step != "quiz":
            nxt = closing[-1]
        floor.step = nxt
        floor.taken += 1
        step = steps[nxt]
        own = {"explain": ["teach"], "ask": ["teach"], "practice": ["pose", "review"]}
        floor.queue = [(k, "") for k in own.get(step.step, ["pose", "review"])] + [("extras", "")]
        begin = LessonStep(
            to=("user", *self.students),
            index=nxt,
            step=step.step,
            concept=step.concept,
            skill=step.skill,
            items=step.items,
        )
        return [begin]

    def _grant(self, floor: Floor, action: str, who: str, step: ScriptStep) -> list[Envelope]:
        floor.grants += 1
        inputs: dict[str, Any] = {
            "index": floor.step,
            "step": step.step,
            "concept": step.concept,
            "skill": step.skill,
            "items": list(step.items),
        }
        topic = self.names.get(step.skill or step.concept, step.skill or step.concept)
        what = {
            "explain": f"Explain {topic} to the class.",
            "ask": f"Ask one student: {self.text[step.items[0]]}" if step.items else "",
            "practice": f"the practice on {topic}",
            "quiz": f"the quiz on {topic}",
        }[step.step]
        if action == "pose":
            floor.waiting = len(self.students) * len(step.items)
            floor.answers = {s: [] for s in self.students}
            return [
                Question(to=s, text=self.text[i], item_id=i)
                for s in self.students
                for i in step.items
            ]
        if action == "review":
            inputs["answers"] = floor.answers
            return [TaskAssignment(to=self.teacher, task=f"Review {what}.", inputs=inputs)]
        if action == "classmate":
            return [TaskAssignment(to=who, task=f"Your turn, on {topic}.", inputs=inputs)]
        if action == "assistant":
            given = [[i, a] for i, a, _ in floor.answers.get(who, []) if i in step.items]
            inputs |= {"student": who, "answers": given}
            return [
                TaskAssignment(
                    to=str(self.assistant), task=f"Help {who} with {topic}.", inputs=inputs
                )
            ]
        return [
            TaskAssignment(
                to=self.teacher,
                task=what,
                skills=(step.skill,) if step.skill else (),
                inputs=inputs,
            )
        ]

    def _advance(self, floor: Floor, rng: Any) -> list[Envelope]:
        """Grant the next turn, starting steps as needed, or stop."""
        out: list[Envelope] = []
        while True:
            if not floor.queue:
                if floor.step + 1 >= len(self.script.steps):
                    floor.done = True
                    n, grants = len(self.script.steps), floor.grants
                    done = f"{n} steps" if floor.taken == n else f"{floor.taken} of {n} steps"
                    return [*out, Stop(detail=f"lesson finished: {done} in {grants} turns")]
                out += self._start(floor)
            action, who = floor.queue.pop(0)
            step = self.script.steps[floor.step]
            if action == "extras":
                floor.queue += self._extras(floor, step, rng)
                continue
            if floor.grants >= self.turns:
                floor.done = True
                detail = (
                    f"{self.turns} turns used, at step {floor.step + 1} of {len(self.script.steps)}"
                )
                return [*out, Stop(reason="max_turns", detail=detail)]
            return [*out, *self._grant(floor, action, who, step)]

    def _collect(self, floor: Floor, answer: Answer) -> list[Envelope]:
        """Record one answer to the items handed out; grade when all are in."""
        student, item = answer.sender, answer.item_id or ""
        floor.answers.setdefault(student, []).append([item, answer.text, answer.confidence])
        right = same_value(answer.text, self.answer.get(item, ""))
        tally = floor.seen.setdefault(student, {}).setdefault(self.skill_of.get(item, ""), [0, 0])
        tally[0] += int(right)
        tally[1] += 1
        floor.waiting -= 1
        if floor.waiting > 0:
            return []
        step = self.script.steps[floor.step]
        if step.step != "quiz":
            return []
        return [self._score(floor, s, step) for s in self.students]

    def _score(self, floor: Floor, student: str, step: ScriptStep) -> Mastery:
        right: dict[str, list[int]] = {}
        for item, text, _ in floor.answers.get(student, []):
            tally = right.setdefault(self.skill_of[item], [0, 0])
            tally[0] += int(same_value(str(text), self.answer[item]))
            tally[1] += 1
        values = {k: round(r / n, 3) for k, (r, n) in right.items()}
        return Mastery(to="user", student=student, source="quiz", values=values, step=floor.step)

    async def handle(self, message: Message, ctx: Any) -> Sequence[Envelope]:
        floor = run_state(ctx, Floor)
        if floor.done:
            return []
        if isinstance(message, Answer) and floor.waiting > 0:
            scores = self._collect(floor, message)
            return scores + self._advance(floor, ctx.rng) if floor.waiting == 0 else scores
        if isinstance(message, Answer):
            return []  # an answer to someone else's question: not the end of a turn
        return self._advance(floor, ctx.rng)
