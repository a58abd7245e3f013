"""Runs: browse the runs stored in the app's database (``lyceum ui --db``), filter them by
status, graph and text, and open one: step through its transcript (with a classroom's
charts as they stood at that step), or re-run it with its recorded model replies
(``Runtime.replay``) and see whether it reproduces.

Only graphs whose factory an installed package registers under the ``lyceum.graphs``
entry points are rebuilt for a replay (``agents.cli.rebuild``): a store is data, not code.
"""

from __future__ import annotations

import asyncio
from typing import Any

import streamlit as st

from agents import Runtime, SqlRunStore
from agents.cli import render_message
from agents.cli.rebuild import rebuild_graph
from agents.store import RunRecord
from protocols import Message
from ui.classroom_panel import is_classroom_run, render_classroom
from ui.common import db_url, shown_errors

STATUSES = ["running", "completed", "stopped", "interrupted", "error"]


def graph_name(run: RunRecord) -> str:
    """The factory (or YAML file) a run's graph was built by, or ``"python"``."""
    source = run.graph_source or {}
    return str(source.get("factory") or source.get("yaml") or "python")


def _haystack(run: RunRecord) -> str:
    first = run.initial_message
    parts = [run.id, run.status, run.stop_reason or "", run.stop_detail or "", graph_name(run)]
    parts.append(str(getattr(first, "task", "") or first.content()))
    return " ".join(parts).lower()


def filtered(runs: list[RunRecord]) -> list[RunRecord]:
    """The filter widgets, and the runs that pass them."""
    cols = st.columns([2, 2, 3])
    statuses = cols[0].multiselect("Status", STATUSES, key="runs_status")
    graphs = sorted({graph_name(r) for r in runs})
    graph = cols[1].selectbox("Graph", ["any", *graphs], key="runs_graph")
    text = cols[2].text_input("Search (id, task, stop reason)", key="runs_search").strip().lower()
    return [
        r
        for r in runs
        if (not statuses or r.status in statuses)
        and (graph in (None, "any") or graph_name(r) == graph)
        and (not text or text in _haystack(r))
    ]


def _label(runs: dict[str, RunRecord]) -> Any:
    def label(run_id: str) -> str:
        r = runs[run_id]
        return f"{run_id[:12]} · {r.created_at:%Y-%m-%d %H:%M:%S} · {r.status} · {graph_name(r)}"

    return label


def _step_buttons(total: int) -> None:
    def move(delta: int) -> None:
        now = int(st.session_state.get("runs_step", total))
        st.session_state["runs_step"] = min(total, max(1, now + delta))

    left, right, _ = st.columns([1, 1, 6])
    left.button("◀ Previous", key="runs_prev", on_click=move, args=(-1,))
    right.button("Next ▶", key="runs_next", on_click=move, args=(1,))


def transcript(run: RunRecord, messages: list[Message]) -> None:
    """Step through the stored transcript; a classroom run shows its charts as of the
    step shown."""
    total = len(messages)
    if total == 0:
        st.info("This run has no messages.")
        return
    if st.session_state.get("runs_step_of") != run.id:  # a newly opened run: show it all
        st.session_state["runs_step_of"] = run.id
        st.session_state["runs_step"] = total
    if total > 1:
        _step_buttons(total)
        st.slider("Messages shown (replay)", 1, total, key="runs_step")
    shown = messages[: int(st.session_state.get("runs_step", total))]
    if is_classroom_run(messages, run.graph_source):
        config = ((run.graph_source or {}).get("kwargs") or {}).get("config") or {}
        simulated = not config.get("model")
        render_classroom(shown, key="runs", simulated=simulated)
        return
    with st.container(height=520, key="runs_transcript"):
        for i, message in enumerate(shown):
            st.markdown(f"`{i}` {render_message(message)}")


def replay(run: RunRecord, store: SqlRunStore) -> None:
    """Re-run ``run`` with its recorded model replies and compare the transcripts."""
    config = ((run.graph_source or {}).get("kwargs") or {}).get("config") or {}
    if config.get("human"):
        st.info("This run had a real student; it cannot be replayed without them.")
        return
    if not st.button("Replay with the recorded model replies", key="runs_replay"):
        return
    with shown_errors(), st.spinner("Replaying…"):
        graph = rebuild_graph(run.id, run.graph_source)
        report = asyncio.run(Runtime(store).replay(run.id, graph))
        new = report.result.run_id[:12]
        if report.identical:
            st.success(f"Replayed as run {new}: the transcript is identical.")
        else:
            st.warning(
                f"Replayed as run {new}: the transcripts differ from message "
                f"{report.first_difference}."
            )


def details(run: RunRecord, store: SqlRunStore) -> None:
    """One run: its outcome, transcript, replay and graph."""
    cols = st.columns(4)
    cols[0].metric("Status", run.status)
    cols[1].metric("Stored messages", run.message_count)
    cols[2].metric("Seed", run.seed)
    cols[3].metric("Graph", graph_name(run).rsplit(":", 1)[-1])
    if run.stop_reason:
        st.caption(f"Stopped: {run.stop_reason}: {run.stop_detail or ''}")
    transcript(run, store.messages(run.id))
    with st.expander("Replay and graph", key="runs_more"):
        replay(run, store)
        st.code(run.graph_mermaid, language="mermaid")


def main() -> None:
    st.title("Runs")
    with shown_errors(), SqlRunStore(db_url()) as store:
        st.caption(f"Stored in {store.display_url}.")
        limit = int(st.number_input("Newest runs listed", 1, 10_000, 200, key="runs_limit"))
        runs = filtered(store.list_runs(limit))
        if not runs:
            st.info("No runs match. Run a lesson on the Classroom page, or `lyceum run`.")
            return
        st.dataframe(
            [
                {
                    "run": r.id[:12],
                    "created": r.created_at,
                    "status": r.status,
                    "stop": r.stop_reason,
                    "messages": r.message_count,
                    "graph": graph_name(r),
                }
                for r in runs
            ],
            hide_index=True,
        )
        by_id = {r.id: r for r in runs}
        picked = st.selectbox("Open run", list(by_id), format_func=_label(by_id), key="runs_open")
        if picked is not None:
            st.divider()
            details(by_id[picked], store)


main()
