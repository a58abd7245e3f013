"""A persona runs each turn as Think → Plan → Execute.

- **Think** reads the interlocutor (knowledge, misconception, emotion) and writes a
  guideline: a ``Thought``.
- **Plan** picks conceptual tools to call: a ``Plan``; the persona then runs the calls.
- **Execute** composes the outgoing message.

A ``Mind`` runs the three phases: ``LLMMind`` renders the prompt templates and validates
the model's structured output (re-asking with the error, within a bound); simulated minds
need no model. The ``Thought`` and ``Plan`` are recorded in the transcript addressed to the
observer (``"user"``): visible to people and tests, never delivered to an agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar, get_args, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import SkipJsonSchema

from knowledge_graph.retrieval import Retriever
from personas.planning import PlanOut, plan_output_type
from personas.prompting import (
    ExecuteVars,
    PlanVars,
    SystemVars,
    ThinkVars,
    ThoughtVars,
    ToolInfo,
    render_prompt,
)
from personas.spec import PersonaSpec
from personas.state import run_state
from personas.tools import Retrieved, ToolRegistry
from protocols import (
    MESSAGE_TAGS,
    Answer,
    Envelope,
    Explanation,
    Message,
    ModelClient,
    ModelContext,
    ModelRequest,
    PatientUtterance,
    Plan,
    PlannedCall,
    Review,
    Stop,
    TaskResult,
    Thought,
    ToolResult,
    UserError,
)

__all__ = [
    "LLMMind",
    "Mind",
    "Persona",
    "PersonaState",
    "PlanOut",
    "Reply",
    "ReportingMind",
    "TurnState",
]

T = TypeVar("T", bound=BaseModel)
OBSERVER = "user"
Kind = Literal[
    "question",
    "answer",
    "explanation",
    "hint",
    "remark",
    "patient_utterance",
    "stop",
    "task_result",
]
"""The kinds of message a persona may reply with: ``kind`` tags of the ``Message`` union."""
_TAGS: dict[str, Kind] = {tag: tag for tag in get_args(Kind)}
_KINDS: dict[str, type[Envelope]] = {tag: MESSAGE_TAGS[tag] for tag in _TAGS}
STRUCTURED_MAX_TOKENS = 512
"""The default reply budget of one structured phase call."""


def positive_tokens(max_tokens: int) -> int:
    """``max_tokens`` if it is a positive int, else a ``UserError`` saying so."""
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise UserError(f"max_tokens must be a positive int, got {max_tokens!r}")
    return max_tokens


CONTEXT_NODES = 5
"""How many knowledge-graph nodes a persona retrieves as context for one turn."""


class Reply(BaseModel):
    """The Execute phase's output: the kind of message and its text.

    Attributes:
        targets: For an explanation, the knowledge-graph nodes it explains (the skills it
            teaches, the misconceptions it remedies), as ``Explanation.targets``.
    """

    model_config = ConfigDict(extra="forbid")
    kind: Kind = Field(description="The kind of message the reply is.")
    text: str = Field(description="The reply itself.")
    confidence: float | None = Field(
        default=None, ge=0, le=1, description="For an answer: how sure, 0 to 1; else null."
    )
    targets: tuple[str, ...] = Field(
        default=(),
        description="For an explanation: the ids of the knowledge-graph nodes it explains.",
    )
    # The two fields below are set by a mind, never asked of a model (not in the schema;
    # the class docstring above is the schema's description, so they are documented here).
    to: SkipJsonSchema[tuple[str, ...]] = ()
    """Whom the message goes to (agent names); empty: along the graph's edges (a
    classroom teacher calling on one student sets it)."""
    item_id: SkipJsonSchema[str | None] = None
    """The item the message is about, when the mind knows it better than the conversation
    does (a new lesson step); unset: the item under discussion."""


class TurnState(BaseModel):
    """What a mind sees of the turn so far.

    Attributes:
        history: The conversation so far, this message last, one ``"sender: text"`` line
            per turn.
        context: What the persona's knowledge graph holds about the message (node ids as
            citations), when the persona has ``knowledge``.
        state: The mind's own state for this run (what its ``new_state()`` made when the run
            began), or None for a mind without one.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    persona: PersonaSpec
    message: Message
    history: list[str]
    context: Retrieved | None = None
    thought: ThoughtVars | None = None
    results: list[ToolResult] = Field(default_factory=list)
    state: object = None


@dataclass
class PersonaState:
    """What a persona remembers during one run (``Persona.new_state()`` makes it).

    Attributes:
        history: The conversation so far, one ``"sender: text"`` line per turn.
        item_id: The item under discussion, carried into replies.
        mind: The mind's state for the run, from the mind's ``new_state()`` if it has one.
    """

    history: list[str] = field(default_factory=list)
    item_id: str | None = None
    mind: object = None


