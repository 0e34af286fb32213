"""From text to the plain numbers a page shows: run a model, return numpy dataclasses.

These functions are the only bridge between a page and a model: they tokenize, call ``forward``,
and hand back arrays that ``nlpviz.viz`` draws and ``st.cache_data`` can store.
"""
