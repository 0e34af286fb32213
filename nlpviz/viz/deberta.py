"""Figures of the DeBERTa and DeBERTaV3 pages: disentangled score terms, relative-position
buckets, the enhanced mask decoder, replaced-token detection and embedding sharing.

Pure functions, numpy in -> plotly Figure out. Only the head on show travels: every map is one
(T, T) float32 array, sent by plotly as a binary typed array (a 128-token head is 64 KB).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nlpviz.viz.common import (
    DIVERGING,
    TITLE_OVER_TOP_TICKS,
    base_layout,
    escape,
    require_shape,
    token_labels,
    top_margin,
)

TERMS = ("c2c", "c2p", "p2c")
TERM_NAMES = {
    "c2c": "content → content (c2c)",
    "c2p": "content → position (c2p)",
    "p2c": "position → content (p2c)",
    "total": "total = c2c + c2p + p2c",
}
REPLACED_COLOUR = "#d62728"
GAP = 0.03  # horizontal gap between side-by-side panels (fraction of the width)


def _panel_domains(n: int, right_margin: float = 0.0) -> list[list[float]]:
    width = (1.0 - right_margin - GAP * (n - 1)) / n
    return [[i * (width + GAP), i * (width + GAP) + width] for i in range(n)]


def _axis(index: int) -> str:
    return "" if index == 0 else str(index + 1)


def _add_panel(
    figure: go.Figure,
    i: int,
    domain: list[float],
    heatmap: dict,
    x_axis: dict,
    y_axis: dict | None = None,
) -> str:
    """Panel ``i`` of a row of heatmaps on the figure's one colour axis; returns its axis suffix.

    Only the first panel labels the rows: the panels share them.
    """
    suffix = _axis(i)
    figure.add_trace(
        go.Heatmap(coloraxis="coloraxis", xaxis=f"x{suffix}", yaxis=f"y{suffix}", **heatmap)
    )
    figure.update_layout(
        {
            f"xaxis{suffix}": {
                "domain": domain,
                "type": "category",
                "side": "top",
                "automargin": True,
                **x_axis,
            },
            f"yaxis{suffix}": {
                "anchor": f"x{suffix}",
                "type": "category",
                "autorange": "reversed",
                "showticklabels": i == 0,
                **(y_axis or {}),
            },
        }
    )
    return suffix


def _labels(tokens: Sequence[str], special: np.ndarray | None) -> list[str]:
    labels = token_labels(tokens)
    if special is None:
        return labels
    special = np.asarray(special, dtype=bool)
    require_shape("special", special, (len(tokens),))
    return [f"<i>{label}</i>" if s else label for label, s in zip(labels, special, strict=True)]


# ---- the four score maps --------------------------------------------------------------------


def score_maps(
    tokens: Sequence[str],
    c2c: np.ndarray,
    c2p: np.ndarray,
    p2c: np.ndarray,
    layer: int,
    head: int,
    special: np.ndarray | None = None,
) -> go.Figure:
    """c2c, c2p, p2c and their sum for one head, side by side on ONE symmetric colour scale.

    Args:
        tokens: the T display tokens (escaped and numbered by ``token_labels``).
        c2c, c2p, p2c: (T, T) scaled score terms of one head (query rows, key columns), each
            already divided by sqrt(3 d_head) as in the model.
        layer, head: 0-based; shown 1-based.
        special: (T,) bool; special tokens are labelled in italics.

    The colour scale runs from -m to +m with m the largest |value| of all four maps, so the
    colours of different terms compare directly; the total is the pre-softmax score.
    """
    n = len(tokens)
    maps = {}
    for name, values in (("c2c", c2c), ("c2p", c2p), ("p2c", p2c)):
        values = np.asarray(values, dtype=np.float32)
        require_shape(name, values, (n, n))
        maps[name] = values
    maps["total"] = maps["c2c"] + maps["c2p"] + maps["p2c"]  # (T, T) float32
    top = max(float(np.abs(m).max()) for m in maps.values()) if n else 1.0
    top = top if top > 0 else 1.0
    labels = _labels(tokens, special)
    figure = go.Figure()
    domains = _panel_domains(4, right_margin=0.04)
    for i, (name, values) in enumerate(maps.items()):
        _add_panel(
            figure,
            i,
            domains[i],
            {
                "z": values,
                "x": labels,
                "y": labels,
                "name": name,
                "hovertemplate": f"query %{{y}} → key %{{x}}<br>{name} %{{z:.4f}}<extra></extra>",
            },
            x_axis={
                "tickangle": -60,
                "showticklabels": n <= 48,
                "title": {"text": TERM_NAMES[name], "standoff": 4},
            },
            y_axis={"matches": "y"} if i else {},
        )
    figure.update_layout(
        coloraxis={
            "colorscale": DIVERGING,
            "reversescale": True,  # red = positive (raises attention), blue = negative
            "cmin": -top,
            "cmax": top,
            "colorbar": {"title": "score", "thickness": 12},
        },
        showlegend=False,
    )
    height = int(min(620, max(340, 160 + 4.5 * n)))
    title = f"Score terms, layer {layer + 1}, head {head + 1}"
    figure = base_layout(figure, title, height=height + 80)
    # the panels' names and tokens sit above the maps: plotly puts the title above them
    room = top_margin(labels if n <= 48 else [], -60, axis_title=True)
    figure.update_layout(margin={"t": room}, title=TITLE_OVER_TOP_TICKS)
    return figure


def score_frame(
    tokens: Sequence[str], c2c: np.ndarray, c2p: np.ndarray, p2c: np.ndarray
) -> pd.DataFrame:
    """One head's score terms and their total, one row per (query, key) pair."""
    n = len(tokens)
    arrays = [np.asarray(a, dtype=np.float32) for a in (c2c, c2p, p2c)]
    for name, a in zip(TERMS, arrays, strict=True):
        require_shape(name, a, (n, n))
    query, key = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    names = np.asarray(list(tokens), dtype=object)
    frame = pd.DataFrame(
        {
            "query_index": query.ravel(),
            "query_token": names[query.ravel()],
            "key_index": key.ravel(),
            "key_token": names[key.ravel()],
        }
    )
    for name, a in zip(TERMS, arrays, strict=True):
        frame[name] = a.ravel()
    frame["total"] = (arrays[0] + arrays[1] + arrays[2]).ravel()
    return frame


