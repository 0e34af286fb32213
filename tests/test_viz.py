"""Figures: shapes validated, tokens on the axes, user text escaped, sizes bounded."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nlpviz.viz import common as common_figures
from nlpviz.viz import kim_cnn as figures
from nlpviz.viz.common import figure_json_bytes, token_labels


def test_token_labels_keep_repeated_words_apart_and_escape_html():
    assert token_labels(["the", "the", "<b>"]) == ["0·the", "1·the", "2·&lt;b&gt;"]


def test_heatmap_carries_the_values_tokens_and_winners():
    fmap = np.array([[0.0, 1.5, 0.2], [0.3, 0.0, 0.9]], dtype=np.float32)
    tokens = ["a", "dull", "tedious", "mess", "."]
    fig = figures.feature_map_heatmap(fmap, tokens, 3, [7, 2], np.array([1, 2]))
    spec = json.loads(fig.to_json())
    heat, winners = spec["data"]
    assert spec["layout"]["xaxis"]["ticktext"] == ["0·a", "1·dull", "2·tedious"]
    assert spec["layout"]["yaxis"]["ticktext"] == ["filter 7", "filter 2"]
    assert winners["x"] == [1, 2]
    np.testing.assert_allclose(np.asarray(fig.data[0].z), fmap)
    assert heat["zmin"] == 0.0


def test_figures_reject_mismatched_shapes_naming_both():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, None\)"):
        figures.feature_map_heatmap(np.zeros((2, 3)), ["a"] * 5, 3, [0, 1, 2], np.zeros(3))
    with pytest.raises(ValueError, match="scores"):
        figures.attribution_bars(["a", "b"], np.zeros(3), "pos")
    with pytest.raises(ValueError, match="probabilities"):
        common_figures.probability_bars(["m"], ["neg", "pos"], np.zeros((1, 3)), "t")


def test_html_helpers_escape_user_text():
    html = figures.highlight_spans_html(["<script>", "alert(1)", "</script>"], [(0, 1)], None)
    assert "<script>" not in html and "&lt;script&gt;" in html
    html = figures.attribution_html(['"><img src=x onerror=alert(1)>'], np.array([0.5]))
    assert "<img" not in html


def test_full_size_heatmap_stays_under_the_size_budget():
    rng = np.random.default_rng(0)
    tokens = [f"w{i}" for i in range(256)]
    fmap = rng.random((100, 254)).astype(np.float32)
    fig = figures.feature_map_heatmap(fmap, tokens, 3, list(range(100)), np.zeros(100, int))
    assert figure_json_bytes(fig) < 500_000


def test_probability_bars_hold_the_numbers():
    fig = common_figures.probability_bars(
        ["a", "b"], ["neg", "pos"], np.array([[0.2, 0.8], [0.6, 0.4]]), "t"
    )
    assert list(fig.data[1].x) == [0.8, 0.4]


def test_silent_filters_get_no_winner_marker():
    fmap = np.array([[0.0, 0.0], [0.0, 0.4]], dtype=np.float32)
    fig = figures.feature_map_heatmap(fmap, ["a", "b", "c", "d"], 3, [5, 9], np.array([0, 1]))
    assert list(fig.data[1].y) == [1] and list(fig.data[1].x) == [1]
