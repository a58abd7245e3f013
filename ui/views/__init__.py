"""The pages of the app, one module each (run by ``st.navigation``, never imported)."""
