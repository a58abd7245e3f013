"""ToM evaluation: configure and launch a theory-of-mind sweep with a progress bar, view
the accuracy-vs-budget curves and tables of stored sweeps, and compare two sweeps.

The sweep runs ``agents.eval.arun_sweep`` in a background job of this browser session
(``ui.live.LiveJob``); its units are stored in the app's database as they finish, so a
stopped sweep resumes where it stopped when launched again.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from agents.eval import SweepStore, ToMConfig, ToMTask, arun_sweep, compare_points, load_points
from agents.eval.plots import normalise_points, plot_curves
from protocols import ConfigError, UserError
from ui.common import (
    db_url,
    error_box,
    load_upload,
    session,
    shown_errors,
    simulation_label,
)
from ui.live import LiveJob

# The example sweep configs offered (a source checkout's examples/sweeps). Comments, not
# docstrings: Streamlit's "magic" would show a bare string on the page.
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sweeps"
JOB = "tom_job"  # this session's sweep job in session().extra


def example_configs() -> dict[str, Path]:
    """The ToM sweep configs under ``EXAMPLES`` (files that are valid ``ToMConfig``s), by
    file name."""
    found = {}
    for path in sorted(EXAMPLES.glob("*.yaml")) if EXAMPLES.is_dir() else []:
        try:
            ToMConfig.from_yaml(path)
        except ConfigError:
            continue  # another kind of sweep (tutoring)
        found[path.name] = path
    return found


def _uploaded_task(name: str, data: bytes) -> ToMTask:
    """The task of an uploaded YAML file (relative data paths are read from the working
    folder); errors name the upload's file name."""
    return ToMTask(load_upload(name, data, ToMConfig.from_yaml), base_dir=Path.cwd())


def _overridden(task: ToMTask, seeds: int | None, limit: int | None, cohort: int | None) -> ToMTask:
    """``task`` with the page's overrides (None keeps the config's value), validated."""
    data: dict[str, Any] = task.config.model_dump(mode="json")
    if seeds is not None:
        data["seeds"] = seeds
    if limit is not None:
        data["dataset"]["limit"] = limit
    if cohort is not None:
        data["students"]["cohort"] = cohort
    return ToMTask(ToMConfig.model_validate(data), base_dir=task.base_dir)


async def _sweep(job: LiveJob[Any], task: ToMTask, url: str) -> dict[str, Any]:
    """Run the sweep, store its curve points (as ``lyceum eval tom`` does), and return
    what the page shows when it ends."""
    with SweepStore(url) as store:
        result = await arun_sweep(
            task, store=store, progress=False, on_progress=lambda *p: job.push(p)
        )
        points = normalise_points(task.curves(result.payloads))
        store.update_meta(result.config_hash, curves=points)
    return {
        "config_hash": result.config_hash,
        "units": len(result.units),
        "reused": result.reused,
        "ran": result.ran,
        "seconds": result.seconds,
    }


def launch_form() -> None:
    """Pick a config (an example or an upload), override seeds / limit / cohort, launch."""
    examples = example_configs()
    names = list(examples)
    first = names.index("tom_default.yaml") if "tom_default.yaml" in names else 0
    choice = st.selectbox("Example config", names, index=first, key="tom_example")
    if choice is not None:
        with st.expander(f"{choice}", key="tom_config_text"):
            st.code(examples[choice].read_text(), language="yaml")
    upload = st.file_uploader(
        "Or upload a sweep config (YAML)", type=["yaml", "yml"], key="tom_upload"
    )
    fields = [("Seeds", "tom_seeds", 100), ("Item limit", "tom_limit", None)]
    fields.append(("Students per seed", "tom_cohort", 10_000))
    seeds, limit, cohort = (
        col.number_input(
            label, min_value=1, max_value=top, value=None, key=key, placeholder="as in the config"
        )
        for col, (label, key, top) in zip(st.columns(3), fields, strict=True)
    )
    job: LiveJob[Any] | None = session().extra.get(JOB)
    busy = job is not None and job.running
    if not st.button("Run sweep", key="tom_run", type="primary", disabled=busy):
        return
    with shown_errors():
        if upload is not None:
            task = _uploaded_task(upload.name, upload.getvalue())
        elif choice is not None:
            task = ToMTask.from_config(examples[choice])
        else:
            raise UserError("no sweep config: upload a YAML file")
        task = _overridden(
            task,
            None if seeds is None else int(seeds),
            None if limit is None else int(limit),
            None if cohort is None else int(cohort),
        )
        task.config_hash()  # reads the data now: a missing data set is an error box here
        url = db_url()
        session().extra[JOB] = LiveJob(lambda j: _sweep(j, task, url), "tom sweep")
        session().extra["tom_progress"] = (0, 0, 0)
        session().extra["tom_kind"] = task.student_kind


