"""Figures of the masked-LM page: top-k predictions, mask schedules, held-out curves, IG bars.

Pure functions: tokens, numpy arrays and card dicts in -> plotly Figure (or escaped HTML, or a
pandas table of the numbers) out. Every token label is HTML-escaped (plotly renders a subset of
HTML in labels and hover text).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nlpviz.viz.common import (
    CLASS_COLOURS,
    DIVERGING,
    base_layout,
    escape,
    require_shape,
    token_labels,
)

# ---- top-k predictions -----------------------------------------------------------------------

PREDICTION_COLOUR = "#2e86c1"


def _check_predictions(
    models: Sequence[str], tokens: Sequence[Sequence[str]], probabilities: Sequence[np.ndarray]
) -> list[np.ndarray]:
    if len(tokens) != len(models) or len(probabilities) != len(models):
        raise ValueError(
            f"{len(models)} models but {len(tokens)} token lists and "
            f"{len(probabilities)} probability arrays"
        )
    arrays = []
    for model, words, probs in zip(models, tokens, probabilities, strict=True):
        probs = np.asarray(probs, dtype=float)
        require_shape(f"probabilities of {model}", probs, (len(words),))
        if probs.size and (probs.min() < 0 or probs.max() > 1):
            raise ValueError(f"probabilities of {model} lie outside 0..1")
        arrays.append(probs)
    return arrays


def prediction_bars(
    models: Sequence[str],
    tokens: Sequence[Sequence[str]],
    probabilities: Sequence[np.ndarray],
    title: str = "Top predictions for the masked word",
) -> go.Figure:
    """One panel per model: its top-k tokens as horizontal bars on a fixed 0..1 axis.

    Args:
        models: M panel titles.
        tokens: M lists of k_m display tokens, best first.
        probabilities: M arrays of shape (k_m,), each in 0..1 (best first).

    Bars are drawn top to bottom best first; y labels are "rank. token" so a token shown twice
    (two ids with the same display string) keeps its own bar. Hover shows the exact probability.
    """
    arrays = _check_predictions(models, tokens, probabilities)
    if not models:
        raise ValueError("no model to draw")
    figure = make_subplots(
        rows=1,
        cols=len(models),
        subplot_titles=[escape(m) for m in models],
        horizontal_spacing=min(0.08, 0.5 / len(models)),
    )
    for col, (model, words, probs) in enumerate(zip(models, tokens, arrays, strict=True), 1):
        shown = [escape(w) for w in words]
        figure.add_bar(
            x=probs.tolist(),
            y=[f"{rank}. {w}" for rank, w in enumerate(shown, 1)],
            orientation="h",
            name=escape(model),
            customdata=shown,
            marker_color=PREDICTION_COLOUR,
            text=[f"{p:.1%}" for p in probs],
            textposition="auto",
            hovertemplate="%{customdata}: P = %{x:.4f}<extra>" + escape(model) + "</extra>",
            showlegend=False,
            row=1,
            col=col,
        )
        figure.update_xaxes(range=[0, 1], tickformat=".0%", title="probability", row=1, col=col)
        figure.update_yaxes(autorange="reversed", type="category", row=1, col=col)
    k = max((len(w) for w in tokens), default=1)
    return base_layout(figure, title, height=int(140 + 28 * max(k, 3)))


def prediction_frame(
    models: Sequence[str], tokens: Sequence[Sequence[str]], probabilities: Sequence[np.ndarray]
) -> pd.DataFrame:
    """The numbers of :func:`prediction_bars`, one row per (model, rank)."""
    arrays = _check_predictions(models, tokens, probabilities)
    return pd.DataFrame(
        [
            {"model": model, "rank": rank, "token": word, "probability": float(p)}
            for model, words, probs in zip(models, tokens, arrays, strict=True)
            for rank, (word, p) in enumerate(zip(words, probs, strict=True), 1)
        ],
        columns=["model", "rank", "token", "probability"],
    )


# ---- how a tokenizer splits the text -------------------------------------------------------


def tokens_html(
    tokens: Sequence[str],
    unknown: Sequence[bool] | None = None,
    marked: Sequence[bool] | None = None,
) -> str:
    """The pieces of a text as escaped HTML chips; unknown pieces red, ``marked`` ones bold.

    Args:
        tokens: T display tokens.
        unknown: (T,) bool, pieces the vocabulary lacks (shown in red with a tooltip).
        marked: (T,) bool, pieces to emphasise (the masked position).
    """
    n = len(tokens)
    unknown_arr = np.zeros(n, dtype=bool) if unknown is None else np.asarray(unknown, dtype=bool)
    marked_arr = np.zeros(n, dtype=bool) if marked is None else np.asarray(marked, dtype=bool)
    require_shape("unknown", unknown_arr, (n,))
    require_shape("marked", marked_arr, (n,))
    chips = []
    for token, is_unknown, is_marked in zip(tokens, unknown_arr, marked_arr, strict=True):
        style = "padding:1px 4px;margin:1px;border-radius:4px;display:inline-block;"
        title = ""
        if is_unknown:
            style += "background:#fadbd8;color:#922b21;border:1px solid #c0392b;"
            title = ' title="not in the vocabulary: the model reads [UNK]"'
        else:
            style += "background:#eaf2f8;border:1px solid #d6eaf8;"
        if is_marked:
            style += "font-weight:700;outline:2px solid #d68910;"
        chips.append(f'<span style="{style}"{title}>{escape(token)}</span>')
    return '<div style="line-height:1.9;font-family:monospace">' + "".join(chips) + "</div>"


# ---- masks across epochs -------------------------------------------------------------------

MASK_CODES = ("untouched", "[MASK]", "random token", "kept (chosen, unchanged)")
MASK_COLOURS = ("#f2f3f4", "#2e86c1", "#c0392b", "#f5b041")


def _check_schedule(tokens: Sequence[str], codes: np.ndarray) -> np.ndarray:
    codes = np.asarray(codes)
    require_shape("codes", codes, (None, len(tokens)))
    if codes.size and (codes.min() < 0 or codes.max() >= len(MASK_CODES)):
        raise ValueError(f"codes must lie in 0..{len(MASK_CODES) - 1}")
    return codes.astype(np.int64)


def mask_schedule_heatmap(tokens: Sequence[str], codes: np.ndarray, title: str) -> go.Figure:
    """Epochs (rows) x tokens (columns), each cell coloured by what the training loop fed.

    Args:
        tokens: T display tokens (x labels, numbered and escaped).
        codes: (epochs, T) ints: 0 untouched, 1 [MASK], 2 random token, 3 chosen but kept
            (``nlpviz.analysis.encoders.mask_schedule``).

    The colour scale is categorical: four fixed colours, explained by the colour bar's labels.
    """
    codes = _check_schedule(tokens, codes)
    n = len(MASK_CODES)
    scale = []
    for i, colour in enumerate(MASK_COLOURS):  # step colour scale: one flat band per code
        scale += [[i / n, colour], [(i + 1) / n, colour]]
    labels = token_labels(tokens)
    epochs = [f"epoch {e + 1}" for e in range(codes.shape[0])]
    names = np.asarray(MASK_CODES, dtype=object)[codes]
    figure = go.Figure(
        go.Heatmap(
            z=codes.tolist(),
            x=labels,
            y=epochs,
            zmin=-0.5,
            zmax=n - 0.5,
            colorscale=scale,
            customdata=names.tolist(),
            xgap=1,
            ygap=1,
            hovertemplate="%{y}, %{x}: %{customdata}<extra></extra>",
            colorbar={
                "tickvals": list(range(n)),
                "ticktext": [escape(c) for c in MASK_CODES],
                "thickness": 14,
                "title": "what the model read",
            },
        )
    )
    figure.update_xaxes(type="category", tickangle=-60)
    figure.update_yaxes(type="category", autorange="reversed")
    return base_layout(figure, title, height=int(220 + 30 * codes.shape[0]))


def schedule_frame(tokens: Sequence[str], codes: np.ndarray) -> pd.DataFrame:
    """One row per (epoch, token) with the code and its meaning."""
    codes = _check_schedule(tokens, codes)
    epochs, t = codes.shape
    epoch, position = np.meshgrid(np.arange(epochs), np.arange(t), indexing="ij")
    return pd.DataFrame(
        {
            "epoch": epoch.ravel() + 1,
            "position": position.ravel(),
            "token": np.asarray(list(tokens), dtype=object)[position.ravel()],
            "code": codes.ravel(),
            "meaning": np.asarray(MASK_CODES, dtype=object)[codes.ravel()],
        }
    )


# ---- held-out curves -------------------------------------------------------------------------

METRIC_LABELS = {
    "mlm_accuracy": "masked-token accuracy (%)",
    "mlm_loss": "masked-LM loss (nats)",
    "train_loss": "training loss",
    "nsp_accuracy": "next-sentence accuracy (%)",
    "rtd_accuracy": "replaced-token detection accuracy (%)",
    "rtd_auc": "replaced-token detection AUC",
}
X_AXES = {"step": "optimizer steps", "wall_s": "wall time (s)"}


def _curve_points(history: Sequence[dict], name: str, metric: str) -> list[dict]:
    points = []
    for i, entry in enumerate(history):
        missing = [k for k in X_AXES if k not in entry]
        if missing:
            raise ValueError(f"history of {name}, entry {i}, lacks {', '.join(missing)}")
        if entry.get(metric) is not None:
            points.append(entry)
    return points


def heldout_curves(
    histories: dict[str, Sequence[dict]], metric: str, title: str | None = None
) -> go.Figure:
    """The held-out ``metric`` of several designs against steps (left) and wall time (right).

    Args:
        histories: design label -> the card's ``history`` (dicts with ``step``, ``wall_s`` and
            the metric). Entries without the metric are skipped; a design with none is left out.
        metric: a key of the history entries, e.g. ``mlm_accuracy`` or ``mlm_loss``.
    """
    label = METRIC_LABELS.get(metric, metric)
    figure = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        subplot_titles=["against optimizer steps", "against wall time"],
        horizontal_spacing=0.06,
    )
    for i, (name, history) in enumerate(histories.items()):
        points = _curve_points(history, name, metric)
        if not points:
            continue
        colour = CLASS_COLOURS[i % len(CLASS_COLOURS)]
        y = [float(p[metric]) for p in points]
        for col, x_key in enumerate(X_AXES, 1):
            figure.add_scatter(
                x=[float(p[x_key]) for p in points],
                y=y,
                mode="lines+markers",
                name=escape(name),
                legendgroup=escape(name),
                showlegend=col == 1,
                line={"color": colour},
                hovertemplate=f"{X_AXES[x_key]} %{{x:,.1f}}: {escape(label)} %{{y:.3f}}"
                f"<extra>{escape(name)}</extra>",
                row=1,
                col=col,
            )
    for col, x_key in enumerate(X_AXES, 1):
        figure.update_xaxes(title=X_AXES[x_key], row=1, col=col)
    figure.update_yaxes(title=escape(label), row=1, col=1)
    return base_layout(figure, title or f"Held-out {label} during pretraining", height=380)


def history_frame(histories: dict[str, Sequence[dict]]) -> pd.DataFrame:
    """Every history entry of every design, one row each (the numbers of the curves)."""
    rows = [dict(entry, design=name) for name, history in histories.items() for entry in history]
    frame = pd.DataFrame(rows)
    if "design" in frame:
        frame = frame[["design", *[c for c in frame.columns if c != "design"]]]
    return frame


# ---- Integrated Gradients --------------------------------------------------------------------


def attribution_bars(
    tokens: Sequence[str],
    scores: np.ndarray,
    target: str,
    position: int | None = None,
    title: str | None = None,
) -> go.Figure:
    """Signed per-token IG scores on a diverging scale centred on 0 (blue toward, red against).

    Args:
        tokens: T display tokens.
        scores: (T,) attributions to log P(target) at the masked position.
        target: the explained token (escaped in the title).
        position: the masked position, outlined on the axis.
    """
    scores = np.asarray(scores, dtype=float)
    require_shape("scores", scores, (len(tokens),))
    if position is not None and not 0 <= position < len(tokens):
        raise ValueError(f"position {position} is outside the {len(tokens)} tokens")
    bound = float(np.abs(scores).max()) if scores.size else 0.0
    bound = bound or 1.0
    labels = token_labels(tokens)
    if position is not None:
        labels[position] = f"<b>{labels[position]}</b>"
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=scores.tolist(),
            marker={
                "color": scores.tolist(),
                "colorscale": DIVERGING,
                "cmin": -bound,
                "cmax": bound,
                "colorbar": {"title": "IG", "thickness": 12},
            },
            customdata=[escape(t) for t in tokens],
            hovertemplate="%{customdata}: %{y:+.4f}<extra></extra>",
        )
    )
    figure.update_xaxes(type="category", tickangle=-60)
    figure.update_yaxes(title=f"contribution to log P({escape(target)})", zeroline=True)
    heading = title or f"Integrated Gradients toward '{target}'"
    return base_layout(figure, heading, height=400)
