"""The only package code that imports streamlit: cached loaders, shared widgets, the sidebar."""
