"""The count model of the cloze probe, on a corpus small enough to count by hand."""

from __future__ import annotations

import pytest

from nlpviz.analysis.cloze_counts import BACKOFF, CountModel, count_cloze_scores
from nlpviz.analysis.encoders import ClozeItem

SENTENCES = [
    "The civil war ended.",
    "The civil war began in spring.",
    "The civil rights law passed.",
    "A long war began.",
    "The war ended.",
    "Rights matter.",
]


@pytest.fixture
def model() -> CountModel:
    return CountModel.from_sentences(SENTENCES, min_count=1)


def test_counts_stay_inside_sentences(model):
    assert model.unigrams["war"] == 4 and model.total == 24
    assert model.bigrams[("civil", "war")] == 2
    assert model.bigrams[("ended", "the")] == 0  # "ended. The" crosses a sentence boundary


def test_the_left_context_backs_off_from_trigram_to_bigram_to_unigram(model):
    assert model.left_score(["the", "civil"], "war") == pytest.approx(2 / 3)
    # "a civil" was never seen: the bigram "civil war" (2 of 3 civils) with the backoff weight
    assert model.left_score(["a", "civil"], "war") == pytest.approx(BACKOFF * 2 / 3)
    # nothing ever followed "spring": the unigram share, backed off twice
    assert model.left_score(["in", "spring"], "law") == pytest.approx(BACKOFF**2 * 1 / 24)


def test_the_word_after_the_gap_counts_too(model):
    assert model.right_score("war", ["ended"]) == pytest.approx(2 / 4)
    assert model.right_score("war", []) == 1.0
    # "war matter" unseen: the next word's own share, backed off
    assert model.right_score("war", ["matter"]) == pytest.approx(BACKOFF * 1 / 24)


def test_the_gap_gets_the_word_its_context_predicts(model):
    assert model.top_k("Soldiers fought the civil [MASK] for years.", 1) == ["war"]
    # the word after the gap decides between two words seen after "the civil"
    assert model.top_k("They defended the civil [MASK] law.", 1) == ["rights"]
    assert len(model.top_k("[MASK]", 3)) == 3


def test_scores_count_hits_in_the_top_one_and_top_five(model):
    items = [
        ClozeItem("Soldiers fought the civil [MASK].", "war"),
        ClozeItem("They defended the civil [MASK] law.", "war"),  # top 5, not top 1
        ClozeItem("They ate [MASK].", "bread"),  # never seen: no hit
    ]
    scores = count_cloze_scores(model, items)
    assert scores["top1_accuracy"] == pytest.approx(33.3)
    assert scores["top5_accuracy"] == pytest.approx(66.7)
    assert scores["predictions"][1]["top5"][0] == "rights"
