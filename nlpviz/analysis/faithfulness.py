"""Is an attribution faithful to the model? Deletion / insertion curves, AOPC, ERASER's scores.

Tokens are removed (replaced by the baseline vector) or added back in the order an attribution
ranks them, most supportive first, and the model's probability of the target class is tracked:

* deletion curve ``D(k) = P(target | x without its top-k tokens)`` (Samek et al., 2017): a
  faithful ranking makes it fall fast;
* insertion curve ``I(k) = P(target | baseline with only the top-k tokens)``
  (Petsiuk et al., 2018): a faithful ranking makes it rise fast;
* AOPC, the area over the perturbation curve, ``mean_k [P(x) - D(k)]`` over the measured k > 0
  (higher = more faithful), and the same for insertion ``mean_k [P(x) - I(k)]`` (lower = better);
* comprehensiveness ``P(x) - P(x \\ top-k)`` and sufficiency ``P(x) - P(top-k only)`` at one k
  (DeYoung et al., 2020, ERASER): high comprehensiveness and low sufficiency are good.

Agreement between methods is Spearman's rank correlation of the token scores' magnitudes.
Everything here is plain numpy out; the forward is the one :mod:`nlpviz.attribution` adapts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from nlpviz.analysis.stats import spearman

CURVE_POINTS = 10
"""Above this many tokens the curves are measured at k = 0, 10%, 20%, ..., 100% of the tokens
(11 points, batched in one pass), not at every k: a long text through MiniLM would otherwise cost
one forward pass per token per curve."""
TOP_FRACTION = 0.2
"""Comprehensiveness and sufficiency remove / keep the top 20% of the tokens (at least one)."""


@dataclass(frozen=True)
class Faithfulness:
    """The curves and scores of one attribution on one text."""

    ks: np.ndarray  # (points,) tokens removed / kept, 0 .. n
    deletion: np.ndarray  # (points,) P(target) with the top-k tokens replaced by the baseline
    insertion: np.ndarray  # (points,) P(target) with only the top-k tokens kept
    probability: float  # P(target | text)
    top_k: int
    comprehensiveness: float  # P(x) - P(x without the top-k)
    sufficiency: float  # P(x) - P(only the top-k)

    @property
    def n_tokens(self) -> int:
        return int(self.ks[-1])

    @property
    def fractions(self) -> np.ndarray:
        return self.ks / max(self.n_tokens, 1)

    @property
    def aopc_deletion(self) -> float:
        """mean over measured k > 0 of P(x) - D(k): higher means the top tokens mattered."""
        return float(np.mean(self.probability - self.deletion[1:])) if len(self.ks) > 1 else 0.0

    @property
    def aopc_insertion(self) -> float:
        """mean over measured k > 0 of P(x) - I(k): lower means the top tokens suffice."""
        return float(np.mean(self.probability - self.insertion[1:])) if len(self.ks) > 1 else 0.0


def ranking(scores: np.ndarray) -> np.ndarray:
    """Token indices, most supportive first (ties keep reading order)."""
    return np.argsort(-np.asarray(scores, dtype=float), kind="stable")


def curve_ks(n_tokens: int, points: int = CURVE_POINTS) -> np.ndarray:
    """The k at which the curves are measured: every k up to ``points`` tokens, else 11 steps."""
    if n_tokens < 1:
        raise ValueError(f"a curve needs at least one token, got {n_tokens}")
    if n_tokens <= points:
        return np.arange(n_tokens + 1)
    return np.unique(np.round(np.linspace(0, n_tokens, points + 1)).astype(int))


def top_k(n_tokens: int, fraction: float = TOP_FRACTION) -> int:
    return max(1, min(n_tokens, math.ceil(fraction * n_tokens)))


@torch.no_grad()
def _probabilities(
    forward: Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    baseline: torch.Tensor,
    keep: np.ndarray,
    target: int,
    batch_size: int,
) -> np.ndarray:
    """P(target) for each row of ``keep`` (rows, tokens) bool: True keeps the input's vector."""
    out = np.empty(len(keep), dtype=np.float64)
    for start in range(0, len(keep), batch_size):
        rows = torch.as_tensor(keep[start : start + batch_size], device=inputs.device)
        mixed = torch.where(rows[:, :, None], inputs, baseline)  # (rows, tokens, dim)
        out[start : start + len(rows)] = forward(mixed)[:, target].double().cpu().numpy()
    return out


def measure(
    forward: Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    baseline: torch.Tensor,
    scores: np.ndarray,
    target: int,
    points: int = CURVE_POINTS,
    fraction: float = TOP_FRACTION,
    batch_size: int = 32,
) -> Faithfulness:
    """Deletion and insertion curves and the top-k scores of one attribution.

    Args:
        forward: (batch, tokens, dim) vectors -> (batch, classes) probabilities.
        inputs: (1, tokens, dim) the text's vectors; baseline: (1, tokens, dim) what a removed
            token becomes.
        scores: (tokens,) the attribution to test.
    """
    scores = np.asarray(scores, dtype=float)
    n = inputs.shape[1]
    if scores.shape != (n,) or baseline.shape != inputs.shape:
        raise ValueError(
            f"scores {scores.shape}, inputs {tuple(inputs.shape)} and baseline "
            f"{tuple(baseline.shape)} must agree on (1, {n}, dim)"
        )
    order = ranking(scores)
    ks = curve_ks(n, points)
    k = top_k(n, fraction)
    top = np.zeros((len(ks), n), dtype=bool)  # row j: the top ks[j] tokens
    for row, count in enumerate(ks):
        top[row, order[:count]] = True
    single = np.zeros(n, dtype=bool)
    single[order[:k]] = True
    keep = np.concatenate([~top, top, [~single, single]])  # deletion, insertion, comp, suff
    p = _probabilities(forward, inputs, baseline, keep, target, batch_size)
    m = len(ks)
    deletion, insertion = p[:m], p[m : 2 * m]
    full = float(deletion[0])
    return Faithfulness(
        ks=ks,
        deletion=deletion,
        insertion=insertion,
        probability=full,
        top_k=k,
        comprehensiveness=full - float(p[2 * m]),
        sufficiency=full - float(p[2 * m + 1]),
    )


def agreement(scores: Sequence[np.ndarray]) -> np.ndarray:
    """(m, m) Spearman correlations of the magnitudes |scores| (NaN where one is constant)."""
    m = len(scores)
    matrix = np.eye(m)
    for i in range(m):
        for j in range(i + 1, m):
            rho = spearman(np.abs(scores[i]), np.abs(scores[j]))
            matrix[i, j] = matrix[j, i] = rho
    for i in range(m):
        if np.asarray(scores[i]).std() == 0:
            matrix[i, i] = float("nan")
    return matrix


def attention_agreement(attention: np.ndarray, scores: np.ndarray) -> float:
    """Spearman between a model's attention and an attribution's magnitudes."""
    return spearman(np.asarray(attention, dtype=float), np.abs(np.asarray(scores, dtype=float)))
