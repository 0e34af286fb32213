"""Attribution workbench: the same text through every classifier, several Captum methods each,
and how faithful each attribution is, measured."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from nlpviz import attribution as lib
from nlpviz import settings
from nlpviz.analysis import faithfulness
from nlpviz.checkpoints import CheckpointError, read_card
from nlpviz.data.user_input import MAX_BATCH_ITEMS, MAX_CHARS, clean_text
from nlpviz.ui import attribution as workbench
from nlpviz.ui.heavy import heavy_turn
from nlpviz.ui.sidebar import render_sidebar
from nlpviz.ui.url_numbers import url_int
from nlpviz.ui.widgets import (
    figure_with_data,
    file_upload,
    init_from_query,
    page_tabs,
    progress_bar,
    publish_query,
    show_notes,
    text_input,
)
from nlpviz.viz import attribution as figures
from nlpviz.viz.common import escape_markdown, toward_against

P = "attr"
EXAMPLES = (
    "A gorgeous, witty, seductive movie that never loses its nerve.",
    "The plot is thin, the jokes are stale and the two hours feel like four.",
    "It isn't the masterpiece it wants to be, but the performances are terrific.",
    "The minister met the prime minister in Moscow on Monday to discuss gas supplies.",
    "Not bad at all — in fact, surprisingly good!",
)
METHOD_KEYS = {
    "ig": "Integrated Gradients",
    "saliency": "Saliency",
    "ixg": "Input x Gradient",
    "gradshap": "GradientSHAP",
    "occlusion": "Occlusion",
    "ablation": "Feature Ablation",
}
KEY_OF = {v: k for k, v in METHOD_KEYS.items()}
# a grid estimated to take longer waits for the Run button (the server's owner may change it)
AUTO_RUN_SECONDS = settings.attribution_autorun_seconds()

st.set_page_config(page_title="Attribution · nlpviz", page_icon="🔍", layout="wide")
device = str(render_sidebar())

st.title("Attribution workbench: what did each model rely on?")
st.caption(
    "Captum's methods (Sundararajan et al. 2017; Shrikumar et al. 2016; Lundberg & Lee 2017; "
    "Zeiler & Fergus 2014) on every classifier of nlpviz, with faithfulness measured "
    "(Samek et al. 2017; DeYoung et al. 2020, ERASER)"
)
st.markdown(
    "Put one text through several models and several attribution methods. Every cell colours "
    "the tokens by how much they pushed the model toward its class (in that class's colour, as "
    "on the probability bars) or away from it (the other class's colour; grey when a model has "
    "more than two classes). "
    "Methods often disagree, so each cell is **tested**: remove the tokens it ranks highest and "
    "watch the probability fall (deletion), or start from nothing and add them back (insertion)."
)
with st.expander("The equations, and what to look at", expanded=False):
    st.latex(
        r"\mathrm{IG}_i(x) = (x_i - x'_i) \int_0^1 "
        r"\frac{\partial F\left(x' + \alpha (x - x')\right)}{\partial x_i}\, d\alpha, \qquad "
        r"\sum_i \mathrm{IG}_i(x) = F(x) - F(x')"
    )
    st.latex(
        r"\mathrm{AOPC}_{\mathrm{del}} = \frac{1}{|K|} \sum_{k \in K} "
        r"\left[ F(x) - F(x_{\setminus \mathrm{top}\,k}) \right], \quad "
        r"\mathrm{comp} = F(x) - F(x_{\setminus \mathrm{top}\,k}), \quad "
        r"\mathrm{suff} = F(x) - F(x_{\mathrm{top}\,k})"
    )
    st.markdown(
        "$F$ is the model's probability of the target class, $x$ the text's token vectors and "
        "$x'$ the **baseline** (padding vectors by default): a removed token becomes its "
        "baseline vector. $K$ are the measured numbers of removed tokens (every k for short "
        "texts, 0%, 10%, …, 100% for longer ones); comprehensiveness and sufficiency use the "
        f"top {faithfulness.TOP_FRACTION:.0%} of the tokens. **What to look at:** a faithful "
        "cell has a high AOPC-del and comprehensiveness (its top tokens mattered) and a low "
        "sufficiency (they alone keep the prediction). IG's *delta* is how far its scores are "
        "from adding up to $F(x) - F(x')$: raise the steps when it is large."
    )
with st.expander("Why attention is not attribution", expanded=False):
    st.markdown(
        "Attention weights say how much of each token's *representation* went into a weighted "
        "average inside the network. They do not say how much the *output* depends on the "
        "token: the representations being averaged already mix their neighbours, what follows "
        "the average can ignore or invert any part of it, and different attention patterns can "
        "give the same prediction. Attribution asks the output directly (gradients along a path, "
        "or the change when a token is removed), and the deletion curves check that answer. "
        "On the **Agreement** tab, the HAN, the flat BiGRU and MiniLM show their attention "
        "beside the attributions as one more row: a low rank correlation is the usual finding "
        "and the reason to read attention as a view of the mechanism, not as an explanation."
    )
    st.markdown(
        "**The claim, and our miniatures.** Jain & Wallace (NAACL 2019) report that learned "
        "attention weights are *frequently uncorrelated with gradient-based measures of feature "
        "importance* (their abstract). On 100 held-out texts each (`python "
        "benchmarks/bench_attribution.py --attention-rows 100`), the Spearman correlation of "
        "attention with |Integrated Gradients| averaged **+0.41** for the HAN (news), **+0.35** "
        "for the flat BiGRU (news) and **+0.28** for MiniLM + LoRA r=8 (MR; last-layer attention "
        "received), and was below 0.5 on 70%, 91% and 83% of the texts. So the claim holds "
        "in part here: attention and attribution are positively related but far from the same "
        "ranking; they are not *uncorrelated*."
    )

available = workbench.available_models()
if not available:
    st.error("No classifier checkpoint is on this server; see the README for `nlpviz train`.")
    st.stop()


def model_label(key: str) -> str:
    return available[key].label if key in available else key


# ---- inputs --------------------------------------------------------------------------------------
init_from_query(f"{P}_source", "source", "type", options=["type", "file"])
source = st.radio(
    "Text",
    ["type", "file"],
    format_func={"type": "type or paste", "file": "a line from an uploaded file"}.get,
    key=f"{P}_source",
    horizontal=True,
)
if source == "type":
    cleaned = text_input(P, EXAMPLES, label="Text to explain")
else:
    items = file_upload(P)
    if items is None or not items.items:
        cleaned = clean_text("")
    else:
        line = st.selectbox(
            "Line",
            range(len(items.items)),
            format_func=lambda i: f"{i + 1}: {items.items[i][:90]}",
            key=f"{P}_line",
        )
        cleaned = clean_text(items.items[min(int(line or 0), len(items.items) - 1)])
show_notes(cleaned.notes)

default_models = [k for k in workbench.DEFAULT_MODELS if k in available] or list(available)[:1]
query_models = [k for k in st.query_params.get("models", "").split(",") if k in available]
if f"{P}_models" not in st.session_state:
    st.session_state[f"{P}_models"] = query_models or default_models
query_methods = [
    METHOD_KEYS[k] for k in st.query_params.get("methods", "").split(",") if k in METHOD_KEYS
]
if f"{P}_methods" not in st.session_state:
    st.session_state[f"{P}_methods"] = query_methods or list(workbench.DEFAULT_METHODS)

left, right = st.columns(2)
models = left.multiselect(
    "Models",
    list(available),
    format_func=model_label,
    key=f"{P}_models",
    help="Each model explains its own prediction on its own task. The taggers explain one "
    "token's tag (choose the token under Options).",
)
methods = right.multiselect("Methods", list(lib.METHODS), key=f"{P}_methods")

with st.expander("Options: target class, baseline, steps", expanded=False):
    o1, o2, o3, o4 = st.columns(4)
    init_from_query(f"{P}_baseline", "baseline", "pad", options=list(lib.BASELINES))
    baseline = o1.selectbox(
        "Baseline (a removed token becomes…)",
        list(lib.BASELINES),
        format_func=lambda b: f"{b}: {lib.BASELINES[b]}",
        key=f"{P}_baseline",
    )
    if f"{P}_steps" not in st.session_state:
        st.session_state[f"{P}_steps"], steps_note = url_int("steps", 20, 4, 300)
        if steps_note:
            st.caption(steps_note)
    st.session_state[f"{P}_steps"] = min(max(int(st.session_state[f"{P}_steps"]), 4), 300)
    n_steps = o2.slider("IG steps", 4, 300, step=4, key=f"{P}_steps")
    window = o3.slider("Occlusion window (tokens)", 1, 5, 3, key=f"{P}_window")
    n_samples = o4.slider("GradientSHAP samples", 4, 64, 16, step=4, key=f"{P}_samples")
    batch = o1.select_slider(
        "Internal batch (path points per pass)", [4, 8, 16, 20, 32, 64], 20, key=f"{P}_batch"
    )
    targets: dict[str, int | None] = {}
    for key in models:
        if available[key].per_token:
            continue
        names = read_card(key).get("class_names", [])
        choice = o2.selectbox(
            f"Target of {model_label(key)}",
            ["predicted", *range(len(names))],
            format_func=lambda i, n=names: "its predicted class" if i == "predicted" else n[i],
            key=f"{P}_target_{key}",
        )
        targets[key] = None if choice == "predicted" else int(choice)
    position = 0
    if any(available[k].per_token for k in models) and not cleaned.is_empty:
        tokens = workbench.tagger_tokens(cleaned.text)
        if tokens:
            position = o3.selectbox(
                "Token the taggers explain",
                range(len(tokens)),
                format_func=lambda i: f"{i + 1}: {tokens[i]}",
                key=f"{P}_position",
            )

options = lib.AttributionOptions(
    baseline=baseline,
    n_steps=int(n_steps),
    internal_batch_size=int(batch),
    n_samples=int(n_samples),
    window=int(window),
)
publish_query(
    {
        "text": cleaned.text,
        "source": source,
        "models": ",".join(models),
        "methods": ",".join(KEY_OF[m] for m in methods),
        "baseline": baseline,
        "steps": str(n_steps),
    }
)

tabs = page_tabs(P, ["Grid", "Curves", "Agreement", "Dataset", "How to read the scores"])

# ---- the grid ------------------------------------------------------------------------------------
cells: dict[tuple[str, str], workbench.Cell] = {}
with tabs[0]:
    if cleaned.is_empty:
        st.warning("Type or paste a text above (or pick an example) to attribute it.")
    elif not models or not methods:
        st.warning("Choose at least one model and one method.")
    else:
        estimates, problems = {}, []
        for key in models:
            try:
                seconds, n_tokens = workbench.pass_seconds(key, device, cleaned.text, position)
            except (CheckpointError, OSError, ValueError) as error:
                problems.append(f"{model_label(key)}: {error}")
                continue
            if n_tokens == 0:
                problems.append(f"{model_label(key)} reads no token in this text.")
                continue
            estimates[key] = sum(
                workbench.estimate_seconds(seconds, n_tokens, m, options) for m in methods
            )
        for problem in problems:
            st.warning(problem, icon="⚠️")
        total = sum(estimates.values())
        st.caption(
            f"Estimated time: about {total:.1f} s for {len(estimates) * len(methods)} cells "
            "(measured from one forward pass of each model on this text; cells already computed "
            "for this text and these options come from the cache at once)."
        )
        # a slow grid waits for the button once; later reruns of the same grid (another tab's
        # widget) read it from the cache instead of hiding it again
        signature = repr((cleaned.text, models, methods, options, position, targets, device))
        run = (
            total <= AUTO_RUN_SECONDS
            or st.session_state.get(f"{P}_approved") == signature
            or st.button(f"Run the grid (about {total:.0f} s)", key=f"{P}_run", type="primary")
        )
        if run:
            st.session_state[f"{P}_approved"] = signature
        if not run:
            st.info(
                f"This grid would take more than {AUTO_RUN_SECONDS:.0f} s, so it waits for the "
                "button. Fewer models, cheaper methods (Saliency, Input x Gradient) or fewer IG "
                "steps are faster.",
                icon="⏱️",
            )
        else:
            jobs = [(k, m) for k in estimates for m in methods]
            with progress_bar(f"Attributing {len(jobs)} cells…") as progress:
                for done, (key, method) in enumerate(jobs, start=1):
                    try:
                        result = workbench.cell(
                            key, device, cleaned.text, method, targets.get(key), options, position
                        )
                    except (CheckpointError, OSError) as error:
                        st.error(f"{model_label(key)}: {error}", icon="🚫")
                        result = None
                    if result is not None:
                        cells[(key, method)] = result
                    progress(done / len(jobs))
        if cells:
            rows, table = [], []
            for key in estimates:
                mine = [cells[(key, m)] for m in methods if (key, m) in cells]
                if not mine:
                    continue
                first = mine[0]
                rows.append(
                    figures.GridRow(
                        model=model_label(key),
                        tokens=first.tokens,
                        methods=tuple(c.method for c in mine),
                        scores=np.array([c.scores for c in mine]),
                        target=first.target,
                        n_classes=len(first.probabilities),
                    )
                )
                for c in mine:
                    table.extend(
                        {
                            "model": key,
                            "method": c.method,
                            "target": c.target_name,
                            "position": i,
                            "token": t,
                            "score": float(s),
                            "share": float(v),
                        }
                        for i, (t, s, v) in enumerate(
                            zip(c.tokens, c.scores, figures.shares(c.scores), strict=True)
                        )
                    )
            bound = figures.shared_bound(rows)
            for key in estimates:
                mine = [cells[(key, m)] for m in methods if (key, m) in cells]
                if not mine:
                    continue
                first = mine[0]
                spot = escape_markdown(first.tokens[first.position])
                what = (
                    f"the tag of token {first.position + 1} ({spot})"
                    if available[key].per_token
                    else "its class"
                )
                st.markdown(
                    f"**{escape_markdown(model_label(key))}** explains {what}: "
                    f"**{escape_markdown(first.target_name)}** "
                    f"(P = {first.probabilities[first.target]:.3f})"
                )
                if first.baseline != options.baseline:
                    st.info(
                        f"This model has no '{options.baseline}' token; its cells use the "
                        f"'{first.baseline}' baseline.",
                        icon="ℹ️",
                    )
                if first.dropped:
                    st.info(
                        f"This model reads the first {len(first.tokens)} tokens of the text; "
                        f"{first.dropped:,} more are cut (the limit is {lib.MAX_UNITS} tokens "
                        "per attribution, and MiniLM's is its training length).",
                        icon="✂️",
                    )
                columns = st.columns(len(mine))
                colours = figures.GridRow(
                    "",
                    (),
                    (),
                    np.zeros((0, 0)),
                    target=first.target,
                    n_classes=len(first.probabilities),
                ).colours
                for column, c in zip(columns, mine, strict=True):
                    with column:
                        st.markdown(f"*{c.method}*")
                        st.html(figures.token_html(c.tokens, c.scores, bound, colours))
                        delta = "" if c.delta != c.delta else f" · IG error (Δ) {c.delta:+.1e}"
                        k = c.faith.top_k
                        st.caption(
                            f"P drops by {c.faith.aopc_deletion:.3f} on average as its top "
                            f"words go (AOPC-del) · by {c.faith.comprehensiveness:.3f} without "
                            f"its top {k} (comp@{k}) · by {c.faith.sufficiency:.3f} with only "
                            f"its top {k} (suff@{k}){delta} · {c.seconds * 1000:.0f} ms"
                        )
            figure_with_data(
                figures.grid_figure(rows),
                pd.DataFrame(table),
                f"{P}_fig_grid",
                "attribution-grid",
            )
            summary = pd.DataFrame(
                [
                    {
                        "model": key,
                        "method": method,
                        "target": c.target_name,
                        "P(target)": round(c.faith.probability, 4),
                        "AOPC deletion": round(c.faith.aopc_deletion, 4),
                        "AOPC insertion": round(c.faith.aopc_insertion, 4),
                        f"comprehensiveness@{c.faith.top_k}": round(c.faith.comprehensiveness, 4),
                        f"sufficiency@{c.faith.top_k}": round(c.faith.sufficiency, 4),
                        "delta": None if c.delta != c.delta else round(c.delta, 5),
                        "ms": round(c.seconds * 1000),
                    }
                    for (key, method), c in cells.items()
                ]
            )
            st.markdown("**Faithfulness of every cell**")
            top_k = next(iter(cells.values())).faith.top_k
            st.dataframe(
                summary,
                hide_index=True,
                column_config={
                    "AOPC deletion": st.column_config.NumberColumn(
                        "P drop, top words removed (AOPC del)",
                        help=figures.PLAIN["aopc_deletion"] + ": higher = faithful",
                    ),
                    "AOPC insertion": st.column_config.NumberColumn(
                        "P drop, top words added back (AOPC ins)",
                        help=figures.PLAIN["aopc_insertion"] + ": lower = faithful",
                    ),
                    f"comprehensiveness@{top_k}": st.column_config.NumberColumn(
                        f"P drop without top {top_k} (comp@{top_k})",
                        help=figures.PLAIN["comprehensiveness"].format(k=top_k),
                    ),
                    f"sufficiency@{top_k}": st.column_config.NumberColumn(
                        f"P drop with only top {top_k} (suff@{top_k})",
                        help=figures.PLAIN["sufficiency"].format(k=top_k),
                    ),
                    "delta": st.column_config.NumberColumn(
                        "IG error (delta)",
                        help="how far the scores are from summing to P(x) − P(baseline)",
                    ),
                },
            )
            st.download_button(
                "Download the faithfulness table (CSV)",
                summary.to_csv(index=False).encode("utf-8"),
                file_name="attribution-faithfulness.csv",
                mime="text/csv",
                key=f"{P}_faith_csv",
            )
            if any(c.method == "Saliency" for c in cells.values()):
                st.caption(
                    "Saliency is a gradient magnitude (never negative), so its cells use "
                    "the toward colour only; the colour shows each token's share of the cell's "
                    "total."
                )

# ---- curves --------------------------------------------------------------------------------------
with tabs[1]:
    if not cells:
        st.info("The curves appear once the grid has run.")
    else:
        labels = {f"{model_label(k)} · {m}": (k, m) for (k, m) in cells}
        chosen = st.selectbox("Cell", list(labels), key=f"{P}_cell")
        key, method = labels[chosen]
        c = cells[(key, method)]
        reference = workbench.random_deletion(
            key, device, cleaned.text, c.target, options.baseline, c.position
        )
        m1, m2, m3, m4 = st.columns(4)
        k = c.faith.top_k
        m1.metric(
            "P drop as top words go (AOPC del)",
            f"{c.faith.aopc_deletion:.3f}",
            help=figures.PLAIN["aopc_deletion"] + ": higher = faithful",
        )
        m2.metric(
            "P drop as top words return (AOPC ins)",
            f"{c.faith.aopc_insertion:.3f}",
            help=figures.PLAIN["aopc_insertion"] + ": lower = faithful",
        )
        m3.metric(
            f"P drop without top {k} (comp@{k})",
            f"{c.faith.comprehensiveness:.3f}",
            help=figures.PLAIN["comprehensiveness"].format(k=k) + ": higher = faithful",
        )
        m4.metric(
            f"P drop with only top {k} (suff@{k})",
            f"{c.faith.sufficiency:.3f}",
            help=figures.PLAIN["sufficiency"].format(k=k) + ": lower = faithful",
        )
        figure_with_data(
            figures.curves_figure(
                c.faith.fractions,
                c.faith.deletion,
                c.faith.insertion,
                c.faith.probability,
                f"Deletion and insertion curves: {chosen}",
                random_deletion=reference,
            ),
            pd.DataFrame(
                {
                    "tokens": c.faith.ks,
                    "fraction": c.faith.fractions,
                    "deletion": c.faith.deletion,
                    "insertion": c.faith.insertion,
                    "deletion, random order": reference,
                }
            ),
            f"{P}_fig_curves",
            "attribution-curves",
        )
        st.caption(
            "Tokens leave (deletion) or come back (insertion) in the cell's order, most "
            f"supportive first; a removed token becomes the '{c.baseline}' baseline vector. "
            "The dashed curve removes them in random order (mean of 5): a faithful ranking falls "
            "below it."
        )

# ---- agreement -----------------------------------------------------------------------------------
with tabs[2]:
    if not cells:
        st.info("The agreement matrix appears once the grid has run.")
    else:
        keys = list(dict.fromkeys(k for k, _ in cells))
        key = st.selectbox("Model", keys, format_func=model_label, key=f"{P}_agree_model")
        mine = [cells[(key, m)] for m in methods if (key, m) in cells]
        labels = [c.method for c in mine]
        vectors = [c.scores for c in mine]
        if mine and mine[0].attention is not None:
            labels.append("attention")
            vectors.append(mine[0].attention)
        matrix = faithfulness.agreement(vectors)
        if len(labels) < 2:
            st.info("Choose two methods or more (or a model with attention) to compare them.")
        else:
            frame = pd.DataFrame(matrix, index=labels, columns=labels).reset_index(names="")
            figure_with_data(
                figures.agreement_figure(
                    labels, matrix, f"Agreement (Spearman ρ of |score|): {model_label(key)}"
                ),
                frame,
                f"{P}_fig_agree",
                "attribution-agreement",
            )
            st.caption(
                "Spearman's rank correlation of the tokens' magnitudes |score| (signs differ "
                "in meaning between methods; Saliency has none). 1: same ranking, 0: unrelated."
                + (
                    f" 'attention' is the model's {mine[0].attention_label}."
                    if mine[0].attention is not None
                    else ""
                )
            )

# ---- dataset -------------------------------------------------------------------------------------
with tabs[3]:
    st.markdown(
        "Attribute many texts with one model and one method, and average every word's score "
        "over its occurrences: the words a model leans on across a data set. "
        f"Up to {lib.MAX_DATASET_ROWS:,} rows, each cut at {lib.MAX_UNITS} tokens."
    )
    classifiers = [k for k in available if not available[k].per_token]
    d1, d2, d3 = st.columns(3)
    ds_model = d1.selectbox("Model", classifiers, format_func=model_label, key=f"{P}_ds_model")
    ds_method = d2.selectbox("Method", list(lib.METHODS), key=f"{P}_ds_method")
    ds_names = read_card(ds_model).get("class_names", [])
    ds_target = d3.selectbox(
        "Toward the class",
        range(len(ds_names)),
        index=len(ds_names) - 1 if ds_names else 0,
        format_func=lambda i: ds_names[i],
        key=f"{P}_ds_target",
    )
    ds_source = st.radio(
        "Texts",
        ["upload", "held-out"],
        format_func={"upload": "an uploaded file", "held-out": "the model's held-out split"}.get,
        key=f"{P}_ds_source",
        horizontal=True,
    )
    texts: list[str] = []
    origin = ""
    if ds_source == "upload":
        uploaded = file_upload(f"{P}_ds")
        if uploaded is not None:
            texts, origin = list(uploaded.items), "the uploaded file"
    else:
        try:
            texts, origin = workbench.held_out_texts(ds_model)
        except Exception as error:  # noqa: BLE001 - the corpora are training-only packages
            st.warning(
                "The held-out split is read from the training corpus, which is not installed on "
                f"this server ({type(error).__name__}). Upload a CSV with a 'text' column "
                "instead.",
                icon="📦",
            )
    if texts:
        ds_rows = st.number_input(
            "Rows to read",
            1,
            min(len(texts), lib.MAX_DATASET_ROWS),
            min(len(texts), 200),
            key=f"{P}_ds_rows",
        )
        texts = texts[: int(ds_rows)]
        try:
            seconds, n_tokens = workbench.pass_seconds(ds_model, device, texts[0], 0)
        except (CheckpointError, OSError) as error:
            st.error(str(error), icon="🚫")
            seconds, n_tokens = 0.0, 0
        per_row = seconds * lib.forward_passes(ds_method, max(n_tokens, 1), options)
        st.caption(
            f"{len(texts):,} rows from {origin}; about {per_row * len(texts):.0f} s "
            "(estimated from the first row). The Stop button in the corner cancels the run; "
            "the page stays usable."
        )
        if st.button(f"Attribute {len(texts):,} rows", key=f"{P}_ds_run", type="primary"):
            st.session_state.pop(f"{P}_ds_result", None)
            # one heavy job at a time per server, in arrival order (nlpviz.heavy)
            with heavy_turn("attribution over a data set") as allowed:
                if allowed:
                    with progress_bar(f"Attributing {len(texts):,} rows…") as progress:
                        st.session_state[f"{P}_ds_result"] = workbench.dataset(
                            ds_model,
                            device,
                            tuple(texts),
                            ds_method,
                            int(ds_target),
                            options,
                            progress,
                        )
    result = st.session_state.get(f"{P}_ds_result")
    if result is not None:
        min_count = st.slider("Words seen at least", 1, 20, 3, key=f"{P}_ds_min")
        positive = result.top(20, min_count, positive=True)
        negative = result.top(20, min_count, positive=False)
        st.success(
            f"{result.rows_read:,} rows read in {result.seconds:.1f} s "
            f"({result.rows_read / max(result.seconds, 1e-9):.1f} rows/s); "
            f"{result.rows_skipped:,} empty rows skipped, {result.rows_cut:,} cut at "
            f"{lib.MAX_UNITS} tokens."
        )
        words = pd.DataFrame(
            {
                "word": result.words,
                "mean": result.mean,
                "total": result.total,
                "count": result.count,
            }
        ).sort_values("mean", ascending=False)
        figure_with_data(
            figures.top_words_figure(
                positive,
                negative,
                f"Words with the highest and lowest mean {result.method} toward "
                f"{result.target_name}",
                toward_against(int(ds_target), len(ds_names)),
            ),
            words,
            f"{P}_fig_words",
            "attribution-dataset-words",
        )

# ---- reading -------------------------------------------------------------------------------------
with tabs[4]:
    st.markdown(
        "- **Colours** are one scale for the whole grid: each token's share of its cell's total "
        "|attribution|, in the target class's colour toward it and the other class's colour "
        "against it (grey for models with many classes). Hover for the raw "
        "score (probability units; Saliency: gradient norm).\n"
        "- **AOPC-del** (area over the perturbation curve) is the mean drop of P(target) as "
        "the cell's top tokens are removed; "
        "compare cells of the same model and text, never across texts.\n"
        "- **Comprehensiveness / sufficiency** are the same idea at one k: a good ranking's top "
        "tokens are necessary (high comprehensiveness) and sufficient (sufficiency near 0 or "
        "below).\n"
        "- **Delta** (IG, GradientSHAP) is how far the scores are from adding up to "
        "P(x) − P(baseline). IG's delta shrinks with more steps.\n"
        "- **Why no DeepLift**: Captum's rescale rule acts on activation *modules* (nn.ReLU, "
        "nn.Tanh, …); these models apply their non-linearities as functions, and the shared "
        "models never carry Captum's hooks, so DeepLift would reduce to (x − x′) · ∂F/∂x, "
        "Input x Gradient under another name. It is left out rather than shown mislabelled.\n"
        "- **Where our miniatures stand**: IG's completeness is only as good as its steps: the "
        "delta under each cell says how far off it is (on MiniLM + LoRA the default steps can "
        "leave a few hundredths; raise the steps until it is small). Attention agrees with "
        "attribution only in part (mean Spearman +0.28 to +0.41 on held-out texts, see 'Why "
        "attention is not attribution'); read the Agreement tab's 'attention' row on your own "
        "text.\n"
        f"- **Limits**: texts up to {MAX_CHARS:,} characters, {lib.MAX_UNITS} tokens per "
        f"attribution (MiniLM: its 64 training pieces), files up to {MAX_BATCH_ITEMS:,} rows."
    )