# ---- where position matters: each term's share per head -------------------------------------


def term_shares(c2c: np.ndarray, c2p: np.ndarray, p2c: np.ndarray) -> np.ndarray:
    """Each term's share of the score magnitude per head: mean|term| / sum of the three means.

    Args:
        c2c, c2p, p2c: (L, H, T, T) score terms of every layer and head.

    Returns:
        (L, H, 3) shares in the order c2c, c2p, p2c; each head's three sum to 1 (a head whose
        terms are all zero gets a third each).
    """
    c2c = np.asarray(c2c)
    if c2c.ndim != 4 or c2c.shape[2] != c2c.shape[3]:
        raise ValueError(f"c2c has shape {c2c.shape}, expected (L, H, T, T)")
    for name, a in (("c2p", c2p), ("p2c", p2c)):
        require_shape(name, np.asarray(a), c2c.shape)
    means = np.stack(
        [np.abs(np.asarray(a, dtype=np.float64)).mean(axis=(2, 3)) for a in (c2c, c2p, p2c)],
        axis=-1,
    )  # (L, H, 3)
    total = means.sum(axis=-1, keepdims=True)  # (L, H, 1)
    return np.divide(means, total, out=np.full_like(means, 1 / 3), where=total > 0)


def term_share_heatmap(shares: np.ndarray, selected: tuple[int, int] | None = None) -> go.Figure:
    """Layers x heads, one panel per term, coloured by its share (0..1, numbers printed).

    Args:
        shares: (L, H, 3) from :func:`term_shares`.
        selected: 0-based (layer, head) outlined in every panel.
    """
    shares = np.asarray(shares, dtype=np.float32)
    if shares.ndim != 3 or shares.shape[2] != 3:
        raise ValueError(f"shares has shape {shares.shape}, expected (L, H, 3)")
    n_layers, n_heads, _ = shares.shape
    heads = [f"H{h + 1}" for h in range(n_heads)]
    layers = [f"L{layer + 1}" for layer in range(n_layers)]
    figure = go.Figure()
    domains = _panel_domains(3, right_margin=0.06)
    for i, name in enumerate(TERMS):
        suffix = _add_panel(
            figure,
            i,
            domains[i],
            {
                "z": shares[:, :, i],
                "x": heads,
                "y": layers,
                "name": name,
                "texttemplate": "%{z:.2f}",
                "hovertemplate": f"layer %{{y}}, head %{{x}}<br>share of {name} %{{z:.3f}}"
                "<extra></extra>",
            },
            # c2c, c2p, p2c: three narrow panels, so the short names
            x_axis={"title": {"text": name, "standoff": 4}},
        )
        if selected is not None:
            layer, head = selected
            if not (0 <= layer < n_layers and 0 <= head < n_heads):
                raise ValueError(f"selected {selected} outside {n_layers} layers x {n_heads} heads")
            figure.add_shape(
                type="rect",
                xref=f"x{suffix}",
                yref=f"y{suffix}",
                x0=head - 0.5,
                x1=head + 0.5,
                y0=layer - 0.5,
                y1=layer + 0.5,
                line={"color": REPLACED_COLOUR, "width": 2},
            )
    figure.update_layout(
        coloraxis={
            "colorscale": "Viridis",
            "cmin": 0.0,
            "cmax": 1.0,
            "colorbar": {"title": "share", "thickness": 12},
        },
        showlegend=False,
    )
    height = int(min(600, 150 + 34 * n_layers))
    figure = base_layout(figure, "Share of each score term, per head", height=height)
    # the panel names and head labels sit above the maps: the title goes above them
    figure.update_layout(
        title=TITLE_OVER_TOP_TICKS, margin={"t": top_margin(heads, axis_title=True)}
    )
    return figure


