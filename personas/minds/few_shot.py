"""Theory of mind for LLM teachers (Saha, Hase & Bansal, 2023): the teacher's model
simulates the student few-shot, from the student's *real* past answers (and the
explanations they followed), and predicts P(correct) with and without an intervention.
The Expected Utility of explaining is the difference."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from personas.persona import STRUCTURED_MAX_TOKENS, positive_tokens
from personas.prompting import Observation, SimulateVars, render_prompt
from protocols import ModelClient, ModelContext, ModelRequest, UserError

__all__ = ["FewShotMentalModel", "Prediction"]


class Prediction(BaseModel):
    """The simulated student's chance of answering correctly."""

    model_config = ConfigDict(extra="forbid")
    correct_probability: float = Field(
        ge=0.0, le=1.0, description="P(the student answers correctly), 0 to 1."
    )


class FewShotMentalModel:
    """A few-shot simulation of one student by a model.

    Args:
        model: The teacher's model client.
        shots: How many of the most recent observations go into the prompt.
        max_tokens: The reply budget of each prediction call.
    """

    def __init__(
        self, model: ModelClient, *, shots: int = 8, max_tokens: int = STRUCTURED_MAX_TOKENS
    ) -> None:
        if shots < 1:
            raise UserError(f"shots must be >= 1, got {shots}")
        self.max_tokens = positive_tokens(max_tokens)
        self.model = model
        self.shots = shots
        self.observations: list[Observation] = []

    def observe(
        self, question: str, answer: str, correct: bool, explanation: str | None = None
    ) -> None:
        """Record one real answer of the student (after ``explanation``, if one was given)."""
        self.observations.append(
            Observation(question=question, answer=answer, correct=correct, explanation=explanation)
        )

    def prompt(self, question: str, explanation: str | None = None) -> str:
        return render_prompt(
            "simulate_student",
            SimulateVars(
                examples=self.observations[-self.shots :],
                question=question,
                explanation=explanation,
                output=Prediction,
            ),
        )

    async def predict(
        self, question: str, ctx: ModelContext, explanation: str | None = None
    ) -> float:
        """P̂(correct), without an intervention or after ``explanation``."""
        request = ModelRequest.of(
            self.prompt(question, explanation),
            max_tokens=self.max_tokens,
            schema_in_prompt=True,
        )
        out = await ctx.complete(self.model, request, output=Prediction)
        return out.correct_probability

    async def utility(self, question: str, explanation: str, ctx: ModelContext) -> float:
        """Û = P̂(correct | explanation) − P̂(correct | no explanation)."""
        return await self.predict(question, ctx, explanation) - await self.predict(question, ctx)
