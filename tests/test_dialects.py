"""Structured-output dialects, discovery, lenient parsing, changed re-asks and honest token
accounting, against the loopback ``FakeOpenAIServer`` in each server's mode."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import BaseModel, ValidationError

from agents import AgentGraph, Budget, FunctionAgent, RunContext, Runtime, SqlRunStore
from agents.cli import main
from agents.meta.experts import Expert, ExpertRegistry
from agents.models import ModelRequest, OpenAIChatClient
from agents.models.dialects import schema_instruction
from agents.models.fake_server import LLAMACPP_JSON_SCHEMA_ERROR, FakeOpenAIServer, Scripted
from agents.models.structured import parse_structured
from protocols import (
    Envelope,
    Message,
    ModelCallFinished,
    ModelHTTPError,
    Question,
    Stop,
    UserError,
)

pytestmark = pytest.mark.allow_model_requests


class Verdict(BaseModel):
    correct: bool
    reason: str


GOOD = '{"correct": true, "reason": "2+2=4"}'
SCHEMA = Verdict.model_json_schema()


def client_for(server: FakeOpenAIServer, **kw: Any) -> OpenAIChatClient:
    options: dict[str, Any] = {"backoff": 0.01, "max_backoff": 0.05, "timeout": 5.0, "seed": 1}
    return OpenAIChatClient(server.base_url, "fake-model", **{**options, **kw})


def graph(client: OpenAIChatClient, calls: int = 1, **request: Any) -> AgentGraph:
    """One agent that makes ``calls`` structured calls, then stops."""

    async def ask(message: Message, ctx: RunContext) -> Envelope:
        out = []
        for _ in range(calls):
            req = ModelRequest.of("What is 2+2?", system="Be brief.", **request)
            verdict = await ctx.complete(client, req, output=Verdict, max_retries=2)
            out.append(verdict.reason)
        return Stop(detail=",".join(out))

    return AgentGraph().add(FunctionAgent("asker", ask))


def streaming_graph(client: OpenAIChatClient, times: int, **request: Any) -> AgentGraph:
    """One agent that streams ``times`` replies, then stops."""

    async def talk(message: Message, ctx: RunContext) -> Envelope:
        texts = []
        for _ in range(times):
            req = ModelRequest.of("Tell me about fractions.", **request)
            texts.append("".join([p async for p in ctx.stream(client, req)]))
        return Stop(detail="|".join(texts))

    return AgentGraph().add(FunctionAgent("talker", talk))


async def run(tmp_path: Path, g: AgentGraph, client: OpenAIChatClient, **budget: Any):  # type: ignore[no-untyped-def]
    store = SqlRunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    first = "talker" if "talker" in g.to_mermaid() else "asker"
    try:
        result = await Runtime(store).run(
            g, Question(to=first, text="go"), budget=Budget(seconds=30, **budget)
        )
    finally:
        await client.aclose()
    return result, store.model_calls(result.run_id), store


def formats(server: FakeOpenAIServer) -> list[str | None]:
    return [(r.body.get("response_format") or {}).get("type") for r in server.requests]


# -- what each dialect sends ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("dialect", "response_format"),
    [
        (
            "json_schema",
            {"type": "json_schema", "json_schema": {"name": "Verdict", "schema": SCHEMA}},
        ),
        ("json_object", {"type": "json_object", "schema": SCHEMA}),
        ("prompt", None),
    ],
)
async def test_each_dialect_sends_the_schema_its_own_way(
    tmp_path: Path, dialect: str, response_format: dict[str, Any] | None
) -> None:
    with FakeOpenAIServer(lambda body: Scripted(text=GOOD)) as server:
        client = client_for(server, dialect=dialect)
        result, calls, _ = await run(tmp_path, graph(client), client)
    assert result.detail == "2+2=4"
    (request,) = server.requests
    body = request.body
    assert body.get("response_format") == response_format
    system = "Be brief."
    if dialect == "prompt":
        system += "\n\n" + schema_instruction(SCHEMA)
        assert json.dumps(SCHEMA) in system
    assert body["messages"] == [
        {"role": "system", "content": system},
        {"role": "user", "content": "What is 2+2?"},
    ]
    assert [c.request["structured_attempt"] for c in calls] == [1]


async def test_the_prompt_dialect_does_not_repeat_a_schema_the_prompt_states(
    tmp_path: Path,
) -> None:
    with FakeOpenAIServer(lambda body: Scripted(text=GOOD)) as server:
        client = client_for(server, dialect="prompt")
        result, _, _ = await run(tmp_path, graph(client, schema_in_prompt=True), client)
    assert result.detail == "2+2=4"
    (request,) = server.requests
    system = request.body["messages"][0]["content"]
    assert system == "Be brief.\n\n" + schema_instruction(SCHEMA, in_prompt=True)
    assert "given in the prompt" in system
    assert json.dumps(SCHEMA) not in system and '"properties"' not in system


def test_an_unknown_dialect_is_refused_with_the_choices() -> None:
    with pytest.raises(UserError, match="dialect must be one of 'auto', 'json_schema'"):
        OpenAIChatClient("http://localhost:8000/v1", "m", dialect="grammar")  # type: ignore[arg-type]


# -- discovery ------------------------------------------------------------------------------------
async def test_auto_falls_back_once_on_llamacpp_and_remembers(tmp_path: Path) -> None:
    with FakeOpenAIServer(lambda body: Scripted(text=GOOD), mode="llamacpp") as server:
        client = client_for(server)
        result, calls, _ = await run(tmp_path, graph(client, calls=2), client)
    assert result.detail == "2+2=4,2+2=4"
    # one refused json_schema, then json_object for the rest of this client's life
    assert formats(server) == ["json_schema", "json_object", "json_object"]
    assert server.requests[1].enforced_schema == SCHEMA
    assert client.dialect_in_use == "json_object"
    assert [(c.status, c.attempts) for c in calls] == [("ok", 2), ("ok", 1)]


@pytest.mark.parametrize(
    ("mode", "enforced"),
    [("openai", SCHEMA), ("vllm", SCHEMA), ("ollama", SCHEMA), ("transformers", None)],
)
async def test_auto_keeps_json_schema_where_the_server_accepts_it(
    tmp_path: Path, mode: Any, enforced: dict[str, Any] | None
) -> None:
    with FakeOpenAIServer(lambda body: Scripted(text=GOOD), mode=mode) as server:
        client = client_for(server)
        result, _, _ = await run(tmp_path, graph(client, calls=2), client)
    assert result.detail == "2+2=4,2+2=4"
    assert formats(server) == ["json_schema", "json_schema"]
    assert [r.enforced_schema for r in server.requests] == [enforced, enforced]
    assert client.dialect_in_use == "json_schema"


async def test_a_refused_response_format_is_not_retried_as_transient() -> None:
    """Regression: llama.cpp's HTTP 500 naming response_format was retried 4 times."""
    with FakeOpenAIServer(mode="llamacpp") as server:
        client = client_for(server, dialect="json_schema", max_retries=3)
        request = ModelRequest.of("2+2?", response_schema=SCHEMA)
        with pytest.raises(ModelHTTPError) as caught:
            await client.complete(request)
        await client.aclose()
    assert len(server.requests) == 1
    err = caught.value
    assert (err.status, err.attempts, err.body) == (500, 1, LLAMACPP_JSON_SCHEMA_ERROR)
    assert "refused structured output in the 'json_schema' dialect" in str(err)
    assert "dialect='auto'" in str(err)


