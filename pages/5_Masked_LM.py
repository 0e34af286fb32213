"""Devlin et al. (2019) and Liu et al. (2019): masked language models, BERT and RoBERTa.

DeBERTa and DeBERTaV3's generator are shown beside them: the four miniatures predict the same
hidden word, their masks are drawn statically or dynamically, and their cards are compared.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from nlpviz.analysis.encoders import (
    PAPER_CLAIMS,
    TOP_K,
    comparison_rows,
    continuation_note,
    default_word,
    encode_text,
    mask_schedule,
    mask_window,
    mask_word,
    ordering_verdicts,
    pretraining_steps,
    typed_masks,
    words_of,
)
from nlpviz.checkpoints import CheckpointError
from nlpviz.ui import encoders as enc
from nlpviz.ui.claims import show_verdicts
from nlpviz.ui.sidebar import render_sidebar
from nlpviz.ui.url_numbers import url_int
from nlpviz.ui.widgets import (
    figure_with_data,
    init_from_query,
    model_card,
    page_tabs,
    publish_query,
    show_notes,
    text_input,
)
from nlpviz.viz import encoders as figures
from nlpviz.viz.common import escape_markdown, human_token, quoted

P = "mlm"
EXAMPLES = (
    "The film was a delight from start to finish, and the actors clearly enjoyed themselves.",
    "The government announced on Tuesday that it would spend more money on schools.",
    "To be, or not to be, that is the [MASK].",
    "The plot is thin, but the music and the photography are wonderful.",
)
EXAMPLE_WORDS = {EXAMPLES[0]: 1, EXAMPLES[1]: 1, EXAMPLES[3]: 3}  # film, government, thin
MAX_PILLS = 60  # longer texts pick their word from a list instead of clickable pills
SECONDS_PER_TOKEN_STEP = {"cpu": 5e-4, "cuda": 5e-5}  # IG prior until a run is measured


def label_of(design: str) -> str:
    label = enc.DESIGNS[design][1]
    return f"{label} (generator)" if design == "debertav3" else label


st.set_page_config(page_title="Masked LM · nlpviz", page_icon="🎭", layout="wide")
device = str(render_sidebar())

st.title("Masked language models: BERT and RoBERTa")
st.caption(
    "Devlin, Chang, Lee & Toutanova, NAACL 2019 · Liu et al., 2019 · shown beside DeBERTa "
    "(He et al., ICLR 2021) and DeBERTaV3's generator (He, Gao & Chen, ICLR 2023) · four "
    "miniatures trained by nlpviz on open corpora"
)
st.markdown(
    "BERT learns language by filling in blanks: hide a word, read the **whole** text on both "
    "sides of the gap, and guess what was there. Pick any word of your text and see what four "
    "encoders of the same size, trained on the same data (for how many steps each: **How the "
    "four compare**), would put in its place and how sure they are. RoBERTa kept BERT's model "
    "and changed how it is trained; DeBERTa changed the attention; DeBERTaV3 changed the task."
)
with st.expander("BERT's masked LM and next-sentence prediction, and what RoBERTa changed"):
    st.markdown(
        "**Masked LM (BERT, Section 3.1).** 15% of the tokens of each training sequence are "
        "chosen. Of those, 80% are replaced by [MASK], 10% by a random token and 10% are left "
        "as they are, so the model cannot learn that only [MASK] positions matter (there is no "
        "[MASK] when it is fine-tuned later). The loss is the cross-entropy of the original "
        "token at the chosen positions $M$ only:"
    )
    st.latex(
        r"\mathcal{L}_\text{MLM} = -\frac{1}{|M|}\sum_{i \in M}"
        r"\log p_\theta\!\left(x_i \mid \tilde{x}\right), \qquad "
        r"p_\theta(\cdot \mid \tilde{x}) = \mathrm{softmax}\!\left(E\, g(h_i) + b\right)"
    )
    st.markdown(
        "$\\tilde{x}$ is the corrupted sequence, $h_i$ the encoder's last hidden state at "
        "position $i$, $g$ a small dense + GELU + LayerNorm transform and $E$ the input "
        "embedding matrix (tied).\n\n"
        "**Next-sentence prediction (NSP).** BERT reads two segments A and B and a second head "
        "on [CLS] guesses whether B really followed A (50%) or is a random segment (50%).\n\n"
        "**What RoBERTa changed (Liu et al. 2019, Section 4).** *Dynamic masking*: a new mask "
        "every time a sequence is seen (BERT drew masks once while preparing the data). *No "
        "NSP*: inputs are full sentences packed up to the window, even across documents. "
        "*Byte-level BPE*: 50K pieces built from bytes, so every string, emoji included, can be "
        "written without an unknown token. Also bigger batches, more data, longer training."
    )
    st.markdown(
        "**The tokenizers differ.** Our BERT, DeBERTa and DeBERTaV3 use a wordpiece-like "
        "vocabulary: a piece inside a word is shown with `##`, and a character the vocabulary "
        "never saw becomes **[UNK]**. RoBERTa's byte-level BPE marks a leading space with `Ġ` "
        "and falls back to raw bytes (`<0xF0>` …) instead of an unknown token. The "
        "*Predict* tab shows how each one splits your text."
    )

# ---- models ---------------------------------------------------------------------------------
loaded: dict[str, enc.LoadedEncoder] = {}
for design in enc.DESIGNS:
    result = enc.load_encoder(design, device)
    if isinstance(result, CheckpointError):
        st.error(f"{enc.DESIGNS[design][1]}: {escape_markdown(str(result))}", icon="🚫")
    else:
        loaded[design] = result
if not loaded:
    st.warning("No encoder checkpoint could be loaded, so there is nothing to show yet.")
    st.stop()

# ---- inputs ---------------------------------------------------------------------------------
left, right = st.columns([3, 2])
with left:
    cleaned = text_input(P, EXAMPLES, label="Your text (write [MASK] yourself, or pick a word)")
show_notes(cleaned.notes)
text = cleaned.text
words = words_of(text)
n_typed = typed_masks(text)
has_words = any(any(ch.isalnum() for ch in w) for w in words)

word_key = f"{P}_word"
if st.session_state.get(f"{P}_word_for") != text:
    # A new text: the URL's word on the first run, else the page's default word for the text.
    asked = None
    if f"{P}_word_for" not in st.session_state and st.query_params.get("word"):
        number, refused = url_int("word", 0, 0, max(len(words) - 1, 0))
        asked = None if refused else number
    fallback = EXAMPLE_WORDS.get(text, default_word(words))
    st.session_state[word_key] = (
        asked if asked is not None and 0 <= asked < len(words) else fallback
    )
    st.session_state[f"{P}_word_for"] = text
if not isinstance(st.session_state.get(word_key), int) or not (
    0 <= st.session_state[word_key] < max(1, len(words))
):
    st.session_state[word_key] = default_word(words)

word_index: int | None = None
which = 0
with right:
    if cleaned.is_empty:
        st.info("Type a sentence to choose a word to hide.", icon="✍️")
    elif n_typed:
        st.markdown(
            f"Your text has **{n_typed}** mask token{'s' if n_typed > 1 else ''}: the models "
            "predict what goes there (remove it to pick a word instead)."
        )
        if n_typed > 1:
            which = st.selectbox(
                "Which mask to predict",
                range(n_typed),
                format_func=lambda i: f"mask {i + 1} of {n_typed}",
                key=f"{P}_which",
            )
    elif has_words:
        seen: dict[str, int] = {}
        shown_words = []
        for w in words:
            seen[w] = seen.get(w, 0) + 1
            shown_words.append(w if seen[w] == 1 else f"{w} ({seen[w]})")
        if len(words) <= MAX_PILLS:
            # Streamlit lays pills out in one row that scrolls sideways (7 of 15 words showed):
            # wrap them instead, so every word of the text can be seen and clicked.
            st.html(
                f"<style>.st-key-{word_key} [role='radiogroup'] "
                "{ flex-wrap: wrap; overflow-x: visible; row-gap: 0.4rem; }</style>"
            )
            chosen = st.pills(
                "Click the word to hide",
                range(len(words)),
                format_func=lambda i: escape_markdown(shown_words[i]),
                key=word_key,
            )
        else:
            chosen = st.selectbox(
                f"Word to hide ({len(words):,} words)",
                range(len(words)),
                format_func=lambda i: f"{i + 1}: {shown_words[i]}",
                key=word_key,
            )
        word_index = default_word(words) if chosen is None else int(chosen)

if cleaned.is_empty:
    st.warning("Type or paste a sentence above (or pick an example) to see the predictions.")
elif not n_typed and not has_words:
    st.warning(
        "This text has only punctuation or symbols, no word to hide. Type a sentence, or write "
        "[MASK] where a word should go.",
        icon="🔤",
    )

masked_texts: dict[str, str] = {}
if word_index is not None:
    masked_texts = {
        d: mask_word(text, word_index, m.tokenizer.mask_token) for d, m in loaded.items()
    }
    st.markdown(
        f"Hidden word: **{escape_markdown(words[word_index])}** (word {word_index + 1} of "
        f"{len(words)}). Each model reads the text with its own mask token in its place."
    )
elif n_typed:
    masked_texts = dict.fromkeys(loaded, text)

# ---- window ---------------------------------------------------------------------------------
auto_window = True
manual_start = 0
piece_counts = {
    d: encode_text(m.tokenizer, masked_texts[d], m.max_len).n_pieces
    for d, m in loaded.items()
    if d in masked_texts
}
room = min(m.max_len for m in loaded.values()) - 2
if piece_counts and max(piece_counts.values()) > room:
    counts = ", ".join(f"{enc.DESIGNS[d][1]} {n:,}" for d, n in piece_counts.items())
    st.info(
        f"Your text is longer than the models' window: it has {counts} pieces and each model "
        f"reads {room} at a time (plus [CLS] and [SEP]). A window of the text was used.",
        icon="✂️",
    )
    w1, w2 = st.columns(2)
    auto_window = w1.toggle(
        "Centre each model's window on the hidden word", value=True, key=f"{P}_window_auto"
    )
    if not auto_window:
        manual_start = int(
            w2.slider(
                "First piece of the window",
                0,
                max(0, max(piece_counts.values()) - room),
                0,
                key=f"{P}_window",
                help="Counted in each model's own pieces; tokenizers split text differently.",
            )
        )

windows: dict[str, tuple[int, int | None]] = {
    d: mask_window(
        m.tokenizer, masked_texts[d], m.max_len, which, None if auto_window else manual_start
    )
    for d, m in loaded.items()
    if d in masked_texts
}
readings = {d: enc.reading(d, device, masked_texts[d], windows[d][0]) for d in windows}
predictions = {}
for d, (_start, position) in windows.items():
    found = [p for p in readings[d].predictions if p.position == position]
    if found:
        predictions[d] = found[0]

tabs = page_tabs(
    P,
    [
        "Predict the hidden word",
        "Static vs dynamic masks",
        "How the four compare",
        "Why this prediction",
        "Model cards",
    ],
)

# ---- predictions ----------------------------------------------------------------------------
with tabs[0]:
    outside = [enc.DESIGNS[d][1] for d in windows if d not in predictions]
    if outside:
        st.warning(
            f"The hidden word lies outside the window of: {', '.join(outside)}. Move the window "
            "or centre it on the hidden word.",
            icon="🪟",
        )
    if predictions:
        models = [label_of(d) for d in predictions]
        tokens = [p.tokens for p in predictions.values()]
        words = [[human_token(t) for t in p.tokens] for p in predictions.values()]  # no "Ġthe"
        probabilities = [p.probabilities for p in predictions.values()]
        figure_with_data(
            figures.prediction_bars(models, words, probabilities, f"Top {TOP_K} predictions"),
            figures.prediction_frame(models, tokens, probabilities),
            f"{P}_fig_predictions",
            "masked-lm-predictions",
        )
        st.caption(
            "Each panel: the model's ten most probable tokens for the hidden position, on the "
            "same 0–100% axis (special tokens excluded, so each panel sums to at most 1). "
            "**DeBERTaV3's panel is its small generator** (half the layers): V3's discriminator "
            "only says whether each token was replaced, it never predicts words. Accuracies of "
            "models with different tokenizers are not directly comparable: RoBERTa's pieces "
            "are not BERT's."
        )
    st.subheader("How each model splits your text")
    if cleaned.is_empty:
        st.caption("Type a text to see its pieces.")
    else:
        groups: dict[tuple, list[str]] = {}
        shown = {}
        for d, m in loaded.items():
            start = windows.get(d, (0, None))[0]
            encoded = encode_text(m.tokenizer, text, m.max_len, start)
            key = (tuple(encoded.tokens), m.tokenizer.kind)
            groups.setdefault(key, []).append(enc.DESIGNS[d][1])
            shown[key] = encoded
        for key, names in groups.items():
            encoded = shown[key]
            kind = "byte-level BPE" if key[1] == "bytebpe" else "wordpiece-like"
            n_unknown = int(encoded.unknown.sum())
            unknown_note = (
                f", **{n_unknown} unknown** (red: the model reads [UNK])"
                if n_unknown
                else ", no unknown piece"
            )
            st.markdown(
                f"**{', '.join(names)}** ({kind}): {encoded.n_pieces:,} pieces{unknown_note}"
            )
            st.html(figures.tokens_html(encoded.tokens, encoded.unknown))

# ---- masks across epochs ----------------------------------------------------------------------
with tabs[1]:
    st.markdown(
        "BERT's data pipeline drew each sequence's masks **once** (static; the original code "
        "copied the data 10 times with different masks over 40 epochs). RoBERTa draws **new** "
        "masks every time a sequence is fed (dynamic), so the model is asked about different "
        "words of the same text in each epoch. Below, what the training loop would feed for "
        "your text in each pass (the first window; 15% of the pieces chosen, then 80/10/10)."
    )
    epochs = st.slider("Epochs", 2, 10, 4, key=f"{P}_epochs")
    if cleaned.is_empty:
        st.caption("Type a text to see its masks.")
    else:
        static_design = "bert" if "bert" in loaded else next(iter(loaded))
        dynamic_design = "roberta" if "roberta" in loaded else next(iter(loaded))
        for design, dynamic in ((static_design, False), (dynamic_design, True)):
            m = loaded[design]
            tokens, codes = mask_schedule(m.tokenizer, text, m.max_len, int(epochs), dynamic)
            distinct = len({row.tobytes() for row in codes})
            kind = "Dynamic (RoBERTa)" if dynamic else "Static (BERT)"
            title = f"{kind} masks, {enc.DESIGNS[design][1]}'s tokenizer"
            figure_with_data(
                figures.mask_schedule_heatmap(tokens, codes, title),
                figures.schedule_frame(tokens, codes),
                f"{P}_fig_{'dynamic' if dynamic else 'static'}",
                f"masked-lm-{'dynamic' if dynamic else 'static'}-masks",
            )
            st.caption(
                f"{distinct} distinct mask pattern{'s' if distinct != 1 else ''} in {epochs} "
                "epochs. Blue: [MASK]; red: a random token; orange: chosen but kept (the loss "
                "is still taken there); grey: untouched. [CLS] and [SEP] are never chosen."
            )

# ---- comparison --------------------------------------------------------------------------------
with tabs[2]:
    cards = {d: m.card for d, m in loaded.items()}
    steps = {d: pretraining_steps(c) for d, c in cards.items()}
    longest_h = max((c["run"]["wall_time_s"] for c in cards.values()), default=0) / 3600
    if len(set(steps.values())) == 1:
        budget = "the window and the number of steps"
    else:
        budget = (
            "the window, but **not the number of steps**: "
            + ", ".join(f"{enc.DESIGNS[d][1]} {n:,}" for d, n in steps.items())
            + " (compare them at equal steps on the curves below)"
        )
    st.markdown(
        "All four share the corpus, the size (about 2M parameters), "
        + budget
        + "; only the paper's changes differ. **Read the numbers with care:** masked-token "
        "accuracy is *not* comparable across tokenizers (RoBERTa's byte-level pieces are "
        "smaller and easier to guess one at a time) nor for DeBERTaV3, whose MLM is only its "
        "small generator. The common yardstick is a **linear probe**: a logistic regression on "
        "each frozen encoder's [CLS]/mean vector for the MR-like sentiment task. The **cloze** "
        "columns are everyday sentences with one hidden content word (60, written for nlpviz): "
        "how often the word is the first guess, among the first five, and how often the first "
        "guess is a content word at all rather than “the” or a comma. And our miniatures are "
        f"~2M parameters trained for at most {longest_h:.1f} hours on one CPU core; the "
        "papers' models have 110M+ parameters trained for days on many accelerators."
    )
    rows = pd.DataFrame(comparison_rows(cards))
    rows["design"] = [enc.DESIGNS[d][1] for d in rows["design"]]
    whole = st.column_config.NumberColumn(format="localized")
    st.dataframe(
        rows,
        hide_index=True,
        column_config={
            "parameters": whole,
            "steps": whole,
            "wall_time_s": st.column_config.NumberColumn(format="%.0f"),
        },
    )

    cloze = {
        enc.DESIGNS[d][1]: c["metrics"]["cloze"]["predictions"]
        for d, c in cards.items()
        if "cloze" in c["metrics"]
    }
    if cloze:
        with st.expander("The cloze sentences and each model's first five guesses"):
            first = next(iter(cloze.values()))
            table = pd.DataFrame(
                {
                    "sentence": [r["sentence"] for r in first],
                    "hidden word": [r["answer"] for r in first],
                    **{
                        label: [", ".join(map(human_token, r["top5"])) for r in predictions]
                        for label, predictions in cloze.items()
                    },
                }
            )
            st.dataframe(table, hide_index=True)

    histories = {enc.DESIGNS[d][1]: c["history"] for d, c in cards.items() if c.get("history")}
    available = [
        k
        for k in figures.METRIC_LABELS
        if any(k in entry for h in histories.values() for entry in h)
    ]
    if histories and available:
        metric = st.selectbox(
            "Held-out metric",
            available,
            format_func=figures.METRIC_LABELS.get,
            key=f"{P}_metric",
        )
        figure_with_data(
            figures.heldout_curves(histories, metric),
            figures.history_frame(histories),
            f"{P}_fig_curves",
            "masked-lm-heldout-curves",
        )
        st.caption(
            "Left: the same number of optimizer steps. Right: the same wall time: a design that "
            "does more work per step (DeBERTa's extra attention terms, V3's two networks) gets "
            "fewer steps in the same minutes. "
            + (continuation_note(cards, {d: enc.DESIGNS[d][1] for d in cards}) or "")
        )

    st.subheader("Do our miniatures reproduce the papers' orderings?")
    st.caption(
        "Judged on the linear probe's test accuracy (MR-like sentiment), the shared yardstick: "
        "a claim is reproduced when the gap exceeds two standard errors of the difference."
    )
    show_verdicts(ordering_verdicts(cards))
    st.subheader("What the papers report")
    st.dataframe(
        pd.DataFrame(PAPER_CLAIMS)[["claim", "figures", "source"]],
        hide_index=True,
    )

# ---- attribution -------------------------------------------------------------------------------
ig_design = None
with tabs[3]:
    st.markdown(
        "**Integrated Gradients** (Sundararajan et al. 2017) walks from a baseline, where every "
        "word of your text is replaced by padding ([CLS], [SEP] and the mask stay), to the real "
        "text, and adds up how much each token's vector raised or lowered the log-probability "
        "of the top prediction. Blue bars pushed toward it, red against; the bars sum to "
        "log P(input) − log P(baseline) up to the convergence delta."
    )
    options = [d for d in enc.DESIGNS if d in predictions]
    init_from_query(f"{P}_ig_model", "model", options[0] if options else "bert", options=options)
    if options and st.session_state[f"{P}_ig_model"] not in options:
        st.session_state[f"{P}_ig_model"] = options[0]
    if not options:
        st.caption("Hide a word first (Predict tab) to explain a prediction.")
    else:
        c1, c2 = st.columns(2)
        ig_design = c1.selectbox("Model", options, format_func=label_of, key=f"{P}_ig_model")
        n_steps = int(c2.slider("Integration steps", 8, 64, 32, step=8, key=f"{P}_ig_steps"))
        prediction = predictions[ig_design]
        start, position = windows[ig_design]
        n_tokens = len(readings[ig_design].encoded.ids)
        rate = st.session_state.get(
            f"{P}_ig_rate", SECONDS_PER_TOKEN_STEP["cuda" if "cuda" in device else "cpu"]
        )
        expected = rate * n_tokens * n_steps
        st.markdown(
            f"Explaining **{escape_markdown(quoted(human_token(prediction.tokens[0])))}** "
            f"(P = {prediction.probabilities[0]:.1%}) from {label_of(ig_design)}: {n_steps} "
            f"steps over {n_tokens} tokens, expected to take about {expected:.1f} s."
        )
        if st.toggle("Run Integrated Gradients", value=False, key=f"{P}_ig_run"):
            with st.spinner("Integrating gradients…"):
                timed = enc.attribution(
                    ig_design,
                    device,
                    masked_texts[ig_design],
                    int(position),
                    int(prediction.ids[0]),
                    n_steps,
                    int(start),
                )
            ig = timed.attribution
            if timed.seconds > 0.05:
                st.session_state[f"{P}_ig_rate"] = timed.seconds / (n_tokens * n_steps)
            m1, m2, m3, m4 = st.columns(4)
            m1.metric("log P at the input", f"{ig.output_at_input:.3f}")
            m2.metric("log P at the baseline", f"{ig.output_at_baseline:.3f}")
            m3.metric("sum of attributions", f"{ig.scores.sum():+.3f}")
            m4.metric("convergence delta", f"{ig.delta:+.1e}")
            figure_with_data(
                figures.attribution_bars(
                    list(ig.tokens),
                    ig.scores,
                    human_token(prediction.tokens[0]),
                    int(position),
                    f"Integrated Gradients toward {quoted(human_token(prediction.tokens[0]))} "
                    f"({label_of(ig_design)})",
                ),
                pd.DataFrame({"token": list(ig.tokens), "ig": ig.scores}),
                f"{P}_fig_ig",
                "masked-lm-integrated-gradients",
            )
            st.caption(
                f"{ig.n_steps} steps in {timed.seconds:.2f} s (cached afterwards). A large "
                "delta means too few steps: raise them until it is small next to the bars."
            )

# ---- cards -------------------------------------------------------------------------------------
with tabs[4]:
    for design, m in loaded.items():
        model_card(enc.DESIGNS[design][1], m.card)

publish_query(
    {
        "text": text,
        "word": "" if word_index is None else str(word_index),
        "model": ig_design or "",
    }
)
