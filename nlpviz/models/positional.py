"""Sinusoidal positional encodings of Vaswani et al. (2017), "Attention Is All You Need"
(NeurIPS), Section 3.5.

A token at position ``pos`` gets a vector of size ``d_model`` added to its embedding:

``PE(pos, 2i) = sin(pos / base^(2i / d_model))``,
``PE(pos, 2i + 1) = cos(pos / base^(2i / d_model))``, with ``base = 10000`` in the paper.

Each pair of dimensions ``(2i, 2i + 1)`` is a point on a circle turning with angular frequency
``w_i = base^(-2i / d_model)``, so moving ``k`` positions on is a rotation of every pair by
``w_i k``: ``PE(pos + k) = M_k PE(pos)`` with a block-diagonal ``M_k`` that does not depend on
``pos`` (:func:`offset_rotation`; the paper's "PE(pos+k) can be represented as a linear function
of PE(pos)"). It follows that ``PE(pos) . PE(pos + k) = sum_i cos(w_i k)`` depends on the offset
``k`` only (:func:`similarity_by_offset`).

Only ``torch`` is needed, so a Transformer can import :func:`sinusoidal_table` for its buffer.
Angles are computed in float64 and cast at the end: in float32 ``pos * w_i`` loses digits at
large positions.
"""

from __future__ import annotations

from numbers import Integral

import torch

PAPER_BASE = 10000.0


def _check(d_model: int, base: float) -> None:
    if isinstance(d_model, bool) or not isinstance(d_model, Integral) or d_model <= 0:
        raise ValueError(f"d_model must be a positive integer, got {d_model!r}")
    if d_model % 2:
        raise ValueError(f"d_model must be even (sin/cos pairs), got {d_model}")
    if not base > 0:
        raise ValueError(f"base must be positive, got {base!r}")


def frequencies(d_model: int, base: float = PAPER_BASE) -> torch.Tensor:
    """Angular frequencies ``w_i = base^(-2i / d_model)`` of the ``d_model / 2`` pairs.

    Returns:
        (d_model // 2,) float64, from 1 (dimensions 0-1) down towards ``1 / base``.
    """
    _check(d_model, base)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (d/2,)
    return torch.exp(-torch.log(torch.tensor(float(base), dtype=torch.float64)) * two_i / d_model)


def encode_positions(
    positions: torch.Tensor,
    d_model: int,
    base: float = PAPER_BASE,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """``PE`` of arbitrary (even negative or fractional) positions.

    Args:
        positions: (n,) positions.

    Returns:
        (n, d_model) with ``sin`` in the even and ``cos`` in the odd dimensions.
    """
    positions = torch.as_tensor(positions, dtype=torch.float64)
    if positions.ndim != 1:
        raise ValueError(f"positions has shape {tuple(positions.shape)}, expected (n,)")
    angles = positions[:, None] * frequencies(d_model, base)[None, :]  # (n, d/2)
    table = torch.stack([torch.sin(angles), torch.cos(angles)], dim=-1)  # (n, d/2, 2)
    return table.reshape(len(positions), d_model).to(dtype)  # (n, d): sin, cos, sin, cos, ...


def sinusoidal_table(
    n_positions: int,
    d_model: int,
    base: float = PAPER_BASE,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The encodings of positions ``0 .. n_positions - 1`` (Section 3.5 of the paper).

    Returns:
        (n_positions, d_model).
    """
    if isinstance(n_positions, bool) or not isinstance(n_positions, Integral) or n_positions <= 0:
        raise ValueError(f"n_positions must be a positive integer, got {n_positions!r}")
    _check(d_model, base)
    return encode_positions(torch.arange(int(n_positions)), int(d_model), base, dtype)  # (n, d)


def offset_rotation(
    k: float,
    d_model: int,
    base: float = PAPER_BASE,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """The linear map ``M_k`` with ``PE(pos + k) = M_k PE(pos)`` for every ``pos``.

    Block-diagonal, one 2x2 rotation per pair: ``[[cos w_i k, sin w_i k], [-sin w_i k,
    cos w_i k]]`` (from ``sin(a + b) = sin a cos b + cos a sin b`` and
    ``cos(a + b) = cos a cos b - sin a sin b``). ``M_k`` is orthogonal and ``M_{-k} = M_k^T``.

    Returns:
        (d_model, d_model).
    """
    angles = frequencies(d_model, base) * float(k)  # (d/2,)
    cos, sin = torch.cos(angles), torch.sin(angles)
    blocks = torch.stack(
        [torch.stack([cos, sin], dim=-1), torch.stack([-sin, cos], dim=-1)], dim=-2
    )  # (d/2, 2, 2)
    return torch.block_diag(*blocks).to(dtype)  # (d, d)


def dot_products(table: torch.Tensor) -> torch.Tensor:
    """``PE(pos) . PE(pos')`` for every pair of rows.

    Args:
        table: (n, d_model).

    Returns:
        (n, n), symmetric, ``d_model / 2`` on the diagonal for sinusoidal tables.
    """
    if table.ndim != 2:
        raise ValueError(f"table has shape {tuple(table.shape)}, expected (n, d_model)")
    return table @ table.T  # (n, n)


def similarity_by_offset(table: torch.Tensor) -> torch.Tensor:
    """``PE(pos) . PE(pos + k)`` indexed by position and offset.

    Args:
        table: (n, d_model).

    Returns:
        (n, n): entry ``[pos, k]`` for ``k = 0 .. n - 1``, NaN where ``pos + k >= n``. For a
        sinusoidal table every column is constant (it depends on ``k`` only).
    """
    gram = dot_products(table)  # (n, n)
    n = gram.shape[0]
    pos = torch.arange(n)[:, None]  # (n, 1)
    k = torch.arange(n)[None, :]  # (1, n)
    target = pos + k  # (n, n)
    inside = target < n
    values = gram.gather(1, target.clamp(max=n - 1))  # (n, n): gram[pos, pos + k]
    nan = torch.tensor(float("nan"), dtype=gram.dtype, device=gram.device)
    return torch.where(inside, values, nan)
