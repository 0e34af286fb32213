"""Shared figure helpers: token axis labels, escaping, sizes, the export configuration."""

from __future__ import annotations

import html
import re
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
# One colour-blind-safe palette (Okabe & Ito 2008) for classes everywhere: the probability bars,
# attributions and heatmaps of a class share its colour. Class 0 (negative / rotten in the
# binary tasks) is vermillion, class 1 (positive / fresh) blue.
CLASS_COLOURS = (
    "#D55E00",  # vermillion
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#999999",  # grey
    "#F0E442",  # yellow
    "#000000",  # black
)
NEUTRAL = "#f7f7f7"


def class_colour(index: int) -> str:
    return CLASS_COLOURS[index % len(CLASS_COLOURS)]


def toward_against(target: int, n_classes: int) -> tuple[str, str]:
    """Colours of evidence toward ``target`` (its class colour) and against it (the other class's
    colour in a binary task, else grey), so an attribution never contradicts the class bars."""
    against = class_colour(1 - target) if n_classes == 2 and target in (0, 1) else "#999999"
    return class_colour(target), against


def signed_scale(toward: str, against: str) -> list[list]:
    """A diverging plotly colour scale: ``against`` at the negative end, ``toward`` at the
    positive end, near-white at zero."""
    return [[0.0, against], [0.5, NEUTRAL], [1.0, toward]]


def rgb(colour: str) -> str:
    """``"#0072B2"`` -> ``"0,114,178"`` for ``rgba(...)`` in HTML."""
    colour = colour.lstrip("#")
    return ",".join(str(int(colour[i : i + 2], 16)) for i in (0, 2, 4))


