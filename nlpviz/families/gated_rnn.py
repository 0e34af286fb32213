"""Chung et al. (2014): tanh RNN, GRU and LSTM on the Bach chorales and on news characters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nlpviz.families import CheckpointSpec, Family, specs

if TYPE_CHECKING:
    import torch

# task -> (name prefix, what nlpviz list says it is trained on)
TASKS = {
    "music": ("chorales", "on the Bach chorales (music21)"),
    "chars": ("chars", "character LM on news"),
}
CELLS = {"tanh": "tanh RNN", "gru": "GRU", "lstm": "LSTM"}


def _train(spec: CheckpointSpec, device: torch.device, seed: int, command: str) -> dict:
    from nlpviz.train.gated_rnn import train_by_name

    return train_by_name(spec.name, device, seed, command)


CHECKPOINTS = specs(
    (
        (f"{prefix}-{cell}", task, cell, title, f"{title} {what}")
        for task, (prefix, what) in TASKS.items()
        for cell, title in CELLS.items()
    ),
    _train,
    card_family="gated_rnn",
)

FAMILY = Family(
    key="gated_rnn",
    papers=("chung",),
    pages=("pages/11_Gated_RNN.py",),
    checkpoints=CHECKPOINTS,
    loader="nlpviz.ui.gated_rnn:load_rnn",
)
