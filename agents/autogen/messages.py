"""How AutoGen AgentChat messages and lyceum's typed messages become each other.

Into lyceum (``from_autogen``, the default; pass your own ``incoming=`` to
``PersonaChatAgent`` to decide otherwise):

- a ``StructuredMessage`` whose content is ``LyceumContent`` (another lyceum persona's
  reply) is its typed lyceum message, exactly as that persona sent it;
- any other chat message (``TextMessage`` from the user or an AutoGen agent, ...) is a
  ``Question`` with the message's text, about the item named by its ``metadata["item_id"]``
  when there is one. ``TextAs`` chooses another kind per source (``TextAs(student=Answer)``:
  a teacher persona hears an AutoGen student's text as an ``Answer``). The kind is decided
  by the mapping, never by reading the text.

Out of lyceum (``to_autogen``):

- the persona's reply is a ``TextMessage`` (its one-line text, ``protocols.text``), or with
  ``structured=True`` a ``StructuredMessage[LyceumContent]`` carrying the typed message (its
  text is what models see); either way ``metadata["lyceum_kind"]`` names its kind;
- a ``Stop`` is an AgentChat ``StopMessage``, so AutoGen's own ``StopMessageTermination``
  decides whether the team stops;
- what the persona records for the observer only (its ``Thought`` and ``Plan``, reports) are
  ``ThoughtEvent`` inner messages.
"""

from __future__ import annotations

from autogen_agentchat.messages import (
    BaseChatMessage,
    BaseTextChatMessage,
    StopMessage,
    StructuredMessage,
    TextMessage,
    ThoughtEvent,
)
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, model_validator

from protocols import (
    Answer,
    Envelope,
    Explanation,
    Hint,
    Message,
    PatientUtterance,
    Question,
    Remark,
    Stop,
    UserError,
)
from protocols.text import message_text

__all__ = ["LyceumContent", "TextAs", "from_autogen", "observed", "to_autogen"]


class LyceumContent(BaseModel):
    """The content of a ``StructuredMessage`` that carries a typed lyceum message.

    Attributes:
        kind: The message's ``kind`` tag (``answer``, ``hint``, ...).
        text: Its one-line text: what an AutoGen model reads (the ``format_string``).
        message: The typed lyceum message itself, envelope included.
    """

    model_config = ConfigDict(frozen=True)

    kind: str
    text: str
    message: Message

    @model_validator(mode="after")
    def _kind_is_the_message_s(self) -> LyceumContent:
        if self.kind != self.message.kind:
            raise ValueError(
                f"kind {self.kind!r} is not the kind of its message ({self.message.kind!r})"
            )
        return self


FORMAT = "{text}"


def _metadata(message: Envelope) -> dict[str, str]:
    metadata = {"lyceum_kind": str(getattr(message, "kind", type(message).__name__))}
    item_id = getattr(message, "item_id", None)
    if item_id:
        metadata["item_id"] = str(item_id)
    return metadata


MESSAGE: TypeAdapter[Message] = TypeAdapter(Message)


def _carried(message: StructuredMessage[LyceumContent]) -> Envelope:
    """The typed message a ``StructuredMessage[LyceumContent]`` carries, validated again
    (AgentChat messages may be built without validation, e.g. ``model_construct``)."""
    try:
        typed: Envelope = MESSAGE.validate_python(message.content.message)
    except ValidationError as exc:
        raise UserError(
            f"{message.source}'s StructuredMessage[LyceumContent] carries no valid lyceum "
            f"message: {str(exc)[:500]}. Build it with agents.autogen.to_autogen(..., "
            "structured=True)"
        ) from exc
    return typed.model_copy(update={"parent_id": None, "recipients": ()})


def from_autogen(message: BaseChatMessage) -> Envelope:
    """The default mapping of an AgentChat message to the lyceum message a persona gets."""
    if isinstance(message, StructuredMessage) and isinstance(message.content, LyceumContent):
        return _carried(message)
    if isinstance(message, BaseTextChatMessage):
        return Question(text=message.content, item_id=message.metadata.get("item_id") or None)
    return Question(text=message.to_model_text())


TEXT_KINDS = (Question, Answer, Explanation, Hint, Remark, PatientUtterance)
"""The lyceum kinds ``TextAs`` can make from a text: each has ``text`` (and most ``item_id``)."""


class TextAs:
    """An ``incoming`` mapping that makes text into the lyceum kind chosen by its source.

    A ``StructuredMessage[LyceumContent]`` is still its typed message (``from_autogen``).

    Args:
        default: The kind of a text whose source is not named.
        **sources: The kind of the texts of each named source (an AgentChat agent name, or
            ``user`` for the task).

    Example:
        ``PersonaChatAgent(teacher, incoming=TextAs(student=Answer))``.
    """

    def __init__(self, default: type[Envelope] = Question, **sources: type[Envelope]) -> None:
        for kind in (default, *sources.values()):
            if kind not in TEXT_KINDS:
                raise UserError(
                    f"TextAs cannot make a {getattr(kind, '__name__', kind)!r} from a text; "
                    f"choose one of {', '.join(k.__name__ for k in TEXT_KINDS)}"
                )
        self.default = default
        self.sources = sources

    def __call__(self, message: BaseChatMessage) -> Envelope:
        if isinstance(message, StructuredMessage) and isinstance(message.content, LyceumContent):
            return from_autogen(message)
        kind = self.sources.get(message.source, self.default)
        text = message.content if isinstance(message, BaseTextChatMessage) else None
        fields: dict[str, object] = {"text": message.to_model_text() if text is None else text}
        if "item_id" in kind.model_fields:
            fields["item_id"] = message.metadata.get("item_id") or None
        return kind.model_validate(fields)


def to_autogen(message: Message, source: str, *, structured: bool = False) -> BaseChatMessage:
    """A persona's reply as an AgentChat chat message (see the module docs)."""
    text = message_text(message)
    metadata = _metadata(message)
    if isinstance(message, Stop):
        return StopMessage(content=text, source=source, metadata=metadata)
    if structured:
        content = LyceumContent(kind=metadata["lyceum_kind"], text=text, message=message)
        return StructuredMessage[LyceumContent](
            content=content, source=source, format_string=FORMAT, metadata=metadata
        )
    return TextMessage(content=text, source=source, metadata=metadata)


def observed(message: Message, source: str) -> ThoughtEvent:
    """An observer-only message (a ``Thought``, a ``Plan``, a report) as a ``ThoughtEvent``."""
    return ThoughtEvent(content=message_text(message), source=source, metadata=_metadata(message))
