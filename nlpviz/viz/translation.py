"""Figures of the translation page: the beam search tree, alignment and attention maps, the
sentence space, token log-probabilities and the training curves. Pure functions: arrays in,
plotly figure out; shapes are checked and user text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nlpviz.viz.attention import COLOURSCALE
from nlpviz.viz.common import (
    CLASS_COLOURS,
    base_layout,
    base_layout_dict,
    escape,
    figure_from_parts,
    require_shape,
    token_labels,
)

STATUS_COLOURS = {
    "root": "#2c3e50",
    "kept": "#2e86c1",
    "finished": "#27ae60",
    "cut": "#d68910",
    "stopped": "#8e44ad",
    "pruned": "#bdc3c7",
}
CHOSEN = "#d62728"
MAX_LABELLED_NODES = 400  # beyond this only the chosen path carries text on the tree


def tree_layout(parent: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Vertical positions of a tree's nodes: leaves in depth-first order (children by rank),
    each parent at the mean of its children.

    Args:
        parent: (N,) parent index, -1 for the root (node 0).
        rank: (N,) order among siblings (lower first).

    Returns:
        (N,) float positions; leaves are 0, 1, 2, ...
    """
    parent = np.asarray(parent, dtype=np.int64)
    rank = np.asarray(rank)
    require_shape("rank", rank, (len(parent),))
    children: list[list[int]] = [[] for _ in parent]
    for node, up in enumerate(parent):
        if up >= 0:
            children[up].append(node)
    for kids in children:
        kids.sort(key=lambda n: rank[n])
    y = np.zeros(len(parent))
    next_leaf = 0.0
    stack: list[tuple[int, bool]] = [(0, False)] if len(parent) else []
    while stack:
        node, expanded = stack.pop()
        if not children[node]:
            y[node] = next_leaf
            next_leaf += 1.0
        elif expanded:
            y[node] = float(np.mean([y[c] for c in children[node]]))
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(children[node]))
    return y


def beam_tree_figure(
    parent: np.ndarray,
    step: np.ndarray,
    rank: np.ndarray,
    pieces: Sequence[str],
    token_log_prob: np.ndarray,
    score: np.ndarray,
    status: Sequence[str],
    chosen: np.ndarray,
    title: str,
) -> go.Figure:
    """The beam search tree: output position left to right, every scored candidate a node.

    The chosen translation's path is red, surviving hypotheses blue, finished ones green, and
    candidates that fell out of the beam are faded grey. Hover shows the piece, its
    log-probability and the running score.
    """
    parent = np.asarray(parent, dtype=np.int64)
    n = len(parent)
    for name, array in (("step", step), ("rank", rank), ("score", score), ("chosen", chosen)):
        require_shape(name, np.asarray(array), (n,))
    require_shape("token_log_prob", np.asarray(token_log_prob), (n,))
    if len(pieces) != n or len(status) != n:
        raise ValueError(f"pieces ({len(pieces)}) and status ({len(status)}) must have {n} entries")
    chosen = np.asarray(chosen, dtype=bool)
    x = np.asarray(step, dtype=float)
    y = tree_layout(parent, rank)
    data = []
    for group, colour, width, dash in (
        ("pruned", "#d5d8dc", 1, "dot"),
        ("kept", "#85c1e9", 1.5, "solid"),
        ("chosen", CHOSEN, 3, "solid"),
    ):
        xs, ys = [], []
        for node in range(1, n):
            kind = "chosen" if chosen[node] else ("pruned" if status[node] == "pruned" else "kept")
            if kind != group:
                continue
            up = parent[node]
            xs += [x[up], x[node], None]
            ys += [y[up], y[node], None]
        data.append(
            {
                "type": "scatter",
                "x": xs,
                "y": ys,
                "mode": "lines",
                "line": {"color": colour, "width": width, "dash": dash},
                "hoverinfo": "skip",
                "name": f"{group} branch",
                "showlegend": False,
            }
        )
    labelled = n <= MAX_LABELLED_NODES
    for kind, colour in STATUS_COLOURS.items():
        members = [i for i in range(n) if status[i] == kind and not chosen[i]]
        if not members:
            continue
        data.append(
            _nodes(
                members,
                x,
                y,
                pieces,
                token_log_prob,
                score,
                status,
                colour,
                kind,
                labelled and kind != "pruned",
                0.45 if kind == "pruned" else 0.95,
            )
        )
    path = [i for i in range(n) if chosen[i]]
    data.append(
        _nodes(
            path,
            x,
            y,
            pieces,
            token_log_prob,
            score,
            status,
            CHOSEN,
            "chosen translation",
            True,
            1.0,
            size=11,
        )
    )
    layout = base_layout_dict(title, height=int(min(900, max(380, 60 + 18 * (y.max() + 1)))))
    layout.update(
        xaxis={"title": {"text": "output position (decoding step)"}, "dtick": 1},
        yaxis={"visible": False},
        legend={"orientation": "h", "y": -0.12},
        hovermode="closest",
    )
    return figure_from_parts(data, layout)


