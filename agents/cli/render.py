"""Plain-text rendering of messages and runs, shared by the CLI and the docs."""

from __future__ import annotations

from protocols import (
    Answer,
    Error,
    Explanation,
    Hint,
    Message,
    Plan,
    Question,
    Review,
    Stop,
    TaskAssignment,
    TaskResult,
    Thought,
)

__all__ = ["render_message"]


def _body(message: Message) -> str:
    match message:
        case Answer(text=text, confidence=conf):
            return f"{text}" + (f"  (confidence {conf:.2f})" if conf is not None else "")
        case Explanation(text=text, targets=targets):
            return f"{text}" + (f"  [targets: {', '.join(targets)}]" if targets else "")
        case Question(text=text) | Hint(text=text):
            return text
        case Review(approved=ok, critique=critique):
            return ("approved" if ok else "changes requested") + (
                f": {critique}" if critique else ""
            )
        case Stop(reason=reason, detail=detail):
            return f"{reason}: {detail}" if detail else reason
        case Error(error_type=etype, detail=detail):
            return f"{etype}: {detail}"
        case Thought(about=about, knowledge=knowledge, misconception=mis, emotion=emotion):
            seen = f"{about}: {knowledge}" + (f" ({mis})" if mis else "")
            seen += f", feels {emotion}" if emotion else ""
            return f"{seen}. Guideline: {message.guideline}."
        case Plan(calls=calls, rationale=rationale):
            tools = f"  [tools: {', '.join(c.tool for c in calls)}]" if calls else ""
            return f"{rationale or 'no rationale'}{tools}"
        case TaskAssignment(task=task):
            return task
        case TaskResult(output=output):
            return output
        case _:
            return str(message.content())


def render_message(message: Message) -> str:
    """One line: ``sender → recipients  kind  body``."""
    to = ", ".join(message.recipients) or "-"
    return f"{message.sender} → {to}  {type(message).__name__}: {_body(message)}"
