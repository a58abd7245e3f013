"""Classroom: configure a lesson (students and their profiles, turns, seed, the reviewer
gate, the classmates and the teaching assistant, and whether you join as a student), run
it live with messages streaming in, and stop it.

The run is ``agents.classroom.run_classroom`` in a background job of this browser session
(``ui.live.LiveJob``) on a ``Runtime`` that stores it in the app's database, so it appears
on the Runs page. The page polls the job twice a second while it runs. Which mind runs
each role, and the model endpoint, come from the Models page (``session().minds`` and
``session().endpoint``). A stopped run is recorded ``interrupted``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import streamlit as st

from agents import QueueInput, RunResult, Runtime, SqlRunStore
from agents.classroom import (
    CLASSMATE_ROLES,
    ClassroomConfig,
    StudentSpec,
    classroom_kg,
    lesson_names,
    lesson_script,
    load_classroom_config,
    roster,
    run_classroom,
)
from personas import PROFILES
from protocols import Event, MessageSent, RunStarted
from protocols.secrets import mask_url
from ui.classroom_panel import render_classroom, report_button
from ui.common import db_url, error_box, load_upload, session, shown_errors
from ui.live import LiveJob

Role = Literal["teacher", "teaching_assistant", "classmates"]

JOB = "classroom_job"  # this session's run in session().extra (a comment: see tom.py)


class Live:
    """A classroom run under way in this session: its job, the messages so far, its run
    id once started, its config, and the human student's input (when one joined)."""

    def __init__(self, config: ClassroomConfig, human: QueueInput | None, pace: float) -> None:
        self.config = config
        self.human = human
        self.messages: list[Any] = []
        self.run_id: str | None = None
        url = db_url()
        self.job: LiveJob[RunResult] = LiveJob(lambda job: self._run(job, url, pace), "classroom")

    async def _run(self, job: LiveJob[RunResult], url: str, pace: float) -> RunResult:
        async def observer(event: Event) -> None:
            if isinstance(event, RunStarted):
                job.push(event.run_id)
            elif isinstance(event, MessageSent):
                job.push(event.message)
                if pace:
                    await asyncio.sleep(pace)

        with SqlRunStore(url) as store:  # closed when the run ends
            return await run_classroom(
                self.config, runtime=Runtime(store), observer=observer, human_input=self.human
            )

    def update(self) -> None:
        """Take in what the run sent since the last poll."""
        for item in self.job.drain():
            if isinstance(item, str):
                self.run_id = item
            else:
                self.messages.append(item)


def _students(n: int) -> list[StudentSpec]:
    """``n`` students of the default roster, each profile picked in the form."""
    cols = st.columns(4)
    out = []
    for i, spec in enumerate(roster(n)):
        profile = cols[i % 4].selectbox(
            f"Profile of {spec.name}",
            list(PROFILES),
            index=list(PROFILES).index(spec.profile),
            key=f"classroom_profile_{i}",
        )
        out.append(spec.model_copy(update={"profile": profile}))
    return out


def _minds_caption() -> None:
    state = session()
    llm = state.endpoint is not None
    roles: tuple[Role, ...] = ("teacher", "teaching_assistant", "classmates")
    minds = ", ".join(f"{r.replace('_', ' ')} {state.minds.of(r, llm)}" for r in roles)
    where = (
        f" on {state.endpoint.model} at {mask_url(state.endpoint.base_url)}"
        if state.endpoint
        else ""
    )
    st.caption(f"Minds: {minds}{where}. Change them on the Models page.")


