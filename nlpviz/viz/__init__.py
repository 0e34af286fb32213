"""Figures: pure functions from arrays and tokens to plotly figures (no streamlit, no models)."""
