"""Figures of the Kim CNN page: probabilities, feature maps, winning n-grams, attributions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nlpviz.viz.common import (
    CLASS_COLOURS,
    base_layout,
    escape,
    require_shape,
    rgb,
    signed_scale,
    token_labels,
)


def feature_map_heatmap(
    feature_map: np.ndarray,
    tokens: Sequence[str],
    width: int,
    filters: Sequence[int],
    pool_argmax: np.ndarray,
    zmax: float | None = None,
) -> go.Figure:
    """Activations of selected filters at every window position, winners marked.

    Args:
        feature_map: (len(filters), positions) ReLU activations; position i reads tokens
            i .. i + width - 1.
        tokens: the sentence's tokens.
        filters: filter indices of the rows.
        pool_argmax: (len(filters),) the position each filter's max-pool picked; marked only
            for filters that fired somewhere.
    """
    feature_map = np.asarray(feature_map, dtype=np.float32)
    require_shape("feature_map", feature_map, (len(filters), None))
    require_shape("pool_argmax", np.asarray(pool_argmax), (len(filters),))
    positions = feature_map.shape[1]
    labels = token_labels(tokens)
    x_labels = [labels[i] if i < len(labels) else f"{i}·<pad>" for i in range(positions)]
    y_labels = [f"filter {f}" for f in filters]
    zmax = float(feature_map.max()) if zmax is None else zmax
    figure = go.Figure(
        go.Heatmap(
            z=np.round(feature_map, 4),
            x=list(range(positions)),
            y=list(range(len(filters))),
            colorscale="Viridis",
            zmin=0.0,
            zmax=max(zmax, 1e-6),
            colorbar={"title": "ReLU<br>activation"},
            hovertemplate="window starting at %{x}<br>row %{y}<br>activation %{z:.3f}"
            "<extra></extra>",
        )
    )
    # A filter that never fires (all zeros) has no real winner: its argmax 0 is a tie.
    firing = [r for r in range(len(filters)) if feature_map[r].max() > 0]
    figure.add_scatter(
        x=[int(pool_argmax[r]) for r in firing],
        y=firing,
        mode="markers",
        marker={"symbol": "x-thin", "size": 9, "line": {"width": 2, "color": "white"}},
        name="max-pool winner",
        hovertemplate="max-pool picked the window at %{x}<extra></extra>",
    )
    step = max(1, positions // 40)
    figure.update_xaxes(
        tickmode="array",
        tickvals=list(range(0, positions, step)),
        ticktext=x_labels[::step],
        tickangle=-45,
        title=f"window start (each window reads {width} tokens)",
    )
    figure.update_yaxes(
        tickmode="array",
        tickvals=list(range(len(filters))),
        ticktext=y_labels,
        autorange="reversed",
        title="",
    )
    figure.update_layout(showlegend=False)
    # short texts and few filters still get a readable plot, not a squashed strip of rows
    height = max(320, 160 + 16 * len(filters))
    return base_layout(figure, f"Width-{width} filters x window positions", height=height)


def feature_map_frame(
    feature_map: np.ndarray, tokens: Sequence[str], width: int, filters: Sequence[int]
) -> pd.DataFrame:
    """The heatmap's numbers in long form (one row per filter and window) for CSV export."""
    rows = []
    n = len(tokens)
    for r, f in enumerate(filters):
        for position, value in enumerate(feature_map[r]):
            rows.append(
                {
                    "width": width,
                    "filter": f,
                    "window_start": position,
                    "ngram": " ".join(tokens[position : min(position + width, n)]),
                    "activation": float(value),
                }
            )
    return pd.DataFrame(rows)


def attribution_bars(
    tokens: Sequence[str],
    scores: np.ndarray,
    target_name: str,
    toward: str = CLASS_COLOURS[1],
    against: str = CLASS_COLOURS[0],
) -> go.Figure:
    """Signed per-token attributions: ``toward`` the target class in its colour, ``against`` in
    the other class's (the same colours as the probability bars)."""
    scores = np.asarray(scores, dtype=float)
    require_shape("scores", scores, (len(tokens),))
    bound = float(np.abs(scores).max()) or 1.0
    figure = go.Figure(
        go.Bar(
            x=list(range(len(tokens))),
            y=scores,
            marker={
                "color": scores,
                "colorscale": signed_scale(toward, against),
                "cmin": -bound,
                "cmax": bound,
            },
            customdata=[escape(t) for t in tokens],
            hovertemplate="%{customdata}: %{y:+.4f}<extra></extra>",
        )
    )
    step = max(1, len(tokens) // 60)
    figure.update_xaxes(
        tickmode="array",
        tickvals=list(range(0, len(tokens), step)),
        ticktext=token_labels(tokens)[::step],
        tickangle=-45,
    )
    figure.update_yaxes(title=f"contribution to P({escape(target_name)})", zeroline=True)
    return base_layout(figure, f"Integrated Gradients toward '{target_name}'", height=380)


def highlight_spans_html(
    tokens: Sequence[str], spans: Sequence[tuple[int, int]], unknown: Sequence[bool] | None = None
) -> str:
    """The sentence as escaped HTML with the given token spans marked (``<mark>``).

    Unknown words are underlined with a dotted line and a tooltip, so a user sees which words the
    model had no vector for.
    """
    marked = set()
    for start, end in spans:
        marked.update(range(start, end))
    pieces = []
    for i, token in enumerate(tokens):
        text = escape(token)
        if unknown is not None and unknown[i]:
            text = (
                f'<span title="unknown word: the model reads it as &lt;unk&gt;" '
                f'style="text-decoration: underline dotted; color:#7f8c8d">{text}</span>'
            )
        if i in marked:
            text = f'<mark style="background:#f7dc6f;padding:0 2px;border-radius:3px">{text}</mark>'
        pieces.append(text)
    return '<div style="line-height:2;font-size:1.05rem">' + " ".join(pieces) + "</div>"


def attribution_html(
    tokens: Sequence[str],
    scores: np.ndarray,
    toward: str = CLASS_COLOURS[1],
    against: str = CLASS_COLOURS[0],
) -> str:
    """Tokens as escaped HTML, each shaded by its signed attribution (``toward`` the target
    class in its colour, ``against`` in the other's)."""
    scores = np.asarray(scores, dtype=float)
    require_shape("scores", scores, (len(tokens),))
    bound = float(np.abs(scores).max()) or 1.0
    pieces = []
    for token, score in zip(tokens, scores, strict=True):
        alpha = min(1.0, abs(score) / bound) * 0.8
        shade = rgb(toward if score >= 0 else against)
        pieces.append(
            f'<span title="{score:+.4f}" style="background:rgba({shade},{alpha:.2f});'
            f'padding:1px 3px;border-radius:3px">{escape(token)}</span>'
        )
    return '<div style="line-height:2.1;font-size:1.05rem">' + " ".join(pieces) + "</div>"