def config_form() -> tuple[ClassroomConfig | None, float]:
    """The form; on **Run**, the config it describes (an uploaded YAML file wins) and
    the pace (seconds per message)."""
    lessons = lesson_names(classroom_kg(ClassroomConfig()))
    cols = st.columns(5)
    lesson = cols[0].selectbox("Lesson", lessons, key="classroom_lesson")
    n = int(cols[1].number_input("Simulated students", 1, 12, 4, key="classroom_students"))
    turns = int(cols[2].number_input("Turns", 1, 1000, 20, key="classroom_turns"))
    seed = int(cols[3].number_input("Seed", 0, 2**31, 0, key="classroom_seed"))
    pace = float(
        cols[4].number_input(
            "Pace (s per message)",
            0.0,
            5.0,
            0.0,
            step=0.05,
            key="classroom_pace",
            help="Slow the run down to watch it; 0 runs as fast as it goes.",
        )
    )
    students = _students(n)
    wide, name, boxes = st.columns([3, 2, 1])
    classmates = wide.multiselect(
        "Classmates",
        list(CLASSMATE_ROLES),
        default=list(CLASSMATE_ROLES),
        key="classroom_classmates",
    )
    human = name.text_input(
        "Join as a student (your name; empty: watch)", key="classroom_human"
    ).strip()
    reviewer = boxes.checkbox("Reviewer gate", key="classroom_reviewer")
    assistant = boxes.checkbox("Teaching assistant", value=True, key="classroom_ta")
    _minds_caption()
    with st.expander("Or upload a classroom config (YAML) instead", key="classroom_yaml"):
        upload = st.file_uploader(
            "Classroom config (YAML)", type=["yaml", "yml"], key="classroom_upload"
        )
    live: Live | None = session().extra.get(JOB)
    busy = live is not None and live.job.running
    if not st.button("Run", key="classroom_run", type="primary", disabled=busy):
        return None, pace
    state = session()
    if upload is not None:
        return load_upload(upload.name, upload.getvalue(), load_classroom_config), pace
    config = ClassroomConfig(
        lesson=lesson or "fractions",
        students=tuple(students),
        human=human or None,
        classmates=tuple(classmates),
        teaching_assistant=assistant,
        reviewer=reviewer,
        turns=turns,
        seed=seed,
        model=state.endpoint,
        minds=state.minds,
    )
    return config, pace


def start(config: ClassroomConfig, pace: float) -> None:
    """Check the curriculum, the lesson and the endpoint's key variable now (an error box,
    not a failed run), then start the run."""
    lesson_script(classroom_kg(config), config.lesson)
    if config.model is not None and not config.simulated():
        config.model.api_key()  # an unset key variable: say so now
    human = QueueInput() if config.human else None
    session().extra[JOB] = Live(config, human, pace)
    session().extra["classroom_polling"] = True


def _human_box(live: Live) -> None:
    if live.human is None:
        return
    question = live.human.waiting_on
    if question is None:
        st.caption(f"You are {live.config.human}: your questions appear here.")
        return
    with st.form("classroom_answer_form", clear_on_submit=True):
        st.markdown(f"**{question.sender} asks you:** {getattr(question, 'text', '')}")
        answer = st.text_input("Your answer", key="classroom_answer")
        if st.form_submit_button("Send answer", key="classroom_send"):
            live.job.call_soon(live.human.put, answer)


def _outcome(live: Live) -> None:
    job = live.job
    where = f" Open it on the Runs page (run {live.run_id[:12]})." if live.run_id else ""
    if job.state == "cancelled":
        st.info(f"Stopped. The run is recorded as interrupted, nothing lost.{where}")
    elif job.state == "failed" and job.error is not None:
        error_box(job.error)
    elif job.result is not None:
        result = job.result
        if result.status == "error":
            st.error(f"The run stopped on an error: {result.detail}.{where}")
        else:
            st.success(f"Run {result.run_id[:12]} {result.status}: {result.detail}.{where}")
        report_button(live.messages, live.config, result.run_id, result.status, key="classroom")


def live_panel() -> None:
    """The run under way (polled while it runs), or the last one of this session."""
    live: Live | None = session().extra.get(JOB)
    if live is not None:
        st.fragment(run_every=0.5 if live.job.running else None)(_live)(live)


def _live(live: Live) -> None:
    live.update()
    if session().extra.get("classroom_polling") and not live.job.running:
        session().extra["classroom_polling"] = False
        st.rerun()  # the whole page: stop polling, enable Run again
    if live.job.running:
        left, right = st.columns([4, 1])
        left.info("The lesson is running…", icon=":material/play_circle:")
        if right.button("Stop", key="classroom_stop"):
            live.job.stop()
        _human_box(live)
    else:
        _outcome(live)
    render_classroom(live.messages, key="classroom", config=live.config, newest_first=True)


def main() -> None:
    st.title("Classroom")
    st.caption(
        "A lesson from the knowledge graph: a director gives the floor to the teacher, the "
        "teaching assistant, four classmates and the students; quizzes measure each "
        "student's mastery; the teacher adapts to its model of each student."
    )
    with st.container(border=True, key="classroom_form"), shown_errors():
        config, pace = config_form()
        if config is not None:
            start(config, pace)
    live_panel()


main()
