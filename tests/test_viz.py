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


def test_presentation_figure_sets_every_font_a_projector_needs():
    """Streamlit's plotly theme gives ticks, legends and colour bars their own 12 px fonts, so
    a larger layout font alone left them small: every one is set, and the original is kept."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=2, subplot_titles=["left", "right"])
    figure.add_heatmap(z=[[1, 2], [3, 4]], colorbar={"title": "share"}, row=1, col=1)
    figure.add_bar(x=[1, 2], y=[3, 4], name="bars", row=1, col=2)
    common_figures.base_layout(figure, "A title", height=300)
    figure.update_xaxes(title="tokens", row=1, col=1)
    spec = common_figures.presentation_figure(figure)
    layout = spec["layout"]
    for axis in ("xaxis", "yaxis", "xaxis2", "yaxis2"):
        assert layout[axis]["tickfont"]["size"] >= 16, axis
    assert layout["xaxis"]["title"]["font"]["size"] >= 18
    assert layout["legend"]["font"]["size"] >= 18
    assert layout["title"]["font"]["size"] >= 22
    assert all(a["font"]["size"] >= 18 for a in layout["annotations"])  # subplot titles
    colorbar = spec["data"][0]["colorbar"]
    assert colorbar["tickfont"]["size"] >= 16 and colorbar["title"]["font"]["size"] >= 16
    assert layout["margin"]["t"] >= 66 and layout["height"] == 375
    go.Figure(spec)  # still a valid figure
    assert figure.layout.xaxis.tickfont.size is None and figure.layout.height == 300


@pytest.mark.parametrize(
    ("piece", "shown"),
    [("Ġthe", "the"), ("▁the", "the"), ("##ing", "…ing"), ("the", "the"), ("[UNK]", "[UNK]")],
)
def test_human_token_drops_piece_marks(piece, shown):
    assert common_figures.human_token(piece) == shown


def test_human_words_join_pieces_into_words():
    assert common_figures.human_words(["play", "##ing", "well"]) == ["playing", "well"]
    assert common_figures.human_words(["ĠThe", "Ġplay", "ing", "Ġ."]) == ["The", "playing", "."]
    assert common_figures.human_words(["▁A", "▁cat", "s"]) == ["A", "cats"]


def test_plain_text_drops_markdown_emphasis_but_not_snake_case():
    assert common_figures.plain_text("*it* finds the animal") == "it finds the animal"
    assert common_figures.plain_text("**bold**, `code`, _em_") == "bold, code, em"
    assert common_figures.plain_text("snake_case_name and 2*3") == "snake_case_name and 2*3"


def test_kim_ig_colours_match_the_class_bars():
    """IG toward a class is drawn in that class's bar colour, against it in the other's."""
    bars = common_figures.probability_bars(["m"], ["rotten", "fresh"], np.array([[0.3, 0.7]]), "t")
    bar_colours = [trace.marker.color for trace in bars.data]
    for target in (0, 1):
        toward, against = common_figures.toward_against(target, 2)
        assert toward == bar_colours[target] and against == bar_colours[1 - target]
        figure = figures.attribution_bars(["a", "b"], np.array([0.5, -0.2]), "x", toward, against)
        scale = figure.data[0].marker.colorscale
        assert scale[0][1] == against and scale[-1][1] == toward
        html = figures.attribution_html(["a", "b"], np.array([0.5, -0.2]), toward, against)
        assert f"rgba({common_figures.rgb(toward)}," in html
        assert f"rgba({common_figures.rgb(against)}," in html


def test_kim_heatmap_of_a_short_text_is_not_squashed():
    fmap = np.array([[0.0, 0.4, 0.1]], dtype=np.float32)
    figure = figures.feature_map_heatmap(fmap, ["a", "b", "c"], 3, [7], np.array([1]))
    assert figure.layout.height >= 300


def test_many_class_probability_legend_is_rows_under_the_plot():
    names = [f"outlet {i}" for i in range(9)]
    figure = common_figures.probability_bars(["HAN"], names, np.full((1, 9), 1 / 9), "t")
    legend = figure.layout.legend
    assert legend.orientation == "h" and legend.yref == "container"
    assert figure.layout.margin.b >= 30 + 26 * 3  # three rows of four fit below the axis