class Mind(Protocol):
    """Runs the three phases of a persona's turn."""

    async def think(self, turn: TurnState, ctx: ModelContext) -> ThoughtVars: ...

    async def plan(self, turn: TurnState, tools: list[ToolInfo], ctx: ModelContext) -> PlanOut: ...

    async def execute(self, turn: TurnState, kinds: list[str], ctx: ModelContext) -> Reply: ...


@runtime_checkable
class ReportingMind(Protocol):
    """A mind that also reports what it estimates, for people and tests (optional).

    After each turn the persona records what ``reports`` returns, addressed to the observer
    (``"user"``): never delivered to an agent. A classroom teacher reports its
    theory-of-mind estimate of each student as ``Mastery`` messages this way.
    """

    def reports(self, turn: TurnState) -> Sequence[Envelope]:
        """Observer-only messages about the turn just taken (may be empty)."""
        ...


def _tag(kind: str | type[Envelope]) -> Kind:
    """A reply kind's tag, from a message class or a tag; only ``Kind`` members qualify."""
    tag = kind.model_fields["kind"].default if isinstance(kind, type) else kind
    if tag not in _TAGS:
        shown = kind.__name__ if isinstance(kind, type) else repr(kind)
        raise UserError(
            f"a persona cannot reply with {shown}; its replies may be: {', '.join(_TAGS)}"
        )
    return _TAGS[tag]


def _text(message: Message) -> str:
    return str(
        getattr(message, "text", None) or getattr(message, "detail", None) or message.content()
    )


class LLMMind:
    """A mind whose phases are model calls: templates in, validated structured output out.

    Every request is a system message rendered from the persona's spec (``system.jinja``)
    and a user message for the phase; each phase prompt states its output contract as the
    JSON schema of the type it is validated into.

    Args:
        model: The model client (any ``protocols.ModelClient``, e.g. from
            ``agents.models``).
        max_retries: Re-asks per phase when the output does not validate.
        max_tokens: The reply budget of each phase call (a small CPU model needs far
            fewer than the default; a reply cut short is re-asked).
    """

    def __init__(
        self, model: ModelClient, *, max_retries: int = 2, max_tokens: int = STRUCTURED_MAX_TOKENS
    ) -> None:
        self.model = model
        self.max_retries = max_retries
        self.max_tokens = positive_tokens(max_tokens)

    async def _ask(self, ctx: ModelContext, turn: TurnState, prompt: str, output: type[T]) -> T:
        system = render_prompt("system", SystemVars(persona=turn.persona))
        request = ModelRequest.of(
            prompt, system=system, max_tokens=self.max_tokens, schema_in_prompt=True
        )
        return await ctx.complete(self.model, request, output=output, max_retries=self.max_retries)

    async def think(self, turn: TurnState, ctx: ModelContext) -> ThoughtVars:
        prompt = render_prompt(
            "think",
            ThinkVars(
                history=turn.history[:-1],  # the message itself is shown on its own
                sender=turn.message.sender,
                message=_text(turn.message),
                context=turn.context.context if turn.context else "",
                output=ThoughtVars,
            ),
        )
        return await self._ask(ctx, turn, prompt, ThoughtVars)

    async def plan(self, turn: TurnState, tools: list[ToolInfo], ctx: ModelContext) -> PlanOut:
        assert turn.thought is not None
        output = plan_output_type([(tool.name, tool.arguments) for tool in tools])
        prompt = render_prompt(
            "plan",
            PlanVars(sender=turn.message.sender, thought=turn.thought, tools=tools, output=output),
        )
        planned = await self._ask(ctx, turn, prompt, output)
        # Back to the plain record: the calls' arguments are already validated dicts.
        calls = [PlannedCall(tool=c.tool, arguments=c.arguments) for c in planned.calls]
        return PlanOut(calls=calls, rationale=planned.rationale)

    async def execute(self, turn: TurnState, kinds: list[str], ctx: ModelContext) -> Reply:
        assert turn.thought is not None
        # Only the allowed kinds validate, so a reply of another kind is re-asked.
        kind = Field(description=f"One of: {', '.join(kinds)}.")
        allowed = create_model("Reply", __base__=Reply, kind=(Literal[tuple(kinds)], kind))  # type: ignore[arg-type]
        prompt = render_prompt(
            "execute",
            ExecuteVars(
                history=turn.history[:-1],
                sender=turn.message.sender,
                message=_text(turn.message),
                thought=turn.thought,
                results=turn.results,
                kinds=kinds,
                context=turn.context.context if turn.context else "",
                output=allowed,
            ),
        )
        reply: Reply = await self._ask(ctx, turn, prompt, allowed)
        return reply


