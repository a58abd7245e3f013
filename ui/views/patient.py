"""The patient page (to be written)."""

import streamlit as st

st.title("patient")
st.info("This page is being built.")
