"""The tutoring sweep as a SweepTask: units, determinism in any order and after pickling,
the learned models built once and read back, curves, findings and the config file."""

from __future__ import annotations

import asyncio
import hashlib
import pickle
from pathlib import Path

import pytest

from agents.eval.base import EpisodeKey, Payload
from agents.eval.mathdial_metrics import at_k, human_utterances, numerical_answer
from agents.eval.runner import run_sweep
from agents.eval.tutoring import DataSpec, LMStudentSpec, TutoringConfig, TutoringTask
from agents.eval.tutoring_models import TutoringModels
from agents.eval.tutoring_policies import NEXT_MOVE_FILE, POLICIES
from agents.eval.tutoring_report import move_mix
from agents.eval.tutoring_students import LMTutee
from agents.models import FunctionModel
from personas.learned.bridge_model import BRIDGE_FILE
from personas.learned.move_classifier import MOVES_FILE
from protocols import ConfigError
from tests.learned_fixtures import write_data

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "examples" / "sweeps" / "tutoring_default.yaml"


def sweep(task: TutoringTask, order: int = 1) -> dict[EpisodeKey, Payload]:
    """The runner's job, in a tiny loop (one stage; ``order=-1`` runs it backwards)."""

    async def run() -> dict[EpisodeKey, Payload]:
        done: dict[EpisodeKey, Payload] = {}
        for key in task.units(0, {})[::order]:
            done[key] = await task.run(key, task.inputs(key, done))
        return done

    return asyncio.run(run())


Built = tuple[TutoringTask, dict[EpisodeKey, Payload]]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = write_data(tmp_path_factory.mktemp("data"))
    config = TutoringConfig(
        data=DataSpec(path="mathdial/dev.jsonl", limit=3),
        seeds=2,
        models_dir=str(root / "models"),
    )
    task = TutoringTask(config, base_dir=root)
    return task, sweep(task)


def test_the_units_are_one_per_dialogue_policy_and_seed_plus_the_human_row(
    built: Built,
) -> None:
    task, results = built
    assert task.stages() == 1 and task.kind == "tutoring" and task.student_kind == "simulated"
    items = sorted(task.dialogues())
    assert items == ["mathdial:1", "mathdial:2", "mathdial:3"]
    assert sorted(results) == sorted(
        [EpisodeKey("human", i, "human", 0.0, 0) for i in items]
        + [EpisodeKey("dialogue", i, p, 0.0, s) for i in items for p in POLICIES for s in (0, 1)]
    )
    with pytest.raises(ConfigError, match="one stage"):
        task.units(1, results)


def test_every_payload_is_scored_as_evaluate_py_scores_its_utterances(
    built: Built,
) -> None:
    task, results = built
    for key, payload in results.items():
        dialogue = task.dialogues()[key.item]
        answer = numerical_answer(dialogue.ground_truth)
        assert (payload["success"], payload["telling"]) == at_k(payload["utterances"], answer)
        teacher = [u for u in payload["utterances"] if u.startswith("Teacher:")]
        assert len(payload["moves"]) == len(teacher)
        assert set(payload["moves"]) <= {"focus", "probing", "telling", "generic"}
        if key.kind == "human":
            assert payload["utterances"] == human_utterances(dialogue)
        if key.strategy == "telling_first":  # only told, the student never says it first
            assert all(t >= s for s, t in zip(payload["success"], payload["telling"], strict=True))


def test_units_are_pure_in_any_order_and_after_pickling(
    built: Built,
) -> None:
    task, results = built
    copy = pickle.loads(pickle.dumps(task))
    assert copy._models is None and copy._dialogues is None  # rebuilt in the worker
    assert sweep(copy, order=-1) == results
    assert copy.config_hash() == task.config_hash()
    assert task.data_sha256 == hashlib.sha256(task.source().read_bytes()).hexdigest()
    changed = TutoringTask(task.config.model_copy(update={"seeds": 3}), base_dir=task.base_dir)
    assert changed.config_hash() != task.config_hash()


