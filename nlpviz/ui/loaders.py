"""Cached, read-only model loading shared by every browser session.

``st.cache_resource`` keeps one model per (checkpoint, device, folder). The model is in eval
mode with gradients off for its parameters and must never be changed in place: every visitor
reads the same object. Attribution only asks for gradients of the input, so it registers no hook
and needs no lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st
import torch

from nlpviz.checkpoints import CheckpointError, checkpoint_root, load_checkpoint
from nlpviz.data.vocab import Vocab
from nlpviz.models.kim_cnn import KimCNN
from nlpviz.train.kim_cnn import FILTER_TABLE


@dataclass(frozen=True)
class LoadedKim:
    name: str
    model: KimCNN
    vocab: Vocab
    card: dict[str, Any]
    filters: dict[str, Any]
    device: torch.device


def freeze_for_serving(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    model = model.to(device).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


@st.cache_resource(show_spinner="Loading the model…", max_entries=16)
def _load_kim(name: str, device: str, root: str) -> LoadedKim:
    checkpoint = load_checkpoint(name, root=root, family="kim_cnn")
    model = freeze_for_serving(KimCNN.from_checkpoint(checkpoint), torch.device(device))
    vocab = Vocab.from_json(checkpoint.read_json(checkpoint.card["vocab_file"]))
    filters = checkpoint.read_json(FILTER_TABLE)
    return LoadedKim(name, model, vocab, checkpoint.card, filters, torch.device(device))


def load_kim(name: str, device: str | torch.device) -> LoadedKim | CheckpointError:
    """The cached model, or the error to show (missing/corrupt files name the train command)."""
    try:
        return _load_kim(name, str(device), str(checkpoint_root()))
    except CheckpointError as error:
        return error
