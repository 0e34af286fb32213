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
    TITLE_OVER_TOP_TICKS,
    base_layout,
    base_layout_dict,
    escape,
    figure_from_parts,
    require_shape,
    token_labels,
    top_margin,
)

# Spelled out: figures built without validation send what they are given, and plotly.js's own
# "Blues" runs the other way round (dark at 0) from plotly.py's.
COLOURSCALE = [list(stop) for stop in get_colorscale("Blues")]
GAP = 2  # empty cells between thumbnails
SCALES = {
    "auto": "automatic: 1 for short texts, the 99th percentile of the weights for long ones",
    "fixed": "fixed at 1 (weights comparable between heads)",
    "max": "up to this head's largest weight",
    "quantile": "up to the 99th percentile of this head's weights (the top 1% saturate)",
    "row": "each row up to its own largest weight (where every query looks most)",
}
AUTO_QUANTILE_TOKENS = 48  # from this many tokens on, "auto" uses the quantile
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
    # the height follows the grid's shape for a ~650 px wide column; no scaleanchor: a square
    # aspect forced on a fixed height left a ~200 px blank band under the head labels
    layout = base_layout_dict(
        title, height=int(min(900, max(220, 80 + n_layers * 620 / max(n_heads, 1))))
    )
    layout["title"] = {**layout["title"], **TITLE_OVER_TOP_TICKS}
    layout["margin"] = {**layout["margin"], "t": top_margin(["H12"])}
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
    # one near-invisible marker on each thumbnail's centre: a click on it selects the head
    # (Streamlit reports clicked points of scatter traces, not of heatmap cells)
    picks = {
        "type": "scatter",
        "mode": "markers",
        "x": [columns[h * step + centre] for _ in range(n_layers) for h in range(n_heads)],
        "y": [rows[layer * step + centre] for layer in range(n_layers) for _ in range(n_heads)],
        "customdata": [[layer, h] for layer in range(n_layers) for h in range(n_heads)],
        "text": [
            f"layer {layer + 1}, head {h + 1}: click to show it large"
            for layer in range(n_layers)
            for h in range(n_heads)
        ],
        "marker": {"size": 16, "opacity": 0.01, "color": "#000000"},
        "hovertemplate": "%{text}<extra></extra>",
        "showlegend": False,
        "name": "heads",
    }
    return figure_from_parts([trace, picks], layout)


def clicked_head(points: Sequence[dict], n_layers: int, n_heads: int) -> tuple[int, int] | None:
    """The 0-based (layer, head) of a click on :func:`thumbnail_grid` (Streamlit's selection
    points), or None when the click was not on a head marker or is out of range."""
    for point in points or ():
        data = point.get("customdata")
        if isinstance(data, (list, tuple)) and len(data) == 2:
            try:
                layer, head = int(data[0]), int(data[1])
            except (TypeError, ValueError):
                continue
            if 0 <= layer < n_layers and 0 <= head < n_heads:
                return layer, head
    return None


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
    scale: str | None = None,
) -> go.Figure:
    """One head large: query tokens (rows) x key tokens (columns), each row summing to 1.

    Args:
        tokens: the T display tokens (labels are escaped and numbered by ``token_labels``).
        attention: (T, T) map of one head.
        layer, head: 0-based; the title shows them 1-based.
        special: (T,) bool; special tokens are labelled in grey italics.
        zmax: top of the colour scale (1.0 fixed; None = the map's largest weight).
        scale: one of ``SCALES`` (overrides ``zmax``): see :func:`head_scale`.
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
    shown, top = attention, float(attention.max()) if zmax is None else float(zmax)
    bar_title = "attention"
    if scale is not None:
        shown, top, _ = head_scale(attention, scale)
        if resolved_scale(scale, len(tokens)) == "row":
            bar_title = "share of<br>row max"
    trace = {
        "type": "heatmap",
        "z": shown.astype(np.float32),
        "x": labels,
        "y": labels,
        "colorscale": COLOURSCALE,
        "zmin": 0.0,
        "zmax": top if top > 0 else 1.0,
        "hovertemplate": "query %{y} → key %{x}<br>weight %{z:.4f}<extra></extra>",
        "colorbar": {"title": {"text": bar_title}, "thickness": 12},
    }
    if shown is not attention:  # rows rescaled: the hover still gives the weight itself
        trace["customdata"] = attention.astype(np.float32)
        trace["hovertemplate"] = "query %{y} → key %{x}<br>weight %{customdata:.4f}<extra></extra>"
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
    layout["title"] = {**layout["title"], **TITLE_OVER_TOP_TICKS}
    layout["margin"] = {**layout["margin"], "t": top_margin(labels, -60, axis_title=True)}
    return figure_from_parts([trace], layout)


def resolved_scale(scale: str, n_tokens: int) -> str:
    """``"auto"`` made concrete: fixed for short texts, the quantile for long ones."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {list(SCALES)}")
    if scale == "auto":
        return "quantile" if n_tokens >= AUTO_QUANTILE_TOKENS else "fixed"
    return scale


