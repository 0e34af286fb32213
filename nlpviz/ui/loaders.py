"""Cached, read-only model loading shared by every browser session.

``st.cache_resource`` keeps one model per (checkpoint, device, folder). The model is in eval
mode with gradients off for its parameters and must never be changed in place: every visitor
reads the same object. Attribution only asks for gradients of the input, and Captum's temporary
hooks land on a private wrapper, never on the model; still, attribution holds the model's
``lock`` (one per cached model, shared by every session, see :func:`model_lock`) so that one
model runs one attribution at a time and its memory stays bounded.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import streamlit as st
import torch

from nlpviz import registry
from nlpviz.checkpoints import CheckpointError, checkpoint_root, load_checkpoint, read_card
from nlpviz.data.vocab import Vocab

T = TypeVar("T")

# card family -> "module:Class" with a ``from_checkpoint`` classmethod (imported on demand).
FAMILIES = registry.model_classes()


@dataclass(frozen=True)
class LoadedModel:
    name: str
    model: torch.nn.Module
    vocab: Vocab
    card: dict[str, Any]
    side: dict[str, Any]  # the checkpoint's other JSON side files by file name
    device: torch.device
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)


def freeze_for_serving(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    model = model.to(device).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


@st.cache_resource(show_spinner="Loading the model…", max_entries=32)
def _load(name: str, device: str, root: str) -> LoadedModel:
    family = read_card(name, root=root).get("family")
    if family not in FAMILIES:
        raise CheckpointError(f"Checkpoint '{name}' has an unknown family {family!r}.")
    checkpoint = load_checkpoint(name, root=root, family=family)
    module, cls = FAMILIES[family].split(":")
    builder = getattr(importlib.import_module(module), cls)
    model = freeze_for_serving(builder.from_checkpoint(checkpoint), torch.device(device))
    vocab_file = checkpoint.card.get("vocab_file", "vocab.json")
    vocab = Vocab.from_json(checkpoint.read_json(vocab_file))
    side = {
        f: checkpoint.read_json(f)
        for f in checkpoint.card["files"]
        if f.endswith(".json") and f != vocab_file
    }
    lock = model_lock(name, device)
    return LoadedModel(name, model, vocab, checkpoint.card, side, torch.device(device), lock)


@st.cache_resource(max_entries=64, show_spinner=False)
def model_lock(name: str, device: str) -> threading.Lock:
    """The lock attribution holds on the cached model ``name`` (also for models other loaders
    cache, such as the LoRA page's adapted MiniLM copies): one per model and device, shared by
    every session."""
    return threading.Lock()


def loaded_or_error(
    load: Callable[[str, str, str], T], key: str, device: str | torch.device
) -> T | CheckpointError:
    """``load(key, device, checkpoint folder)``, or the :class:`CheckpointError` to show.

    Pages show the error (it names the command that rebuilds the checkpoint) instead of a
    traceback; the folder is part of the cache key so that a changed folder loads afresh.
    """
    try:
        return load(key, str(device), str(checkpoint_root()))
    except CheckpointError as error:
        return error


def required(loaded: T | CheckpointError) -> T:
    """The loaded model, raising its :class:`CheckpointError` (for cached computations, which
    only run after the page has shown load errors)."""
    if isinstance(loaded, CheckpointError):
        raise loaded
    return loaded


def load_model(name: str, device: str | torch.device) -> LoadedModel | CheckpointError:
    """The cached model, or the error to show (missing/corrupt files name the train command)."""
    return loaded_or_error(_load, name, device)


def require_model(name: str, device: str | torch.device) -> LoadedModel:
    """The cached model, raising its :class:`CheckpointError`."""
    return required(load_model(name, device))
