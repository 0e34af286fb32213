"""Cached computations of the HAN page (results keyed by checkpoint, device and document)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import streamlit as st

from nlpviz.analysis import han as analysis
from nlpviz.analysis.stats import spearman
from nlpviz.families import han as family
from nlpviz.ui.loaders import require_model
from nlpviz.ui.widgets import progress_bar

TASKS = {
    "news": "News outlet: which of 9 outlets published this article?",
    "drugs": "Drug review sentiment: negative, neutral or positive",
}
MODELS = {role: model for model, (_, role, _, _) in family.MODELS.items()}  # role -> model


def checkpoint_name(role: str, task: str) -> str:
    return family.FAMILY.spec(task=task, variant=MODELS[role]).name


@st.cache_data(max_entries=256, show_spinner=False)
def reading(name: str, device: str, text: str) -> analysis.HANReading | None:
    loaded = require_model(name, device)
    return analysis.read_document(
        loaded.model, loaded.vocab, text, loaded.card["class_names"], loaded.device
    )


@st.cache_data(max_entries=256, show_spinner=False)
def baseline_probabilities(name: str, device: str, text: str) -> analysis.FlatReading | None:
    loaded = require_model(name, device)
    return analysis.read_flat(loaded.model, loaded.vocab, text, loaded.device)


@dataclass(frozen=True)
class AttentionVsAttribution:
    attribution: analysis.DocumentAttribution | None
    rho: float  # Spearman between scaled word attention and |IG|
    seconds: float


@st.cache_data(max_entries=64, show_spinner=False)
def attention_vs_attribution(
    name: str, device: str, text: str, target: int, n_steps: int
) -> AttentionVsAttribution:
    loaded = require_model(name, device)
    start = time.perf_counter()
    result = analysis.attribute_document(
        loaded.model, loaded.vocab, text, target, loaded.device, n_steps=n_steps
    )
    seconds = time.perf_counter() - start
    read = reading(name, device, text)
    if result is None or read is None:
        return AttentionVsAttribution(None, float("nan"), seconds)
    rho = spearman(analysis.scaled_word_attention(read), np.abs(result.flat()))
    return AttentionVsAttribution(result, rho, seconds)


def classify_file(name: str, device: str, texts: tuple[str, ...]):
    """Predictions for many documents with a progress bar and a time estimate (not cached)."""
    loaded = require_model(name, device)
    with progress_bar(f"Reading {len(texts):,} documents…") as progress:
        return analysis.classify_documents(
            loaded.model, loaded.vocab, list(texts), loaded.device, progress=progress
        )
