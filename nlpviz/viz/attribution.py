"""Figures of the attribution workbench: the models x methods grid, curves, agreement, words.

Every cell of the grid is drawn on ONE colour scale: a cell's scores are divided by the sum of
their magnitudes (each token's share of the cell's total attribution, signed), so a gradient
norm (Saliency) and a probability difference (Occlusion) can sit side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from nlpviz.viz.common import (
    base_layout_dict,
    class_colour,
    escape,
    figure_from_parts,
    require_shape,
    rgb,
    signed_scale,
    token_labels,
    toward_against,
)

# Spearman's rho between rankings is not a class: a diverging purple-orange (ColorBrewer PuOr,
# colour-blind safe) that no class colour of the app uses at its ends
AGREEMENT_SCALE = [[0.0, "#b35806"], [0.5, "#f7f7f7"], [1.0, "#542788"]]
# plain-language names of the faithfulness numbers, shown beside the jargon
PLAIN = {
    "aopc_deletion": "drop in P as the top words are removed (AOPC deletion)",
    "aopc_insertion": "P regained as the top words are added back (AOPC insertion)",
    "comprehensiveness": "drop when the top {k} words are removed (comprehensiveness@{k})",
    "sufficiency": "drop when only the top {k} words are kept (sufficiency@{k})",
}


def shares(scores: np.ndarray) -> np.ndarray:
    """Each token's signed share of the total |attribution| (all zeros stay zeros)."""
    scores = np.asarray(scores, dtype=float)
    total = float(np.abs(scores).sum())
    return scores / total if total > 0 else np.zeros_like(scores)


@dataclass(frozen=True)
class GridRow:
    """One model's row of the grid: its tokens and one score vector per method."""

    model: str
    tokens: tuple[str, ...]
    methods: tuple[str, ...]
    scores: np.ndarray  # (methods, tokens) raw scores
    captions: tuple[str, ...] = ()  # per method: the faithfulness line shown under the cell
    target: int | None = None  # the class (or tag) explained: its colour is "toward"
    n_classes: int = 2

    @property
    def colours(self) -> tuple[str, str]:
        """(toward, against): the target's class colour and the other class's (grey when the
        model has more than two classes), as on the probability bars."""
        if self.target is None:
            return class_colour(1), class_colour(0)
        return toward_against(self.target, self.n_classes)


def shared_bound(rows: Sequence[GridRow]) -> float:
    """The one colour bound of the grid: the largest |share| over every cell."""
    bound = 0.0
    for row in rows:
        for scores in np.atleast_2d(row.scores):
            if len(scores):
                bound = max(bound, float(np.abs(shares(scores)).max()))
    return bound or 1.0


