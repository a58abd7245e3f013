"""ui: the Streamlit app; a client of the public API and the store only."""

__all__: list[str] = []
