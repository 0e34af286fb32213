"""Yang et al. (2016): hierarchical attention over the words and sentences of a document."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from nlpviz.analysis.han import MAX_SENTENCES, MAX_WORDS, han_vs_flat, scaled_word_attention
from nlpviz.data.user_input import (
    MAX_DOCUMENT_CHARS,
    UploadError,
    clean_text,
    read_document_upload,
)
from nlpviz.ui import han
from nlpviz.ui.claims import show_verdict
from nlpviz.ui.loaders import LoadedModel, load_model
from nlpviz.ui.sidebar import render_sidebar
from nlpviz.ui.untrusted import read_untrusted
from nlpviz.ui.widgets import (
    figure_with_data,
    init_from_query,
    model_card,
    page_tabs,
    publish_query,
    show_notes,
)
from nlpviz.viz import common as common_figures
from nlpviz.viz import han as figures
from nlpviz.viz.common import escape_markdown, toward_against

P = "han"
EXAMPLES = {
    "news": (
        "The government announced on Tuesday that it would spend an extra 2 billion on rail "
        "lines in the north of the country. The transport minister said the money would cut "
        "journey times and create thousands of jobs. Opposition leaders called the plan too "
        'little, too late. "We have heard these promises before," one of them told reporters '
        "outside parliament. Work on the first line is due to start next spring, officials said.",
        "Moscow and Beijing signed an agreement on energy cooperation on Friday. Under the deal, "
        "gas deliveries will rise over the next five years. The two leaders also discussed "
        "security in the region and trade in agricultural products. Analysts said the agreement "
        "reflects closer ties between the two countries.",
    ),
    "drugs": (
        "I have been taking this medication for three months. The first week I had headaches "
        "and felt dizzy. After that the side effects went away. My anxiety is much better now "
        "and I sleep through the night. I would recommend it to anyone who is struggling.",
        "This did nothing for my pain. I gained ten pounds and felt tired all day. My doctor "
        "switched me to something else after six weeks.",
    ),
}

st.set_page_config(page_title="HAN · nlpviz", page_icon="📑", layout="wide")
device = str(render_sidebar())

st.title("Hierarchical Attention Networks for Document Classification")
st.caption("Yang, Yang, Dyer, He, Smola & Hovy, NAACL 2016 · trained by nlpviz on open corpora")
st.markdown(
    "A document is made of sentences and a sentence of words, and not all of them matter. A "
    "**word encoder** (a bidirectional GRU) reads each sentence and a **word attention** picks "
    "the words that make up its meaning; a **sentence encoder** reads the sentence vectors and a "
    "**sentence attention** picks the sentences that decide the class. Paste a document and see "
    "which sentences, and which words in them, the model looked at."
)
with st.expander("The two attention layers (Equations 5-10 of the paper)"):
    st.latex(
        r"u_{it} = \tanh(W_w h_{it} + b_w), \quad "
        r"\alpha_{it} = \frac{\exp(u_{it}^\top u_w)}{\sum_t \exp(u_{it}^\top u_w)}, \quad "
        r"s_i = \sum_t \alpha_{it} h_{it}"
    )
    st.latex(
        r"u_i = \tanh(W_s h_i + b_s), \quad "
        r"\alpha_i = \frac{\exp(u_i^\top u_s)}{\sum_i \exp(u_i^\top u_s)}, \quad "
        r"v = \sum_i \alpha_i h_i, \quad p = \mathrm{softmax}(W_c v + b_c)"
    )
    st.markdown(
        "$h_{it}$ is the word encoder's state at word $t$ of sentence $i$; $u_w$ and $u_s$ are "
        'learned *context vectors* ("which word is informative?"). **What to look at:** the '
        "orange bars (sentence weights $\\alpha_i$; the paper's are red) and the blue words "
        "($\\alpha_{it}$). As in the "
        "paper, a word can be shaded by $\\sqrt{\\alpha_i}\\,\\alpha_{it}$ so that words of "
        "unimportant sentences fade. Attention shows where the model looked, not why it "
        "decided: compare it with the attribution tab."
    )

# ---- inputs -------------------------------------------------------------------------------
init_from_query(f"{P}_task", "task", "news", options=list(han.TASKS))
left, right = st.columns([3, 2])
with right:
    task = st.selectbox("Task", list(han.TASKS), format_func=han.TASKS.get, key=f"{P}_task")
    scale = st.toggle(
        "Shade words by √(sentence weight) × word weight, as the paper",
        value=True,
        key=f"{P}_scale",
    )
    collapse = st.slider(
        "Fold sentences with weight below",
        0.0,
        0.2,
        0.0,
        step=0.01,
        key=f"{P}_collapse",
        help="Long documents stay readable when low-weight sentences are folded.",
    )
init_from_query(f"{P}_text", "text", EXAMPLES[task][0])


def use_example() -> None:
    choice = st.session_state.get(f"{P}_example")
    if choice:
        st.session_state[f"{P}_text"] = choice


with left:
    st.selectbox(
        "Try an example",
        [d for docs in EXAMPLES.values() for d in docs],
        index=None,
        format_func=lambda d: d[:90] + "…",
        placeholder="Pick an example document…",
        key=f"{P}_example",
        on_change=use_example,
    )
    raw = st.text_area(
        "Document",
        key=f"{P}_text",
        height=180,
        help=f"Paste any document. Up to {MAX_DOCUMENT_CHARS:,} characters are read; the model "
        f"reads the first {MAX_SENTENCES} sentences and {MAX_WORDS} words of each.",
    )
    upload = st.file_uploader(
        "…or upload a .txt / .md document, or a .csv file with a 'text' column for many",
        type=["txt", "md", "csv"],
        key=f"{P}_upload",
    )

cleaned = clean_text(raw, max_chars=MAX_DOCUMENT_CHARS)
batch: tuple[str, ...] = ()
if upload is not None:
    try:
        documents = read_untrusted(
            read_document_upload, upload.name, upload.getvalue(), errors=(UploadError,)
        )
        show_notes(documents.notes)
        if documents.from_csv:
            batch = documents.documents
        else:
            cleaned = clean_text(documents.documents[0], max_chars=MAX_DOCUMENT_CHARS)
            st.info(f"Showing the uploaded document {escape_markdown(upload.name)}.", icon="📄")
    except UploadError as error:
        st.error(escape_markdown(str(error)), icon="🚫")
show_notes(cleaned.notes)
publish_query({"task": task, "text": cleaned.text if upload is None else ""})

loaded: dict[str, LoadedModel] = {}
for role in han.MODELS:
    result = load_model(han.checkpoint_name(role, task), device)
    if isinstance(result, LoadedModel):
        loaded[role] = result
    else:
        st.error(str(result), icon="🚫")
if "HAN" not in loaded:
    st.stop()
model = loaded["HAN"]
class_names = model.card["class_names"]

if task == "news":
    st.caption(
        "⚠️ Outlet attribution invites shortcuts: a model can learn an outlet's boilerplate "
        "(datelines, sign-offs, share buttons) instead of what the article says. nlpviz strips "
        "outlet names and the boilerplate it found before training, but style still leaks — "
        "the attention view is exactly how you catch it."
    )

read = None if cleaned.is_empty else han.reading(model.name, device, cleaned.text)
if cleaned.is_empty and not batch:
    st.warning("Paste a document above (or pick an example) to see where the model looks.")
elif not cleaned.is_empty and read is None:
    st.warning("This text has no words the model can read. Try a document in English.")
if read is not None:
    doc = read.document
    if doc.dropped_sentences:
        st.info(
            f"The document has {len(doc.sentences) + doc.dropped_sentences:,} sentences; the "
            f"model reads the first {MAX_SENTENCES}.",
            icon="✂️",
        )
    if doc.truncated_sentences:
        st.caption(
            f"{doc.truncated_sentences} sentence(s) are longer than {MAX_WORDS} words; the "
            "model reads their first words only."
        )
    if len(doc.sentences) == 1:
        st.caption(
            "This document has a single sentence, so its sentence attention is 1 by definition."
        )
    if not any(any(row) for row in read.known):
        st.warning(
            "None of these words is in the model's vocabulary: the prediction says little.",
            icon="❓",
        )

tabs = page_tabs(
    P,
    [
        "Document view",
        "Attention vs attribution",
        "Compare models",
        "Many documents",
        "Model cards",
    ],
)

with tabs[0]:
    if read is not None:
        doc = read.document
        c1, c2 = st.columns([1, 2])
        c1.metric("HAN predicts", class_names[read.predicted])
        c1.caption(f"P = {read.probabilities[read.predicted]:.1%}")
        probs = read.probabilities[None, :]
        figure_with_data(
            common_figures.probability_bars(["HAN"], class_names, probs, "Class probabilities"),
            pd.DataFrame(probs, columns=[f"P({c})" for c in class_names]),
            f"{P}_fig_probs",
            "han-probabilities",
        )
        st.markdown(
            f"**{len(doc.sentences)} sentences, {doc.num_words:,} words.** Orange bar: sentence "
            "attention; blue: word attention. Hover for the exact weights."
        )
        st.html(
            figures.document_html(
                doc.sentences, read.sentence_attention, read.word_attention, scale, collapse
            )
        )

        def document_data() -> pd.DataFrame:
            return figures.document_frame(
                doc.sentence_texts, doc.sentences, read.sentence_attention, read.word_attention
            )

        figure_with_data(
            figures.sentence_attention_bars(doc.sentence_texts, read.sentence_attention),
            lambda: pd.DataFrame(
                {
                    "sentence": range(1, len(doc.sentences) + 1),
                    "sentence_attention": read.sentence_attention,
                    "sentence_text": doc.sentence_texts,
                }
            ),
            f"{P}_fig_sentences",
            "han-sentence-attention",
        )
        figure_with_data(
            figures.word_attention_heatmap(
                doc.sentences, read.sentence_attention, read.word_attention, scale
            ),
            document_data,
            f"{P}_fig_words",
            "han-word-attention",
        )

with tabs[1]:
    st.markdown(
        "**Attention is not explanation.** Integrated Gradients (Captum) on the word vectors "
        "measures how much each word moved the probability; the rank correlation (Spearman ρ) "
        "between each word's scaled attention and the size of its attribution shows how far "
        "the two agree on *this* document."
    )
    if read is not None:
        c1, c2 = st.columns(2)
        choice = c1.selectbox(
            "Explain the class",
            ["predicted", *range(len(class_names))],
            format_func=lambda i: (
                f"the predicted one ({class_names[read.predicted]})"
                if i == "predicted"
                else class_names[i]
            ),
            key=f"{P}_ig_target",
        )
        target = read.predicted if choice == "predicted" else int(choice)
        n_steps = c2.slider("Integration steps", 10, 200, 30, step=10, key=f"{P}_ig_steps")
        with st.spinner("Integrating gradients over the document…"):
            found = han.attention_vs_attribution(
                model.name, device, cleaned.text, target, int(n_steps)
            )
        ig = found.attribution
        if ig is not None:
            m1, m2, m3, m4 = st.columns(4)
            m1.metric("Spearman ρ (attention, |IG|)", f"{found.rho:+.2f}")
            m2.metric(
                f"P({class_names[target]} | doc) − P(… | padding)",
                f"{ig.output_at_input - ig.output_at_baseline:+.3f}",
            )
            m3.metric("sum of attributions", f"{ig.flat().sum():+.3f}")
            m4.metric("convergence delta", f"{ig.delta:+.1e}")
            tokens = [t for sentence in read.document.sentences for t in sentence]
            attention = scaled_word_attention(read)
            scores = ig.flat()
            figure_with_data(
                figures.attention_vs_attribution(
                    tokens,
                    attention,
                    scores,
                    found.rho,
                    toward_against(target, len(class_names)),
                ),
                pd.DataFrame({"word": tokens, "scaled_attention": attention, "ig": scores}),
                f"{P}_fig_att_ig",
                "han-attention-vs-ig",
            )
            top_att = np.argsort(-attention, kind="stable")[:10]
            top_ig = np.argsort(-np.abs(scores), kind="stable")[:10]
            a, b = st.columns(2)
            a.markdown("**Most attended words**")
            a.dataframe(
                pd.DataFrame(
                    {"word": [tokens[i] for i in top_att], "attention": attention[top_att]}
                ),
                hide_index=True,
            )
            b.markdown("**Largest attributions**")
            b.dataframe(
                pd.DataFrame({"word": [tokens[i] for i in top_ig], "IG": scores[top_ig]}),
                hide_index=True,
            )
            st.caption(f"{ig.n_steps} steps in {found.seconds:.1f} s (cached afterwards).")

with tabs[2]:
    rows = []
    for role, m in loaded.items():
        probabilities = None
        if read is not None:
            probabilities = (
                read.probabilities
                if role == "HAN"
                else getattr(
                    han.baseline_probabilities(m.name, device, cleaned.text), "probabilities", None
                )
            )
        rows.append((role, m, probabilities))
    with_probs = [(r, p) for r, _, p in rows if p is not None]
    if with_probs:
        probs = np.stack([p for _, p in with_probs])
        figure_with_data(
            common_figures.probability_bars(
                [r for r, _ in with_probs], class_names, probs, "Every model on your document"
            ),
            pd.DataFrame(probs, columns=[f"P({c})" for c in class_names]).assign(
                model=[r for r, _ in with_probs]
            ),
            f"{P}_fig_compare",
            "han-compare",
        )
    table = pd.DataFrame(
        [
            {
                "model": role,
                "our test accuracy": 100 * m.card.metrics["test_accuracy"],
                "majority-class baseline": 100 * m.card.metrics["test_majority_baseline"],
                "test documents": m.card.metrics["test_size"],
            }
            for role, m, _ in rows
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.1f%%")
            for c in ("our test accuracy", "majority-class baseline")
        },
    )
    n = model.card.metrics["test_size"]
    accuracies = {role: m.card.metrics["test_accuracy"] for role, m, _ in rows}
    if len(accuracies) > 1:
        show_verdict(han_vs_flat(accuracies, n))
    st.markdown(
        "The paper (Yang et al. 2016, Table 2) reports HAN ahead of every flat model on six "
        "review corpora, e.g. Yelp'15 accuracy: HN-ATT 71.0 vs CNN-word 61.5 and LSTM-GRNN "
        "67.6; IMDB: 49.4 vs 37.6 and 45.3. Those corpora are not available here, so we check "
        "the *ordering* on ours rather than the numbers."
    )

with tabs[3]:
    if not batch:
        st.info("Upload a .csv file with a 'text' column above to classify many documents.")
    else:
        probabilities, top, docs = han.classify_file(model.name, device, batch)
        frame = pd.DataFrame({"text": [t[:200] for t in batch]})
        readable = ~np.isnan(probabilities).all(axis=1)
        predicted = np.nan_to_num(probabilities, nan=-1.0).argmax(axis=1)
        frame["prediction"] = [
            class_names[p] if ok else "(no words)"
            for p, ok in zip(predicted, readable, strict=True)
        ]
        for c, name in enumerate(class_names):
            frame[f"P({name})"] = probabilities[:, c].round(4)
        frame["top-attended sentence"] = [
            d.sentence_texts[i] if i is not None else "" for d, i in zip(docs, top, strict=True)
        ]
        st.success(f"Read {len(frame):,} documents with the HAN.")
        st.dataframe(frame, hide_index=True)
        st.download_button(
            "Download the predictions (CSV)",
            frame.to_csv(index=False).encode("utf-8"),
            file_name=f"han-{task}-predictions.csv",
            mime="text/csv",
            key=f"{P}_batch_csv",
        )

with tabs[4]:
    histories = {r: m.card.history for r, m in loaded.items() if m.card.history}
    if histories:
        figure_with_data(
            common_figures.learning_curves(histories),
            pd.DataFrame([dict(h, model=r) for r, hs in histories.items() for h in hs]),
            f"{P}_fig_curves",
            "han-learning-curves",
        )
    for role, m in loaded.items():
        model_card(role, m.card)
