"""The cloze probe set and its scoring (the masked-LM fidelity yardstick of every encoder card)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nlpviz.analysis.encoders import (
    ClozeItem,
    cloze_scores,
    held_out_gaps,
    human_word,
    is_content_word,
    load_cloze,
)
from nlpviz.data.pretrain import SubwordTokenizer, train_tokenizer
from nlpviz.models.encoders import build_model, design_config


def test_the_probe_set_has_fifty_everyday_sentences_with_one_mask_each():
    items = load_cloze()
    assert len(items) >= 50
    assert all(i.sentence.count("[MASK]") == 1 for i in items)
    assert all(i.answer.isalpha() and i.answer == i.answer.lower() for i in items)
    assert len({i.sentence for i in items}) == len(items)
    assert all(is_content_word(i.answer) for i in items), "every answer is a content word"


def test_held_out_gaps_hide_one_content_word_of_a_sentence_in_range():
    documents = [
        [
            "The storm left thousands of homes without power.",
            "Too short.",
            "It is what it is and so it was for all of us then.",  # stopwords only
            "Voters went to the polls on Sunday to elect a new president.",
        ],
        ["The bank raised interest rates for the first time this year.", " ".join(["word"] * 31)],
    ]
    gaps = held_out_gaps(documents, 10, seed=3)
    restored = set()
    for gap in gaps:
        assert gap.sentence.count("[MASK]") == 1
        assert is_content_word(gap.answer) and len(gap.answer) > 2 and gap.answer.islower()
        words = gap.sentence.split()
        at = words.index("[MASK]")
        sources = [s for d in documents for s in d if len(s.split()) == len(words)]
        match = [
            s
            for s in sources
            if s.split()[:at] == words[:at] and s.split()[at + 1 :] == words[at + 1 :]
        ]
        assert len(match) == 1 and match[0].split()[at].lower() == gap.answer
        restored.add(match[0])
    # the three sentences with a content word and 6-30 words, each once
    assert len(gaps) == 3 and len(restored) == 3
    assert held_out_gaps(documents, 10, seed=3) == gaps, "the same seed cuts the same gaps"
    assert len(held_out_gaps(documents, 2, seed=3)) == 2
    assert held_out_gaps(documents, 0) == []


def test_a_line_without_exactly_one_mask_is_refused(tmp_path):
    bad = tmp_path / "cloze.tsv"
    bad.write_text("# comment\nNo mask here.\tword\n", encoding="utf-8")
    with pytest.raises(ValueError, match="exactly one"):
        load_cloze(bad)


@pytest.mark.parametrize(
    "display, word, content",
    [
        ("capital", "capital", True),
        ("Ġcapital", "capital", True),
        ("Capital", "capital", True),
        ("##ing", "ing", False),
        ("the", "the", False),
        ("Ġthe", "the", False),
        (",", ",", False),
        ("Ġ,", ",", False),
        ("1", "1", False),
    ],
)
def test_predictions_are_read_as_words_and_judged(display, word, content):
    assert human_word(display) == word
    assert is_content_word(display) is content


class _Oracle(torch.nn.Module):
    """A masked LM stand-in that always puts ``favourite`` first and ``runner_up`` second."""

    def __init__(self, model, favourite: int, runner_up: int):
        super().__init__()
        self.inner = model
        self.config = model.config
        self.favourite, self.runner_up = favourite, runner_up

    def forward(self, ids, *args, **kwargs):
        out = self.inner(ids, *args, **kwargs)
        logits = torch.zeros_like(out.mlm_logits)
        logits[..., self.favourite] = 10.0
        logits[..., self.runner_up] = 5.0
        return type(out)(**{**out.__dict__, "mlm_logits": logits})


def test_scores_count_hits_at_one_and_five_and_content_words():
    sentences = ["the cat sat on the mat", "a dog ran in the park", "people like the news"] * 20
    tokenizer = SubwordTokenizer(train_tokenizer(sentences, "wordpiece", 60), "wordpiece")
    model = build_model("bert", design_config("bert", tokenizer.vocab_size, d_model=16,
                        n_layers=1, n_heads=2, d_ff=32, max_len=32))  # fmt: skip
    model.eval()
    cat, the = tokenizer.encode("cat")[0], tokenizer.encode("the")[0]
    items = [
        ClozeItem("The [MASK] sat.", "cat"),  # top-1 hit
        ClozeItem("On [MASK] mat.", "the"),  # top-5 hit only
        ClozeItem("A [MASK] ran.", "dog"),  # miss
    ]
    scores = cloze_scores(_Oracle(model, cat, the), tokenizer, items, torch.device("cpu"))
    assert scores["sentences"] == 3
    assert scores["top1_accuracy"] == pytest.approx(100 / 3, abs=0.05)
    assert scores["top5_accuracy"] == pytest.approx(200 / 3, abs=0.05)
    assert scores["top1_content_word"] == 100.0  # "cat" every time
    assert [r["top5"][0] for r in scores["predictions"]] == ["cat"] * 3
    scores = cloze_scores(_Oracle(model, the, cat), tokenizer, items, torch.device("cpu"))
    assert scores["top1_content_word"] == 0.0 and scores["top1_accuracy"] == pytest.approx(
        100 / 3, abs=0.05
    )
    assert np.isclose(scores["top5_accuracy"], 200 / 3, atol=0.05)
