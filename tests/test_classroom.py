"""The classroom simulation (MAIC / SimClass): the lesson script from the knowledge graph,
the director's protocol, the teacher's theory of mind, the reviewer gate, a human student,
replay, and the LLM path. Every result here is a simulation's."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import threading
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from statistics import mean
from types import SimpleNamespace
from typing import Any, get_args

import pytest

from agents import QueueInput, RunResult, Runtime
from agents.classroom import (
    CLASSMATE_ROLES,
    ClassroomConfig,
    ModelEndpoint,
    StudentSpec,
    build_classroom,
    classroom_budget,
    classroom_kg,
    lesson_names,
    lesson_script,
    roster,
    run_classroom,
    start_message,
)
from agents.models import FunctionModel, ModelRequest
from agents.models.fake_server import FakeOpenAIServer
from agents.store import SqlRunStore
from knowledge_graph.builders import sample_curriculum
from personas import (
    ClassroomTeacherMind,
    EstimatingMentalModel,
    Persona,
    PlanOut,
    ReadingModel,
    Reply,
    ThoughtVars,
    builtin_persona,
    learner_items,
)
from personas.lesson_texts import LessonTexts
from protocols import (
    Answer,
    Envelope,
    Explanation,
    LessonStep,
    Mastery,
    Message,
    Plan,
    Question,
    Remark,
    Review,
    Stop,
    TaskAssignment,
    UserError,
    transcript,
)
from tests.conformance.backends import fake_model

SNAPSHOT = Path(__file__).parent / "snapshots" / "classroom_2_students_seed0.jsonl"


def small(**changes: object) -> ClassroomConfig:
    """Two simulated students, every role present, a few turns."""
    base: dict[str, object] = {"students": tuple(roster(2)), "turns": 20, "seed": 0}
    return ClassroomConfig.model_validate(base | changes)


def test_the_script_follows_prerequisites_and_quizzes_each_concept() -> None:
    kg = sample_curriculum()
    assert lesson_names(kg) == ["fractions", "linear_equations"]
    steps = [(s.step, s.skill, s.items) for s in lesson_script(kg, "fractions").steps]
    quiz = ("item:frac-add-1", "item:frac-add-2", "item:frac-sub-1", "item:frac-mul-1")
    assert steps == [
        ("quiz", None, quiz),
        ("explain", "skill:equivalent_fractions", ()),
        ("explain", "skill:common_denominator", ()),
        ("explain", "skill:fraction_addition", ()),
        ("ask", "skill:fraction_addition", ("item:frac-add-1",)),
        ("practice", "skill:fraction_addition", ("item:frac-add-1", "item:frac-add-2")),
        ("explain", "skill:fraction_multiplication", ()),
        ("ask", "skill:fraction_multiplication", ("item:frac-mul-1",)),
        ("practice", "skill:fraction_multiplication", ("item:frac-mul-1",)),
        ("explain", "skill:fraction_subtraction", ()),
        ("ask", "skill:fraction_subtraction", ("item:frac-sub-1",)),
        ("practice", "skill:fraction_subtraction", ("item:frac-sub-1",)),
        ("quiz", None, quiz),
    ]
    linear = lesson_script(kg, "concept:linear_equations")
    concepts = list(dict.fromkeys(s.concept for s in linear.steps))
    assert concepts == ["concept:fractions", "concept:linear_equations"]
    assert linear.skills()[-3:] == [
        "skill:inverse_operations",
        "skill:one_step_equations",
        "skill:two_step_equations",
    ]
    with pytest.raises(UserError, match=r"unknown lesson 'algebra'.*fractions, linear_equations"):
        lesson_script(kg, "algebra")


async def test_the_whole_transcript_of_a_small_classroom() -> None:
    """Every message of a two-student classroom (seed 0, 20 turns), as a typed transcript.
    To update after a deliberate change, run with LYCEUM_UPDATE_SNAPSHOTS=1."""
    result = await run_classroom(small(), runtime=Runtime())
    lines = [json.dumps(m, sort_keys=True) for m in transcript(result.messages)]
    if os.environ.get("LYCEUM_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text("\n".join(lines) + "\n")
    assert lines == SNAPSHOT.read_text().splitlines()
    last = result.messages[-1]
    assert isinstance(last, Stop) and last.sender == "director"
    # A short lesson still measures: the director jumped to the closing quiz.
    assert (result.reason, result.detail) == ("completed", "lesson finished: 13 steps in 20 turns")
    steps = [m for m in result.messages if isinstance(m, LessonStep)]
    assert [s.step for s in steps][-1] == "quiz"
    sources = {(m.source, m.step) for m in result.messages if isinstance(m, Mastery)}
    kinds = ("quiz", "teacher_model", "simulated_truth")
    assert sources == {(s, i) for s in kinds for i in (0, 12)}


async def test_same_seed_same_transcript_other_seed_another() -> None:
    runtime = Runtime()
    first = await run_classroom(small(seed=3), runtime=runtime)
    again = await run_classroom(small(seed=3), runtime=runtime)
    other = await run_classroom(small(seed=4), runtime=runtime)
    assert first.transcript() == again.transcript()
    assert first.transcript() != other.transcript()


def test_the_budget_leaves_ending_to_the_director() -> None:
    config = ClassroomConfig(students=(StudentSpec(name="ada", profile="novice"),), turns=40)
    budget = classroom_budget(config)
    assert budget.turns > 40 * 10 and budget.seconds == config.seconds
    graph = build_classroom(config)
    assert start_message(config).recipients == ("director",)
    assert graph.source is not None
    assert graph.source["factory"] == "agents.classroom.graph:build_classroom_graph"


def errors(messages: list[Message], step: int) -> list[float]:
    """|teacher's estimate − simulated truth| per (student, skill) at a quiz step."""
    truth = {
        (m.student, skill): v
        for m in messages
        if isinstance(m, Mastery) and m.source == "simulated_truth" and m.step == step
        for skill, v in m.values.items()
    }
    estimate = {
        (m.student, skill): v
        for m in messages
        if isinstance(m, Mastery) and m.source == "teacher_model" and m.step == step
        for skill, v in m.values.items()
    }
    assert estimate.keys() == truth.keys()
    return [abs(estimate[k] - truth[k]) for k in truth]


