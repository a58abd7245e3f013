"""The ToM evaluation page (AppTest): launch a sweep with progress, see its curves and
table from the store, compare two sweeps; bad input is an error box; sessions are apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from agents.eval import SweepStore, ToMConfig, ToMTask, compare_points, run_sweep
from agents.eval.plots import normalise_points
from tests.uitest import no_trace, open_page, rerun_until

ROOT = Path(__file__).resolve().parents[1]
PAGE = "views/tom.py"
SMALL = b"""\
students: {cohort: 3}
mental_model: {population: 20}
budgets: [0, 0.5, 1]
strategies: [none, random, oracle]
seeds: 1
multi_turn: false
"""


def stopped(at: AppTest) -> bool:
    return any("Sweep stopped" in box.value for box in at.info) or bool(at.success or at.error)


def launch(at: AppTest) -> AppTest:
    at.button(key="tom_run").click().run()
    no_trace(at)
    assert not at.error, [e.value for e in at.error]
    return rerun_until(at, lambda a: bool(a.success), seconds=60)


def expected_points(config: ToMConfig, tmp_path: Path) -> list[dict[str, Any]]:
    """The curve points of ``config`` computed outside the app, on a store of their own."""
    task = ToMTask(config)
    result = run_sweep(task, store=f"sqlite:///{tmp_path / 'expected.db'}", progress=False)
    return normalise_points(task.curves(result.payloads))


def table(at: AppTest, column: str) -> list[dict[str, Any]]:
    """The rows of the page's table that has ``column``."""
    frame = next(d.value for d in at.dataframe if column in d.value.columns)
    rows: list[dict[str, Any]] = frame.to_dict("records")
    return rows


def test_launch_an_example_with_overrides_shows_progress_curves_and_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'app.db'}"
    at = open_page(PAGE, db, monkeypatch)
    no_trace(at)
    assert at.selectbox(key="tom_example").value == "tom_default.yaml"
    assert "tutoring_default.yaml" not in at.selectbox(key="tom_example").options
    at.number_input(key="tom_seeds").set_value(1)
    at.number_input(key="tom_cohort").set_value(3)
    at.number_input(key="tom_limit").set_value(3)
    at.button(key="tom_run").click().run()
    assert at.progress, "a progress bar while the sweep runs"
    assert at.progress[0].proto.text.startswith("stage ")
    rerun_until(at, lambda a: bool(a.success), seconds=60)
    no_trace(at)

    config = ToMConfig.from_yaml(ROOT / "examples/sweeps/tom_default.yaml")
    data = config.model_dump()
    data["seeds"], data["students"]["cohort"], data["dataset"]["limit"] = 1, 3, 3
    config = ToMConfig.model_validate(data)
    stored = SweepStore(db).sweeps()
    assert [s.config_hash for s in stored] == [ToMTask(config).config_hash()]
    points = stored[0].meta["curves"]
    assert at.success[0].value.startswith(f"sweep {stored[0].config_hash[:12]}: ")
    assert any("SIMULATION" in w.value for w in at.warning)

    rows = table(at, "95% CI low")
    assert len(rows) == len(points) > 0
    for row, point in zip(rows, points, strict=True):
        assert (row["strategy"], row["metric"]) == (point["strategy"], point["metric"])
        assert row["budget"] == pytest.approx(point["budget"])
        assert row["mean"] == pytest.approx(point["mean"])
        assert row["95% CI low"] == pytest.approx(point["low"])
    assert at.image, "the accuracy-vs-budget curves"


def test_upload_two_sweeps_and_compare_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'app.db'}"
    at = open_page(PAGE, db, monkeypatch)
    at.file_uploader(key="tom_upload").upload("small.yaml", SMALL, "application/x-yaml")
    launch(at)
    at.number_input(key="tom_seeds").set_value(2)
    launch(at)
    hashes = {s.config_hash: s for s in SweepStore(db).sweeps()}
    assert len(hashes) == 2
    small = ToMConfig.model_validate(yaml.safe_load(SMALL))
    assert hashes[ToMTask(small).config_hash()].meta["curves"] == expected_points(small, tmp_path)

    a, b = (at.selectbox(key=k).value for k in ("tom_compare_a", "tom_compare_b"))
    assert a != b and {a, b} == set(hashes)
    diffs = compare_points(hashes[a].meta["curves"], hashes[b].meta["curves"])
    rows = table(at, "B − A")
    assert len(rows) == len(diffs) > 0
    for row, diff in zip(rows, diffs, strict=True):
        assert (row["strategy"], row["budget"]) == (diff.strategy, pytest.approx(diff.at))
        assert row["B − A"] == pytest.approx(diff.diff)
    no_trace(at)


def test_a_bad_upload_is_an_error_box_naming_the_file_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page(PAGE, f"sqlite:///{tmp_path / 'app.db'}", monkeypatch)
    at.file_uploader(key="tom_upload").upload("mine.yaml", b"seeds: 1\nbudgets: [2]\n")
    at.button(key="tom_run").click().run()
    no_trace(at)
    assert len(at.error) == 1
    message = at.error[0].value
    assert "mine.yaml:2" in message and "budgets" in message, message
    assert "tom_job" not in at.session_state["lyceum"].extra

    at.file_uploader(key="tom_upload").set_value(("typo.yaml", b"seedz: 1\n", "text/yaml"))
    at.button(key="tom_run").click().run()
    assert at.error[0].value.startswith("typo.yaml:1: field 'seedz': unknown field")


def test_missing_data_is_an_error_box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LYCEUM_DATA_DIR", raising=False)
    at = open_page(PAGE, f"sqlite:///{tmp_path / 'app.db'}", monkeypatch)
    at.selectbox(key="tom_example").set_value("gsm8k_simulated.yaml")
    at.button(key="tom_run").click().run()
    no_trace(at)
    assert "LYCEUM_DATA_DIR" in at.error[0].value


def test_stopping_a_sweep_is_an_info_box_and_two_sessions_do_not_share_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'app.db'}"
    first = open_page(PAGE, db, monkeypatch)
    second = open_page(PAGE, db, monkeypatch)
    first.number_input(key="tom_seeds").set_value(1)  # the default cohort: a longer sweep
    first.button(key="tom_run").click().run()
    assert first.progress and not second.run().progress
    first.button(key="tom_stop").click().run()
    rerun_until(first, stopped, seconds=60)
    no_trace(first)
    assert not first.error and not first.success
    assert first.session_state["lyceum"].extra["tom_job"].state == "cancelled"
    second.run()
    assert (
        not second.progress
        and not second.success
        and "tom_job" not in (second.session_state["lyceum"].extra)
    )


def test_run_sweep_reports_progress_per_stage(tmp_path: Path) -> None:
    seen: list[tuple[int, int, int]] = []
    config = ToMConfig.model_validate(
        {"students": {"cohort": 2}, "mental_model": {"population": 10}, "seeds": 1}
    )
    result = run_sweep(
        ToMTask(config),
        store=f"sqlite:///{tmp_path / 's.db'}",
        progress=False,
        on_progress=lambda *p: seen.append(p),
    )
    starts = [p for p in seen if p[1] == 0]
    assert [s[0] for s in starts] == [0, 1, 2]
    for stage, _, total in starts:
        counts = [done for s, done, _ in seen if s == stage]
        assert counts == sorted(counts) and counts[-1] == total
    assert sum(s[2] for s in starts) == result.ran == len(result.units)
