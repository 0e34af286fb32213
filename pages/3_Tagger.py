"""Ma & Hovy (2016): BiLSTM-CNN-CRF sequence tagging, its emissions, transitions and lattice."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import streamlit as st

from nlpviz.analysis.tagger import (
    MAX_TOKENS,
    PAD_CHAR,
    PAPER_ABLATION,
    PAPER_ABLATION_SOURCE,
    ablation_summary,
    char_windows,
    looks_like_conll,
    paper_ablation_summary,
    score_against_gold,
    span_errors,
    split_text,
)
from nlpviz.checkpoints import checkpoint_root
from nlpviz.data.conll import ConllError, read_conll_upload, validate_tags
from nlpviz.data.documents import split_sentences
from nlpviz.data.user_input import MAX_BATCH_ITEMS, MAX_UPLOAD_MB, UploadError, decode_bytes
from nlpviz.ui import tagger as tg
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
from nlpviz.ui.widgets import text_input as text_box
from nlpviz.viz import tagger as figures
from nlpviz.viz.common import escape_markdown

P = "tag"
EXAMPLES = (
    "Just landed in New York with @sarah for the Taylor Swift concert at Madison Square Garden !!",
    "Apple chief executive Tim Cook met European Commission officials in Brussels on Monday.",
    "lol cant believe the Lakers lost again , heading to Chicago tmrw",
    "The German chancellor Angela Merkel visited Paris and spoke with Emmanuel Macron.",
)

st.set_page_config(page_title="BiLSTM-CNN-CRF · nlpviz", page_icon="🏷️", layout="wide")
device = str(render_sidebar())

st.title("End-to-end Sequence Labeling via Bi-directional LSTM-CNNs-CRF")
st.caption(
    "Xuezhe Ma & Eduard Hovy, ACL 2016 · three variants of the paper's ablation trained by nlpviz"
)
st.markdown(
    "Each word is read twice: a **character CNN** (width-3 filters, max-pooled over the word's "
    "letters) turns its spelling into a vector, which is joined to the word's GloVe vector; a "
    "**bidirectional LSTM** reads the sentence and gives every token a score for every tag, the "
    "*emissions* P. A **CRF** on top adds learned *transition* scores A between neighbouring "
    "tags and picks the best whole sequence with **Viterbi**, so it can refuse I-PER after "
    "B-LOC even where the per-token scores prefer it. Type a sentence and see both parts."
)
with st.expander("The CRF in two equations", expanded=False):
    st.latex(r"s(\mathbf{x}, \mathbf{y}) = \sum_{i} A_{y_{i-1}, y_i} + \sum_{i} P_{i, y_i}")
    st.latex(
        r"p(\mathbf{y} \mid \mathbf{x}) = \frac{\exp s(\mathbf{x}, \mathbf{y})}"
        r"{Z(\mathbf{x})}, \quad Z = \sum_{\mathbf{y}'} \exp s(\mathbf{x}, \mathbf{y}'), \quad"
        r"\mathbf{y}^* = \arg\max_{\mathbf{y}} s(\mathbf{x}, \mathbf{y}) \;\text{(Viterbi)}"
    )
    st.markdown(
        "$P_{i,y}$ is the BiLSTM's emission score of tag $y$ at token $i$; $A_{y',y}$ the "
        "transition score from tag $y'$ to $y$ (plus start and end scores). Moves the BIO "
        "scheme forbids (O → I-X, B-X → I-Y) get $-10^4$. $Z$ and the per-token marginals "
        "$p(y_i \\mid \\mathbf{x})$ come from the forward-backward algorithm. Without the CRF "
        "(BLSTM, BLSTM-CNN) each token takes the argmax of its emissions on its own."
    )

# ---- inputs ---------------------------------------------------------------------------------
root = checkpoint_root()
offered = [
    t
    for t in tg.TASKS
    if t == "wnut-ner" or any((root / n).is_dir() for n in tg.CHECKPOINTS[t].values())
]
init_from_query(f"{P}_task", "task", offered[0], options=offered)
if st.session_state[f"{P}_task"] not in offered:
    st.session_state[f"{P}_task"] = offered[0]
left, right = st.columns([3, 2])
with right:
    task = st.selectbox("Task", offered, format_func=tg.TASKS.get, key=f"{P}_task")
    init_from_query(f"{P}_variant", "variant", tg.FULL, options=list(tg.VARIANTS))
    variant = st.radio(
        "Variant to inspect",
        list(tg.VARIANTS),
        key=f"{P}_variant",
        horizontal=True,
        format_func=tg.VARIANTS.get,
        help="BLSTM: words only, softmax per token; BLSTM-CNN: plus the character CNN; "
        "BLSTM-CNN-CRF: plus the CRF over whole tag sequences (the paper's model).",
    )
with left:
    cleaned = text_box(P, EXAMPLES, label="Sentence to tag")
show_notes(cleaned.notes)
publish_query({"task": task, "variant": variant, "text": cleaned.text})
if task != "wnut-ner":
    st.caption(
        "**Silver labels:** this task's training tags were produced by spaCy's small English "
        "model on news articles, not by people; the tagger learns to imitate spaCy."
    )

loaded: dict[str, LoadedModel] = {}
load_errors: dict[str, str] = {}
for name_variant, name in tg.CHECKPOINTS[task].items():
    result = load_model(name, device)
    if isinstance(result, LoadedModel):
        loaded[name_variant] = result
    else:
        load_errors[name_variant] = str(result)
        if name_variant == variant:
            st.error(str(result), icon="🚫")
if variant not in loaded:
    st.stop()
chosen = loaded[variant]
kind = chosen.card.get("kind", "ner")

text = split_text(cleaned.text)
sentence: tuple[str, ...] = text.sentences[0] if text.sentences else ()
current = None
if cleaned.is_empty:
    st.warning("Type or paste a sentence above (or pick an example) to see the tagger at work.")
elif not sentence:
    st.warning("This text has no words, numbers or punctuation to tag. Try a sentence.")
else:
    if len(text.sentences) > 1 or text.dropped:
        cut = f" ({text.dropped:,} tokens beyond the limit are cut)" if text.dropped else ""
        st.info(
            f"The views read the first sentences, up to {MAX_TOKENS} tokens in all{cut}. The "
            f"text has {len(text.sentences)} such sentence(s); the lattice shows the one you pick.",
            icon="✂️",
        )
    if len(text.sentences) > 1:
        which = st.selectbox(
            "Sentence to inspect",
            range(len(text.sentences)),
            format_func=lambda i: f"{i + 1}: " + " ".join(text.sentences[i])[:80],
            key=f"{P}_sentence",
        )
        sentence = text.sentences[min(int(which), len(text.sentences) - 1)]
    current = tg.reading(chosen.name, device, sentence)
    if not any(current.known):
        st.warning(
            "None of these words is in the model's vocabulary: every word vector is the same "
            "unknown-word vector, so only the characters (CNN variants) and the context carry "
            "information.",
            icon="❓",
        )
    elif not all(current.known):
        unknown = sorted({t for t, k in zip(current.tokens, current.known, strict=True) if not k})
        st.caption(
            "Words not in the vocabulary (read as `<unk>`): "
            + ", ".join(escape_markdown(t) for t in unknown[:12])
        )

tabs = page_tabs(
    P, ["Tags", "CRF: emissions, transitions, lattice", "Characters", "Your file", "Model cards"]
)

# ---- tags -----------------------------------------------------------------------------------
with tabs[0]:
    if current is not None:
        st.subheader(f"{tg.VARIANTS[variant]} tags")
        st.html(figures.entity_html(current.tokens, current.labels))
        st.markdown("**Every variant on this sentence**")
        table = pd.DataFrame({"token": list(current.tokens)})
        for v, m in loaded.items():
            table[tg.VARIANTS[v]] = tg.tags_of(m.name, device, (current.tokens,))[0]
        table["confidence"] = np.round(current.confidence, 3)
        st.dataframe(table, hide_index=True)
        st.caption(
            f"*confidence* is the {tg.VARIANTS[variant]}'s probability of its chosen tag: the CRF "
            "marginal p(yᵢ | x) with a CRF, the softmax of the emissions without one."
        )
        if all(not m.startswith(("B-", "I-")) for m in current.labels) and kind == "ner":
            st.caption("No entity found in this sentence.")

# ---- CRF ------------------------------------------------------------------------------------
with tabs[1]:
    if current is None:
        st.info("Type a sentence to see its emissions and the CRF lattice.")
    else:
        figure_with_data(
            figures.emission_heatmap(current.emissions, current.tokens, current.tags),
            functools.partial(
                figures.emission_frame, current.emissions, current.tokens, current.tags
            ),
            f"{P}_fig_emissions",
            f"tagger-{variant}-emissions",
        )
        changed = current.changed_by_crf
        if current.transitions is None:
            st.info(
                f"{tg.VARIANTS[variant]} has no CRF: each token simply takes its highest "
                "emission. Pick BLSTM-CNN-CRF to see transitions and the lattice.",
                icon="ℹ️",
            )
        else:
            if changed:
                st.markdown(
                    "**The CRF changed these tags** (emission-only argmax → Viterbi): "
                    + ", ".join(
                        f"*{escape_markdown(current.tokens[i])}* "
                        f"{escape_markdown(current.tags[int(np.argmax(current.emissions[i]))])}"
                        f" → {escape_markdown(current.labels[i])}"
                        for i in changed
                    )
                )
            else:
                st.caption(
                    "Here Viterbi agrees with the per-token argmax of the emissions at every "
                    "token: the transitions did not overrule any local decision."
                )
            figure_with_data(
                figures.transition_heatmap(current.transitions, current.tags),
                functools.partial(figures.transition_frame, current.transitions, current.tags),
                f"{P}_fig_transitions",
                f"tagger-{variant}-transitions",
            )
            st.caption(
                "Colours span the learned scores only; ✕ marks moves the BIO scheme forbids "
                "(score −10⁴, never taken). Red: the CRF likes the move, blue: it dislikes it."
            )
            k = st.slider("Paths to draw (k best)", 1, 5, 3, key=f"{P}_k")
            paths = list(current.k_best[:k])
            figure_with_data(
                figures.lattice(
                    current.tokens, current.tags, paths, current.emissions, current.marginals
                ),
                functools.partial(
                    figures.lattice_frame,
                    current.tokens,
                    current.tags,
                    paths,
                    current.emissions,
                    current.marginals,
                ),
                f"{P}_fig_lattice",
                f"tagger-{variant}-lattice",
            )
            st.caption(
                "Node size and shade: the marginal p(yᵢ = tag | x). The bold line is the Viterbi "
                "path; dotted lines are the next best whole sequences, with their scores "
                "s(x, y) in the legend."
            )

# ---- characters -----------------------------------------------------------------------------
with tabs[2]:
    if current is None:
        st.info("Type a sentence to see what the character CNN picked in each word.")
    elif current.char_activations is None:
        st.info(
            f"{tg.VARIANTS[variant]} reads no characters. Pick BLSTM-CNN or BLSTM-CNN-CRF.",
            icon="ℹ️",
        )
    else:
        position = st.selectbox(
            "Word",
            range(len(current.tokens)),
            format_func=lambda i: f"{i}: {current.tokens[i]}",
            key=f"{P}_word",
        )
        position = min(int(position), len(current.tokens) - 1)
        top = char_windows(
            current.tokens[position],
            current.char_activations[position],
            current.char_argmax[position],
            current.char_window,
            top=10,
        )
        st.markdown(
            f"The {len(top)} strongest of the {current.char_activations.shape[1]} character "
            "filters and the window of characters each one max-pooled "
            f"({PAD_CHAR} = padding around the word):"
        )
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "filter": f.filter,
                        "characters": f.trigram,
                        "pooled activation": round(f.activation, 3),
                    }
                    for f in top
                ]
            ),
            hide_index=True,
        )

# ---- upload ---------------------------------------------------------------------------------
with tabs[3]:
    upload = st.file_uploader(
        "Upload plain text (.txt, tagged sentence by sentence) or a CoNLL file (.conll, or .txt "
        "with one 'token<TAB>tag' line per token and blank lines between sentences) to score "
        f"the model against your gold tags (up to {MAX_UPLOAD_MB} MB, first "
        f"{MAX_BATCH_ITEMS:,} sentences)",
        type=["txt", "conll"],
        key=f"{P}_upload",
    )
    if upload is not None:
        try:
            raw, _, notes = decode_bytes(upload.getvalue())
        except UploadError as error:
            st.error(escape_markdown(str(error)), icon="🚫")
            raw, notes = None, []
        show_notes(notes)
        if raw is not None and looks_like_conll(upload.name, raw):
            try:
                read = read_untrusted(
                    read_conll_upload, raw, label="your CoNLL file", errors=(ConllError,)
                )
                gold = list(read.sentences)
                show_notes(read.notes)
            except ConllError as error:
                gold = None
                st.error(
                    f"This CoNLL file cannot be read: {escape_markdown(str(error))}", icon="🚫"
                )
            if gold is not None and not gold:
                st.error("The CoNLL file has no token lines.", icon="🚫")
            elif gold:
                gold = gold[:MAX_BATCH_ITEMS]
                use_pos = kind == "pos" and all(s.pos is not None for s in gold)
                gold_tags = [s.pos if use_pos else s.tags for s in gold]
                model_tags = list(chosen.card.config["tags"])
                if kind == "pos":
                    unknown_tags = sorted({t for ts in gold_tags for t in ts} - set(model_tags))
                else:
                    unknown_tags = validate_tags(gold, set(model_tags))
                if unknown_tags:
                    st.error(
                        "The file uses tags this model does not know: "
                        + ", ".join(escape_markdown(t) for t in unknown_tags[:20])
                        + ". The model's tags are "
                        + ", ".join(escape_markdown(t) for t in model_tags)
                        + ".",
                        icon="🚫",
                    )
                else:
                    predicted = tg.tag_file(chosen.name, device, [s.tokens for s in gold])
                    scores = score_against_gold(gold_tags, predicted)
                    if kind == "pos":
                        st.metric("Token accuracy", f"{scores['accuracy']:.1%}")
                        st.caption(f"{tg.VARIANTS[variant]} on {len(gold):,} sentences.")
                        errors = pd.DataFrame(
                            [
                                {"sentence": n + 1, "token": tok, "gold": g, "model": p}
                                for n, (s, gs, ps) in enumerate(
                                    zip(gold, gold_tags, predicted, strict=True)
                                )
                                for tok, g, p in zip(s.tokens, gs, ps, strict=True)
                                if g != p
                            ]
                        )
                    else:
                        c1, c2, c3, c4 = st.columns(4)
                        c1.metric("Entity F1", f"{scores['f1']:.1%}")
                        c2.metric("Precision", f"{scores['precision']:.1%}")
                        c3.metric("Recall", f"{scores['recall']:.1%}")
                        c4.metric("Token accuracy", f"{scores['accuracy']:.1%}")
                        st.caption(
                            f"{tg.VARIANTS[variant]} on {len(gold):,} sentences: "
                            f"{scores['tp']} entities right, {scores['fp']} spurious, "
                            f"{scores['fn']} missed (exact type and boundaries, as conlleval)."
                        )
                        errors = pd.DataFrame(
                            span_errors([s.tokens for s in gold], gold_tags, predicted)
                        )
                    if errors.empty:
                        st.success("No errors.")
                    else:
                        st.dataframe(errors, hide_index=True)
                        st.download_button(
                            "Download the errors (CSV)",
                            errors.to_csv(index=False).encode("utf-8"),
                            file_name=f"tagger-{variant}-errors.csv",
                            mime="text/csv",
                            key=f"{P}_errors_csv",
                        )
        elif raw is not None:
            split = [split_text(s, 10 * MAX_TOKENS) for s in split_sentences(raw)]
            sentences = [s.sentences[0] for s in split if s.sentences][:MAX_BATCH_ITEMS]
            if not sentences:
                st.error("The file has no words to tag.", icon="🚫")
            else:
                predicted = tg.tag_file(chosen.name, device, sentences)
                frame = pd.DataFrame(
                    [
                        {"sentence": n + 1, "token": tok, "tag": tag}
                        for n, (toks, tags) in enumerate(zip(sentences, predicted, strict=True))
                        for tok, tag in zip(toks, tags, strict=True)
                    ]
                )
                st.success(f"Tagged {len(sentences):,} sentences with {tg.VARIANTS[variant]}.")
                st.dataframe(frame, hide_index=True)
                st.download_button(
                    "Download the tags (CSV)",
                    frame.to_csv(index=False).encode("utf-8"),
                    file_name=f"tagger-{variant}-tags.csv",
                    mime="text/csv",
                    key=f"{P}_tags_csv",
                )

# ---- cards ----------------------------------------------------------------------------------
PAPER_BENCHMARK = {"pos": "WSJ POS", "ner": "CoNLL-2003 NER"}
with tabs[4]:
    metric_key = "test_accuracy" if kind == "pos" else "test_f1"
    metric_name = "accuracy" if kind == "pos" else "entity F1"
    rows, scores_by_variant = [], {}
    for v, m in loaded.items():
        value = m.card.metrics.get(metric_key)
        if value is not None:
            scores_by_variant[tg.VARIANTS[v]] = value
        rows.append(
            {
                "variant": tg.VARIANTS[v],
                f"our test {metric_name}": None if value is None else 100 * value,
                f"paper, same variant ({PAPER_BENCHMARK[kind]})": 100
                * PAPER_ABLATION[tg.VARIANTS[v]][kind],
                "test sentences": m.card.metrics.get("test_size"),
            }
        )
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.2f%%")
            for c in (f"our test {metric_name}", f"paper, same variant ({PAPER_BENCHMARK[kind]})")
        },
    )
    st.caption(f"Paper figures: {PAPER_ABLATION_SOURCE}; the paper's BRNN row is not trained here.")
    st.markdown(
        "**"
        + ablation_summary(scores_by_variant, metric_name)
        + "** "
        + paper_ablation_summary(kind)
        + " The paper's figures are on its own benchmarks (CoNLL-2003 NER or WSJ POS, 100-d "
        "GloVe, full-size network); ours are tiny models on "
        + ("noisy tweets (WNUT-16), a much harder task" if task == "wnut-ner" else "silver news")
        + ", so compare the variants with each other, not the digits with the paper."
    )
    for v, error in load_errors.items():
        st.error(f"{tg.VARIANTS[v]} is not available: {error}", icon="🚫")
    for v, m in loaded.items():
        model_card(tg.VARIANTS[v], m.card)