async def test_the_teacher_s_estimates_move_toward_the_simulated_truth() -> None:
    """Over a whole lesson (4 students, 40 turns, 4 seeds) the teacher's estimate of each
    student, after the closing quiz, is within 0.06 of the simulated truth on average:
    closer than after the opening quiz, and far closer than its uninformed prior."""
    kg = sample_curriculum()
    prior = EstimatingMentalModel(learner_items(kg), ReadingModel(kg))
    first, last, uninformed = [], [], []
    for seed in range(4):
        config = ClassroomConfig(students=tuple(roster(4)), turns=40, seed=seed)
        result = await run_classroom(config, runtime=Runtime())
        quizzes = sorted({m.step for m in result.messages if isinstance(m, Mastery)})
        first += errors(result.messages, quizzes[0])
        last += errors(result.messages, quizzes[-1])
        truth = [
            (skill, v)
            for m in result.messages
            if isinstance(m, Mastery) and m.source == "simulated_truth" and m.step == quizzes[-1]
            for skill, v in m.values.items()
        ]
        items = {i.skill: i.id for i in learner_items(kg).values()}
        uninformed += [abs(prior.predict(items[skill]) - v) for skill, v in truth]
    assert mean(last) < 0.06
    assert mean(last) < mean(first) / 2
    assert mean(last) < mean(uninformed) / 4


