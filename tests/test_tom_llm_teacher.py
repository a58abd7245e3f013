"""The LLM teacher persona as a ToM sweep's explanation source, over a real loopback
OpenAI-compatible server: the teacher's prompt carries the item, and what the simulated
students make of the reply follows from its text alone."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from agents.eval.kg_explainers import KGExplanations
from agents.eval.llm_explainer import LLMTeacherSpec
from agents.eval.tom import ToMTask
from agents.eval.tom_config import (
    ExplanationSpec,
    MentalModelSpec,
    StudentsSpec,
    ToMConfig,
)
from agents.eval.tom_world import load_items
from agents.models.fake_server import FakeOpenAIServer, Scripted
from protocols import ConfigError
from tests.test_tom import sweep

pytestmark = pytest.mark.allow_model_requests


def _config(base_url: str) -> ToMConfig:
    return ToMConfig(
        students=StudentsSpec(cohort=3),
        mental_model=MentalModelSpec(population=20),
        explanations=ExplanationSpec(
            source="llm", llm=LLMTeacherSpec(base_url=base_url, model="fake")
        ),
        strategies=("random", "expected_utility"),
        budgets=(0.0, 1.0),
        seeds=1,
        multi_turn=False,
    )


def _signals(reply: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The signal payloads of a one-seed sweep whose teacher model answers ``reply(prompt)``,
    and the prompts it received."""
    prompts: list[str] = []

    def answer(body: dict[str, Any]) -> Scripted:
        prompt = body["messages"][-1]["content"]
        prompts.append(prompt)
        return Scripted(text=reply(prompt))

    with FakeOpenAIServer(default=answer) as server:
        results = sweep(ToMTask(_config(server.base_url)))
    return [p for k, p in sorted(results.items()) if k.kind == "signal"], prompts


def test_the_llm_teacher_is_asked_about_each_item_and_students_read_its_text() -> None:
    data = load_items(_config("http://127.0.0.1:9/v1"), None)
    generic = KGExplanations(data.kg, "generic")
    texts = {
        i.question: asyncio.run(generic.candidates(i))[0].text for i in data.items
    }

    def good(prompt: str) -> str:  # explains the skill the item in the prompt needs
        return next(text for question, text in texts.items() if question in prompt)

    taught, prompts = _signals(good)
    assert {q for q in texts if any(q in p for p in prompts)} == set(texts)
    assert all(p["aim"] == "llm" and p["text"] in texts.values() for p in taught)
    junk, _ = _signals(lambda prompt: "Remember to sleep well and drink water.")
    assert all(p["text"] == "Remember to sleep well and drink water." for p in junk)
    # Same students, same draws: only what the text says differs.
    assert [p["correct"] for p in taught] == [p["correct"] for p in junk]
    gain = sum(p["utility"] for p in taught) / len(taught)
    assert gain > 0.1
    assert max(abs(p["utility"]) for p in junk) == pytest.approx(0.0, abs=1e-9)


def test_an_llm_source_without_its_model_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text("explanations:\n  source: llm\n")
    problem = r"sweep\.yaml:1: field 'explanations'.*source llm needs llm"
    with pytest.raises(ConfigError, match=problem):
        ToMTask.from_config(path)
    path.write_text("explanations:\n  source: llm\n  llm: {model: x}\n")
    with pytest.raises(ConfigError, match="exactly one of base_url"):
        ToMTask.from_config(path)
