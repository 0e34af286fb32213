"""Cached loading and readings of the four translators (read-only, shared by every session).

One model per (checkpoint, device); translations, beam trees and sentence vectors depend only
on (checkpoint, device, text, options) and are cached as numpy dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from nlpviz.analysis import translation as analysis
from nlpviz.checkpoints import Card, CheckpointError, load_checkpoint
from nlpviz.data.translation import PieceTokenizer
from nlpviz.ui.loaders import freeze_for_serving, loaded_or_error, required

CHECKPOINTS = analysis.CHECKPOINTS


@dataclass(frozen=True)
class LoadedTranslator:
    name: str
    label: str
    model: torch.nn.Module
    source_tokenizer: PieceTokenizer
    target_tokenizer: PieceTokenizer
    card: Card
    device: torch.device


@st.cache_resource(show_spinner="Loading the translator…", max_entries=16)
def _load(name: str, device: str, root: str) -> LoadedTranslator:
    checkpoint = load_checkpoint(name, root=root, family="translation")
    model = freeze_for_serving(analysis.model_from_checkpoint(checkpoint), torch.device(device))
    source, target = analysis.tokenizers_from_checkpoint(checkpoint)
    return LoadedTranslator(
        name,
        CHECKPOINTS.get(name, name),
        model,
        source,
        target,
        checkpoint.card,
        torch.device(device),
    )


def load_translator(name: str, device: str | torch.device) -> LoadedTranslator | CheckpointError:
    """The cached translator, or the error to show (it names the command that rebuilds it)."""
    return loaded_or_error(_load, name, device)


def require_translator(name: str, device: str | torch.device) -> LoadedTranslator:
    return required(load_translator(name, device))


@st.cache_data(max_entries=256, show_spinner=False)
def translation(
    name: str, device: str, text: str, beam: int, length_penalty: float = 0.0
) -> analysis.Translation | None:
    loaded = require_translator(name, device)
    return analysis.translate(
        loaded.model,
        loaded.source_tokenizer,
        loaded.target_tokenizer,
        text,
        beam,
        loaded.device,
        name=loaded.label,
        training_range=loaded.card.get("recipe", {}).get("max_pieces"),
        length_penalty=length_penalty,
    )


@st.cache_data(max_entries=64, show_spinner=False)
def sentence_space(
    name: str, device: str, sentences: tuple[str, ...]
) -> tuple[np.ndarray, analysis.Projection]:
    loaded = require_translator(name, device)
    vectors = analysis.sentence_vectors(
        loaded.model, loaded.source_tokenizer, list(sentences), loaded.device
    )
    return vectors, analysis.pca_2d(vectors)