def test_the_learned_models_are_saved_once_and_read_back(
    built: Built,
) -> None:
    task, _ = built
    folder = Path(str(task.config.models_dir))
    assert {p.name for p in folder.iterdir()} == {MOVES_FILE, BRIDGE_FILE, NEXT_MOVE_FILE}
    again = TutoringModels.load_or_train(task.source(), POLICIES, models_dir=folder)
    texts = ["How did you get 5?", "The answer is 12.", "Great job!"]
    assert again.moves.predict_many(texts) == task.models().moves.predict_many(texts)
    assert again.decider("telling_first") is None


def test_curves_and_findings(built: Built) -> None:
    task, results = built
    points = task.curves(results)
    assert {(p.strategy, p.metric) for p in points} == {
        (s, m) for s in (*POLICIES, "human") for m in ("success", "telling")
    }
    assert sorted({p.k for p in points}) == list(range(1, 8))
    for p in points:
        assert p.n == 3 and 0.0 <= p.low <= p.mean <= p.high <= 1.0
    human = [p for p in points if p.strategy == "human" and p.metric == "success"]
    rows = [results[EpisodeKey("human", i, "human", 0.0, 0)] for i in task.dialogues()]
    expected = [sum(row["success"][k] for row in rows) / 3 for k in range(7)]
    assert [p.mean for p in human] == pytest.approx(expected)
    text = task.findings(results)
    assert "simulated students" in text and "these numbers describe the simulation" in text
    for policy in (*POLICIES, "human"):
        assert f"| {policy} | 3 |" in text
    assert "Move mix, as the policy decided it" in text and "walk-through" in text
    decided = move_mix(results, "decided")
    assert decided["telling_first"]["telling"] == 1.0  # by definition of the policy
    assert move_mix(results)["human"]["turns"] == sum(len(r["moves"]) for r in rows)


def test_an_lm_student_task_builds_its_client_lazily_and_leaves_it_out_of_pickles(
    built: Built,
) -> None:
    task, _ = built
    student = {"kind": "lm", "base_url": "http://127.0.0.1:9/v1", "model": "m"}
    config = task.config.model_copy(update={"student": LMStudentSpec(**student)})
    lm = TutoringTask(config, base_dir=task.base_dir, models=task.models())
    assert lm.student_kind == "lm"
    dialogue = lm.dialogues()["mathdial:1"]
    agent = lm._student(dialogue)
    assert isinstance(agent, LMTutee) and lm._client is not None
    assert pickle.loads(pickle.dumps(lm))._client is None
    client = FunctionModel(lambda request: "Student: I still get 5.<EOM>")
    given = TutoringTask(config, base_dir=task.base_dir, models=task.models(), client=client)
    key = EpisodeKey("dialogue", "mathdial:1", "probing_first", 0.0, 0)
    payload = asyncio.run(given.run(key, {}))
    replies = [u for u in payload["utterances"] if u.startswith("Student:")]
    assert replies == ["Student: I still get 5."] * 8  # the rounds are spent
    assert payload["success"] == [False] * 7 and len(client.calls) == 8


def test_the_default_config_file_is_valid() -> None:
    task = TutoringTask.from_config(DEFAULT)
    assert task.config.policies == POLICIES
    assert task.config.seeds == 5 and task.config.rounds == 8 and task.config.human


def test_a_bad_config_names_the_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("seeds: 2\npolicies: [telling_first, probing_frist]\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:2: field .policies\.1.*probing_frist"):
        TutoringTask.from_config(path)


def test_the_runner_runs_it_and_a_rerun_reuses_every_unit(built: Built, tmp_path: Path) -> None:
    task, results = built
    small = TutoringTask(
        task.config.model_copy(update={"data": DataSpec(path="mathdial/dev.jsonl", limit=2)}),
        base_dir=task.base_dir,
        models=task.models(),
    )
    db = f"sqlite:///{tmp_path / 'sweeps.db'}"
    first = run_sweep(small, store=db, progress=False)
    assert {k: r.payload for k, r in first.units.items()} == {
        k: v for k, v in results.items() if k.item in ("mathdial:1", "mathdial:2")
    }
    again = run_sweep(small, store=db, progress=False)
    assert (again.reused, again.ran) == (len(first.units), 0)
