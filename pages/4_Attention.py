"""Attention explorer: every head of a Transformer encoder on your text, one head up close."""

from __future__ import annotations

import streamlit as st

from nlpviz.analysis.attention import METRICS, EmptyTextError
from nlpviz.ui import attention as sources
from nlpviz.ui.sidebar import render_sidebar
from nlpviz.ui.widgets import (
    figure_with_data,
    init_from_query,
    init_index_from_query,
    publish_query,
    text_input,
)
from nlpviz.viz import attention as figures
from nlpviz.viz.common import escape_markdown

P = "attn"
EXAMPLES = (
    "The animal didn't cross the street because it was too tired.",
    "The trophy doesn't fit into the brown suitcase because it is too large.",
    "She gave the book to her brother, and he read it to his daughter before bed.",
    "Bank robbers fled to the river bank, where the police were waiting for them.",
)
MAX_TOKEN_CHOICES = (64, 128, 256, 512)
LINE_VIEW_TOKENS = 80  # the line view draws up to this many tokens on each side

st.set_page_config(page_title="Attention · nlpviz", page_icon="🔍", layout="wide")
device = str(render_sidebar())

st.title("Attention explorer")
st.caption(
    "Scaled dot-product attention (Vaswani et al., NeurIPS 2017) in BERT-like encoders: "
    "all-MiniLM-L6-v2, nlpviz's miniatures"
    + (", or a Hugging Face encoder on this server" if sources.local_box_enabled() else "")
)
st.markdown(
    "A Transformer encoder rewrites every token as a mix of all the tokens of the text. Each "
    "layer does it several times in parallel: each **head** has its own query, key and value "
    "projections and decides for itself how much each token takes from every other. Type a "
    "text and see all heads of all layers at once, then one head up close."
)
with st.expander("What a head computes (Equation 1 of the paper) and how to read it"):
    st.latex(
        r"\mathrm{head}_h = \mathrm{softmax}\!\left(\frac{Q_h K_h^\top}{\sqrt{d_k}}\right) V_h,"
        r"\quad Q_h = X W^Q_h,\; K_h = X W^K_h,\; V_h = X W^V_h"
    )
    st.markdown(
        "Row $i$ of the softmax is a probability distribution over the tokens: how much token "
        "$i$ (the *query*) takes from each token $j$ (the *key*). Every row sums to 1, so the "
        "maps below are read row by row. Dividing by $\\sqrt{d_k}$ keeps the scores from "
        "growing with the head size and the softmax from saturating.\n\n"
        "**What to look at:** heads that look at the previous or next token (a line next to "
        "the diagonal), heads that pile their attention on [CLS], [SEP] or punctuation (a "
        "vertical stripe: often a 'no-op' when the head has nothing to do, Clark et al. 2019), "
        "and heads whose rows spread evenly (high entropy).\n\n"
        "**Attention is not explanation** (Jain & Wallace 2019; Wiegreffe & Pinter 2019). A "
        "weight says where a head mixed information from, not why the model decided anything: "
        "the values $V$ it mixes can be tiny, and later layers mix again. Use attribution "
        "(the Kim CNN and HAN pages) to ask what changed an output."
    )

# ---- inputs -------------------------------------------------------------------------------
builtin = sources.attention_sources(device)
# a visitor's own directory or hub name only where the server's owner allows it
# (NLPVIZ_LOCAL_MODELS=1): the box reads this server's filesystem
local_box = sources.local_box_enabled()
options = [*builtin, sources.LOCAL_SOURCE] if local_box else list(builtin)
init_from_query(f"{P}_model", "model", options[0], options=options)
if local_box:
    init_from_query(f"{P}_path", "path", "")
left, right = st.columns([3, 2])
with right:
    source_name = st.selectbox("Model", options, key=f"{P}_model")
    path = ""
    if source_name == sources.LOCAL_SOURCE:
        path = st.text_input(
            "Directory of a Hugging Face encoder (config.json, *.safetensors, tokenizer files)",
            key=f"{P}_path",
            placeholder="/models/bert-base-uncased",
            help=sources.local_box_help(),
        )
    max_tokens = st.select_slider(
        "Read at most (tokens per pass)",
        MAX_TOKEN_CHOICES,
        value=MAX_TOKEN_CHOICES[-1],
        key=f"{P}_max_tokens",
        help="Fewer tokens are faster and easier to read. The model's own window applies "
        "anyway: 512 tokens for all-MiniLM-L6-v2 and most BERT-like models, 128 for nlpviz's "
        "miniatures (trained on 128-token sequences).",
    )
