"""Faithfulness: deletion / insertion curves, AOPC, comprehensiveness and sufficiency checked on
a model whose output is the sum of fixed token weights (every number known by hand)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nlpviz.analysis import faithfulness as faith

WEIGHTS = np.array([0.05, -0.10, 0.30, 0.00, 0.20, -0.02, 0.15])


def sum_model(x: torch.Tensor) -> torch.Tensor:
    """(b, n, d) -> (b, 2): column 1 is the sum of the present tokens' first entries."""
    s = x[..., 0].sum(dim=1)  # (b,)
    return torch.stack([1 - s, s], dim=-1)


def inputs_of(weights: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.zeros(1, len(weights), 4, dtype=torch.float64)
    x[0, :, 0] = torch.as_tensor(weights)
    x[0, :, 2] = 7.0  # ignored by the model
    return x, torch.zeros_like(x)


def test_deletion_curve_of_a_sum_of_weights_model_is_the_sorted_cumulative_sum():
    x, baseline = inputs_of(WEIGHTS)
    result = faith.measure(sum_model, x, baseline, WEIGHTS, target=1)
    ordered = np.sort(WEIGHTS)[::-1]
    cumulative = np.concatenate([[0.0], np.cumsum(ordered)])  # (n + 1,)
    np.testing.assert_array_equal(result.ks, np.arange(len(WEIGHTS) + 1))
    np.testing.assert_allclose(result.deletion, WEIGHTS.sum() - cumulative, atol=1e-12)
    np.testing.assert_allclose(result.insertion, cumulative, atol=1e-12)
    assert result.probability == pytest.approx(WEIGHTS.sum())
    # AOPC: mean over k = 1..n of the drop, which is the mean of the cumulative sums
    assert result.aopc_deletion == pytest.approx(cumulative[1:].mean())
    assert result.aopc_insertion == pytest.approx((WEIGHTS.sum() - cumulative[1:]).mean())
    k = faith.top_k(len(WEIGHTS))
    assert k == 2  # ceil(0.2 * 7)
    assert result.comprehensiveness == pytest.approx(0.30 + 0.20)
    assert result.sufficiency == pytest.approx(WEIGHTS.sum() - 0.50)


def test_the_true_weights_are_the_most_faithful_ranking():
    x, baseline = inputs_of(WEIGHTS)
    best = faith.measure(sum_model, x, baseline, WEIGHTS, target=1)
    rng = np.random.default_rng(0)
    for _ in range(20):
        other = faith.measure(sum_model, x, baseline, rng.permutation(WEIGHTS), target=1)
        assert other.aopc_deletion <= best.aopc_deletion + 1e-12
        assert other.aopc_insertion >= best.aopc_insertion - 1e-12
    reverse = faith.measure(sum_model, x, baseline, -WEIGHTS, target=1)
    assert reverse.aopc_deletion < best.aopc_deletion
    assert reverse.comprehensiveness < 0 < best.comprehensiveness


def test_long_texts_are_measured_at_eleven_points_that_sit_on_the_exact_curve():
    weights = np.random.default_rng(1).normal(size=64) * 0.01
    x, baseline = inputs_of(weights)
    result = faith.measure(sum_model, x, baseline, weights, target=1)
    assert len(result.ks) == 11 and result.ks[0] == 0 and result.ks[-1] == 64
    exact = weights.sum() - np.concatenate([[0.0], np.cumsum(np.sort(weights)[::-1])])
    np.testing.assert_allclose(result.deletion, exact[result.ks], atol=1e-12)
    np.testing.assert_allclose(result.fractions, result.ks / 64)
    assert result.top_k == 13


def test_curve_points_and_top_k():
    np.testing.assert_array_equal(faith.curve_ks(3), [0, 1, 2, 3])
    np.testing.assert_array_equal(faith.curve_ks(20), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20])
    assert faith.top_k(1) == 1 and faith.top_k(10) == 2 and faith.top_k(11) == 3
    with pytest.raises(ValueError, match="at least one token"):
        faith.curve_ks(0)


def test_ranking_breaks_ties_in_reading_order():
    np.testing.assert_array_equal(faith.ranking(np.array([0.1, 0.3, 0.1, 0.3])), [1, 3, 0, 2])


def test_shapes_are_checked():
    x, baseline = inputs_of(WEIGHTS)
    with pytest.raises(ValueError, match="must agree"):
        faith.measure(sum_model, x, baseline, WEIGHTS[:3], target=1)
    with pytest.raises(ValueError, match="must agree"):
        faith.measure(sum_model, x, baseline[:, :3], WEIGHTS, target=1)


def test_batching_does_not_change_the_curves():
    x, baseline = inputs_of(WEIGHTS)
    a = faith.measure(sum_model, x, baseline, WEIGHTS, target=1, batch_size=1)
    b = faith.measure(sum_model, x, baseline, WEIGHTS, target=1, batch_size=64)
    np.testing.assert_array_equal(a.deletion, b.deletion)
    np.testing.assert_array_equal(a.insertion, b.insertion)


def test_agreement_is_spearman_of_the_magnitudes():
    a = np.array([0.1, -0.5, 0.2, 0.05])
    matrix = faith.agreement([a, -a, np.abs(a)[::-1], np.zeros(4)])
    assert matrix[0, 1] == pytest.approx(1.0)  # same magnitudes, opposite signs
    # ranks (2, 4, 3, 1) against (1, 3, 4, 2): 1 - 6 * 4 / (4 * 15)
    assert matrix[0, 2] == pytest.approx(0.6)
    assert np.isnan(matrix[0, 3]) and np.isnan(matrix[3, 3])
    np.testing.assert_allclose(matrix, matrix.T, equal_nan=True)
    assert faith.attention_agreement(np.array([0.1, 0.6, 0.2, 0.1]), a) == pytest.approx(
        faith.agreement([np.array([0.1, 0.6, 0.2, 0.1]), a])[0, 1]
    )