def grid_figure(rows: Sequence[GridRow], title: str = "Attribution grid") -> go.Figure:
    """One heatmap per model (methods x tokens), all on the same symmetric colour scale."""
    if not rows:
        raise ValueError("the grid needs at least one model")
    bound = shared_bound(rows)
    data, layout = [], base_layout_dict(title, height=0)
    heights = [max(1, len(r.methods)) for r in rows]
    # in pixels: each strip 30 px per method, then 110 px for its tick labels and the next name
    strip, band = 30, 110
    plot_height = sum(strip * h for h in heights) + band * (len(rows) - 1)
    top = 1.0
    annotations: list[dict] = []
    for index, row in enumerate(rows):
        scores = np.asarray(row.scores, dtype=float)
        require_shape(f"scores of {row.model}", scores, (len(row.methods), len(row.tokens)))
        axis = "" if index == 0 else str(index + 1)
        height = strip * heights[index] / plot_height
        domain = [max(0.0, top - height), top]
        top = domain[0] - band / plot_height
        labels = token_labels(row.tokens)
        data.append(
            {
                "type": "heatmap",
                "z": np.array([shares(s) for s in scores]).tolist() if len(scores) else [],
                "customdata": scores.tolist(),
                "x": labels,
                "y": [escape(m) for m in row.methods],
                "xaxis": f"x{axis}",
                "yaxis": f"y{axis}",
                "coloraxis": f"coloraxis{axis}",
                "name": escape(row.model),
                "hovertemplate": "%{y} · %{x}<br>share %{z:+.3f} · raw %{customdata:+.4g}"
                f"<extra>{escape(row.model)}</extra>",
            }
        )
        layout[f"xaxis{axis}"] = {"tickangle": -45, "anchor": f"y{axis}", "automargin": True}
        # one colour bar per row, beside it, in the colours of the class that row explains; the
        # bound is the grid's, so the same share has the same strength in every row
        toward, against = row.colours
        bar_px = max(strip * heights[index], 90)
        layout[f"coloraxis{axis}"] = {
            "colorscale": signed_scale(toward, against),
            "cmin": -bound,
            "cmax": bound,
            "colorbar": {
                "title": {"text": "share" if index else "share of<br>|attribution|"},
                "tickvals": [-bound, 0, bound],
                "ticktext": [f"−{bound:.0%} against", "0", f"+{bound:.0%} toward"],
                "lenmode": "pixels",
                "len": bar_px,
                "thickness": 14,
                "y": (domain[0] + domain[1]) / 2,
                "yanchor": "middle",
            },
        }
        layout[f"yaxis{axis}"] = {"domain": domain, "autorange": "reversed", "automargin": True}
        annotations.append(
            {
                "text": f"<b>{escape(row.model)}</b>",
                "xref": "paper",
                "yref": "paper",
                "x": 0.0,
                "y": domain[1],
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
            }
        )
    layout["annotations"] = annotations
    layout["margin"] = dict(layout["margin"], t=80)  # room for the first model's name
    layout["height"] = plot_height + 80 + 110  # top margin (title, first name), bottom ticks
    layout["margin"] = dict(layout["margin"], b=110)
    return figure_from_parts(data, layout)


def _shade(value: float, bound: float, colours: tuple[str, str]) -> str:
    """The toward colour for a positive share, the against colour for a negative one; alpha
    grows with |value| / bound."""
    alpha = min(1.0, abs(value) / bound) * 0.85 if bound > 0 else 0.0
    return f"rgba({rgb(colours[0] if value >= 0 else colours[1])}, {alpha:.3f})"


def token_html(
    tokens: Sequence[str],
    scores: np.ndarray,
    bound: float,
    colours: tuple[str, str] = (class_colour(1), class_colour(0)),
) -> str:
    """Tokens as escaped HTML spans shaded by their share of the cell's |attribution|, in
    ``colours`` = (toward the target, against it)."""
    values = shares(scores)
    require_shape("scores", values, (len(tokens),))
    spans = [
        f'<span title="{escape(t).replace(chr(34), "&quot;")}: {v:+.3f}" '
        f'style="background:{_shade(v, bound, colours)};padding:1px 2px;margin:1px;'
        f'border-radius:3px;display:inline-block">{escape(t)}</span>'
        for t, v in zip(tokens, values, strict=True)
    ]
    return '<div style="line-height:1.9;font-size:0.9rem">' + "".join(spans) + "</div>"


