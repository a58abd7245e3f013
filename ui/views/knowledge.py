"""The knowledge page (to be written)."""

import streamlit as st

st.title("knowledge")
st.info("This page is being built.")
