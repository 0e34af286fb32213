"""Sinusoidal positional encodings (Vaswani et al. 2017, Section 3.5) and their figures."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from nlpviz.models import positional as pe
from nlpviz.viz import positional as figures
from nlpviz.viz.common import figure_json_bytes


def brute_force(n: int, d: int, base: float = 10000.0) -> np.ndarray:
    """The paper's two equations, one entry at a time."""
    table = np.zeros((n, d))
    for pos in range(n):
        for i in range(d // 2):
            angle = pos / base ** (2 * i / d)
            table[pos, 2 * i] = math.sin(angle)
            table[pos, 2 * i + 1] = math.cos(angle)
    return table


def test_table_matches_the_papers_equations():
    table = pe.sinusoidal_table(50, 16)
    assert table.shape == (50, 16) and table.dtype == torch.float32
    np.testing.assert_allclose(table.numpy(), brute_force(50, 16), atol=1e-6)
    wide = pe.sinusoidal_table(7, 10, base=100.0, dtype=torch.float64)
    np.testing.assert_allclose(wide.numpy(), brute_force(7, 10, base=100.0), atol=1e-12)


def test_position_zero_is_zero_one_zero_one():
    row = pe.sinusoidal_table(3, 12)[0]
    assert row.tolist() == [0.0, 1.0] * 6


def test_large_positions_keep_their_digits_in_float32():
    # the angle is formed in float64: pos * w in float32 would be off by ~1e-4 at pos 5000
    table = pe.sinusoidal_table(5001, 8)
    np.testing.assert_allclose(table[5000].numpy(), brute_force(5001, 8)[5000], atol=1e-6)


@pytest.mark.parametrize("k", [0, 1, 7, 100, -3, 2.5])
def test_rotation_maps_every_position_k_steps_on(k):
    d = 32
    positions = torch.arange(0, 200, dtype=torch.float64)
    table = pe.encode_positions(positions, d, dtype=torch.float64)  # (200, d)
    shifted = pe.encode_positions(positions + k, d, dtype=torch.float64)  # (200, d)
    rotation = pe.offset_rotation(k, d)
    np.testing.assert_allclose((table @ rotation.T).numpy(), shifted.numpy(), atol=1e-12)


def test_rotation_is_block_diagonal_orthogonal_and_inverted_by_minus_k():
    d = 16
    rotation = pe.offset_rotation(5, d)
    assert rotation.shape == (d, d)
    mask = torch.block_diag(*[torch.ones(2, 2)] * (d // 2)).bool()
    assert (rotation[~mask] == 0).all()
    np.testing.assert_allclose((rotation @ rotation.T).numpy(), np.eye(d), atol=1e-12)
    np.testing.assert_allclose(pe.offset_rotation(-5, d).numpy(), rotation.T.numpy(), atol=1e-15)
    np.testing.assert_allclose(pe.offset_rotation(0, d).numpy(), np.eye(d))


def test_dot_product_depends_on_the_offset_only():
    n, d = 64, 24
    table = pe.sinusoidal_table(n, d, dtype=torch.float64)
    by_offset = pe.similarity_by_offset(table).numpy()  # (n, n): [pos, k]
    assert by_offset.shape == (n, n)
    assert np.isnan(by_offset[n - 1, 1:]).all() and not np.isnan(by_offset[0]).any()
    w = pe.frequencies(d).numpy()
    for k in range(n):
        column = by_offset[: n - k, k]
        closed_form = np.cos(w * k).sum()
        np.testing.assert_allclose(column, np.full(n - k, closed_form), atol=1e-10)
    gram = pe.dot_products(table).numpy()
    np.testing.assert_allclose(np.diag(gram), d / 2)
    np.testing.assert_allclose(gram, gram.T)
    # a table that is not sinusoidal is not shift-invariant: the check can fail
    noisy = table + 0.1 * torch.randn(n, d, generator=torch.Generator().manual_seed(0))
    spread = (
        np.nanmax(pe.similarity_by_offset(noisy).numpy(), axis=0)[1]
        - np.nanmin(pe.similarity_by_offset(noisy).numpy(), axis=0)[1]
    )
    assert spread > 0.01


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: pe.sinusoidal_table(0, 16), "n_positions must be a positive integer, got 0"),
        (lambda: pe.sinusoidal_table(-3, 16), "got -3"),
        (lambda: pe.sinusoidal_table(2.5, 16), "got 2.5"),
        (lambda: pe.sinusoidal_table(True, 16), "got True"),
        (lambda: pe.sinusoidal_table(8, 0), "d_model must be a positive integer, got 0"),
        (lambda: pe.sinusoidal_table(8, 15), "d_model must be even"),
        (lambda: pe.sinusoidal_table(8, 16, base=0.0), "base must be positive"),
        (lambda: pe.sinusoidal_table(8, 16, base=float("nan")), "base must be positive"),
        (lambda: pe.offset_rotation(1, 7), "d_model must be even"),
        (lambda: pe.encode_positions(torch.zeros(2, 2), 8), r"\(2, 2\), expected \(n,\)"),
        (lambda: pe.dot_products(torch.zeros(4)), r"\(4,\), expected \(n, d_model\)"),
    ],
)
def test_bad_arguments_raise_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_numpy_integers_are_accepted():
    assert pe.sinusoidal_table(np.int64(4), np.int64(6)).shape == (4, 6)