async def test_a_plain_500_is_still_retried() -> None:
    with FakeOpenAIServer() as server:
        server.enqueue(Scripted(status=500), Scripted(text="four"))
        client = client_for(server)
        response = await client.complete(ModelRequest.of("2+2?", response_schema=SCHEMA))
        await client.aclose()
    assert (response.text, response.attempts, len(server.requests)) == ("four", 2, 2)


async def test_a_stream_falls_back_too() -> None:
    with FakeOpenAIServer(lambda body: Scripted(text="a b c"), mode="llamacpp") as server:
        client = client_for(server)
        pieces = [p async for p in client.stream(ModelRequest.of("x", response_schema=SCHEMA))]
        await client.aclose()
    assert formats(server) == ["json_schema", "json_object"]
    assert "".join(getattr(p, "text", "") for p in pieces[:-1]) == "a b c"
    assert getattr(pieces[-1], "attempts", None) == 2


def test_the_expert_yaml_dialect_reaches_the_client() -> None:
    expert = Expert.model_validate(
        {
            "name": "cpp",
            "skills": ["x"],
            "backend": {
                "kind": "openai",
                "base_url": "http://localhost:8080/v1",
                "model": "gemma",
                "dialect": "json_object",
            },
        }
    )
    client = ExpertRegistry([expert]).client("cpp")
    assert isinstance(client, OpenAIChatClient)
    assert (client.dialect, client.dialect_in_use) == ("json_object", "json_object")


# -- lenient parsing, strict validation -----------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        '{"correct": true, "reason": "two\nlines"}',  # a raw newline inside a string
        'Sure! Here it is:\n```json\n{"correct": true, "reason": "two\\nlines"}\n```',
        '{"correct": true, "reason": "two\\nlines"}\nI hope this helps.',  # trailing text
        'The answer: {"correct": true, "reason": "two\\nlines"} -- done',  # prose around it
    ],
    ids=["newline-in-string", "prose-then-fence", "trailing-text", "prose-around"],
)
def test_parsing_recovers_json_from_what_models_write(text: str) -> None:
    """Regression: each of these failed ``model_validate_json`` and was re-asked."""
    assert parse_structured(text, Verdict) == Verdict(correct=True, reason="two\nlines")


