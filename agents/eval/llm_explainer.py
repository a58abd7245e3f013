"""``LLMExplanations``: an LLM teacher persona as an ``ExplanationSource``.

The persona (a ``personas.PersonaSpec``: its name, role, profile and style) is asked to
write a short explanation of the facts an item needs (template ``explain_item``), without
stating the answer; with ``reveal_answer=True`` the prompt tells the teacher the gold
answer (the teacher then knows more than a student, as the paper's stronger teacher
model does by its own accuracy). The reply is the explanation's text, aim ``"llm"``; it is
read by the student like any other explanation, never trusted for its label.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.eval.base import EvalItem, Explanation
from agents.eval.lm import eval_context
from agents.models.base import ModelClient, ModelRequest
from personas.prompting import ExplainItemVars, render_prompt
from personas.spec import PersonaSpec, builtin_persona
from protocols import ConfigError, UnexpectedModelOutput, UserError

if TYPE_CHECKING:
    from agents.eval.tom_config import ToMConfig

__all__ = ["LLMExplanations", "LLMTeacherSpec", "ServedExplanations", "tom_explainer"]


class LLMTeacherSpec(BaseModel):
    """The LLM teacher of a ToM sweep (``explanations: {source: llm, llm: ...}``).

    Attributes:
        base_url: An OpenAI-compatible server (``transformers serve``, vLLM, any API);
            or else
        path: a local ``transformers`` model folder, loaded in-process.
        model: The model name the server serves (with ``base_url``).
        api_key_env: The environment variable holding the server's key (never the key).
        persona: The built-in persona whose voice it writes in (``personas/specs``).
        reveal_answer: Whether the prompt tells the teacher the gold answer.
        max_tokens: The reply budget of one explanation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str | None = None
    path: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    persona: str = "teacher"
    reveal_answer: bool = False
    max_tokens: int = Field(default=96, ge=1)

    @model_validator(mode="after")
    def _one_backend(self) -> LLMTeacherSpec:
        if (self.base_url is None) == (self.path is None):
            raise ValueError("give exactly one of base_url (a served model) or path (a folder)")
        if self.base_url is not None and not self.model:
            raise ValueError("a served teacher needs model: the name the server serves")
        return self

    def client(self) -> ModelClient:
        """The teacher's model client.

        Raises:
            ConfigError: ``api_key_env`` names a variable that is not set.
        """
        from agents.models import OpenAIChatClient, TransformersClient

        if self.path is not None:
            return TransformersClient(self.path, model=self.path)
        key = None
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise ConfigError(
                    f"the LLM teacher's key variable ${self.api_key_env} is not set; export "
                    "it, or drop api_key_env for a server without a key",
                    field="explanations.llm.api_key_env",
                )
        assert self.base_url is not None and self.model is not None
        return OpenAIChatClient(self.base_url, self.model, api_key=key)


class ServedExplanations:
    """``LLMExplanations`` from an ``LLMTeacherSpec`` for a sweep: the teacher writes one
    explanation per item (greedy, so asking again would give the same text), kept for the
    process; each request opens its own client and closes it, so the source works from any
    event loop (a sweep's stages, Ray workers) and leaves no connection open.

    Args:
        spec: The teacher's model.
        persona: Who writes the explanations.
    """

    def __init__(self, spec: LLMTeacherSpec, persona: PersonaSpec) -> None:
        self.spec = spec
        self.persona = persona
        self._written: dict[str, Sequence[Explanation]] = {}
        self._local: ModelClient | None = None  # an in-process model is loaded once

    async def candidates(self, item: EvalItem) -> Sequence[Explanation]:
        """The teacher's explanation of ``item`` (asked once per item and process)."""
        if item.id in self._written:
            return self._written[item.id]
        if self.spec.path is not None:
            self._local = self._local or self.spec.client()
            self._written[item.id] = await self._ask(self._local, item)
            return self._written[item.id]
        client = self.spec.client()
        try:
            self._written[item.id] = await self._ask(client, item)
        finally:
            await client.aclose()
        return self._written[item.id]

    async def _ask(self, client: ModelClient, item: EvalItem) -> Sequence[Explanation]:
        source = LLMExplanations(
            client,
            self.persona,
            reveal_answer=self.spec.reveal_answer,
            max_tokens=self.spec.max_tokens,
        )
        return await source.candidates(item)


def tom_explainer(config: ToMConfig) -> ServedExplanations:
    """The LLM teacher persona of a ToM sweep config (``explanations.llm``).

    Raises:
        ConfigError: The config has no ``explanations.llm``, or names an unknown persona.
    """
    spec = config.explanations.llm
    if spec is None:
        raise ConfigError(
            "explanations.source is llm but explanations.llm is missing; add e.g. "
            "llm: {base_url: http://127.0.0.1:8000/v1, model: NAME}",
            field="explanations.llm",
        )
    try:
        persona = builtin_persona(spec.persona)
    except UserError as exc:
        raise ConfigError(str(exc), field="explanations.llm.persona") from None
    return ServedExplanations(spec, persona)


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
        )  # no ``stop``: `transformers serve` fails with HTTP 500 on stop strings for some
        # tokenizers; the reply is cut here instead
        reply = (await ctx.complete(self.model, request)).text
        text = reply.split("\nQuestion:", 1)[0].strip().split("\n\n", 1)[0].strip()
        if not text:
            raise UnexpectedModelOutput(
                f"{self.model.describe()} wrote an empty explanation for item {item.id} "
                f"(persona {self.persona.name!r}); raise max_tokens or use another model",
                raw=reply,
                errors=["empty explanation"],
            )
        return [Explanation(text, aim="llm")]
