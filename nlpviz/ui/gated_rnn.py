"""Cached models and computations of the gated-RNN page (keyed by checkpoint, device, input)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from nlpviz.analysis import gated_rnn as analysis
from nlpviz.checkpoints import Card, CheckpointError, load_checkpoint, read_card
from nlpviz.data.chars import CharVocab
from nlpviz.families import gated_rnn as family
from nlpviz.models.gated_rnn import CELLS, SequenceModel


def checkpoint_name(task: str, cell: str) -> str:
    return family.FAMILY.spec(task=task, variant=cell).name


@dataclass(frozen=True)
class LoadedRNN:
    name: str
    model: SequenceModel
    card: Card
    vocab: CharVocab | None
    heldout: dict[str, np.ndarray]
    device: torch.device


@st.cache_resource(show_spinner="Loading the model…", max_entries=16)
def load_rnn(name: str, device: str) -> LoadedRNN:
    """A verified checkpoint as a read-only model (eval mode, no gradients), shared by all."""
    checkpoint = load_checkpoint(name, family="gated_rnn")
    model = SequenceModel.from_checkpoint(checkpoint).to(device).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    card = checkpoint.card
    vocab = (
        CharVocab.from_json(checkpoint.read_json(card["vocab_file"]))
        if "vocab_file" in card
        else None
    )
    heldout = {}
    if "heldout_file" in card:
        heldout = analysis.heldout_rolls(
            checkpoint.read_json(card["heldout_file"]), model.config.n_inputs
        )
    return LoadedRNN(name, model, card, vocab, heldout, torch.device(device))


def cards(task: str) -> dict[str, Card]:
    """cell -> card of each trained checkpoint of ``task`` (missing ones are left out)."""
    out = {}
    for cell in CELLS:
        try:
            out[cell] = read_card(checkpoint_name(task, cell))
        except CheckpointError:
            continue
    return out


@st.cache_data(max_entries=128, show_spinner=False)
def music_trace(name: str, device: str, roll_bytes: bytes, shape: tuple[int, int]):
    loaded = load_rnn(name, device)
    roll = np.frombuffer(roll_bytes, dtype=np.uint8).reshape(shape)
    return analysis.music_trace(loaded.model, roll)


@st.cache_data(max_entries=128, show_spinner=False)
def text_trace(name: str, device: str, text: str):
    loaded = load_rnn(name, device)
    ids = loaded.vocab.encode(text)
    return analysis.text_trace(loaded.model, ids)


@st.cache_data(max_entries=64, show_spinner=False)
def continuation(
    name: str, device: str, roll_bytes: bytes, shape: tuple[int, int], frames: int, seed: int
) -> np.ndarray:
    loaded = load_rnn(name, device)
    roll = np.frombuffer(roll_bytes, dtype=np.uint8).reshape(shape)
    return analysis.sample_continuation(loaded.model, roll, frames, seed=seed)


@st.cache_data(max_entries=256, show_spinner=False)
def music_loss(name: str, device: str, roll_bytes: bytes, shape: tuple[int, int]) -> float:
    loaded = load_rnn(name, device)
    roll = np.frombuffer(roll_bytes, dtype=np.uint8).reshape(shape)
    return analysis.music_loss(loaded.model, roll)


@st.cache_data(max_entries=256, show_spinner=False)
def text_bits(name: str, device: str, text: str) -> float:
    loaded = load_rnn(name, device)
    return analysis.text_bits(loaded.model, loaded.vocab.encode(text))
