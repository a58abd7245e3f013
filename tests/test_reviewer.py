"""The simulated reviewer's rubric, and a Teacher → Reviewer → Student loop."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from agents import AgentGraph, Budget, FunctionAgent, Runtime
from knowledge_graph.builders import sample_curriculum
from personas.reviewer import RubricReviewer, review_text
from protocols import Answer, Envelope, Hint, Message, Question, Review, Stop


@pytest.mark.parametrize(
    ("text", "is_hint", "issues"),
    [
        ("Rewrite over sixths: 1/3 = 2/6, and 2/6 + 1/6 = 3/6.", True, []),
        ("Careful: 1/3 + 1/6 = 2/6.", False, ["incorrect: '1/3 + 1/6 = 2/6' is false"]),
        ("2/9 is what you get if one adds across, as in 1/3 + 1/6 = 2/9.", False, []),
        ("The answer is 1/2.", True, ["gives the answer away: the hint contains '1/2'"]),
        ("Obviously, 3 × 4 = 12.", False, ["unkind wording: obviously"]),
        (" ".join(["word"] * 70), False, ["too long: 70 words (at most 60)"]),
    ],
)
def test_the_rubric(text: str, is_hint: bool, issues: list[str]) -> None:
    assert review_text(text, answer="1/2", is_hint=is_hint) == issues


async def test_teacher_reviewer_student_loop_revises_until_approved() -> None:
    drafts = iter(["The answer is 1/2.", "What size of part do 1/3 and 1/6 share?"])

    def teacher(message: Message, ctx: object) -> Sequence[Envelope]:
        match message:
            case Answer():
                return [Hint(to="reviewer", text=next(drafts), item_id="item:frac-add-1")]
            case Review(approved=False):
                return [Hint(to="reviewer", text=next(drafts), item_id="item:frac-add-1")]
            case _:
                return []

    def student(message: Message, ctx: object) -> Envelope:
        return Stop(detail=f"student read: {getattr(message, 'text', '')}")

    reviewer = RubricReviewer("reviewer", student="student", kg=sample_curriculum())
    graph = (
        AgentGraph()
        .edge(FunctionAgent("teacher", teacher), reviewer, kinds=[Hint])
        .edge(reviewer, FunctionAgent("student", student), kinds=[Hint])
        .edge(reviewer, "teacher", kinds=[Review])
    )
    result = await Runtime().run(
        graph, Answer(to="teacher", text="2/9", item_id="item:frac-add-1"), budget=Budget(turns=10)
    )
    steps = [(m.sender, type(m).__name__, getattr(m, "approved", None)) for m in result.messages]
    assert steps == [
        ("user", "Answer", None),
        ("teacher", "Hint", None),
        ("reviewer", "Review", False),
        ("teacher", "Hint", None),
        ("reviewer", "Hint", None),
        ("reviewer", "Review", True),
        ("student", "Stop", None),
    ]
    rejected = result.messages[2]
    assert isinstance(rejected, Review) and rejected.issues == (
        "gives the answer away: the hint contains '1/2'",
    )
    assert result.detail == "student read: What size of part do 1/3 and 1/6 share?"
    assert Question  # kinds used by the graph are importable from protocols
