"""``lyceum eval``: a sweep from its config file, its outputs (tables, plots, reports),
resuming, listing, comparing, and clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from agents.cli import main as cli

TASK = "tests.sweep_tasks:FakeTask"
CONFIG = "items: 4\nseeds: 3\nstrategies: [none, signal]\nbudgets: [0.0, 0.5, 1.0]\n"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def sweep(tmp_path: Path, name: str, config: str = CONFIG, *more: str) -> tuple[int, str]:
    path = tmp_path / f"{name}.yaml"
    path.write_text(config)
    db = str(tmp_path / "sweeps.db")
    return run("eval", "run", "--task", TASK, "--config", str(path), "--db", db, *more)


def test_a_sweep_writes_its_tables_plots_and_reports(tmp_path: Path) -> None:
    import pandas as pd

    out = tmp_path / "out"
    code, output = sweep(tmp_path, "a", CONFIG, "--out", str(out), "--no-progress")
    assert code == 0, output
    units = 3 * 4 + 3 * 2 * 3 * 4
    assert "SIMULATION" in output
    assert f"{units} units, 0 reused" in output
    table = pd.read_csv(out / "results.csv").fillna({"strategy": ""})  # "" reads as NaN
    assert len(table) == units
    assert list(table.columns[:7]) == [
        "config_hash", "kind", "item", "strategy", "budget", "seed", "seconds"
    ]
    parquet = pd.read_parquet(out / "results.parquet")
    assert list(parquet.columns) == list(table.columns)
    keys = ["kind", "item", "strategy", "budget", "seed", "score"]
    pd.testing.assert_frame_equal(parquet[keys], table[keys], check_dtype=False)
    episodes = parquet["kind"] == "episode"
    assert list(parquet[episodes]["correct"]) == list(table[episodes]["correct"])
    curves = pd.read_csv(out / "curves.csv")
    assert len(curves) == 2 * 3 and set(curves["strategy"]) == {"none", "signal"}
    assert ((curves["low"] <= curves["mean"]) & (curves["mean"] <= curves["high"])).all()
    assert (out / "accuracy_vs_budget.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (out / "accuracy_vs_budget.svg").read_text()

    manifest = json.loads((out / "sweep.json").read_text())
    report = (out / "report.md").read_text()
    for stated in (
        manifest["config_hash"],
        manifest["data_sha256"],
        manifest["code_version"],
        "simulated (SIMULATION)",
        "![accuracy vs budget (95% CI over seeds)](accuracy_vs_budget.png)",
        "strategies:\n- none\n- signal",
        "explained items answered correctly:",
    ):
        assert stated in report, stated
    html = (out / "report.html").read_text()
    assert html.count("<svg") == 1 and manifest["data_sha256"] in html
    assert "<li>explained items answered correctly:" in html


def test_a_rerun_resumes_and_says_how_many_units_it_reused(tmp_path: Path) -> None:
    assert sweep(tmp_path, "a", CONFIG, "--no-progress")[0] == 0
    code, output = sweep(tmp_path, "a", CONFIG)
    assert code == 0, output
    assert "84 units, 84 reused from sqlite:///" in output and ", 0 run" in output
    code, listing = run("eval", "sweeps", "--db", str(tmp_path / "sweeps.db"))
    assert code == 0 and "tom" in listing and "simulated" in listing and " 84 " in listing


def test_the_progress_bar_shows_an_eta(tmp_path: Path) -> None:
    code, output = sweep(tmp_path, "a", CONFIG)
    assert code == 0, output
    assert "tom stage 1" in output and "ETA" in output


def test_compare_diffs_two_sweeps_point_by_point(tmp_path: Path) -> None:
    other = CONFIG.replace("items: 4", "items: 5")
    assert sweep(tmp_path, "a", CONFIG, "--out", str(tmp_path / "A"), "--no-progress")[0] == 0
    assert sweep(tmp_path, "b", other, "--out", str(tmp_path / "B"), "--no-progress")[0] == 0
    code, output = run("eval", "compare", str(tmp_path / "A"), str(tmp_path / "B"), "--json")
    assert code == 0, output
    diffs = json.loads(output)
    a = {(r["strategy"], r["budget"]): r["mean"] for r in json.loads(
        (tmp_path / "A" / "sweep.json").read_text())["curves"]}
    b = {(r["strategy"], r["budget"]): r["mean"] for r in json.loads(
        (tmp_path / "B" / "sweep.json").read_text())["curves"]}
    assert len(diffs) == 6
    for d in diffs:
        at = (d["strategy"], d["at"])
        assert d["diff"] == pytest.approx(b[at] - a[at])
        assert (d["a"], d["b"]) == (a[at], b[at])

    hashes = [json.loads((tmp_path / x / "sweep.json").read_text())["config_hash"] for x in "AB"]
    db = str(tmp_path / "sweeps.db")
    code, table = run("eval", "compare", hashes[0][:10], hashes[1][:10], "--db", db)
    assert code == 0, table
    assert "B - A" in table and "signal" in table


def test_tutoring_sweeps_plot_success_and_telling_at_k(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(CONFIG)
    out = tmp_path / "out"
    code, output = run(
        "eval", "run", "--task", "tests.sweep_tasks:FakeTutoringTask", "--config", str(path),
        "--db", str(tmp_path / "s.db"), "--out", str(out), "--no-progress",
    )
    assert code == 0, output
    assert {p.name for p in out.glob("*_at_k.*")} == {
        "success_at_k.png", "success_at_k.svg", "telling_at_k.png", "telling_at_k.svg"
    }
    assert (out / "report.html").read_text().count("<svg") == 2
    report = (out / "report.md").read_text()
    assert "![success@k (95% CI over dialogues)](success_at_k.png)" in report


@pytest.mark.parametrize(
    ("config", "args", "message"),
    [
        ("itemz: 4\n", (), "a.yaml:1: field 'itemz': unknown field (allowed: budgets, delay,"),
        ("items: 0\n", (), "a.yaml:1: field 'items': Input should be greater than or equal to 1"),
        (CONFIG, ("--executor", "local", "--address", "h:1"), "--address names a Ray cluster"),
    ],
    ids=["typo", "bad-value", "address-without-ray"],
)
def test_bad_input_is_one_clear_error(
    tmp_path: Path, config: str, args: tuple[str, ...], message: str
) -> None:
    code, output = sweep(tmp_path, "a", config, "--no-progress", *args)
    assert code == 2, output
    assert message in output


def test_unknown_tasks_and_sweeps_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(CONFIG)
    code, output = run("eval", "run", "--task", "nosuch.mod:Task", "--config",
                       str(tmp_path / "c.yaml"))
    assert code == 2 and "cannot import 'nosuch.mod' for the sweep task" in output
    code, output = run("eval", "compare", "abc", str(tmp_path), "--db", str(tmp_path / "s.db"))
    assert code == 2 and "no sweep matches 'abc'" in output


def test_skipped_records_are_counted_in_the_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, output = sweep(tmp_path, "a", CONFIG, "--skip-bad", "--out", str(out), "--no-progress")
    assert code == 0, output
    report = (out / "report.md").read_text()
    assert "| Skipped malformed records | 1 |" in report
    assert "- fake.jsonl:3: field 'answer' is missing" in report


TINY_TOM = """\
students: {kind: simulated, cohort: 3}
mental_model: {kind: estimating, population: 10}
strategies: [none, expected_utility]
budgets: [0, 0.5]
seeds: 2
multi_turn: false
"""


@pytest.mark.slow
def test_lyceum_eval_tom_runs_the_real_sweep_and_resumes(tmp_path: Path) -> None:
    import re

    config, out, db = tmp_path / "tom.yaml", tmp_path / "out", str(tmp_path / "s.db")
    config.write_text(TINY_TOM)
    args = ("eval", "tom", "--config", str(config), "--db", db, "--no-progress")
    code, output = run(*args, "--out", str(out))
    assert code == 0, output
    units = int(re.search(r"\): (\d+) units, 0 reused", output).group(1))  # type: ignore[union-attr]
    report = (out / "report.md").read_text()
    assert re.search(r"\| Data hash \(sha256\) \| `[0-9a-f]{64}` \|", report), report
    assert "| Students | simulated (SIMULATION) |" in report
    curves = json.loads((out / "sweep.json").read_text())["curves"]
    assert {(c["strategy"], c["budget"]) for c in curves} >= {
        ("none", 0.0), ("none", 0.5), ("expected_utility", 0.0), ("expected_utility", 0.5)
    }
    code, output = run(*args)
    assert code == 0, output
    assert f"{units} units, {units} reused from sqlite:///" in output and ", 0 run," in output


def test_compare_takes_a_name_too_long_for_a_path_as_an_unknown_sweep(tmp_path: Path) -> None:
    """Found by tests/test_cli_fuzz.py: ``Path.is_dir`` raised ENAMETOOLONG."""
    code, output = run("eval", "compare", "x" * 100_000, "a.yaml", "--db", str(tmp_path / "s.db"))
    assert code == 2 and output.count("\n") == 1
    assert output.startswith("error: no sweep matches 'xxx")


def test_a_data_path_too_long_to_look_up_is_a_config_error() -> None:
    from agents.eval import load_dataset
    from protocols import ConfigError

    with pytest.raises(ConfigError, match=r"not a usable path.*pass the gsm8k file"):
        load_dataset("gsm8k", "x" * 100_000)


def test_an_out_folder_that_cannot_be_written_is_an_error_before_the_sweep(
    tmp_path: Path,
) -> None:
    (tmp_path / "file").write_text("")
    code, output = sweep(tmp_path, "a", CONFIG, "--out", str(tmp_path / "file" / "out"))
    assert code == 2 and "--out" in output and "cannot write there" in output
    assert "Traceback" not in output and not (tmp_path / "sweeps.db").exists()