def shares_frame(shares: np.ndarray) -> pd.DataFrame:
    """The shares, one row per (layer, head), 1-based."""
    shares = np.asarray(shares)
    if shares.ndim != 3 or shares.shape[2] != 3:
        raise ValueError(f"shares has shape {shares.shape}, expected (L, H, 3)")
    n_layers, n_heads, _ = shares.shape
    layer, head = np.meshgrid(np.arange(n_layers), np.arange(n_heads), indexing="ij")
    frame = pd.DataFrame({"layer": layer.ravel() + 1, "head": head.ravel() + 1})
    for i, name in enumerate(TERMS):
        frame[f"{name}_share"] = shares[:, :, i].ravel()
    return frame


# ---- relative positions ---------------------------------------------------------------------


def bucket_matrix(tokens: Sequence[str], buckets: np.ndarray, position_buckets: int) -> go.Figure:
    """The bucketed relative distance δ(i, j) of every query i and key j, on a diverging scale.

    Args:
        tokens: the T display tokens.
        buckets: (T, T) integers, bucket(i - j) (``EncoderReading.buckets``).
        position_buckets: k; the model's relative embeddings cover buckets -k .. k-1.
    """
    buckets = np.asarray(buckets)
    n = len(tokens)
    require_shape("buckets", buckets, (n, n))
    if buckets.size and not np.issubdtype(buckets.dtype, np.integer):
        raise ValueError(f"buckets must be integers, got {buckets.dtype}")
    k = max(int(position_buckets), 1)
    small = np.int8 if n <= 128 and k <= 127 else np.int16  # 1 byte a cell when it fits
    positions = np.arange(n, dtype=small)
    distance = positions[:, None] - positions[None, :]  # (T, T) i - j
    labels = token_labels(tokens)
    figure = go.Figure(
        go.Heatmap(
            z=buckets.astype(small),
            x=labels,
            y=labels,
            customdata=distance,
            colorscale=DIVERGING,
            zmin=-k,
            zmax=k,
            hovertemplate="query %{y} → key %{x}<br>i − j = %{customdata}<br>bucket δ = %{z}"
            "<extra></extra>",
            colorbar={"title": "bucket", "thickness": 12},
        )
    )
    figure.update_xaxes(
        title="key j", type="category", side="top", tickangle=-60, showticklabels=n <= 64
    )
    figure.update_yaxes(
        title="query i", type="category", autorange="reversed", showticklabels=n <= 64
    )
    height = int(min(700, max(360, 140 + 5 * n)))
    figure = base_layout(figure, "Relative-position buckets δ(i, j)", height=height)
    room = top_margin(_labels(tokens, None) if n <= 64 else [], -60, axis_title=True)
    figure.update_layout(title=TITLE_OVER_TOP_TICKS, margin={"t": room})  # title above "key j"
    return figure


