"""What a learned LoRA update looks like (Hu et al. 2022, Section 7): numpy in, numpy out.

* :func:`singular_values`: the spectrum of ``dW = scaling * B A`` (how many directions it uses).
* :func:`subspace_similarity`: the normalised subspace similarity of Section 7.2 (Eq. 4,
  Figure 3), ``phi(A1, A2, i, j) = ||U1_i^T U2_j||_F^2 / min(i, j)`` where ``U_i`` holds the top-i
  right-singular vectors of ``A`` (the row space of the down-projection). 1 means one subspace
  contains the other, 0 means they are orthogonal.
* :func:`amplification`: Section 7.3 (Table 7): project ``W`` onto the r-dimensional subspaces of
  ``dW`` (``U^T W V^T``, U and V the top-r left and right singular vectors of ``dW``) and report
  ``||dW||_F / ||U^T W V^T||_F``, beside the same projection on ``W``'s own top directions and on
  random directions.

And :func:`epoch_gap`: from a sweep card's rows, how far the best small rank still is from full
fine-tuning on dev after the last epoch, and whether that gap was closing.

Matrices follow ``torch.nn.Linear``: ``W`` and ``dW`` are (out, in), ``A`` is (r, in) and ``B`` is
(out, r).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch


def _matrix(name: str, value) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def svd(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD in float64 (U, S, Vh), as ``np.linalg.svd(..., full_matrices=False)``.

    Computed by torch: its LAPACK runs on torch's own thread pool (``torch.set_num_threads``),
    where NumPy's OpenBLAS spins on every core and was 100x slower on a busy 2-core machine.
    """
    u, s, vh = torch.linalg.svd(torch.from_numpy(np.ascontiguousarray(matrix)), full_matrices=False)
    return u.numpy(), s.numpy(), vh.numpy()


