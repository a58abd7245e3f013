"""Typed messages: the one discriminated union that agents send each other.

Every message carries an envelope (id, run id, sender, recipients, parent id, UTC timestamp)
and a ``kind`` tag. The runtime fills in the envelope when it delivers a message, so an agent
only states *what* it says and, optionally, to whom::

    >>> from protocols import Question, MESSAGE_ADAPTER
    >>> q = Question(to="student", text="What is 3/4 - 1/2?")
    >>> q.recipients
    ('student',)
    >>> MESSAGE_ADAPTER.validate_json(MESSAGE_ADAPTER.dump_json(q)) == q
    True

Routing and termination dispatch on these classes (``match``/``isinstance``), never on text.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, TypeAlias, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

__all__ = [
    "MESSAGE_ADAPTER",
    "MESSAGE_KINDS",
    "MESSAGE_TAGS",
    "MESSAGE_TYPES",
    "Answer",
    "Envelope",
    "Error",
    "Explanation",
    "Handoff",
    "Hint",
    "LessonStep",
    "LessonStepKind",
    "Mastery",
    "MasterySource",
    "Message",
    "PatientUtterance",
    "Plan",
    "PlannedCall",
    "Question",
    "Remark",
    "Review",
    "Stop",
    "StopReason",
    "TaskAssignment",
    "TaskResult",
    "Thought",
    "ToolCall",
    "ToolResult",
    "transcript",
]

StopReason: TypeAlias = Literal[
    "completed",
    "max_turns",
    "max_model_calls",
    "max_tokens",
    "max_seconds",
    "interrupted",
    "error",
]
"""Why a run stopped. Budgets map to ``max_*``; Ctrl-C or a killed process to ``interrupted``."""

PatientStyle: TypeAlias = Literal["plain", "upset", "verbose", "reserved", "tangent", "pleasing"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


def _agent_names(value: Any) -> Any:
    """Accept a name, an object with a ``name`` (an agent) or an iterable of either."""
    if value is None:
        return ()
    if isinstance(value, str) or hasattr(value, "name"):
        value = [value]
    if isinstance(value, Iterable):
        return tuple(getattr(v, "name", v) for v in value)
    return value


class Envelope(BaseModel):
    """Fields every message carries. The runtime stamps ``id``, ``run_id``, ``sender``,
    ``parent_id`` and ``timestamp`` on delivery; authors usually set only ``to``.

    Attributes:
        id: Unique id of the message (deterministic within a seeded run).
        run_id: The run the message belongs to; None until delivered.
        sender: Name of the sending agent; ``"user"`` for a run's first message.
        recipients: Names of the addressees, always stored as a tuple. Pass ``to="student"``,
            ``to=["a", "b"]`` or an agent object. Empty means "every successor in the graph
            whose edge accepts this kind".
        parent_id: Id of the message this one answers.
        timestamp: When it was sent, always timezone-aware UTC.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(default_factory=_new_id)
    run_id: str | None = None
    sender: str = "user"
    recipients: Sequence[str] = Field(default=(), alias="to")
    parent_id: str | None = None
    timestamp: datetime = Field(default_factory=_utc_now)

    envelope_fields: ClassVar[frozenset[str]] = frozenset(
        {"id", "run_id", "sender", "recipients", "parent_id", "timestamp"}
    )

    @field_validator("recipients", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        return _agent_names(value)

    @field_validator("recipients")
    @classmethod
    def _tuple(cls, value: Sequence[str]) -> tuple[str, ...]:
        return tuple(value)

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def content(self) -> dict[str, Any]:
        """The message without its envelope: what was said, for transcripts and snapshots."""
        return self.model_dump(mode="json", exclude=set(self.envelope_fields))


class TaskAssignment(Envelope):
    """A sub-task handed to a persona or expert."""

    kind: Literal["task_assignment"] = "task_assignment"
    task: str
    skills: tuple[str, ...] = ()
    inputs: dict[str, Any] = Field(default_factory=dict)


class TaskResult(Envelope):
    """The outcome of a task, with provenance (who did what, which sources were used)."""

    kind: Literal["task_result"] = "task_result"
    task_id: str | None = None
    output: str
    success: bool = True
    provenance: tuple[str, ...] = ()


class Question(Envelope):
    """A question put to an agent, optionally about a known item."""

    kind: Literal["question"] = "question"
    text: str
    item_id: str | None = None
    choices: tuple[str, ...] = ()


class Answer(Envelope):
    """An answer, with the answerer's reported confidence in [0, 1]."""

    kind: Literal["answer"] = "answer"
    text: str
    item_id: str | None = None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class Explanation(Envelope):
    """An explanation, naming the skills or misconceptions it targets and its sources."""

    kind: Literal["explanation"] = "explanation"
    text: str
    item_id: str | None = None
    targets: tuple[str, ...] = ()
    citations: tuple[str, ...] = ()


class Hint(Envelope):
    """A hint that should move the student without giving the answer away."""

    kind: Literal["hint"] = "hint"
    text: str
    item_id: str | None = None


class Review(Envelope):
    """A reviewer's verdict on another agent's output."""

    kind: Literal["review"] = "review"
    approved: bool
    critique: str = ""
    issues: tuple[str, ...] = ()
    reviewed_id: str | None = None


class Thought(Envelope):
    """Think phase: the inferred state of the interlocutor and a guideline for the reply."""

    kind: Literal["thought"] = "thought"
    about: str
    knowledge: str = ""
    misconception: str | None = None
    emotion: str | None = None
    guideline: str


class PlannedCall(BaseModel):
    """One conceptual-tool call inside a ``Plan``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class Plan(Envelope):
    """Plan phase: which conceptual tools to use, and why."""

    kind: Literal["plan"] = "plan"
    calls: tuple[PlannedCall, ...] = ()
    rationale: str = ""


class ToolCall(Envelope):
    """A request to run a tool."""

    kind: Literal["tool_call"] = "tool_call"
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    call_id: str = Field(default_factory=_new_id)


class ToolResult(Envelope):
    """The result of a tool call; ``error`` is set when the tool failed."""

    kind: Literal["tool_result"] = "tool_result"
    call_id: str
    tool: str
    output: Any = None
    error: str | None = None


class PatientUtterance(Envelope):
    """What a (simulated) patient says, in one of the six PATIENT-Ψ styles."""

    kind: Literal["patient_utterance"] = "patient_utterance"
    text: str
    style: PatientStyle | None = None
    emotion: str | None = None


class Remark(Envelope):
    """Something said to the class that neither asks nor answers: a joke, a comment, a
    summary (a classmate's turn in a classroom)."""

    kind: Literal["remark"] = "remark"
    text: str
    item_id: str | None = None


LessonStepKind: TypeAlias = Literal["explain", "ask", "practice", "quiz"]
"""The steps of a lesson script (MAIC / SimClass): explain a skill, ask the class about it,
practise it on items, and quiz every student."""


class LessonStep(Envelope):
    """A lesson's director begins a step of its script (addressed to the observer).

    Attributes:
        index: The step's position in the script, from 0.
        step: What the step does.
        concept: The concept node the step belongs to.
        skill: The skill node it teaches, or None for a quiz over the whole concept.
        items: The item nodes it uses.
    """

    kind: Literal["lesson_step"] = "lesson_step"
    index: int = Field(ge=0)
    step: LessonStepKind
    concept: str
    skill: str | None = None
    items: tuple[str, ...] = ()


MasterySource: TypeAlias = Literal["quiz", "teacher_model", "simulated_truth"]
"""Where a mastery figure comes from: a quiz's score; the teacher's theory-of-mind estimate;
or a simulated student's hidden state (a simulation's truth, never an LLM's)."""


class Mastery(Envelope):
    """One student's mastery of skills at a lesson step, addressed to the observer.

    Attributes:
        student: The student it is about.
        source: Who measured or estimated it (``MasterySource``).
        values: Skill node id → mastery in [0, 1]: for ``quiz``, the fraction of the
            step's items on that skill answered right; for ``teacher_model``, the
            teacher's estimate P̂(the student answers an item on the skill right); for
            ``simulated_truth``, the simulated learner's true P(correct) on the skill.
        step: The index of the lesson step it was taken at.
    """

    kind: Literal["mastery"] = "mastery"
    student: str
    source: MasterySource
    values: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]]
    step: int = Field(ge=0)


