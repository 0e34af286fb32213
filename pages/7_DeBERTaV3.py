"""He, Gao & Chen (2023): DeBERTaV3, replaced-token detection with gradient-disentangled
embedding sharing, live."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from nlpviz.analysis.encoders import PAPER_CLAIMS, detection_counts, embedding_sharing, encode_text
from nlpviz.checkpoints import CheckpointError
from nlpviz.data.user_input import clean_text
from nlpviz.ui import encoders
from nlpviz.ui.sidebar import render_sidebar
from nlpviz.ui.url_numbers import url_int
from nlpviz.ui.widgets import (
    figure_with_data,
    init_from_query,
    init_index_from_query,
    model_card,
    publish_query,
    show_notes,
    text_input,
)
from nlpviz.viz import attention as attention_figures
from nlpviz.viz import deberta as figures
from nlpviz.viz.common import escape_markdown

P = "debertav3"
EXAMPLES = (
    "The chef tasted the soup, added some salt, and served it to the hungry guests.",
    "The government announced on Tuesday that it would spend more money on rail lines.",
    "She said that the film was long, but the ending made up for everything.",
    "To be, or not to be, that is the question.",
)
MODES = {
    "corrupt": "The generator corrupts my text",
    "typed": "Score my text as typed",
}
TYPED_ORIGINAL = "The chef ate the meal."
TYPED_CORRUPTED = "The chef drank the meal."

st.set_page_config(page_title="DeBERTaV3 · nlpviz", page_icon="🕵️", layout="wide")
device = str(render_sidebar())

st.title("DeBERTaV3: replaced-token detection")
st.caption(
    "He, Gao & Chen, ICLR 2023, after ELECTRA (Clark et al., ICLR 2020) · a miniature "
    "DeBERTa discriminator with a half-depth generator, pre-trained by nlpviz on open corpora"
)
st.markdown(
    "Masked-LM training learns only from the 15% of tokens it masks. ELECTRA, and DeBERTaV3 "
    "after it, learn from **every** token: a small **generator** (a masked LM, here half as "
    "deep) fills the masked positions with plausible words, and the **discriminator** (the "
    "model that is kept) reads the result and says for every token whether it is the "
    "original or a replacement. Let the generator corrupt your text, or corrupt it yourself, "
    "and see what the discriminator flags."
)
with st.expander("The two losses and gradient-disentangled embedding sharing"):
    st.latex(
        r"\mathcal{L}_{\mathrm{MLM}} = \mathbb{E}\Big[-\sum_{i \in \mathcal{C}}"
        r"\log p_{\theta_G}\big(\tilde x_i = x_i \mid \tilde X_G\big)\Big]"
    )
    st.latex(
        r"\mathcal{L}_{\mathrm{RTD}} = \mathbb{E}\Big[-\sum_{i}"
        r"\log p_{\theta_D}\big(\mathbb{1}(\tilde x_i = x_i) \mid \tilde X_D, i\big)\Big],"
        r"\qquad \mathcal{L} = \mathcal{L}_{\mathrm{MLM}} + \lambda\,\mathcal{L}_{\mathrm{RTD}},"
        r"\; \lambda = 50"
    )
    st.markdown(
        "$\\mathcal{C}$ is the set of masked positions; $\\tilde X_D$ is the text with the "
        "generator's samples in them. A sampled token that happens to equal the original "
        "counts as *original*. The discriminator is scored on every position, which is where "
        "ELECTRA's efficiency comes from.\n\n"
        "**Gradient-disentangled embedding sharing (GDES).** ELECTRA shares one token "
        "embedding table between generator and discriminator, and the two losses pull it in "
        "opposite directions (the generator wants similar words close, the discriminator "
        "wants them told apart). DeBERTaV3 gives the discriminator its own correction and "
        "stops the discriminator's gradient from reaching the shared table:"
    )
    st.latex(r"E_D = \mathrm{sg}(E_G) + E_\Delta")
    st.markdown(
        "$\\mathrm{sg}$ is stop-gradient: the generator's MLM loss alone trains $E_G$, the RTD "
        "loss trains only $E_\\Delta$ (initialised at zero), and after training the "
        "discriminator uses $E_G + E_\\Delta$."
    )

loaded = encoders.load_encoder("debertav3", device)
if isinstance(loaded, CheckpointError):
    st.error(escape_markdown(str(loaded)), icon="🚫")
    st.stop()
config = loaded.model.config
tokenizer = loaded.tokenizer

init_from_query(f"{P}_mode", "mode", "corrupt", options=list(MODES))
mode = st.radio("Mode", list(MODES), format_func=MODES.get, key=f"{P}_mode", horizontal=True)


def window_slider(n_pieces: int, window_start: int) -> None:
    room = loaded.max_len - 2
    st.warning(
        f"**The text is longer than the model's window:** it has {n_pieces:,} tokens and the "
        f"model reads {room} at a time (plus [CLS] and [SEP]). Showing tokens "
        f"{window_start + 1:,} to {window_start + room:,}; move the window to see the rest.",
        icon="✂️",
    )
    st.session_state[f"{P}_window"] = window_start
    st.slider(
        "Window: first token shown",
        0,
        max(1, n_pieces - room),
        key=f"{P}_window",
        help="The model reads this window on its own, as if the rest did not exist.",
    )


start = int(st.session_state.get(f"{P}_window", 0) or 0)
scored = None  # (tokens, P(replaced), replaced or None, original or None, attentions)

if mode == "corrupt":
    cleaned = text_input(P, EXAMPLES)
    show_notes(cleaned.notes)
    c1, c2 = st.columns(2)
    link_notes = []
    if f"{P}_rate" not in st.session_state:
        st.session_state[f"{P}_rate"], rate_note = url_int("rate", 15, 5, 50)
        link_notes.append(rate_note)
    st.session_state[f"{P}_rate"] = 5 * round(int(st.session_state[f"{P}_rate"]) / 5)
    rate = c1.slider(
        "Share of tokens masked for the generator (%)",
        5,
        50,
        step=5,
        key=f"{P}_rate",
        help="The generator fills every masked token with a word it samples; where it samples "
        "the original word back, that token counts as original, as in ELECTRA. ELECTRA and "
        "DeBERTaV3 mask 15% of the tokens in training.",
    )
    if f"{P}_seed" not in st.session_state:
        st.session_state[f"{P}_seed"], seed_note = url_int("seed", 0, 0, 10_000)
        link_notes.append(seed_note)
    for note in filter(None, link_notes):
        st.caption(note)
    seed = int(
        c2.number_input(
            "Random seed (which tokens, which samples)", 0, 10_000, step=1, key=f"{P}_seed"
        )
    )
    if cleaned.is_empty:
        st.warning("Type or paste a text above (or pick an example) for the generator to corrupt.")
        publish_query({"mode": mode, "text": ""})
        st.stop()
    text = cleaned.text
    encoded = encode_text(tokenizer, text, loaded.max_len, start)
    if encoded.truncated:
        window_slider(encoded.n_pieces, encoded.window_start)
    else:
        st.session_state.pop(f"{P}_window", None)
    if encoded.n_pieces == 0:
        st.warning("The tokenizer finds no token in this text. Type some words.", icon="🔤")
        st.stop()
    corruption = encoders.corruption(device, text, rate / 100, seed, encoded.window_start)
    publish_query({"mode": mode, "text": text, "rate": str(rate), "seed": str(seed)})
    scored = (
        corruption.tokens,
        corruption.replaced_probability,
        corruption.replaced,
        corruption.original,
        corruption.attentions,
    )
else:
    init_from_query(f"{P}_original", "original", TYPED_ORIGINAL)
    init_from_query(f"{P}_typed", "typed", TYPED_CORRUPTED)
    c1, c2 = st.columns(2)
    raw_original = c1.text_area(
        "The original (optional: marks the tokens you changed)", key=f"{P}_original", height=90
    )
    raw_typed = c2.text_area("Your corrupted version", key=f"{P}_typed", height=90)
    typed, original_text = clean_text(raw_typed), clean_text(raw_original)
    show_notes(typed.notes)
    publish_query(
        {
            "mode": mode,
            "typed": typed.text,
            "original": original_text.text,
        }
    )
    if typed.is_empty:
        st.warning("Type a sentence with a word or two swapped, e.g. 'The chef drank the meal.'")
        st.stop()
    result = encoders.reading("debertav3", device, typed.text, start)
    encoded = result.encoded
    if encoded.truncated:
        window_slider(encoded.n_pieces, encoded.window_start)
    else:
        st.session_state.pop(f"{P}_window", None)
    if encoded.n_pieces == 0:
        st.warning("The tokenizer finds no token in this text. Type some words.", icon="🔤")
        st.stop()
    replaced = original_tokens = None
    if not original_text.is_empty:
        before = encode_text(tokenizer, original_text.text, loaded.max_len, encoded.window_start)
        if len(before.tokens) == len(encoded.tokens):
            original_tokens = before.tokens
            replaced = np.asarray(
                [a != b for a, b in zip(before.tokens, encoded.tokens, strict=True)], dtype=bool
            )
        else:
            st.caption(
                f"The original has {len(before.tokens)} tokens and your version "
                f"{len(encoded.tokens)}; changed tokens are marked only when the two have "
                "the same number of tokens (swap words for words of one token each)."
            )
    scored = (
        encoded.tokens,
        result.replaced_probability,
        replaced,
        original_tokens,
        result.attentions,
    )

# ---- what the discriminator says ----------------------------------------------------------
tokens, probability, replaced, original_tokens, attentions = scored
st.subheader("What the discriminator flags")
figure_with_data(
    figures.replaced_bars(tokens, probability, replaced, original_tokens),
    figures.replaced_frame(tokens, probability, replaced, original_tokens),
    f"{P}_fig_replaced",
    f"debertav3-replaced-{mode}",
)
st.caption(
    "One bar per token: the discriminator's P(replaced). A red ✕ and outline mark the tokens "
    "that really changed (hover for original → new); the dashed line is 0.5."
)
ordinary = np.ones(len(tokens), dtype=bool)
ordinary[[0, -1]] = False  # [CLS] and [SEP] are never replaced
if replaced is not None:
    counts = detection_counts(replaced, probability, 0.5, ordinary)
    m1, m2, m3 = st.columns(3)
    m1.metric(
        "replaced tokens caught (P ≥ 0.5)",
        f"{counts.caught} of {counts.replaced}",
    )
    m2.metric("kept tokens falsely flagged", f"{counts.false_alarms} of {counts.kept}")
    if mode == "corrupt":
        same = int((corruption.chosen & ~corruption.replaced).sum())
        m3.metric("masked but sampled back unchanged", same)
        changes = np.flatnonzero(corruption.replaced)
        if len(changes):
            st.dataframe(
                pd.DataFrame(
                    {
                        "position": changes,
                        "original": [corruption.original[i] for i in changes],
                        "generator wrote": [corruption.tokens[i] for i in changes],
                        "P(replaced)": probability[changes].round(3),
                    }
                ),
                hide_index=True,
            )
        st.caption(
            "Tokens the generator re-sampled to the original count as *original*, as in "
            "training. A generator that is too good makes the game hard; too weak, too easy."
        )
else:
    flagged = int((probability[ordinary] >= 0.5).sum())
    st.metric("tokens flagged (P ≥ 0.5)", f"{flagged} of {int(ordinary.sum())}")

# ---- the discriminator's attention -----------------------------------------------------------
st.subheader("The discriminator's attention")


for note in filter(
    None,
    (
        init_index_from_query(f"{P}_layer", "layer", config.n_layers),
        init_index_from_query(f"{P}_head", "head", config.n_heads),
    ),
):
    st.caption(note)  # init_index_from_query's notes are markdown-safe
c1, c2, _ = st.columns([1, 1, 3])
layer = int(c1.number_input("Layer", 1, config.n_layers, key=f"{P}_layer", step=1)) - 1
head = int(c2.number_input("Head", 1, config.n_heads, key=f"{P}_head", step=1)) - 1
publish_query({"layer": str(layer + 1), "head": str(head + 1)})
attention = attentions[layer, head]
figure = attention_figures.head_heatmap(tokens, attention, layer, head, encoded.special)
figure.update_layout(title_text=f"Discriminator attention, layer {layer + 1}, head {head + 1}")
figure_with_data(
    figure,
    lambda: attention_figures.head_frame(tokens, attention),
    f"{P}_fig_attention",
    f"debertav3-attention-layer{layer + 1}-head{head + 1}",
)
st.caption(
    "Rows: the token being judged; columns: the tokens it reads. Does a replaced token look "
    "at the words that give it away?"
)

# ---- embedding sharing ----------------------------------------------------------------------
st.subheader("Gradient-disentangled embedding sharing in this model")
sharing = embedding_sharing(loaded.model)
figure_with_data(
    figures.sharing_bars(sharing),
    pd.DataFrame([sharing]),
    f"{P}_fig_sharing",
    "debertav3-gdes",
)
st.markdown(
    f"Averaged over the {config.vocab_size:,} tokens of the vocabulary, a row of the shared "
    f"table $E_G$ has length {sharing['generator_norm']:.3f} and the discriminator's own "
    f"correction $E_\\Delta$ {sharing['delta_norm']:.3f}; the discriminator's embeddings "
    f"$E_D = E_G + E_\\Delta$ point in nearly the same direction as the generator's when the "
    f"cosine ({sharing['mean_cosine']:.3f}) is close to 1. A small $E_\\Delta$ means the "
    "discriminator took the generator's table almost as it is; a large one, that detection "
    "needed different embeddings from prediction, the tug-of-war GDES avoids."
)

# ---- the card and the papers -------------------------------------------------------------------
st.subheader("How good is our detector, and what the papers claim")
metrics = loaded.card.metrics
m1, m2, m3 = st.columns(3)
if metrics.get("rtd_auc") is not None:
    m1.metric("RTD AUC (held out)", f"{metrics['rtd_auc']:.3f}")
if metrics.get("rtd_accuracy") is not None:
    m2.metric("RTD accuracy (held out)", f"{metrics['rtd_accuracy']:.1f}%")
if metrics.get("replaced_share") is not None:
    share = metrics["replaced_share"]
    m3.metric("share of tokens replaced", f"{share:.1f}%")
    st.caption(
        f"A detector that says *original* everywhere already gets {100 - share:.1f}% "
        "accuracy, because only a few tokens are replaced. The AUC (0.5 = chance, 1 = perfect "
        "ranking of replaced above original tokens) is the number to read."
    )
claims = [c for c in PAPER_CLAIMS if c["papers"].startswith(("DeBERTaV3", "ELECTRA"))]
st.dataframe(pd.DataFrame(claims), hide_index=True)
model_card("DeBERTaV3", loaded.card)
