"""Training loops and the ``nlpviz train NAME`` entry point."""
