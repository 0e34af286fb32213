"""Integrated Gradients: completeness, agreement with an independent Riemann-sum oracle."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import tiny_kim

from nlpviz.analysis.kim_cnn import attribute, tokenize
from nlpviz.models.kim_cnn import pad_ids

TEXT = "the film is not very great !"


def _oracle_ig(model, vocab, text, target, steps=2000):
    """Midpoint Riemann sum of the path integral, written without Captum."""
    ids = pad_ids([tokenize(text, vocab).ids], 5)
    lengths = torch.tensor([int((ids != 0).sum())])
    with torch.no_grad():
        x = model.embed(ids)
    alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps
    path = (alphas[:, None, None] * x).requires_grad_(True)  # (steps, seq, dim)
    probs = torch.softmax(model.forward_embedded(path, lengths.expand(steps)).logits, -1)
    (grads,) = torch.autograd.grad(probs[:, target].sum(), path)
    return (x[0] * grads.mean(dim=0)).sum(-1).numpy()[: lengths.item()]


@pytest.mark.parametrize("variant", ["rand", "multichannel"])
def test_attributions_sum_to_the_output_difference_within_delta(variant):
    model, vocab = tiny_kim(variant, seed=3)
    result = attribute(model, vocab, TEXT, target=1, device=torch.device("cpu"), n_steps=50)
    difference = result.output_at_input - result.output_at_baseline
    # Captum's delta is exactly this gap, and with 50 steps the gap is small.
    assert result.scores.sum() - difference == pytest.approx(result.delta, abs=1e-5)
    assert abs(result.delta) < 0.01
    assert abs(difference) > 1e-4  # the check above would be vacuous on a constant model


def test_attributions_match_an_independent_riemann_sum():
    model, vocab = tiny_kim("non-static", seed=5)
    result = attribute(model, vocab, TEXT, target=0, device=torch.device("cpu"), n_steps=200)
    oracle = _oracle_ig(model, vocab, TEXT, target=0)
    np.testing.assert_allclose(result.scores, oracle, atol=2e-3)
    assert result.tokens == tuple(TEXT.split())


def test_internal_batching_does_not_change_the_result():
    model, vocab = tiny_kim("static", seed=7)
    a = attribute(model, vocab, TEXT, 1, torch.device("cpu"), n_steps=40, internal_batch_size=7)
    b = attribute(model, vocab, TEXT, 1, torch.device("cpu"), n_steps=40, internal_batch_size=40)
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-6)


def test_attribution_leaves_no_gradient_on_the_shared_model():
    model, vocab = tiny_kim("non-static", seed=1)
    attribute(model, vocab, TEXT, 1, torch.device("cpu"), n_steps=20)
    assert all(p.grad is None for p in model.parameters())
    assert not model._forward_hooks and not model._backward_hooks


def test_empty_text_has_no_attribution():
    model, vocab = tiny_kim("rand")
    assert attribute(model, vocab, "   ", 0, torch.device("cpu")) is None