async def test_the_reviewer_stops_a_misleading_teacher_before_the_students_hear_it() -> None:
    """A misaligned teacher states misconceptions as rules. Without a reviewer the class
    hears them and learns them (the simulated truth at the closing quiz drops); with the
    rubric reviewer every one is rejected and replaced before any student reads it."""
    truth: dict[bool, list[float]] = {False: [], True: []}
    for reviewer in (False, True):
        for seed in range(3):
            config = ClassroomConfig(
                students=tuple(roster(4)), turns=40, seed=seed, reviewer=reviewer
            )
            graph = build_classroom(config, misleading=True)
            result = await Runtime().run(
                graph, start_message(config), budget=classroom_budget(config), seed=seed
            )
            heard = [
                m.text
                for m in result.messages
                if isinstance(m, Explanation) and set(m.recipients) & {"ada", "ben"}
            ]
            misleading = [t for t in heard if t.startswith("Here is the rule")]
            reviews = [m for m in result.messages if isinstance(m, Review)]
            if reviewer:
                assert not misleading
                rejected = [r for r in reviews if not r.approved]
                assert rejected and all(
                    i.startswith("incorrect: ") for r in rejected for i in r.issues
                )
            else:
                assert misleading and not reviews
            last = max(m.step for m in result.messages if isinstance(m, Mastery))
            truth[reviewer] += [
                v
                for m in result.messages
                if isinstance(m, Mastery) and m.source == "simulated_truth" and m.step == last
                for v in m.values.values()
            ]
    ungated, gated = (sum(truth[r]) / len(truth[r]) for r in (False, True))
    assert ungated < 0.45 < 0.7 < gated


async def test_a_human_student_answers_the_quizzes_and_is_graded() -> None:
    """A real person (here a task typing the right answers into the ``QueueInput``, as the
    app's text box does) joins two simulated students; only questions reach them."""
    kg = sample_curriculum()
    source = QueueInput()
    asked: list[Message] = []

    async def person() -> None:
        while True:
            await asyncio.sleep(0)
            waiting = source.waiting_on
            if waiting is not None and not (asked and asked[-1] is waiting):
                asked.append(waiting)
                node = kg.node(str(getattr(waiting, "item_id", "")))
                source.put(str(node.properties["answer"]) if node else "?")

    typing = asyncio.create_task(person())
    try:
        result = await run_classroom(small(human="eve"), runtime=Runtime(), human_input=source)
    finally:
        typing.cancel()
    assert asked and all(isinstance(m, Question) for m in asked)
    answers = [m for m in result.messages if isinstance(m, Answer) and m.sender == "eve"]
    assert [a.recipients for a in answers] == [(q.sender,) for q in asked]
    scores = [m for m in result.messages if isinstance(m, Mastery) and m.student == "eve"]
    assert {(m.source, m.step) for m in scores} == {
        (s, i) for s in ("quiz", "teacher_model") for i in (0, 12)
    }
    assert all(v == 1.0 for m in scores if m.source == "quiz" for v in m.values.values())


async def test_a_stored_classroom_run_replays_identically(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'class.db'}"
    config = small(reviewer=True, seed=5)
    run = await run_classroom(config, runtime=Runtime(db))
    with SqlRunStore(db) as store:
        source = store.get_run(run.run_id).graph_source
    assert source is not None
    module, name = source["factory"].split(":")
    graph = getattr(importlib.import_module(module), name)(**source["kwargs"])
    report = await Runtime(db).replay(run.run_id, graph)
    assert report.identical and report.result.transcript() == run.transcript()


def scripted_class_model() -> FunctionModel:
    """A stand-in LLM for every speaking role: it thinks and writes a reply
    of the one kind it is allowed, numbered so the transcript shows whose words are whose."""
    said = {"n": 0}

    def reply(request: ModelRequest) -> str:
        output = request.output_type
        if output is ThoughtVars:
            return json.dumps({"knowledge": "read from the context", "guideline": "follow it"})
        assert output is not None and issubclass(output, Reply)  # no tools, so no Plan call
        (kind,) = get_args(output.model_fields["kind"].annotation)
        said["n"] += 1
        return json.dumps({"kind": kind, "text": f"LLM {kind} #{said['n']}"})

    return FunctionModel(reply, model="scripted-class")