with left:
    cleaned = text_input(P, EXAMPLES)
for note in cleaned.notes:
    st.info(note, icon="ℹ️")

if source_name == sources.LOCAL_SOURCE:
    if not path.strip():
        st.info("Type the directory of a Hugging Face encoder above to explore it.", icon="📁")
        publish_query({"model": source_name, "path": "", "text": cleaned.text})
        st.stop()
    resolved = sources.resolve_local(path)  # one cache entry per real path
    source = sources.local_source(resolved, device)
    key = f"local:{resolved}:{device}"
else:
    source = builtin[source_name]
    key = f"{source_name}:{device}"

if cleaned.is_empty:
    st.warning("Type or paste a text above (or pick an example) to see its attention.")
    publish_query({"model": source_name, "path": path, "text": ""})
    st.stop()

start = int(st.session_state.get(f"{P}_window", 0) or 0)
try:
    explored = sources.explore(key, source, cleaned.text, int(max_tokens), start)
except sources.LOAD_ERRORS as error:
    st.error(escape_markdown(str(error)), icon="🚫")
    st.stop()
except EmptyTextError:
    st.warning(
        "The model's tokenizer finds no token in this text (it drops these characters). Type "
        "some words.",
        icon="🔤",
    )
    st.stop()
view = explored.view
for note in view.notes:
    st.info(escape_markdown(note), icon="❓")

# ---- window -------------------------------------------------------------------------------
if view.truncated:
    n_special = int(view.special.sum())
    size = view.n_tokens - n_special
    n_text = view.n_input_tokens - n_special
    st.warning(
        f"**The text is too long for one pass:** it has {view.n_input_tokens:,} tokens and "
        f"the model reads {view.n_tokens:,} at a time (with {n_special} special tokens). "
        f"Showing text tokens {view.window_start + 1:,} to {view.window_start + size:,}; "
        "move the window to see the rest.",
        icon="✂️",
    )
    st.session_state[f"{P}_window"] = view.window_start
    st.slider(
        "Window: first text token shown",
        0,
        max(1, n_text - size),
        key=f"{P}_window",
        help="The model reads this window on its own, as if the rest of the text did not "
        "exist: attention never crosses a window's edge.",
    )
else:
    st.session_state.pop(f"{P}_window", None)

# ---- layer and head (1-based in the page and the URL) ---------------------------------------


notes = [
    init_index_from_query(f"{P}_layer", "layer", view.n_layers),
    init_index_from_query(f"{P}_head", "head", view.n_heads),
]
for note in filter(None, notes):
    st.caption(note)  # init_index_from_query's notes are markdown-safe
c1, c2, c3 = st.columns([1, 1, 2])
layer = int(c1.number_input("Layer", 1, view.n_layers, key=f"{P}_layer", step=1)) - 1
head = int(c2.number_input("Head", 1, view.n_heads, key=f"{P}_head", step=1)) - 1
c3.caption(
    f"{view.n_layers} layers × {view.n_heads} heads, {view.n_tokens} tokens. Click a "
    "thumbnail to show that head large below (the red box); hover for its layer and head."
)
init_from_query(f"{P}_shape", "shape", "heatmap", options=["heatmap", "lines"])
init_from_query(f"{P}_scale", "scale", "auto", options=list(figures.SCALES))
publish_query(
    {
        "model": source_name,
        "path": path,
        "layer": str(layer + 1),
        "head": str(head + 1),
        "text": cleaned.text,
        "shape": str(st.session_state.get(f"{P}_shape", "heatmap")),
        "scale": str(st.session_state.get(f"{P}_scale", "auto")),
    }
)

# ---- figures ------------------------------------------------------------------------------


