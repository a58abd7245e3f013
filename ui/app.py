"""The lyceum app (``lyceum ui``): classroom simulations, stored runs, ToM sweeps, the
patient trainer, the knowledge graph and model endpoints, one page each."""

from __future__ import annotations

import streamlit as st

# (file relative to this script, title, icon) of each page, in the sidebar's order. (A
# comment, not a docstring: Streamlit's "magic" would show a bare string on every page.)
PAGES = [
    ("views/classroom.py", "Classroom", ":material/school:"),
    ("views/runs.py", "Runs", ":material/history:"),
    ("views/tom.py", "ToM evaluation", ":material/query_stats:"),
    ("views/patient.py", "Patient trainer", ":material/psychology:"),
    ("views/knowledge.py", "Knowledge graph", ":material/hub:"),
    ("views/models.py", "Models", ":material/dns:"),
]


def main() -> None:
    st.set_page_config(page_title="lyceum", page_icon=":material/school:", layout="wide")
    nav = st.navigation([st.Page(f, title=t, icon=i) for f, t, i in PAGES])
    nav.run()


main()
