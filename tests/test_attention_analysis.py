"""Head summaries, pooling, windowing and figures of the attention explorer on hand-made arrays."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nlpviz.analysis.attention import (
    AttentionView,
    block_edges,
    check_rows,
    choose_window,
    head_map,
    is_punctuation,
    pooled_grid,
    punctuation_mask,
    summarise_heads,
    summarise_view,
    window_starts,
)
from nlpviz.viz import attention as figures
from nlpviz.viz.common import figure_json_bytes


def stack(*maps: np.ndarray) -> np.ndarray:
    """One layer whose heads are ``maps``: (1, H, T, T)."""
    return np.stack(maps)[None].astype(np.float32)


def random_attention(layers: int, heads: int, n: int, seed: int = 0) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(size=(layers, heads, n, n))
    weights = np.exp(logits)
    return (weights / weights.sum(-1, keepdims=True)).astype(np.float32)


def test_identity_and_uniform_heads():
    n = 6
    identity, uniform = np.eye(n), np.full((n, n), 1 / n)
    summaries = summarise_heads(stack(identity, uniform), np.zeros(n, dtype=bool))
    np.testing.assert_allclose(summaries.entropy[0], [0.0, np.log(n)], atol=1e-6)
    np.testing.assert_allclose(summaries.self[0], [1.0, 1 / n], atol=1e-6)
    np.testing.assert_allclose(summaries.previous[0], [0.0, 1 / n], atol=1e-6)
    # uniform: mean over i of sum_j |i - j| / n, by brute force
    brute = np.mean([sum(abs(i - j) for j in range(n)) / n for i in range(n)])
    np.testing.assert_allclose(summaries.distance[0], [0.0, brute], atol=1e-5)
    np.testing.assert_allclose(summaries.special[0], [0.0, 0.0])


def test_shift_heads_special_and_punctuation_shares():
    n = 5
    previous = np.eye(n, k=-1)
    previous[0, 0] = 1.0  # the first token has no previous one: it looks at itself
    following = np.eye(n, k=1)
    following[-1, -1] = 1.0
    to_cls = np.zeros((n, n))
    to_cls[:, 0] = 1.0
    special = np.array([True, False, False, False, True])
    punctuation = np.array([False, False, True, False, False])
    s = summarise_heads(stack(previous, following, to_cls), special, punctuation)
    np.testing.assert_allclose(s.previous[0], [1.0, 0.0, 1 / (n - 1)], atol=1e-6)
    np.testing.assert_allclose(s.next[0], [0.0, 1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(s.self[0], [1 / n, 1 / n, 1 / n], atol=1e-6)
    np.testing.assert_allclose(s.distance[0], [(n - 1) / n, (n - 1) / n, 2.0], atol=1e-6)
    # special: rows 0, 1 of "previous" land on token 0; rows 3, 4 of "next" on token 4
    np.testing.assert_allclose(s.special[0], [2 / n, 2 / n, 1.0], atol=1e-6)
    # punctuation (token 2): row 3 of "previous", row 1 of "next"
    np.testing.assert_allclose(s.punctuation[0], [1 / n, 1 / n, 0.0], atol=1e-6)
    frame = s.to_frame()
    assert list(frame.columns[:2]) == ["layer", "head"] and len(frame) == 3
    assert frame["head"].tolist() == [1, 2, 3] and frame["layer"].tolist() == [1, 1, 1]


def test_summaries_match_brute_force_on_random_attention():
    a = random_attention(2, 3, 7)
    special = np.array([1, 0, 0, 0, 0, 0, 1], dtype=bool)
    s = summarise_heads(a, special)
    for layer in range(2):
        for head in range(3):
            m = a[layer, head].astype(np.float64)
            entropy = np.mean([-sum(p * np.log(p) for p in row) for row in m])
            distance = np.mean([sum(m[i, j] * abs(i - j) for j in range(7)) for i in range(7)])
            assert s.entropy[layer, head] == pytest.approx(entropy, rel=1e-5)
            assert s.distance[layer, head] == pytest.approx(distance, rel=1e-5)
            assert s.special[layer, head] == pytest.approx(m[:, special].sum(1).mean(), rel=1e-5)


def test_single_token_has_no_neighbours():
    s = summarise_heads(np.ones((1, 1, 1, 1), dtype=np.float32), np.array([True]))
    assert s.entropy[0, 0] == 0 and s.self[0, 0] == 1
    assert np.isnan(s.previous[0, 0]) and np.isnan(s.next[0, 0])


def test_pooling_preserves_the_mean_and_the_max():
    a = random_attention(2, 2, 48)
    mean, edges = pooled_grid(a, cells=24, how="mean")
    assert mean.shape == (2, 2, 24, 24) and edges.tolist() == list(range(0, 49, 2))
    np.testing.assert_allclose(mean.mean(axis=(-2, -1)), a.mean(axis=(-2, -1)), rtol=1e-5)
    biggest, _ = pooled_grid(a, cells=24, how="max")
    np.testing.assert_allclose(biggest.max(axis=(-2, -1)), a.max(axis=(-2, -1)))
    assert biggest[0, 0, 3, 5] == a[0, 0, 6:8, 10:12].max()
    # uneven blocks: the size-weighted mean of the cells is the mean of the map
    b = random_attention(1, 1, 50)
    pooled, edges = pooled_grid(b, cells=24, how="mean")
    sizes = np.diff(edges)
    weighted = (pooled[0, 0] * np.outer(sizes, sizes)).sum() / 50**2
    assert weighted == pytest.approx(float(b.mean()), rel=1e-5)
    small, edges = pooled_grid(random_attention(1, 1, 10), cells=24)
    assert small.shape == (1, 1, 10, 10) and len(edges) == 11


def test_block_edges_cover_every_token():
    for n in (1, 5, 24, 25, 511, 512):
        edges = block_edges(n, 24)
        assert edges[0] == 0 and edges[-1] == n and np.all(np.diff(edges) >= 1)
        assert len(edges) == min(n, 24) + 1
    with pytest.raises(ValueError):
        block_edges(0, 24)


def test_windowing_arithmetic():
    fits = choose_window(100, 512, 2)
    assert (fits.start, fits.stop, fits.truncated) == (0, 100, False)
    assert window_starts(fits) == [0]
    long = choose_window(1000, 512, 2, start=0)
    assert (long.start, long.stop, long.size, long.truncated) == (0, 510, 510, True)
    assert long.max_start == 490
    middle = choose_window(1000, 512, 2, start=200)
    assert (middle.start, middle.stop) == (200, 710)
    assert choose_window(1000, 512, 2, start=10_000).start == 490  # clamped to the end
    assert choose_window(1000, 512, 2, start=-5).start == 0
    assert window_starts(long) == [0, 255, 490]
    exact = choose_window(510, 512, 2)
    assert not exact.truncated and exact.stop == 510
    with pytest.raises(ValueError, match="no room"):
        choose_window(10, 2, 2)


def test_punctuation_tokens():
    assert is_punctuation(".") and is_punctuation("##!") and is_punctuation("Ġ--")
    assert is_punctuation("▁,") and is_punctuation("$")
    assert not is_punctuation("play") and not is_punctuation("##ing") and not is_punctuation("")
    mask = punctuation_mask(["[CLS]", "hi", "!", "[SEP]"], np.array([1, 0, 0, 1], dtype=bool))
    assert mask.tolist() == [False, False, True, False]


def test_view_validates_shapes_and_rows():
    a = random_attention(2, 3, 4)
    view = AttentionView("m", ["[CLS]", "a", ".", "[SEP]"], [1, 0, 0, 1], a, False, 4, 0)
    assert (view.n_layers, view.n_heads, view.n_tokens) == (2, 3, 4)
    assert view.special.dtype == bool
    np.testing.assert_array_equal(view.head(1, 2), a[1, 2])
    assert summarise_view(view).punctuation.shape == (2, 3)
    with pytest.raises(ValueError, match="3 tokens"):
        AttentionView("m", ["a", "b", "c"], [0, 0, 0], a, False, 3, 0)
    with pytest.raises(ValueError, match=r"\(L, H, T, T\)"):
        AttentionView("m", ["a"] * 4, [0] * 4, a[0], False, 4, 0)
    with pytest.raises(ValueError, match="special"):
        AttentionView("m", ["a"] * 4, [0] * 3, a, False, 4, 0)
    with pytest.raises(ValueError, match="out of range"):
        head_map(a, 2, 0)
    check_rows(a)
    with pytest.raises(ValueError, match="sums to 1"):
        check_rows(a * 2)


def test_figures_carry_the_numbers_compactly():
    n = 512
    a = random_attention(6, 12, n)
    tokens = ["[CLS]", *(f"w{i}" for i in range(n - 2)), "[SEP]"]
    special = np.zeros(n, dtype=bool)
    special[[0, -1]] = True
    grid, edges = pooled_grid(a)
    thumbnails = figures.thumbnail_grid(grid, selected=(2, 4))
    large = figures.head_heatmap(tokens, a[2, 4], 2, 4, special)
    assert large.layout.title.text == "Layer 3, head 5"
    spec = json.loads(large.to_json())["data"][0]["z"]
    assert spec["dtype"] == "f4"  # binary typed array, not JSON text
    assert len(thumbnails.data) == 2  # all 72 heads tiled into one heatmap, + click markers
    assert len(thumbnails.data[1].customdata) == 72
    tiles, cells = np.asarray(thumbnails.data[0].z), grid.shape[-1]
    step = cells + figures.GAP
    np.testing.assert_array_equal(tiles[2 * step : 2 * step + cells, 4 * step : 4 * step + cells],
                                  grid[2, 4])  # fmt: skip
    assert thumbnails.data[0].y[2 * step] == "layer 3, query cell 1"
    assert thumbnails.data[0].x[4 * step + cells - 1] == f"head 5, key cell {cells}"
    assert np.isnan(tiles[cells:step, :]).all()  # the gap under layer 1
    box = thumbnails.layout.shapes[0]
    assert (box.x0, box.x1) == (4 * step - 1.0, 4 * step + cells)  # around head 5's cells
    assert figure_json_bytes(thumbnails) + figure_json_bytes(large) < 2_000_000
    summaries = summarise_heads(a, special)
    heat = figures.summary_heatmap(summaries.entropy, "entropy", (2, 4), n)
    assert heat.data[0].zmax == pytest.approx(np.log(n))
    assert len(figures.head_frame(tokens, a[2, 4])) == n * n
    assert len(figures.grid_frame(grid, edges)) == 72 * 24 * 24
    with pytest.raises(ValueError, match="expected"):
        figures.head_heatmap(tokens[:-1], a[0, 0], 0, 0)
    with pytest.raises(ValueError, match="unknown metric"):
        figures.summary_heatmap(summaries.entropy, "beauty")


def test_a_click_on_a_thumbnail_names_its_layer_and_head():
    grid = np.random.default_rng(0).random((3, 4, 5, 5)).astype(np.float32)
    figure = figures.thumbnail_grid(grid, selected=(0, 0))
    step, centre = 5 + figures.GAP, 2
    heat, picks = figure.data
    # each marker sits on its own thumbnail's centre cell and carries (layer, head)
    for x, y, (layer, head) in zip(picks.x, picks.y, picks.customdata, strict=True):
        assert x == heat.x[head * step + centre] and y == heat.y[layer * step + centre]
    # Streamlit's selection event -> the head; clicks elsewhere or out of range -> None
    point = {"x": picks.x[6], "y": picks.y[6], "customdata": list(picks.customdata[6])}
    assert figures.clicked_head([point], 3, 4) == (1, 2)
    assert figures.clicked_head([{"x": "gap 5", "y": "gap 3"}], 3, 4) is None
    assert figures.clicked_head([{"customdata": [7, 0]}], 3, 4) is None
    assert figures.clicked_head([], 3, 4) is None


def test_line_view_draws_one_line_per_strong_pair_with_the_weight_as_opacity():
    tokens = ["[CLS]", "the", "cat", "sat", "[SEP]"]
    att = np.random.default_rng(1).dirichlet(np.ones(5) * 0.5, size=5)
    figure = figures.line_view(tokens, att, 0, 0, min_weight=0.0, top_k=5)
    lines = [t for t in figure.data if t.mode == "lines"]
    assert len(lines) == 25  # every (query, key) pair
    for trace in lines:
        i, j = trace.meta
        assert trace.y == (-i, -j)  # left token i to right token j
        assert trace.opacity == pytest.approx(att[i, j], abs=1e-6)  # the heatmap's number
    row = {t.meta[1]: t.opacity for t in lines if t.meta[0] == 2}
    np.testing.assert_allclose([row[j] for j in range(5)], att[2], atol=1e-6)
    # isolating token 2: its lines keep their weight, the others fade to a tenth
    focused = figures.line_view(tokens, att, 0, 0, focus=2, min_weight=0.0, top_k=5)
    for trace in (t for t in focused.data if t.mode == "lines"):
        i, j = trace.meta
        assert trace.opacity == pytest.approx(att[i, j] * (1.0 if i == 2 else 0.1), abs=1e-6)
    # weak lines are left out
    sparse = figures.line_view(tokens, att, 0, 0, min_weight=0.2, top_k=5)
    assert sum(t.mode == "lines" for t in sparse.data) == int((att >= 0.2).sum())
    with pytest.raises(ValueError, match="expected"):
        figures.line_view(tokens[:-1], att, 0, 0)


def test_a_long_head_gets_a_readable_colour_scale():
    n = 250
    att = np.random.default_rng(2).dirichlet(np.ones(n), size=n)
    _, top, caption = figures.head_scale(att, "auto")
    assert top == pytest.approx(np.quantile(att, 0.99)) and top < 0.1 and "99th" in caption
    assert figures.head_scale(att[:10, :10], "auto")[1] == 1.0  # short texts: fixed at 1
    shown, top, _ = figures.head_scale(att, "row")
    np.testing.assert_allclose(shown.max(axis=1), 1.0)
    heat = figures.head_heatmap([f"w{i}" for i in range(n)], att, 0, 0, scale="auto")
    assert heat.data[0].zmax == pytest.approx(np.quantile(att, 0.99))


def test_html_in_tokens_is_escaped():
    tokens = ["<b>", "x"]
    figure = figures.head_heatmap(tokens, np.eye(2), 0, 0)
    assert figure.data[0].x[0] == "0·&lt;b&gt;"


def test_attention_figures_spell_out_a_light_to_dark_scale():
    """Built without validation, a named scale would reach plotly.js, whose "Blues" is reversed
    (dark for 0): the figures must carry the explicit stops, white at 0."""
    from nlpviz.viz import attention as figures

    att = np.full((1, 1, 3, 3), 1 / 3, dtype=np.float32)
    head = figures.head_heatmap(["a", "b", "c"], att[0, 0], 0, 0).to_plotly_json()
    grid = figures.thumbnail_grid(att, selected=(0, 0)).to_plotly_json()
    for scale in (head["data"][0]["colorscale"], grid["layout"]["coloraxis"]["colorscale"]):
        assert not isinstance(scale, str)
        assert scale[0][0] == 0 and scale[0][1] == "rgb(247,251,255)"  # near white at 0
        assert scale[-1][0] == 1 and scale[-1][1] == "rgb(8,48,107)"  # dark blue at 1
