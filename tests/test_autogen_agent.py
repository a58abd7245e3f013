"""``PersonaChatAgent``: lyceum personas inside AutoGen AgentChat teams, tested offline with
AutoGen's own ``ReplayChatCompletionClient`` and lyceum's simulated minds. Every test
asserts the whole ``TaskResult`` transcript: each message's type, source, text and
metadata."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pytest.importorskip("autogen_agentchat", reason="pip install 'lyceum[autogen]'")

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import TaskResult
from autogen_agentchat.conditions import (
    MaxMessageTermination,
    StopMessageTermination,
)
from autogen_agentchat.messages import StructuredMessage, TextMessage
from autogen_agentchat.teams import RoundRobinGroupChat, SelectorGroupChat
from autogen_core import CancellationToken
from autogen_core.models import CreateResult
from autogen_ext.models.replay import ReplayChatCompletionClient

from agents import Budget, Runtime
from agents.autogen import (
    AutoGenModelClient,
    LyceumContent,
    PersonaChatAgent,
    PersonaTurnError,
    TextAs,
)
from agents.cli import main as cli
from agents.demo.lesson import make_demo_agent, make_demo_teacher
from agents.store import SqlRunStore
from personas import LLMMind, Persona, builtin_persona
from protocols import Answer, Question, UserError
from tests.test_autogen_client import STUDENT_REPLIES

ITEM = "item:frac-add-1"
EXPLANATION = (
    "Sixths are the common size here. 1/3 is 2/6, so 2/6 + 1/6 = 3/6 = 1/2. Only the "
    "numerators add; the denominator names the size of the parts.  [targets: "
    "skill:fraction_addition, misconception:add_across]"
)
DIAGNOSE = "user: applies a wrong rule consistently (misconception:add_across). Guideline: clarify the misunderstanding."  # noqa: E501
EXPLAIN_PLAN = (
    "other → explain_concept → clarify_misunderstanding; move focus; decided by the rule "
    "table  [tools: calculator, bridge_decision, teacher_moves]"
)
Row = tuple[str, str, str, dict[str, str]]


def rows(result: TaskResult) -> list[Row]:
    """The whole transcript: type, source, text and metadata of every message."""
    return [(type(m).__name__, m.source, m.to_text(), dict(m.metadata)) for m in result.messages]


def task() -> TextMessage:
    return TextMessage(content="What is 1/3 + 1/6?", source="user", metadata={"item_id": ITEM})


def llm_student(replies: list[str], **options: Any) -> PersonaChatAgent:
    """The built-in student persona on an LLM mind whose model is AutoGen's replay client."""
    model = AutoGenModelClient(ReplayChatCompletionClient(replies), model="replay")
    return PersonaChatAgent(Persona(builtin_persona("student"), LLMMind(model)), **options)