def progress_panel() -> None:
    """The sweep's progress, polled every second while it runs, then its outcome."""
    job: LiveJob[Any] | None = session().extra.get(JOB)
    if job is not None:
        st.fragment(run_every=1.0 if job.running else None)(_progress)(job)


def _progress(job: LiveJob[Any]) -> None:
    for stage, done, total in job.drain():
        session().extra["tom_progress"] = (stage, done, total)
    stage, done, total = session().extra.get("tom_progress", (0, 0, 0))
    if session().extra.get("tom_polling") and not job.running:
        session().extra["tom_polling"] = False
        st.rerun()  # the whole page: stop polling, list the new sweep
    session().extra["tom_polling"] = job.running
    if job.running:
        fraction = done / total if total else 0.0
        st.progress(fraction, text=f"stage {stage + 1} of 3: {done} of {total} units")
        if st.button("Stop sweep", key="tom_stop"):
            job.stop()
        return
    if job.state == "done" and job.result is not None:
        r = job.result
        st.success(
            f"sweep {r['config_hash'][:12]}: {r['units']} units, {r['reused']} reused from "
            f"the store, {r['ran']} run, {r['seconds']:.1f} s"
        )
        if session().extra.get("tom_kind") == "simulated":
            simulation_label("Simulated students.")
    elif job.state == "cancelled":
        st.info("Sweep stopped. The units it finished are stored; run it again to resume.")
    elif job.error is not None:
        error_box(job.error)


def _sweep_label(sweeps: dict[str, Any]) -> Any:
    def label(config_hash: str) -> str:
        s = sweeps[config_hash]
        return f"{config_hash[:12]} · {s.kind} · {s.units} units · {s.updated_at:%Y-%m-%d %H:%M}"

    return label


def _curve_images(points: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for plot in plot_curves(points, Path(tmp)):
            st.image(plot.png.read_bytes(), caption=plot.title)


def _points_table(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "strategy": p["strategy"],
            "metric": p["metric"],
            p["x"]: p["budget"] if p["x"] == "budget" else p["k"],
            "mean": p["mean"],
            "95% CI low": p["low"],
            "95% CI high": p["high"],
            "n": p.get("n"),
        }
        for p in points
    ]


def results_panel(store: SweepStore) -> None:
    """The stored sweeps: pick one, see its curves and its table."""
    sweeps = {s.config_hash: s for s in store.sweeps()}
    if not sweeps:
        st.info(f"No sweeps stored in {store.display_url} yet: run one above.")
        return
    picked = st.selectbox("Sweep", list(sweeps), format_func=_sweep_label(sweeps), key="tom_sweep")
    if picked is None:
        return
    sweep = sweeps[picked]
    if sweep.meta.get("student_kind") == "simulated":
        simulation_label("Simulated students.")
    points = sweep.meta.get("curves")
    if not points:
        st.info("This sweep has no curves yet (it never finished); run it again to resume it.")
        return
    _curve_images(points)
    st.dataframe(_points_table(points), key="tom_table", hide_index=True)


def compare_panel(store: SweepStore) -> None:
    """Two stored sweeps side by side: B − A at every curve point, and their curves."""
    sweeps = {s.config_hash: s for s in store.sweeps() if s.meta.get("curves")}
    if len(sweeps) < 2:
        st.info("Comparing needs two finished sweeps in the store.")
        return
    names = list(sweeps)
    label = _sweep_label(sweeps)
    a = st.selectbox("Sweep A", names, format_func=label, key="tom_compare_a")
    b = st.selectbox("Sweep B", names, index=1, format_func=label, key="tom_compare_b")
    if a is None or b is None:
        return
    with shown_errors():
        (_, left), (_, right) = load_points(a, store), load_points(b, store)
        diffs = compare_points(left, right)
        st.dataframe(
            [
                {
                    "metric": d.metric,
                    "strategy": d.strategy,
                    d.x: d.at,
                    "A": d.a,
                    "B": d.b,
                    "B − A": d.diff,
                    "95% CIs overlap": d.overlap,
                }
                for d in diffs
            ],
            key="tom_compare_table",
            hide_index=True,
        )
        both = [{**p, "strategy": f"A: {p['strategy']}"} for p in left]
        both += [{**p, "strategy": f"B: {p['strategy']}"} for p in right]
        _curve_images(both)


def main() -> None:
    st.title("ToM evaluation")
    st.caption(
        "Theory-of-mind intervention sweeps (Saha, Hase & Bansal, 2023): which items a "
        "teacher explains, under a budget, by its model of the student."
    )
    launch, results, compare = st.tabs(["Run a sweep", "Results", "Compare"])
    with launch:
        launch_form()
        progress_panel()
    with SweepStore(db_url()) as store:
        with results, shown_errors():
            results_panel(store)
        with compare:
            compare_panel(store)


main()
