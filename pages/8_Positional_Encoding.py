"""Vaswani et al. (2017): the sinusoidal positional encodings of the Transformer."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st
import torch

from nlpviz.data.tokenize import word_tokenize
from nlpviz.data.user_input import clean_text
from nlpviz.models import positional as pe
from nlpviz.ui.sidebar import render_sidebar
from nlpviz.ui.url_numbers import url_float
from nlpviz.ui.widgets import figure_with_data, init_from_query, publish_query, show_notes
from nlpviz.viz import positional as figures
from nlpviz.viz.common import escape_markdown

P = "pe"
N_RANGE = (8, 512, 8, 128)  # min, max, step, default
D_RANGE = (16, 512, 16, 128)
DEFAULT_TEXT = "The cat sat on the mat because it was warm ."


def clamp_int(value: object, low: int, high: int, step: int, default: int) -> int:
    """A URL parameter (any text) as an int on the grid ``low, low + step, ..., <= high``.

    Text that is not a finite number falls back to ``default``; numbers are clamped.
    """
    try:
        number = float(str(value).strip())
    except ValueError:
        return default
    if not math.isfinite(number):
        return default
    snapped = low + step * round((number - low) / step)
    return int(min(max(snapped, low), high - (high - low) % step))


def int_setting(key: str, param: str, low: int, high: int, step: int, default: int) -> None:
    """Seed a slider's state from ``?param=`` and keep it a valid int within its range."""
    if key not in st.session_state:
        st.session_state[key], note = url_float(param, default, low, high)  # snapped below
        if note:
            st.caption(note)
    value = clamp_int(st.session_state[key], low, high, step, min(default, high))
    st.session_state[key] = value  # also when unchanged: a slider whose range changed resets


st.set_page_config(page_title="Positional encodings · nlpviz", page_icon="〰️", layout="wide")
render_sidebar()  # everything here is a closed-form formula, computed on the CPU in milliseconds

st.title("Positional encodings")
st.caption(
    "Vaswani, Shazeer, Parmar, Uszkoreit, Jones, Gomez, Kaiser & Polosukhin, "
    "*Attention Is All You Need*, NeurIPS 2017 · Section 3.5"
)
st.markdown(
    "Self-attention compares every word with every other word, and the comparison ignores "
    "order: shuffle the words and each one gets the same output. The Transformer therefore "
    "**adds** to each word's embedding a vector that says where it stands. The paper's choice "
    "needs no training: each pair of dimensions is a sine and a cosine of the position, at a "
    "frequency that falls geometrically from one pair to the next (wavelengths from $2\\pi$ to "
    "$10000 \\cdot 2\\pi$ positions)."
)
st.latex(r"PE_{(pos,\,2i)} = \sin\!\left(\frac{pos}{10000^{2i/d_{\mathrm{model}}}}\right)")
st.latex(r"PE_{(pos,\,2i+1)} = \cos\!\left(\frac{pos}{10000^{2i/d_{\mathrm{model}}}}\right)")

# ---- inputs -------------------------------------------------------------------------------
int_setting(f"{P}_n", "n", *N_RANGE)
int_setting(f"{P}_d", "d", *D_RANGE)
c1, c2, c3, c4 = st.columns(4)
n_low, n_high, n_step, _ = N_RANGE
d_low, d_high, d_step, _ = D_RANGE
n = int(c1.slider("Number of positions", n_low, n_high, step=n_step, key=f"{P}_n"))
d_model = int(
    c2.slider(
        "d_model (dimensions)",
        d_low,
        d_high,
        step=d_step,
        key=f"{P}_d",
        help="Must be even: the dimensions come in sin/cos pairs. The paper uses 512.",
    )
)
int_setting(f"{P}_pos", "pos", 0, n - 1, 1, min(10, n - 1))
int_setting(f"{P}_k", "k", 0, n - 1, 1, min(5, n - 1))
pos = int(c3.slider("Position pos", 0, n - 1, key=f"{P}_pos"))
k = int(
    c4.slider(
        "Offset k",
        0,
        n - 1,
        key=f"{P}_k",
        help="pos + k may run past the table: the formula works for any position.",
    )
)
publish_query({"n": n, "d": d_model, "pos": pos, "k": k})

st.markdown(
    "**What to look at.** In the table, the left columns flip colour every few positions and the "
    "right columns barely change: every position gets a different pattern, like the digits of a "
    "counter running at many speeds. In the dot-product matrix, every diagonal band has one "
    "colour: how alike two encodings are depends only on *how far apart* they are, not on where "
    "they are, so the curves against the offset $k$ lie on top of each other. Finally, moving $k$ "
    "positions on is the *same* rotation $M_k$ of every sin/cos pair, whatever the position: a "
    "linear map that attention can learn once and use everywhere, which is why the authors "
    "expected relative positions to be easy to attend to."
)

table = pe.sinusoidal_table(n, d_model, dtype=torch.float64)  # (n, d)
gram = pe.dot_products(table)  # (n, n)
table_np, gram_np = table.numpy(), gram.numpy()

# ---- the table ----------------------------------------------------------------------------
st.subheader("The table")
figure_with_data(
    figures.table_heatmap(table_np),
    lambda: figures.table_frame(table_np),
    f"{P}_fig_table",
    f"positional-table-{n}x{d_model}",
)
st.caption(
    f"Row 0 is $[0, 1, 0, 1, \\dots]$ ($\\sin 0$, $\\cos 0$). Colours are fixed from −1 (blue) "
    f"to +1 (red); hover for the exact value. Dimension pair $i$ repeats every "
    f"$2\\pi \\cdot 10000^{{2i/d}}$ positions: {2 * math.pi:.1f} for the first pair, "
    f"{2 * math.pi * 10000 ** ((d_model - 2) / d_model):,.0f} for the last."
)

