"""What ``PersonaChatAgent.save_state`` saves: an AgentChat ``BaseState`` of plain JSON data.

A conversation's state is its turns' lyceum run ids (so turn ``n`` resumes with seed
``seed + n``) and what the persona remembers: a ``PersonaState``'s history and item under
discussion, and its mind's state. The mind's state (or, for a lyceum agent that is not a
``Persona``, the agent's own ``new_state()``) is saved with pydantic as the type a fresh
``new_state()`` returns, so it must be plain data: a dataclass or pydantic model of
JSON-able fields (``TeacherMemory``). Anything else (a random generator, a client, a lock)
makes ``save_state`` raise a ``UserError`` rather than save part of the conversation.
"""

from __future__ import annotations

import json
from typing import Any

from autogen_agentchat.state import BaseState
from pydantic import Field, PydanticSchemaGenerationError, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError

from personas import PersonaState
from protocols import UserError

__all__ = ["PersonaChatAgentState", "dump_conversation", "load_conversation"]


class PersonaChatAgentState(BaseState):
    """The saved state of a ``PersonaChatAgent`` (``team.save_state()`` holds it as a dict).

    Attributes:
        started: Whether a conversation was under way (False: the next turn starts afresh).
        turns: The turns taken in the conversation (``len(run_ids)``).
        run_ids: The lyceum runs of those turns, oldest first.
        history: A ``PersonaState``'s conversation lines (empty for other agents).
        item_id: A ``PersonaState``'s item under discussion.
        mind: The mind's state (or a non-persona agent's state) as JSON data; None when it
            has none.
    """

    type: str = Field(default="PersonaChatAgentState")
    started: bool = False
    turns: int = 0
    run_ids: list[str] = Field(default_factory=list)
    history: list[str] = Field(default_factory=list)
    item_id: str | None = None
    mind: Any = None


def _owner(agent: object, state: object) -> tuple[str, object]:
    """Who owns the saved part (the mind of a ``Persona``, else the agent) and that part."""
    if isinstance(state, PersonaState):
        return type(getattr(agent, "mind", None)).__name__, state.mind
    return type(agent).__name__, state


def _unsaveable(owner: str, kind: str, detail: str) -> UserError:
    return UserError(
        f"cannot save the conversation state of {owner}: its new_state() returns {kind}, "
        f"which is not plain data ({detail}); make new_state() return a dataclass or "
        "pydantic model of JSON-able fields (str, numbers, lists, dicts), or do not "
        "save_state/load_state a team with this persona"
    )


def dump_conversation(agent: object, state: object, run_ids: list[str]) -> PersonaChatAgentState:
    """The saved form of a conversation of ``agent`` (a persona or other lyceum agent)."""
    owner, part = _owner(agent, state)
    mind: Any = None
    if part is not None:
        kind = type(part).__name__
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(type(part))
            mind = adapter.dump_python(part, mode="json")
            json.dumps(mind)
            again = adapter.dump_python(adapter.validate_python(mind), mode="json")
        except (PydanticSchemaGenerationError, PydanticSerializationError, TypeError) as e:
            raise _unsaveable(owner, kind, str(e).splitlines()[0]) from e
        except ValidationError as e:
            raise _unsaveable(owner, kind, f"it does not load back: {e.errors()[0]['msg']}") from e
        if again != mind:
            raise _unsaveable(owner, kind, "it does not load back as it was saved")
    saved = PersonaChatAgentState(started=True, turns=len(run_ids), run_ids=list(run_ids))
    if isinstance(state, PersonaState):
        saved.history, saved.item_id = list(state.history), state.item_id
    saved.mind = mind
    return saved


def load_conversation(agent: object, fresh: object, saved: PersonaChatAgentState) -> object:
    """``fresh`` (a new ``new_state()`` of ``agent``) set to the saved conversation."""
    if saved.turns != len(saved.run_ids):
        raise UserError(
            f"saved state of {getattr(agent, 'name', agent)}: turns is {saved.turns} but "
            f"run_ids lists {len(saved.run_ids)} run(s); save it again with save_state()"
        )
    owner, part = _owner(agent, fresh)
    mind: object = None
    if saved.mind is not None:
        if part is None:
            raise UserError(
                f"saved state has a mind state but {owner}'s new_state() has none: the "
                "state was saved from a different persona; load it into the same persona"
            )
        try:
            mind = TypeAdapter(type(part)).validate_python(saved.mind)
        except ValidationError as e:
            raise UserError(
                f"saved mind state does not fit {owner}'s {type(part).__name__}: "
                f"{e.errors()[0]['msg']}; load it into the persona it was saved from"
            ) from e
    if isinstance(fresh, PersonaState):
        return PersonaState(history=list(saved.history), item_id=saved.item_id, mind=mind)
    return mind
