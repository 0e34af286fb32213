"""Figures of the attention explorer: every head as a thumbnail, one head large, head summaries.

Pure functions, numpy in -> plotly Figure out. Numbers travel as float32 numpy arrays, which
plotly sends as binary typed arrays (base64), not as JSON text: one 512-token head is 1.4 MB,
the 6 x 12 thumbnail grid 0.2 MB (BertViz sends every head of every layer as text: 869 MB).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import get_colorscale

from nlpviz.analysis.attention import METRICS
from nlpviz.viz.common import (
    base_layout,
    base_layout_dict,
    escape,
    figure_from_parts,
    require_shape,
    token_labels,
)

# Spelled out: figures built without validation send what they are given, and plotly.js's own
# "Blues" runs the other way round (dark at 0) from plotly.py's.
COLOURSCALE = [list(stop) for stop in get_colorscale("Blues")]
GAP = 2  # empty cells between thumbnails
SELECTED = "#d62728"


def _selection_box(x0: float, y0: float, size: float) -> dict:
    return {
        "type": "rect",
        "x0": x0,
        "x1": x0 + size,
        "y0": y0,
        "y1": y0 + size,
        "line": {"color": SELECTED, "width": 2},
        "fillcolor": "rgba(0,0,0,0)",
    }


def thumbnail_grid(
    grid: np.ndarray,
    selected: tuple[int, int] | None = None,
    title: str = "Every head, every layer",
    how: str = "max",
) -> go.Figure:
    """Layers x heads thumbnails of pooled attention maps on one shared 0..1 colour scale.

    Args:
        grid: (L, H, C, C) pooled maps (``nlpviz.analysis.attention.pooled_grid``).
        selected: 0-based (layer, head) outlined in red, or None.
        how: how the cells were pooled ("max" or "mean"), for the hover text.

    All heads are tiled into ONE heatmap, with empty (NaN) rows and columns between them: one
    trace instead of L x H keeps both the build and Streamlit's validation before sending cheap
    (72 traces took 35-90 ms validated, and a few ms even unvalidated). Row and column labels
    name the layer and head, so hovering any cell says whose map it is.
    """
    grid = np.asarray(grid)
    if grid.ndim != 4 or grid.shape[2] != grid.shape[3]:
        raise ValueError(f"grid has shape {grid.shape}, expected (L, H, C, C)")
    n_layers, n_heads, cells = grid.shape[0], grid.shape[1], grid.shape[2]
    step = cells + GAP
    canvas = np.full((n_layers * step - GAP, n_heads * step - GAP), np.nan, dtype=np.float32)
    for layer in range(n_layers):
        for head in range(n_heads):
            canvas[layer * step : layer * step + cells, head * step : head * step + cells] = grid[
                layer, head
            ]
    # unique category labels; gap rows/columns are never hovered (hoverongaps off)
    columns = [
        f"head {j // step + 1}, key cell {j % step + 1}" if j % step < cells else f"gap {j}"
        for j in range(canvas.shape[1])
    ]
    rows = [
        f"layer {i // step + 1}, query cell {i % step + 1}" if i % step < cells else f"gap {i}"
        for i in range(canvas.shape[0])
    ]
    trace = {
        "type": "heatmap",
        "z": canvas,
        "x": columns,
        "y": rows,
        "coloraxis": "coloraxis",
        "hoverongaps": False,
        "xgap": 0,
        "ygap": 0,
        "hovertemplate": f"%{{y}}<br>%{{x}}<br>{how} of a cell %{{z:.3f}}<extra></extra>",
    }
    centre = (cells - 1) // 2
    layout = base_layout_dict(
        title, height=int(min(900, max(260, 90 + n_layers * 900 / max(n_heads, 1) * 0.9)))
    )
    layout.update(
        xaxis={
            "type": "category",
            "tickmode": "array",
            "tickvals": [columns[h * step + centre] for h in range(n_heads)],
            "ticktext": [f"H{h + 1}" for h in range(n_heads)],
            "side": "top",
            "showgrid": False,
            "zeroline": False,
            "range": [-0.5, canvas.shape[1] - 0.5],
        },
        yaxis={
            "type": "category",
            "tickmode": "array",
            "tickvals": [rows[layer * step + centre] for layer in range(n_layers)],
            "ticktext": [f"L{layer + 1}" for layer in range(n_layers)],
            "showgrid": False,
            "zeroline": False,
            "range": [canvas.shape[0] - 0.5, -0.5],
            "scaleanchor": "x",
        },
        coloraxis={
            "colorscale": COLOURSCALE,
            "cmin": 0.0,
            "cmax": 1.0,
            "colorbar": {"title": {"text": "attention"}, "thickness": 12},
        },
        plot_bgcolor="white",
    )
    if selected is not None:
        layer, head = selected
        if not (0 <= layer < n_layers and 0 <= head < n_heads):
            raise ValueError(f"selected {selected} outside {n_layers} layers x {n_heads} heads")
        # category positions are column/row indices; cell k spans k - 0.5 .. k + 0.5
        layout["shapes"] = [_selection_box(head * step - 1.0, layer * step - 1.0, cells + 1)]
    return figure_from_parts([trace], layout)


def grid_frame(grid: np.ndarray, edges: np.ndarray) -> pd.DataFrame:
    """The thumbnail numbers, one row per cell, with the token ranges each cell covers."""
    grid = np.asarray(grid)
    n_layers, n_heads, cells = grid.shape[:3]
    require_shape("edges", np.asarray(edges), (cells + 1,))
    layer, head, row, col = np.meshgrid(
        np.arange(n_layers), np.arange(n_heads), np.arange(cells), np.arange(cells), indexing="ij"
    )
    edges = np.asarray(edges)
    return pd.DataFrame(
        {
            "layer": layer.ravel() + 1,
            "head": head.ravel() + 1,
            "query_from": edges[row.ravel()],
            "query_to": edges[row.ravel() + 1] - 1,
            "key_from": edges[col.ravel()],
            "key_to": edges[col.ravel() + 1] - 1,
            "value": grid.ravel(),
        }
    )


def head_heatmap(
    tokens: Sequence[str],
    attention: np.ndarray,
    layer: int,
    head: int,
    special: np.ndarray | None = None,
    zmax: float | None = 1.0,
) -> go.Figure:
    """One head large: query tokens (rows) x key tokens (columns), each row summing to 1.

    Args:
        tokens: the T display tokens (labels are escaped and numbered by ``token_labels``).
        attention: (T, T) map of one head.
        layer, head: 0-based; the title shows them 1-based.
        special: (T,) bool; special tokens are labelled in grey italics.
        zmax: top of the colour scale (1.0 fixed; None = the map's largest weight).
    """
    attention = np.asarray(attention)
    require_shape("attention", attention, (len(tokens), len(tokens)))
    labels = token_labels(tokens)
    if special is not None:
        special = np.asarray(special, dtype=bool)
        require_shape("special", special, (len(tokens),))
        labels = [
            f"<i>{label}</i>" if is_special else label
            for label, is_special in zip(labels, special, strict=True)
        ]
    top = float(attention.max()) if zmax is None else float(zmax)
    trace = {
        "type": "heatmap",
        "z": attention.astype(np.float32),
        "x": labels,
        "y": labels,
        "colorscale": COLOURSCALE,
        "zmin": 0.0,
        "zmax": top if top > 0 else 1.0,
        "hovertemplate": "query %{y} → key %{x}<br>weight %{z:.4f}<extra></extra>",
        "colorbar": {"title": {"text": "attention"}, "thickness": 12},
    }
    n = len(tokens)
    layout = base_layout_dict(
        f"Layer {layer + 1}, head {head + 1}", height=int(min(1000, max(380, 140 + 16 * n)))
    )
    layout.update(
        xaxis={
            "title": {"text": "key (attended to)"},
            "tickangle": -60,
            "side": "top",
            "type": "category",
        },
        yaxis={"title": {"text": "query (attending)"}, "autorange": "reversed", "type": "category"},
    )
    return figure_from_parts([trace], layout)


def head_frame(tokens: Sequence[str], attention: np.ndarray) -> pd.DataFrame:
    """One head's weights, one row per (query, key) pair."""
    attention = np.asarray(attention)
    require_shape("attention", attention, (len(tokens), len(tokens)))
    n = len(tokens)
    query, key = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    names = np.asarray(list(tokens), dtype=object)
    return pd.DataFrame(
        {
            "query_index": query.ravel(),
            "query_token": names[query.ravel()],
            "key_index": key.ravel(),
            "key_token": names[key.ravel()],
            "weight": attention.ravel(),
        }
    )


def summary_heatmap(
    values: np.ndarray,
    metric: str,
    selected: tuple[int, int] | None = None,
    n_tokens: int | None = None,
) -> go.Figure:
    """Layers x heads, coloured by one head summary (``METRICS``); the numbers are printed.

    Shares use a fixed 0..1 scale; entropy 0..log T (``n_tokens``); distance 0..its maximum.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"values has shape {values.shape}, expected (L, H)")
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {list(METRICS)}")
    n_layers, n_heads = values.shape
    if metric == "entropy":
        top = float(np.log(n_tokens)) if n_tokens and n_tokens > 1 else np.nanmax(values)
        unit = "nats"
    elif metric == "distance":
        top, unit = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0, "tokens"
    else:
        top, unit = 1.0, "share"
    figure = go.Figure(
        go.Heatmap(
            z=np.round(values, 4).astype(np.float32),
            x=[f"H{h + 1}" for h in range(n_heads)],
            y=[f"L{layer + 1}" for layer in range(n_layers)],
            colorscale="Viridis",
            zmin=0.0,
            zmax=top if top > 0 else 1.0,
            texttemplate="%{z:.2f}",
            hovertemplate="layer %{y}, head %{x}<br>" + escape(metric) + " %{z:.4f}<extra></extra>",
            colorbar={"title": unit, "thickness": 12},
        )
    )
    figure.update_yaxes(autorange="reversed", type="category")
    figure.update_xaxes(type="category", side="top")
    if selected is not None:
        layer, head = selected
        figure.add_shape(
            {
                **_selection_box(head - 0.5, layer - 0.5, 1.0),
                "xref": "x",
                "yref": "y",
            }
        )
    return base_layout(figure, f"Per head: {metric}", height=int(min(700, 130 + 34 * n_layers)))
