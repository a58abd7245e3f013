"""The theory-of-mind sweep as a SweepTask (agents.eval.tom): its stages and units, pure and
order-free units, pickling, the config file, and the curves of a small simulated sweep."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Mapping
from pathlib import Path

import pytest

from agents.eval.base import EpisodeKey, Payload
from agents.eval.tom import ToMTask
from agents.eval.tom_config import MentalModelSpec, StudentsSpec, ToMConfig
from agents.eval.tom_world import ToMWorld, load_items
from protocols import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SMALL = ToMConfig(
    students=StudentsSpec(cohort=4),
    mental_model=MentalModelSpec(population=20),
    budgets=(0.0, 0.5, 1.0),
    seeds=2,
)


def sweep(
    task: ToMTask, *, reverse: bool = False, start: Mapping[EpisodeKey, Payload] | None = None
) -> dict[EpisodeKey, Payload]:
    """A tiny in-process runner: stage by stage, every unit from its key and inputs (the
    units of ``start`` are taken as done)."""

    async def go() -> dict[EpisodeKey, Payload]:
        done: dict[EpisodeKey, Payload] = dict(start or {})
        for stage in range(task.stages()):
            keys = task.units(stage, done)
            for key in reversed(keys) if reverse else keys:
                if key not in done:
                    done[key] = await task.run(key, task.inputs(key, done))
        return done

    return asyncio.run(go())


@pytest.fixture(scope="module")
def small() -> dict[EpisodeKey, Payload]:
    return sweep(ToMTask(SMALL))


def count(results: Mapping[EpisodeKey, Payload], kind: str, **where: object) -> int:
    return sum(
        k.kind == kind and all(getattr(k, f) == v for f, v in where.items()) for k in results
    )


def test_the_units_of_each_stage(small: dict[EpisodeKey, Payload]) -> None:
    n = 4 * 7  # pairs per seed: 4 students × 7 sample items
    assert count(small, "fit") == 2 and count(small, "signal") == 2 * n
    for strategy in ("random", "oracle", "expected_utility", "misaligned", GENERIC_NAME):
        for budget, explained in ((0.0, 0), (0.5, n // 2), (1.0, n)):
            assert count(small, "episode", strategy=strategy, budget=budget) == 2 * explained
    assert count(small, "episode", strategy="none") == 0
    later = 4 * 3  # each student is taught 4 of its 7 items and tested on the other 3
    assert count(small, "multi", strategy="taught") == count(small, "multi", strategy="control")
    assert count(small, "multi") == 2 * 2 * later


GENERIC_NAME = "expected_utility_generic"


def test_units_are_pure_any_order_any_process(small: dict[EpisodeKey, Payload]) -> None:
    fits = {k: v for k, v in small.items() if k.kind == "fit"}  # the slow part, reused
    again = sweep(pickle.loads(pickle.dumps(ToMTask(SMALL))), reverse=True, start=fits)
    assert again == small
    task = ToMTask(SMALL)
    assert pickle.loads(pickle.dumps(task)).config_hash() == task.config_hash()
    other = ToMTask(SMALL.model_copy(update={"seeds": 3}))
    assert other.config_hash() != task.config_hash()


def test_the_curves_start_together_and_explaining_everything_ends_together(
    small: dict[EpisodeKey, Payload],
) -> None:
    task = ToMTask(SMALL)
    points = {(p.strategy, p.budget): p for p in task.curves(small)}
    assert len(points) == 8 * 3
    at0 = {(p.mean, p.low, p.high) for (s, b), p in points.items() if b == 0.0}
    assert len(at0) == 1  # nothing explained: every strategy is the unexplained answers
    helpful = ("random", "oracle", "least_confidence", "teacher_confidence", "expected_utility")
    assert len({points[(s, 1.0)].mean for s in helpful}) == 1  # the same texts to everyone
    assert points[("misaligned", 1.0)].mean < points[("none", 1.0)].mean
    assert all(p.n == 2 for p in points.values())
    text = task.findings(small)
    assert "expected_utility ≥ least_confidence" in text and "multi-turn gain" in text


def test_the_default_config_file_is_the_default_config() -> None:
    assert ToMConfig.from_yaml(ROOT / "examples/sweeps/tom_default.yaml") == ToMConfig()
    task = ToMTask.from_config(ROOT / "examples/sweeps/tom_default.yaml")
    assert task.student_kind == "simulated" and task.stages() == 3
    assert task.dataset.name == "sample" and len(task.dataset.sha256) == 64
    assert not task.config.dataset.skip_bad
    skipping = ToMTask.from_config(ROOT / "examples/sweeps/tom_default.yaml", skip_bad=True)
    assert skipping.config.dataset.skip_bad


@pytest.mark.parametrize(
    ("text", "field", "line", "problem"),
    [
        ("seeds: 5\nbudgetz: [0, 1]\n", "budgetz", 2, "unknown field (allowed: budgets,"),
        ("budgets: [0, 1.5]\n", "budgets", 1, "fractions in [0, 1]"),
        (
            "students:\n  kind: simulated\n  profiles: [genius]\n",
            "students.profiles",
            3,
            "genius",
        ),
        ("strategies: [oracle, loudest]\n", "strategies.1", 1, "loudest"),
        ("seeds: 2\nstudents: {kind: lm}\n", "mental_model", 1, "few_shot mental model"),
    ],
)
def test_a_bad_config_names_the_file_line_and_field(
    tmp_path: Path, text: str, field: str, line: int, problem: str
) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        ToMConfig.from_yaml(path)
    err = info.value
    assert (err.path, err.field, err.line) == (str(path), field, line)
    assert problem in str(err)


def test_the_teacher_sees_a_pretest_and_an_lm_student_s_leaves_the_item_out() -> None:
    """A simulated student's pre-test answers are fresh draws of the same student, so the
    item may be among them; a deterministic LM student would give its test answer."""
    sim = ToMWorld(SMALL, load_items(SMALL, None))
    item = sim.by_id["item:eq-1"]
    assert [i.id for i in sim.pretest(0, 1, item)] == sorted(sim.by_id)
    lm = ToMConfig(
        students=StudentsSpec(kind="lm"),
        mental_model=MentalModelSpec(kind="few_shot"),
        diagnostic=3,
    )
    world = ToMWorld(lm, load_items(lm, None))
    seen = [i.id for i in world.pretest(0, 0, item)]
    assert seen == [i.id for i in world.pretest(0, 0, item)] and len(seen) <= 3
    assert "item:eq-1" not in seen and len(world.pairs()) == 7  # one LM student per seed


def test_the_runner_gives_the_plain_loop_s_results_and_a_rerun_reuses_them(
    small: dict[EpisodeKey, Payload], tmp_path: Path
) -> None:
    from agents.eval import run_sweep

    store = f"sqlite:///{tmp_path / 'tom.db'}"
    first = run_sweep(ToMTask(SMALL), store=store, progress=False)
    assert first.payloads == small and first.ran == len(small)
    again = run_sweep(ToMTask(SMALL), store=store, progress=False)
    assert (again.reused, again.ran) == (len(small), 0) and again.payloads == small
