"""HAN page pieces without a model: rank correlation, document figures, document uploads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nlpviz.analysis.stats import average_ranks, spearman
from nlpviz.data.user_input import UploadError, parse_document_upload
from nlpviz.viz import han as figures
from nlpviz.viz.common import CLASS_COLOURS, toward_against

SENTENCES = (("the", "vote", "passed"), ("<b>", "officials", "said"))
SENTENCE_WEIGHTS = np.array([0.75, 0.25])
WORD_WEIGHTS = (np.array([0.2, 0.5, 0.3]), np.array([0.1, 0.1, 0.8]))


def test_average_ranks_share_ties():
    np.testing.assert_allclose(average_ranks(np.array([10, 20, 20, 5])), [2, 3.5, 3.5, 1])


def test_spearman_matches_known_values():
    assert spearman(np.array([1, 2, 3, 4]), np.array([10, 20, 30, 40])) == pytest.approx(1.0)
    assert spearman(np.array([1, 2, 3, 4]), np.array([4, 3, 2, 1])) == pytest.approx(-1.0)
    # A monotone but non-linear relation is still a perfect rank correlation.
    assert spearman(np.array([1, 2, 3]), np.array([1, 8, 27])) == pytest.approx(1.0)
    assert np.isnan(spearman(np.array([1.0, 1.0]), np.array([2.0, 3.0])))
    with pytest.raises(ValueError):
        spearman(np.zeros(2), np.zeros(3))


def test_scaled_word_weights_follow_the_paper():
    shown = figures.shown_word_weights(SENTENCE_WEIGHTS, WORD_WEIGHTS, scale_by_sentence=True)
    np.testing.assert_allclose(shown[0], np.sqrt(0.75) * WORD_WEIGHTS[0])
    raw = figures.shown_word_weights(SENTENCE_WEIGHTS, WORD_WEIGHTS, scale_by_sentence=False)
    np.testing.assert_allclose(raw[1], WORD_WEIGHTS[1])


def test_document_html_escapes_and_folds():
    html = figures.document_html(SENTENCES, SENTENCE_WEIGHTS, WORD_WEIGHTS, collapse_below=0.5)
    assert "<b>" not in html
    assert "1 low-weight sentence folded" in html and "officials" not in html
    html = figures.document_html(SENTENCES, SENTENCE_WEIGHTS, WORD_WEIGHTS)
    assert "&lt;b&gt;" in html and html.count('title="sentence') == 2


def test_document_figures_carry_one_row_per_sentence():
    bars = json.loads(
        figures.sentence_attention_bars(
            ["The vote passed.", "<b> officials said"], SENTENCE_WEIGHTS
        ).to_json()
    )
    assert bars["layout"]["yaxis"]["ticktext"] == [
        "1. The vote passed.",
        "2. &lt;b&gt; officials said",
    ]
    heat = figures.word_attention_heatmap(SENTENCES, SENTENCE_WEIGHTS, WORD_WEIGHTS, False)
    z = np.asarray(heat.data[0].z)
    assert z.shape == (2, 3)
    np.testing.assert_allclose(z[1], WORD_WEIGHTS[1], atol=1e-5)
    assert heat.data[0].customdata[1][0] == "&lt;b&gt;"
    # integer sentence ticks (not "1, 1, 2, 2, 3"), the words written on their cells, and a
    # colour bar tall enough for its few labels
    layout = heat.layout
    assert list(layout.yaxis.tickvals) == [1, 2] and layout.yaxis.tickmode == "array"
    assert heat.data[0].texttemplate == "%{text}"
    assert heat.data[0].text[1][0] == "&lt;b&gt;" and heat.data[0].text[0][2] == "passed"
    long = figures.word_attention_heatmap(
        (("internationalisation", "ok"),), np.array([1.0]), (np.array([0.5, 0.5]),)
    )
    assert long.data[0].text[0][0] == "internati…"  # cut to fit its cell; whole on hover
    assert long.data[0].customdata[0][0] == "internationalisation"
    assert heat.data[0].colorbar.nticks <= 4 and heat.data[0].colorbar.len >= 120


def test_han_ig_points_use_the_class_colours_of_the_bars():
    figure = figures.attention_vs_attribution(
        ["a", "b"], np.array([0.2, 0.8]), np.array([-1.0, 2.0]), 0.5, toward_against(0, 2)
    )
    scale = figure.data[0].marker.colorscale
    assert scale[-1][1] == CLASS_COLOURS[0] and scale[0][1] == CLASS_COLOURS[1]


def test_document_figures_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="word_weights"):
        figures.document_html(SENTENCES, SENTENCE_WEIGHTS, WORD_WEIGHTS[:1])
    with pytest.raises(ValueError, match=r"word_weights\[0\]"):
        figures.word_attention_heatmap(SENTENCES, SENTENCE_WEIGHTS, (np.ones(2), np.ones(3)))


def test_document_uploads():
    one = parse_document_upload("article.md", b"# Title\n\nFirst. Second.\n")
    assert one.documents == ("# Title\n\nFirst. Second.\n",) and not one.from_csv
    many = parse_document_upload("docs.csv", b'text\n"A. B."\n"C."\n')
    assert many.documents == ("A. B.", "C.") and many.from_csv
    with pytest.raises(UploadError, match="binary"):
        parse_document_upload("x.txt", b"\x00\x01\x02" * 50)
    with pytest.raises(UploadError):
        parse_document_upload("x.txt", b"   \n  ")
    long = parse_document_upload("long.txt", ("word " * 20_000).encode())
    assert len(long.documents[0]) == 60_000 and long.notes