def _qr(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q, r = torch.linalg.qr(torch.from_numpy(np.ascontiguousarray(matrix)))
    return q.numpy(), r.numpy()


def delta_weight(a, b, scaling: float = 1.0) -> np.ndarray:
    """``scaling * B @ A``: (out, in) from ``A`` (r, in) and ``B`` (out, r)."""
    a, b = _matrix("A", a), _matrix("B", b)
    if b.shape[1] != a.shape[0]:
        raise ValueError(f"B has {b.shape[1]} columns but A has {a.shape[0]} rows (the rank)")
    return scaling * (b @ a)


def low_rank_svd(a, b, scaling: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SVD of ``scaling * B @ A`` without forming it: U (out, r), S (r,), Vh (r, in).

    With ``B = Qb Rb`` and ``A^T = Qa Ra``, ``B A = Qb (Rb Ra^T) Qa^T``: only an r x r matrix is
    decomposed, so the cost is O((in + out) r^2) instead of O(out in min(out, in)).
    """
    a, b = _matrix("A", a), _matrix("B", b)
    if b.shape[1] != a.shape[0]:
        raise ValueError(f"B has {b.shape[1]} columns but A has {a.shape[0]} rows (the rank)")
    qb, rb = _qr(b)  # (out, r), (r, r)
    qa, ra = _qr(a.T)  # (in, r), (r, r)
    u_s, s, vh_s = svd(scaling * (rb @ ra.T))  # (r, r), (r,), (r, r)
    return qb @ u_s, s, vh_s @ qa.T


def singular_values(matrix, k: int | None = None) -> np.ndarray:
    """Singular values of a matrix, largest first (the top ``k`` when given)."""
    values = torch.linalg.svdvals(torch.from_numpy(_matrix("matrix", matrix))).numpy()
    return values if k is None else values[:k]


def effective_rank(values: np.ndarray, energy: float = 0.9) -> int:
    """Smallest number of singular values holding ``energy`` of the squared Frobenius norm."""
    values = np.asarray(values, dtype=np.float64)
    total = float(np.sum(values**2))
    if total == 0.0:
        return 0
    return int(np.searchsorted(np.cumsum(values**2) / total, energy - 1e-12) + 1)


def right_singular_vectors(a) -> np.ndarray:
    """Right-singular vectors of ``A`` (r, in) as rows, by decreasing singular value: (r, in)."""
    _, _, vh = svd(_matrix("A", a))
    return vh


def subspace_similarity(a1, a2, i: int | None = None, j: int | None = None) -> np.ndarray:
    """Normalised subspace similarity ``phi(A1, A2, i, j)`` for all ``i <= i_max, j <= j_max``.

    Args:
        a1: (r1, in) the down-projection of one adapter (e.g. r = 8).
        a2: (r2, in) the down-projection of another (e.g. r = 64), same ``in``.
        i: largest i (default r1); j: largest j (default r2).

    Returns:
        (i, j) array whose ``[i-1, j-1]`` entry is ``||U1[:i] U2[:j]^T||_F^2 / min(i, j)``,
        in [0, 1].
    """
    v1, v2 = right_singular_vectors(a1), right_singular_vectors(a2)
    if v1.shape[1] != v2.shape[1]:
        raise ValueError(f"A1 has {v1.shape[1]} input columns but A2 has {v2.shape[1]}")
    i = v1.shape[0] if i is None else i
    j = v2.shape[0] if j is None else j
    if not (1 <= i <= v1.shape[0] and 1 <= j <= v2.shape[0]):
        raise ValueError(f"i must be in 1..{v1.shape[0]} and j in 1..{v2.shape[0]}, got {i}, {j}")
    overlap = (v1[:i] @ v2[:j].T) ** 2  # (i, j): squared cosines between singular directions
    cumulative = overlap.cumsum(0).cumsum(1)  # [a, b] = ||U1[:a+1] U2[:b+1]^T||_F^2
    sizes = np.minimum.outer(np.arange(1, i + 1), np.arange(1, j + 1))
    return np.clip(cumulative / sizes, 0.0, 1.0)


def random_similarity_expectation(i: int, j: int, dim: int) -> float:
    """E[phi] for independent uniformly random subspaces of sizes i and j in ``dim`` dimensions.

    ``E||U_i^T U_j||_F^2 = i j / dim``, so ``E[phi] = max(i, j) / dim``.
    """
    return max(i, j) / dim


@dataclass(frozen=True)
class Amplification:
    """Section 7.3 for one matrix at rank r (Frobenius norms)."""

    r: int
    delta_norm: float  # ||dW||_F
    weight_norm: float  # ||W||_F
    projected_on_delta: float  # ||U^T W V^T||_F, U, V: top-r singular vectors of dW
    projected_on_weight: float  # the same with W's own top-r singular vectors
    projected_on_random: float  # the same with random orthonormal directions (mean of draws)
    factor: float  # delta_norm / projected_on_delta

    def to_json(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def amplification(
    weight,
    delta,
    r: int | None = None,
    random_draws: int = 8,
    seed: int = 0,
    delta_svd: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    weight_svd: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Amplification:
    """How strongly ``dW`` amplifies directions of ``W`` (Hu et al. 2022, Section 7.3, Table 7).

    Args:
        weight: (out, in) the pretrained ``W``.
        delta: (out, in) the learned update ``dW``.
        r: size of the subspace (default: the numerical rank of ``dW``, at least 1).
        random_draws: random orthonormal (U, V) pairs averaged for the baseline.
        seed: seed of those draws.
        delta_svd, weight_svd: :func:`svd` results (U, S, Vh) already at hand, to reuse
            (e.g. :func:`low_rank_svd` of the adapter, or W's once for every rank).

    Returns:
        :class:`Amplification`; a factor well above 1 means ``dW`` boosts directions that ``W``
        itself barely uses (the paper: about 21.5 for r = 4 on GPT-3's W_q at layer 48).
    """
    w, d = _matrix("W", weight), _matrix("dW", delta)
    if w.shape != d.shape:
        raise ValueError(f"W has shape {w.shape} but dW has shape {d.shape}")
    du, ds, dvh = delta_svd if delta_svd is not None else svd(d)
    wu, _, wvh = weight_svd if weight_svd is not None else svd(w)
    if r is None:
        values = ds
        tol = values[0] * max(d.shape) * np.finfo(np.float64).eps if values.size else 0.0
        r = max(1, int(np.sum(values > tol)))
    if not 1 <= r <= min(w.shape):
        raise ValueError(f"r must be in 1..{min(w.shape)}, got {r}")

    def projected(u: np.ndarray, vh: np.ndarray) -> float:
        return float(np.linalg.norm(u.T @ w @ vh.T))  # ||U^T W V^T||_F, (r, r)

    u_d, vh_d = du[:, :r], dvh[:r]  # (out, r), (r, in)
    u_w, vh_w = wu[:, :r], wvh[:r]
    rng = np.random.default_rng(seed)
    randoms = []
    for _ in range(random_draws):
        u_r, _ = _qr(rng.standard_normal((w.shape[0], r)))
        v_r, _ = _qr(rng.standard_normal((w.shape[1], r)))
        randoms.append(projected(u_r, v_r.T))
    on_delta = projected(u_d, vh_d)
    delta_norm = float(np.linalg.norm(d))
    return Amplification(
        r=r,
        delta_norm=delta_norm,
        weight_norm=float(np.linalg.norm(w)),
        projected_on_delta=on_delta,
        projected_on_weight=projected(u_w, vh_w),
        projected_on_random=float(np.mean(randoms)) if randoms else float("nan"),
        factor=delta_norm / on_delta if on_delta > 0 else float("inf"),
    )


# ---- the sweep's training curves ----------------------------------------------------------------

SMALL_RANKS = (1, 2, 4, 8)  # "a small rank" in the paper's finding


@dataclass(frozen=True)
class EpochGap:
    """Full fine-tuning against the best small rank on dev, each kept at its best epoch (as the
    runs keep their checkpoints), and whether the curves say more epochs would close the gap."""

    small_label: str
    epoch: int  # the last epoch every compared run reached
    full_dev: float  # mean over seeds of each run's best dev accuracy up to ``epoch``
    small_dev: float
    full_best_epoch: int  # where full fine-tuning's mean curve peaks
    closing: bool  # over the last epoch the small rank rose and the curves' gap shrank

    @property
    def points_behind(self) -> float:
        return 100 * (self.full_dev - self.small_dev)


def epoch_gap(rows: list[dict]) -> EpochGap | None:
    """Read from a sweep card's rows: ``dev_accuracy`` (the kept epoch) and ``dev_history`` (dev
    accuracy per epoch); None while there is no full fine-tuning, no small rank, or fewer than
    two epochs (cards from before the history was kept have none).

    The small rank shown is the one with the highest kept dev accuracy (the page's verdict, on
    test, may name another rank). Every run of one sweep trains the same epochs (they are part
    of its recipe key), so the curves are plain means over seeds.
    """

    def runs(kind: str, rank: int | None) -> list[dict]:
        return [r for r in rows if r["kind"] == kind and r["rank"] == rank]

    def kept(group: list[dict]) -> float:
        return float(np.mean([r["dev_accuracy"] for r in group]))

    def curve(group: list[dict]) -> np.ndarray:
        return np.mean([r.get("dev_history") or [] for r in group], axis=0)

    full = runs("full", None)
    small = {
        rank: runs("lora", rank)
        for rank in sorted({int(r["rank"]) for r in rows if r["kind"] == "lora"})
        if rank in SMALL_RANKS
    }
    if not full or not small or len(full[0].get("dev_history") or []) < 2:
        return None
    rank = max(small, key=lambda r: (kept(small[r]), -r))
    small_curve, full_curve = curve(small[rank]), curve(full)
    if small_curve.size < 2 or small_curve.shape != full_curve.shape:
        return None
    gaps = full_curve[-2:] - small_curve[-2:]
    closing = bool(small_curve[-1] > small_curve[-2] and gaps[1] < gaps[0])
    full_best = int(np.argmax(full_curve)) + 1
    epochs = small_curve.size
    return EpochGap(f"r={rank}", epochs, kept(full), kept(small[rank]), full_best, closing)
