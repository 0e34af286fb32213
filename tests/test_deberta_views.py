"""Figures of the DeBERTa pages, checked against oracles: sums, shares, the model's buckets."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
import torch

from nlpviz.analysis.encoders import bucket_values, detection_counts
from nlpviz.models.encoders import EncoderConfig, log_bucket_positions, relative_buckets
from nlpviz.viz import deberta as figures
from nlpviz.viz.common import figure_json_bytes

TOKENS = ["[CLS]", "the", "<b>chef</b>", "ate", "the", "meal", "[SEP]"]


def decode(array) -> np.ndarray:
    """A plotly typed array ({dtype, bdata, shape}) or a plain list, as numpy."""
    if isinstance(array, list):
        return np.asarray(array)
    data = np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
    shape = [int(s) for s in str(array.get("shape", len(data))).split(",")]
    return data.reshape(shape)


def spec(figure) -> dict:
    return json.loads(figure.to_json())


def terms(shape, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype(np.float32) * s for s in (1.0, 0.5, 2.0)]


def test_total_map_is_the_sum_of_the_three_terms_on_one_symmetric_scale():
    n = len(TOKENS)
    c2c, c2p, p2c = terms((n, n))
    data = spec(figures.score_maps(TOKENS, c2c, c2p, p2c, layer=1, head=2))
    assert [t["name"] for t in data["data"]] == ["c2c", "c2p", "p2c", "total"]
    z = [decode(t["z"]) for t in data["data"]]
    for got, want in zip(z[:3], (c2c, c2p, p2c), strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(z[3], c2c + c2p + p2c, rtol=1e-6)
    axis = data["layout"]["coloraxis"]
    top = max(np.abs(m).max() for m in z)
    assert axis["cmin"] == pytest.approx(-top) and axis["cmax"] == pytest.approx(top)
    assert all(t["coloraxis"] == "coloraxis" for t in data["data"])
    assert data["layout"]["title"]["text"] == "Score terms, layer 2, head 3"
    labels = data["data"][0]["x"]
    assert "2·&lt;b&gt;chef&lt;/b&gt;" in labels and "<b>" not in "".join(labels)
    assert "%{z:.4f}" in data["data"][3]["hovertemplate"]
    frame = figures.score_frame(TOKENS, c2c, c2p, p2c)
    np.testing.assert_allclose(frame["total"], (c2c + c2p + p2c).ravel(), rtol=1e-6)


def test_term_shares_sum_to_one_per_head_and_follow_the_magnitudes():
    c2c, c2p, p2c = terms((3, 4, 6, 6))
    shares = figures.term_shares(c2c, c2p, p2c)
    assert shares.shape == (3, 4, 3)
    np.testing.assert_allclose(shares.sum(axis=-1), 1.0, atol=1e-12)
    # brute force for one head
    means = [np.abs(t[2, 1]).mean() for t in (c2c, c2p, p2c)]
    np.testing.assert_allclose(shares[2, 1], np.asarray(means) / sum(means), rtol=1e-6)
    # a head without position terms puts all its share on c2c
    zero = np.zeros_like(c2c)
    np.testing.assert_allclose(figures.term_shares(c2c, zero, zero)[..., 0], 1.0)
    np.testing.assert_allclose(figures.term_shares(zero, zero, zero), 1 / 3)
    data = spec(figures.term_share_heatmap(shares, selected=(2, 1)))
    z = np.stack([decode(t["z"]) for t in data["data"]], axis=-1)
    np.testing.assert_allclose(z.sum(axis=-1), 1.0, atol=1e-5)
    assert len(data["layout"]["shapes"]) == 3  # the selected head, outlined in every panel
    frame = figures.shares_frame(shares)
    assert len(frame) == 12 and list(frame.columns)[-1] == "p2c_share"


def test_bucket_curve_matches_the_models_function():
    for k, max_position in ((32, 128), (256, 512), (8, 64)):
        distances, values = bucket_values(k, max_position, max_distance=512)
        data = spec(figures.bucket_curve(distances, values, k, window=128))
        curve = data["data"][0]
        x, y = decode(curve["x"]), decode(curve["y"])
        assert x[0] == -512 and x[-1] == 512 and len(x) == 1025
        want = log_bucket_positions(torch.tensor(x, dtype=torch.long), k, max_position)
        np.testing.assert_array_equal(y, want.numpy())
        assert y[x == 0] == 0 and (np.diff(y) >= 0).all()  # monotone through zero
        exact = np.abs(x) < k // 2
        np.testing.assert_array_equal(y[exact], x[exact])  # exact near the query
    clamped = spec(figures.bucket_curve(*bucket_values(32, 128), 32))["data"][1]
    assert decode(clamped["y"]).max() == 31 and decode(clamped["y"]).min() == -32


def test_bucket_matrix_carries_the_models_buckets_and_distances():
    config = EncoderConfig(vocab_size=50, position_buckets=8, max_relative_positions=32)
    n = 40
    buckets = relative_buckets(n, config).numpy()
    data = spec(figures.bucket_matrix([f"t{i}" for i in range(n)], buckets, 8))
    trace = data["data"][0]
    np.testing.assert_array_equal(decode(trace["z"]), buckets)
    distance = decode(trace["customdata"])
    assert distance[5, 2] == 3 and distance[2, 5] == -3
    assert trace["zmin"] == -8 and trace["zmax"] == 8
    full = figures.bucket_matrix(["t"] * 128, relative_buckets(128, config).numpy(), 8)
    assert figure_json_bytes(full) < 150_000  # int8 cells, not JSON text


def test_emd_bars_show_both_decoders_and_mark_the_original_word():
    data = spec(
        figures.emd_bars(
            ["film", "movie", "<i>x"],
            np.array([0.5, 0.3, 0.1]),
            ["movie", "film"],
            [0.4, 0.2],
            original="film",
        )
    )
    with_, without = data["data"]
    np.testing.assert_allclose(decode(with_["x"]), [0.5, 0.3, 0.1], rtol=1e-6)
    assert with_["y"][2] == "3. &lt;i&gt;x"
    assert with_["marker"]["color"][0] != with_["marker"]["color"][1]  # the original in red
    assert without["y"] == ["1. movie", "2. film"]
    frame = figures.emd_frame(["a"], [0.5], ["b"], [0.25])
    assert frame["decoder"].tolist() == ["with absolute positions", "without absolute positions"]


def test_replaced_bars_show_every_token_and_mark_the_replaced_ones():
    p = np.array([0.01, 0.2, 0.9, 0.7, 0.1, 0.3, 0.0])
    replaced = np.array([0, 0, 1, 0, 0, 1, 0], dtype=bool)
    original = ["[CLS]", "the", "cook", "ate", "the", "soup", "[SEP]"]
    data = spec(figures.replaced_bars(TOKENS, p, replaced, original))
    bars, marks = data["data"]
    np.testing.assert_allclose(decode(bars["y"]), p, rtol=1e-6)
    assert len(bars["x"]) == len(TOKENS)
    assert marks["x"] == [bars["x"][2], bars["x"][5]]
    assert marks["customdata"][0] == "cook → &lt;b&gt;chef&lt;/b&gt;"
    assert marks["customdata"][1] == "soup → meal"
    # without knowledge of what changed: bars only
    assert len(spec(figures.replaced_bars(TOKENS, p))["data"]) == 1


def test_sharing_bars_hold_the_numbers():
    numbers = {"generator_norm": 1.25, "delta_norm": 0.125, "mean_cosine": 0.5}
    data = spec(figures.sharing_bars(numbers))
    np.testing.assert_allclose(decode(data["data"][0]["y"]), [1.25, 0.125])
    np.testing.assert_allclose(decode(data["data"][1]["y"]), [0.5])
    with pytest.raises(ValueError, match="mean_cosine"):
        figures.sharing_bars({"generator_norm": 1.0, "delta_norm": 0.1})


def test_detection_counts_count_hits_and_false_alarms():
    p = np.array([0.9, 0.6, 0.2, 0.7, 0.1, 0.5])
    replaced = np.array([1, 1, 1, 0, 0, 0], dtype=bool)
    counts = detection_counts(replaced, p)
    assert (counts.replaced, counts.caught, counts.kept, counts.false_alarms) == (3, 2, 3, 2)
    scored = np.array([0, 1, 1, 1, 1, 0], dtype=bool)
    counts = detection_counts(replaced, p, scored=scored)
    assert (counts.replaced, counts.caught, counts.kept, counts.false_alarms) == (2, 1, 2, 1)
    with pytest.raises(ValueError, match=r"\(6,\).*\(5,\)"):
        detection_counts(replaced, p[:5])


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: figures.score_maps(TOKENS, *terms((7, 6)), 0, 0), r"c2c.*\(7, 6\).*\(7, 7\)"),
        (
            lambda: figures.score_maps(TOKENS, *terms((7, 7))[:2], np.zeros((5, 5)), 0, 0),
            r"p2c.*\(5, 5\).*\(7, 7\)",
        ),
        (lambda: figures.term_shares(*terms((2, 2, 4, 5))), r"\(2, 2, 4, 5\).*\(L, H, T, T\)"),
        (
            lambda: figures.term_shares(np.zeros((2, 2, 4, 4)), np.zeros((2, 2, 3, 3)), 0),
            r"c2p.*\(2, 2, 3, 3\).*\(2, 2, 4, 4\)",
        ),
        (lambda: figures.term_share_heatmap(np.zeros((2, 2, 2))), r"\(2, 2, 2\).*\(L, H, 3\)"),
        (lambda: figures.term_share_heatmap(np.zeros((2, 2, 3)), (2, 0)), "outside 2 layers"),
        (lambda: figures.bucket_matrix(TOKENS, np.zeros((6, 7), int), 8), r"\(6, 7\).*\(7, 7\)"),
        (lambda: figures.bucket_matrix(TOKENS, np.zeros((7, 7)), 8), "integers"),
        (lambda: figures.emd_bars(["a", "b"], [0.5], ["a"], [0.5]), r"\(1,\).*\(2,\)"),
        (lambda: figures.replaced_bars(TOKENS, np.zeros(6)), r"\(6,\).*\(7,\)"),
        (lambda: figures.replaced_bars(TOKENS, np.zeros(7), np.zeros(3)), r"\(3,\).*\(7,\)"),
        (lambda: figures.replaced_bars(TOKENS, np.zeros(7), None, ["a"]), "1 tokens.*7"),
        (lambda: bucket_values(32, 128, max_distance=0), "at least 1"),
        (lambda: figures.bucket_curve(np.arange(5), np.zeros(4), 8), r"\(4,\).*\(5,\)"),
    ],
)
def test_shape_errors_name_both_sizes(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_a_full_window_of_score_maps_stays_small():
    n = 128
    figure = figures.score_maps([f"w{i}" for i in range(n)], *terms((n, n)), 0, 0)
    data = spec(figure)
    assert all(t["z"]["dtype"] == "f4" for t in data["data"])  # binary float32, not JSON text
    assert figure_json_bytes(figure) < 600_000
