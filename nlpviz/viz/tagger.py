"""Figures of the sequence tagger (Ma & Hovy 2016): emissions, transitions, the CRF lattice."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nlpviz.data.tags import IMPOSSIBLE, bio_to_spans
from nlpviz.viz.common import (
    CLASS_COLOURS,
    base_layout,
    diverging_scale,
    escape,
    require_shape,
    token_labels,
)

FORBIDDEN_BELOW = IMPOSSIBLE / 2
"""Transition scores at or below this are the CRF's forbidden (BIO-invalid) moves."""


def emission_heatmap(
    emissions: np.ndarray, tokens: Sequence[str], tags: Sequence[str]
) -> go.Figure:
    """Tokens (x) by tags (y) heatmap of the emission scores P[i, y].

    Args:
        emissions: (L, T).
    """
    emissions = np.asarray(emissions, dtype=float)
    require_shape("emissions", emissions, (len(tokens), len(tags)))
    labels = token_labels(tokens)
    tag_labels = [escape(t) for t in tags]
    bound = float(np.abs(emissions).max()) if emissions.size else 1.0
    figure = go.Figure(
        go.Heatmap(
            z=emissions.T,
            x=labels,
            y=tag_labels,
            **diverging_scale(bound),
            colorbar={"title": "P[i, y]"},
            hovertemplate="%{x} as %{y}: emission %{z:.3f}<extra></extra>",
        )
    )
    figure.update_xaxes(tickmode="array", tickvals=labels, ticktext=labels, tickangle=-45)
    figure.update_yaxes(autorange="reversed")
    return base_layout(
        figure, "Emission scores (tokens x tags)", height=140 + 22 * max(len(tags), 3)
    )


def emission_frame(
    emissions: np.ndarray, tokens: Sequence[str], tags: Sequence[str]
) -> pd.DataFrame:
    emissions = np.asarray(emissions, dtype=float)
    require_shape("emissions", emissions, (len(tokens), len(tags)))
    frame = pd.DataFrame(emissions, columns=list(tags))
    frame.insert(0, "token", list(tokens))
    frame.insert(0, "position", range(len(tokens)))
    return frame


def transition_heatmap(
    transitions: np.ndarray,
    tags: Sequence[str],
) -> go.Figure:
    """Tags (from, y) by tags (to, x) heatmap of A; forbidden moves are blank with an ✕.

    The colour scale is fixed on the learned (allowed) range so that the -1e4 penalties do not
    wash out the rest.

    Args:
        transitions: (T, T) indexed (from, to), ``IMPOSSIBLE`` where forbidden.
    """
    transitions = np.asarray(transitions, dtype=float)
    require_shape("transitions", transitions, (len(tags), len(tags)))
    forbidden = transitions <= FORBIDDEN_BELOW
    learned = np.where(forbidden, np.nan, transitions)
    allowed = transitions[~forbidden]
    bound = float(np.abs(allowed).max()) if allowed.size else 1.0
    labels = [escape(t) for t in tags]
    text = np.where(forbidden, "✕", "")
    hover = np.where(
        forbidden,
        "forbidden (score −10⁴)",
        np.vectorize(lambda v: f"{v:.3f}")(transitions),
    )
    figure = go.Figure(
        go.Heatmap(
            z=learned,
            x=labels,
            y=labels,
            text=text,
            texttemplate="%{text}",
            customdata=hover,
            **diverging_scale(bound),
            colorbar={"title": "A[from, to]"},
            hovertemplate="%{y} → %{x}: %{customdata}<extra></extra>",
        )
    )
    figure.update_xaxes(title="to tag (y<sub>i</sub>)", side="top")
    figure.update_yaxes(title="from tag (y<sub>i−1</sub>)", autorange="reversed")
    n_forbidden = int(forbidden.sum())
    title = "Transition scores A (from x to)"
    if n_forbidden:
        title += f" · ✕ = forbidden ({n_forbidden} moves)"
    base_layout(figure, title, height=260 + 26 * len(tags))
    figure.update_layout(margin={"t": 150})  # room for the title above the top tag labels
    return figure


def transition_frame(transitions: np.ndarray, tags: Sequence[str]) -> pd.DataFrame:
    transitions = np.asarray(transitions, dtype=float)
    require_shape("transitions", transitions, (len(tags), len(tags)))
    frame = pd.DataFrame(transitions, columns=[f"to {t}" for t in tags])
    frame.insert(0, "from", list(tags))
    return frame


