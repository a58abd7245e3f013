"""Theory of mind for LLM teachers (Saha, Hase & Bansal, 2023): the teacher's model
simulates the student few-shot, from the student's *real* past answers (and the
explanations they followed), and predicts P(correct) with and without an intervention.
The Expected Utility of explaining is the difference.

Two ways to get P̂(correct), chosen by ``method``:

- ``"likelihood"`` (the default, as in the paper): the prompt shows the student's past
  questions and answers and ends where the student's next answer begins
  (template ``simulate_answer``); P̂(correct) is the probability the teacher model gives
  the gold answer there, through ``ctx.score``. With ``options`` (the item's plausible
  answers, gold included) it is normalised over them:
  P̂ = exp(ℓ_gold) / Σ_o exp(ℓ_o); without, it is the sequence probability exp(ℓ_gold).
  Needs a client that scores (``TransformersClient``; served clients mostly do not).
- ``"stated"``: the model is asked for a probability and answers with a JSON number
  (template ``simulate_student``). Works with any client, but a stated number is not the
  model's simulation of the student; kept as an option for clients without scoring.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from personas.persona import STRUCTURED_MAX_TOKENS, positive_tokens
from personas.prompting import Observation, SimulateAnswerVars, SimulateVars, render_prompt
from protocols import ModelClient, ModelContext, ModelRequest, UserError

__all__ = ["FewShotMentalModel", "Method", "Prediction"]

Method = Literal["likelihood", "stated"]


class Prediction(BaseModel):
    """The simulated student's chance of answering correctly (the stated variant)."""

    model_config = ConfigDict(extra="forbid")
    correct_probability: float = Field(
        ge=0.0, le=1.0, description="P(the student answers correctly), 0 to 1."
    )


class FewShotMentalModel:
    """A few-shot simulation of one student by a model.

    Args:
        model: The teacher's model client.
        shots: How many of the most recent observations go into the prompt.
        method: ``"likelihood"`` (gold-answer likelihood via ``ctx.score``) or
            ``"stated"`` (a probability the model states); see the module docstring.
        max_tokens: The reply budget of each stated prediction call.
    """

    def __init__(
        self,
        model: ModelClient,
        *,
        shots: int = 8,
        method: Method = "likelihood",
        max_tokens: int = STRUCTURED_MAX_TOKENS,
    ) -> None:
        if shots < 1:
            raise UserError(f"shots must be >= 1, got {shots}")
        if method not in ("likelihood", "stated"):
            raise UserError(f"method must be 'likelihood' or 'stated', got {method!r}")
        self.max_tokens = positive_tokens(max_tokens)
        self.model = model
        self.shots = shots
        self.method: Method = method
        self.observations: list[Observation] = []

    def observe(
        self, question: str, answer: str, correct: bool, explanation: str | None = None
    ) -> None:
        """Record one real answer of the student (after ``explanation``, if one was given)."""
        self.observations.append(
            Observation(question=question, answer=answer, correct=correct, explanation=explanation)
        )

    def prompt(self, question: str, explanation: str | None = None) -> str:
        """The prompt of the current ``method``."""
        examples = self.observations[-self.shots :]
        if self.method == "likelihood":  # it ends exactly where the student's answer begins
            return render_prompt(
                "simulate_answer",
                SimulateAnswerVars(examples=examples, question=question, explanation=explanation),
            ).rstrip()
        return render_prompt(
            "simulate_student",
            SimulateVars(
                examples=examples, question=question, explanation=explanation, output=Prediction
            ),
        )

    async def predict(
        self,
        question: str,
        ctx: ModelContext,
        explanation: str | None = None,
        *,
        gold: str | None = None,
        options: Sequence[str] = (),
    ) -> float:
        """P̂(correct), without an intervention or after ``explanation``.

        Args:
            question: The item's question.
            ctx: The run context (the call is budgeted and recorded).
            explanation: The explanation the student would read first, if any.
            gold: The right answer (required by ``"likelihood"``).
            options: Plausible answers to normalise over (``"likelihood"``; gold is added).
        """
        prompt = self.prompt(question, explanation)
        if self.method == "stated":
            request = ModelRequest.of(prompt, max_tokens=self.max_tokens, schema_in_prompt=True)
            out = await ctx.complete(self.model, request, output=Prediction)
            return out.correct_probability
        if gold is None:
            raise UserError("the likelihood mental model needs the gold answer: pass gold=...")
        choices = [gold, *(o for o in dict.fromkeys(options) if o != gold)]
        scores = await ctx.score(self.model, prompt, [" " + c for c in choices])
        if len(scores) != len(choices) or not all(math.isfinite(s) for s in scores):
            raise UserError(
                f"{self.model.describe()} returned scores {scores!r} for {len(choices)} "
                "continuations; expected one finite log-probability each"
            )
        if len(choices) == 1:
            return min(1.0, math.exp(scores[0]))
        top = max(scores)
        weights = [math.exp(s - top) for s in scores]
        return weights[0] / sum(weights)

    async def utility(
        self,
        question: str,
        explanation: str,
        ctx: ModelContext,
        *,
        gold: str | None = None,
        options: Sequence[str] = (),
    ) -> float:
        """Û = P̂(correct | explanation) − P̂(correct | no explanation)."""
        after = await self.predict(question, ctx, explanation, gold=gold, options=options)
        return after - await self.predict(question, ctx, gold=gold, options=options)