def _nodes(members, x, y, pieces, lp, score, status, colour, name, text, opacity, size=8):
    return {
        "type": "scatter",
        "x": [x[i] for i in members],
        "y": [y[i] for i in members],
        "mode": "markers+text" if text else "markers",
        "text": [escape(pieces[i]) for i in members] if text else None,
        "textposition": "top center",
        "textfont": {"size": 10, "color": colour},
        "marker": {"color": colour, "size": size, "opacity": opacity},
        "name": name,
        "customdata": [
            [escape(pieces[i]), float(lp[i]), float(score[i]), status[i]] for i in members
        ],
        "hovertemplate": "%{customdata[0]}<br>log p = %{customdata[1]:.3f}<br>"
        "score = %{customdata[2]:.3f}<br>%{customdata[3]}<extra></extra>",
    }


def tree_frame(parent, step, rank, pieces, token_log_prob, score, status, chosen) -> pd.DataFrame:
    """The tree's numbers, one row per node."""
    return pd.DataFrame(
        {
            "node": np.arange(len(parent)),
            "parent": parent,
            "step": step,
            "rank": rank,
            "piece": list(pieces),
            "token_log_prob": token_log_prob,
            "score": score,
            "status": list(status),
            "chosen": chosen,
        }
    )


def attention_heatmap(
    weights: np.ndarray,
    rows: Sequence[str],
    columns: Sequence[str],
    title: str,
    row_title: str,
    column_title: str,
) -> go.Figure:
    """One (rows x columns) attention matrix on a fixed 0..1 scale (each row sums to 1)."""
    weights = np.asarray(weights, dtype=np.float32)
    require_shape("weights", weights, (len(rows), len(columns)))
    row_labels, column_labels = token_labels(rows), token_labels(columns)
    trace = {
        "type": "heatmap",
        "z": weights,
        "x": column_labels,
        "y": row_labels,
        "colorscale": COLOURSCALE,
        "zmin": 0.0,
        "zmax": 1.0,
        "hovertemplate": f"{escape(row_title)} %{{y}} → {escape(column_title)} %{{x}}"
        "<br>weight %{z:.4f}<extra></extra>",
        "colorbar": {"title": {"text": "attention"}, "thickness": 12},
    }
    layout = base_layout_dict(title, height=int(min(900, max(360, 150 + 18 * len(rows)))))
    layout.update(
        xaxis={
            "title": {"text": column_title},
            "tickangle": -60,
            "side": "top",
            "type": "category",
        },
        yaxis={"title": {"text": row_title}, "autorange": "reversed", "type": "category"},
    )
    return figure_from_parts([trace], layout)


def attention_frame(
    weights: np.ndarray, rows: Sequence[str], columns: Sequence[str]
) -> pd.DataFrame:
    weights = np.asarray(weights)
    require_shape("weights", weights, (len(rows), len(columns)))
    r, c = np.meshgrid(np.arange(len(rows)), np.arange(len(columns)), indexing="ij")
    return pd.DataFrame(
        {
            "row_index": r.ravel(),
            "row_token": np.asarray(list(rows), dtype=object)[r.ravel()],
            "column_index": c.ravel(),
            "column_token": np.asarray(list(columns), dtype=object)[c.ravel()],
            "weight": weights.ravel(),
        }
    )


def first_words(sentence: str, words: int = 3, max_chars: int = 22) -> str:
    """A short label for a sentence: its first ``words`` words (at most ``max_chars``), with an
    ellipsis when something was left out."""
    parts = sentence.split()
    label = " ".join(parts[:words])
    if len(label) > max_chars:
        label = label[: max_chars - 1].rstrip()
    return label + ("…" if label != " ".join(parts) else "")


