"""``LLMExplanations``: an LLM teacher persona as an ``ExplanationSource``.

The persona (a ``personas.PersonaSpec``: its name, role, profile and style) is asked to
write a short explanation of the facts an item needs (template ``explain_item``), without
stating the answer; with ``reveal_answer=True`` the prompt tells the teacher the gold
answer (the teacher then knows more than a student, as the paper's stronger teacher
model does by its own accuracy). The reply is the explanation's text, aim ``"llm"``; it is
read by the student like any other explanation, never trusted for its label.
"""

from __future__ import annotations

from collections.abc import Sequence

from agents.eval.base import EvalItem, Explanation
from agents.eval.lm import eval_context
from agents.models.base import ModelClient, ModelRequest
from personas.prompting import ExplainItemVars, render_prompt
from personas.spec import PersonaSpec
from protocols import UnexpectedModelOutput, UserError

__all__ = ["LLMExplanations"]


class LLMExplanations:
    """Explanations written by a model in a teacher persona's voice.

    Args:
        model: The teacher's model client.
        persona: Who writes them (e.g. ``personas.builtin_persona("teacher")``).
        reveal_answer: Whether the prompt tells the teacher the gold answer.
        max_tokens: The reply budget of one explanation.
        temperature: Sampling temperature (0: greedy, so each item's text is fixed).
    """

    def __init__(
        self,
        model: ModelClient,
        persona: PersonaSpec,
        *,
        reveal_answer: bool = False,
        max_tokens: int = 96,
        temperature: float = 0.0,
    ) -> None:
        if max_tokens < 1:
            raise UserError(f"max_tokens must be >= 1, got {max_tokens}")
        self.model = model
        self.persona = persona
        self.reveal_answer = reveal_answer
        self.max_tokens = max_tokens
        self.temperature = temperature

    def prompt(self, item: EvalItem) -> str:
        """The teacher's prompt for ``item``."""
        return render_prompt(
            "explain_item",
            ExplainItemVars(
                persona=self.persona,
                question=item.question,
                answer=item.answer if self.reveal_answer else None,
            ),
        ).rstrip()

    async def candidates(self, item: EvalItem) -> Sequence[Explanation]:
        """One explanation of ``item``: the first paragraph of the model's reply.

        Raises:
            UnexpectedModelOutput: The reply is empty.
        """
        ctx = eval_context(self.persona.name)
        request = ModelRequest.of(
            self.prompt(item),
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            stop=["\n\n", "\nQuestion:"],
        )
        reply = (await ctx.complete(self.model, request)).text
        text = reply.strip().split("\n\n", 1)[0].strip()
        if not text:
            raise UnexpectedModelOutput(
                f"{self.model.describe()} wrote an empty explanation for item {item.id} "
                f"(persona {self.persona.name!r}); raise max_tokens or use another model",
                raw=reply,
                errors=["empty explanation"],
            )
        return [Explanation(text, aim="llm")]
