"""Figures of the sinusoidal positional encodings (Vaswani et al. 2017, Section 3.5).

Heatmaps are sent as float32 (plotly ships numpy arrays as typed binary data): half the bytes of
float64 and still exact to the four decimals the hover shows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nlpviz.viz.common import base_layout, diverging_scale, require_shape, token_labels

LINE_STYLES = (("solid", 7, 0.35), ("dash", 3, 0.9), ("dot", 3, 0.9), ("dashdot", 2, 0.9))
"""(dash, width, opacity) per curve, so that curves lying on top of each other stay visible."""


def _require_square(name: str, array: np.ndarray) -> None:
    require_shape(name, array, (None, None))
    require_shape(name, array, (array.shape[0], array.shape[0]))


def table_heatmap(
    table: np.ndarray, tokens: Sequence[str] | None = None, title: str | None = None
) -> go.Figure:
    """Positions (y, top to bottom) by dimensions (x) heatmap of ``PE``, colours fixed at -1..1.

    Args:
        table: (n, d_model), row ``pos`` is ``PE(pos)``.
        tokens: optional words at positions ``0 .. n - 1``; they label the position axis.
    """
    table = np.asarray(table, dtype=np.float32)
    require_shape("table", table, (None if tokens is None else len(tokens), None))
    n, d = table.shape
    labels = None if tokens is None else token_labels(tokens)
    where = "position %{y}" if labels is None else "%{y}"
    figure = go.Figure(
        go.Heatmap(
            z=table,
            y=labels,
            **diverging_scale(1.0),
            colorbar={"title": "PE", "tickvals": [-1, 0, 1]},
            hovertemplate=where + ", dimension %{x}: %{z:.4f}<extra></extra>",
        )
    )
    if labels is None:
        figure.update_yaxes(title="position")
        default_title = f"PE table: {n} positions x {d} dimensions"
    else:
        figure.update_yaxes(title="position · word", tickmode="array", tickvals=labels)
        default_title = f"What is added to your {n} words ({d} dimensions)"
    figure.update_xaxes(title="dimension (even: sin, odd: cos; frequency falls to the right)")
    figure.update_yaxes(autorange="reversed")
    height = 420 if tokens is None else 140 + 22 * max(n, 4)
    return base_layout(figure, title or default_title, height=height)


def table_frame(table: np.ndarray, tokens: Sequence[str] | None = None) -> pd.DataFrame:
    """The table as CSV rows: ``position`` (and ``word``), then ``dim 0 .. dim d-1``."""
    table = np.asarray(table, dtype=float)
    require_shape("table", table, (None if tokens is None else len(tokens), None))
    frame = pd.DataFrame(table, columns=[f"dim {j}" for j in range(table.shape[1])])
    if tokens is not None:
        frame.insert(0, "word", list(tokens))
    frame.insert(0, "position", range(len(table)))
    return frame


def dot_product_heatmap(gram: np.ndarray) -> go.Figure:
    """Positions by positions heatmap of ``PE(pos) . PE(pos')``.

    The colour scale is fixed at ``-max .. max`` of the matrix, which for a sinusoidal table is
    the diagonal ``d_model / 2`` (no two encodings are more alike than one with itself).

    Args:
        gram: (n, n).
    """
    gram = np.asarray(gram, dtype=np.float32)
    _require_square("gram", gram)
    bound = float(np.abs(gram).max()) if gram.size else 1.0
    figure = go.Figure(
        go.Heatmap(
            z=gram,
            **diverging_scale(bound),
            colorbar={"title": "PE·PE'"},
            hovertemplate="PE(%{y}) · PE(%{x}) = %{z:.4f}<extra></extra>",
        )
    )
    figure.update_xaxes(title="position pos'", constrain="domain")
    figure.update_yaxes(title="position pos", autorange="reversed", scaleanchor="x")
    return base_layout(figure, "Dot products PE(pos) · PE(pos')", height=480)


def offset_curves(gram: np.ndarray, positions: Sequence[int]) -> go.Figure:
    """``PE(pos) . PE(pos + k)`` against the offset ``k``, one curve per chosen ``pos``.

    Row ``pos`` of the dot-product matrix, plotted at ``k = pos' - pos`` (from ``-pos`` to
    ``n - 1 - pos``): if the dot product depends on ``k`` only, the curves coincide.

    Args:
        gram: (n, n) dot products.
        positions: the rows to draw, each in ``0 .. n - 1``.
    """
    gram = np.asarray(gram, dtype=float)
    _require_square("gram", gram)
    n = gram.shape[0]
    figure = go.Figure()
    for i, pos in enumerate(positions):
        if not 0 <= pos < n:
            raise ValueError(f"position {pos} is outside the {n} rows of gram")
        dash, width, opacity = LINE_STYLES[i % len(LINE_STYLES)]
        figure.add_scatter(
            x=np.arange(n) - pos,
            y=gram[pos],
            mode="lines",
            name=f"pos = {pos}",
            line={"dash": dash, "width": width},
            opacity=opacity,
            hovertemplate=f"pos {pos}, k = %{{x}}: %{{y:.4f}}<extra></extra>",
        )
    figure.update_xaxes(title="offset k = pos' - pos", zeroline=True)
    figure.update_yaxes(title="PE(pos) · PE(pos + k)")
    figure.update_layout(legend={"orientation": "h", "y": -0.25})
    return base_layout(figure, "Dot product against the offset k", height=380)


def offset_frame(gram: np.ndarray, positions: Sequence[int]) -> pd.DataFrame:
    """Long table of the offset curves: ``pos``, ``k``, ``dot``."""
    gram = np.asarray(gram, dtype=float)
    _require_square("gram", gram)
    n = gram.shape[0]
    return pd.DataFrame(
        [{"pos": p, "k": q - p, "dot": gram[p, q]} for p in positions for q in range(n)]
    )


def rotation_check(shifted: np.ndarray, rotated: np.ndarray, pos: int, k: int) -> go.Figure:
    """``PE(pos + k)`` (markers) against ``M_k PE(pos)`` (line), dimension by dimension.

    Args:
        shifted: (d_model,) ``PE(pos + k)`` computed from the formula.
        rotated: (d_model,) ``M_k PE(pos)``.
    """
    shifted = np.asarray(shifted, dtype=float)
    rotated = np.asarray(rotated, dtype=float)
    require_shape("shifted", shifted, (None,))
    require_shape("rotated", rotated, shifted.shape)
    figure = go.Figure()
    figure.add_scatter(
        y=rotated,
        mode="lines",
        name=f"M_{k} · PE({pos})",
        line={"width": 5, "color": "rgba(46,134,193,0.45)"},
        hovertemplate="dimension %{x}: %{y:.6f}<extra>M_k PE(pos)</extra>",
    )
    figure.add_scatter(
        y=shifted,
        mode="markers",
        name=f"PE({pos + k})",
        marker={"size": 5, "color": "#c0392b"},
        hovertemplate="dimension %{x}: %{y:.6f}<extra>PE(pos + k)</extra>",
    )
    figure.update_xaxes(title="dimension")
    figure.update_yaxes(title="value", range=[-1.1, 1.1])
    figure.update_layout(legend={"orientation": "h", "y": -0.3})
    return base_layout(figure, f"M_{k} · PE({pos}) against PE({pos + k})", height=340)


def rotation_frame(shifted: np.ndarray, rotated: np.ndarray) -> pd.DataFrame:
    shifted = np.asarray(shifted, dtype=float)
    rotated = np.asarray(rotated, dtype=float)
    require_shape("shifted", shifted, (None,))
    require_shape("rotated", rotated, shifted.shape)
    return pd.DataFrame(
        {
            "dimension": range(len(shifted)),
            "PE(pos+k)": shifted,
            "M_k PE(pos)": rotated,
            "difference": rotated - shifted,
        }
    )