def bucket_curve(
    distances: np.ndarray,
    values: np.ndarray,
    position_buckets: int,
    window: int | None = None,
) -> go.Figure:
    """The log-bucket function: distance i - j -> bucket, with the embedding table's range.

    Args:
        distances: (D,) distances i - j (``nlpviz.analysis.encoders.bucket_values``).
        values: (D,) the model's bucket of each distance.
        position_buckets: k (the model's ``position_buckets``).
        window: the model's window (max_len); distances beyond window - 1 never occur.
    """
    distances, values = np.asarray(distances), np.asarray(values)
    if distances.ndim != 1 or distances.size == 0:
        raise ValueError(f"distances must be a non-empty (D,) array, got shape {distances.shape}")
    require_shape("values", values, distances.shape)
    k = int(position_buckets)
    used = np.clip(values, -k, k - 1)
    figure = go.Figure()
    figure.add_scatter(
        x=distances.astype(np.int32),
        y=values.astype(np.int32),
        mode="lines",
        name="bucket(i − j)",
        line={"color": "#2e86c1", "shape": "hv"},
        hovertemplate="i − j = %{x}<br>bucket %{y}<extra></extra>",
    )
    if np.any(used != values):
        figure.add_scatter(
            x=distances.astype(np.int32),
            y=used.astype(np.int32),
            mode="lines",
            name=f"clamped to the table (−{k} … {k - 1})",
            line={"color": "#7f8c8d", "dash": "dot", "shape": "hv"},
            hovertemplate="i − j = %{x}<br>row used %{y}<extra></extra>",
        )
    mid = k // 2
    figure.add_vrect(
        x0=-mid,
        x1=mid,
        fillcolor="#27ae60",
        opacity=0.12,
        line_width=0,
        annotation_text="exact",
        annotation_position="top left",
    )
    if window is not None and window - 1 < int(np.abs(distances).max()):
        for x in (-(window - 1), window - 1):
            figure.add_vline(x=x, line={"color": "#8e44ad", "dash": "dash", "width": 1})
        figure.add_annotation(
            x=window - 1, y=0, text=f"window edge ({window - 1})", showarrow=False, xanchor="left"
        )
    figure.update_xaxes(title="relative distance i − j", zeroline=True)
    figure.update_yaxes(title="bucket δ", zeroline=True)
    figure.update_layout(legend={"orientation": "h", "y": -0.25})
    return base_layout(figure, "Log buckets: distance → bucket", height=360)


# ---- the enhanced mask decoder --------------------------------------------------------------