@pytest.mark.parametrize(
    "text",
    [
        "{" * 5_000,  # json-repair raises ValueError
        "[" * 5_000 + "]" * 5_000,  # json-repair recurses too deep
        '{"correct": true, "reason": "' + "x" * 30_000 + '"',  # too long to repair
    ],
    ids=["braces", "nesting", "long"],
)
def test_hostile_replies_are_validation_errors_not_crashes(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_structured(text, Verdict)


def test_a_repaired_object_is_still_validated_strictly() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_structured('Here: {"correct": "maybe", "reason": "hm"}', Verdict)
    assert [e["loc"] for e in caught.value.errors()] == [("correct",)]


async def test_a_repaired_but_invalid_reply_is_re_asked_with_a_new_seed_and_temperature(
    tmp_path: Path,
) -> None:
    """Regression: re-asks sent the same seed and temperature, so a greedy server
    answered the same text each time."""
    with FakeOpenAIServer() as server:
        server.enqueue(
            Scripted(text='Sure: {"correct": "maybe", "reason": "hm"}'),
            Scripted(text='{"correct": "maybe"}'),
            Scripted(text=GOOD),
        )
        client = client_for(server)
        result, calls, _ = await run(tmp_path, graph(client, seed=7), client)
    assert result.detail == "2+2=4"
    sent = [(r.body.get("seed"), r.body["temperature"]) for r in server.requests]
    assert sent == [(7, 0.0), (8, 0.3), (9, 0.5)]
    assert (
        "correct: Input should be a valid boolean"
        in server.requests[1].body["messages"][-1]["content"]
    )
    assert [c.request["structured_attempt"] for c in calls] == [1, 2, 3]


async def test_without_a_seed_re_asks_get_derived_distinct_seeds(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.enqueue(Scripted(text="no"), Scripted(text="still no"), Scripted(text=GOOD))
        client = client_for(server)
        await run(tmp_path, graph(client), client)
    seeds = [r.body.get("seed") for r in server.requests]
    assert seeds[0] is None and isinstance(seeds[1], int) and seeds[2] == seeds[1] + 1
    assert [r.body["temperature"] for r in server.requests] == [0.0, 0.3, 0.5]


# -- honest accounting ----------------------------------------------------------------------------
REPLY = "Fractions are parts of a whole, written as a numerator over a denominator."


async def test_a_stream_without_usage_is_estimated_and_marked(tmp_path: Path) -> None:
    """Regression: llama.cpp sends no usage in SSE, and the call was recorded as 0 + 0."""
    with FakeOpenAIServer(lambda body: Scripted(text=REPLY), mode="llamacpp") as server:
        client = client_for(server)
        result, calls, store = await run(tmp_path, streaming_graph(client, 1), client)
    assert server.requests[0].body["stream_options"] == {"include_usage": True}
    (call,) = calls
    prompt = math.ceil(len("Tell me about fractions.") / 4)
    assert (call.prompt_tokens, call.completion_tokens, call.usage_estimated) == (
        prompt,
        math.ceil(len(REPLY) / 4),
        True,
    )
    assert call.response is not None and call.response["usage"]["estimated"] is True
    (finished,) = [e for e in store.events(result.run_id) if isinstance(e, ModelCallFinished)]
    assert (finished.completion_tokens, finished.tokens_estimated) == (call.completion_tokens, True)
    shown = CliRunner().invoke(
        main, ["runs", "show", result.run_id, "--db", str(tmp_path / "runs.db")]
    )
    assert shown.exit_code == 0, shown.output
    assert "(1 of 1 calls estimated: the server sent no usage)" in shown.output


async def test_server_usage_is_not_marked_estimated(tmp_path: Path) -> None:
    with FakeOpenAIServer(lambda body: Scripted(text=REPLY), mode="vllm") as server:
        client = client_for(server)
        result, calls, store = await run(tmp_path, streaming_graph(client, 1), client)
    (call,) = calls
    assert (call.completion_tokens, call.usage_estimated) == (len(REPLY.split()), False)
    (finished,) = [e for e in store.events(result.run_id) if isinstance(e, ModelCallFinished)]
    assert finished.tokens_estimated is False


async def test_a_token_budget_stops_streams_without_usage(tmp_path: Path) -> None:
    """Regression: with no usage in the stream, Budget(tokens=50) was never enforced."""
    with FakeOpenAIServer(lambda body: Scripted(text=REPLY), mode="llamacpp") as server:
        client = client_for(server)
        result, calls, _ = await run(tmp_path, streaming_graph(client, 10), client, tokens=50)
    assert result.reason == "max_tokens"
    per_call = math.ceil(len("Tell me about fractions.") / 4) + math.ceil(len(REPLY) / 4)
    assert per_call == 25
    # two calls spend the 50 tokens exactly; the third is refused before it is sent
    assert [(c.status, c.prompt_tokens + c.completion_tokens) for c in calls] == [
        ("ok", 25),
        ("ok", 25),
    ]
    assert result.detail is not None and "tokens used 50 of 50" in result.detail
    # each call's max_tokens was capped to what was left of the budget
    assert [r.body["max_tokens"] for r in server.requests] == [50, 25]


async def test_a_stream_that_ignores_max_tokens_is_cut_at_the_budget(tmp_path: Path) -> None:
    long_reply = " ".join(["word"] * 200)  # 999 characters, ~250 estimated tokens
    with FakeOpenAIServer(lambda body: Scripted(text=long_reply), mode="llamacpp") as server:
        client = client_for(server)
        result, calls, _ = await run(tmp_path, streaming_graph(client, 1), client, tokens=40)
    assert result.reason == "max_tokens"
    (call,) = calls
    assert call.status == "error" and call.usage_estimated
    assert call.error is not None and call.error.startswith("BudgetExceeded: budget exhausted")
    assert 40 < call.completion_tokens <= 42  # stopped at the first piece past 40 tokens
    assert server.requests[0].body["max_tokens"] == 40


@pytest.fixture(scope="module")
def tokenizer_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A word-level tokenizer trained here (the way tests/test_local_models.py builds one)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(
        [REPLY, "Tell me about fractions."], trainers.WordLevelTrainer(special_tokens=["[UNK]"])
    )
    folder = tmp_path_factory.mktemp("tokenizer")
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(folder)
    return folder


async def test_with_a_tokenizer_folder_the_count_is_the_tokenizers(
    tmp_path: Path, tokenizer_folder: Path
) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer_folder))
    with FakeOpenAIServer(lambda body: Scripted(text=REPLY), mode="llamacpp") as server:
        client = client_for(server, tokenizer=tokenizer_folder)
        _, calls, _ = await run(tmp_path, streaming_graph(client, 1), client)
    (call,) = calls
    prompt = len(tok.encode("Tell me about fractions.", add_special_tokens=False))
    completion = len(tok.encode(REPLY, add_special_tokens=False))
    assert (prompt, completion) == (5, 15)  # words and punctuation, not chars / 4
    assert (call.prompt_tokens, call.completion_tokens, call.usage_estimated) == (
        prompt,
        completion,
        True,
    )