def export_config(filename: str) -> dict:
    """plotly's modebar config: a PNG download at 2x scale under a meaningful file name."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }


def diverging_scale(bound: float) -> dict:
    """Heatmap colour settings for signed scores: fixed at +-``bound`` so that 0 is the middle
    colour and two figures with the same bound can be compared by colour."""
    return {
        "colorscale": DIVERGING,
        "reversescale": True,
        "zmid": 0.0,
        "zmin": -bound,
        "zmax": bound,
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


# A title pinned to the top edge of the figure: with a top margin that holds it AND the tick
# labels drawn above the plot (side="top"), the two never overlap (plotly's title automargin
# does not count top tick labels). See ``top_margin``.
TITLE_OVER_TOP_TICKS = {"yref": "container", "y": 1.0, "yanchor": "top", "pad": {"t": 12}}
TITLE_ROOM = 44  # px: the title line and its padding


def top_margin(labels: Sequence[str], angle: float = 0.0, axis_title: bool = False) -> int:
    """Top margin (px) for a title over tick ``labels`` drawn on top at ``angle`` degrees."""
    longest = max((len(str(label)) for label in labels), default=0)
    tick = 18 if not angle else min(140, 7 * longest * abs(np.sin(np.radians(angle))) + 10)
    return int(TITLE_ROOM + tick + (22 if axis_title else 0))


def figure_from_parts(data: list[dict], layout: dict) -> go.Figure:
    """A figure from known-good trace and layout dicts, built without plotly's per-property
    validation (which dominated the attention views' build time); Streamlit validates the
    whole figure once more before sending it."""
    figure = go.Figure(data=data, layout=layout, _validate=False)
    figure._validate = True  # later updates are validated as usual
    return figure


PRESENTATION_FONT = 18  # body text, legends, axis titles
PRESENTATION_TICK_FONT = 16  # tick labels (token axes are dense; 16 px still reads at the back)
PRESENTATION_TITLE_FONT = 22
PRESENTATION_HEIGHT_SCALE = 1.25


def _bigger(font: dict | None, size: int) -> dict:
    """``font`` with at least ``size`` px (an explicit larger size is kept)."""
    font = dict(font or {})
    font["size"] = max(size, int(font.get("size") or 0))
    return font


def presentation_figure(figure: go.Figure) -> dict:
    """The figure for a projector, as a new dict (the original may be cached and shared by other
    sessions, so it is never changed).

    Every font is set explicitly: Streamlit's plotly theme gives axes, legends and colour bars
    their own 12 px fonts, which a larger ``layout.font`` alone does not override. The margins
    grow with the title so a larger title does not run into subplot titles or the legend.
    """
    spec = figure.to_dict()
    layout = spec.setdefault("layout", {})
    layout["font"] = _bigger(layout.get("font"), PRESENTATION_FONT)
    title = layout.get("title")
    if isinstance(title, dict) and title.get("text"):
        layout["title"] = {**title, "font": _bigger(title.get("font"), PRESENTATION_TITLE_FONT)}
    layout["legend"] = {
        **(layout.get("legend") or {}),
        "font": _bigger((layout.get("legend") or {}).get("font"), PRESENTATION_FONT),
    }
    for name in list(layout):
        if not name.startswith(("xaxis", "yaxis", "coloraxis")):
            continue
        axis = dict(layout[name] or {})
        if name.startswith("coloraxis"):
            colorbar = dict(axis.get("colorbar") or {})
            colorbar["tickfont"] = _bigger(colorbar.get("tickfont"), PRESENTATION_TICK_FONT)
            axis["colorbar"] = colorbar
        else:
            axis["tickfont"] = _bigger(axis.get("tickfont"), PRESENTATION_TICK_FONT)
            axis_title = axis.get("title")
            if isinstance(axis_title, str):
                axis_title = {"text": axis_title}
            if axis_title:
                axis["title"] = {
                    **axis_title,
                    "font": _bigger(axis_title.get("font"), PRESENTATION_FONT),
                }
            axis["automargin"] = True
        layout[name] = axis
    for name in ("xaxis", "yaxis"):  # figures that never named an axis still get big ticks
        layout.setdefault(name, {"tickfont": {"size": PRESENTATION_TICK_FONT}, "automargin": True})
    for annotation in layout.get("annotations") or []:  # subplot titles, labels on the plot
        annotation["font"] = _bigger(annotation.get("font"), PRESENTATION_FONT)
    for trace in spec.get("data") or []:
        colorbar = trace.get("colorbar") or (trace.get("marker") or {}).get("colorbar")
        if colorbar is None and trace.get("type") in ("heatmap", "contour", "surface"):
            colorbar = trace.setdefault("colorbar", {})
        if isinstance(colorbar, dict):
            colorbar["tickfont"] = _bigger(colorbar.get("tickfont"), PRESENTATION_TICK_FONT)
            bar_title = colorbar.get("title")
            if isinstance(bar_title, str):
                bar_title = colorbar["title"] = {"text": bar_title}
            if isinstance(bar_title, dict):
                bar_title["font"] = _bigger(bar_title.get("font"), PRESENTATION_TICK_FONT)
    margin = dict(layout.get("margin") or {})
    if "t" in margin:  # the title sits in the top margin: room for its larger line
        margin["t"] = max(int(margin["t"]) + 16, 70)
        layout["margin"] = margin
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
    if len(class_names) > 3:
        # many classes (HAN's nine outlets): a legend beside a short plot became a tiny scroll
        # box showing three; lay it out in rows under the axis instead, with room for them
        legend_rows = -(-len(class_names) // 4)
        layout["legend"] = {
            "orientation": "h",
            "yref": "container",
            "y": 0,
            "yanchor": "bottom",
            "x": 0,
        }
        layout["margin"] = {**layout["margin"], "b": 30 + 26 * legend_rows}
        layout["height"] += 30 + 26 * legend_rows
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


# ---- tokens as people read them ------------------------------------------------------------

_SPACE_MARKS = ("Ġ", "▁")  # byte-level BPE (RoBERTa) and SentencePiece (DeBERTaV3) word starts
_CONTINUATION = "##"  # WordPiece (BERT) piece inside a word


def human_token(piece: str) -> str:
    """One model piece as a label for people: ``"Ġthe"`` and ``"▁the"`` read ``"the"``, a
    WordPiece continuation ``"##ing"`` reads ``"…ing"`` (the rest of a word), special tokens
    (``[UNK]``, ``<s>``) and ordinary words stay as they are. Case is kept."""
    if piece.startswith(_CONTINUATION) and len(piece) > len(_CONTINUATION):
        return "…" + piece[len(_CONTINUATION) :]
    for mark in _SPACE_MARKS:
        if piece.startswith(mark) and len(piece) > len(mark):
            return piece[len(mark) :]
    return piece


def human_words(pieces: Sequence[str]) -> list[str]:
    """Pieces joined into the words people read: ``["play", "##ing"]`` -> ``["playing"]``,
    ``["ĠThe", "Ġplay", "ing"]`` -> ``["The", "playing"]``.

    A ``##`` piece always joins the word before it; in a text with ``Ġ``/``▁`` word starts, a
    piece without one joins the word before it too.
    """
    marked = any(p.startswith(_SPACE_MARKS) for p in pieces)
    words: list[str] = []
    for piece in pieces:
        joins = piece.startswith(_CONTINUATION) or (
            marked and not piece.startswith(_SPACE_MARKS) and piece.isalnum()
        )
        if joins and words:
            words[-1] += piece.removeprefix(_CONTINUATION)
        else:
            words.append(human_token(piece))
    return words


def quoted(word: str) -> str:
    """A word quoted for prose: ``“the”``."""
    return f"“{word}”"


# **bold**, *em*, `code`, and _em_ / __bold__ only at word edges (snake_case stays as typed)
_EMPHASIS = re.compile(r"(\*\*|\*|`)(?=\S)(.+?)(?<=\S)\1|(?<!\w)(__|_)(?=\S)(.+?)(?<=\S)\3(?!\w)")


def plain_text(markdown: str) -> str:
    """Markdown emphasis dropped for plain-text labels (a selectbox option shows ``*it*``
    literally): ``"*it* finds the animal"`` -> ``"it finds the animal"``."""
    return _EMPHASIS.sub(lambda m: m.group(2) or m.group(4), markdown)
