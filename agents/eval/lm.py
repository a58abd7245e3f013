"""Language-model students and the LM teacher's mind, for the ToM workbench.

- ``LMStudent`` answers an item through any model client that scores
  (``TransformersClient``, ``CachedModel`` around one, ``FunctionModel(scorer=...)``).
  With options (StrategyQA's yes/no, ECQA's five choices) it scores each option after
  the prompt (template ``answer_item``) and picks the likeliest: its confidence is the
  normalised probability of its choice, ``p_correct`` that of the gold option. Without
  options (GSM8K) it generates greedily and the first number of the reply is its answer;
  ``p_correct`` is then the sequence probability of the gold answer. Demonstrations
  (its own, then the explained items given as ``context``) go before the question.
- ``LMTeacherMind`` is ``personas.minds.FewShotMentalModel(method="likelihood")`` of a
  model: it simulates the student few-shot from the answers it saw, and P̂(correct) is
  the normalised likelihood of the gold option after the prompt.

Every call goes through a ``RunContext`` (budgeted, like any other model call);
``eval_context`` makes one for a unit of a sweep, outside any graph run.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from agents.agent import RunContext
from agents.budget import Budget, BudgetTracker
from agents.eval.base import Answer, Demo, EvalItem, StudentKind
from agents.gateway import ModelGateway
from agents.models.base import ModelClient, ModelRequest
from personas.minds.few_shot import FewShotMentalModel
from personas.prompting import AnswerDemo, AnswerItemVars, render_prompt
from protocols import UnexpectedModelOutput, UserError

__all__ = ["LMStudent", "LMTeacherMind", "eval_context", "normalise_answer", "parse_number"]

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def eval_context(name: str, *, model_calls: int = 10_000, seed: int = 0) -> RunContext:
    """A ``RunContext`` of its own for one evaluation unit: its model calls are counted
    against ``model_calls`` and go through the same gateway as a run's, unrecorded (the
    sweep persists the unit's result instead)."""
    import random

    run_id = uuid.uuid5(uuid.NAMESPACE_URL, f"lyceum-eval/{name}/{seed}").hex
    gateway = ModelGateway(
        run_id=run_id,
        tracker=BudgetTracker(Budget(turns=1, model_calls=model_calls, seconds=86_400.0)),
        record=None,
        emit=lambda event: None,
        clock=lambda: datetime.now(UTC),
    )
    return RunContext(run_id=run_id, agent=name, rng=random.Random(seed), gateway=gateway)


def normalise_answer(text: str) -> str:
    """Lower case, outer whitespace and final punctuation removed; numbers lose their
    thousands commas and a trailing ``.0`` (``"1,000.0"`` -> ``"1000"``)."""
    out = text.strip().strip(".!?").strip().lower()
    if _NUMBER.fullmatch(out):
        out = out.replace(",", "")
        if "." in out:
            out = out.rstrip("0").rstrip(".")
    return out


def parse_number(text: str) -> str | None:
    """The first number in ``text``, normalised (``None`` when there is none)."""
    found = _NUMBER.search(text)
    return normalise_answer(found.group()) if found else None


def _softmax(scores: Sequence[float]) -> list[float]:
    top = max(scores)
    weights = [math.exp(s - top) for s in scores]
    total = sum(weights)
    return [w / total for w in weights]


