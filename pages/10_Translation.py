"""Sutskever et al. (2014) and Vaswani et al. (2017): translation with LSTMs and a Transformer.

Four miniatures trained by nlpviz on the same English->Spanish pairs: the LSTM encoder-decoder
reading the source in order and reversed, the LSTM with attention, and the Transformer. Views:
translate, the beam search tree, the LSTM sentence space, attention maps.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import streamlit as st

from nlpviz.analysis.translation import (
    MAX_SENTENCES,
    claim_checks,
    time_to_perplexity,
    update_budget,
)
from nlpviz.checkpoints import CheckpointError
from nlpviz.data.translation import MAX_WORDS
from nlpviz.data.user_input import clean_text
from nlpviz.models.beam import MAX_BEAM
from nlpviz.ui import translation as tr
from nlpviz.ui.claims import show_verdicts
from nlpviz.ui.sidebar import render_sidebar
from nlpviz.ui.url_numbers import url_float, url_int
from nlpviz.ui.widgets import (
    figure_with_data,
    init_from_query,
    init_index_from_query,
    model_card,
    publish_query,
    show_notes,
    text_input,
)
from nlpviz.viz import translation as figures
from nlpviz.viz.common import escape_markdown

P = "tr"
EXAMPLES = (
    "The government announced on Tuesday that it would spend more money on schools.",
    "The film is funny, warm and beautifully acted.",
    "She gave the old man a book about the war.",
    "The president met the prime minister in Berlin last week to discuss trade.",
)
SENTENCE_EXAMPLES = (
    "John admires Mary.",
    "Mary is admired by John.",
    "Mary admires John.",
    "John is admired by Mary.",
    "The government raised taxes.",
    "Taxes were raised by the government.",
)
VIEWS = {
    "translate": "Translate",
    "beam": "Beam search tree",
    "space": "LSTM sentence space",
    "attention": "Attention",
}
ATTENTION_KINDS = {
    "cross": "cross-attention (target × source)",
    "encoder": "encoder self-attention (source × source)",
    "decoder": "decoder masked self-attention (target × target)",
}


st.set_page_config(page_title="Translation · nlpviz", page_icon="🌐", layout="wide")
device = str(render_sidebar())

st.title("Translation: sequence-to-sequence LSTMs and the Transformer")
st.caption(
    "Sutskever, Vinyals & Le, NeurIPS 2014 · Luong, Pham & Manning, EMNLP 2015 (attention) · "
    "Vaswani et al., NeurIPS 2017 · four miniatures trained by nlpviz on the same "
    "English→Spanish pairs"
)
st.markdown(
    "An encoder reads an English sentence; a decoder writes Spanish one piece at a time, each "
    "piece chosen from a probability distribution over the vocabulary. The 2014 LSTM squeezes "
    "the whole sentence into one vector; attention lets the decoder look back at every source "
    "word; the Transformer does away with recurrence and uses attention everywhere. Type a "
    "sentence and compare the four models, watch beam search explore, see where the sentence "
    "vectors land and what each attention head looks at."
)
st.warning(
    "**The Spanish side is rule-based machine translation.** No parallel corpus can be had "
    "here, so the training pairs are English sentences from news articles and Rotten Tomatoes "
    "snippets, translated by Debian's rule-based translator *apertium* (`apertium-eng-spa`). "
    "Our models learn to imitate apertium, mistakes included, and BLEU measures agreement "
    "with apertium, not with a human translator.",
    icon="⚠️",
)
with st.expander("The equations, and what to look at"):
    st.markdown(
        "**Sequence to sequence (Sutskever et al. 2014, Eq. 1).** The encoder LSTM's last "
        "state $v$ summarises the source; the decoder LSTM starts from it:"
    )
    st.latex(
        r"p(y_1,\dots,y_{T'} \mid x_1,\dots,x_T) = \prod_{t=1}^{T'} "
        r"p(y_t \mid v, y_1,\dots,y_{t-1})"
    )
    st.markdown(
        "With the source **reversed** the encoder reads $x_T, \\dots, x_1$: the first source "
        "words are then read last, right before the decoder writes the first target words "
        "(Section 3.3). The target is never reversed.\n\n"
        "**Attention (Luong et al. 2015, global, *general* score).** At every target step the "
        "decoder state $h_t$ scores every encoder state $\\bar h_s$:"
    )
    st.latex(
        r"a_t(s) = \mathrm{softmax}_s\!\left(h_t^\top W_a \bar h_s\right),\quad "
        r"c_t = \sum_s a_t(s)\,\bar h_s,\quad \tilde h_t = \tanh(W_c[c_t; h_t])"
    )
    st.markdown(
        "**Transformer (Vaswani et al. 2017, Eq. 1, Section 3.2.2).** Every head of "
        "every layer computes"
    )
    st.latex(
        r"\mathrm{Attention}(Q,K,V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}"
        r" + M\right)V"
    )
    st.markdown(
        "with $M = -\\infty$ above the diagonal in the decoder's self-attention (a piece cannot "
        "look at pieces not yet written) and $0$ elsewhere. Positions enter as sinusoids added "
        "to the embeddings (Section 3.5; see the **Positional Encoding** page). Training uses "
        "label smoothing 0.1 and the learning rate of Eq. 3:"
    )
    st.latex(
        r"\mathrm{lrate} = d_\text{model}^{-0.5}\cdot\min(\mathrm{step}^{-0.5},\ "
        r"\mathrm{step}\cdot\mathrm{warmup}^{-1.5})"
    )
    st.markdown(
        "**Beam search** keeps the $B$ best partial translations by score "
        "$\\sum_t \\log p(y_t \\mid y_{<t}, x)$; $B = 1$ is greedy decoding.\n\n"
        "**What to look at:** whether beam search finds a better-scoring translation than "
        "greedy; whether sentences with the same meaning (active and passive) land close "
        "together and sentences with swapped roles apart (the paper's Figure 2); whether the "
        "cross-attention runs roughly along the diagonal, bending where Spanish orders words "
        "differently (adjectives after nouns)."
    )
POSITIONAL_LINK = (
    "[Positional Encoding page](Positional_Encoding)"  # pages/8_Positional_Encoding.py
)
st.markdown(f"📐 The Transformer's sinusoidal positions are explained on the {POSITIONAL_LINK}.")

# ---- models ---------------------------------------------------------------------------------
loaded: dict[str, tr.LoadedTranslator] = {}
for name, label in tr.CHECKPOINTS.items():
    result = tr.load_translator(name, device)
    if isinstance(result, CheckpointError):
        st.error(f"{label}: {escape_markdown(str(result))}", icon="🚫")
    else:
        loaded[name] = result
if not loaded:
    st.stop()
names = list(loaded)

init_from_query(f"{P}_view", "view", "translate", options=list(VIEWS))
view = st.radio("View", list(VIEWS), format_func=VIEWS.get, key=f"{P}_view", horizontal=True)

# beam size: bounded, seeded from the link
if f"{P}_beam" not in st.session_state:
    st.session_state[f"{P}_beam"], beam_note = url_int("beam", 4, 1, MAX_BEAM)
    if beam_note:
        st.caption(beam_note)


# length penalty alpha (Vaswani et al. used 0.6; 0 ranks by the raw log-probability)
ALPHAS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
DEFAULT_ALPHA = 0.6
if f"{P}_alpha" not in st.session_state:
    wanted, alpha_note = url_float("alpha", DEFAULT_ALPHA, min(ALPHAS), max(ALPHAS))
    if alpha_note:
        st.caption(alpha_note)
    st.session_state[f"{P}_alpha"] = min(ALPHAS, key=lambda a: abs(a - wanted))


def decoding_options(column) -> tuple[int, float]:
    """The beam size and length penalty widgets (both bounded, both in the link)."""
    beam = column.slider(
        "Beam size", 1, MAX_BEAM, key=f"{P}_beam", help=f"1 is greedy decoding; at most {MAX_BEAM}."
    )
    alpha = column.select_slider(
        "Length penalty α",
        options=ALPHAS,
        key=f"{P}_alpha",
        help="Finished translations are ranked by score / ((5 + length) / 6)^α. With α = 0 "
        "(Sutskever et al.) raw log-probabilities favour short outputs; Vaswani et al. used "
        "α = 0.6 with beam 4 (Section 6.1). The cards' BLEU uses beam 4 and α = 0.",
    )
    return int(beam), float(alpha)


def model_selector(options: list[str], default: str) -> str:
    init_from_query(
        f"{P}_model", "model", default if default in options else options[0], options=options
    )
    if st.session_state[f"{P}_model"] not in options:
        st.session_state[f"{P}_model"] = options[0]
    return st.selectbox("Model", options, format_func=tr.CHECKPOINTS.get, key=f"{P}_model")


def read_text() -> str | None:
    cleaned = text_input(P, EXAMPLES, label="English sentence")
    show_notes(cleaned.notes)
    if cleaned.is_empty:
        st.info("Type an English sentence to translate.", icon="✍️")
        return None
    return cleaned.text


def show_source_notes(result) -> None:
    for note in result.source.notes:
        st.warning(escape_markdown(note), icon="⚠️")


# ---- Translate ------------------------------------------------------------------------------
if view == "translate":
    text = read_text()
    beam, alpha = decoding_options(st)
    publish_query({"view": view, "text": text or "", "beam": str(beam), "alpha": str(alpha)})
    if text is not None:
        rows, notes_shown = [], False
        for name in names:
            result = tr.translation(name, device, text, beam, alpha)
            if result is None:
                st.info("The sentence has no characters the models can read.", icon="✍️")
                break
            if not notes_shown:
                show_source_notes(result)
                notes_shown = True
            rows.append(
                {
                    "model": tr.CHECKPOINTS[name],
                    "translation": result.text,
                    "score (sum of log p)": round(result.score, 3),
                    "pieces": len(result.output_ids),
                    "ended with </s>": result.finished,
                    "ms": round(1000 * result.seconds, 1),
                }
            )
        if rows:
            # a table wraps long translations (a dataframe cut them at the cell's edge)
            st.table(
                pd.DataFrame(rows)
                .set_index("model")
                .style.format({"score (sum of log p)": "{:.2f}", "ms": "{:,.0f}"})
            )
            st.caption(
                f"Beam size {beam}. Scores are log-probabilities (higher is better) and are "
                "comparable only within one model. Timings are the first run; repeats are cached."
            )

    st.subheader("Our miniatures beside the papers")
    cards = {name: loaded[name].card for name in names}
    table = pd.DataFrame(
        [
            {
                "model": tr.CHECKPOINTS[name],
                "test BLEU (beam)": card.metrics["test_bleu"],
                "test BLEU (greedy)": card.metrics["test_bleu_greedy"],
                "test perplexity": card.metrics["test_perplexity"],
                "parameters": card["parameters"],
                "updates": card.recipe.get("steps"),
                "training time (s)": card.run.wall_time_s,
                "device": card.run.device,
                "paper": card.paper_figure.source,
                "paper's figure": card.paper_figure.metric,
            }
            for name, card in cards.items()
        ]
    )
    whole = st.column_config.NumberColumn(format="localized")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "parameters": whole,
            "updates": whole,
            "training time (s)": st.column_config.NumberColumn(format="%.0f"),
        },
    )
    checks = claim_checks(cards)
    if checks:
        st.markdown("**Do our miniatures reproduce the papers' claims?**")
        show_verdicts(checks)
        data = next(iter(cards.values())).data
        sizes = [card["parameters"] for card in cards.values()]
        low, high = f"{min(sizes) / 1e6:.1f}", f"{max(sizes) / 1e6:.1f}"
        size = low if low == high else f"{low}-{high}"
        hours = max(card.run.wall_time_s or 0 for card in cards.values()) / 3600
        st.caption(
            "The papers trained on WMT'14 (millions of human-translated pairs) for days on "
            f"GPUs; ours train on {data.get('train_pairs_used', 0):,} short apertium pairs "
            f"({escape_markdown(data.get('training_range', ''))}) for {update_budget(cards)} "
            f"(at most {hours:.1f} hours each) on one shared CPU thread, with {size} million "
            "parameters each. Only the direction of each claim can be compared, not the "
            "numbers. Time on one CPU thread does not show the Transformer's real advantage, "
            "which is "
            "parallelism over positions on a GPU. The wall times were measured on a shared "
            "two-core machine while other jobs ran, so they are only indicative."
        )
    first = next(iter(cards.values()))
    figure_with_data(
        figures.metrics_figure(
            [tr.CHECKPOINTS[n] for n in cards],
            [c["metrics"]["test_bleu"] for c in cards.values()],
            f"Test BLEU against apertium ({first['metrics']['test_pairs']} held-out pairs)",
        ),
        table,
        key=f"{P}_bleu_chart",
        filename="translation-bleu",
    )
    histories = {tr.CHECKPOINTS[n]: c["history"] for n, c in cards.items() if c.get("history")}
    if histories:
        c1, c2 = st.columns(2)
        frame = pd.DataFrame(
            [{"model": m, **h} for m, history in histories.items() for h in history]
        )
        with c1:
            figure_with_data(
                figures.curves_figure(histories, "step", "Dev perplexity per update"),
                frame,
                key=f"{P}_curve_steps",
                filename="translation-dev-by-update",
            )
        with c2:
            figure_with_data(
                figures.curves_figure(histories, "wall_s", "Dev perplexity per training second"),
                frame,
                key=f"{P}_curve_wall",
                filename="translation-dev-by-second",
            )
        target = max(h[-1]["dev_perplexity"] for h in histories.values())
        reached = {m: time_to_perplexity(h, target) for m, h in histories.items()}
        st.caption(
            f"Seconds until the dev perplexity first reached {target:.2f} (the worst final "
            "value): "
            + ", ".join(
                f"{escape_markdown(m)} {s:.0f} s" if s is not None else f"{m} never"
                for m, s in reached.items()
            )
            + "."
        )
    for name in names:
        model_card(tr.CHECKPOINTS[name], loaded[name].card)

# ---- Beam search tree -----------------------------------------------------------------------
elif view == "beam":
    text = read_text()
    c1, c2 = st.columns([1, 2])
    with c1:
        name = model_selector(names, "translate-transformer")
    with c2:
        beam, alpha = decoding_options(st)
    publish_query(
        {"view": view, "text": text or "", "beam": str(beam), "alpha": str(alpha), "model": name}
    )
    if text is not None:
        result = tr.translation(name, device, text, beam, alpha)
        greedy = tr.translation(name, device, text, 1, alpha)
        if result is None:
            st.info("The sentence has no characters the models can read.", icon="✍️")
        else:
            show_source_notes(result)
            c1, c2 = st.columns(2)
            c1.metric(f"Beam {beam}", f"{result.score:.3f}", help="sum of log-probabilities")
            c1.write(result.text)
            c2.metric(
                "Greedy (beam 1)",
                f"{greedy.score:.3f}",
                delta=f"{greedy.score - result.score:+.3f} vs beam",
                delta_color="off",
            )
            c2.write(greedy.text)
            if beam > 1 and result.output_ids != greedy.output_ids:
                st.success(
                    f"Beam search chose a different translation: log-probability "
                    f"{result.score:.3f} against greedy's {greedy.score:.3f}"
                    + (
                        f" (ranked by score / lp: {result.normalized_score:.3f} against "
                        f"{greedy.normalized_score:.3f})."
                        if alpha
                        else "."
                    ),
                    icon="🔎",
                )
            elif beam > 1:
                st.info("Here beam search returns the same translation as greedy decoding.")
            t = result.tree
            counts = pd.Series(t.status).value_counts().to_dict()
            st.caption(
                f"{len(t.parent)} nodes: "
                + ", ".join(f"{k} {v}" for k, v in counts.items())
                + f". Search stopped after {int(t.step.max())} steps (limit {t.max_len}). "
                "Red: the returned translation. Blue: hypotheses kept in the beam. Green: "
                "finished with </s>. Grey: candidates pruned at that step. Hover a node for "
                "its piece, log-probability and running score."
            )
            tree_args = (
                t.parent,
                t.step,
                t.rank,
                t.piece,
                t.token_log_prob,
                t.score,
                t.status,
                t.chosen,
            )
            figure_with_data(
                figures.beam_tree_figure(
                    *tree_args,
                    title=f"Beam search tree, beam {t.beam_size}: {tr.CHECKPOINTS[name]}",
                ),
                lambda: figures.tree_frame(*tree_args),
                key=f"{P}_tree",
                filename="beam-search-tree",
            )

# ---- LSTM sentence space --------------------------------------------------------------------
elif view == "space":
    st.markdown(
        "The paper's Figure 2 projects the LSTM's final hidden state of several phrases on two "
        "principal components: phrases with the same meaning land together, whatever their "
        "voice, while swapping who does what moves them apart. Write one sentence per line."
    )
    init_from_query(f"{P}_sentences", "sentences", "\n".join(SENTENCE_EXAMPLES))
    raw = st.text_area("Sentences (one per line)", key=f"{P}_sentences", height=180)
    cleaned = clean_text(raw)
    show_notes(cleaned.notes)
    lines = [" ".join(line.split()) for line in cleaned.text.splitlines() if line.strip()]
    if len(lines) > MAX_SENTENCES:
        st.info(f"Only the first {MAX_SENTENCES} sentences are projected.")
        lines = lines[:MAX_SENTENCES]
    publish_query({"view": view, "sentences": "\n".join(lines) if len(cleaned.text) < 900 else ""})
    lstms = [n for n in ("translate-lstm", "translate-lstm-reversed") if n in loaded]
    if len(lines) < 3:
        st.info("Write at least three sentences to project.", icon="✍️")
    elif not lstms:
        st.error("No LSTM translator is available.")
    else:
        coords, explained, rows = {}, {}, []
        for name in lstms:
            vectors, projection = tr.sentence_space(name, device, tuple(lines))
            coords[tr.CHECKPOINTS[name]] = projection.coords
            explained[tr.CHECKPOINTS[name]] = projection.explained
            for i, line in enumerate(lines):
                rows.append(
                    {
                        "model": tr.CHECKPOINTS[name],
                        "sentence": line,
                        "pc1": projection.coords[i, 0],
                        "pc2": projection.coords[i, 1],
                    }
                )
        figure_with_data(
            figures.sentence_space_figure(
                coords, lines, explained, "Encoder final states, projected by PCA"
            ),
            pd.DataFrame(rows),
            key=f"{P}_space",
            filename="lstm-sentence-space",
        )
        st.caption(
            "Numbers label the sentences in the order typed: "
            + " · ".join(f"{i + 1}. {escape_markdown(s)}" for i, s in enumerate(lines))
        )
        name = lstms[0]
        _, projection = tr.sentence_space(name, device, tuple(lines))
        distances = pd.DataFrame(
            np.round(projection.distances, 3),
            index=[f"{i + 1}" for i in range(len(lines))],
            columns=[f"{i + 1}" for i in range(len(lines))],
        )
        st.markdown(f"Cosine distances in the full space ({tr.CHECKPOINTS[name]}):")
        st.dataframe(distances, width="stretch")

    st.subheader("Forward against reversed, on one sentence")
    text = read_text()
    if text is not None and len(lstms) == 2:
        beam, alpha = int(st.session_state[f"{P}_beam"]), float(st.session_state[f"{P}_alpha"])
        series, rows = {}, []
        for name in lstms:
            result = tr.translation(name, device, text, beam, alpha)
            if result is None:
                break
            series[tr.CHECKPOINTS[name]] = (result.output_pieces, result.token_log_probs)
            rows.append(
                {
                    "model": tr.CHECKPOINTS[name],
                    "translation": result.text,
                    "score": round(result.score, 3),
                    "mean log p per piece": round(float(result.token_log_probs.mean()), 3),
                    "read order": " ".join(result.source.pieces[i] for i in result.read_order),
                }
            )
        if rows:
            st.table(  # wraps long translations
                pd.DataFrame(rows).set_index("model").style.format(precision=2)
            )
            figure_with_data(
                figures.logprob_figure(series, "How sure each LSTM is of every piece it writes"),
                pd.DataFrame(
                    [
                        {"model": m, "position": i + 1, "piece": p, "log_prob": v}
                        for m, (ps, vs) in series.items()
                        for i, (p, v) in enumerate(zip(ps, vs, strict=True))
                    ]
                ),
                key=f"{P}_logprobs",
                filename="forward-vs-reversed",
            )
            st.caption(
                "The reversed model reads the source back to front (see 'read order'); "
                "its first output pieces follow right after the first source words."
            )

# ---- Attention ------------------------------------------------------------------------------
else:
    text = read_text()
    beam, alpha = int(st.session_state[f"{P}_beam"]), float(st.session_state[f"{P}_alpha"])
    if "translate-lstm-attention" in loaded and text is not None:
        st.subheader("LSTM + attention: the alignment")
        result = tr.translation("translate-lstm-attention", device, text, beam, alpha)
        if result is not None and result.alignment is not None:
            show_source_notes(result)
            st.write(f"Translation: {result.text}")
            figure_with_data(
                figures.attention_heatmap(
                    result.alignment,
                    result.output_pieces,
                    result.source.pieces,
                    "LSTM attention alignment",
                    "output piece",
                    "source piece",
                ),
                figures.attention_frame(
                    result.alignment, result.output_pieces, result.source.pieces
                ),
                key=f"{P}_alignment",
                filename="lstm-alignment",
            )
    if "translate-transformer" in loaded:
        st.subheader("Transformer: every layer and head")
        st.markdown(f"📐 How the Transformer knows word order: the {POSITIONAL_LINK}.")
        config = loaded["translate-transformer"].card.config
        init_from_query(f"{P}_kind", "kind", "cross", options=list(ATTENTION_KINDS))
        c1, c2, c3 = st.columns([2, 1, 1])
        kind = c1.radio(
            "Attention", list(ATTENTION_KINDS), format_func=ATTENTION_KINDS.get, key=f"{P}_kind"
        )
        n_layers = config["n_decoder_layers"] if kind != "encoder" else config["n_encoder_layers"]
        for note in filter(
            None,
            [
                init_index_from_query(f"{P}_layer", "layer", n_layers),
                init_index_from_query(f"{P}_head", "head", config["n_heads"]),
            ],
        ):
            st.caption(note)  # init_index_from_query's notes are markdown-safe
        layer = int(c2.number_input("Layer", 1, n_layers, key=f"{P}_layer", step=1)) - 1
        head = int(c3.number_input("Head", 1, config["n_heads"], key=f"{P}_head", step=1)) - 1
        publish_query(
            {
                "view": view,
                "text": text or "",
                "kind": kind,
                "layer": str(layer + 1),
                "head": str(head + 1),
            }
        )
        if text is not None:
            result = tr.translation("translate-transformer", device, text, beam, alpha)
            if result is not None:
                st.write(f"Translation: {result.text}")
                if kind == "cross":
                    weights = result.cross_attention[layer, head]
                    rows, cols = result.output_pieces, result.source.pieces
                    titles = ("output piece", "source piece")
                elif kind == "encoder":
                    weights = result.encoder_attention[layer, head]
                    rows = cols = result.source.pieces
                    titles = ("query (source)", "key (source)")
                else:
                    weights = result.decoder_attention[layer, head]
                    rows, cols = result.output_pieces, result.input_pieces
                    titles = ("predicting", "decoder input")
                figure_with_data(
                    figures.attention_heatmap(
                        weights,
                        rows,
                        cols,
                        f"Transformer {kind} attention, layer {layer + 1}, head {head + 1}",
                        *titles,
                    ),
                    figures.attention_frame(weights, rows, cols),
                    key=f"{P}_attention",
                    filename=f"transformer-{kind}-l{layer + 1}-h{head + 1}",
                )
                if kind == "decoder":
                    st.caption(
                        "Above the diagonal every weight is exactly 0: the causal mask "
                        "keeps a piece from looking at pieces not yet written."
                    )
                st.download_button(
                    "Download every layer and head (JSON)",
                    data=lambda r=result: json.dumps(
                        {
                            "source": list(r.source.pieces),
                            "output": list(r.output_pieces),
                            "decoder_input": list(r.input_pieces),
                            "encoder_self": np.round(r.encoder_attention, 5).tolist(),
                            "decoder_self": np.round(r.decoder_attention, 5).tolist(),
                            "cross": np.round(r.cross_attention, 5).tolist(),
                        }
                    ).encode("utf-8"),
                    file_name="transformer-attention.json",
                    mime="application/json",
                    key=f"{P}_attention_json",
                )
    else:
        publish_query({"view": view, "text": text or ""})

ranges = {c.card.get("recipe", {}).get("max_pieces") for c in loaded.values()} - {None}
longest = f"{max(ranges)} pieces" if ranges else f"{MAX_WORDS} words"
st.caption(
    f"The models were trained on sentences of at most {longest}; longer ones are translated "
    "with a warning. Decoding always stops, at the latest after 2 × (source pieces) + 10 "
    "output pieces."
)