def test_a_tokenizer_that_is_not_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    import asyncio

    from agents.models.usage import TokenCounter

    counter = TokenCounter(tmp_path / "missing")
    with pytest.raises(UserError, match="is not a folder; give the local folder"):
        asyncio.run(counter.count((), "hi"))


async def test_a_tokenizer_with_a_chat_template_counts_the_templated_prompt(
    tmp_path: Path, tokenizer_folder: Path
) -> None:
    from transformers import AutoTokenizer

    folder = tmp_path / "templated"
    tok = AutoTokenizer.from_pretrained(str(tokenizer_folder))
    tok.chat_template = "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {% endfor %}"
    tok.save_pretrained(folder)
    with FakeOpenAIServer(lambda body: Scripted(text=REPLY), mode="llamacpp") as server:
        client = client_for(server, tokenizer=folder)
        _, calls, _ = await run(tmp_path, streaming_graph(client, 1), client)
    (call,) = calls
    # "user : Tell me about fractions ." is 7 tokens: the template's role and colon count
    assert (call.prompt_tokens, call.completion_tokens) == (7, 15)


@pytest.mark.parametrize(
    ("temperature", "expected"),
    [(0.0, [0.0, 0.3, 0.5, 0.7, 0.9, 1.0]), (1.5, [1.5] * 6)],
)
async def test_re_ask_temperatures_rise_to_one_and_never_fall(
    temperature: float, expected: list[float]
) -> None:
    from agents.models import FunctionModel
    from agents.models.structured import complete_structured
    from protocols import UnexpectedModelOutput

    model = FunctionModel(lambda request: "not json")
    with pytest.raises(UnexpectedModelOutput):
        await complete_structured(
            model.complete,
            ModelRequest.of("q", temperature=temperature, seed=3),
            Verdict,
            max_retries=5,
        )
    assert [(r.temperature, r.seed) for r in model.calls] == list(
        zip(expected, range(3, 9), strict=True)
    )