def sentence_space_figure(
    coords: dict[str, np.ndarray],
    sentences: Sequence[str],
    explained: dict[str, np.ndarray],
    title: str,
) -> go.Figure:
    """Sentences as points on the first two principal components, one panel per model."""
    from plotly.subplots import make_subplots

    names = list(coords)
    figure = make_subplots(
        rows=1,
        cols=len(names),
        subplot_titles=[
            f"{escape(m)} (PC1 {explained[m][0]:.0%}, PC2 {explained[m][1]:.0%})" for m in names
        ],
    )
    full = [escape(s) for s in sentences]
    # each point names its sentence by its first words; the whole sentence is on hover
    labels = [f"{i + 1}. {escape(first_words(s))}" for i, s in enumerate(sentences)]
    for col, name in enumerate(names, start=1):
        points = np.asarray(coords[name])
        require_shape(f"coords[{name}]", points, (len(sentences), 2))
        figure.add_scatter(
            x=points[:, 0],
            y=points[:, 1],
            mode="markers+text",
            text=labels,
            textposition="top center",
            textfont={"size": 11},
            cliponaxis=False,
            marker={"size": 11, "color": [CLASS_COLOURS[i % 9] for i in range(len(sentences))]},
            customdata=full,
            hovertemplate="%{customdata}<extra></extra>",
            name=escape(name),
            showlegend=False,
            row=1,
            col=col,
        )
        figure.update_xaxes(title_text="PC1", row=1, col=col, zeroline=False)
        figure.update_yaxes(title_text="PC2", row=1, col=col, zeroline=False)
    return base_layout(figure, title, height=420)


def logprob_figure(series: dict[str, tuple[Sequence[str], np.ndarray]], title: str) -> go.Figure:
    """Each model's log-probability of every piece it output (higher = surer)."""
    figure = go.Figure()
    for i, (name, (pieces, values)) in enumerate(series.items()):
        values = np.asarray(values, dtype=float)
        require_shape(f"log-probs of {name}", values, (len(pieces),))
        figure.add_scatter(
            x=list(range(1, len(values) + 1)),
            y=values,
            mode="lines+markers",
            name=escape(name),
            customdata=[escape(p) for p in pieces],
            line={"color": CLASS_COLOURS[i % len(CLASS_COLOURS)]},
            hovertemplate="%{x}. %{customdata}: log p = %{y:.3f}<extra>"
            + escape(name)
            + "</extra>",
        )
    figure.update_xaxes(title="output position")
    figure.update_yaxes(title="log p(piece | prefix, source)")
    return base_layout(figure, title, height=340)


def curves_figure(histories: dict[str, list[dict]], x_key: str, title: str) -> go.Figure:
    """Dev perplexity against updates (``x_key='step'``) or wall seconds (``'wall_s'``)."""
    figure = go.Figure()
    for i, (name, history) in enumerate(histories.items()):
        figure.add_scatter(
            x=[h[x_key] for h in history],
            y=[h["dev_perplexity"] for h in history],
            mode="lines+markers",
            name=escape(name),
            line={"color": CLASS_COLOURS[i % len(CLASS_COLOURS)]},
            hovertemplate="%{x}: dev perplexity %{y:.2f}<extra>" + escape(name) + "</extra>",
        )
    figure.update_xaxes(title="updates" if x_key == "step" else "training seconds (one CPU thread)")
    figure.update_yaxes(title="dev perplexity", type="log")
    return base_layout(figure, title, height=340)


def metrics_figure(names: Sequence[str], bleu: Sequence[float], title: str) -> go.Figure:
    """Test BLEU of each model (bars, the number printed)."""
    bleu = np.asarray(bleu, dtype=float)
    require_shape("bleu", bleu, (len(names),))
    figure = go.Figure(
        go.Bar(
            x=[escape(n) for n in names],
            y=bleu,
            text=[f"{b:.1f}" for b in bleu],
            textposition="outside",
            marker_color=[CLASS_COLOURS[i % len(CLASS_COLOURS)] for i in range(len(names))],
            hovertemplate="%{x}: BLEU %{y:.2f}<extra></extra>",
        )
    )
    figure.update_yaxes(title="test BLEU (sacrebleu)", rangemode="tozero")
    return base_layout(figure, title, height=340)
