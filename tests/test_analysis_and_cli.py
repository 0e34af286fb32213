"""The page's verdict on the paper's finding, batch classification, neighbours, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import tiny_kim

from nlpviz.analysis.kim_cnn import (
    classify_many,
    lead_over_random,
    nearest_neighbours,
    pretrained_vs_random,
    read_text,
    tokenize,
)
from nlpviz.train.cli import TRAINABLES, main


def test_verdict_holds_only_when_every_pretrained_variant_wins_clearly():
    clear = pretrained_vs_random({"rand": 0.76, "static": 0.81, "non-static": 0.815}, 1000)
    assert clear.outcome == "reproduced"
    # binomial SE of 0.81 - 0.76 on 1000 sentences each: sqrt(.81*.19/1000 + .76*.24/1000)
    static = clear.comparisons[0]
    assert static.difference == pytest.approx(0.05)
    assert static.se == pytest.approx(0.0183385, abs=1e-6)
    noisy = pretrained_vs_random({"rand": 0.76, "static": 0.75, "non-static": 0.77}, 1000)
    assert noisy.outcome == "not reproduced"  # one behind, one 1 point ahead (2 SE = 3.8)
    # every variant ahead, but one by less than two SE: the claim is about every variant
    close = pretrained_vs_random({"rand": 0.76, "static": 0.82, "non-static": 0.78}, 1000)
    assert [c.outcome for c in close.comparisons] == ["reproduced", "not reproduced"]
    assert close.outcome == "not reproduced"
    worse = pretrained_vs_random({"rand": 0.76, "static": 0.70}, 1000)
    assert worse.outcome == "not reproduced"
    with pytest.raises(ValueError):
        pretrained_vs_random({"static": 0.8}, 10)


def test_the_lead_over_random_is_given_per_split_in_points():
    lead = lead_over_random(
        {
            "rand": {"test_accuracy": 0.730, "dev_accuracy": 0.755},
            "static": {"test_accuracy": 0.748, "dev_accuracy": 0.780},
            "multichannel": {"test_accuracy": 0.741, "dev_accuracy": 0.797},
        }
    )
    assert lead["test"] == pytest.approx((1.1, 1.8))
    assert lead["dev"] == pytest.approx((2.5, 4.2))
    with pytest.raises(ValueError):
        lead_over_random({"rand": {"test_accuracy": 0.7, "dev_accuracy": 0.7}})


def test_batch_classification_matches_one_by_one_and_marks_empty_texts():
    model, vocab = tiny_kim("multichannel", seed=4)
    texts = ["the film is very great", "", "bad !", "not ok ok ok the plot the plot"]
    probabilities = classify_many(model, vocab, texts, torch.device("cpu"), batch_size=2)
    assert np.isnan(probabilities[1]).all()
    for i in (0, 2, 3):
        single = read_text(model, vocab, texts[i], ("a", "b"), torch.device("cpu"))
        np.testing.assert_allclose(probabilities[i], single.probabilities, atol=1e-6)
    np.testing.assert_allclose(probabilities[[0, 2, 3]].sum(axis=1), 1.0, atol=1e-6)


def test_long_text_is_cut_to_the_view_limit():
    _, vocab = tiny_kim("rand")
    tokens = tokenize("film " * 300, vocab)
    assert len(tokens.tokens) == 256 and tokens.dropped == 44


def test_nearest_neighbours_by_cosine():
    _, vocab = tiny_kim("rand")
    table = torch.zeros(len(vocab), 2)
    table[vocab.stoi["good" if "good" in vocab else "great"]] = torch.tensor([1.0, 0.0])
    table[vocab.stoi["very"]] = torch.tensor([0.9, 0.1])
    table[vocab.stoi["bad"]] = torch.tensor([-1.0, 0.0])
    found = nearest_neighbours(table, vocab, "great", k=2)
    assert found[0][0] == "very" and found[0][1] == pytest.approx(0.9 / np.hypot(0.9, 0.1))
    assert nearest_neighbours(table, vocab, "unheard-of", k=2) is None


def test_cli_lists_and_refuses_unknown_names(capsys):
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in TRAINABLES)
    assert main(["train", "no-such-model"]) == 2
    assert "unknown checkpoint" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a CPU-only machine")
def test_cli_refuses_cuda_without_a_gpu(capsys):
    assert main(["train", "kim-cnn-rand-mr", "--device", "cuda"]) == 2
    assert "no CUDA device" in capsys.readouterr().err