async def test_with_a_model_the_teacher_and_classmates_run_on_an_llm_mind(tmp_path: Path) -> None:
    """``config.model`` set: the teacher, the assistant and the classmates are ``LLMMind`` s
    guided by their simulated minds. The teacher's theory-of-mind estimate reaches the
    model's Think as context; the model writes every word they say; the move (the kind,
    whom it asks, the item) stays the guide's, so the lesson runs as before and replays."""
    endpoint = ModelEndpoint(base_url="http://127.0.0.1:9/v1", model="scripted-class")
    config = small(model=endpoint, turns=12)
    model = scripted_class_model()
    db = f"sqlite:///{tmp_path / 'llm.db'}"
    result = await run_classroom(config, runtime=Runtime(db), model=model)
    assert result.reason == "completed"
    assert result.usage["model_calls"] == len(model.calls) > 0
    speakers = {"teacher", "teaching_assistant", *CLASSMATE_ROLES}
    spoken = [
        m
        for m in result.messages
        if m.sender in speakers and isinstance(m, Explanation | Question | Remark)
    ]
    assert spoken and all(m.text.startswith("LLM ") for m in spoken)
    asks = [m for m in spoken if isinstance(m, Question) and m.sender == "teacher"]
    assert asks and all(len(q.recipients) == 1 and q.item_id for q in asks)
    thinks = [c for c in model.calls if c.output_type is ThoughtVars]
    teacher_context = [
        c.messages[-1].content for c in thinks if "P̂(right) on" in c.messages[-1].content
    ]
    assert teacher_context and "Your reading of the class" in teacher_context[0]
    executes = [c.messages[-1].content for c in model.calls if c.output_type not in (ThoughtVars,)]
    assert executes and all("in your own words; a draft: " in text for text in executes)
    assert not [c for c in model.calls if c.output_type and issubclass(c.output_type, PlanOut)]
    with SqlRunStore(db) as store:
        source = store.get_run(result.run_id).graph_source
    assert source is not None
    rebuilt = build_classroom(
        ClassroomConfig.model_validate(source["kwargs"]["config"]), model=model
    )
    report = await Runtime(db).replay(result.run_id, rebuilt)
    assert report.identical


