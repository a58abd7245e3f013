"""``GuidedLLMMind``: an LLM writes a persona's words; a simulated mind decides the move.

In a classroom the teacher's move (explain, ask whom, re-explain, move on) follows from its
theory-of-mind model of each student. With an LLM teacher that model still runs: each
turn the guide (a simulated mind with ``draft``/``said``, e.g.
``ClassroomTeacherMind``) reads the message and decides; its estimate and its guideline
reach the LLM as context for the LLM's own Think; the LLM plans (when the persona has tools
to call) and writes the reply, in
the kind the guide chose (so the lesson's protocol holds), to the addressee and about the
item the guide chose. The guide hears what the LLM actually said.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from personas.persona import LLMMind, PlanOut, Reply, ReportingMind, TurnState
from personas.prompting import ThoughtVars, ToolInfo
from personas.tools import Retrieved
from protocols import Envelope, ModelContext

__all__ = ["Guide", "GuidedLLMMind"]


class Guide(Protocol):
    """A simulated mind that can guide an LLM (``ClassroomTeacherMind``, the classmates')."""

    def new_state(self) -> object: ...

    async def think(self, turn: TurnState, ctx: ModelContext) -> ThoughtVars: ...

    def draft(self, turn: TurnState) -> Reply:
        """The reply it decided in ``think``: its kind, addressee and item are kept."""
        ...

    def said(self, turn: TurnState, reply: Reply) -> None:
        """What was actually said."""
        ...


class GuidedLLMMind:
    """An ``LLMMind`` guided by a simulated mind (see the module docs).

    Args:
        llm: Writes the Thought, the Plan and the reply.
        guide: Decides the move; its state is the mind's state for the run.
    """

    def __init__(self, llm: LLMMind, guide: Guide) -> None:
        self.llm = llm
        self.guide = guide

    def new_state(self) -> object:
        return self.guide.new_state()

    def _guided(self, turn: TurnState, advice: ThoughtVars | None) -> TurnState:
        """``turn`` with the guide's reading, decision and draft first in its context."""
        draft = self.guide.draft(turn)
        to = f" to {', '.join(draft.to)}" if draft.to else ""
        said = f"Reply with one {draft.kind} message{to}, in your own words; a draft: {draft.text}"
        if advice is not None:
            reading = f"Your reading of the class: {advice.knowledge}."
            said = f"{reading} What to do: {advice.guideline}. {said}"
        context = f"{said}\n{turn.context.context}" if turn.context else said
        citations = turn.context.citations if turn.context else ()
        return turn.model_copy(update={"context": Retrieved(context=context, citations=citations)})

    async def think(self, turn: TurnState, ctx: ModelContext) -> ThoughtVars:
        advice = await self.guide.think(turn, ctx)
        return await self.llm.think(self._guided(turn, advice), ctx)

    async def plan(self, turn: TurnState, tools: list[ToolInfo], ctx: ModelContext) -> PlanOut:
        """The LLM's plan; with no tools to call, its Thought's guideline, without a call."""
        if not tools:
            return PlanOut(rationale=turn.thought.guideline if turn.thought else "")
        return await self.llm.plan(turn, tools, ctx)

    async def execute(self, turn: TurnState, kinds: list[str], ctx: ModelContext) -> Reply:
        draft = self.guide.draft(turn)
        kind: list[str] = [draft.kind] if draft.kind in kinds else kinds
        reply = await self.llm.execute(self._guided(turn, None), kind, ctx)
        update = {"to": draft.to, "item_id": draft.item_id}
        if reply.kind == draft.kind and not reply.targets:
            update["targets"] = draft.targets
        final = reply.model_copy(update=update)
        self.guide.said(turn, final)
        return final

    def reports(self, turn: TurnState) -> Sequence[Envelope]:
        """The guide's reports, if it makes any (a teacher's ``Mastery`` estimates)."""
        return self.guide.reports(turn) if isinstance(self.guide, ReportingMind) else ()
