"""Figures of the HAN page: the paper's document view (its Figures 5, 6), attention vs IG."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nlpviz.viz.common import (
    base_layout,
    class_colour,
    escape,
    require_shape,
    rgb,
    signed_scale,
)

# The paper shades sentences red and words blue. Attention is a weight, not a class: here the
# sentence bars take Okabe-Ito orange and the words sky blue (both colour-blind safe), so neither
# reads as a class colour of the probability bars (vermillion and blue for two classes).
SENTENCE_COLOUR = "#E69F00"
WORD_COLOUR = "#0072B2"
SENTENCE_RGB = rgb(SENTENCE_COLOUR)
WORD_RGB = rgb(WORD_COLOUR)
SENTENCE_SCALE = [[0.0, "#fdf3dc"], [1.0, SENTENCE_COLOUR]]
WORD_SCALE = [[0.0, "#eef5fb"], [1.0, WORD_COLOUR]]
# cells wider than this show their word on hover only (the text would not fit)
MAX_WORDS_ON_CELLS = 30


def _check_document(
    sentences: Sequence[Sequence[str]],
    sentence_weights: np.ndarray,
    word_weights: Sequence[np.ndarray],
) -> None:
    require_shape("sentence_weights", np.asarray(sentence_weights), (len(sentences),))
    if len(word_weights) != len(sentences):
        raise ValueError(
            f"word_weights has {len(word_weights)} rows, sentences has {len(sentences)}"
        )
    for i, (words, weights) in enumerate(zip(sentences, word_weights, strict=True)):
        require_shape(f"word_weights[{i}]", np.asarray(weights), (len(words),))


def shown_word_weights(
    sentence_weights: np.ndarray, word_weights: Sequence[np.ndarray], scale_by_sentence: bool
) -> list[np.ndarray]:
    """Word weights as drawn: raw (each sentence sums to 1) or scaled by the sentence weight.

    The paper scales (its Figure 5 shades a word by ``sqrt(p_s) * p_w``), so that words of
    unimportant sentences fade; raw weights show what each sentence's own attention picked.
    """
    if not scale_by_sentence:
        return [np.asarray(w, dtype=float) for w in word_weights]
    return [
        np.sqrt(float(s)) * np.asarray(w, dtype=float)
        for s, w in zip(sentence_weights, word_weights, strict=True)
    ]


def document_html(
    sentences: Sequence[Sequence[str]],
    sentence_weights: np.ndarray,
    word_weights: Sequence[np.ndarray],
    scale_by_sentence: bool = True,
    collapse_below: float = 0.0,
) -> str:
    """The paper's document view as escaped HTML: a red bar per sentence, blue words.

    Sentences whose weight is under ``collapse_below`` are folded into a one-line marker so a
    long document stays readable.
    """
    _check_document(sentences, sentence_weights, word_weights)
    shown = shown_word_weights(sentence_weights, word_weights, scale_by_sentence)
    top_word = max((float(w.max()) for w in shown if len(w)), default=1.0) or 1.0
    top_sentence = float(np.max(sentence_weights)) if len(sentence_weights) else 1.0
    rows, folded = [], 0

    def flush_folded() -> None:
        nonlocal folded
        if folded:
            rows.append(
                f'<div style="color:#888;font-size:0.85rem;margin:2px 0 2px 34px">… {folded} '
                f"low-weight sentence{'s' if folded > 1 else ''} folded …</div>"
            )
            folded = 0

    for i, (words, weight) in enumerate(zip(sentences, sentence_weights, strict=True)):
        if weight < collapse_below:
            folded += 1
            continue
        flush_folded()
        alpha = 0.85 * float(weight) / top_sentence if top_sentence else 0.0
        spans = " ".join(
            f'<span title="word {w:.3f}" style="background:rgba({WORD_RGB},'
            f'{0.85 * float(w) / top_word:.2f});padding:0 2px;border-radius:2px">'
            f"{escape(token)}</span>"
            for token, w in zip(words, shown[i], strict=True)
        )
        rows.append(
            '<div style="display:flex;align-items:flex-start;margin:3px 0">'
            f'<div title="sentence {i + 1}: {float(weight):.3f}" style="flex:0 0 26px;'
            f"min-height:1.4em;margin-right:8px;background:rgba({SENTENCE_RGB},{alpha:.2f});"
            f'border:1px solid rgba({SENTENCE_RGB},0.4)"></div>'
            f'<div style="line-height:1.7">{spans}</div></div>'
        )
    flush_folded()
    return (
        '<div style="max-height:640px;overflow-y:auto;font-size:1rem;padding:4px">'
        + "".join(rows)
        + "</div>"
    )


def sentence_attention_bars(
    sentence_texts: Sequence[str], sentence_weights: np.ndarray, max_label: int = 60
) -> go.Figure:
    """One horizontal bar per sentence (document order), length = sentence attention."""
    weights = np.asarray(sentence_weights, dtype=float)
    require_shape("sentence_weights", weights, (len(sentence_texts),))
    labels = [
        f"{i + 1}. " + escape(t if len(t) <= max_label else t[: max_label - 1] + "…")
        for i, t in enumerate(sentence_texts)
    ]
    figure = go.Figure(
        go.Bar(
            x=weights,
            y=list(range(len(weights))),
            orientation="h",
            marker={
                "color": weights,
                "colorscale": SENTENCE_SCALE,
                "cmin": 0,
                "cmax": max(weights.max(), 1e-9),
            },
            customdata=labels,
            hovertemplate="%{customdata}<br>sentence attention %{x:.3f}<extra></extra>",
        )
    )
    figure.update_yaxes(
        tickmode="array",
        tickvals=list(range(len(weights))),
        ticktext=labels,
        autorange="reversed",
        automargin=True,
    )
    figure.update_xaxes(title="sentence attention α_i (sums to 1)")
    return base_layout(figure, "Sentence attention", height=min(140 + 22 * len(weights), 4000))


def _cell_words(sentences: Sequence[Sequence[str]], width: int) -> list[list[str]]:
    """The words as written on the heatmap's cells, cut to fit a cell ("governm…"; the whole
    word is on hover)."""
    fits = 10 if width <= 12 else 7 if width <= 20 else 5
    cells = [["" for _ in range(width)] for _ in sentences]
    for i, words in enumerate(sentences):
        for j, token in enumerate(words):
            cells[i][j] = escape(token if len(token) <= fits else token[: fits - 1] + "…")
    return cells


def word_attention_heatmap(
    sentences: Sequence[Sequence[str]],
    sentence_weights: np.ndarray,
    word_weights: Sequence[np.ndarray],
    scale_by_sentence: bool = True,
) -> go.Figure:
    """Sentences x word positions, shaded by (optionally scaled) word attention.

    The words are written on their cells (up to ``MAX_WORDS_ON_CELLS`` words per sentence; on
    hover always), and the sentence axis has one integer tick per sentence.
    """
    _check_document(sentences, sentence_weights, word_weights)
    shown = shown_word_weights(sentence_weights, word_weights, scale_by_sentence)
    width = max((len(s) for s in sentences), default=1)
    z = np.full((len(sentences), width), np.nan, dtype=np.float32)
    text = [["" for _ in range(width)] for _ in sentences]
    for i, (words, weights) in enumerate(zip(sentences, shown, strict=True)):
        z[i, : len(words)] = weights
        for j, token in enumerate(words):
            text[i][j] = escape(token)
    on_cells = width <= MAX_WORDS_ON_CELLS
    rows = list(range(1, len(sentences) + 1))  # sentences numbered from 1, as in the bars
    figure = go.Figure(
        go.Heatmap(
            z=np.round(z, 5),
            x=list(range(1, width + 1)),
            y=rows,
            customdata=text,
            text=_cell_words(sentences, width) if on_cells else None,
            texttemplate="%{text}" if on_cells else None,
            textfont={"size": 11},
            colorscale=WORD_SCALE,
            zmin=0.0,
            xgap=1,
            ygap=1,
            hovertemplate="sentence %{y}, word %{x}: %{customdata}<br>weight %{z:.4f}"
            "<extra></extra>",
            colorbar={
                "title": {"text": "√α_i·α_it" if scale_by_sentence else "α_it", "side": "top"},
                "nticks": 4,
                "tickformat": ".2f",
                "thickness": 14,
                "lenmode": "pixels",
                "len": max(120, 28 * len(sentences)),
            },
        )
    )
    # one tick per sentence, integers only: plotly's auto ticks read "1, 1, 2, 2, 3" for two
    figure.update_yaxes(
        autorange="reversed",
        title="sentence",
        tickmode="array",
        tickvals=rows if len(rows) <= 40 else rows[:: -(-len(rows) // 40)],
    )
    figure.update_xaxes(
        title="word position in the sentence",
        tickmode="linear",
        dtick=1 if width <= MAX_WORDS_ON_CELLS else 5,
        tick0=1,
    )
    return base_layout(
        figure,
        "Word attention per sentence",
        height=min(max(260, 150 + (30 if on_cells else 16) * len(sentences)), 3000),
    )


def attention_vs_attribution(
    tokens: Sequence[str],
    attention: np.ndarray,
    attribution: np.ndarray,
    rho: float,
    colours: tuple[str, str] = (class_colour(1), class_colour(0)),
) -> go.Figure:
    """Scatter of each word's attention against its Integrated Gradients attribution, coloured
    ``colours`` = (toward the explained class, against it), as the probability bars colour it."""
    attention = np.asarray(attention, dtype=float)
    attribution = np.asarray(attribution, dtype=float)
    require_shape("attention", attention, (len(tokens),))
    require_shape("attribution", attribution, (len(tokens),))
    bound = float(np.abs(attribution).max()) or 1.0
    figure = go.Figure(
        go.Scattergl(
            x=attention,
            y=attribution,
            mode="markers",
            marker={
                "color": attribution,
                "colorscale": signed_scale(*colours),
                "cmin": -bound,
                "cmax": bound,
                "line": {"width": 0.5, "color": "#666666"},  # near-white points stay visible
            },
            customdata=[escape(t) for t in tokens],
            hovertemplate="%{customdata}<br>attention %{x:.4f}<br>IG %{y:+.4f}<extra></extra>",
        )
    )
    figure.update_xaxes(title="word attention (scaled by its sentence's)")
    figure.update_yaxes(title="Integrated Gradients", zeroline=True)
    return base_layout(
        figure, f"Attention vs attribution per word (Spearman ρ = {rho:+.2f})", height=380
    )


def document_frame(
    sentence_texts: Sequence[str],
    sentences: Sequence[Sequence[str]],
    sentence_weights: np.ndarray,
    word_weights: Sequence[np.ndarray],
) -> pd.DataFrame:
    """Long-form numbers of the document view: one row per word."""
    _check_document(sentences, sentence_weights, word_weights)
    rows = []
    for i, (words, weights) in enumerate(zip(sentences, word_weights, strict=True)):
        for j, (token, w) in enumerate(zip(words, weights, strict=True)):
            rows.append(
                {
                    "sentence": i + 1,
                    "sentence_attention": float(sentence_weights[i]),
                    "word_position": j,
                    "word": token,
                    "word_attention": float(w),
                    "sentence_text": sentence_texts[i],
                }
            )
    return pd.DataFrame(rows)