# ---- figures --------------------------------------------------------------------------------


def test_table_heatmap_carries_the_table_on_a_fixed_scale():
    table = pe.sinusoidal_table(20, 8).numpy()
    fig = figures.table_heatmap(table)
    heat = fig.data[0]
    np.testing.assert_array_equal(np.asarray(heat.z), table)
    assert (heat.zmin, heat.zmax) == (-1.0, 1.0)
    assert fig.layout.title.text == "PE table: 20 positions x 8 dimensions"
    assert fig.layout.yaxis.title.text == "position"
    assert "%{z:.4f}" in heat.hovertemplate
    assert np.asarray(heat.z).dtype == np.float32
    frame = figures.table_frame(table)
    assert list(frame.columns[:3]) == ["position", "dim 0", "dim 1"]
    np.testing.assert_allclose(frame.iloc[:, 1:].to_numpy(), table)


def test_table_heatmap_labels_positions_with_escaped_words():
    table = pe.sinusoidal_table(3, 4).numpy()
    fig = figures.table_heatmap(table, tokens=["the", "<b>", "the"])
    assert list(fig.data[0].y) == ["0·the", "1·&lt;b&gt;", "2·the"]
    assert fig.layout.title.text == "What is added to your 3 words (4 dimensions)"
    assert figures.table_frame(table, tokens=["a", "b", "c"])["word"].tolist() == ["a", "b", "c"]


def test_dot_product_heatmap_and_offset_curves_carry_the_matrix():
    table = pe.sinusoidal_table(30, 16, dtype=torch.float64)
    gram = pe.dot_products(table).numpy()
    fig = figures.dot_product_heatmap(gram)
    np.testing.assert_allclose(np.asarray(fig.data[0].z), gram, rtol=1e-6)
    assert fig.data[0].zmax == pytest.approx(8.0) and fig.data[0].zmin == pytest.approx(-8.0)
    curves = figures.offset_curves(gram, [0, 12, 29])
    assert [t.name for t in curves.data] == ["pos = 0", "pos = 12", "pos = 29"]
    for trace, pos in zip(curves.data, [0, 12, 29], strict=True):
        np.testing.assert_array_equal(np.asarray(trace.x), np.arange(30) - pos)
        np.testing.assert_allclose(np.asarray(trace.y), gram[pos])
    # the curves coincide where they overlap: y at the same k agrees across positions
    at_k = {}
    for trace in curves.data:
        for x, y in zip(trace.x, trace.y, strict=True):
            at_k.setdefault(int(x), []).append(y)
    assert max(np.ptp(v) for v in at_k.values()) < 1e-10
    frame = figures.offset_frame(gram, [0, 12])
    assert len(frame) == 60 and list(frame.columns) == ["pos", "k", "dot"]


def test_rotation_check_shows_both_vectors():
    pair = pe.encode_positions(torch.tensor([3, 10]), 8, dtype=torch.float64)
    rotated = pe.offset_rotation(7, 8) @ pair[0]
    fig = figures.rotation_check(pair[1].numpy(), rotated.numpy(), 3, 7)
    np.testing.assert_allclose(np.asarray(fig.data[0].y), rotated.numpy())
    np.testing.assert_allclose(np.asarray(fig.data[1].y), pair[1].numpy())
    assert fig.layout.title.text == "M_7 · PE(3) against PE(10)"
    frame = figures.rotation_frame(pair[1].numpy(), rotated.numpy())
    assert frame["difference"].abs().max() < 1e-12


def test_figures_reject_bad_shapes_naming_the_sizes():
    with pytest.raises(ValueError, match=r"table has shape \(3, 4\), expected \(2, None\)"):
        figures.table_heatmap(np.zeros((3, 4)), tokens=["a", "b"])
    with pytest.raises(ValueError, match=r"table has shape \(4,\), expected \(None, None\)"):
        figures.table_heatmap(np.zeros(4))
    with pytest.raises(ValueError, match=r"gram has shape \(3, 4\), expected \(3, 3\)"):
        figures.dot_product_heatmap(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"gram has shape \(3, 4\), expected \(3, 3\)"):
        figures.offset_curves(np.zeros((3, 4)), [0])
    with pytest.raises(ValueError, match="position 5 is outside the 3 rows"):
        figures.offset_curves(np.zeros((3, 3)), [5])
    with pytest.raises(ValueError, match=r"rotated has shape \(3,\), expected \(4,\)"):
        figures.rotation_check(np.zeros(4), np.zeros(3), 0, 1)


def test_largest_figures_stay_small():
    # float32 typed arrays: 512 x 512 is 1 MB of numbers, about 1.9 MB of JSON (base64)
    table = pe.sinusoidal_table(512, 512)
    gram = pe.dot_products(table)
    for fig in (figures.table_heatmap(table.numpy()), figures.dot_product_heatmap(gram.numpy())):
        assert figure_json_bytes(fig) < 2_000_000
        assert json.loads(fig.to_json())["data"][0]["z"]["dtype"] == "f4"
