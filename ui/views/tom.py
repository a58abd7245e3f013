"""The tom page (to be written)."""

import streamlit as st

st.title("tom")
st.info("This page is being built.")
