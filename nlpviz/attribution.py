"""Thin wrappers over Captum that return plain dataclasses (numpy, no tensors).

Integrated Gradients (Sundararajan et al., 2017) on word vectors:
``IG_i(x) = (x_i - x'_i) * integral_0^1 dF(x' + a (x - x')) / dx_i da``; by completeness the
attributions sum to ``F(x) - F(x')`` up to the integral's numerical error, which Captum reports
as the convergence delta.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import IntegratedGradients


@dataclass(frozen=True)
class TokenAttribution:
    """Per-token attributions of one prediction."""

    tokens: tuple[str, ...]
    scores: np.ndarray  # (tokens,) summed over the vector dimensions
    target: int
    output_at_input: float  # F(x)
    output_at_baseline: float  # F(x')
    delta: float  # sum(scores) - (F(x) - F(x')), as Captum reports it
    n_steps: int
    method: str = "Integrated Gradients"


def integrated_gradients(
    forward: Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    baseline: torch.Tensor,
    target: int,
    n_steps: int = 50,
    internal_batch_size: int = 16,
) -> tuple[np.ndarray, float, float, float]:
    """Integrated Gradients of ``forward(x)[:, target]`` with respect to ``inputs``.

    Args:
        forward: (batch, seq, dim) -> (batch, classes); must be free of dropout (eval mode).
        inputs: (1, seq, dim) the embedded input.
        baseline: (1, seq, dim) the reference input, usually all padding vectors.
        target: output column to explain.
        n_steps: points on the path; evaluated ``internal_batch_size`` at a time so long inputs
            do not run out of memory.

    Returns:
        Attributions summed over ``dim`` (seq,), the convergence delta, F(inputs), F(baseline).
    """
    if inputs.shape != baseline.shape or inputs.shape[0] != 1:
        raise ValueError(
            f"inputs {tuple(inputs.shape)} and baseline {tuple(baseline.shape)} must both be "
            "(1, seq, dim)"
        )
    explainer = IntegratedGradients(forward)
    attributions, delta = explainer.attribute(
        inputs,
        baselines=baseline,
        target=target,
        n_steps=n_steps,
        internal_batch_size=internal_batch_size,
        return_convergence_delta=True,
    )
    with torch.no_grad():
        ends = forward(torch.cat([inputs, baseline]))[:, target]  # (2,)
    per_token = attributions.sum(dim=-1)[0].detach().cpu().numpy()  # (seq,)
    return per_token, float(delta.item()), float(ends[0]), float(ends[1])