def emd_bars(
    with_tokens: Sequence[str],
    with_probabilities: np.ndarray,
    without_tokens: Sequence[str],
    without_probabilities: np.ndarray,
    original: str | None = None,
) -> go.Figure:
    """Top-k predictions for one masked word, with and without the EMD's absolute positions.

    Args:
        with_tokens, with_probabilities: top-k of the decoder given absolute positions, (k,).
        without_tokens, without_probabilities: the same decoder run without them, (k,).
        original: the word that was masked; its bar is drawn in red where it appears.
    """
    sides = (
        ("with absolute positions (EMD)", with_tokens, with_probabilities),
        ("without absolute positions", without_tokens, without_probabilities),
    )
    figure = go.Figure()
    domains = _panel_domains(2)
    domains = [[d[0] + 0.08, d[1]] for d in domains]  # room for the token labels
    top = 0.0
    for i, (name, tokens, probabilities) in enumerate(sides):
        probabilities = np.asarray(probabilities, dtype=np.float32)
        require_shape(f"{name} probabilities", probabilities, (len(tokens),))
        top = max(top, float(probabilities.max()) if probabilities.size else 0.0)
        suffix = _axis(i)
        colours = [
            REPLACED_COLOUR if original is not None and t.strip() == original.strip() else "#2e86c1"
            for t in tokens
        ]
        figure.add_bar(
            x=probabilities,
            y=[f"{r + 1}. {escape(t)}" for r, t in enumerate(tokens)],
            orientation="h",
            name=name,
            marker_color=colours,
            text=[f"{p:.1%}" for p in probabilities],
            textposition="outside",
            xaxis=f"x{suffix}",
            yaxis=f"y{suffix}",
            hovertemplate="%{y}: P = %{x:.4f}<extra>" + name + "</extra>",
        )
        figure.update_layout(
            {
                f"xaxis{suffix}": {
                    "domain": domains[i],
                    "title": {"text": name},
                    "tickformat": ".0%",
                },
                f"yaxis{suffix}": {
                    "anchor": f"x{suffix}",
                    "type": "category",
                    "autorange": "reversed",
                },
            }
        )
    upper = min(1.0, top * 1.25) if top > 0 else 1.0
    figure.update_layout(xaxis={"range": [0, upper]}, xaxis2={"range": [0, upper]})
    figure.update_layout(showlegend=False)
    n = max(len(with_tokens), len(without_tokens))
    return base_layout(
        figure, "The masked word: with and without absolute positions", height=140 + 26 * n
    )


def emd_frame(
    with_tokens: Sequence[str],
    with_probabilities: np.ndarray,
    without_tokens: Sequence[str],
    without_probabilities: np.ndarray,
) -> pd.DataFrame:
    rows = [
        {"decoder": side, "rank": r + 1, "token": t, "probability": float(p)}
        for side, tokens, probabilities in (
            ("with absolute positions", with_tokens, with_probabilities),
            ("without absolute positions", without_tokens, without_probabilities),
        )
        for r, (t, p) in enumerate(zip(tokens, probabilities, strict=True))
    ]
    return pd.DataFrame(rows)


# ---- DeBERTaV3: replaced-token detection ----------------------------------------------------


