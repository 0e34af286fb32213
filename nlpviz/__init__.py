"""nlpviz: watch the internals of landmark NLP models live in the browser."""

from pathlib import Path

__version__ = "0.1.0"

REPO_ROOT = Path(__file__).resolve().parent.parent
