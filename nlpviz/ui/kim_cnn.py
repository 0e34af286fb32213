"""Cached computations of the Kim CNN page (results keyed by checkpoint, device and text)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import streamlit as st

from nlpviz.analysis import kim_cnn as analysis
from nlpviz.attribution import TokenAttribution
from nlpviz.families import kim_cnn as family
from nlpviz.ui.loaders import require_model
from nlpviz.ui.widgets import progress_bar

# task -> variant -> checkpoint
CHECKPOINTS: dict[str, dict[str, str]] = {
    task: {s.variant: s.name for s in family.FAMILY.checkpoints if s.task == task}
    for task in family.TASKS
}


@st.cache_data(max_entries=512, show_spinner=False)
def reading(name: str, device: str, text: str) -> analysis.KimReading | None:
    loaded = require_model(name, device)
    return analysis.read_text(
        loaded.model, loaded.vocab, text, loaded.card["class_names"], loaded.device
    )


@dataclass(frozen=True)
class TimedAttribution:
    attribution: TokenAttribution | None
    seconds: float


@st.cache_data(max_entries=128, show_spinner=False)
def attribution(name: str, device: str, text: str, target: int, n_steps: int) -> TimedAttribution:
    loaded = require_model(name, device)
    start = time.perf_counter()
    result = analysis.attribute(
        loaded.model, loaded.vocab, text, target, loaded.device, n_steps=n_steps
    )
    return TimedAttribution(result, time.perf_counter() - start)


@st.cache_data(max_entries=256, show_spinner=False)
def neighbours(name: str, device: str, word: str, k: int = 8) -> dict[str, list | None]:
    loaded = require_model(name, device)
    return {
        role: analysis.nearest_neighbours(table, loaded.vocab, word, k)
        for role, table in analysis.embedding_tables(loaded.model).items()
    }


@st.cache_data(max_entries=32, show_spinner=False)
def class_weights(name: str, device: str) -> np.ndarray:
    return analysis.filter_class_weights(require_model(name, device).model)


def classify_file(name: str, device: str, texts: tuple[str, ...]) -> np.ndarray:
    """Probabilities for every uploaded text, with a progress bar (not cached: files vary)."""
    loaded = require_model(name, device)
    with progress_bar(f"Classifying {len(texts):,} texts…") as progress:
        return analysis.classify_many(
            loaded.model, loaded.vocab, list(texts), loaded.device, progress=progress
        )