async def test_an_llm_persona_on_an_autogen_client_answers_and_its_turn_is_stored(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    student = llm_student(STUDENT_REPLIES, runtime=Runtime(db))
    result = await student.run(task="What is 3/4 - 1/2?")
    assert rows(result) == [
        ("TextMessage", "user", "What is 3/4 - 1/2?", {}),
        (
            "ThoughtEvent",
            "student",
            "user: asked to subtract fractions, feels calm. Guideline: answer with a common "
            "denominator.",
            {"lyceum_kind": "thought"},
        ),
        ("ThoughtEvent", "student", "no tool needed", {"lyceum_kind": "plan"}),
        ("TextMessage", "student", "1/4  (confidence 0.90)", {"lyceum_kind": "answer"}),
    ]
    [run_id] = student.run_ids
    with SqlRunStore(db) as store:
        run = store.get_run(run_id)
        calls = store.model_calls(run_id)
        messages = store.messages(run_id)
    assert run.status == "completed"
    assert [(c.agent, c.client, c.status) for c in calls] == [
        ("student", "AutoGenModelClient(ReplayChatCompletionClient: replay)", "ok")
    ] * 3
    assert [(m.kind, m.sender, tuple(m.recipients)) for m in messages] == [
        ("question", "user", ("student",)),
        ("thought", "student", ("user",)),
        ("plan", "student", ("user",)),
        ("answer", "student", ("user",)),
        ("stop", "runtime", ()),
    ]
    shown = CliRunner().invoke(cli, ["runs", "show", run_id, "--db", db], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "student → user" in shown.output and "1/4" in shown.output


STUDENT_SAYS = ["2/9", "I added tops and bottoms: 2/9", "1/2"]


def round_robin(messages: int = 7, says: list[str] = STUDENT_SAYS) -> RoundRobinGroupChat:
    teacher = PersonaChatAgent(make_demo_teacher("teacher"), incoming=TextAs(student=Answer))
    student = AssistantAgent("student", model_client=ReplayChatCompletionClient(says))
    return RoundRobinGroupChat(
        [teacher, student], termination_condition=MaxMessageTermination(messages)
    )


ROUND_ROBIN: list[Row] = [
    ("TextMessage", "user", "What is 1/3 + 1/6?", {"item_id": ITEM}),
    (
        "ThoughtEvent",
        "teacher",
        "user: not asked yet. Guideline: ask the question.",
        {"lyceum_kind": "thought"},
    ),
    (
        "ThoughtEvent",
        "teacher",
        "put item:frac-add-1 to the student; no tool needed",
        {"lyceum_kind": "plan"},
    ),
    (
        "TextMessage",
        "teacher",
        "What is 1/3 + 1/6?",
        {"lyceum_kind": "question", "item_id": ITEM},
    ),
    ("TextMessage", "student", "2/9", {}),
    ("ThoughtEvent", "teacher", DIAGNOSE, {"lyceum_kind": "thought"}),
    ("ThoughtEvent", "teacher", EXPLAIN_PLAN, {"lyceum_kind": "plan"}),
    ("TextMessage", "teacher", EXPLANATION, {"lyceum_kind": "explanation", "item_id": ITEM}),
    ("TextMessage", "student", "I added tops and bottoms: 2/9", {}),
    (
        "ThoughtEvent",
        "teacher",
        "user: unclear. Guideline: find out how they got it.",
        {"lyceum_kind": "thought"},
    ),
    (
        "ThoughtEvent",
        "teacher",
        "right-idea → provide_example → correct_mistake; move telling; decided by the rule "
        "table  [tools: calculator, bridge_decision, teacher_moves]",
        {"lyceum_kind": "plan"},
    ),
    (
        "TextMessage",
        "teacher",
        "The answer is 1/2. Check this step: Add fractions by rewriting them over a common "
        "denominator, then adding numerators.  [targets: skill:fraction_addition]",
        {"lyceum_kind": "explanation", "item_id": ITEM},
    ),
    ("TextMessage", "student", "1/2", {}),
]


async def test_a_round_robin_of_an_autogen_student_and_the_lyceum_teacher() -> None:
    """The simulated teacher hears the AutoGen student's texts as answers (``TextAs``),
    diagnoses the add-across misconception from "2/9", explains, then tells. AutoGen's
    ``MaxMessageTermination`` ends the team (ThoughtEvents are not counted)."""
    team = round_robin()
    result = await team.run(task=task())
    assert rows(result) == ROUND_ROBIN
    assert result.stop_reason == "Maximum number of messages 7 reached, current message count: 7"


async def test_same_seed_same_transcript_and_reset_starts_afresh() -> None:
    first = await round_robin().run(task=task())
    second = await round_robin().run(task=task())
    assert rows(first) == rows(second) == ROUND_ROBIN
    teacher = PersonaChatAgent(make_demo_teacher("teacher"))
    once = rows(await teacher.run(task=task()))
    await teacher.on_reset(CancellationToken())
    assert teacher.run_ids == []
    assert rows(await teacher.run(task=task())) == once


def think_prompt(call: dict[str, Any]) -> str:
    return str(call["messages"][-1].content)


async def test_the_conversation_lives_until_reset() -> None:
    """Between turns the persona remembers the conversation (its history is in the next
    Think prompt); ``on_reset`` (``team.reset()``) forgets it."""
    replay = ReplayChatCompletionClient(STUDENT_REPLIES * 3)
    persona = Persona(builtin_persona("student"), LLMMind(AutoGenModelClient(replay)))
    student = PersonaChatAgent(persona)
    await student.run(task="What is 3/4 - 1/2?")
    await student.run(task="And 1/2 - 1/4?")
    assert len(student.run_ids) == 2
    second = think_prompt(replay.create_calls[3])
    assert "user: What is 3/4 - 1/2?" in second and "student: 1/4" in second
    await student.on_reset(CancellationToken())
    assert student.run_ids == []
    await student.run(task="And 1/2 - 1/4?")
    afresh = think_prompt(replay.create_calls[6])
    assert "3/4 - 1/2" not in afresh and "And 1/2 - 1/4?" in afresh


async def test_a_selector_group_chat_of_two_lyceum_personas_passes_typed_messages() -> None:
    """The selector is AutoGen's replay client. The teacher's question reaches the
    simulated student as a typed ``Question`` about the item (a ``StructuredMessage``
    carrying it), so the student answers it; it reads the explanation and says nothing."""
    teacher = PersonaChatAgent(make_demo_teacher("teacher"), structured=True)
    student = PersonaChatAgent(
        make_demo_agent("student", "novice", seed=0),
        structured=True,
        description="A simulated student (not an LLM).",
    )
    selector = ReplayChatCompletionClient(["teacher"])
    team = SelectorGroupChat(
        [teacher, student],
        model_client=selector,
        termination_condition=MaxMessageTermination(5),
    )
    result = await team.run(task=task())
    assert rows(result) == [
        ("TextMessage", "user", "What is 1/3 + 1/6?", {"item_id": ITEM}),
        *ROUND_ROBIN[1:3],
        (
            "StructuredMessage[LyceumContent]",
            "teacher",
            "What is 1/3 + 1/6?",
            {"lyceum_kind": "question", "item_id": ITEM},
        ),
        (
            "StructuredMessage[LyceumContent]",
            "student",
            "2/9  (confidence 0.31)",
            {"lyceum_kind": "answer", "item_id": ITEM},
        ),
        ("ThoughtEvent", "teacher", DIAGNOSE, {"lyceum_kind": "thought"}),
        ("ThoughtEvent", "teacher", EXPLAIN_PLAN, {"lyceum_kind": "plan"}),
        (
            "StructuredMessage[LyceumContent]",
            "teacher",
            EXPLANATION,
            {"lyceum_kind": "explanation", "item_id": ITEM},
        ),
        ("TextMessage", "student", "", {"lyceum_kind": "none"}),
    ]
    answer = result.messages[4]
    assert isinstance(answer, StructuredMessage) and isinstance(answer.content, LyceumContent)
    typed = answer.content.message
    assert isinstance(typed, Answer)
    assert (typed.text, typed.item_id, typed.confidence) == (
        "2/9",
        ITEM,
        pytest.approx(0.308, abs=1e-3),
    )
    prompt = selector.create_calls[0]["messages"][0].content
    assert "teacher: A patient mathematics teacher" in prompt
    assert "student: A simulated student (not an LLM)." in prompt
    # With two participants and no repeated speaker, AutoGen asks the selector only once.
    assert len(selector.create_calls) == 1


async def test_the_budget_stops_a_turn_and_autogen_terminates_on_the_stop_message() -> None:
    student = llm_student(STUDENT_REPLIES, budget=Budget(model_calls=2))
    team = RoundRobinGroupChat([student], termination_condition=StopMessageTermination())
    result = await team.run(task="What is 3/4 - 1/2?")
    assert rows(result) == [
        ("TextMessage", "user", "What is 3/4 - 1/2?", {}),
        (
            "StopMessage",
            "student",
            "max_model_calls: budget exhausted: model_calls used 2 of 2",
            {"lyceum_kind": "stop", "lyceum_stop": "max_model_calls"},
        ),
    ]
    assert result.stop_reason == "Stop message received"


async def test_max_turns_bounds_a_conversation_and_autogen_stops_on_it() -> None:
    """A lone persona in a round robin is called again with no new messages (it hears an
    empty question); after its ``max_turns`` it answers with a ``StopMessage``."""
    teacher = PersonaChatAgent(make_demo_teacher("teacher"), max_turns=2)
    team = RoundRobinGroupChat(
        [teacher], termination_condition=StopMessageTermination() | MaxMessageTermination(9)
    )
    result = await team.run(task=task())
    # Asked nothing new, the simulated teacher (which has not heard an answer) asks again.
    assert rows(result) == [
        *ROUND_ROBIN[:4],
        *ROUND_ROBIN[1:4],
        (
            "StopMessage",
            "teacher",
            "max_turns: teacher took its 2 turn(s) of this conversation",
            {"lyceum_kind": "stop", "lyceum_stop": "max_turns"},
        ),
    ]
    assert len(teacher.run_ids) == 2
    with pytest.raises(UserError, match="max_turns must be a positive int or None, got 0"):
        PersonaChatAgent(make_demo_teacher("teacher"), max_turns=0)


async def test_a_failed_turn_raises_a_typed_error_naming_the_run() -> None:
    """An exhausted client is a ``ModelHTTPError``; bad structured output is re-asked, then
    ``UnexpectedModelOutput``. Either fails the turn, recorded in its lyceum run."""
    exhausted = llm_student([])
    with pytest.raises(PersonaTurnError) as caught:
        await exhausted.run(task="What is 3/4 - 1/2?")
    assert caught.value.error_type == "ModelHTTPError"
    assert "No more mock responses available" in caught.value.detail
    assert caught.value.run_id == exhausted.run_ids[0]
    rambling = llm_student(["I think", "calm", "still not JSON"])
    with pytest.raises(PersonaTurnError) as caught:
        await rambling.run(task="What is 3/4 - 1/2?")
    assert caught.value.error_type == "UnexpectedModelOutput"
    assert caught.value.detail.startswith(
        "the model's reply did not validate as ThoughtVars after 3 attempts"
    )


def test_text_as_makes_only_text_kinds() -> None:
    incoming = TextAs(student=Answer)
    heard = incoming(TextMessage(content="2/9", source="student", metadata={"item_id": ITEM}))
    assert heard == Answer(text="2/9", item_id=ITEM, id=heard.id, timestamp=heard.timestamp)
    asked = incoming(TextMessage(content="why?", source="user"))
    assert isinstance(asked, Question) and asked.item_id is None
    with pytest.raises(UserError, match="TextAs cannot make a 'Stop' from a text"):
        from protocols import Stop

        TextAs(Stop)


class Gated(ReplayChatCompletionClient):
    """AutoGen's replay client whose call number ``at`` (0-based) waits for ``gate``."""

    def __init__(self, replies: list[str], at: int) -> None:
        super().__init__(replies)
        self.at = at
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def create(self, *args: Any, **kwargs: Any) -> CreateResult:
        if len(self.create_calls) == self.at:
            self.waiting.set()
            await self.gate.wait()
        return await super().create(*args, **kwargs)


def gated_student(client: Gated, **options: Any) -> PersonaChatAgent:
    persona = Persona(builtin_persona("student"), LLMMind(AutoGenModelClient(client)))
    return PersonaChatAgent(persona, **options)


async def test_run_stream_yields_the_thoughts_then_the_reply() -> None:
    stream = llm_student(STUDENT_REPLIES).run_stream(task="What is 3/4 - 1/2?")
    items = [item async for item in stream]
    assert [(type(m).__name__, getattr(m, "source", None)) for m in items] == [
        ("TextMessage", "user"),
        ("ThoughtEvent", "student"),
        ("ThoughtEvent", "student"),
        ("TextMessage", "student"),
        ("TaskResult", None),
    ]


async def test_cancelling_a_turn_cancels_its_run_and_records_it_interrupted(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    client = Gated(STUDENT_REPLIES, at=0)
    student = gated_student(client, runtime=Runtime(db))
    token = CancellationToken()
    turn = asyncio.ensure_future(
        student.on_messages([TextMessage(content="3/4 - 1/2?", source="user")], token)
    )
    await client.waiting.wait()
    token.cancel()
    with pytest.raises(asyncio.CancelledError):
        await turn
    with SqlRunStore(db) as store:
        [run] = store.list_runs()
    assert (run.status, run.stop_reason) == ("interrupted", "interrupted")
    assert student.run_ids == []


@pytest.mark.parametrize("k", [2, 3, 4, 5, 6])
async def test_a_saved_team_resumes_in_a_fresh_team_as_the_uninterrupted_run(k: int) -> None:
    """Run the round robin for ``k`` messages, save it (through JSON), load it into a fresh
    team built the same way, and continue: the two parts are the uninterrupted transcript.
    The teacher's history, item under discussion, memory of tries and turn seeds all come
    back. The student's replay client is its model, not its state: the fresh one answers
    with the replies the first had not given yet."""
    first = round_robin(k)
    before = await first.run(task=task())
    saved = json.loads(json.dumps(await first.save_state()))
    teacher_state = saved["agent_states"]["teacher"]["agent_state"]
    assert teacher_state["type"] == "PersonaChatAgentState"
    assert teacher_state["turns"] == len(teacher_state["run_ids"]) == k // 2
    fresh = round_robin(7 - k, STUDENT_SAYS[(k - 1) // 2 :])
    await fresh.load_state(saved)
    after = await fresh.run()
    assert rows(before) + rows(after) == ROUND_ROBIN
    teacher = fresh._participants[0]
    assert isinstance(teacher, PersonaChatAgent) and len(teacher.run_ids) == 3
    await fresh.reset()
    assert teacher.run_ids == []
    alone = PersonaChatAgent(make_demo_teacher("teacher"))
    assert rows(await teacher.run(task=task())) == rows(await alone.run(task=task()))


async def test_a_state_that_is_not_plain_data_is_not_saved_in_part() -> None:
    """The simulated student's memory holds a random generator: saving a conversation
    it is in raises a UserError naming it and the fix, instead of saving part of it."""
    student = PersonaChatAgent(make_demo_agent("student", "novice", 0))
    assert (await student.save_state())["started"] is False
    await student.run(task=task())
    with pytest.raises(UserError, match=r"SimulatedStudent: its new_state\(\) returns Simul"):
        await student.save_state()
    teacher = PersonaChatAgent(make_demo_teacher("teacher"))
    with pytest.raises(UserError, match="saved mind state does not fit SimulatedTeacherMind"):
        await teacher.load_state({"started": True, "turns": 0, "mind": {"attempts": "x"}})