def pick_clicked_head() -> None:
    """A click on a thumbnail: its layer and head go into the number boxes (and so the URL)."""
    event = st.session_state.get(f"{P}_fig_grid")
    points = event.selection.points if event is not None else []
    picked = figures.clicked_head(points, view.n_layers, view.n_heads)
    if picked is not None:
        st.session_state[f"{P}_layer"], st.session_state[f"{P}_head"] = (
            picked[0] + 1,
            picked[1] + 1,
        )


grid_tab, summary_tab = st.columns([3, 2])
with grid_tab:
    cells = explored.grid.shape[-1]
    st.markdown(
        "**Every head.** Each thumbnail is one head's map, rows = queries, columns = keys"
        + (
            f", pooled to {cells} × {cells} cells (each cell shows the largest weight of the "
            "tokens it covers)."
            if cells < view.n_tokens
            else "."
        )
    )
    figure_with_data(
        figures.thumbnail_grid(explored.grid, selected=(layer, head)),
        lambda: figures.grid_frame(explored.grid, explored.edges),
        f"{P}_fig_grid",
        "attention-all-heads",
        on_select=pick_clicked_head,
    )
with summary_tab:
    metric = st.selectbox(
        "Summarise each head by",
        list(METRICS),
        format_func=lambda m: f"{m}: {METRICS[m]}",
        key=f"{P}_metric",
    )
    figure_with_data(
        figures.summary_heatmap(
            explored.summaries.metric(metric), metric, (layer, head), view.n_tokens
        ),
        explored.summaries.to_frame,
        f"{P}_fig_summary",
        "attention-head-summaries",
    )

st.subheader(f"Layer {layer + 1}, head {head + 1}")
row = explored.summaries
columns = st.columns(len(METRICS))
for column, name in zip(columns, METRICS, strict=True):
    value = float(row.metric(name)[layer, head])
    column.metric(name, f"{value:.2f}" if name in ("entropy", "distance") else f"{value:.0%}")
tokens = view.tokens
attention = view.head(layer, head)
s1, s2 = st.columns([1, 2])
shape = s1.radio(
    "Show the head as",
    ["heatmap", "lines"],
    format_func={"heatmap": "a heatmap", "lines": "lines (BertViz)"}.get,
    key=f"{P}_shape",
    horizontal=True,
)
if shape == "heatmap":
    scale = s2.selectbox(
        "Colour scale",
        list(figures.SCALES),
        format_func=lambda name: figures.SCALES[name],
        key=f"{P}_scale",
    )
    figure_with_data(
        figures.head_heatmap(tokens, attention, layer, head, view.special, scale=scale),
        lambda: figures.head_frame(tokens, attention),
        f"{P}_fig_head",
        f"attention-layer{layer + 1}-head{head + 1}",
    )
    st.caption(
        "Rows: the token that attends (query); columns: the tokens it attends to (keys); each "
        "row sums to 1. Special tokens are in italics. Position numbers keep repeated words "
        "apart. " + figures.head_scale(attention, scale)[2]
    )
else:
    scale = str(st.session_state.get(f"{P}_scale", "auto"))
    shown = min(len(tokens), LINE_VIEW_TOKENS)
    if st.session_state.get(f"{P}_focus") not in (None, *range(shown)):  # a shorter new text
        del st.session_state[f"{P}_focus"]
    focus = s2.selectbox(
        "Isolate the lines of",
        [None, *range(shown)],
        format_func=lambda i: "no token (all lines)" if i is None else f"{i}: {tokens[i]}",
        key=f"{P}_focus",
    )
    figure_with_data(
        figures.line_view(tokens[:shown], attention[:shown, :shown], layer, head, focus),
        lambda: figures.head_frame(tokens, attention),
        f"{P}_fig_lines",
        f"attention-lines-layer{layer + 1}-head{head + 1}",
    )
    st.caption(
        "Each line joins a query token (left) to a key token (right); its opacity is the "
        "attention weight (the heatmap's number) and its width grows with it. Per query, lines "
        "under 0.02 and beyond its 12 strongest are left out. Hover a left token for its "
        "strongest keys, or isolate it above."
        + (
            f" The line view shows the first {shown} of {len(tokens)} tokens "
            "(the heatmap shows them all)."
            if shown < len(tokens)
            else ""
        )
    )
