"""Figures of the gated-RNN page: learning curves, piano rolls, gate heatmaps, a unit over text.

Pure functions: arrays and labels in, plotly figures out. Sizes are checked (``ValueError``
naming both); user text is HTML-escaped (plotly renders a subset of HTML in labels and text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import get_colorscale

from nlpviz.viz.common import FONT, base_layout_dict, escape, figure_from_parts

CELL_COLOURS = {"tanh": "#7f8c8d", "gru": "#c0392b", "lstm": "#2e86c1"}
CELL_NAMES = {"tanh": "tanh RNN", "gru": "GRU", "lstm": "LSTM"}
# Gates live in [0, 1] (sigmoid), states in [-1, 1] (tanh); the LSTM cell is unbounded.
SERIES_RANGE = {
    "update": (0.0, 1.0),
    "reset": (0.0, 1.0),
    "input": (0.0, 1.0),
    "forget": (0.0, 1.0),
    "output": (0.0, 1.0),
    "candidate": (-1.0, 1.0),
    "hidden": (-1.0, 1.0),
    "cell": (-3.0, 3.0),
}
SERIES_TITLES = {
    "update": "update gate z (share of the old state kept)",
    "reset": "reset gate r",
    "input": "input gate i",
    "forget": "forget gate f",
    "output": "output gate o",
    "candidate": "candidate (n for the GRU, g for the LSTM)",
    "hidden": "hidden state h",
    "cell": "memory cell c (colour clipped at ±3)",
}
GATE_SCALE = "Viridis"
STATE_SCALE = "RdBu_r"


def _layout(figure: go.Figure, title: str, height: int) -> go.Figure:
    figure.update_layout(
        title={"text": escape(title), "x": 0, "xanchor": "left"},
        font={"family": FONT, "size": 13},
        height=height,
        margin={"l": 70, "r": 20, "t": 60, "b": 50},
    )
    return figure


def _scale(name: str) -> list[list]:
    """A named colour scale spelled out (figures built without validation send it as is)."""
    if name.endswith("_r"):
        stops = get_colorscale(name[:-2])
        return [[1.0 - position, colour] for position, colour in reversed(stops)]
    return [list(stop) for stop in get_colorscale(name)]


def _layout_dict(title: str, height: int) -> dict:
    layout = base_layout_dict(title, height)  # escapes the title
    layout["margin"] = {"l": 70, "r": 20, "t": 60, "b": 50}
    return layout


def learning_curves(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    x_title: str,
    y_title: str,
    title: str,
    reference: tuple[float, str] | None = None,
) -> go.Figure:
    """One line per cell: ``curves[cell] = (x, y)``; an optional dotted reference line."""
    figure = go.Figure()
    for cell, (x, y) in curves.items():
        if len(x) != len(y):
            raise ValueError(f"{cell}: {len(x)} x values but {len(y)} y values")
        figure.add_trace(
            go.Scatter(
                x=list(x),
                y=list(y),
                mode="lines+markers",
                marker={"size": 4},
                name=CELL_NAMES.get(cell, cell),
                line={"color": CELL_COLOURS.get(cell)},
                hovertemplate=f"{CELL_NAMES.get(cell, cell)}<br>{x_title}: %{{x}}"
                f"<br>{y_title}: %{{y:.3f}}<extra></extra>",
            )
        )
    if reference is not None:
        value, label = reference
        figure.add_hline(
            y=value,
            line={"dash": "dot", "color": "#333"},
            annotation_text=escape(label),
            annotation_position="bottom right",
        )
    figure.update_xaxes(title=x_title)
    figure.update_yaxes(title=y_title)
    # The untrained first point (e.g. 36 nats against 9 after training) would flatten every curve:
    # the y range starts from the second point (the first stays in the hover and the CSV).
    later = [v for _, y in curves.values() for v in list(y)[1:] if v is not None]
    if later:
        low = min(later + ([reference[0]] if reference is not None else []))
        high = max(later)
        pad = 0.05 * (high - low or 1.0)
        figure.update_yaxes(range=[low - pad, high + pad])
    return _layout(figure, title, 360)


def pitch_name(midi: int) -> str:
    names = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
    return f"{names[midi % 12]}{midi // 12 - 1}"


def piano_roll(
    roll: np.ndarray,
    probs: np.ndarray | None,
    low_pitch: int,
    title: str,
    continuation: np.ndarray | None = None,
) -> go.Figure:
    """The piece's notes (black squares) over a model's predicted note probabilities (colour).

    Args:
        roll: (frames, pitches) 0/1 notes.
        probs: (frames, pitches) p(note on at frame t | frames < t), or None.
        low_pitch: MIDI number of pitch column 0.
        title: the figure's title (escaped here: it may hold a file name).
        continuation: (frames2, pitches) sampled frames drawn after the piece (orange), or None.
    """
    roll = np.asarray(roll)
    if roll.ndim != 2:
        raise ValueError(f"roll must be (frames, pitches), got shape {roll.shape}")
    if probs is not None and np.shape(probs) != roll.shape:
        raise ValueError(f"probs {np.shape(probs)} and roll {roll.shape} differ in shape")
    pitches = [pitch_name(low_pitch + k) for k in range(roll.shape[1])]
    traces: list[dict] = []
    if probs is not None:
        traces.append(
            {
                "type": "heatmap",
                "z": np.asarray(probs, dtype=np.float32).T,
                "x": np.arange(roll.shape[0]),
                "y": pitches,
                "zmin": 0.0,
                "zmax": 1.0,
                "colorscale": _scale("Blues"),
                "colorbar": {"title": {"text": "p(note)"}, "len": 0.8},
                "hovertemplate": "quarter %{x}, %{y}<br>p(on) = %{z:.3f}<extra></extra>",
                "name": "predicted",
            }
        )
    frames, cols = np.nonzero(roll)
    traces.append(
        {
            "type": "scatter",
            "x": frames,
            "y": [pitches[c] for c in cols],
            "mode": "markers",
            "marker": {"symbol": "square-open", "size": 7, "color": "#111", "line": {"width": 1.5}},
            "name": "the piece's notes",
            "hovertemplate": "quarter %{x}, %{y}: played<extra></extra>",
        }
    )
    if continuation is not None:
        continuation = np.asarray(continuation)
        if continuation.ndim != 2 or continuation.shape[1] != roll.shape[1]:
            raise ValueError(f"continuation {continuation.shape} must have {roll.shape[1]} pitches")
        c_frames, c_cols = np.nonzero(continuation)
        traces.append(
            {
                "type": "scatter",
                "x": c_frames + roll.shape[0],
                "y": [pitches[c] for c in c_cols],
                "mode": "markers",
                "marker": {"symbol": "square", "size": 7, "color": "#e67e22"},
                "name": "sampled continuation",
                "hovertemplate": "quarter %{x}, %{y}: sampled<extra></extra>",
            }
        )
    layout = _layout_dict(title, 520)
    layout["yaxis"] = {
        "title": {"text": "pitch"},
        "type": "category",
        "categoryorder": "array",
        "categoryarray": pitches,
        "tickfont": {"size": 9},
    }
    layout["xaxis"] = {"title": {"text": "quarter note (frame)"}}
    layout["legend"] = {"orientation": "h", "y": -0.18}
    return figure_from_parts(traces, layout)


def char_labels(chars: Sequence[str]) -> list[str]:
    """Unique axis labels ``"12·a"`` with visible whitespace, HTML-escaped."""
    shown = {" ": "␣", "\n": "⏎", "\t": "⇥"}
    return [f"{i}·{escape(shown.get(c, c))}" for i, c in enumerate(chars)]


def gate_heatmap(
    values: np.ndarray,
    name: str,
    x_labels: Sequence[str],
    order: np.ndarray | None = None,
    title: str | None = None,
    x_title: str = "step",
    max_ticks: int = 40,
) -> go.Figure:
    """Units (rows, in ``order``) x time (columns) of one gate or state.

    Args:
        values: (time, hidden).
        name: a key of :data:`SERIES_RANGE` (fixes the colour range).
        x_labels: one unique label per step (already escaped, e.g. :func:`char_labels`).
        order: the units to show, top row first (default all, 0..H-1); a prefix of a ranking
            shows only those units.
        title: escaped here.
        max_ticks: at most this many step labels on the x axis (every step is in the hover).
    """
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"values must be (time, hidden), got shape {values.shape}")
    if len(x_labels) != values.shape[0]:
        raise ValueError(f"{len(x_labels)} labels for {values.shape[0]} steps")
    order = np.arange(values.shape[1]) if order is None else np.asarray(order)
    if len(set(order.tolist())) != len(order) or not all(0 <= u < values.shape[1] for u in order):
        raise ValueError(f"order must list distinct units among the {values.shape[1]}")
    labels = list(x_labels)
    if len(set(labels)) != len(labels):
        raise ValueError("x_labels must be unique (prefix positions, as char_labels does)")
    low, high = SERIES_RANGE.get(name, (float(values.min()), float(values.max())))
    step = max(1, -(-values.shape[0] // max_ticks))
    trace = {
        "type": "heatmap",
        "z": values[:, order].T.astype(np.float32),
        "x": labels,  # categorical: the hover names the step without a per-cell copy
        "y": [f"unit {u}" for u in order],
        "zmin": low,
        "zmax": high,
        "colorscale": _scale(GATE_SCALE if low == 0.0 else STATE_SCALE),
        "hovertemplate": "%{y}, step %{x}<br>value %{z:.3f}<extra></extra>",
        "colorbar": {"len": 0.8},
    }
    layout = _layout_dict(
        title or SERIES_TITLES.get(name, name), int(min(900, max(300, 9 * len(order) + 120)))
    )
    layout["xaxis"] = {
        "title": {"text": x_title},
        "type": "category",
        "tickmode": "array",
        "tickvals": labels[::step],
        "ticktext": labels[::step],
        "tickfont": {"size": 9},
    }
    layout["yaxis"] = {
        "type": "category",
        "autorange": "reversed",
        "tickfont": {"size": 8},
        "title": {"text": "unit"},
    }
    return figure_from_parts([trace], layout)


def unit_over_text(
    chars: Sequence[str],
    activation: np.ndarray,
    name: str,
    unit: int,
    width: int = 60,
) -> go.Figure:
    """The text laid out in lines of ``width`` characters, each cell coloured by one unit's value
    after reading that character (the LSTMVis idea)."""
    activation = np.asarray(activation, dtype=np.float64)
    if activation.shape != (len(chars),):
        raise ValueError(f"{len(chars)} characters but activation of shape {activation.shape}")
    rows = -(-len(chars) // width)
    z = np.full((rows, width), np.nan)
    text = np.full((rows, width), "", dtype=object)
    hover = np.full((rows, width), "", dtype=object)
    visible = {" ": "␣", "\n": "⏎", "\t": "⇥"}
    for i, (char, value) in enumerate(zip(chars, activation, strict=True)):
        r, c = divmod(i, width)
        shown = escape(visible.get(char, char))
        z[r, c] = value
        text[r, c] = shown
        hover[r, c] = f"#{i} {shown}: {value:.3f}"
    low, high = SERIES_RANGE.get(name, (float(np.nanmin(z)), float(np.nanmax(z))))
    trace = {
        "type": "heatmap",
        "z": z,
        "text": text,
        "texttemplate": "%{text}",
        "textfont": {"family": "monospace", "size": 13},
        "customdata": hover,
        "hovertemplate": "%{customdata}<extra></extra>",
        "zmin": low,
        "zmax": high,
        "colorscale": _scale(GATE_SCALE if low == 0.0 else STATE_SCALE),
        "xgap": 1,
        "ygap": 1,
        "colorbar": {"len": 0.8},
    }
    title = f"unit {unit} of the {SERIES_TITLES.get(name, name)}, drawn over the text"
    layout = _layout_dict(title, int(min(900, 60 + 26 * rows + 60)))
    layout["xaxis"] = {"visible": False}
    layout["yaxis"] = {"visible": False, "autorange": "reversed"}
    return figure_from_parts([trace], layout)