def head_scale(attention: np.ndarray, scale: str) -> tuple[np.ndarray, float, str]:
    """The values drawn, the top of the colour scale and a sentence saying so, for one head.

    At 250 tokens a row's weights average 0.004: on a scale fixed at 1 the map is near blank.
    ``"quantile"`` tops the scale at the 99th percentile, ``"row"`` divides each row by its max.
    """
    attention = np.asarray(attention, dtype=np.float64)
    mode = resolved_scale(scale, attention.shape[0])
    if mode == "fixed":
        return attention, 1.0, "The colour scale runs from 0 to 1."
    if mode == "max":
        top = float(attention.max()) or 1.0
        return attention, top, f"The colour scale runs up to this head's largest weight, {top:.3f}."
    if mode == "quantile":
        top = float(np.quantile(attention, 0.99)) or float(attention.max()) or 1.0
        return (
            attention,
            top,
            f"The colour scale runs up to {top:.3f}, the 99th percentile of this head's weights: "
            "the top 1% are drawn at full colour.",
        )
    peaks = attention.max(axis=1, keepdims=True)
    shown = np.divide(attention, peaks, out=np.zeros_like(attention), where=peaks > 0)
    return (
        shown,
        1.0,
        "Each row is divided by its own largest weight: colour shows where each query looks "
        "most, not how much (hover for the weight).",
    )


def line_view(
    tokens: Sequence[str],
    attention: np.ndarray,
    layer: int,
    head: int,
    focus: int | None = None,
    min_weight: float = 0.02,
    top_k: int = 12,
) -> go.Figure:
    """BertViz's line view of one head: the tokens twice, queries on the left, keys on the
    right, one line per (query, key) whose opacity IS the attention weight (and width grows with
    it); drawn from the same (T, T) array as :func:`head_heatmap`.

    Args:
        tokens: the T display tokens.
        attention: (T, T), rows = queries, each summing to 1.
        focus: a query index to isolate: its lines keep their weight as opacity, every other
            line is drawn at a tenth of it.
        min_weight, top_k: per query, lines under ``min_weight`` and beyond its ``top_k``
            strongest are left out (uniform heads would draw T^2 faint lines).

    Hovering a token lists its strongest keys; each line's hover gives its weight.
    """
    attention = np.asarray(attention, dtype=np.float64)
    require_shape("attention", attention, (len(tokens), len(tokens)))
    n = len(tokens)
    if focus is not None and not 0 <= focus < n:
        raise ValueError(f"focus {focus} outside {n} tokens")
    labels = token_labels(tokens)
    traces: list[dict] = []
    for i in range(n):
        order = np.argsort(-attention[i], kind="stable")[:top_k]
        dim = focus is not None and i != focus
        for j in order:
            weight = float(attention[i, j])
            if weight < min_weight:
                break
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": [0.0, 1.0],
                    "y": [-i, -int(j)],
                    "opacity": round(weight * (0.1 if dim else 1.0), 6),
                    "line": {
                        "color": SELECTED if i == focus else "#0072B2",
                        "width": 1 + 5 * weight,
                    },
                    "meta": [i, int(j)],
                    "hovertemplate": f"{labels[i]} → {labels[int(j)]}: {weight:.3f}<extra></extra>",
                    "showlegend": False,
                }
            )
    tops = [
        "<br>".join(
            f"→ {labels[int(j)]} {attention[i, j]:.3f}"
            for j in np.argsort(-attention[i], kind="stable")[:5]
        )
        for i in range(n)
    ]
    for side, x in (("query", 0.0), ("key", 1.0)):
        traces.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "x": [x] * n,
                "y": [-i for i in range(n)],
                "text": labels,
                "textposition": "middle left" if x == 0 else "middle right",
                "marker": {"size": 6, "color": "#555555"},
                "customdata": tops if side == "query" else None,
                "hovertemplate": "%{text}<br>%{customdata}<extra>query</extra>"
                if side == "query"
                else "%{text}<extra>key</extra>",
                "showlegend": False,
                "name": side,
            }
        )
    layout = base_layout_dict(
        f"Layer {layer + 1}, head {head + 1}: line view", height=int(max(300, 90 + 22 * n))
    )
    layout.update(
        xaxis={"visible": False, "range": [-0.9, 1.9], "fixedrange": True},
        yaxis={"visible": False, "range": [-n + 0.5, 0.8], "fixedrange": True},
        hovermode="closest",
        annotations=[
            {"x": 0.0, "y": 0.8, "text": "<b>query</b>", "showarrow": False, "xanchor": "right"},
            {"x": 1.0, "y": 0.8, "text": "<b>key</b>", "showarrow": False, "xanchor": "left"},
        ],
    )
    return figure_from_parts(traces, layout)


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
            texttemplate="%{z:.2f}" if n_heads <= 8 else "%{z:.1f}",
            hovertemplate="layer %{y}, head %{x}<br>" + escape(metric) + " %{z:.4f}<extra></extra>",
            colorbar={"title": unit, "thickness": 12},
        )
    )
    figure.update_yaxes(autorange="reversed", type="category")
    # head numbers upright (a narrow column turned "H1".."H12" on end, into the title)
    figure.update_xaxes(
        type="category",
        side="top",
        tickangle=0,
        tickmode="array",
        tickvals=[f"H{h + 1}" for h in range(n_heads)],
        ticktext=[str(h + 1) for h in range(n_heads)],
        title={"text": "head", "standoff": 2},
    )
    if selected is not None:
        layer, head = selected
        figure.add_shape(
            {
                **_selection_box(head - 0.5, layer - 0.5, 1.0),
                "xref": "x",
                "yref": "y",
            }
        )
    figure.update_traces(textfont={"size": 11 if n_heads <= 8 else 9})
    figure = base_layout(figure, f"Per head: {metric}", height=int(min(700, 130 + 34 * n_layers)))
    # the head labels sit on top: the title goes above them, not over them
    figure.update_layout(
        title=TITLE_OVER_TOP_TICKS, margin={"t": top_margin(["12"], axis_title=True)}
    )
    return figure
