"""The LLM teacher's mental model (Saha, Hase & Bansal, 2023): the teacher model
simulates the student few-shot; P̂(correct) is the likelihood of the gold answer
(``ctx.score``), or, as an option, a probability the model states."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import pytest

from agents import AgentGraph, FunctionAgent, Runtime
from agents.models import FunctionModel, ModelRequest
from personas.minds.few_shot import FewShotMentalModel, Prediction
from protocols import Message, Question, Stop, UserError

REMEDY = "rewrite both over sixths"


def simulated_student(prompt: str, continuations: Sequence[str]) -> list[float]:
    """Log-probabilities as a model simulating this student might give them: it reads
    the prompt's content. The student adds across (its past answers show it) unless the
    last question comes with an explanation that shows the common denominator."""
    last = prompt.rsplit("Question:", 1)[1]
    taught = REMEDY in last
    adds_across = "Student's answer: 2/8" in prompt or "Student's answer: 3/10" in prompt
    table = {" 1/2": -0.3 if taught else -2.0, " 2/9": -2.5 if taught or not adds_across else -0.5}
    return [table.get(c, -6.0) for c in continuations]


def tom(model: FunctionModel, method: str = "likelihood") -> FewShotMentalModel:
    mind = FewShotMentalModel(model, shots=2, method=method)  # type: ignore[arg-type]
    mind.observe("1/4 + 1/4?", "2/8", correct=False)
    mind.observe("1/5 + 2/5?", "3/10", correct=False)
    mind.observe("1/2 + 1/4?", "3/4", correct=True, explanation="quarters are the common size")
    return mind


async def run(ask) -> str:  # type: ignore[no-untyped-def]
    async def agent(message: Message, ctx):  # type: ignore[no-untyped-def]
        return Stop(detail=await ask(ctx))

    result = await Runtime().run(
        AgentGraph().add(FunctionAgent("t", agent)), Question(to="t", text="?")
    )
    assert result.detail is not None
    return result.detail


async def test_the_likelihood_of_the_gold_answer_is_the_prediction() -> None:
    model = FunctionModel(lambda r: "never called", scorer=simulated_student)
    mind = tom(model)

    async def ask(ctx) -> str:  # type: ignore[no-untyped-def]
        u = await mind.utility("1/3 + 1/6?", REMEDY, ctx, gold="1/2", options=["2/9"])
        raw = await mind.predict("1/3 + 1/6?", ctx, gold="1/2")
        return f"{u:.4f} {raw:.4f}"

    utility, raw = (float(x) for x in (await run(ask)).split())
    # Normalised over {gold, 2/9}: after the remedy 1/(1 + e^-2.2), before 1/(1 + e^1.5).
    assert utility == pytest.approx(1 / (1 + math.exp(-2.2)) - 1 / (1 + math.exp(1.5)), abs=1e-4)
    assert raw == pytest.approx(math.exp(-2.0), abs=1e-4)  # the gold answer's own probability
    assert model.calls == []  # nothing was generated: the answers were scored
    (prompt, continuations) = model.scored[0]
    assert continuations == (" 1/2", " 2/9")
    assert prompt.endswith(
        "\nQuestion: 1/3 + 1/6?\nTeacher's explanation: rewrite both over sixths\nStudent's answer:"
    )
    assert "1/4 + 1/4?" not in prompt  # only the 2 most recent observations
    assert "Student's answer: 3/10\n" in prompt  # the student's own answers, unmarked
    assert "Teacher's explanation: quarters are the common size" in prompt
    assert REMEDY not in model.scored[1][0]


async def test_the_stated_probability_is_an_option() -> None:
    def simulate(request: ModelRequest) -> str:
        assert request.output_type is Prediction
        # Like a model, it reads the prompt's content (not its wording): is there a lesson?
        with_explanation = REMEDY in request.messages[-1].content
        return json.dumps({"correct_probability": 0.7 if with_explanation else 0.2})

    model = FunctionModel(simulate)
    mind = tom(model, "stated")

    async def ask(ctx) -> str:  # type: ignore[no-untyped-def]
        return f"{await mind.utility('1/3 + 1/6?', REMEDY, ctx):.2f}"

    assert await run(ask) == "0.50"
    with_explanation = model.calls[0].messages[-1].content
    assert "1/4 + 1/4?" not in with_explanation
    assert "Student's answer: 3/10 (wrong)" in with_explanation
    assert "Teacher's explanation: quarters are the common size" in with_explanation
    assert "Teacher's explanation: rewrite both over sixths" in with_explanation
    assert REMEDY not in model.calls[1].messages[-1].content


async def test_the_likelihood_variant_needs_the_gold_answer_and_a_scoring_client() -> None:
    async def no_gold(ctx) -> str:  # type: ignore[no-untyped-def]
        return str(
            await tom(FunctionModel(lambda r: "", scorer=simulated_student)).predict("q", ctx)
        )

    assert await run(no_gold) == (
        "agent 't' failed: UserError: the likelihood mental model needs the gold answer: "
        "pass gold=..."
    )

    async def no_scorer(ctx) -> str:  # type: ignore[no-untyped-def]
        return str(await tom(FunctionModel(lambda r: "")).predict("q", ctx, gold="1"))

    assert await run(no_scorer) == (
        "agent 't' failed: NotImplementedError: FunctionModel does not support logprob "
        "scoring; pass scorer=... to it"
    )
    with pytest.raises(UserError, match="method must be 'likelihood' or 'stated', got 'guess'"):
        FewShotMentalModel(FunctionModel(lambda r: ""), method="guess")  # type: ignore[arg-type]


@pytest.mark.slow
async def test_gemma_270m_tells_a_student_who_adds_across_from_one_who_does_not() -> None:
    from agents.models import TransformersClient

    from .tiny_models import gemma_folder

    client = TransformersClient(gemma_folder(), model="gemma3-270m")
    questions = ["1/4 + 1/4?", "1/5 + 2/5?", "1/2 + 1/3?", "2/7 + 1/7?"]
    histories = {
        "adds across": list(zip(questions, ["2/8", "3/10", "2/5", "3/14"], strict=True)),
        "adds right": list(zip(questions, ["1/2", "3/5", "5/6", "3/7"], strict=True)),
    }
    lesson = (
        "Sixths are the common size: 1/3 is 2/6, so 2/6 + 1/6 = 3/6 = 1/2. Only the numerators add."
    )
    found: dict[str, tuple[float, float]] = {}

    async def ask(ctx) -> str:  # type: ignore[no-untyped-def]
        for name, seen in histories.items():
            mind = FewShotMentalModel(client, shots=4)
            for question, answer in seen:
                mind.observe(question, answer, correct=name == "adds right")
            options = {"gold": "1/2", "options": ["2/9"]}
            before = await mind.predict("1/3 + 1/6?", ctx, **options)  # type: ignore[arg-type]
            after = await mind.predict("1/3 + 1/6?", ctx, lesson, **options)  # type: ignore[arg-type]
            found[name] = (before, after)
        return "done"

    assert await run(ask) == "done"
    await client.aclose()
    # Measured on CPU: adds across 0.267 → 0.959, adds right 0.745 → 0.991 (docs/simulation.md).
    assert found["adds across"][0] == pytest.approx(0.267, abs=0.02)
    assert found["adds across"][0] < found["adds right"][0] - 0.2
    across_gain = found["adds across"][1] - found["adds across"][0]
    assert across_gain > found["adds right"][1] - found["adds right"][0] + 0.2
