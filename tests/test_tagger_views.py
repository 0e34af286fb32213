"""Unit tests of the tagger page's pure analysis and figure functions (tiny models, no files)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nlpviz.analysis import tagger as analysis
from nlpviz.data.vocab import Vocab
from nlpviz.models.crf import IMPOSSIBLE
from nlpviz.models.tagger import Tagger, TaggerConfig, pad_chars
from nlpviz.viz import tagger as figures

TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")


def tiny(use_chars: bool = True, use_crf: bool = True) -> tuple[Tagger, Vocab, Vocab]:
    torch.manual_seed(0)
    vocab = Vocab.build([["john", "lives", "in", "paris", "."]])
    chars = Vocab.build([list("JohnlivesinParis.")])
    config = TaggerConfig(
        vocab_size=len(vocab),
        char_vocab_size=len(chars),
        tags=TAGS,
        use_chars=use_chars,
        use_crf=use_crf,
        word_dim=8,
        char_dim=4,
        char_filters=6,
        hidden=5,
    )
    return Tagger(config).eval(), vocab, chars


# ---- tokenizer and limits ----


def test_cased_tokenizer_splits_like_conll_and_keeps_case():
    tokens = analysis.tokenize_cased(
        "Apple's CEO met @jack in New York, 3.5 hrs! #NYC http://t.co/x"
    )
    assert tokens == [
        "Apple's",
        "CEO",
        "met",
        "@jack",
        "in",
        "New",
        "York",
        ",",
        "3.5",
        "hrs",
        "!",
        "#NYC",
        "http://t.co/x",
    ]
    assert analysis.tokenize_cased("...!?") == [".", ".", ".", "!", "?"]
    assert analysis.tokenize_cased("   \n ") == []
    assert analysis.tokenize_cased("state-of-the-art") == ["state-of-the-art"]


def test_split_text_cuts_at_the_token_limit_and_counts_the_rest():
    text = " ".join(["word"] * 400)
    split = analysis.split_text(text)
    assert split.num_tokens == analysis.MAX_TOKENS
    assert split.dropped == 400 - analysis.MAX_TOKENS
    two = analysis.split_text("Alice went home. Bob stayed in Rome.")
    assert two.sentences == (("Alice", "went", "home", "."), ("Bob", "stayed", "in", "Rome", "."))
    assert two.dropped == 0
    assert analysis.split_text("").sentences == ()


# ---- readings ----


def test_read_sentence_shapes_and_marginals():
    model, vocab, chars = tiny()
    reading = analysis.read_sentence(
        model, vocab, chars, ("John", "lives", "in", "Zzyzx", "."), torch.device("cpu"), k=4
    )
    n, t = 5, len(TAGS)
    assert reading.emissions.shape == (n, t) and reading.marginals.shape == (n, t)
    np.testing.assert_allclose(reading.marginals.sum(axis=1), 1.0, atol=1e-5)
    assert reading.transitions.shape == (t, t)
    assert reading.known == (True, True, True, False, True)
    assert len(reading.k_best) == 4 and reading.k_best[0][0] == reading.path
    scores = [s for _, s in reading.k_best]
    assert scores == sorted(scores, reverse=True)
    assert reading.char_activations.shape[:2] == (n, 6)
    assert reading.confidence.shape == (n,)
    assert (reading.transitions <= IMPOSSIBLE / 2).any()  # BIO: O -> I-PER is forbidden


def test_read_sentence_without_crf_or_chars():
    model, vocab, chars = tiny(use_chars=False, use_crf=False)
    reading = analysis.read_sentence(model, vocab, chars, ("Paris",), torch.device("cpu"))
    assert reading.transitions is None and reading.k_best == ()
    assert reading.char_activations is None
    assert reading.changed_by_crf == []  # per-token argmax is the decision itself
    np.testing.assert_allclose(reading.marginals.sum(), 1.0, atol=1e-5)
    with pytest.raises(ValueError):
        analysis.read_sentence(model, vocab, chars, (), torch.device("cpu"))


def test_tag_many_matches_single_readings():
    model, vocab, chars = tiny()
    sentences = [("John", "lives", "in", "Paris", "."), (), ("Paris",)]
    tags = analysis.tag_many(model, vocab, chars, sentences, torch.device("cpu"), batch_size=2)
    assert tags[1] == []
    for sentence, got in zip(sentences, tags, strict=True):
        if sentence:
            one = analysis.read_sentence(model, vocab, chars, sentence, torch.device("cpu"))
            assert list(one.labels) == got


def test_changed_positions_finds_where_viterbi_overrules_the_emissions():
    emissions = np.array([[0.0, 2.0, 0.0], [0.0, 0.0, 3.0], [5.0, 0.0, 0.0]])
    assert analysis.changed_positions(emissions, [1, 2, 0]) == []
    assert analysis.changed_positions(emissions, [1, 1, 0]) == [1]
    with pytest.raises(ValueError, match="expected"):
        analysis.changed_positions(emissions, [1, 2])


# ---- character windows ----


def test_char_windows_map_the_argmax_to_the_right_trigram():
    # "Rome" padded by pad_chars with window 3: [pad, R, o, m, e, pad] -> 4 window starts.
    padded = pad_chars([[5, 6, 7, 8]], 3)
    assert padded.tolist() == [[0, 5, 6, 7, 8, 0]]
    activations = np.array(
        [
            [0.1, 0.9, 0.2, 0.0],  # filter 0 peaks at start 1: "Rom"
            [0.0, 0.0, 0.1, 2.0],  # filter 1 peaks at start 3: "me" + pad
            [1.5, 0.0, 0.0, 0.0],  # filter 2 peaks at start 0: pad + "Ro"
        ]
    )
    argmax = activations.argmax(axis=1)
    found = analysis.char_windows("Rome", activations, argmax, window=3, top=3)
    pad = analysis.PAD_CHAR
    assert [(f.filter, f.trigram) for f in found] == [
        (1, f"me{pad}"),
        (2, f"{pad}Ro"),
        (0, "Rom"),
    ]
    assert found[0].activation == pytest.approx(2.0)
    with pytest.raises(ValueError, match="filters"):
        analysis.char_windows("Rome", activations, argmax[:2], window=3)


def test_char_windows_agree_with_the_model_activations():
    model, vocab, chars = tiny()
    reading = analysis.read_sentence(model, vocab, chars, ("Paris",), torch.device("cpu"))
    found = analysis.char_windows(
        "Paris", reading.char_activations[0], reading.char_argmax[0], 3, top=6
    )
    pooled = reading.char_activations[0].max(axis=1)
    assert [f.activation for f in found] == pytest.approx(sorted(pooled, reverse=True))


# ---- upload helpers ----


def test_conll_detection_and_scoring():
    assert analysis.looks_like_conll("gold.conll", "anything")
    assert analysis.looks_like_conll("gold.txt", "John\tB-PER\nlives\tO\n\nOK\tO\n")
    assert not analysis.looks_like_conll("notes.txt", "John lives in Paris.\nHe likes it there.\n")
    gold = [("B-PER", "O", "O", "B-LOC")]
    pred = [("B-PER", "O", "O", "O")]
    scores = analysis.score_against_gold(gold, pred)
    assert scores["precision"] == 1.0 and scores["recall"] == 0.5
    assert scores["accuracy"] == 0.75
    errors = analysis.span_errors([("John", "lives", "in", "Paris")], gold, pred)
    assert errors == [
        {
            "sentence": 1,
            "error": "missed (gold only)",
            "type": "LOC",
            "tokens": "Paris",
            "gold tags": "B-LOC",
            "model tags": "O",
        }
    ]


def test_ablation_summary_reads_the_cards():
    text = analysis.ablation_summary(
        {"BLSTM": 0.30, "BLSTM-CNN": 0.40, "BLSTM-CNN-CRF": 0.39}, "entity F1"
    )
    assert "character CNN helps" in text and "10.0 points of entity F1" in text
    assert "the CRF does not help" in text
    assert "changes little" in analysis.ablation_summary({"BLSTM": 0.3, "BLSTM-CNN": 0.301}, "F1")
    assert "at least two" in analysis.ablation_summary({"BLSTM": 0.3}, "F1")


# ---- figures ----


def test_emission_heatmap_labels_tokens_and_validates_shapes():
    tokens = ["<b>John</b>", "lives"]
    figure = figures.emission_heatmap(np.zeros((2, len(TAGS))), tokens, TAGS)
    assert list(figure.layout.xaxis.ticktext) == ["0·&lt;b&gt;John&lt;/b&gt;", "1·lives"]
    assert np.asarray(figure.data[0].z).shape == (len(TAGS), 2)
    with pytest.raises(ValueError, match=r"\(3, 5\).*\(2, 5\)"):
        figures.emission_heatmap(np.zeros((3, 5)), tokens, TAGS)


def test_transition_heatmap_clips_forbidden_moves():
    transitions = np.array([[0.5, -1.0], [IMPOSSIBLE, 2.0]])
    figure = figures.transition_heatmap(transitions, ["O", "I-X"])
    z = np.asarray(figure.data[0].z, dtype=float)
    assert np.isnan(z[1, 0]) and z[1, 1] == 2.0
    assert figure.data[0].zmin == -2.0 and figure.data[0].zmax == 2.0
    assert figure.data[0].text[1][0] == "✕"
    assert "forbidden" in figure.data[0].customdata[1][0]
    assert "forbidden (1 moves)" in figure.layout.title.text
    with pytest.raises(ValueError):
        figures.transition_heatmap(np.zeros((2, 3)), ["O", "I-X"])


def test_lattice_draws_nodes_and_paths_with_scores():
    tokens, tags = ["a", "b", "c"], ["O", "B-X"]
    e = np.arange(6, dtype=float).reshape(3, 2)
    m = np.full((3, 2), 0.5)
    paths = [((1, 1, 0), 4.0), ((0, 1, 0), 3.5)]
    figure = figures.lattice(tokens, tags, paths, e, m)
    assert len(figure.data) == 3
    assert len(figure.data[0].x) == 6
    names = [trace.name for trace in figure.data[1:]]
    assert "Viterbi path (score 4.00)" in names and "#2 path (score 3.50)" in names
    with pytest.raises(ValueError, match="path has 2 tags"):
        figures.lattice(tokens, tags, [((0, 1), 1.0)], e, m)
    with pytest.raises(ValueError):
        figures.lattice(tokens, tags, paths, e, m[:2])
    frame = figures.lattice_frame(tokens, tags, paths, e, m)
    assert len(frame) == 6 and frame["on path 1"].sum() == 3


def test_entity_html_escapes_and_types_spans():
    html = figures.entity_html(
        ["<script>", "Tim", "Cook", "in", "Paris"], ["O", "B-PER", "I-PER", "O", "B-LOC"]
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Tim Cook <b" in html and ">PER</b>" in html and ">LOC</b>" in html
    pos = figures.entity_html(["I", "<run>"], ["PRP", "VBP"])
    assert "&lt;run&gt;<sub" in pos and "VBP" in pos
    with pytest.raises(ValueError):
        figures.entity_html(["a"], ["O", "O"])
