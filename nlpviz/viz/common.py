"""Shared figure helpers: token axis labels, escaping, sizes, the export configuration."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

# Set once: passing template= to every update_layout makes plotly deep-copy and re-validate the
# whole template per figure, which was half of a view's build time.
pio.templates.default = "plotly_white"

FONT = "Inter, 'Source Sans Pro', Arial, sans-serif"
DIVERGING = "RdBu"
SEQUENTIAL = "Viridis"
CLASS_COLOURS = (
    "#c0392b",
    "#27ae60",
    "#2e86c1",
    "#8e44ad",
    "#d68910",
    "#16a085",
    "#7f8c8d",
    "#e67e22",
    "#2c3e50",
)


def export_config(filename: str) -> dict:
    """plotly's modebar config: a PNG download at 2x scale under a meaningful file name."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }


def token_labels(tokens: Sequence[str], max_chars: int = 14) -> list[str]:
    """Unique, readable axis labels: ``"3·good"`` (position and token), long tokens shortened.

    Positions keep repeated words apart on a categorical axis; the token is HTML-escaped
    because plotly renders a subset of HTML in labels.
    """
    labels = []
    for i, token in enumerate(tokens):
        shown = token if len(token) <= max_chars else token[: max_chars - 1] + "…"
        labels.append(f"{i}·{escape(shown)}")
    return labels


def escape(text: str) -> str:
    """HTML-escape user text for element content (plotly labels, ``st.html`` bodies).

    Quotes are left alone: they are harmless outside attributes, and plotly would print
    ``&#x27;`` literally.
    """
    return html.escape(text, quote=False)


def require_shape(name: str, array: np.ndarray, shape: tuple[int | None, ...]) -> None:
    """Raise ``ValueError`` naming both shapes when ``array`` does not fit ``shape``."""
    ok = array.ndim == len(shape) and all(
        want is None or want == got for want, got in zip(shape, array.shape, strict=True)
    )
    if not ok:
        raise ValueError(f"{name} has shape {tuple(array.shape)}, expected {shape}")


def figure_json_bytes(figure: go.Figure) -> int:
    """Size of the JSON that a figure sends to the browser."""
    return len(figure.to_json().encode("utf-8"))


def base_layout_dict(title: str, height: int = 360) -> dict:
    """:func:`base_layout`'s settings as a layout dict, for figures built in one call."""
    return {
        "title": {"text": escape(title), "x": 0.0, "xanchor": "left"},
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
        "font": {"family": FONT, "size": 13},
    }


def figure_from_parts(data: list[dict], layout: dict) -> go.Figure:
    """A figure from known-good trace and layout dicts, built without plotly's per-property
    validation (which dominated the attention views' build time); Streamlit validates the
    whole figure once more before sending it."""
    figure = go.Figure(data=data, layout=layout, _validate=False)
    figure._validate = True  # later updates are validated as usual
    return figure


PRESENTATION_FONT = 18
PRESENTATION_HEIGHT_SCALE = 1.25


def presentation_figure(figure: go.Figure) -> dict:
    """The figure for a projector: larger type and a taller plot, as a new dict (the original
    may be cached and shared by other sessions, so it is never changed)."""
    spec = figure.to_dict()
    layout = spec.setdefault("layout", {})
    font = dict(layout.get("font") or {})
    font["size"] = max(PRESENTATION_FONT, int(font.get("size") or 0))
    layout["font"] = font
    title = layout.get("title")
    if isinstance(title, dict):
        layout["title"] = {**title, "font": {**(title.get("font") or {}), "size": 22}}
    if layout.get("height"):
        layout["height"] = int(layout["height"] * PRESENTATION_HEIGHT_SCALE)
    return spec


def base_layout(figure: go.Figure, title: str, height: int = 360) -> go.Figure:
    """Title, height, margins and font of every figure.

    ``update_layout`` parses a path for every nested key (about 8 ms for these four on the
    server's CPU, a quarter of a Kim CNN view under classroom load); a property nothing has set
    yet is assigned whole instead, and only one already set is merged.
    """
    layout = figure.layout
    for name, value in base_layout_dict(title, height).items():
        current = layout[name]
        if isinstance(value, dict) and current is not None and current.to_plotly_json():
            figure.update_layout({name: value})
        else:
            layout[name] = value
    return figure


_MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|~$:")


def escape_markdown(text: str) -> str:
    """Backslash-escape user text for ``st.markdown``/``st.caption`` so it renders as typed."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in text)


def probability_bars(
    rows: Sequence[str], class_names: Sequence[str], probabilities: np.ndarray, title: str
) -> go.Figure:
    """Horizontal stacked bars: one row per model, one segment per class.

    Args:
        rows: row labels (model variants), length R.
        probabilities: (R, classes).
    """
    probabilities = np.asarray(probabilities, dtype=float)
    require_shape("probabilities", probabilities, (len(rows), len(class_names)))
    labels = [escape(r) for r in rows]
    traces = [
        {
            "type": "bar",
            "y": labels,
            "x": probabilities[:, c].tolist(),
            "name": escape(name),
            "orientation": "h",
            "marker": {"color": CLASS_COLOURS[c % len(CLASS_COLOURS)]},
            "text": [f"{p:.0%}" for p in probabilities[:, c]],
            "textposition": "inside",
            "hovertemplate": f"{escape(name)}: %{{x:.3f}}<extra>%{{y}}</extra>",
        }
        for c, name in enumerate(class_names)
    ]
    layout = base_layout_dict(title, height=110 + 45 * len(rows))
    layout.update(
        barmode="stack",
        xaxis={"range": [0, 1], "title": {"text": "probability"}},
        yaxis={"autorange": "reversed"},
    )
    # built unvalidated from known-good dicts: validating one bar per class (nine for HAN)
    # was a fifth of a page view under classroom load
    return figure_from_parts(traces, layout)


def learning_curves(histories: dict[str, list[dict]]) -> go.Figure:
    """Dev accuracy per epoch for several models (their cards' ``history``)."""
    traces = [
        {
            "type": "scatter",
            "x": [h["epoch"] for h in history],
            "y": [h["dev_accuracy"] for h in history],
            "mode": "lines+markers",
            "name": escape(name),
            "hovertemplate": "epoch %{x}: dev accuracy %{y:.3f}<extra>" + escape(name) + "</extra>",
        }
        for name, history in histories.items()
    ]
    layout = base_layout_dict("Learning curves (dev split)", height=340)
    layout.update(
        xaxis={"title": {"text": "epoch"}},
        yaxis={"title": {"text": "dev accuracy"}, "tickformat": ".0%"},
    )
    return figure_from_parts(traces, layout)
