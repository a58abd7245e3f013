"""Messages and events: JSON round trip of every variant (property-based), schema export."""

from __future__ import annotations

import json
import types
import typing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal, get_args, get_origin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from protocols import (
    EVENT_ADAPTER,
    MESSAGE_ADAPTER,
    MESSAGE_KINDS,
    Answer,
    Hint,
    Question,
    Review,
    json_schema,
    transcript,
)
from protocols import events as events_module

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
TZ = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
DATETIMES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=TZ
)


def strategy_for(annotation: Any, field: Any = None) -> st.SearchStrategy[Any]:
    """A hypothesis strategy for a field annotation of our message and event models."""
    if field is not None and field.metadata:
        bounds = {type(m).__name__: m for m in field.metadata}
        if annotation is int and "Ge" in bounds:
            return st.integers(bounds["Ge"].ge, 1000)
        if "Ge" in bounds or "Le" in bounds:
            return st.none() | st.floats(0.0, 1.0)
    origin = get_origin(annotation)
    simple = {
        Any: JSON,
        datetime: DATETIMES,
        str: st.text(max_size=30),
        bool: st.booleans(),
        int: st.integers(-1000, 1000),
        float: st.floats(-1e6, 1e6, allow_nan=False),
        type(None): st.none(),
    }
    if annotation in simple:
        return simple[annotation]
    if origin is Literal:
        return st.sampled_from(get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return st.one_of([strategy_for(a) for a in get_args(annotation)])
    if origin in (tuple, list) or str(origin) == "<class 'collections.abc.Sequence'>":
        return st.lists(strategy_for(get_args(annotation)[0]), max_size=3).map(tuple)
    if origin is dict:
        return st.dictionaries(
            st.text(max_size=8), strategy_for(get_args(annotation)[1]), max_size=3
        )
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_strategy(annotation)
    if get_args(annotation)[:1] == (float,) and hasattr(annotation, "__metadata__"):
        return st.floats(0.0, 1.0)  # a bounded float (Mastery.values): every bound is [0, 1]
    if get_origin(annotation) is typing.Annotated or hasattr(annotation, "__metadata__"):
        return message_strategy()
    raise NotImplementedError(f"no strategy for {annotation!r}")


def model_strategy(cls: type[BaseModel]) -> st.SearchStrategy[Any]:
    fields = {
        name: strategy_for(info.annotation, info)
        for name, info in cls.model_fields.items()
        if name != "kind"
    }
    return st.fixed_dictionaries(fields).map(lambda kw: cls.model_validate(kw))


def message_strategy() -> st.SearchStrategy[Any]:
    return st.one_of([model_strategy(cls) for cls in MESSAGE_KINDS.values()])


EVENT_CLASSES = [
    getattr(events_module, name)
    for name in events_module.__all__
    if name not in ("EVENT_ADAPTER", "Event")
]


@pytest.mark.parametrize("cls", list(MESSAGE_KINDS.values()), ids=list(MESSAGE_KINDS))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_message_variant_round_trips_through_json(
    cls: type[BaseModel], data: st.DataObject
) -> None:
    message = data.draw(model_strategy(cls))
    again = MESSAGE_ADAPTER.validate_json(MESSAGE_ADAPTER.dump_json(message))
    assert again == message
    assert type(again) is cls
    assert again.timestamp.tzinfo is not None and again.timestamp.utcoffset() == timedelta(0)


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=[c.__name__ for c in EVENT_CLASSES])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_event_variant_round_trips_through_json(
    cls: type[BaseModel], data: st.DataObject
) -> None:
    event = data.draw(model_strategy(cls))
    again = EVENT_ADAPTER.validate_json(EVENT_ADAPTER.dump_json(event))
    assert again == event
    assert type(again) is cls


def test_recipients_accept_names_agents_and_lists() -> None:
    class Named:
        name = "student"

    assert Question(to="student", text="q").recipients == ("student",)
    assert Question(to=Named(), text="q").recipients == ("student",)  # type: ignore[arg-type]
    assert Question(to=["a", "b"], text="q").recipients == ("a", "b")
    assert Question(text="q").recipients == ()


def test_naive_timestamps_are_taken_as_utc() -> None:
    message = Answer(text="4", timestamp=datetime(2026, 1, 1, 12, 0))
    assert message.timestamp == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_confidence_outside_unit_interval_is_rejected() -> None:
    with pytest.raises(ValueError, match="less than or equal to 1"):
        Answer(text="4", confidence=1.5)


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        MESSAGE_ADAPTER.validate_python({"kind": "question", "text": "q", "txet": "typo"})


def test_transcript_replaces_ids_with_parent_indices() -> None:
    q = Question(to="s", text="2+2?")
    a = Answer(to="t", text="4", parent_id=q.id, sender="s")
    assert transcript([q, a]) == [
        {
            "sender": "user",
            "recipients": ["s"],
            "parent": None,
            "kind": "question",
            "text": "2+2?",
            "item_id": None,
            "choices": [],
        },
        {
            "sender": "s",
            "recipients": ["t"],
            "parent": 0,
            "kind": "answer",
            "text": "4",
            "item_id": None,
            "confidence": None,
        },
    ]


def test_json_schema_covers_every_message_and_event_kind() -> None:
    messages = json_schema("messages")
    assert messages["discriminator"]["propertyName"] == "kind"
    assert set(messages["discriminator"]["mapping"]) == {
        cls.model_fields["kind"].default for cls in MESSAGE_KINDS.values()
    }
    events = json_schema("events")
    assert set(events["discriminator"]["mapping"]) == {
        cls.model_fields["kind"].default for cls in EVENT_CLASSES
    }
    json.dumps(messages)  # serialisable as it is


def test_message_kinds_are_derived_from_the_union() -> None:
    from protocols import MESSAGE_TAGS, MESSAGE_TYPES, Message

    members = get_args(get_args(Message)[0])
    assert members == MESSAGE_TYPES
    assert {cls.__name__: cls for cls in members} == MESSAGE_KINDS
    assert {cls.model_fields["kind"].default: cls for cls in members} == MESSAGE_TAGS
    assert MESSAGE_TAGS["patient_utterance"].__name__ == "PatientUtterance"


def test_a_transcript_names_a_referenced_message_by_its_index_like_the_parent() -> None:
    """Two runs of one conversation have different message ids; their transcripts match."""
    runs = []
    for run in ("run-a", "run-b"):
        draft = Hint(id=f"{run}/0", sender="teacher", to="reviewer", text="Think in sixths.")
        review = Review(
            id=f"{run}/1",
            sender="reviewer",
            parent_id=draft.id,
            approved=True,
            reviewed_id=draft.id,
        )
        runs.append(transcript([draft, review]))
    assert runs[0] == runs[1]
    assert runs[0][1] == {
        "sender": "reviewer",
        "recipients": [],
        "parent": 0,
        "kind": "review",
        "approved": True,
        "critique": "",
        "issues": [],
        "reviewed_id": 0,
    }
