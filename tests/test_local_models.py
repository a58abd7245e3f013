"""TransformersClient with a tiny model built here (random weights, tokenizer trained on the
fly, nothing downloaded), and a smoke test with the real Gemma 3 270M GGUF when installed."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from agents import AgentGraph, FunctionAgent, RunContext, Runtime
from agents.models import ModelRequest, TransformersClient
from agents.models.local import render_prompt
from protocols import Envelope, Message, Question, Stop

from .tiny_models import CORPUS, build_tiny_llama, gemma_folder

torch = pytest.importorskip("torch", reason="pip install 'lyceum[local]'")
transformers = pytest.importorskip("transformers", reason="pip install 'lyceum[local]'")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


async def test_completion_is_greedy_deterministic_and_counts_tokens(tiny_model: Path) -> None:
    client = TransformersClient(tiny_model, device="auto", model="tiny")
    request = ModelRequest.of("the student adds", max_tokens=5)
    first = await client.complete(request)
    second = await client.complete(request)
    assert first.text == second.text
    assert first.model == "tiny" and client.device == "cpu"
    assert first.usage.prompt_tokens == 3
    assert 1 <= first.usage.completion_tokens <= 5
    assert set(first.text.split()) <= set(" ".join(CORPUS).split())
    await client.aclose()


async def test_concurrent_requests_are_batched_with_the_same_results(tiny_model: Path) -> None:
    prompts = ["the teacher", "one half plus one quarter is", "solve", "the student adds the"]
    alone = TransformersClient(tiny_model, max_batch_size=1)
    expected = [(await alone.complete(ModelRequest.of(p, max_tokens=4))).text for p in prompts]
    batched = TransformersClient(tiny_model, max_batch_size=8, batch_window_ms=200)
    got = await asyncio.gather(
        *(batched.complete(ModelRequest.of(p, max_tokens=4)) for p in prompts)
    )
    assert batched.batch_sizes == [4]
    assert [r.text for r in got] == expected  # left padding does not change greedy output
    assert [r.usage.prompt_tokens for r in got] == [2, 6, 1, 4]
    await alone.aclose()
    await batched.aclose()


async def test_scoring_matches_a_direct_forward_pass(tiny_model: Path) -> None:
    client = TransformersClient(tiny_model)
    prompt, options = "one half plus", [" one quarter", " the teacher explains"]
    scores = await client.score(prompt, options)
    tok = transformers.AutoTokenizer.from_pretrained(tiny_model)
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_model)
    for option, score in zip(options, scores, strict=True):
        prefix = tok(prompt)["input_ids"]
        ids = prefix + tok(option, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([ids])).logits[0], dim=-1)
        manual = sum(float(logp[i - 1, ids[i]]) for i in range(len(prefix), len(ids)))
        assert score == pytest.approx(manual, abs=1e-4)
    assert all(s < 0 for s in scores)
    await client.aclose()


SCORE_JOBS = [
    ("one half plus", [" one quarter", " the teacher explains"]),
    ("the", [" student adds the fractions"]),
    ("solve for x by undoing each step the teacher", [" explains", " quarter", " x"]),
    ("the student", [" adds"]),
]


async def concurrent_scores_match_solo_ones(path: Path) -> list[list[float]]:
    """Scores of concurrent calls (one padded forward pass) and of the same calls one by one
    agree within 1e-4; returns the batched scores."""
    solo = TransformersClient(path, max_score_batch=1)
    expected = [await solo.score(p, c) for p, c in SCORE_JOBS]
    batched = TransformersClient(path, max_score_batch=16, batch_window_ms=200)
    got = await asyncio.gather(*(batched.score(p, c) for p, c in SCORE_JOBS))
    assert solo.score_batch_sizes == [1] * len(SCORE_JOBS)
    assert batched.score_batch_sizes == [len(SCORE_JOBS)]
    for want, have in zip(expected, got, strict=True):
        assert have == pytest.approx(want, abs=1e-4)
    await solo.aclose()
    await batched.aclose()
    return got


async def test_concurrent_scores_share_one_forward_pass(tiny_model: Path) -> None:
    got = await concurrent_scores_match_solo_ones(tiny_model)
    assert [len(g) for g in got] == [2, 1, 3, 1] and all(s < 0 for g in got for s in g)


async def test_scoring_through_the_runtime_is_a_recorded_model_call(
    tiny_model: Path, tmp_path: Path
) -> None:
    client = TransformersClient(tiny_model)

    async def judge(message: Message, ctx: RunContext) -> Envelope:
        a, b = await ctx.score(client, "the teacher", [" explains", " quarter"])
        return Stop(detail="explains" if a > b else "quarter")

    runtime = Runtime(f"sqlite:///{tmp_path / 'r.db'}")
    result = await runtime.run(
        AgentGraph().add(FunctionAgent("j", judge)), Question(to="j", text="?")
    )
    assert runtime.store is not None
    (call,) = runtime.store.model_calls(result.run_id)
    assert call.request["op"] == "score" and len(call.response["scores"]) == 2  # type: ignore[index]
    await client.aclose()


def test_chat_template_is_used_when_present(tiny_model: Path) -> None:
    tok = transformers.AutoTokenizer.from_pretrained(tiny_model)
    request = ModelRequest.of("solve for x", system="be brief")
    assert render_prompt(request, tok) == "System: be brief\n\nUser: solve for x\n\nAssistant:"
    assert render_prompt(ModelRequest.of("the student"), tok) == "the student"
    tok.chat_template = (
        "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    assert render_prompt(request, tok) == "<system>be brief<user>solve for x<assistant>"


def test_a_missing_dependency_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tiny_model: Path
) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ImportError, match=r"pip install 'lyceum\[local\]'"):
        TransformersClient(tiny_model).load()


def test_a_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="does not exist; TransformersClient loads local folders"):
        TransformersClient(tmp_path / "nope").load()


@pytest.mark.slow
async def test_gemma_270m_scores_a_plausible_continuation_higher() -> None:
    converted = gemma_folder()
    client = TransformersClient(converted, model="gemma3-270m")
    paris, banana = await client.score("The capital of France is", [" Paris", " banana"])
    assert paris > banana + 2.0
    await client.aclose()
    await concurrent_scores_match_solo_ones(converted)


async def test_one_token_options_of_a_prompt_share_one_row(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents.models import local_ops

    rows: list[int] = []
    real = local_ops._score_rows

    def counting(lm, batch, keep, reads):  # type: ignore[no-untyped-def]
        rows.append(len(batch))
        return real(lm, batch, keep, reads)

    monkeypatch.setattr(local_ops, "_score_rows", counting)
    client = TransformersClient(tiny_model)
    shared = await client.score("the teacher", [" explains", " quarter"])
    assert rows == [1]  # the prompt alone; both options read off its last position
    apart = await client.score("the teacher", [" explains the", " quarter"])
    assert rows == [1, 2]  # a two-token option needs its own row
    assert apart[1] == pytest.approx(shared[1], abs=1e-4)
    await client.aclose()
