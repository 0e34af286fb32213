"""HAN readings on a tiny model built here: attention sums, IG completeness, batch = single."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nlpviz.analysis import han as analysis
from nlpviz.data.vocab import Vocab
from nlpviz.models.han import (
    HAN,
    FlatAttentionGRU,
    FlatAttentionGRUConfig,
    HANConfig,
    MeanEmbeddingClassifier,
    MeanEmbeddingConfig,
)

VOCAB = Vocab.build([["the", "vote", "passed", "officials", "said", "it", "was", "close", "."]])
DOCUMENT = "The vote passed. Officials said it was close. It was."
CPU = torch.device("cpu")


def tiny_han(seed: int = 0) -> HAN:
    torch.manual_seed(seed)
    config = HANConfig(
        vocab_size=len(VOCAB),
        num_classes=3,
        embed_dim=8,
        word_hidden=6,
        sentence_hidden=5,
        attention_dim=7,
        dropout=0.0,
    )
    model = HAN(config)
    model.load_pretrained(3 * torch.randn(len(VOCAB), 8))  # large vectors: a non-flat output
    return model.eval()


def test_reading_has_normalised_attention_per_level():
    read = analysis.read_document(tiny_han(), VOCAB, DOCUMENT, ("a", "b", "c"), CPU)
    assert [len(s) for s in read.document.sentences] == [4, 6, 3]
    assert read.sentence_attention.sum() == pytest.approx(1.0, abs=1e-5)
    for words, weights in zip(read.document.sentences, read.word_attention, strict=True):
        assert len(weights) == len(words) and weights.sum() == pytest.approx(1.0, abs=1e-5)
    assert analysis.scaled_word_attention(read).sum() == pytest.approx(1.0, abs=1e-5)
    assert read.probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_unreadable_text_gives_no_reading():
    assert analysis.read_document(tiny_han(), VOCAB, " \n ", ("a", "b", "c"), CPU) is None


def test_document_attribution_is_complete_within_delta():
    model = tiny_han(seed=3)
    ig = analysis.attribute_document(model, VOCAB, DOCUMENT, 1, CPU, n_steps=64)
    assert [len(s) for s in ig.scores] == [4, 6, 3]
    difference = ig.output_at_input - ig.output_at_baseline
    assert ig.flat().sum() - difference == pytest.approx(ig.delta, abs=1e-5)
    assert abs(ig.delta) < 0.02 and abs(difference) > 1e-4


def test_batch_classification_matches_single_documents():
    model = tiny_han(seed=5)
    texts = [DOCUMENT, "", "Officials said. The vote was close, it passed."]
    probabilities, top, documents = analysis.classify_documents(
        model, VOCAB, texts, CPU, batch_size=2
    )
    assert np.isnan(probabilities[1]).all() and top[1] is None
    for i in (0, 2):
        single = analysis.read_document(model, VOCAB, texts[i], ("a", "b", "c"), CPU)
        np.testing.assert_allclose(probabilities[i], single.probabilities, atol=1e-5)
        assert top[i] == single.top_sentence


def test_flat_baselines_read_the_same_words():
    torch.manual_seed(0)
    flat = FlatAttentionGRU(
        FlatAttentionGRUConfig(
            vocab_size=len(VOCAB),
            num_classes=3,
            embed_dim=8,
            hidden=4,
            attention_dim=5,
            dropout=0.0,
        )
    ).eval()
    read = analysis.read_flat(flat, VOCAB, DOCUMENT, CPU)
    assert len(read.tokens) == 13 and read.attention.sum() == pytest.approx(1.0, abs=1e-5)
    mean = MeanEmbeddingClassifier(
        MeanEmbeddingConfig(vocab_size=len(VOCAB), num_classes=3, embed_dim=8, dropout=0.0)
    ).eval()
    read = analysis.read_flat(mean, VOCAB, DOCUMENT, CPU)
    assert read.attention is None and read.probabilities.sum() == pytest.approx(1.0, abs=1e-5)


HAN_CHECKPOINTS = [
    f"{model}-{task}" for model in ("han", "flat-gru", "mean-emb") for task in ("news", "drugs")
]


@pytest.mark.parametrize("name", HAN_CHECKPOINTS)
def test_committed_document_checkpoints_verify_and_carry_an_honest_card(name):
    from nlpviz.checkpoints import load_checkpoint
    from nlpviz.ui.loaders import FAMILIES

    checkpoint = load_checkpoint(name)
    card = checkpoint.card
    assert card["family"] in FAMILIES and card["run"]["command"].startswith(f"nlpviz train {name}")
    metrics = card["metrics"]
    assert metrics["test_accuracy"] > metrics["test_majority_baseline"]
    assert card["data"]["corpus"]["sha256"] if "corpus" in card["data"] else card["data"]["sha256"]
    assert card["paper_figure"]["source"].startswith("Yang et al. (2016)")
