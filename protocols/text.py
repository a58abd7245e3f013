"""The plain text of a message's content, as people read it: one line for the terminal
(``agents.cli.render_message``), a transcript row of the classroom view, the HTML report and
the app. The text shows what was said, never what a sender labelled it."""

from __future__ import annotations

from protocols.messages import (
    Answer,
    Envelope,
    Error,
    Explanation,
    Handoff,
    Hint,
    LessonStep,
    Mastery,
    PatientUtterance,
    Plan,
    Question,
    Remark,
    Review,
    Stop,
    TaskAssignment,
    TaskResult,
    Thought,
    ToolCall,
    ToolResult,
)

__all__ = ["message_text", "short_id"]


def short_id(node_id: str) -> str:
    """A knowledge-graph node id without its type prefix (``skill:add_unlike`` →
    ``add_unlike``), for labels that have no room for the prefix."""
    return node_id.split(":", 1)[-1]


def _mastery(message: Mastery) -> str:
    values = ", ".join(f"{short_id(k)} {v:.2f}" for k, v in sorted(message.values.items()))
    return f"{message.student} at step {message.step} ({message.source}): {values or 'nothing'}"


def _step(message: LessonStep) -> str:
    what = f"step {message.index}: {message.step} {short_id(message.concept)}"
    what += f" / {short_id(message.skill)}" if message.skill else ""
    return what + (f"  [items: {', '.join(message.items)}]" if message.items else "")


def _exchange(message: PatientUtterance | ToolCall | ToolResult | Handoff) -> str:
    match message:
        case PatientUtterance(text=text, style=style):
            return text + (f"  [{style}]" if style else "")
        case ToolCall(tool=tool, arguments=arguments):
            return f"{tool}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})"
        case ToolResult(tool=tool, output=output, error=error):
            return f"{tool} failed: {error}" if error else f"{tool} → {output!r}"
        case Handoff(target=target, reason=reason):
            return f"to {target}" + (f": {reason}" if reason else "")


def message_text(message: Envelope) -> str:
    """The content of ``message`` as one line of text (no sender, recipients or kind)."""
    match message:
        case Answer(text=text, confidence=conf):
            return f"{text}" + (f"  (confidence {conf:.2f})" if conf is not None else "")
        case Explanation(text=text, targets=targets):
            return f"{text}" + (f"  [targets: {', '.join(targets)}]" if targets else "")
        case Question(text=text) | Hint(text=text) | Remark(text=text):
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
        case PatientUtterance() | ToolCall() | ToolResult() | Handoff():
            return _exchange(message)
        case LessonStep():
            return _step(message)
        case Mastery():
            return _mastery(message)
        case _:
            return str(message.content())