class LMStudent:
    """A student that is a language model (one per seed; calls are pure).

    Args:
        model: A client that scores (``score(prompt, continuations)``) for items with
            options, and completes, for free-form items.
        demos: Its own few-shot demonstrations (its initial state), before any ``context``.
        max_tokens: The reply budget of a free-form answer.
        name: The agent name its calls are made under.
    """

    kind: StudentKind = "lm"

    def __init__(
        self,
        model: ModelClient,
        *,
        demos: Sequence[Demo] = (),
        max_tokens: int = 24,
        name: str = "lm-student",
    ) -> None:
        if max_tokens < 1:
            raise UserError(f"max_tokens must be >= 1, got {max_tokens}")
        self.model = model
        self.demos = tuple(demos)
        self.max_tokens = max_tokens
        self.name = name

    def prompt(
        self, item: EvalItem, explanation: str | None = None, *, context: Sequence[Demo] = ()
    ) -> str:
        """The prompt, ending where the answer begins (template ``answer_item``)."""
        demos = [
            AnswerDemo(
                question=d.item.question, explanation=d.explanation or None, answer=d.item.answer
            )
            for d in (*self.demos, *context)
        ]
        return render_prompt(
            "answer_item",
            AnswerItemVars(demos=demos, question=item.question, explanation=explanation or None),
        ).rstrip()

    async def option_probabilities(
        self, item: EvalItem, explanation: str | None = None, *, context: Sequence[Demo] = ()
    ) -> list[float]:
        """The normalised probability of each of ``item.options``, in order."""
        if not item.options:
            raise UserError(f"item {item.id} has no options to score; it is free-form")
        ctx = eval_context(self.name)
        prompt = self.prompt(item, explanation, context=context)
        scores = await ctx.score(self.model, prompt, [" " + o for o in item.options])
        if len(scores) != len(item.options) or not all(math.isfinite(s) for s in scores):
            raise UnexpectedModelOutput(
                f"{self.model.describe()} returned scores {scores!r} for the "
                f"{len(item.options)} options of item {item.id}; expected one finite "
                "log-probability each",
                raw=repr(scores),
                errors=["bad scores"],
            )
        return _softmax(scores)

    async def answer(
        self, item: EvalItem, explanation: str | None = None, *, context: Sequence[Demo] = ()
    ) -> Answer:
        """The likeliest option (ties: the first listed), or a generated number."""
        if item.options:
            return (await self.judge(item, explanation, context=context))[0]
        gold = normalise_answer(item.answer)
        ctx = eval_context(self.name)
        request = ModelRequest.of(
            self.prompt(item, explanation, context=context),
            max_tokens=self.max_tokens,
            temperature=0.0,
        )  # no ``stop``: `transformers serve` fails with HTTP 500 on stop strings for some
        # tokenizers; the answer is the reply's first line, cut here instead
        reply = (await ctx.complete(self.model, request)).text.strip().split("\n", 1)[0]
        number = parse_number(reply)
        text = number if number is not None else reply.strip()
        return Answer(text, number is not None and number == gold)

    async def judge(
        self, item: EvalItem, explanation: str | None = None, *, context: Sequence[Demo] = ()
    ) -> tuple[Answer, float]:
        """``answer`` and ``p_correct`` of an item with options, from one scoring call."""
        probs = await self.option_probabilities(item, explanation, context=context)
        gold = normalise_answer(item.answer)
        best = max(range(len(probs)), key=lambda i: (probs[i], -i))
        choice = item.options[best]
        p_gold = sum(
            p for o, p in zip(item.options, probs, strict=True) if normalise_answer(o) == gold
        )
        return Answer(choice, normalise_answer(choice) == gold, probs[best]), p_gold

    async def p_correct(
        self, item: EvalItem, explanation: str | None = None, *, context: Sequence[Demo] = ()
    ) -> float:
        """The normalised probability of the gold option (free-form: of the gold text)."""
        if item.options:
            return (await self.judge(item, explanation, context=context))[1]
        ctx = eval_context(self.name)
        prompt = self.prompt(item, explanation, context=context)
        (score,) = await ctx.score(self.model, prompt, [" " + item.answer])
        return min(1.0, math.exp(score))


class LMTeacherMind:
    """The teacher's model of one student: a few-shot simulation of it by a model.

    It keeps the student's answers it saw (``observe``) and predicts P̂(correct) as the
    normalised likelihood of the gold option after them (``FewShotMentalModel``,
    ``method="likelihood"``). One per student (per seed).

    Args:
        model: The teacher's model client (it must score); the student's own model makes
            the mental model "the same LM".
        shots: How many of the latest observations the prompt shows.
        name: The agent name its calls are made under.
    """

    def __init__(self, model: ModelClient, *, shots: int = 4, name: str = "lm-teacher") -> None:
        self.mind = FewShotMentalModel(model, shots=shots, method="likelihood")
        self.name = name

    async def observe(self, item: EvalItem, answer: Answer, explanation: str | None = None) -> None:
        """Record the student's ``answer`` to ``item`` (given after ``explanation``)."""
        self.mind.observe(item.question, answer.text, answer.correct, explanation)

    async def predict(self, item: EvalItem, explanation: str | None = None) -> float:
        """P̂(the student answers ``item`` correctly), with or without ``explanation``."""
        if not item.options:
            raise UserError(
                f"LMTeacherMind scores the gold option among the item's options; item "
                f"{item.id} is free-form (give it options, or use a stated mental model)"
            )
        ctx = eval_context(self.name)
        return await self.mind.predict(
            item.question, ctx, explanation, gold=item.answer, options=item.options
        )
