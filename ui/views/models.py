"""Models: point the app at an OpenAI-compatible endpoint (URL, model, key from an
environment variable), test the connection, and pick which mind runs each classroom role."""

from __future__ import annotations

from typing import Literal

import streamlit as st

from agents.classroom import ModelEndpoint, RoleMinds
from protocols.secrets import mask_url
from ui.common import session, shown_errors
from ui.endpoints import PROBE, check_endpoint

ROLES: dict[Literal["teacher", "teaching_assistant", "classmates"], str] = {
    "teacher": "Teacher",
    "teaching_assistant": "Teaching assistant",
    "classmates": "Classmates (all four)",
}
CHOICES = {
    "auto": "LLM when an endpoint is set, else simulated",
    "simulated": "Simulated (documented cognitive models, no LLM)",
    "llm": "LLM (the endpoint above)",
}


def _endpoint_form() -> None:
    current = session().endpoint
    with st.form("models_endpoint"):
        base_url = st.text_input(
            "Endpoint URL",
            value=current.base_url if current else "http://127.0.0.1:8000/v1",
            help="An OpenAI-compatible API up to /v1: transformers serve, vLLM, llama.cpp…",
        )
        model = st.text_input("Model name", value=current.model if current else "")
        key_env = st.text_input(
            "API key: the name of the environment variable that holds it",
            value=(current.api_key_env or "") if current else "",
            help="The key itself is never typed here; the app reads it from this variable. "
            "Leave empty for a local server without a key.",
        )
        save, test = st.columns(2)
        saved = save.form_submit_button("Save", type="primary", use_container_width=True)
        tested = test.form_submit_button("Test connection", use_container_width=True)
    if not (saved or tested):
        return
    with shown_errors():
        endpoint = ModelEndpoint(
            base_url=base_url.strip(), model=model.strip(), api_key_env=key_env.strip() or None
        )
        session().endpoint = endpoint
        if saved:
            st.success(f"Saved: {endpoint.model} at {mask_url(endpoint.base_url)}")
            return
        with st.spinner("Testing the connection…"):
            found = check_endpoint(endpoint)
        if not found.listed:
            st.warning(found.detail)
        st.success(
            f"Connected (and saved): asked {PROBE!r}, {endpoint.model} answered "
            f"{found.reply!r} in {found.latency_ms:.0f} ms."
        )


def _minds() -> None:
    st.subheader("Who runs each classroom role")
    state = session()
    picked: dict[str, str] = {}
    for role, title in ROLES.items():
        now = getattr(state.minds, role) or "auto"
        picked[role] = st.radio(
            title,
            list(CHOICES),
            index=list(CHOICES).index(now),
            format_func=CHOICES.__getitem__,
            horizontal=True,
            key=f"models_mind_{role}",
        )
    state.minds = RoleMinds.model_validate(
        {r: (None if v == "auto" else v) for r, v in picked.items()}
    )
    llm = [ROLES[r] for r in ROLES if state.minds.of(r, state.endpoint is not None) == "llm"]
    if llm and state.endpoint is None:
        st.error(
            f"{', '.join(llm)}: LLM chosen but no endpoint is saved; save one above or "
            "choose simulated."
        )
    elif llm:
        st.caption(f"On the LLM: {', '.join(llm)}. Everything else is simulated.")
    else:
        st.caption("Every role is simulated: results are labelled as simulation.")


def main() -> None:
    st.title("Models")
    _endpoint_form()
    if session().endpoint is not None and st.button("Forget the endpoint", key="models_forget"):
        session().endpoint = None
        st.rerun()
    _minds()


main()
