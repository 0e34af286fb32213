"""The static word vectors Kim's pretrained variants start from (distilled from MiniLM)."""

from __future__ import annotations

import numpy as np
import pytest

from nlpviz.data import minilm_vectors as wv
from nlpviz.data.vocab import Vocab


def test_projection_keeps_the_leading_directions_at_the_set_spread():
    rng = np.random.default_rng(0)
    # three directions with variances 9, 4, 1 and a tiny fourth: two components keep 13/14
    scales = np.array([3.0, 2.0, 1.0, 1e-3])
    basis = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    points = (rng.normal(size=(5000, 4)) * scales) @ basis.T + 5.0
    coords, kept = wv.project(points, 2)
    assert coords.shape == (5000, 2)
    assert kept == pytest.approx(13 / 14, abs=0.01)
    assert coords.std() == pytest.approx(wv.ENTRY_STD, rel=1e-5)
    assert np.abs(coords.mean(0)).max() < 1e-3  # centred
    # the first coordinate is the widest direction: its spread is 3/2 of the second's
    assert coords[:, 0].std() / coords[:, 1].std() == pytest.approx(1.5, rel=0.05)


def test_minilm_vectors_put_synonyms_together_and_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPVIZ_CACHE", str(tmp_path))
    words = ["excellent", "great", "terrible", "awful", "table", "chair", "river", "good", "bad"]
    vocab = Vocab(itos=("<pad>", "<unk>", *words))
    table, source = wv.minilm_for_vocab(vocab, dim=6)
    assert tuple(table.shape) == (len(vocab), 6)
    assert not table[0].any()  # padding stays zero
    raw = wv.encode_words(words)
    assert raw.shape == (len(words), 384)
    np.testing.assert_allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-5)
    assert len(list((tmp_path / "word-vectors").glob("minilm-*.npy"))) == 1
    cos = dict(zip(words, raw @ raw[words.index("excellent")], strict=True))
    assert cos["great"] > cos["table"] and cos["great"] > cos["river"]
    cos = dict(zip(words, raw @ raw[words.index("terrible")], strict=True))
    assert cos["awful"] > cos["chair"]
    assert "principal components" in source["method"] and 0 < source["variance_kept"] <= 1
