"""JSON Schema export of the message and event unions (``lyceum schema``)."""

from __future__ import annotations

from typing import Any, Literal

from protocols.events import EVENT_ADAPTER
from protocols.messages import MESSAGE_ADAPTER

__all__ = ["json_schema"]


def json_schema(which: Literal["messages", "events"] = "messages") -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of the ``Message`` or ``Event`` union."""
    adapter = MESSAGE_ADAPTER if which == "messages" else EVENT_ADAPTER
    schema = adapter.json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "lyceum Message" if which == "messages" else "lyceum Event"
    return schema
