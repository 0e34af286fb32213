"""Small models and data built inside the tests (no training, no training-only packages)."""

from __future__ import annotations

import torch

from nlpviz.data.vocab import Vocab
from nlpviz.models.kim_cnn import KimCNN, KimCNNConfig

WORDS = ("the", "film", "is", "very", "great", "bad", "dull", "ok", "not", "!", "a", "plot")


def tiny_vocab() -> Vocab:
    return Vocab.build([WORDS])


def tiny_kim(variant: str = "non-static", seed: int = 0, **overrides) -> tuple[KimCNN, Vocab]:
    torch.manual_seed(seed)
    vocab = tiny_vocab()
    config = KimCNNConfig(
        vocab_size=len(vocab),
        variant=variant,
        embed_dim=overrides.pop("embed_dim", 6),
        num_filters=overrides.pop("num_filters", 4),
        **overrides,
    )
    model = KimCNN(config)
    model.load_pretrained(torch.randn(len(vocab), config.embed_dim)) if variant != "rand" else None
    return model.eval(), vocab
