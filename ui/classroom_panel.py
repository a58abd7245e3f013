"""How the app shows a classroom run, live (the messages so far) or stored: the transcript
(who spoke, the kind, the text; the teacher's Think/Plan on demand), each student's quiz
mastery over the lesson steps, the teacher's estimate next to the simulated truth, and the
reviewer's verdicts. Both the Classroom and the Runs page use it.

Everything is computed by ``agents.classroom.classroom_view`` from the messages, and the
pictures are the report's (``quiz_figure``, ``estimate_figure``), so the app, the terminal
and the HTML report agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from agents.classroom import (
    ClassroomView,
    TranscriptRow,
    classroom_view,
    estimate_figure,
    png_bytes,
    quiz_figure,
)
from protocols import Envelope, LessonStep, Message
from ui.common import session, simulation_label

__all__ = ["MIXED_NOTE", "is_classroom_run", "render_classroom", "transcript_lines"]

MIXED_NOTE = (
    "SIMULATION: the students are simulated learners, so their quiz scores and true "
    "mastery describe the simulation; the teacher, teaching assistant or classmates ran on "
    "an LLM (as the run's config says)."
)
"""The label of a classroom whose students are simulated but some roles ran on an LLM."""

HIDDEN_KINDS = frozenset({"mastery"})
"""Kinds left out of the transcript unless asked for (the charts show them)."""


def is_classroom_run(messages: Sequence[Envelope], source: dict[str, Any] | None = None) -> bool:
    """Whether a run is a classroom's: built by its factory, or with lesson steps."""
    factory = str((source or {}).get("factory", ""))
    return factory.endswith(":build_classroom_graph") or any(
        isinstance(m, LessonStep) for m in messages
    )


def _line(row: TranscriptRow) -> str:
    to = ", ".join(row.recipients) or "-"
    text = row.text.replace("\n", " ")
    return f"**{row.sender}** → {to} · _{row.kind}_: {text}"


def transcript_lines(
    view: ClassroomView, *, reasoning: bool = False, mastery: bool = False
) -> list[tuple[int | None, str]]:
    """(step, markdown line) of each transcript row shown: Think/Plan rows only with
    ``reasoning``, mastery reports only with ``mastery``."""
    return [
        (row.step, _line(row))
        for row in view.rows
        if (reasoning or not row.reasoning) and (mastery or row.kind not in HIDDEN_KINDS)
    ]


def _transcript(view: ClassroomView, key: str, newest_first: bool) -> None:
    left, middle, right = st.columns(3)
    reasoning = left.toggle("Show the teacher's Think/Plan", key=f"{key}_reasoning")
    mastery = middle.toggle("Show mastery reports", key=f"{key}_mastery_rows")
    newest = right.toggle("Newest first", value=newest_first, key=f"{key}_newest")
    titles = {s.index: f"step {s.index}: {s.step} {s.skill or s.concept}" for s in view.steps}
    shown = transcript_lines(view, reasoning=reasoning, mastery=mastery)
    with st.container(height=480, key=f"{key}_transcript"):
        current: int | None = -1
        lines: list[str] = []
        for step, line in reversed(shown) if newest else shown:
            if step != current:
                if lines:
                    st.markdown("  \n".join(lines))
                lines = []
                current = step
                if step is not None:
                    st.caption(titles.get(step, f"step {step}"))
            lines.append(line)
        if lines:
            st.markdown("  \n".join(lines))
    thoughts = [r for r in view.rows if r.reasoning]
    with st.expander(f"The teacher's Think/Plan ({len(thoughts)})", key=f"{key}_thoughts"):
        for row in thoughts:
            st.markdown(f"`step {row.step}` {_line(row)}")


def _figures(view: ClassroomView, key: str) -> tuple[bytes, bytes]:
    """The two pictures as PNG, drawn again only when a new mastery figure arrived."""
    cache: dict[str, Any] = session().extra.setdefault("classroom_figures", {})
    stamp = (len(view.averages), len(view.steps))
    if cache.get(key, (None,))[0] != stamp:
        cache[key] = (stamp, png_bytes(quiz_figure(view)), png_bytes(estimate_figure(view)))
    return cache[key][1], cache[key][2]


def _charts(view: ClassroomView, key: str, quiz: bytes) -> None:
    with st.container(key=f"{key}_mastery"):
        st.subheader("Quiz mastery per student")
        st.image(quiz)
    summary = view.summary()
    if summary:
        st.dataframe(
            [
                {
                    "student": s.student,
                    "quizzes": ", ".join(f"{q:.2f}" for q in s.quizzes),
                    "last quiz": s.last_quiz,
                    "teacher's estimate": s.estimate,
                    "simulated truth": s.truth,
                }
                for s in summary
            ],
            hide_index=True,
        )


def _reviews(view: ClassroomView, key: str) -> None:
    with st.container(key=f"{key}_reviews"):
        st.subheader("Reviewer verdicts")
        if not view.reviews:
            st.caption("No reviews (the reviewer gate is off, or has not spoken yet).")
            return
        counts = view.verdicts()
        left, right = st.columns(2)
        left.metric("Approved", counts["approved"])
        right.metric("Changes requested", counts["changes requested"])
        for review in view.reviews:
            verdict = "approved" if review.approved else "changes requested"
            said = f" on “{review.reviewed}”" if review.reviewed else ""
            issues = f" (issues: {', '.join(review.issues)})" if review.issues else ""
            st.markdown(
                f"`step {review.step}` **{review.reviewer}**: {verdict}{said}: "
                f"{review.critique}{issues}"
            )


def render_classroom(
    messages: Sequence[Message], *, key: str, simulated: bool, newest_first: bool = False
) -> ClassroomView:
    """Show a classroom run from its messages; ``key`` prefixes every widget and container
    key (``{key}_transcript``, ``{key}_mastery``, ``{key}_estimates``, ``{key}_reviews``);
    ``simulated`` says every role ran on a simulated mind (else the teacher, assistant or
    classmates ran on an LLM); either way the students are simulated learners, so a
    SIMULATION label says what the figures describe. ``newest_first`` is the transcript
    order until the user flips it."""
    view = classroom_view(messages)
    if simulated:
        simulation_label("Simulated classroom.")
    else:
        st.warning(MIXED_NOTE, icon=":material/science:")
    steps = len(view.steps)
    cols = st.columns(4)
    cols[0].metric("Lesson", view.lesson or "-")
    cols[1].metric("Steps begun", steps)
    cols[2].metric("Messages", len(view.rows))
    cols[3].metric("Students measured", len(view.students))
    if view.stop:
        st.caption(f"Stopped: {view.stop}")
    quiz, estimate = _figures(view, key)
    transcript, charts = st.columns([3, 2])
    with transcript:
        _transcript(view, key, newest_first)
    with charts:
        _charts(view, key, quiz)
    with st.container(key=f"{key}_estimates"):
        st.subheader("The teacher's estimate next to the simulated truth")
        st.image(estimate)
    _reviews(view, key)
    return view
