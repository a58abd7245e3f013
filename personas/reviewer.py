"""A simulated reviewer (Teacher-Reviewer-Student): a rubric, no LLM.

It receives the teacher's ``Explanation`` or ``Hint`` before the student does and checks:

1. **correct**: every equation it states (``a/b + c/d = e/f``, integers too) holds, checked
   with the calculator sandbox; an equation introduced as the student's mistake ("as in",
   "if one", "you get") is not a claim and is skipped;
2. **does not give the answer away**: the item's answer (from the knowledge graph) does not
   appear in a hint;
3. **short**: at most ``max_words`` words;
4. **kind**: none of a few dismissive phrases.

If every check passes it forwards the message to the student and sends an approving
``Review`` to the teacher; otherwise only a ``Review`` listing the issues goes back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from knowledge_graph import GraphStore
from personas.sandbox import SandboxError, run_sandboxed
from protocols import Envelope, Explanation, Hint, Message, Review

__all__ = ["RubricReviewer", "review_text"]

_NUMBER = r"-?\d+(?:/\d+)?"
_EQUATION = re.compile(rf"({_NUMBER}(?:\s*[-+×x*÷/]\s*{_NUMBER})+)\s*=\s*({_NUMBER})(?![\d/])")
_NOT_A_CLAIM = re.compile(r"(as in|if one|you get|you wrote|your answer)[^.]*$", re.I)
_UNKIND = ("stupid", "obviously", "wrong again", "careless", "lazy", "just guess")


def _check_equation(left: str, right: str) -> str | None:
    def exact(side: str) -> str:
        side = side.replace("×", "*").replace("÷", "/").replace(" x ", " * ")
        return re.sub(r"(\d+)/(\d+)", r"Fraction(\1, \2)", side)

    code = f"({exact(left)}) == ({exact(right)})"
    try:
        holds = run_sandboxed(code, timeout=2.0).value
    except SandboxError as exc:
        return f"could not check '{left} = {right}': {exc}"
    return None if holds is True else f"incorrect: '{left} = {right}' is false"


def review_text(text: str, *, answer: str | None, is_hint: bool, max_words: int = 60) -> list[str]:
    """The rubric's issues with ``text`` (empty when it passes)."""
    issues = []
    for match in _EQUATION.finditer(text):
        if _NOT_A_CLAIM.search(text[max(0, match.start() - 60) : match.start()]):
            continue
        problem = _check_equation(match.group(1), match.group(2))
        if problem:
            issues.append(problem)
    if is_hint and answer and re.search(rf"(?<![\d/]){re.escape(answer)}(?![\d/])", text):
        issues.append(f"gives the answer away: the hint contains {answer!r}")
    words = len(text.split())
    if words > max_words:
        issues.append(f"too long: {words} words (at most {max_words})")
    unkind = [p for p in _UNKIND if p in text.lower()]
    if unkind:
        issues.append(f"unkind wording: {', '.join(unkind)}")
    return issues


class RubricReviewer:
    """Reviews explanations and hints on their way to ``student``.

    Args:
        name: The agent name.
        student: Who approved messages are forwarded to: one agent, or several (a class,
            and whoever else must hear them).
        kg: Where item answers are looked up (by the message's ``item_id``).
        max_words: The length limit.
    """

    def __init__(
        self,
        name: str,
        student: str | Sequence[str],
        kg: GraphStore | None = None,
        *,
        max_words: int = 60,
    ) -> None:
        self.name = name
        self.student = student
        self.recipients = (student,) if isinstance(student, str) else tuple(student)
        self.kg = kg
        self.max_words = max_words
        self.emits = (Review, Explanation, Hint)

    def _answer(self, item_id: str | None) -> str | None:
        node = self.kg.node(item_id) if self.kg is not None and item_id else None
        return str(node.properties["answer"]) if node and "answer" in node.properties else None

    async def handle(self, message: Message, ctx: object) -> Sequence[Envelope]:
        if not isinstance(message, Explanation | Hint):
            return []
        issues = review_text(
            message.text,
            answer=self._answer(message.item_id),
            is_hint=isinstance(message, Hint),
            max_words=self.max_words,
        )
        if issues:
            return [
                Review(
                    to=message.sender,
                    approved=False,
                    issues=tuple(issues),
                    critique="; ".join(issues),
                    reviewed_id=message.id,
                )
            ]
        forwarded = message.model_copy(update={"recipients": self.recipients})
        return [forwarded, Review(to=message.sender, approved=True, reviewed_id=message.id)]