def replaced_bars(
    tokens: Sequence[str],
    probability: np.ndarray,
    replaced: np.ndarray | None = None,
    original: Sequence[str] | None = None,
    title: str = "P(replaced) for every token",
) -> go.Figure:
    """The discriminator's P(replaced) per token; tokens that really changed are marked.

    Args:
        tokens: the T tokens as the discriminator read them.
        probability: (T,) P(replaced) in [0, 1].
        replaced: (T,) bool, positions whose token really changed (marked with a red ✕ and a
            red outline), or None when unknown.
        original: (T,) the tokens before the change, for the hover ("ate → drank").
    """
    probability = np.asarray(probability, dtype=np.float32)
    n = len(tokens)
    require_shape("probability", probability, (n,))
    if replaced is not None:
        replaced = np.asarray(replaced, dtype=bool)
        require_shape("replaced", replaced, (n,))
    if original is not None and len(original) != n:
        raise ValueError(f"original has {len(original)} tokens, expected {n}")
    labels = token_labels(tokens)
    changed = replaced if replaced is not None else np.zeros(n, dtype=bool)
    hover = [
        f"{escape(original[i])} → {escape(tokens[i])}"
        if original is not None and changed[i]
        else ("kept" if replaced is not None else escape(tokens[i]))
        for i in range(n)
    ]
    figure = go.Figure()
    figure.add_bar(
        x=labels,
        y=probability,
        name="P(replaced)",
        customdata=hover,
        marker={
            "color": probability,
            "colorscale": [[0, "#d6eaf8"], [0.5, "#f5b041"], [1, "#c0392b"]],
            "cmin": 0.0,
            "cmax": 1.0,
            "line": {
                "color": [REPLACED_COLOUR if c else "rgba(0,0,0,0)" for c in changed],
                "width": 2,
            },
        },
        hovertemplate="%{x}<br>P(replaced) %{y:.3f}<br>%{customdata}<extra></extra>",
    )
    if replaced is not None and changed.any():
        where = np.flatnonzero(changed)
        figure.add_scatter(
            x=[labels[i] for i in where],
            y=np.minimum(probability[where] + 0.06, 1.08),
            mode="markers",
            name="actually replaced",
            marker={"symbol": "x", "size": 10, "color": REPLACED_COLOUR},
            customdata=[hover[i] for i in where],
            hovertemplate="%{x}<br>replaced: %{customdata}<extra></extra>",
        )
    figure.add_hline(y=0.5, line={"color": "#7f8c8d", "dash": "dash", "width": 1})
    figure.update_xaxes(type="category", tickangle=-60)
    figure.update_yaxes(range=[0, 1.12], title="P(replaced)", tickformat=".0%")
    figure.update_layout(legend={"orientation": "h", "y": 1.08, "x": 1, "xanchor": "right"})
    return base_layout(figure, title, height=380)


def replaced_frame(
    tokens: Sequence[str],
    probability: np.ndarray,
    replaced: np.ndarray | None = None,
    original: Sequence[str] | None = None,
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "position": np.arange(len(tokens)),
            "token": list(tokens),
            "p_replaced": np.asarray(probability, dtype=np.float64),
        }
    )
    if original is not None:
        frame["original"] = list(original)
    if replaced is not None:
        frame["replaced"] = np.asarray(replaced, dtype=bool)
    return frame


def sharing_bars(numbers: Mapping[str, float]) -> go.Figure:
    """GDES numbers (``embedding_sharing``): mean row norms of E_G and E_Δ, cosine(E_D, E_G)."""
    missing = {"generator_norm", "delta_norm", "mean_cosine"} - set(numbers)
    if missing:
        raise ValueError(f"numbers lack {sorted(missing)}")
    figure = go.Figure()
    figure.add_bar(
        x=["|E_G| (shared, from the generator)", "|E_Δ| (the discriminator's own)"],
        y=[float(numbers["generator_norm"]), float(numbers["delta_norm"])],
        marker_color=["#2e86c1", "#d68910"],
        texttemplate="%{y:.3f}",
        hovertemplate="%{x}: mean row norm %{y:.4f}<extra></extra>",
        name="norms",
    )
    figure.add_bar(
        x=["cos(E_D, E_G)"],
        y=[float(numbers["mean_cosine"])],
        marker_color="#27ae60",
        texttemplate="%{y:.3f}",
        hovertemplate="mean cosine %{y:.4f}<extra></extra>",
        name="cosine",
        xaxis="x2",
        yaxis="y2",
    )
    figure.update_layout(
        xaxis={"domain": [0.0, 0.62]},
        yaxis={"title": "mean row norm"},
        xaxis2={"domain": [0.72, 1.0]},
        yaxis2={"anchor": "x2", "range": [-1, 1], "title": "cosine"},
        showlegend=False,
    )
    return base_layout(figure, "Gradient-disentangled embedding sharing", height=340)