class Handoff(Envelope):
    """Pass the conversation to another agent."""

    kind: Literal["handoff"] = "handoff"
    target: str
    reason: str = ""


class Stop(Envelope):
    """End the run. The runtime also emits one itself when a budget runs out."""

    kind: Literal["stop"] = "stop"
    reason: StopReason = "completed"
    detail: str = ""


class Error(Envelope):
    """An agent failed; ``error_type`` is the exception class name."""

    kind: Literal["error"] = "error"
    error_type: str
    detail: str
    recoverable: bool = False


Message = Annotated[
    TaskAssignment
    | TaskResult
    | Question
    | Answer
    | Explanation
    | Hint
    | Review
    | Thought
    | Plan
    | ToolCall
    | ToolResult
    | PatientUtterance
    | Remark
    | LessonStep
    | Mastery
    | Handoff
    | Stop
    | Error,
    Field(discriminator="kind"),
]
"""Any message. Persisted and exported with ``MESSAGE_ADAPTER``."""

MESSAGE_ADAPTER: TypeAdapter[Message] = TypeAdapter(Message)

MESSAGE_TYPES: tuple[type[Envelope], ...] = get_args(get_args(Message)[0])
"""Every message class, in the order of the ``Message`` union (derived from it)."""

MESSAGE_KINDS: dict[str, type[Envelope]] = {cls.__name__: cls for cls in MESSAGE_TYPES}
"""Message classes by class name, as graph YAML files and edges spell them."""

MESSAGE_TAGS: dict[str, type[Envelope]] = {
    cls.model_fields["kind"].default: cls for cls in MESSAGE_TYPES
}
"""Message classes by their ``kind`` tag (``"patient_utterance"``): the serialised form."""


def transcript(messages: Iterable[Envelope]) -> list[dict[str, Any]]:
    """A run's messages without ids and times, for comparing runs and snapshot tests.

    Each entry has ``sender``, ``recipients``, the message content, and ``parent`` as the
    index of the parent message in the same list (or None). A content field that names an
    earlier message of the list (``Review.reviewed_id``, ``TaskResult.task_id``) holds that
    message's index too, so two runs of the same conversation compare equal.
    """
    index: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        index[message.id] = i
        parent = index.get(message.parent_id) if message.parent_id else None
        content = message.content()
        for key, value in content.items():
            if key.endswith("_id") and isinstance(value, str) and value in index:
                content[key] = index[value]
        out.append(
            {
                "sender": message.sender,
                "recipients": list(message.recipients),
                "parent": parent,
                **content,
            }
        )
    return out