class Persona:
    """An agent built from a spec, a mind and tools (no subclassing needed).

    Args:
        spec: Who it is.
        mind: What runs its turns.
        tools: The conceptual tools it may call; only those named in ``spec.tools``.
        kinds: The message kinds its replies may take, as message classes (``[Hint, Stop]``,
            as on graph edges) or their ``kind`` tags (``["hint", "stop"]``); default: by
            role.
        knowledge: Its knowledge graph: before each Think, the persona retrieves what it
            holds about the incoming message (and the item under discussion), restricted to
            the labels of ``spec.knowledge_scope``, and hands it to the mind with node ids
            as citations (``TurnState.context``).
    """

    def __init__(
        self,
        spec: PersonaSpec,
        mind: Mind,
        *,
        tools: ToolRegistry | None = None,
        kinds: Sequence[Kind | type[Envelope]] | None = None,
        knowledge: Retriever | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.mind = mind
        self.tools = tools or ToolRegistry()
        self.knowledge = knowledge
        default: list[Kind] = (
            ["answer", "question"]
            if spec.role == "student"
            else ["patient_utterance"]
            if spec.role == "simulated_patient"
            else ["question", "hint", "explanation", "stop"]
        )
        self.kinds: list[Kind] = [_tag(k) for k in kinds or default]
        self.emits = (Thought, Plan, *(_KINDS[k] for k in self.kinds))

    def new_state(self) -> PersonaState:
        """A fresh memory for one run: the runtime calls it as the run starts."""
        new_mind_state = getattr(self.mind, "new_state", None)
        return PersonaState(mind=new_mind_state() if callable(new_mind_state) else None)

    def _context(self, message: Message, item_id: str | None) -> Retrieved | None:
        """What the knowledge graph holds about the message and the item under discussion."""
        if self.knowledge is None:
            return None
        item = self.knowledge.store.node(item_id) if item_id else None
        query = " ".join(t for t in (item.text() if item else "", _text(message)) if t.strip())
        if not query.strip():
            return None
        labels = list(self.spec.knowledge_scope) or None
        found = self.knowledge.search(query, k=CONTEXT_NODES, labels=labels)
        if not found.hits:
            return None
        return Retrieved(context=found.context(), citations=tuple(found.citations))

    async def _run_calls(self, plan: PlanOut, turn: TurnState, ctx: ModelContext) -> None:
        """Run the planned calls; each becomes a ``ToolResult`` in ``turn.results``."""
        for i, call in enumerate(plan.calls):
            call_id = f"{self.name}:{len(turn.history)}:{i}"
            if call.tool not in self.spec.tools or call.tool not in self.tools.names():
                error = f"not available to {self.name}"
                turn.results.append(ToolResult(call_id=call_id, tool=call.tool, error=error))
                continue
            tool = self.tools.get(call.tool)
            turn.results.append(await tool.run(call.arguments, call_id=call_id, ctx=ctx))

    async def handle(self, message: Message, ctx: ModelContext) -> Sequence[Envelope]:
        if isinstance(message, Review) and message.approved:
            return []  # an approval asks for no reply
        memory = run_state(ctx, PersonaState)
        memory.item_id = getattr(message, "item_id", None) or memory.item_id
        memory.history.append(f"{message.sender}: {_text(message)}")
        turn = TurnState(
            persona=self.spec,
            message=message,
            history=list(memory.history),
            context=self._context(message, memory.item_id),
            state=memory.mind,
        )
        thought = await self.mind.think(turn, ctx)
        turn.thought = thought
        plan = await self.mind.plan(turn, self.tools.infos(self.spec.tools), ctx)
        await self._run_calls(plan, turn, ctx)
        reply = await self.mind.execute(turn, [str(k) for k in self.kinds], ctx)
        memory.history.append(f"{self.name}: {reply.text}")
        memory.item_id = reply.item_id or memory.item_id
        reports = self.mind.reports(turn) if isinstance(self.mind, ReportingMind) else ()
        return [
            Thought(
                to=OBSERVER,
                about=message.sender,
                knowledge=thought.knowledge,
                misconception=thought.misconception,
                emotion=thought.emotion,
                guideline=thought.guideline,
            ),
            Plan(to=OBSERVER, calls=tuple(plan.calls), rationale=plan.rationale),
            self._message(reply, memory.item_id),
            *(r.model_copy(update={"recipients": (OBSERVER,)}) for r in reports),
        ]

    def _message(self, reply: Reply, item_id: str | None) -> Envelope:
        """The reply as a message, about the same item as the message it answers (or the
        one the reply names), to whom the reply names (else along the graph's edges)."""
        cls = _KINDS[reply.kind]
        if cls is Stop:
            return Stop(detail=reply.text)
        message = self._compose(cls, reply, item_id)
        return message.model_copy(update={"recipients": reply.to}) if reply.to else message

    def _compose(self, cls: type[Envelope], reply: Reply, item_id: str | None) -> Envelope:
        if cls is Answer:
            return Answer(text=reply.text, confidence=reply.confidence, item_id=item_id)
        if cls is PatientUtterance:
            return PatientUtterance(text=reply.text)
        if cls is TaskResult:  # e.g. a teacher reporting to a lesson that an item is done
            return TaskResult(output=reply.text)
        if cls is Explanation:
            return Explanation(text=reply.text, item_id=item_id, targets=reply.targets)
        return cls(text=reply.text, item_id=item_id)  # type: ignore[call-arg]
