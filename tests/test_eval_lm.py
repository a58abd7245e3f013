"""LM students, the LM teacher's few-shot mind and the LLM teacher persona's explanations,
offline: the doubles read the prompt they are given, as a model would."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from agents.eval import Answer, Demo, EvalItem, Explanation
from agents.eval.llm_explainer import LLMExplanations
from agents.eval.lm import LMStudent, LMTeacherMind, eval_context, normalise_answer, parse_number
from agents.eval.lm_config import (
    FewShotMindConfig,
    LMModelSpec,
    LMStudentConfig,
    alternating_demos,
    build_client,
    build_mind,
    build_student,
)
from agents.models import CachedModel, FunctionModel, ModelRequest, ReplayModel
from personas import builtin_persona
from protocols import BudgetExceeded, ConfigError, UnexpectedModelOutput, UserError
from protocols.config import validate_yaml

FACTS = "Penguins are birds. Penguins cannot fly."
PENGUIN = EvalItem(
    id="strategyqa:p1",
    dataset="strategyqa",
    question="Can a penguin fly to the moon?",
    answer="no",
    options=("yes", "no"),
    explanation=FACTS,
)
OWL = EvalItem(
    id="strategyqa:o1",
    dataset="strategyqa",
    question="Do owls hunt at night?",
    answer="yes",
    options=("yes", "no"),
    explanation="Owls are nocturnal hunters.",
)
SUM = EvalItem(id="gsm8k:1", dataset="gsm8k", question="What is 1000 + 250?", answer="1250")


def reader(prompt: str, continuations: Sequence[str]) -> list[float]:
    """A student model that says yes unless the last question came with the facts that
    penguins cannot fly (it reads the text after the last ``Question:``)."""
    last = prompt.rsplit("Question:", 1)[1]
    taught = "cannot fly" in last
    table = {" yes": -0.4 if not taught else -2.0, " no": -1.2 if not taught else -0.2}
    return [table[c] for c in continuations]


def softmax_first(a: float, b: float) -> float:
    return math.exp(a) / (math.exp(a) + math.exp(b))


async def test_the_student_picks_the_likelier_option_and_reads_the_explanation() -> None:
    model = FunctionModel(lambda r: "unused", scorer=reader)
    student = LMStudent(model)
    assert student.kind == "lm"
    unexplained = await student.answer(PENGUIN)
    assert unexplained == Answer("yes", False, pytest.approx(softmax_first(-0.4, -1.2)))
    explained = await student.answer(PENGUIN, FACTS)
    assert explained == Answer("no", True, pytest.approx(softmax_first(-0.2, -2.0)))
    assert await student.p_correct(PENGUIN) == pytest.approx(softmax_first(-1.2, -0.4))
    assert await student.p_correct(PENGUIN, FACTS) == pytest.approx(softmax_first(-0.2, -2.0))
    assert model.scored[0] == (
        "Question: Can a penguin fly to the moon?\nAnswer:",
        (" yes", " no"),
    )
    # calls are pure: asking again gives the same answer
    assert await student.answer(PENGUIN) == unexplained


async def test_demos_and_context_become_demonstrations_before_the_question() -> None:
    model = FunctionModel(lambda r: "unused", scorer=reader)
    student = LMStudent(model, demos=[Demo(OWL, "")])
    answer = await student.answer(PENGUIN, context=[Demo(PENGUIN, FACTS)])
    # the facts sit in an earlier demonstration, not after the last question
    assert answer == Answer("yes", False, pytest.approx(softmax_first(-0.4, -1.2)))
    assert model.scored[-1][0] == (
        "Question: Do owls hunt at night?\nAnswer: yes\n\n"
        "Question: Can a penguin fly to the moon?\n"
        "Explanation: Penguins are birds. Penguins cannot fly.\nAnswer: no\n\n"
        "Question: Can a penguin fly to the moon?\nAnswer:"
    )


async def test_a_free_form_answer_is_the_first_number_generated() -> None:
    # a base model runs on past the answer's line: only the first line counts
    replies = ReplayModel(
        [
            "1,250 apples.\nQuestion: What is 2 + 2?\nAnswer: 4",
            "about twelve hundred\nQuestion: What is 2 + 2?\nAnswer: 4",
            "1250.0",
        ]
    )
    student = LMStudent(replies, max_tokens=8)
    assert await student.answer(SUM) == Answer("1250", True, None)
    assert await student.answer(SUM, "Add the thousands first.") == Answer(
        "about twelve hundred", False, None
    )
    assert await student.answer(SUM) == Answer("1250", True, None)
    first = replies.calls[0]
    assert (first.max_tokens, first.temperature, first.stop) == (8, 0.0, ())
    assert first.messages[-1].content == "Question: What is 1000 + 250?\nAnswer:"
    assert (
        replies.calls[1]
        .messages[-1]
        .content.endswith("Explanation: Add the thousands first.\nAnswer:")
    )


async def test_free_form_p_correct_is_the_gold_sequence_probability() -> None:
    model = FunctionModel(lambda r: "", scorer=lambda p, c: [-0.5 if c == [" 1250"] else -9.0])
    assert await LMStudent(model).p_correct(SUM) == pytest.approx(math.exp(-0.5))


async def test_bad_scores_and_bad_arguments_are_clear_errors() -> None:
    nan = FunctionModel(lambda r: "", scorer=lambda p, c: [float("nan"), 0.0])
    with pytest.raises(UnexpectedModelOutput, match=r"returned scores \[nan, 0.0\] for the 2 "):
        await LMStudent(nan).answer(PENGUIN)
    short = FunctionModel(lambda r: "", scorer=lambda p, c: [0.0])
    with pytest.raises(UnexpectedModelOutput, match="options of item strategyqa:p1"):
        await LMStudent(short).p_correct(PENGUIN)
    with pytest.raises(UserError, match="item gsm8k:1 has no options to score; it is free-form"):
        await LMStudent(short).option_probabilities(SUM)
    with pytest.raises(UserError, match="max_tokens must be >= 1, got 0"):
        LMStudent(short, max_tokens=0)
    with pytest.raises(UserError, match="item gsm8k:1 is free-form"):
        await LMTeacherMind(short).predict(SUM)


def mind_model(prompt: str, continuations: Sequence[str]) -> list[float]:
    """A teacher model simulating the student: it expects a 'yes' sayer (from the answers
    it saw) to say yes, unless the last question comes with facts it saw change an answer."""
    last = prompt.rsplit("Question:", 1)[1]
    says_yes = prompt.count("Student's answer: yes") >= 2
    taught = "Teacher's explanation:" in last and "Teacher's explanation:" in prompt[: -len(last)]
    yes = -0.3 if says_yes and not taught else -1.5
    return [{" yes": yes, " no": -0.7}[c] for c in continuations]


async def test_the_teacher_mind_predicts_from_the_answers_it_saw() -> None:
    model = FunctionModel(lambda r: "", scorer=mind_model)
    mind = LMTeacherMind(model, shots=3)
    await mind.observe(OWL, Answer("yes", True, 0.7))
    await mind.observe(PENGUIN, Answer("yes", False, 0.6))
    assert await mind.predict(PENGUIN) == pytest.approx(softmax_first(-0.7, -0.3))
    await mind.observe(PENGUIN, Answer("no", True, 0.8), FACTS)
    before = await mind.predict(PENGUIN)
    after = await mind.predict(PENGUIN, FACTS)
    assert (before, after) == (
        pytest.approx(softmax_first(-0.7, -0.3)),
        pytest.approx(softmax_first(-0.7, -1.5)),
    )
    prompt, options = model.scored[-1]
    assert options == (" no", " yes")  # the gold option first, normalised over both
    assert prompt.endswith(
        "Question: Can a penguin fly to the moon?\n"
        "Teacher's explanation: Penguins are birds. Penguins cannot fly.\nStudent's answer:"
    )
    assert prompt.count("Student's answer: ") == 3


async def test_eval_context_budgets_its_calls() -> None:
    ctx = eval_context("unit", model_calls=1)
    model = FunctionModel(lambda r: "ok")
    assert (await ctx.complete(model, ModelRequest.of("hi"))).text == "ok"
    with pytest.raises(BudgetExceeded):
        await ctx.complete(model, ModelRequest.of("again"))


async def test_an_llm_teacher_persona_writes_the_explanation() -> None:
    teacher = builtin_persona("teacher")
    replies = ReplayModel([" Penguins are birds that cannot fly.\n\nQuestion: more", "   "])
    source = LLMExplanations(replies, teacher)
    assert await source.candidates(PENGUIN) == [
        Explanation("Penguins are birds that cannot fly.", aim="llm")
    ]
    prompt = replies.calls[0].messages[-1].content
    assert prompt.startswith(f"You are {teacher.name}, the {teacher.role}.\n")
    assert prompt.endswith(
        "Do not state the answer itself.\n\nQuestion: Can a penguin fly to the moon?\nExplanation:"
    )
    assert (
        LLMExplanations(replies, teacher, reveal_answer=True)
        .prompt(PENGUIN)
        .endswith(
            "Question: Can a penguin fly to the moon?\nAnswer (for you only): no\nExplanation:"
        )
    )
    with pytest.raises(UnexpectedModelOutput, match="wrote an empty explanation for item "):
        await source.candidates(PENGUIN)


def test_answers_are_normalised_before_they_are_compared() -> None:
    assert [normalise_answer(x) for x in (" Yes.", "1,250", "12.50", "3.0", "No!")] == [
        "yes",
        "1250",
        "12.5",
        "3",
        "no",
    ]
    assert [parse_number(x) for x in ("It is -3.", "x 1,000,000 y 2", "none")] == [
        "-3",
        "1000000",
        None,
    ]


def test_lm_config_reads_yaml_and_names_the_bad_field(tmp_path: Path) -> None:
    good = tmp_path / "students.yaml"
    good.write_text("kind: lm\nmodel: {path: gemma3-270m, cache: calls.sqlite}\ndemos: 2\n")
    config = validate_yaml(good, LMStudentConfig)
    assert config == LMStudentConfig(
        model=LMModelSpec(path="gemma3-270m", cache="calls.sqlite"), demos=2
    )
    assert config.model.folder().name == "gemma3-270m-hf"
    assert FewShotMindConfig().model_dump() == {"kind": "few_shot", "model": None, "shots": 2}
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: lm\nmodel:\n  path: gemma3-270m\n  batch: 8\n")
    with pytest.raises(ConfigError) as caught:
        validate_yaml(bad, LMStudentConfig)
    assert (caught.value.line, caught.value.field) == (4, "model.batch")


async def test_a_built_client_scores_through_its_cache(tmp_path: Path) -> None:
    from .tiny_models import build_tiny_llama

    folder = build_tiny_llama(tmp_path / "tiny")
    spec = LMModelSpec(path=str(folder), cache="calls.sqlite")
    model = build_client(spec, tmp_path)
    student = build_student(LMStudentConfig(model=spec, demos=1), model, [Demo(OWL, "")])
    mind = build_mind(FewShotMindConfig(), model)
    first = await student.judge(PENGUIN, FACTS)
    again = await student.judge(PENGUIN, FACTS)
    p_hat = await mind.predict(PENGUIN)
    assert again == first and 0.0 < first[1] < 1.0 and 0.0 < p_hat < 1.0
    assert isinstance(model, CachedModel) and (model.hits, model.misses) == (1, 2)
    assert student.demos == (Demo(OWL, ""),)
    await model.aclose()


def test_alternating_demos_take_turns_over_the_answers() -> None:
    items = [OWL, replace(OWL, id="o2"), PENGUIN, replace(PENGUIN, id="p2")]
    assert [d.item.id for d in alternating_demos(items, 3)] == [
        "strategyqa:o1",
        "strategyqa:p1",
        "o2",
    ]
    assert alternating_demos([], 2) == []


def test_the_gemma_sweep_config_is_a_valid_lm_sweep() -> None:
    from agents.eval import ToMConfig

    root = Path(__file__).resolve().parents[1]
    config = ToMConfig.from_yaml(root / "examples/sweeps/strategyqa_gemma.yaml")
    assert (config.dataset.name, config.dataset.limit, config.seeds) == ("strategyqa", 200, 2)
    assert (config.students.kind, config.explanations.source) == ("lm", "gold")
    assert LMModelSpec(**config.students.model) == LMModelSpec(
        path="gemma3-270m", cache="gemma-calls.sqlite"
    )
    assert (config.mental_model.kind, config.mental_model.model, config.mental_model.shots) == (
        "few_shot",
        None,
        2,
    )
    assert config.strategies == ("random", "least_confidence", "expected_utility", "oracle")


def test_a_tom_sweep_of_lm_students_runs_and_resumes(tmp_path: Path) -> None:
    import os

    from agents.eval import ToMConfig, ToMTask, run_sweep

    from .conftest import require
    from .tiny_models import build_byte_model

    data = os.environ.get("LYCEUM_DATA_DIR", "")
    require(bool(data) and Path(data, "strategyqa").is_dir(), "LYCEUM_DATA_DIR has no strategyqa")
    folder = build_byte_model(tmp_path / "byte")
    config = ToMConfig.model_validate(
        {
            "dataset": {"name": "strategyqa", "limit": 6},
            "students": {"kind": "lm", "model": {"path": str(folder), "cache": "calls.sqlite"}},
            "explanations": {"source": "gold", "misaligned": "lowest_utility"},
            "mental_model": {"kind": "few_shot", "shots": 2},
            "strategies": ["random", "least_confidence", "expected_utility", "oracle"],
            "budgets": [0.0, 0.5, 1.0],
            "seeds": 1,
            "diagnostic": 2,
            "multi_turn": False,
        }
    )
    store = f"sqlite:///{tmp_path / 'tom.db'}"
    first = run_sweep(ToMTask(config, base_dir=tmp_path), store=store, progress=False)
    task = ToMTask(config, base_dir=tmp_path)
    again = run_sweep(task, store=store, progress=False)
    assert task.student_kind == "lm" and first.ran > 0
    assert (again.reused, again.ran) == (first.ran, 0) and again.payloads == first.payloads
    points = task.curves(again.payloads)
    assert {(p.strategy, p.budget) for p in points} >= {("oracle", 1.0), ("random", 0.5)}
    assert all(0.0 <= p.mean <= 1.0 for p in points)
