"""Cached loading and readings of the four miniature encoders (BERT, RoBERTa, DeBERTa, V3).

One read-only model per (checkpoint, device) for every session; results that depend only on
(checkpoint, text, options) are cached as numpy. Integrated Gradients needs gradients through
the shared model but registers no hook and changes no state, so it needs no lock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import streamlit as st
import torch

from nlpviz.analysis import encoders as analysis
from nlpviz.analysis.attention import AttentionView
from nlpviz.checkpoints import Card, CheckpointError, load_checkpoint
from nlpviz.data.pretrain import SubwordTokenizer
from nlpviz.families import encoders as family
from nlpviz.models.encoders import model_from_checkpoint
from nlpviz.ui.loaders import freeze_for_serving, loaded_or_error, required

DESIGNS = {  # design -> (checkpoint, label)
    s.variant: (s.name, s.label) for s in family.FAMILY.checkpoints
}


@dataclass(frozen=True)
class LoadedEncoder:
    name: str
    design: str
    label: str
    model: torch.nn.Module
    tokenizer: SubwordTokenizer
    card: Card
    device: torch.device

    @property
    def max_len(self) -> int:
        return self.model.config.max_len


@st.cache_resource(show_spinner="Loading the encoder…", max_entries=16)
def _load(design: str, device: str, root: str) -> LoadedEncoder:
    name, label = DESIGNS[design]
    checkpoint = load_checkpoint(name, root=root, family="encoder")
    model = freeze_for_serving(model_from_checkpoint(checkpoint), torch.device(device))
    tokenizer = analysis.tokenizer_from_checkpoint(checkpoint)
    return LoadedEncoder(
        name, design, label, model, tokenizer, checkpoint.card, torch.device(device)
    )


def load_encoder(design: str, device: str | torch.device) -> LoadedEncoder | CheckpointError:
    """The cached encoder, or the error to show (it names the command that rebuilds it)."""
    return loaded_or_error(_load, design, device)


def require_encoder(design: str, device: str | torch.device) -> LoadedEncoder:
    return required(load_encoder(design, device))


@st.cache_data(max_entries=256, show_spinner=False)
def reading(
    design: str, device: str, text: str, window_start: int = 0, emd_absolute: bool = True
) -> analysis.EncoderReading:
    loaded = require_encoder(design, device)
    return analysis.read(
        loaded.model, loaded.tokenizer, text, loaded.device, window_start, emd_absolute
    )


@st.cache_data(max_entries=128, show_spinner=False)
def corruption(
    device: str, text: str, rate: float, seed: int, window_start: int = 0
) -> analysis.Corruption:
    loaded = require_encoder("debertav3", device)
    return analysis.corrupt_and_detect(
        loaded.model, loaded.tokenizer, text, loaded.device, rate, seed, window_start
    )


@dataclass(frozen=True)
class TimedAttribution:
    attribution: Any
    seconds: float


@st.cache_data(max_entries=64, show_spinner=False)
def attribution(
    design: str,
    device: str,
    text: str,
    position: int,
    target_id: int,
    n_steps: int,
    window_start: int = 0,
) -> TimedAttribution:
    loaded = require_encoder(design, device)
    start = time.perf_counter()
    result = analysis.mlm_attribution(
        loaded.model,
        loaded.tokenizer,
        text,
        position,
        target_id,
        loaded.device,
        n_steps,
        window_start,
    )
    return TimedAttribution(result, time.perf_counter() - start)


def attention_view(design: str, device: str, text: str, window_start: int = 0) -> AttentionView:
    """One of our encoders as a source of the attention explorer."""
    loaded = require_encoder(design, device)
    result = reading(design, device, text, window_start)
    encoded = result.encoded
    return AttentionView(
        model_name=f"{loaded.label} (nlpviz miniature)",
        tokens=list(encoded.tokens),
        special=encoded.special,
        attentions=result.attentions,
        truncated=encoded.truncated,
        n_input_tokens=encoded.n_pieces + 2,
        window_start=encoded.window_start,
    )
