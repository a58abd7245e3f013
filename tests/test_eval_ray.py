"""The Ray executor: a sweep on a local Ray cluster equals the local executor's."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.eval import EpisodeKey, RayExecutor, run_sweep
from tests.sweep_tasks import FakeConfig, FakeTask

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("ray_cluster")]


def test_a_sweep_on_ray_equals_the_local_executor(tmp_path: Path) -> None:
    task = FakeTask(FakeConfig(items=6, seeds=3))
    local = run_sweep(task, store=f"sqlite:///{tmp_path / 'local.db'}", progress=False)
    on_ray = run_sweep(
        task, store=f"sqlite:///{tmp_path / 'ray.db'}", executor="ray", progress=False
    )
    assert on_ray.payloads == local.payloads
    assert list(on_ray.units) == list(local.units)
    assert (on_ray.ran, on_ray.reused) == (local.ran, 0)

    small_chunks = run_sweep(
        task,
        store=f"sqlite:///{tmp_path / 'chunks.db'}",
        executor=RayExecutor(chunk=5, concurrency=2),
        progress=False,
    )
    assert small_chunks.payloads == local.payloads


def test_a_unit_failing_on_ray_is_named_and_the_rest_is_kept(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    bad = EpisodeKey("signal", "fake:2", "", 0.0, 1)
    with pytest.raises(RuntimeError, match="failed on purpose") as info:
        run_sweep(
            FakeTask(FakeConfig(fail_on=bad.text())),
            store=url,
            executor=RayExecutor(chunk=1),
            progress=False,
        )
    assert f"in sweep unit {bad.text()}" in "\n".join(getattr(info.value, "__notes__", []))
    resumed = run_sweep(FakeTask(), store=url, executor="ray", progress=False)
    assert resumed.reused >= 1
    assert resumed.payloads == run_sweep(
        FakeTask(), store=f"sqlite:///{tmp_path / 'fresh.db'}", progress=False
    ).payloads
