"""What a demo run did, read back from the run store: the summary is computed from the
stored transcript, never from what an agent remembers."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from agents.demo.lesson import lesson_items
from agents.store import RunStore
from knowledge_graph import GraphStore
from protocols import Answer, Message, Plan, Review, Thought

__all__ = ["FirstWrongAnswer", "LessonSummary", "is_right", "lesson_summary"]


def is_right(kg: GraphStore, answer: Answer) -> bool:
    """Whether ``answer`` gives its item's answer (numbers compared exactly, as fractions)."""
    node = kg.node(answer.item_id) if answer.item_id else None
    if node is None or "answer" not in node.properties:
        return False
    given, right = answer.text.strip(), str(node.properties["answer"]).strip()
    try:
        return Fraction(given) == Fraction(right)
    except (ValueError, ZeroDivisionError):
        return given.lower() == right.lower()


@dataclass(frozen=True)
class LessonSummary:
    """One lesson run as its stored transcript shows it.

    Attributes:
        run_id: The run.
        stop: Why it stopped (the stored stop reason).
        items: Items in the lesson.
        right_first: Items the student got right at the first try.
        right_last: Items whose last answer was right.
        turns: Turns used (deliveries, from the stored usage).
        model_calls: Model calls recorded for the run.
        reviews: The reviewer's verdicts; ``approved`` of them passed.
    """

    run_id: str
    stop: str
    items: int
    right_first: int
    right_last: int
    turns: int
    model_calls: int
    reviews: int
    approved: int


def lesson_summary(
    store: RunStore, run_id: str, kg: GraphStore, *, student: str = "student"
) -> LessonSummary:
    """The summary of lesson run ``run_id`` from ``store``, grading ``student``'s answers
    against the curriculum ``kg``."""
    record = store.get_run(run_id)
    messages = store.messages(record.id)
    first: dict[str, bool] = {}
    last: dict[str, bool] = {}
    for message in messages:
        if isinstance(message, Answer) and message.sender == student and message.item_id:
            right = is_right(kg, message)
            first.setdefault(message.item_id, right)
            last[message.item_id] = right
    reviews = [m for m in messages if isinstance(m, Review)]
    return LessonSummary(
        run_id=record.id,
        stop=record.stop_reason or record.status,
        items=len(lesson_items(kg)),
        right_first=sum(first.values()),
        right_last=sum(last.values()),
        turns=int(record.usage.get("turns", 0)),
        model_calls=len(store.model_calls(record.id)),
        reviews=len(reviews),
        approved=sum(r.approved for r in reviews),
    )


class FirstWrongAnswer:
    """Which messages of a lesson run to show as they are sent: every one, except the
    teacher's ``Thought`` and ``Plan``, which are shown only for its turn on the student's
    first wrong answer (found by their ``parent_id``). One instance per run."""

    def __init__(self, kg: GraphStore, *, student: str = "student") -> None:
        self.kg = kg
        self.student = student
        self.answer_id: str | None = None

    def shows(self, message: Message) -> bool:
        match message:
            case Answer() if message.sender == self.student and self.answer_id is None:
                if not is_right(self.kg, message):
                    self.answer_id = message.id
                return True
            case Thought() | Plan():
                return self.answer_id is not None and message.parent_id == self.answer_id
            case _:
                return True