def curves_figure(
    fractions: np.ndarray,
    deletion: np.ndarray,
    insertion: np.ndarray,
    probability: float,
    title: str,
    random_deletion: np.ndarray | None = None,
) -> go.Figure:
    """Deletion and insertion curves: P(target) as the top tokens are removed / added."""
    fractions = np.asarray(fractions, dtype=float)

    def curve(name: str, values: np.ndarray, label: str, line: dict, **more: str) -> dict:
        # every curve is P(target) over the same fractions, checked against their count
        require_shape(name, np.asarray(values), (len(fractions),))
        y = np.asarray(values, dtype=float).tolist()
        return {
            "type": "scatter",
            "x": fractions.tolist(),
            "y": y,
            "name": label,
            "line": line,
            **more,
        }

    removed = "%{x:.0%} removed: P = %{y:.3f}<extra></extra>"
    kept = "%{x:.0%} kept: P = %{y:.3f}<extra></extra>"
    data = [
        curve(
            "deletion",
            deletion,
            "deletion (remove top tokens first)",
            {"color": "#D55E00"},
            mode="lines+markers",
            hovertemplate=removed,
        ),
        curve(
            "insertion",
            insertion,
            "insertion (add top tokens first)",
            {"color": "#0072B2", "dash": "longdash"},
            mode="lines+markers",
            hovertemplate=kept,
        ),
        {
            "type": "scatter",
            "x": [0.0, 1.0],
            "y": [probability, probability],
            "mode": "lines",
            "name": "P(target | full text)",
            "line": {"color": "#999999", "dash": "dot"},
            "hoverinfo": "skip",
        },
    ]
    if random_deletion is not None:
        data.append(
            curve(
                "random_deletion",
                random_deletion,
                "deletion in random order (mean)",
                {"color": "#E69F00", "dash": "dash"},
                mode="lines",
            )
        )
    layout = base_layout_dict(title, height=380)
    layout["xaxis"] = {"title": {"text": "fraction of tokens"}, "tickformat": ".0%"}
    layout["yaxis"] = {"title": {"text": "P(target)"}, "range": [-0.02, 1.02]}
    layout["legend"] = {"orientation": "h", "y": -0.25}
    return figure_from_parts(data, layout)


def agreement_figure(labels: Sequence[str], matrix: np.ndarray, title: str) -> go.Figure:
    """Spearman's rho between methods (and the model's attention), -1..1."""
    matrix = np.asarray(matrix, dtype=float)
    require_shape("matrix", matrix, (len(labels), len(labels)))
    shown = [escape(label) for label in labels]
    text = [["—" if np.isnan(v) else f"{v:+.2f}" for v in row] for row in matrix]
    z = [[None if np.isnan(v) else float(v) for v in row] for row in matrix]
    data = [
        {
            "type": "heatmap",
            "z": z,
            "x": shown,
            "y": shown,
            "text": text,
            "texttemplate": "%{text}",
            "colorscale": AGREEMENT_SCALE,  # purple: same ranking, orange: opposite
            "zmin": -1,
            "zmax": 1,
            "colorbar": {"title": {"text": "ρ"}},
            "hovertemplate": "%{y} vs %{x}: ρ = %{text}<extra></extra>",
        }
    ]
    layout = base_layout_dict(title, height=160 + 45 * len(labels))
    layout["yaxis"] = {"autorange": "reversed", "automargin": True}
    layout["xaxis"] = {"automargin": True}
    return figure_from_parts(data, layout)


def top_words_figure(
    positive: Sequence[tuple[str, float, int]],
    negative: Sequence[tuple[str, float, int]],
    title: str,
    colours: tuple[str, str] = (class_colour(1), class_colour(0)),
) -> go.Figure:
    """Bars of the words with the highest and lowest mean attribution over a data set, in
    ``colours`` = (toward the target class, against it)."""
    rows = list(positive) + list(reversed(negative))
    words = [f"{escape(w)} ({c})" for w, _, c in rows]
    values = [float(v) for _, v, _ in rows]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "y": words,
            "x": values,
            "marker": {"color": [colours[0] if v >= 0 else colours[1] for v in values]},
            "hovertemplate": "%{y}: mean %{x:+.4f}<extra></extra>",
        }
    ]
    layout = base_layout_dict(title, height=140 + 20 * max(1, len(rows)))
    layout["yaxis"] = {"autorange": "reversed", "automargin": True}
    layout["xaxis"] = {"title": {"text": "mean attribution per occurrence"}}
    return figure_from_parts(data, layout)