@pytest.mark.allow_model_requests
async def test_a_classroom_on_an_openai_compatible_endpoint_runs_to_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``classroom_model(config)``: an ``OpenAIChatClient`` on the config's endpoint, its
    key from the environment, over real loopback HTTP to a server that enforces the JSON
    schema (vLLM's behaviour); the lesson runs to the end on it."""
    monkeypatch.setenv("CLASS_KEY", "sk-class")
    with FakeOpenAIServer(fake_model("vllm"), mode="vllm") as server:
        endpoint = ModelEndpoint(base_url=server.base_url, model="fake", api_key_env="CLASS_KEY")
        config = small(model=endpoint, turns=8, classmates=("deep_thinker",))
        result = await run_classroom(config, runtime=Runtime())
        chats = [r for r in server.requests if r.path.endswith("/chat/completions")]
    assert result.reason == "completed", result.detail
    assert len(chats) == result.usage["model_calls"] > 0
    assert all(r.headers.get("Authorization") == "Bearer sk-class" for r in chats)
    assert all(r.enforced_schema is not None for r in chats)
    assert {m.source for m in result.messages if isinstance(m, Mastery)} == {
        "quiz",
        "teacher_model",
        "simulated_truth",
    }


async def test_stopping_a_classroom_halfway_records_it_as_interrupted(tmp_path: Path) -> None:
    """The app's Stop button cancels the run's task: here while a human student has a
    quiz question waiting. The stored run is ``interrupted`` and keeps what was said."""
    db = f"sqlite:///{tmp_path / 'stop.db'}"
    source = QueueInput()
    task = asyncio.create_task(
        run_classroom(small(human="eve"), runtime=Runtime(db), human_input=source)
    )
    while source.waiting_on is None:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with SqlRunStore(db) as store:
        (run,) = store.list_runs()
        messages = store.messages(run.id)
    assert (run.status, run.stop_reason) == ("interrupted", "interrupted")
    assert isinstance(messages[-1], Stop) and messages[-1].reason == "interrupted"
    assert any(isinstance(m, LessonStep) for m in messages)


def teacher_turn(
    teacher: Persona, ctx: SimpleNamespace, step: str, **inputs: object
) -> Coroutine[Any, Any, Sequence[Envelope]]:
    """The director gives the classroom teacher the floor for ``step``."""
    grant = TaskAssignment(to="teacher", task=step, inputs={"index": 0, "step": step, **inputs})
    return teacher.handle(grant.model_copy(update={"sender": "director"}), ctx)


@pytest.mark.parametrize(
    ("ada", "said", "rationale"),
    [
        (["2/9", "3/15"], "explanation:x-common-denominator", "ada holds misconception:add_across"),
        (["1/3", "1"], "skill:fraction_addition", "most likely held: misconception:add_across"),
        (["1/2", "1/2"], None, "the class is ready"),
    ],
)
async def test_the_teacher_adapts_to_what_it_believes_of_each_student(
    ada: list[str], said: str | None, rationale: str
) -> None:
    """After a quiz in which ben answered both addition items right: when ada's wrong
    answers are the add-across ones, the teacher re-explains with that misconception's
    remedy; when they are other wrong answers, with the skill's own explanation; when she
    was right too, it moves on."""
    kg = sample_curriculum()
    mind = ClassroomTeacherMind(kg, ["ada", "ben"], learner_items(kg))
    teacher = Persona(builtin_persona("teacher"), mind, kinds=["question", "explanation", "remark"])
    ctx = SimpleNamespace(state=teacher.new_state(), rng=None)
    items = ["item:frac-add-1", "item:frac-add-2"]
    answers = {
        "ada": [[i, a, 0.5] for i, a in zip(items, ada, strict=True)],
        "ben": [[i, "1/2", 0.8] for i in items],
    }
    _thought, plan, reply, *reports = await teacher_turn(
        teacher, ctx, "quiz", items=items, answers=answers
    )
    assert isinstance(plan, Plan) and rationale in plan.rationale
    texts = {
        "explanation:x-common-denominator": kg.node("explanation:x-common-denominator"),
        "skill:fraction_addition": None,
    }
    if said is None:
        assert isinstance(reply, Remark)
    else:
        assert isinstance(reply, Explanation) and reply.recipients == ()
        node = texts[said]
        expected = str(node.properties["text"]) if node else LessonTexts(kg).skill(said)
        assert reply.text == expected
    estimate = {m.student: m.values["skill:fraction_addition"] for m in reports}  # type: ignore[attr-defined]
    assert estimate["ben"] > 0.7 and (estimate["ada"] < 0.3) == (said is not None)


@pytest.mark.parametrize("seen", ["ada", "ben"])
async def test_the_teacher_asks_the_student_whose_answer_it_is_least_sure_of(seen: str) -> None:
    """One student answered the addition items right in the quiz, the other was absent:
    the teacher calls on the one it knows least about."""
    kg = sample_curriculum()
    mind = ClassroomTeacherMind(kg, ["ada", "ben"], learner_items(kg))
    teacher = Persona(builtin_persona("teacher"), mind, kinds=["question", "explanation", "remark"])
    ctx = SimpleNamespace(state=teacher.new_state(), rng=None)
    items = ["item:frac-add-1", "item:frac-add-2"]
    answers = {seen: [[i, "1/2", 0.8] for i in items]}
    await teacher_turn(teacher, ctx, "quiz", items=items, answers=answers)
    *_, question = await teacher_turn(
        teacher, ctx, "ask", skill="skill:fraction_addition", items=items[:1]
    )
    assert isinstance(question, Question) and question.item_id == "item:frac-add-1"
    assert question.recipients == ({"ada": "ben", "ben": "ada"}[seen],)
    assert question.text == "What is 1/3 + 1/6?"


def test_a_person_may_answer_from_another_thread_than_the_run_s() -> None:
    """The app runs a classroom on an event loop in a background thread and types the
    human student's answers from its own thread."""
    source = QueueInput()
    config = ClassroomConfig(
        students=(StudentSpec(name="ada", profile="novice"),),
        human="eve",
        turns=2,
        classmates=(),
        teaching_assistant=False,
    )
    done: list[RunResult] = []
    runner = threading.Thread(
        target=lambda: done.append(
            asyncio.run(run_classroom(config, runtime=Runtime(), human_input=source))
        ),
        daemon=True,  # were the reply never to arrive, it must not hold the test run open
    )
    runner.start()
    typed, deadline = 0, time.monotonic() + 15
    while runner.is_alive() and time.monotonic() < deadline:
        waiting = source.waiting_on
        if waiting is not None:
            typed += 1
            source.put("1/2")
            while source.waiting_on is waiting and time.monotonic() < deadline:
                time.sleep(0.001)
        time.sleep(0.001)
    runner.join(timeout=1)
    assert not runner.is_alive(), "the reply typed on this thread never reached the run"
    assert typed == 4  # the opening quiz's four items
    (result,) = done
    eve = [m for m in result.messages if isinstance(m, Answer) and m.sender == "eve"]
    assert [a.text for a in eve] == ["1/2"] * 4


CURRICULUM = """\
concepts:
  counting: {name: Counting, description: Counting things one by one.}
  adding:
    name: Adding
    description: Putting numbers together.
    prerequisites: [counting]
skills:
  count_on: {name: Counting on, description: Count on from the larger one., concept: counting}
  add_small: {name: Small sums, description: Add two numbers below ten., concept: adding}
misconceptions:
  count_both:
    name: Counting both
    description: "Counts the start number again, as in 3 + 2 = 4."
    skill: add_small
items:
  add-1: {text: "What is 3 + 2?", answer: "5", skills: [add_small], exhibits: {count_both: "4"}}
"""


async def test_a_lesson_from_another_curriculum(tmp_path: Path) -> None:
    """``config.curriculum`` names a curriculum YAML: a concept whose skill no item needs
    is explained only, and has no quiz; the run completes."""
    path = tmp_path / "curriculum.yaml"
    path.write_text(CURRICULUM)
    config = ClassroomConfig(
        lesson="adding",
        curriculum=str(path),
        students=(StudentSpec(name="ada", profile="novice"),),
        turns=30,
    )
    kg = classroom_kg(config)
    steps = [(s.step, s.skill) for s in lesson_script(kg, "adding").steps]
    assert steps == [
        ("explain", "skill:count_on"),
        ("quiz", None),
        ("explain", "skill:add_small"),
        ("ask", "skill:add_small"),
        ("practice", "skill:add_small"),
        ("quiz", None),
    ]
    result = await run_classroom(config, runtime=Runtime())
    assert result.reason == "completed"
    quiz = [m for m in result.messages if isinstance(m, Mastery) and m.source == "quiz"]
    assert [(m.step, list(m.values)) for m in quiz] == [
        (1, ["skill:add_small"]),
        (5, ["skill:add_small"]),
    ]
    cyclic = CURRICULUM.replace("{name: Counting,", "{prerequisites: [adding], name: Counting,")
    path.write_text(cyclic)
    with pytest.raises(UserError, match=r"the prerequisites of concept:\w+ form a cycle"):
        lesson_script(classroom_kg(config), "counting")
