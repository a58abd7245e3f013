"""TransformersClient's constrained decoding (response_schema through llguidance) and stop
sequences, on tiny byte-level models built here (random or briefly trained weights), and a
persona turn of LLMMind on Gemma 3 270M (slow)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents import AgentGraph, Budget, FunctionAgent, Runtime
from agents.models import ModelRequest, ModelResponse, TransformersClient
from personas import ToolRegistry, builtin_persona, calculator_tool
from personas.persona import LLMMind, Persona
from protocols import Answer, Stop, UserError

from .tiny_models import build_byte_model, build_tiny_llama, gemma_folder

pytest.importorskip("torch", reason="pip install 'lyceum[local]'")
pytest.importorskip("transformers", reason="pip install 'lyceum[local]'")
pytest.importorskip("llguidance", reason="pip install 'lyceum[local]'")


class Mood(BaseModel):
    """An object with enums, a bounded number and an optional (anyOf with null) field."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["hint", "question", "stop"]
    level: Literal[1, 2, 3]
    note: str | None = Field(default=None, max_length=12)
    confidence: float = Field(ge=0, le=1)


class Calc(BaseModel):
    model_config = ConfigDict(extra="forbid")  # else the grammar allows invented keys
    tool: Literal["calculator"]
    expression: str = Field(max_length=10)


