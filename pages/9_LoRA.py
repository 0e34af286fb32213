"""Hu et al. (2022): LoRA, low-rank adaptation, measured on the real all-MiniLM-L6-v2."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from nlpviz.analysis import lora as analysis
from nlpviz.checkpoints import CheckpointError, read_card
from nlpviz.data.sources import MissingTrainingData
from nlpviz.ui import lora as lo
from nlpviz.ui.claims import show_verdict
from nlpviz.ui.script_slots import slot_released
from nlpviz.ui.sidebar import render_sidebar
from nlpviz.ui.url_numbers import quote_value, url_int
from nlpviz.ui.widgets import (
    figure_with_data,
    init_from_query,
    init_index_from_query,
    model_card,
    page_tabs,
    progress_bar,
    publish_query,
    show_notes,
    text_input,
)
from nlpviz.viz import lora as figures
from nlpviz.viz.common import escape_markdown, probability_bars

P = "lora"
LAYERS = 6
HIDDEN = 384  # MiniLM's W_q and W_v are 384 x 384: no rank above this is low-rank
MATRICES = ("query", "value")
MATRIX_LABELS = {"query": "W_q (query)", "value": "W_v (value)"}
EXAMPLES = (
    "A gorgeous, witty, seductive movie that never loses its nerve.",
    "The plot is thin, the jokes are stale and the two hours feel like four.",
    "It isn't the masterpiece it wants to be, but the performances are terrific.",
    "Not bad at all — in fact, surprisingly good!",
)


def kind_label(row: dict) -> str:
    names = {"full": "full fine-tuning", "probe": "linear probe"}
    return names.get(row["kind"], f"r={row['rank']}")


st.set_page_config(page_title="LoRA · nlpviz", page_icon="🪶", layout="wide")
device = str(render_sidebar())

st.title("LoRA: low-rank adaptation")
st.caption(
    "Hu, Shen, Wallis, Allen-Zhu, Li, Wang, Wang & Chen, ICLR 2022 · measured by nlpviz on the "
    "real pretrained all-MiniLM-L6-v2 (22M parameters) and the MR-like Rotten Tomatoes task of "
    "the Kim CNN page"
)
st.markdown(
    "Fine-tuning changes every weight of a pretrained model. LoRA **freezes** them and learns "
    "only a small update beside each adapted matrix, written as the product of two thin "
    "matrices. The **rank** r is how thin they are: the update can change the matrix in at most "
    "r directions. Here we adapted the attention's query and value matrices of MiniLM's six "
    f"layers at ranks {', '.join(map(str, lo.DEFAULT_RANKS))}, next to full fine-tuning and a "
    "frozen-encoder linear probe, all with the same budget, and ask the paper's question: how "
    "small can r be?"
)
with st.expander("The update, and what rank means", expanded=False):
    st.latex(r"h = W_0 x + \Delta W x = W_0 x + \frac{\alpha}{r} B A x")
    st.latex(
        r"W_0 \in \mathbb{R}^{d \times k}\ \text{frozen}, \quad "
        r"B \in \mathbb{R}^{d \times r},\ A \in \mathbb{R}^{r \times k}, \quad r \ll \min(d, k)"
    )
    st.markdown(
        "$A$ is initialised randomly (Kaiming-uniform) and $B$ with **zeros**, so $BA = 0$ and "
        "training starts exactly at the pretrained model (Section 4.1). Only $A$ and $B$ (and "
        "here the classification head) receive gradients: $r(d + k)$ numbers per matrix instead "
        "of $dk$. For MiniLM's $384 \\times 384$ query matrix that is 768 numbers at r = 1 "
        "against 147,456. $\\alpha$ is fixed (8 here) so the learning rate need not change with "
        "r. After training, $BA$ can be **merged** into $W_0$: the adapted model is as fast as "
        "the original, and subtracting $BA$ again switches back.\n\n"
        "**Rank** is the number of independent directions $\\Delta W$ can act on: a rank-1 "
        "update adds the same output direction, scaled by how much the input points along one "
        "input direction. The paper's finding is that the update needed to adapt a large "
        "model has a **low intrinsic rank**, so a tiny r is often enough."
    )

# ---- the sweep ---------------------------------------------------------------------------------
sweep = lo.load_sweep()
if isinstance(sweep, CheckpointError):
    st.error(escape_markdown(str(sweep)), icon="🚫")
    st.info(
        f"The page shows a sweep checkpoint built by `nlpviz train {lo.sweep_name()}` "
        "(resumable: finished runs are kept). The live sweep below still works.",
        icon="ℹ️",
    )
    sweep = None

ranks = sweep.ranks if sweep else []
notes: list[str] = []

# ---- the view: rank, seed, layer, matrix -------------------------------------------------------
rank_key, seed_key = f"{P}_rank", f"{P}_seed"
if sweep and ranks:
    if rank_key not in st.session_state:
        raw = st.query_params.get("rank")
        default = 8 if 8 in ranks else ranks[0]
        chosen, problem = (default, "") if raw is None else lo.parse_rank(raw, ranks, HIDDEN)
        if chosen is None:
            notes.append(f"{problem} Showing r={default} instead.")
            chosen = default
        st.session_state[rank_key] = chosen
    if st.session_state[rank_key] not in ranks:
        st.session_state[rank_key] = 8 if 8 in ranks else ranks[0]
layer_note = init_index_from_query(f"{P}_layer", "layer", LAYERS)
if layer_note:
    notes.append(layer_note)
if st.query_params.get("matrix") not in (None, *MATRICES) and f"{P}_matrix" not in st.session_state:
    notes.append(
        f"The link's matrix {quote_value(st.query_params.get('matrix'))} is not one LoRA "
        "adapted here (query or value); showing query."
    )
init_from_query(f"{P}_matrix", "matrix", "query", options=MATRICES)

c_rank, c_seed, c_layer, c_matrix = st.columns(4)
rank = seed = None
if sweep and ranks:
    rank = int(
        c_rank.selectbox(
            "LoRA rank r", ranks, key=rank_key, format_func=lambda r: f"r = {r}",
            help="The ranks this sweep has trained so far.",
        )
    )  # fmt: skip
    seeds = sweep.seeds_of("lora", rank)
    if seed_key not in st.session_state:
        raw = st.query_params.get("seed")
        st.session_state[seed_key] = seeds[0]
        if raw is not None:
            asked, refused = url_int("seed", -1, -(10**18), 10**18)
            if not refused and asked in seeds:
                st.session_state[seed_key] = asked
            else:
                notes.append(
                    f"The link's seed {quote_value(raw)} has no r={rank} run "
                    f"(seeds: {', '.join(map(str, seeds))}); showing seed {seeds[0]}."
                )
    if st.session_state[seed_key] not in seeds:
        st.session_state[seed_key] = seeds[0]
    seed = int(c_seed.selectbox("Seed", seeds, key=seed_key))
layer = int(c_layer.number_input("Layer", 1, LAYERS, key=f"{P}_layer", step=1))
matrix = c_matrix.radio(
    "Matrix", MATRICES, key=f"{P}_matrix", horizontal=True, format_func=MATRIX_LABELS.get
)
matrix_id = f"layer{layer - 1}.{matrix}"
show_notes(notes)

tabs = page_tabs(
    P, ["Rank sweep", "Inside the update", "Try an adapter", "Run a sweep live", "Model cards"]
)

# ---- rank sweep --------------------------------------------------------------------------------
with tabs[0]:
    if sweep is None:
        st.caption("No sweep to show yet.")
    else:
        state = sweep.completeness()
        planned = f" of the {state['planned']} planned" if state["planned"] else ""
        if state["complete"]:
            st.caption(
                f"All {state['runs']} runs{planned}: every configuration with seeds "
                f"{', '.join(map(str, state['seeds']))}."
            )
        else:
            missing = "; ".join(
                f"{'r=' + str(r) if k == 'lora' else k} lacks seed {', '.join(map(str, s))}"
                for (k, r), s in state["missing"].items()
            )
            st.info(
                f"**The sweep is still partial:** these plots show {state['runs']} run"
                f"{'s' if state['runs'] != 1 else ''}"
                f"{planned}, over {state['configurations']} configuration"
                f"{'s' if state['configurations'] != 1 else ''}"
                + (f" ({missing})" if missing else "")
                + ". Means and error bars use the seeds present; a rank with one seed has no "
                "error bar. The page refreshes from the checkpoint as runs finish.",
                icon="⏳",
            )
        references = [
            ref
            for ref in (
                lo.run_reference(sweep, "full", "full fine-tuning"),
                lo.run_reference(sweep, "probe", "frozen probe"),
                lo.kim_reference(),
            )
            if ref is not None
        ]
        lora_rows = sweep.lora_rows
        figure_with_data(
            figures.accuracy_vs_rank(
                [r["rank"] for r in lora_rows],
                [r["test_accuracy"] for r in lora_rows],
                [r["seed"] for r in lora_rows],
                references,
            ),
            figures.runs_frame(
                [kind_label(r) for r in sweep.rows],
                [r["trainable_parameters"] for r in sweep.rows],
                [r["test_accuracy"] for r in sweep.rows],
                [r["seed"] for r in sweep.rows],
            ),
            f"{P}_fig_rank",
            "lora-accuracy-vs-rank",
        )
        drawn = ", ".join(ref.label for ref in references) or "none yet"
        st.caption(
            "Small points: each run (one per seed). Large points: the mean over seeds, with an "
            "error bar of ± one sample standard deviation where there are 2+ seeds. Dashed "
            f"reference lines ({drawn}): full fine-tuning and the linear probe are means over "
            "their seeds with the same budget; the Kim CNN (multichannel) was trained on the "
            "same MR-like split."
        )
        kim = lo.kim_reference()
        corpus = sweep.card.get("data", {}).get("corpus", {})
        used = corpus.get("used", {}).get("test")
        if kim is not None and used and used != corpus.get("sizes", {}).get("test", used):
            st.caption(
                f"Note: this sweep measured test accuracy on {used:,} of the "
                f"{corpus['sizes']['test']:,} test sentences; the Kim CNN on all of them."
            )
        figure_with_data(
            figures.accuracy_vs_parameters(
                [kind_label(r) for r in sweep.rows],
                [r["trainable_parameters"] for r in sweep.rows],
                [r["test_accuracy"] for r in sweep.rows],
                [r["seed"] for r in sweep.rows],
                [kim] if kim else [],
            ),
            figures.runs_frame(
                [kind_label(r) for r in sweep.rows],
                [r["trainable_parameters"] for r in sweep.rows],
                [r["test_accuracy"] for r in sweep.rows],
                [r["seed"] for r in sweep.rows],
            ),
            f"{P}_fig_params",
            "lora-accuracy-vs-parameters",
        )
        probe_entry, full_entry = sweep.summary_of("probe"), sweep.summary_of("full")
        st.caption(
            "The same runs against how many numbers each one trains (the classification head "
            "is trained and counted in every run"
            + (
                f": the probe trains only it, {probe_entry['trainable_parameters']:,}"
                if probe_entry
                else ""
            )
            + ")."
            + (
                f" Full fine-tuning trains all {full_entry['trainable_parameters']:,}."
                if full_entry
                else ""
            )
        )

        st.subheader("Does a small rank match full fine-tuning here?")
        show_verdict(lo.sweep_verdict(sweep.card.get("summary", [])))
        figure = sweep.card.get("paper_figure", {})
        sweep_epochs = int(sweep.card.get("recipe", {}).get("epochs", 1))
        epochs_trained = f"{sweep_epochs} epoch{'s' if sweep_epochs != 1 else ''}"
        st.markdown(
            f"**What the paper found:** {sweep.card.get('paper_finding', '')}. Their headline "
            f"number: **{figure.get('value', 0):.1%}** — "
            f"{escape_markdown(figure.get('source', ''))}."
            " That is a 125M-parameter model on SST-2; ours is a 22M-parameter sentence encoder "
            f"on short review snippets with {epochs_trained} of training, so compare the *shape* "
            "of the curve, not the numbers."
        )
        table = pd.DataFrame(sweep.card.get("summary", []))
        if not table.empty:
            table.insert(0, "configuration", [kind_label(s) for s in sweep.card["summary"]])
            st.dataframe(table.drop(columns=["kind", "rank"]), hide_index=True, key=f"{P}_summary")
            st.caption(
                "Per configuration: mean and sample std of test accuracy over seeds, trainable "
                "parameters, wall time, peak memory and training throughput on "
                f"{escape_markdown(sweep.rows[0]['device'])}."
            )

        histories = [r.get("dev_history") or [] for r in sweep.rows]
        if max((len(h) for h in histories), default=0) >= 2:
            st.markdown("**How far off, epoch by epoch?**")
            curves = figures.epochs_frame(
                [kind_label(r) for r in sweep.rows], [r["seed"] for r in sweep.rows], histories
            )
            figure_with_data(
                figures.accuracy_vs_epochs(curves), curves, f"{P}_fig_epochs", "lora-dev-by-epoch"
            )
            gap = analysis.epoch_gap(sweep.rows)
            if gap is not None:
                behind = round(gap.points_behind, 1)
                where = (
                    f"{behind:.1f} points behind full fine-tuning"
                    if behind > 0
                    else f"{-behind:.1f} points ahead of full fine-tuning"
                    if behind < 0
                    else "level with full fine-tuning"
                )
                st.caption(
                    f"After {gap.epoch} epochs, each run kept at its best dev epoch, the best "
                    f"small rank on dev ({gap.small_label}) is {where} ({gap.small_dev:.1%} vs "
                    f"{gap.full_dev:.1%}, means over seeds). Full fine-tuning's curve peaks at "
                    f"epoch {gap.full_best_epoch}"
                    + (
                        f"; {gap.small_label} was still rising at the last and the gap closing: "
                        "more epochs would likely narrow it."
                        if gap.closing and behind > 0
                        else "."
                    )
                    + " Each point is the mean over seeds; the learning rate "
                    "decays to zero over the run, so an epoch here is not where a shorter run "
                    "would end. Dev accuracy chose each run's epoch and this rank, so these dev "
                    "figures flatter both sides a little; the verdict above is on test."
                )

# ---- inside the update -------------------------------------------------------------------------
with tabs[1]:
    analyses = sweep.analyses if sweep else {}
    matrix_name = f"{MATRIX_LABELS[matrix]} of layer {layer}"
    if not analyses.get("spectra"):
        st.caption("No LoRA run has been analysed yet.")
    else:
        spectra_seeds = sorted(analyses["spectra"], key=int)
        spectra_seed = str(seed) if str(seed) in spectra_seeds else spectra_seeds[0]
        by_rank = {
            int(r): values[matrix_id]
            for r, values in analyses["spectra"][spectra_seed].items()
            if matrix_id in values
        }
        full_spectra = analyses.get("full_finetune_spectra", {})
        full = full_spectra.get(spectra_seed) or next(iter(full_spectra.values()), None)
        full_values = full.get(matrix_id, {}).get("singular_values") if full else None
        rates = sweep.card.get("learning_rates", {})
        st.markdown(
            "**Spectrum of the update.** The singular values of $\\Delta W = \\frac{\\alpha}{r}BA$ "
            "say how many directions the learned update really uses. A rank-r update has at "
            "most r; if only the first few are large, a smaller rank would have done."
        )
        relative = st.toggle("Divide each spectrum by its largest value", key=f"{P}_relative")
        figure_with_data(
            figures.spectra_figure(
                by_rank, full_values, relative, f"Singular values of dW, {matrix_name}"
            ),
            figures.spectra_frame(by_rank, full_values),
            f"{P}_fig_spectra",
            f"lora-spectra-{matrix_id}",
        )
        st.caption(
            f"Seed {spectra_seed}. "
            + (
                "Dashed: full fine-tuning's update W_ft − W_0 of the same matrix (its top 64 "
                "singular values); its learning rate is "
                f"{rates.get('lora', 1) / max(rates.get('full', 1), 1e-12):.0f}x smaller than "
                "LoRA's, so compare shapes more than heights."
                if full_values
                else "Full fine-tuning's update is drawn here once that run has finished."
            )
        )

        similarity = analyses.get("subspace_similarity")
        st.markdown("**Do different ranks learn the same directions?** (the paper's Figure 3)")
        st.latex(
            r"\phi(A_{r=8}, A_{r=64}, i, j) = "
            r"\frac{\lVert U_{8}^{i\top} U_{64}^{j} \rVert_F^2}{\min(i, j)} \in [0, 1]"
        )
        if not similarity or matrix_id not in similarity.get("matrices", {}):
            st.info(
                "The subspace similarity needs an r=8 and an r=64 run with the same seed; the "
                "sweep does not have both yet.",
                icon="⏳",
            )
        else:
            r1, r2 = similarity["ranks"]
            phi = similarity["matrices"][matrix_id]
            dim = similarity.get("input_dim", 384)
            figure_with_data(
                figures.similarity_heatmap(
                    phi, (r1, r2), f"Subspace similarity r={r1} vs r={r2}, {matrix_name}"
                ),
                figures.similarity_frame(phi),
                f"{P}_fig_similarity",
                f"lora-subspace-similarity-{matrix_id}",
            )
            m1, m2, m3 = st.columns(3)
            m1.metric(
                "phi(1, 1): the two top directions",
                f"{phi[0][0]:.2f}",
                help=f"Random directions in {dim} dimensions: {1 / dim:.3f}",
            )
            m2.metric(
                f"phi(1, {r2}): r={r1}'s top direction inside r={r2}'s span",
                f"{phi[0][r2 - 1]:.2f}",
                help=f"Random: {r2 / dim:.2f}",
            )
            m3.metric(
                f"phi({r1}, {r2}): all of r={r1} inside r={r2}",
                f"{phi[r1 - 1][r2 - 1]:.2f}",
                help=f"Random: {r2 / dim:.2f}",
            )
            top, chance = phi[0][r2 - 1], r2 / dim
            st.markdown(
                f"**Here:** the top direction of r={r1} lies {top:.0%} inside the {r2} directions "
                f"of r={r2}, against {chance:.0%} for a random direction: "
                + (
                    "well above chance, as in the paper."
                    if top >= 2 * chance
                    else "no clear overlap beyond chance in this matrix, unlike the paper's "
                    "GPT-3 (a short training on a small model may not have settled on shared "
                    "directions yet; try other layers and W_v)."
                )
            )
            st.caption(
                f"U are the right-singular vectors of each adapter's A (seed "
                f"{similarity['seed']}); row i, column j compares the top i directions of r={r1} "
                f"with the top j of r={r2}. Independent random subspaces would give about "
                f"max(i, j) / {dim} ({r2 / dim:.2f} in the last column). **The paper's reading:** "
                "the top directions of the two adapters overlap strongly, "
                "while the rest overlap little more than chance: they are mostly noise picked "
                "up during training, which is why a small r already holds what matters."
            )
            across = similarity.get("across_seeds")
            if across and matrix_id in across.get("matrices", {}):
                seeds_pair = across["seeds"]
                phi_seeds = across["matrices"][matrix_id]
                rr = across["rank"]
                figure_with_data(
                    figures.similarity_heatmap(
                        phi_seeds,
                        (rr, rr),
                        f"r={rr}, seed {seeds_pair[0]} vs seed {seeds_pair[1]}, {matrix_name}",
                    ),
                    figures.similarity_frame(phi_seeds),
                    f"{P}_fig_similarity_seeds",
                    f"lora-subspace-similarity-seeds-{matrix_id}",
                )
                st.caption(
                    "The same rank trained twice from different random A (the paper's Figure 4 "
                    "asks the same of two seeds): shared top directions mean the task, not the "
                    "initialisation, chose them."
                )

        st.markdown("**Does the update amplify what W already does?** (Section 7.3)")
        amplification = analyses.get("amplification", {}).get(spectra_seed, {})
        amp_ranks = sorted((int(r) for r, values in amplification.items() if matrix_id in values))
        if amp_ranks:
            rows_amp = [amplification[str(r)][matrix_id] for r in amp_ranks]
            figure_with_data(
                figures.amplification_bars(
                    amp_ranks,
                    [a["factor"] for a in rows_amp],
                    [a["projected_on_delta"] for a in rows_amp],
                    [a["projected_on_weight"] for a in rows_amp],
                    [a["projected_on_random"] for a in rows_amp],
                    f"How much dW amplifies directions of W, {matrix_name}",
                ),
                pd.DataFrame([{"rank": r, **a} for r, a in zip(amp_ranks, rows_amp, strict=True)]),
                f"{P}_fig_amplification",
                f"lora-amplification-{matrix_id}",
            )
            shown = rows_amp[amp_ranks.index(rank)] if rank in amp_ranks else rows_amp[0]
            a1, a2, a3 = st.columns(3)
            a1.metric(f"amplification at r={shown['r']}", f"{shown['factor']:.2f}x")
            a2.metric("||dW||_F", f"{shown['delta_norm']:.3f}")
            a3.metric("||W||_F", f"{shown['weight_norm']:.1f}")
            st.caption(
                "Project W onto dW's own top-r directions (U^T W V^T, U and V the singular "
                "vectors of dW) and compare with W's top-r directions and random ones. **The "
                "paper's reading (Section 7.3, on GPT-3):** W projected on dW's directions is "
                "larger than on random ones but far smaller than on W's own top directions, so "
                "dW is correlated with W yet does not repeat its strongest directions: it "
                "amplifies directions W has but does not emphasise, by a large factor at small "
                "rank. "
                "A factor below 1 means the update is still small next to what W already does "
                "along those directions (a short or gentle fine-tuning)."
            )

# ---- try an adapter ----------------------------------------------------------------------------
with tabs[2]:
    cleaned = text_input(P, EXAMPLES, label="A review snippet to classify")
    show_notes(cleaned.notes)
    base = lo.load_base(device) if sweep is not None and rank is not None else None
    if sweep is None or rank is None:
        st.caption("The sweep has no LoRA run to try yet.")
    elif isinstance(base, Exception):
        st.error(escape_markdown(str(base)), icon="🚫")
    elif cleaned.is_empty:
        st.warning("Type or paste a sentence above (or pick an example) to see the predictions.")
    else:
        probe_seeds = sweep.seeds_of("probe")
        try:
            adapted = lo.adapted_prediction(rank, seed, cleaned.text, device, sweep)
            probe = None
            if probe_seeds:
                probe_seed = seed if seed in probe_seeds else probe_seeds[0]
                probe = lo.probe_prediction(probe_seed, cleaned.text, device, sweep)
        except CheckpointError as error:
            st.error(escape_markdown(str(error)), icon="🚫")
            adapted = probe = None
        if adapted is not None:
            names = sweep.class_names
            if adapted.n_pieces > adapted.max_len:
                st.info(
                    f"Your text has {adapted.n_pieces:,} wordpieces; the models read the first "
                    f"{adapted.max_len} (the length they were trained on).",
                    icon="✂️",
                )
            shown = [adapted] + ([probe] if probe else [])
            m1, m2, m3 = st.columns(3)
            m1.metric(f"{adapted.label} predicts", names[int(adapted.probabilities.argmax())])
            if probe is not None:
                change = lo.prediction_change(adapted, probe)
                m2.metric(
                    f"{probe.label} predicts",
                    names[int(probe.probabilities.argmax())],
                    help="The base encoder, frozen, with only a linear head trained on the "
                    "same data: what MiniLM's pretrained features know without any update.",
                )
                positive = len(names) - 1
                m3.metric(
                    f"P({names[positive]}) with the adapter",
                    f"{adapted.probabilities[positive]:.1%}",
                    delta=f"{change.delta[positive] * 100:+.1f} points vs the probe",
                )
            figure_with_data(
                probability_bars(
                    [p.label for p in shown],
                    names,
                    [p.probabilities for p in shown],
                    "The adapted model and the frozen base, on your text",
                ),
                pd.DataFrame(
                    [
                        {"model": p.label, **dict(zip(names, p.probabilities, strict=True))}
                        for p in shown
                    ]
                ),
                f"{P}_fig_prediction",
                "lora-prediction",
            )
            if probe is not None:
                st.markdown(
                    f"{'**The adapter flips the prediction.** ' if change.flipped else ''}"
                    f"The sentence vector the head reads moved by {change.relative_shift:.1%} "
                    f"of its length (cosine {change.cosine:.3f} with the frozen encoder's): "
                    f"that is everything a rank-{rank} update on W_q and W_v did to this text."
                )
            else:
                st.caption("The sweep has no linear probe yet, so there is no base to compare.")
            st.caption(
                "The adapter is merged (W_0 + BA) into a private copy of MiniLM; the shared "
                "base model every visitor reads is never changed."
            )

# ---- live sweep ----------------------------------------------------------------------------------
with tabs[3]:
    st.markdown(
        "Run your own small sweep on this server: MiniLM is copied, adapted at the ranks you "
        "choose and trained on a sample of the MR-like training split, then measured on dev and "
        "test sentences. The results go to a temporary folder of your session only."
    )
    if lo.live_training_disabled():
        st.info(
            f"Live training is disabled on this server ({lo.DISABLE_ENV}=1). The sweep above "
            "was built offline with `nlpviz train lora-sweep`.",
            icon="🔒",
        )
    else:
        limits = lo.live_limits(device)
        st.caption(limits.note)
        holder = lo.live_sweep_holder()
        if holder is not None and holder.owner != lo.session_owner():
            st.warning(holder.message(), icon="⏳")
        c1, c2 = st.columns(2)
        live_ranks = c1.multiselect(
            f"Ranks (up to {limits.max_ranks})",
            list(limits.ranks),
            default=[r for r in (1, 8, 64) if r in limits.ranks][: limits.max_ranks],
            max_selections=limits.max_ranks,
            key=f"{P}_live_ranks",
        )
        low, high, default_size = limits.train_sizes
        train_size = c2.slider(
            "Training sentences", low, high, default_size, step=50 if high <= 1000 else 200,
            key=f"{P}_live_train",
        )  # fmt: skip
        c3, c4, c5 = st.columns(3)
        epochs = (
            c3.slider("Epochs", 1, limits.max_epochs, 1, key=f"{P}_live_epochs")
            if (limits.max_epochs > 1)
            else 1
        )
        n_seeds = (
            c4.slider("Seeds", 1, limits.max_seeds, 1, key=f"{P}_live_seeds")
            if (limits.max_seeds > 1)
            else 1
        )
        with c5:
            include_full = st.checkbox(
                "Full fine-tuning", value=limits.full_default, key=f"{P}_live_full"
            )
            include_probe = st.checkbox("Linear probe", value=True, key=f"{P}_live_probe")
        state_key = f"{P}_live_state"
        if st.session_state.get(state_key) == "running":  # the last run was interrupted
            st.session_state[state_key] = "stopped"
        start = st.button(
            "Start the sweep", key=f"{P}_live_start", type="primary", disabled=not live_ranks
        )
        if not live_ranks:
            st.caption("Choose at least one rank.")
        if start and live_ranks:
            owner = lo.session_owner()
            busy = lo.acquire_live_sweep(owner)
            if busy is not None:
                st.warning(busy.message(), icon="⏳")
            else:
                # minutes of training: the page-run slot goes to other visitors meanwhile
                with slot_released():
                    try:
                        recipe = lo.live_recipe(
                            tuple(live_ranks), train_size, epochs, tuple(range(1, n_seeds + 1)),
                            include_full, include_probe, limits,
                        )  # fmt: skip
                        st.session_state[state_key] = "running"
                        st.button("Stop (finished runs are kept)", key=f"{P}_live_stop")
                        with st.spinner("Timing a few training steps for an honest estimate…"):
                            prepared = lo.prepare_live_sweep(
                                recipe, device, lo.live_folder(create=True)
                            )
                        total = prepared.estimate["total_s"]
                        timed = len(prepared.estimate.get("train_step_s", {}))
                        n_runs = len(prepared.estimate["per_run_s"])
                        on = prepared.estimate.get("device", device)
                        st.info(
                            f"Estimated from {timed} timed configuration"
                            f"{'s' if timed != 1 else ''} on {on}: about **{total:.0f} s** "
                            f"for {n_runs} run{'s' if n_runs != 1 else ''} (the bar below "
                            "corrects it as the runs go).",
                            icon="⏱️",
                        )
                        current = st.empty()
                        shown_run: list[str] = []
                        with progress_bar("Training…") as progress:

                            def report(fraction: float, name: str) -> None:
                                if shown_run != [name]:
                                    shown_run[:] = [name]
                                    current.caption(f"Training {name}…")
                                progress(fraction)

                            lo.run_live_sweep(prepared, report)
                        lo.keep_live_results()  # the results stay in the session, the folder goes
                        current.empty()
                        st.session_state[state_key] = "finished"
                    except MissingTrainingData as error:
                        st.session_state[state_key] = None
                        st.error(escape_markdown(str(error)), icon="🚫")
                    except ValueError as error:
                        st.session_state[state_key] = None
                        st.error(escape_markdown(str(error)), icon="🚫")
                    except Exception as error:  # noqa: BLE001 - the page stays usable, runs are kept
                        st.session_state[state_key] = None
                        st.error(
                            f"The sweep failed ({escape_markdown(type(error).__name__)}: "
                            f"{escape_markdown(str(error))}); finished runs are kept.",
                            icon="🚫",
                        )
                    finally:
                        lo.release_live_sweep(owner)
        status = st.session_state.get(state_key)
        live = lo.live_results()
        if status == "stopped":
            kept = len(live.rows) if live else 0
            st.warning(
                f"The sweep was stopped. {kept} finished run{'s' if kept != 1 else ''} "
                "kept; start it again with the same settings to continue from them.",
                icon="⏸️",
            )
        if live is not None and live.lora_rows:
            if status == "finished":
                st.success(
                    f"Your sweep is done: {len(live.rows)} run{'s' if len(live.rows) != 1 else ''}."
                )
            figure_with_data(
                figures.accuracy_vs_rank(
                    [r["rank"] for r in live.lora_rows],
                    [r["test_accuracy"] for r in live.lora_rows],
                    [r["seed"] for r in live.lora_rows],
                    [
                        ref
                        for ref in (
                            lo.run_reference(live, "full", "full fine-tuning (yours)"),
                            lo.run_reference(live, "probe", "frozen probe (yours)"),
                        )
                        if ref is not None
                    ],
                    title="Your sweep: test accuracy vs rank",
                ),
                figures.runs_frame(
                    [kind_label(r) for r in live.rows],
                    [r["trainable_parameters"] for r in live.rows],
                    [r["test_accuracy"] for r in live.rows],
                    [r["seed"] for r in live.rows],
                ),
                f"{P}_fig_live",
                "lora-live-sweep",
            )
            st.dataframe(
                pd.DataFrame(live.rows).drop(columns=["dev_history"], errors="ignore"),
                hide_index=True,
                key=f"{P}_live_rows",
            )

# ---- cards ---------------------------------------------------------------------------------------
with tabs[4]:
    if sweep is not None:
        model_card("The sweep", sweep.card)
        for kind, r, s, label in (
            ("lora", rank, seed, f"LoRA r={rank}, seed {seed}"),
            ("probe", None, (sweep.seeds_of("probe") or [None])[0], "Linear probe"),
            ("full", None, (sweep.seeds_of("full") or [None])[0], "Full fine-tuning"),
        ):
            name = sweep.run_name(kind, r, s) if s is not None else None
            if name is None:
                continue
            try:
                model_card(label, read_card(name))
            except CheckpointError as error:
                st.error(escape_markdown(str(error)), icon="🚫")
        st.caption(
            f"Every run of the sweep is its own checkpoint ({len(sweep.rows)} so far); "
            f"the default sweep plans ranks {', '.join(map(str, lo.DEFAULT_RANKS))}, full "
            "fine-tuning and the probe, for seeds "
            f"{', '.join(map(str, lo.DEFAULT_SEEDS))}."
        )

publish_query(
    {
        "rank": "" if rank is None else str(rank),
        "seed": "" if seed is None else str(seed),
        "layer": str(layer),
        "matrix": matrix,
        "text": cleaned.text,
    }
)