# ---- dot products -------------------------------------------------------------------------
st.subheader("How alike are two positions?")
left, right = st.columns(2)
with left:
    figure_with_data(
        figures.dot_product_heatmap(gram_np),
        lambda: figures.table_frame(gram_np).rename(
            columns={f"dim {j}": f"pos' {j}" for j in range(n)}
        ),
        f"{P}_fig_gram",
        f"positional-dot-products-{n}x{d_model}",
    )
shown = sorted({0, pos, n // 2, n - 1})
with right:
    figure_with_data(
        figures.offset_curves(gram_np, shown),
        lambda: figures.offset_frame(gram_np, shown),
        f"{P}_fig_offsets",
        f"positional-offset-curves-{n}x{d_model}",
    )
by_offset = pe.similarity_by_offset(table).numpy()  # (n, n): [pos, k]
spread = float(np.nanmax(np.nanmax(by_offset, axis=0) - np.nanmin(by_offset, axis=0)))
st.markdown(
    f"$PE(pos) \\cdot PE(pos + k) = \\sum_i \\cos(\\omega_i k)$ with "
    f"$\\omega_i = 10000^{{-2i/d}}$: no $pos$ in it. Over all {n} positions, the dot products at "
    f"the same offset differ by at most **{spread:.1e}** (rounding). The curve is symmetric "
    f"($k$ and $-k$ give the same value), so a dot product alone cannot tell *before* from "
    f"*after*; the rotation below can."
)

# ---- the rotation M_k ---------------------------------------------------------------------
st.subheader("Moving k positions on is a rotation")
st.latex(
    r"\begin{pmatrix} PE_{(pos+k,\,2i)} \\ PE_{(pos+k,\,2i+1)} \end{pmatrix} = "
    r"\begin{pmatrix} \cos \omega_i k & \sin \omega_i k \\ -\sin \omega_i k & \cos \omega_i k "
    r"\end{pmatrix} \begin{pmatrix} PE_{(pos,\,2i)} \\ PE_{(pos,\,2i+1)} \end{pmatrix}"
)
st.markdown(
    "Stack the 2×2 rotations of all pairs on a diagonal and you get one matrix $M_k$ with "
    "$PE(pos + k) = M_k \\, PE(pos)$ for **every** position: the paper's remark that "
    "$PE_{pos+k}$ is a linear function of $PE_{pos}$. $M_k$ depends on $k$ alone, so a layer that "
    "has learned it can look $k$ words back or ahead from anywhere in the sentence."
)
rotation = pe.offset_rotation(k, d_model)  # (d, d) float64
pair = pe.encode_positions(torch.tensor([pos, pos + k]), d_model, dtype=torch.float64)  # (2, d)
rotated = rotation @ pair[0]  # (d,)
error64 = float((rotated - pair[1]).abs().max())
pair32 = pair.float()
error32 = float((rotation.float() @ pair32[0] - pair32[1]).abs().max())
m1, m2, m3 = st.columns(3)
m1.metric(f"max |M_{k} PE({pos}) − PE({pos + k})| (float64)", f"{error64:.1e}")
m2.metric("… in float32, as a model stores it", f"{error32:.1e}")
m3.metric(f"nonzero entries of M_{k}", f"{int((rotation != 0).sum()):,} of {d_model**2:,}")
figure_with_data(
    figures.rotation_check(pair[1].numpy(), rotated.numpy(), pos, k),
    lambda: figures.rotation_frame(pair[1].numpy(), rotated.numpy()),
    f"{P}_fig_rotation",
    f"positional-rotation-{pos}-{k}",
)

# ---- your words ---------------------------------------------------------------------------
st.subheader("Your words get these vectors added")
st.markdown(
    "The Transformer's input at position $t$ is the word's embedding plus the row $t$ of the "
    "table: $x_t = \\sqrt{d_{\\mathrm{model}}}\\, E[w_t] + PE(t)$ (Section 3.4 scales the "
    "embedding by $\\sqrt{d_{\\mathrm{model}}}$). The same word at two positions therefore enters "
    "the model as two different vectors, and the first word of every sentence gets the same "
    "$PE(0)$. Type a sentence to see which rows its words receive."
)
init_from_query(f"{P}_text", "text", DEFAULT_TEXT)
raw = st.text_input("A sentence", key=f"{P}_text", max_chars=2_000)
cleaned = clean_text(raw, max_chars=2_000)
show_notes(cleaned.notes)
publish_query({"text": cleaned.text})
words = word_tokenize(cleaned.text)
if not words:
    st.info("Type a sentence above to see its words on the position axis.")
else:
    if len(words) > n:
        st.info(
            f"Your text has {len(words):,} words; the table has {n} positions, so the first "
            f"{n} are shown. A Transformer's table has as many rows as its longest input.",
            icon="✂️",
        )
        words = words[:n]
    st.caption("Words: " + " · ".join(escape_markdown(w) for w in words))
    rows = table_np[: len(words)]
    figure_with_data(
        figures.table_heatmap(rows, tokens=words),
        lambda: figures.table_frame(rows, tokens=words),
        f"{P}_fig_words",
        "positional-your-words",
    )
