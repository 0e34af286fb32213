"""He et al. (2021): DeBERTa's disentangled attention and enhanced mask decoder, live."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from nlpviz.analysis.encoders import (
    PAPER_CLAIMS,
    bucket_values,
    default_word,
    mask_window,
    mask_word,
    typed_masks,
    words_of,
)
from nlpviz.checkpoints import CheckpointError
from nlpviz.ui import encoders
from nlpviz.ui.sidebar import render_sidebar
from nlpviz.ui.url_numbers import url_int
from nlpviz.ui.widgets import (
    figure_with_data,
    init_index_from_query,
    model_card,
    publish_query,
    show_notes,
    text_input,
)
from nlpviz.viz import attention as attention_figures
from nlpviz.viz import deberta as figures
from nlpviz.viz.common import escape_markdown

P = "deberta"
EXAMPLES = (
    "The new store opened beside the new mall, and the store drew bigger crowds.",
    "A deep learning model reads the whole sentence before it predicts a single word.",
    "The chef tasted the soup, added some salt, and served it to the hungry guests.",
    "She said that the film was long, but the ending made up for everything.",
)

st.set_page_config(page_title="DeBERTa · nlpviz", page_icon="🧭", layout="wide")
device = str(render_sidebar())

st.title("DeBERTa: disentangled attention")
st.caption(
    "He, Liu, Gao & Chen, ICLR 2021 · a miniature (4 layers × 4 heads) pre-trained by nlpviz "
    "on open corpora"
)
st.markdown(
    "BERT adds a position vector to every word vector before the first layer, so content and "
    "position are mixed from then on. DeBERTa keeps them apart: each token has a **content** "
    "vector, and every *pair* of tokens has a **relative position** (how far apart they are). "
    "An attention score is the sum of three terms: what the query's content wants from the "
    "key's content (**c2c**), what the query's content wants from a key at that distance "
    "(**c2p**), and what the key's content wants from a query at that distance (**p2c**). "
    "Below, the three terms of one head are drawn on one colour scale, so you can see which "
    "term drives the attention."
)
with st.expander("Disentangled attention (Equations 2-4 of the paper) and the log buckets"):
    st.latex(
        r"\tilde A_{ij} = \underbrace{Q^c_i {K^c_j}^{\top}}_{\text{c2c}}"
        r" + \underbrace{Q^c_i {K^r_{\delta(i,j)}}^{\top}}_{\text{c2p}}"
        r" + \underbrace{K^c_j {Q^r_{\delta(j,i)}}^{\top}}_{\text{p2c}},"
        r"\qquad H_o = \mathrm{softmax}\!\left(\frac{\tilde A}{\sqrt{3d}}\right) V_c"
    )
    st.markdown(
        "$Q^c, K^c, V_c$ are projections of the content vectors; $Q^r, K^r$ are projections of "
        "a table of **relative-position embeddings** (the same projection matrices, as in the "
        "DeBERTaV2 code). $\\delta(i, j)$ is the bucket of the distance $i - j$. The sum is "
        "divided by $\\sqrt{3d}$ instead of $\\sqrt{d}$ because three terms are added; the maps "
        "below are already divided, so they add up to the score that enters the softmax.\n\n"
        "**Log buckets.** Nearby distances get a bucket each: within $\\pm k/2$ of the query "
        "the bucket *is* the distance. Farther away, buckets widen logarithmically, so that "
        "the $k$ buckets on each side stretch to a maximum distance (here "
        "`max_relative_positions`); beyond it everything shares the last bucket. In words: "
        "*exact when close, coarse when far, the sign always kept* (left and right differ).\n\n"
        "**Enhanced mask decoder (EMD, Section 3.2).** Relative positions alone cannot tell "
        "*a new **store** opened beside the new **mall*** apart from the other way round; the "
        "absolute position of a word sometimes matters for predicting it. DeBERTa adds the "
        "absolute positions only at the very end, just before the masked-LM head: the last "
        "layer runs again with queries $I = H + P$ (hidden states plus absolute position "
        "embeddings)."
    )

loaded = encoders.load_encoder("deberta", device)
if isinstance(loaded, CheckpointError):
    st.error(escape_markdown(str(loaded)), icon="🚫")
    st.stop()
config = loaded.model.config
tokenizer = loaded.tokenizer

# ---- text and window --------------------------------------------------------------------------
cleaned = text_input(P, EXAMPLES)
show_notes(cleaned.notes)
if cleaned.is_empty:
    st.warning("Type or paste a text above (or pick an example) to see its attention terms.")
    publish_query({"text": "", "word": ""})
    st.stop()
text = cleaned.text
start = int(st.session_state.get(f"{P}_window", 0) or 0)
result = encoders.reading("deberta", device, text, start)
encoded = result.encoded
if encoded.n_pieces == 0:
    st.warning("The tokenizer finds no token in this text. Type some words.", icon="🔤")
    publish_query({"text": text})
    st.stop()
if encoded.truncated:
    room = loaded.max_len - 2
    st.warning(
        f"**The text is longer than the model's window:** it has {encoded.n_pieces:,} tokens "
        f"and the model reads {room} at a time (plus [CLS] and [SEP]). Showing tokens "
        f"{encoded.window_start + 1:,} to {encoded.window_start + room:,}; move the window to "
        "see the rest.",
        icon="✂️",
    )
    st.session_state[f"{P}_window"] = encoded.window_start
    st.slider(
        "Window: first token shown",
        0,
        max(1, encoded.n_pieces - room),
        key=f"{P}_window",
        help="The model reads this window on its own, as if the rest did not exist.",
    )
else:
    st.session_state.pop(f"{P}_window", None)
if encoded.unknown.any():
    st.caption(
        f"{int(encoded.unknown.sum())} piece(s) are unknown to the tokenizer and read as [UNK]."
    )

# ---- layer and head (1-based in the page and the URL) -----------------------------------------


for note in filter(
    None,
    (
        init_index_from_query(f"{P}_layer", "layer", config.n_layers),
        init_index_from_query(f"{P}_head", "head", config.n_heads),
    ),
):
    st.caption(note)  # init_index_from_query's notes are markdown-safe
c1, c2, c3 = st.columns([1, 1, 3])
layer = int(c1.number_input("Layer", 1, config.n_layers, key=f"{P}_layer", step=1)) - 1
head = int(c2.number_input("Head", 1, config.n_heads, key=f"{P}_head", step=1)) - 1
c3.caption(
    f"{config.n_layers} layers × {config.n_heads} heads, {len(encoded.tokens)} tokens in this "
    f"window; relative distances in {2 * config.position_buckets} buckets."
)

# ---- the word to mask (1-based in the URL; a word itself is accepted too) ---------------------
words = words_of(text)
word_key = f"{P}_word"
first_word = default_word(words)
if word_key not in st.session_state:
    raw = st.query_params.get("word")
    chosen = first_word
    if raw:
        number, refused = url_int("word", 0, 1, max(len(words), 1))
        if not refused and 1 <= number <= len(words):
            chosen = number - 1
        else:
            bare = [re.sub(r"\W", "", w).lower() for w in words]
            if re.sub(r"\W", "", raw).lower() in bare:
                chosen = bare.index(re.sub(r"\W", "", raw).lower())
    st.session_state[word_key] = chosen
    st.session_state[f"{P}_word_text"] = text
if st.session_state.get(f"{P}_word_text") != text or not (
    0 <= int(st.session_state[word_key]) < len(words)
):  # a new text: start again from its longest word
    st.session_state[word_key] = first_word
    st.session_state[f"{P}_word_text"] = text
publish_query(
    {
        "text": text,
        "layer": str(layer + 1),
        "head": str(head + 1),
        "word": str(int(st.session_state[word_key]) + 1),
    }
)

# ---- the four maps -------------------------------------------------------------------------
tokens = encoded.tokens
special = encoded.special
st.subheader(f"Layer {layer + 1}, head {head + 1}: the three terms and their sum")
c2c, c2p, p2c = (result.c2c[layer, head], result.c2p[layer, head], result.p2c[layer, head])
figure_with_data(
    figures.score_maps(tokens, c2c, c2p, p2c, layer, head, special),
    lambda: figures.score_frame(tokens, c2c, c2p, p2c),
    f"{P}_fig_terms",
    f"deberta-terms-layer{layer + 1}-head{head + 1}",
)
st.caption(
    "Rows: the query token i; columns: the key token j. Red raises the attention of i on j, "
    "blue lowers it; all four maps share one scale. **What to look at:** c2p and p2c maps "
    "that are constant along diagonals depend on the distance more than on the words (the "
    "query's content picks a preferred offset); a c2c map with vertical stripes attends to "
    "particular words wherever they are."
)

left, right = st.columns(2)
with left:
    attention = result.attentions[layer, head]
    figure = attention_figures.head_heatmap(tokens, attention, layer, head, special)
    figure.update_layout(title_text=f"Attention, layer {layer + 1}, head {head + 1}")
    figure_with_data(
        figure,
        lambda: attention_figures.head_frame(tokens, attention),
        f"{P}_fig_attention",
        f"deberta-attention-layer{layer + 1}-head{head + 1}",
    )
    st.caption("softmax of the total score, row by row: each row sums to 1.")
with right:
    shares = figures.term_shares(result.c2c, result.c2p, result.p2c)
    figure_with_data(
        figures.term_share_heatmap(shares, (layer, head)),
        lambda: figures.shares_frame(shares),
        f"{P}_fig_shares",
        "deberta-term-shares",
    )
    st.caption(
        "Each term's share of the score's size, mean|term| / (mean|c2c| + mean|c2p| + "
        "mean|p2c|), for every head on this text. A high c2p or p2c share: the head leans on "
        "relative position. The red box is the head shown above."
    )

# ---- relative positions ------------------------------------------------------------------------
st.subheader("Relative positions: one bucket per pair of tokens")
left, right = st.columns(2)
with left:
    buckets = result.buckets
    figure_with_data(
        figures.bucket_matrix(tokens, buckets, config.position_buckets),
        lambda: pd.DataFrame(
            [
                {"query": i, "key": j, "distance": i - j, "bucket": int(buckets[i, j])}
                for i in range(len(tokens))
                for j in range(len(tokens))
            ]
        ),
        f"{P}_fig_buckets",
        "deberta-buckets",
    )
with right:
    distances, values = bucket_values(config.position_buckets, config.max_relative_positions, 512)
    figure_with_data(
        figures.bucket_curve(distances, values, config.position_buckets, window=config.max_len),
        pd.DataFrame({"distance": distances, "bucket": values}),
        f"{P}_fig_curve",
        "deberta-log-buckets",
    )
st.caption(
    f"This model: k = {config.position_buckets} buckets on each side, exact within ±"
    f"{config.position_buckets // 2}, stretching to distance {config.max_relative_positions}. "
    f"Its window is {config.max_len} tokens, so distances beyond ±{config.max_len - 1} never "
    "occur here. DeBERTaV2 and V3 at full size use k = 256 buckets stretching to 512."
)

# ---- the enhanced mask decoder ---------------------------------------------------------------
st.subheader("With and without the enhanced mask decoder's absolute positions")
index = st.selectbox(
    "Mask this word",
    list(range(len(words))),
    format_func=lambda i: f"{i + 1}. {words[i]}",
    key=word_key,
)
masked_text = mask_word(text, int(index), tokenizer.mask_token)
with_emd = encoders.reading("deberta", device, masked_text, encoded.window_start, True)
without_emd = encoders.reading("deberta", device, masked_text, encoded.window_start, False)

# which [MASK] is ours: typed masks before it shift the count
word_start = [m.start() for m in re.finditer(r"\S+", text)][int(index)]
ours = masked_text.index(tokenizer.mask_token, word_start)
_, position = mask_window(
    tokenizer, masked_text, loaded.max_len, typed_masks(masked_text[:ours]), encoded.window_start
)
pick_with = [p for p in with_emd.predictions if p.position == position]
pick_without = [p for p in without_emd.predictions if p.position == position]
if not pick_with or not pick_without:
    st.info("This word lies outside the window shown; move the window to predict it.", icon="✂️")
else:
    w, wo = pick_with[0], pick_without[0]
    original = re.sub(r"^\W*(.*?)\W*$", r"\1", words[int(index)]) or words[int(index)]
    figure_with_data(
        figures.emd_bars(w.tokens, w.probabilities, wo.tokens, wo.probabilities, original),
        lambda: figures.emd_frame(w.tokens, w.probabilities, wo.tokens, wo.probabilities),
        f"{P}_fig_emd",
        "deberta-emd",
    )
    st.markdown(
        f"The model sees *{escape_markdown(masked_text[:300])}*"
        + ("…" if len(masked_text) > 300 else "")
        + ". The masked word is drawn in red where it is among the top predictions."
    )
st.caption(
    "**An honest note:** *without* means the same trained decoder run with the absolute "
    "positions left out of its queries, not a DeBERTa trained without EMD (the paper's −EMD "
    "row in Table 4 is a separately pre-trained model). Differences here show how much this "
    "decoder has come to rely on absolute positions, not what training without them would "
    "give."
)

# ---- the paper and our miniature -------------------------------------------------------------
st.subheader("What the paper claims, and our miniature")
claims = [c for c in PAPER_CLAIMS if c["papers"] == "DeBERTa"]
# a table that wraps: st.dataframe cut the claims and figures off at the cell's edge
st.table(
    pd.DataFrame(claims)
    .drop(columns=["papers"], errors="ignore")
    .rename(columns=str.capitalize)
    .set_index("Claim")
)
metrics = loaded.card.get("metrics", {})
m1, m2, m3 = st.columns(3)
if "mlm_accuracy" in metrics:
    m1.metric("our masked-LM accuracy (held out)", f"{metrics['mlm_accuracy']:.1f}%")
if "mlm_loss" in metrics:
    m2.metric("our masked-LM loss", f"{metrics['mlm_loss']:.3f}")
if metrics.get("probe_mr_accuracy") is not None:
    m3.metric("sentiment probe accuracy", f"{metrics['probe_mr_accuracy']:.1f}%")
st.caption(
    "The paper's ablation (Table 4) removes one part at a time and pre-trains again at base "
    "size; our miniature is far smaller and is trained once, so it cannot test those "
    "differences of a few tenths of a point."
)
model_card("DeBERTa", loaded.card)
