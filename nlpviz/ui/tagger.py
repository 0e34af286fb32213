"""Cached computations of the sequence-tagger page (keyed by checkpoint, device and tokens)."""

from __future__ import annotations

import streamlit as st

from nlpviz.analysis import tagger as analysis
from nlpviz.data.vocab import Vocab
from nlpviz.families import tagger as family
from nlpviz.ui.loaders import LoadedModel, require_model
from nlpviz.ui.widgets import progress_bar

VARIANTS = {"blstm": "BLSTM", "blstm-cnn": "BLSTM-CNN", "blstm-cnn-crf": "BLSTM-CNN-CRF"}
TASKS = {
    "wnut-ner": "Named entities in tweets (WNUT-16, gold labels)",
    "news-ner": "Named entities in news (silver labels from spaCy)",
    "news-pos": "Part-of-speech tags in news (silver labels from spaCy)",
}
# task -> variant -> checkpoint
CHECKPOINTS: dict[str, dict[str, str]] = {
    task: {variant: family.FAMILY.spec(task=task, variant=variant).name for variant in VARIANTS}
    for task in TASKS
}
FULL = family.FULL


def char_vocab(loaded: LoadedModel) -> Vocab:
    """The checkpoint's character vocabulary (its ``chars.json`` side file)."""
    return Vocab.from_json(loaded.side[loaded.card.get("chars_file", "chars.json")])


@st.cache_data(max_entries=512, show_spinner=False)
def reading(name: str, device: str, tokens: tuple[str, ...], k: int = 5) -> analysis.TagReading:
    loaded = require_model(name, device)
    return analysis.read_sentence(
        loaded.model, loaded.vocab, char_vocab(loaded), tokens, loaded.device, k=k
    )


@st.cache_data(max_entries=256, show_spinner=False)
def tags_of(name: str, device: str, sentences: tuple[tuple[str, ...], ...]) -> list[list[str]]:
    loaded = require_model(name, device)
    return analysis.tag_many(
        loaded.model, loaded.vocab, char_vocab(loaded), list(sentences), loaded.device
    )


def tag_file(name: str, device: str, sentences: list[tuple[str, ...]]) -> list[list[str]]:
    """Tags of every uploaded sentence, with a progress bar (not cached: files vary)."""
    loaded = require_model(name, device)
    with progress_bar(f"Tagging {len(sentences):,} sentences…") as progress:
        return analysis.tag_many(
            loaded.model,
            loaded.vocab,
            char_vocab(loaded),
            sentences,
            loaded.device,
            progress=progress,
        )