def lattice(
    tokens: Sequence[str],
    tags: Sequence[str],
    paths: Sequence[tuple[Sequence[int], float]],
    emissions: np.ndarray,
    marginals: np.ndarray,
) -> go.Figure:
    """The tag lattice: one node per (position, tag), the best path bold, the next ones thin.

    Args:
        paths: ``[(tag ids, score), ...]`` best first; each path has one tag per token.
        emissions, marginals: (L, T); shown on hover.
    """
    emissions = np.asarray(emissions, dtype=float)
    marginals = np.asarray(marginals, dtype=float)
    require_shape("emissions", emissions, (len(tokens), len(tags)))
    require_shape("marginals", marginals, (len(tokens), len(tags)))
    for path, _ in paths:
        if len(path) != len(tokens):
            raise ValueError(f"a path has {len(path)} tags, expected {len(tokens)} (one a token)")
    labels = token_labels(tokens)
    tag_labels = [escape(t) for t in tags]
    xs = [labels[i] for i in range(len(tokens)) for _ in tags]
    ys = [tag_labels[t] for _ in range(len(tokens)) for t in range(len(tags))]
    custom = np.stack([emissions.reshape(-1), marginals.reshape(-1)], axis=1)
    figure = go.Figure()
    figure.add_scatter(
        x=xs,
        y=ys,
        mode="markers",
        name="(position, tag)",
        customdata=custom,
        marker={
            "size": 6 + 18 * marginals.reshape(-1),
            "color": marginals.reshape(-1),
            "colorscale": "Greys",
            "cmin": 0.0,
            "cmax": 1.0,
            "line": {"width": 0.5, "color": "#555"},
            "colorbar": {"title": "marginal", "x": 1.02},
        },
        hovertemplate="%{x} as %{y}<br>emission %{customdata[0]:.3f}"
        "<br>marginal %{customdata[1]:.3f}<extra></extra>",
    )
    for rank, (path, score) in reversed(list(enumerate(paths))):
        figure.add_scatter(
            x=labels,
            y=[tag_labels[t] for t in path],
            mode="lines+markers",
            name=f"{'Viterbi' if rank == 0 else f'#{rank + 1}'} path (score {score:.2f})",
            line={
                "width": 4 if rank == 0 else 1.5,
                "color": CLASS_COLOURS[rank % len(CLASS_COLOURS)],
                "dash": "solid" if rank == 0 else "dot",
            },
            marker={"size": 8 if rank == 0 else 4},
            hovertemplate="%{x} → %{y}<extra>"
            + ("best" if rank == 0 else f"#{rank + 1}")
            + "</extra>",
        )
    figure.update_xaxes(tickangle=-45, categoryorder="array", categoryarray=labels)
    figure.update_yaxes(categoryorder="array", categoryarray=tag_labels[::-1])
    figure.update_layout(legend={"orientation": "h", "y": -0.3})
    return base_layout(figure, "Tag lattice and the best paths", height=260 + 24 * len(tags))


def lattice_frame(
    tokens: Sequence[str],
    tags: Sequence[str],
    paths: Sequence[tuple[Sequence[int], float]],
    emissions: np.ndarray,
    marginals: np.ndarray,
) -> pd.DataFrame:
    rows = []
    for i, token in enumerate(tokens):
        for t, tag in enumerate(tags):
            row = {
                "position": i,
                "token": token,
                "tag": tag,
                "emission": float(emissions[i, t]),
                "marginal": float(marginals[i, t]),
            }
            for rank, (path, _) in enumerate(paths):
                row[f"on path {rank + 1}"] = path[i] == t
            rows.append(row)
    return pd.DataFrame(rows)


def entity_html(tokens: Sequence[str], labels: Sequence[str]) -> str:
    """The sentence with entity spans highlighted and typed (BIO) or each token's tag (POS).

    Every token is HTML-escaped.
    """
    if len(tokens) != len(labels):
        raise ValueError(f"{len(tokens)} tokens but {len(labels)} labels")
    is_bio = any(label.startswith(("B-", "I-")) for label in labels) or all(
        label == "O" for label in labels
    )
    parts: list[str] = []
    if is_bio:
        spans = {a: (kind, b) for kind, a, b in bio_to_spans(labels)}
        kinds = sorted({kind for kind, _ in spans.values()})
        i = 0
        while i < len(tokens):
            if i in spans:
                kind, b = spans[i]
                colour = CLASS_COLOURS[kinds.index(kind) % len(CLASS_COLOURS)]
                text = " ".join(escape(t) for t in tokens[i:b])
                parts.append(
                    f'<span style="background:{colour}22;border:1px solid {colour};'
                    f'border-radius:4px;padding:1px 4px">{text} '
                    f'<b style="color:{colour};font-size:0.75em">{escape(kind)}</b></span>'
                )
                i = b
            else:
                parts.append(escape(tokens[i]))
                i += 1
    else:
        for token, label in zip(tokens, labels, strict=True):
            parts.append(f"{escape(token)}<sub style='color:#2e86c1'>{escape(label)}</sub>")
    return '<div style="line-height:2.1;font-size:1.05em">' + " ".join(parts) + "</div>"