class Search(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tool: Literal["search"]
    query: str = Field(max_length=10)
    k: int = Field(default=3, ge=1, le=9)


class Calls(BaseModel):
    """A nested discriminated union ($defs, oneOf, const discriminator) in an array."""

    calls: list[Annotated[Calc | Search, Field(discriminator="tool")]] = Field(
        min_length=1, max_length=3
    )
    why: Mood


SCHEMAS: list[type[BaseModel]] = [Mood, Calls]


@pytest.fixture(scope="module")
def byte_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_byte_model(tmp_path_factory.mktemp("byte-llama"))


@pytest.fixture(scope="module")
def chatty_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained to write the next "User:" turn after its "Assistant:" reply."""
    return build_byte_model(tmp_path_factory.mktemp("chatty-llama"), train_steps=60)


def structured(schema: type[BaseModel], max_tokens: int = 200) -> ModelRequest:
    return ModelRequest.of(
        "give json", max_tokens=max_tokens, response_schema=schema.model_json_schema()
    )


async def test_random_weights_write_schema_valid_json_deterministically(byte_model: Path) -> None:
    client = TransformersClient(byte_model, max_batch_size=1)
    for schema in SCHEMAS:
        first = await client.complete(structured(schema))
        second = await client.complete(structured(schema))
        assert first.text == second.text  # greedy
        assert first.finish_reason == "stop"  # ended at the grammar's accept state
        schema.model_validate_json(first.text)
    unconstrained = await client.complete(ModelRequest.of("give json", max_tokens=20))
    with pytest.raises(ValidationError):
        Mood.model_validate_json(unconstrained.text)
    await client.aclose()


class Ordered(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zeta: Literal["z"]
    alpha: Literal["a"]


async def test_properties_are_written_in_the_order_the_schema_declares(byte_model: Path) -> None:
    """Order matters to a model that reasons field by field (error type before reply)."""
    import transformers

    client = TransformersClient(byte_model)
    response = await client.complete(structured(Ordered))
    assert response.text == '{"zeta":"z","alpha":"a"}'
    # The end-of-sequence token the grammar forced was generated, so it is counted, as
    # OpenAI-compatible servers count it.
    written = transformers.AutoTokenizer.from_pretrained(byte_model)(
        response.text, add_special_tokens=False
    )["input_ids"]
    assert response.usage.completion_tokens == len(written) + 1
    await client.aclose()


def test_numbers_are_written_with_at_most_four_decimals(byte_model: Path) -> None:
    """Greedy Gemma wrote ``0.0000…`` for a confidence until its tokens ran out."""
    import transformers

    from agents.models.grammar import NUMBER_DECIMALS, JsonGrammar

    tok = transformers.AutoTokenizer.from_pretrained(byte_model)
    grammar = JsonGrammar(tok, len(tok), [tok.eos_token_id])
    schema = {"type": "object", "properties": {"p": {"type": "number"}}, "required": ["p"]}

    def accepts(text: str) -> bool:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        return bool(grammar.matcher(schema).validate_tokens(ids) == len(ids))

    assert NUMBER_DECIMALS == 4
    assert accepts('{"p":0.1234}') and accepts('{"p":-12}') and accepts('{"p":1500.5}')
    assert not accepts('{"p":0.12345}')


async def test_one_batch_mixes_schemas_and_free_text_with_solo_results(byte_model: Path) -> None:
    requests = [*(structured(s) for s in SCHEMAS), ModelRequest.of("give json", max_tokens=12)]
    solo = TransformersClient(byte_model, max_batch_size=1)
    expected = [(await solo.complete(r)).text for r in requests]
    batched = TransformersClient(byte_model, max_batch_size=8, batch_window_ms=200)
    got = await asyncio.gather(*(batched.complete(r) for r in requests))
    assert batched.batch_sizes == [3]
    assert [r.text for r in got] == expected
    for schema, response in zip(SCHEMAS, got, strict=False):
        schema.model_validate_json(response.text)
    assert got[2].finish_reason == "length" and got[2].usage.completion_tokens == 12
    await solo.aclose()
    await batched.aclose()


async def test_max_tokens_cuts_constrained_json_short(byte_model: Path) -> None:
    client = TransformersClient(byte_model)
    response = await client.complete(structured(Calls, max_tokens=4))
    assert response.finish_reason == "length" and response.usage.completion_tokens == 4
    assert response.text.startswith('{"')
    with pytest.raises(ValidationError):  # the structured-output re-ask handles it
        Calls.model_validate_json(response.text)
    await client.aclose()


async def test_the_plain_chat_fallback_stops_at_the_next_user_turn(chatty_model: Path) -> None:
    client = TransformersClient(chatty_model)
    chat = await client.complete(ModelRequest.of("hi", system="be brief", max_tokens=60))
    assert chat.text == " hello there" and chat.finish_reason == "stop"
    # Generation stopped as the turn marker was written, not at max_tokens.
    assert chat.usage.completion_tokens <= 8
    # The same text as a raw single-turn prompt has no implicit stop and runs on.
    raw = "System: be brief\n\nUser: hi\n\nAssistant:"
    runs_on = await client.complete(ModelRequest.of(raw, max_tokens=60))
    assert runs_on.finish_reason == "length" and runs_on.usage.completion_tokens == 60
    assert runs_on.text.startswith(" hello there\n\nUser:")
    # request.stop is applied during generation too.
    own = await client.complete(ModelRequest.of(raw, max_tokens=60, stop=(" there",)))
    assert own.text == " hello" and own.usage.completion_tokens <= 4
    await client.aclose()


async def test_an_uncompilable_schema_fails_its_own_call_only(byte_model: Path) -> None:
    client = TransformersClient(byte_model, batch_window_ms=200)
    bad = ModelRequest.of("x", response_schema={"type": "object", "properties": {"a": 7}})
    failed, fine = await asyncio.gather(
        client.complete(bad), client.complete(structured(Mood)), return_exceptions=True
    )
    assert isinstance(failed, UserError)
    assert "cannot be turned into a grammar" in str(failed) and "Simplify" in str(failed)
    assert isinstance(fine, ModelResponse) and Mood.model_validate_json(fine.text)
    await client.aclose()


@pytest.fixture(scope="module")
def word_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny word-level Llama: llguidance cannot read a vocabulary without a decoder."""
    return build_tiny_llama(tmp_path_factory.mktemp("word-llama"))


async def test_a_tokenizer_the_grammar_cannot_read_is_warned_and_left_unconstrained(
    word_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = TransformersClient(word_model, model="word")
    request = structured(Mood, max_tokens=6)
    with caplog.at_level("WARNING", logger="agents.models.local"):
        first = await client.complete(request)
        second = await client.complete(request)
    warned = [r.getMessage() for r in caplog.records if "cannot constrain" in r.getMessage()]
    assert len(warned) == 1 and "constrain=False" in warned[0]  # once per client
    assert first == second.model_copy(update={"latency_ms": first.latency_ms})
    with pytest.raises(ValidationError):  # unconstrained words are not JSON
        Mood.model_validate_json(first.text)
    await client.aclose()


async def test_constrain_true_refuses_a_tokenizer_the_grammar_cannot_read(
    word_model: Path,
) -> None:
    client = TransformersClient(word_model, model="word", constrain=True)
    with pytest.raises(UserError, match="constrain=True, but decoding cannot be constrained"):
        await client.complete(structured(Mood))
    await client.aclose()


async def test_constrain_false_leaves_a_byte_model_unconstrained(byte_model: Path) -> None:
    client = TransformersClient(byte_model, model="byte", constrain=False)
    reply = await client.complete(structured(Mood, max_tokens=20))
    with pytest.raises(ValidationError):  # random weights write no JSON on their own
        Mood.model_validate_json(reply.text)
    await client.aclose()


@pytest.mark.slow
async def test_llmmind_on_gemma_270m_writes_a_typed_turn(tmp_path: Path) -> None:
    """Gemma 3 270M is a base model: its words are nonsense, but with the grammar every
    phase's output validates, so the turn completes with typed messages."""
    # The repetition penalty keeps greedy decoding from repeating an array item until the
    # token cap (it did, in Reply.targets, without one).
    client = TransformersClient(
        gemma_folder(), model="gemma3-270m", max_new_tokens=96, repetition_penalty=1.3
    )
    tools = ToolRegistry([calculator_tool()])
    teacher = Persona(builtin_persona("teacher"), LLMMind(client), tools=tools)
    graph = AgentGraph().add(teacher)
    graph.edge(teacher, FunctionAgent("student", lambda m, c: Stop(detail="ok")))
    runtime = Runtime(f"sqlite:///{tmp_path / 'turn.db'}")
    result = await runtime.run(
        graph, Answer(to="teacher", text="1/3 + 1/6 = 2/9"), budget=Budget(turns=4)
    )
    transcript = result.transcript()
    kinds = [m["kind"] for m in transcript]
    assert kinds[:3] == ["answer", "thought", "plan"], (result.reason, result.detail)
    assert kinds[3] in ("question", "hint", "explanation", "stop")
    thought, plan, reply = transcript[1:4]
    assert isinstance(thought["knowledge"], str) and isinstance(thought["guideline"], str)
    assert isinstance(plan["calls"], list)
    assert thought["sender"] == plan["sender"] == reply["sender"] == "teacher"
    assert runtime.store is not None
    calls = runtime.store.model_calls(result.run_id)
    titles = [c.request["response_schema"]["title"] for c in calls]  # type: ignore[index]
    assert titles == ["ThoughtVars", "PlanOut", "Reply"]  # valid at the first attempt
    assert all(c.response["finish_reason"] == "stop" for c in calls)  # type: ignore[index]
    print(transcript)  # nonsense text, valid types
    await client.aclose()
