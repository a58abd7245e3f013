"""Plain-text rendering of messages and runs, shared by the CLI and the docs."""

from __future__ import annotations

from protocols import Message
from protocols.text import message_text

__all__ = ["render_message"]


def render_message(message: Message) -> str:
    """One line: ``sender → recipients  kind  body``."""
    to = ", ".join(message.recipients) or "-"
    return f"{message.sender} → {to}  {type(message).__name__}: {message_text(message)}"
