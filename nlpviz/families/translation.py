"""Sutskever et al. (2014) and Vaswani et al. (2017): English->Spanish translators."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nlpviz.families import CheckpointSpec, Family, specs

if TYPE_CHECKING:
    import torch

TASK = "en-es"  # English->Spanish apertium pairs
# model -> (the page's label, nlpviz list's title)
MODELS = {
    "lstm": ("LSTM", "LSTM seq2seq (Sutskever 2014), source in order"),
    "lstm-reversed": ("LSTM, reversed source", "LSTM seq2seq (Sutskever 2014), source reversed"),
    "lstm-attention": ("LSTM + attention", "LSTM seq2seq + Luong attention"),
    "transformer": ("Transformer", "Transformer encoder-decoder (Vaswani 2017)"),
}


def _train(spec: CheckpointSpec, device: torch.device, seed: int, command: str) -> dict:
    from nlpviz.train.translation import recipe_for, train_translation

    recipe = recipe_for(spec.variant)
    return train_translation(spec.name, recipe, device, seed, command)


CHECKPOINTS = specs(
    (
        (f"translate-{model}", TASK, model, label, f"{title}, English->Spanish (apertium pairs)")
        for model, (label, title) in MODELS.items()
    ),
    _train,
    card_family="translation",
)

FAMILY = Family(
    key="translation",
    papers=("sutskever", "vaswani"),
    pages=("pages/10_Translation.py",),
    checkpoints=CHECKPOINTS,
    loader="nlpviz.ui.translation:load_translator",
)
