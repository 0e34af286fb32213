"""Chung et al. (2014): tanh units, GRUs and LSTMs, their gates over time, their learning."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import streamlit as st

from nlpviz.analysis.gated_rnn import gated_vs_tanh, unit_change, unit_order
from nlpviz.checkpoints import Card, CheckpointError
from nlpviz.data.chars import MAX_TEXT_CHARS, TextTooShort, prepare_text
from nlpviz.data.chorales import (
    LOW_PITCH,
    MAX_FRAMES,
    MAX_MUSIC_UPLOAD_BYTES,
    MusicUploadError,
    read_music_upload,
    roll_to_midi,
)
from nlpviz.data.user_input import UploadError, decode_bytes
from nlpviz.models.gated_rnn import CELLS, SHOWN
from nlpviz.ui import gated_rnn as ui
from nlpviz.ui.claims import show_verdict
from nlpviz.ui.sidebar import render_sidebar
from nlpviz.ui.untrusted import read_untrusted
from nlpviz.ui.widgets import (
    figure_with_data,
    init_from_query,
    model_card,
    publish_query,
    show_notes,
)
from nlpviz.viz import gated_rnn as figures
from nlpviz.viz.common import escape_markdown

P = "grnn"
VIEWS = {
    "curves": "Learning curves",
    "music": "Music: Bach chorales",
    "text": "Text: characters",
}
ORDERS = {"change": "most changing first", "index": "unit number", "mean": "highest mean first"}
EXAMPLES = (
    "The minister said on Tuesday that the talks would continue next week, but opposition "
    'leaders called the plan "too little, too late" (and asked for a vote).',
    "In 2017, prices rose by 3.5% in the first quarter; in the second, they fell again.",
    "Hello world",
)
CONTINUATION_FRAMES = 32

st.set_page_config(page_title="GRU vs LSTM · nlpviz", page_icon="🎼", layout="wide")
device = str(render_sidebar())

st.title("Gated recurrent units vs LSTM")
st.caption(
    "Chung, Gulcehre, Cho & Bengio, *Empirical Evaluation of Gated Recurrent Neural Networks on "
    "Sequence Modeling*, 2014 · trained by nlpviz on music21's Bach chorales and on news text"
)
st.markdown(
    "A recurrent network reads a sequence one step at a time and keeps a state. A plain **tanh "
    "unit** overwrites its state at every step; a **GRU** and an **LSTM** have *gates*, numbers "
    "between 0 and 1 per unit that decide how much of the old state to keep and how much new "
    "input to let in. The paper trained the three with about the same number of parameters on "
    "polyphonic music and found the gated units better and faster to train. Here the three "
    "cells are trained the same way on the Bach chorales and as character-level language models "
    "on news text; watch which units open, forget and reset as a chorale or your text goes by."
)
with st.expander("The gate equations, and what to look at"):
    st.latex(r"\text{tanh unit:}\quad h_t = \tanh(W x_t + U h_{t-1} + b)")
    st.latex(
        r"\text{GRU:}\quad r_t = \sigma(W_r x_t + U_r h_{t-1} + b_r),\quad "
        r"z_t = \sigma(W_z x_t + U_z h_{t-1} + b_z)"
    )
    st.latex(
        r"n_t = \tanh\big(W_n x_t + b_{in} + r_t \odot (U_n h_{t-1} + b_{hn})\big),\quad "
        r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}"
    )
    st.latex(
        r"\text{LSTM:}\quad i_t, f_t, o_t = \sigma(W_{i,f,o} x_t + U_{i,f,o} h_{t-1} + b_{i,f,o}),"
        r"\quad g_t = \tanh(W_g x_t + U_g h_{t-1} + b_g)"
    )
    st.latex(r"c_t = f_t \odot c_{t-1} + i_t \odot g_t,\quad h_t = o_t \odot \tanh(c_t)")
    st.markdown(
        "These are PyTorch's equations, which our cells implement step by step (and are tested "
        "against `torch.nn.GRU` / `torch.nn.LSTM`). Two differences from the paper: its GRU "
        "applies the reset gate before the product, $U(r_t \\odot h_{t-1})$, and names the "
        "update gate the share of the *new* state (here $z_t$ is the share of the *old* state "
        "kept); its LSTM has peephole connections, ours has none.\n\n"
        "**What to look at:** in the GRU, units whose update gate $z$ stays near 1 carry "
        "information a long way (they barely change); units whose $z$ flickers are rewritten at "
        "every step. In the LSTM, a forget gate $f$ near 1 with a small input gate $i$ keeps "
        "the memory cell $c$ unchanged; a forget gate dropping to 0 wipes it (in text, often at "
        "a space or the end of a word). Sort units by how much they change to find the fast "
        "ones, and draw one over your text to see what it tracks (the LSTMVis idea)."
    )

init_from_query(f"{P}_view", "view", "curves", options=list(VIEWS))
view = st.radio("View", list(VIEWS), format_func=VIEWS.get, key=f"{P}_view", horizontal=True)


def metric_of(card: Card) -> tuple[str, float]:
    metrics = card.metrics
    if "test_nll" in metrics:
        return "test NLL per frame (nats)", metrics["test_nll"]
    return "test bits per character", metrics["test_bpc"]


def results_table(cards: dict[str, Card]) -> pd.DataFrame:
    rows = []
    for cell, card in cards.items():
        label, value = metric_of(card)
        recipe = card.recipe
        rows.append(
            {
                "cell": figures.CELL_NAMES[cell],
                "units": card.config["hidden"],
                "parameters": card.metrics["parameters"],
                label: value,
                "best at": recipe.get("best_epoch", recipe.get("best_update")),
                "training wall time (s)": card.run.wall_time_s,
            }
        )
    return pd.DataFrame(rows)


# ---- learning curves ---------------------------------------------------------------------
if view == "curves":
    for task, what, unit_label in (
        ("music", "the Bach chorales", "validation NLL per frame (nats)"),
        ("chars", "news text", "validation bits per character"),
    ):
        cards = ui.cards(task)
        st.subheader(f"On {what}")
        if not cards:
            st.warning(
                f"No {what} checkpoints are trained yet: run `nlpviz train "
                f"{ui.checkpoint_name(task, 'gru')}` (and the tanh/LSTM ones)."
            )
            continue
        key = "valid_nll" if task == "music" else "valid_bpc"
        step_key, step_label = ("epoch", "epoch") if task == "music" else ("update", "update")
        by_step = {
            c: ([h[step_key] for h in card.history], [h[key] for h in card.history])
            for c, card in cards.items()
        }
        clock = "cpu_s" if all("cpu_s" in card.history[0] for card in cards.values()) else "wall_s"
        by_time = {
            c: ([h[clock] for h in card.history], [h[key] for h in card.history])
            for c, card in cards.items()
        }
        clock_label = (
            "training CPU seconds (one thread)"
            if clock == "cpu_s"
            else "training seconds (wall clock)"
        )
        reference = None
        if task == "music":
            paper = next(iter(cards.values()))["paper_figure"]
            reference = (paper["value"], f"paper: GRU test NLL {paper['value']} (JSB, Table 2)")
        curve_rows = pd.DataFrame(
            [{"cell": c, **h} for c, card in cards.items() for h in card.history]
        )
        left, right = st.columns(2)
        with left:
            figure = figures.learning_curves(
                by_step, step_label, unit_label, f"{what}: against {step_label}s", reference
            )
            figure_with_data(figure, curve_rows, f"{P}_{task}_curve_steps", f"curves-{task}-steps")
        with right:
            figure = figures.learning_curves(
                by_time,
                clock_label,
                unit_label,
                f"{what}: against training time",
                reference,
            )
            figure_with_data(figure, curve_rows, f"{P}_{task}_curve_time", f"curves-{task}-time")
        st.dataframe(results_table(cards), hide_index=True, key=f"{P}_{task}_table")
        verdict = gated_vs_tanh(
            {cell: metric_of(card)[1] for cell, card in cards.items()},
            figures.CELL_NAMES,
            what,
            paper=f"GRU test NLL {reference[0]} on JSB chorales (Chung et al. 2014, Table 2, as "
            "listed by Papers with Code)"
            if reference
            else "",
        )
        if verdict is not None:
            show_verdict(verdict)
        if clock == "cpu_s":
            final = {c: card.history[-1] for c, card in cards.items()}
            pace = " · ".join(
                f"{figures.CELL_NAMES[c]} {h['cpu_s'] / h[step_key]:.3g}" for c, h in final.items()
            )
            st.caption(
                f"CPU seconds per {step_label} of training: {pace}. These are PyTorch's fused CPU "
                "kernels on one thread, not the paper's implementation: read the time axis as "
                "what each cell costs here."
            )
        last = {c: card.history[-1][step_key] for c, card in cards.items()}
        best_at = {
            c: card.recipe.get("best_epoch", card.recipe.get("best_update"))
            for c, card in cards.items()
        }
        if all(best_at[c] == last[c] for c in cards):
            st.caption(
                f"On {what}, every cell was still improving when its budget ran out (its best "
                "check is the last one), so the ranking may change with longer training."
            )
        if task == "music":
            paper = next(iter(cards.values()))["paper_figure"]
            st.caption(
                f"The paper's figure: {paper['metric']} = {paper['value']} for the GRU — "
                f"{paper['source']}. Our models are small (about "
                f"{next(iter(cards.values()))['metrics']['parameters']:,} parameters each), "
                "trained for minutes on one CPU thread with Adam and no weight noise; the "
                "chorales are few, so all three overfit after tens of epochs and the epoch with "
                "the best validation NLL is kept. The time axis is the training process's CPU "
                "time (one thread): the machine was shared, so wall-clock seconds (in the CSV) "
                "would measure the neighbours as much as the cells."
            )
        else:
            first = next(iter(cards.values()))
            unigram = first["metrics"].get("unigram_bpc")
            recipe = first.recipe
            if "lr_decays" in recipe:
                capped = [
                    figures.CELL_NAMES[c]
                    for c, card in cards.items()
                    if card.history[-1]["update"] >= card.recipe["updates"]
                ]
                stopping = (
                    f"each with its learning rate halved whenever {recipe['patience']} checks in "
                    f"a row ({recipe['patience']} × {recipe['eval_every']:,} updates) brought no "
                    f"better validation bits per character; after {recipe['lr_decays']} "
                    "halvings the next such stall ended training (at most "
                    f"{recipe['updates']:,} updates), and each model is kept at its best check"
                    + (
                        f" ({', '.join(capped)} reached the cap before a final stall)"
                        if capped
                        else ""
                    )
                )
            else:
                stopping = "the same number of updates"
            st.caption(
                "The paper has no text task; this comparison is ours. Same budget for every "
                f"cell: about {first['metrics']['parameters']:,} parameters, the same batches "
                f"in the same order, {stopping}. A model that knows only character "
                f"frequencies spends {unigram} bits per character."
            )
        for cell, card in cards.items():
            model_card(figures.CELL_NAMES[cell], card)

# ---- music -------------------------------------------------------------------------------
elif view == "music":
    loaded = {}
    for cell in CELLS:
        try:
            loaded[cell] = ui.load_rnn(ui.checkpoint_name("music", cell), device)
        except CheckpointError as error:
            st.error(str(error), icon="🚫")
    if not loaded:
        st.stop()
    heldout = next(iter(loaded.values())).heldout
    pieces = list(heldout)
    init_from_query(f"{P}_piece", "piece", pieces[0] if pieces else "", options=pieces)
    init_from_query(
        f"{P}_cell", "cell", "gru" if "gru" in loaded else next(iter(loaded)), options=list(loaded)
    )
    left, right = st.columns([3, 2])
    with left:
        piece = st.selectbox(
            "A held-out chorale (never seen in training)", pieces, key=f"{P}_piece"
        )
        upload = st.file_uploader(
            f"…or upload a MIDI, MusicXML or ABC file (up to {MAX_MUSIC_UPLOAD_BYTES // 1024} "
            f"KB; the first {MAX_FRAMES} quarter notes are read)",
            type=["mid", "midi", "xml", "musicxml", "mxl", "abc"],
            key=f"{P}_music_upload",
        )
    with right:
        cell = st.selectbox(
            "Model whose predicted note probabilities are shown",
            list(loaded),
            format_func=figures.CELL_NAMES.get,
            key=f"{P}_cell",
        )
    roll, title = heldout.get(piece), f"held-out chorale {piece}"
    if upload is not None:
        try:
            parsed = read_untrusted(
                read_music_upload,
                upload.name,
                upload.getvalue(),
                label="your music file",
                errors=(MusicUploadError,),
            )
            show_notes(parsed.notes_text)
            roll, title = parsed.roll, f"your file {parsed.title}"
            st.info(f"Showing {escape_markdown(upload.name)}.", icon="🎼")
        except MusicUploadError as error:
            st.error(escape_markdown(str(error)), icon="🚫")
            st.caption("Showing the held-out chorale instead.")
    publish_query({"view": view, "piece": piece, "cell": cell})
    if roll is None:
        st.warning("No held-out chorale is stored with these checkpoints.")
        st.stop()
    roll = np.ascontiguousarray(roll, dtype=np.uint8)
    key = (roll.tobytes(), tuple(roll.shape))
    # the gates are drawn for the GRU and the LSTM, the probabilities for the chosen model; the
    # other losses come from the fused kernel (same numbers, no gates kept)
    traces = {
        c: ui.music_trace(loaded[c].name, device, *key)
        for c in loaded
        if c in (cell, "gru", "lstm")
    }
    losses = {c: ui.music_loss(loaded[c].name, device, *key) for c in loaded}
    st.markdown(
        "Per-frame negative log-likelihood of this piece (nats; lower is better): "
        + " · ".join(f"**{figures.CELL_NAMES[c]}** {v:.2f}" for c, v in losses.items())
    )
    trace = traces[cell]
    figure = figures.piano_roll(
        roll,
        trace.probs,
        LOW_PITCH,
        f"{title}: the notes (squares) over the {figures.CELL_NAMES[cell]}'s predictions",
    )

    def roll_table() -> pd.DataFrame:
        frames, pitches = np.nonzero(np.ones_like(roll))
        return pd.DataFrame(
            {
                "frame": frames,
                "midi_pitch": pitches + LOW_PITCH,
                "played": roll[frames, pitches],
                **{
                    f"p_{c}": ui.music_trace(loaded[c].name, device, *key).probs[frames, pitches]
                    for c in loaded
                },
            }
        )

    figure_with_data(figure, roll_table, f"{P}_roll", "piano-roll")

    st.subheader("Gates over the piece (units × quarter notes)")
    x_labels = [str(t) for t in range(len(roll))]
    gate_columns = st.columns(2)
    for column, gcell, default in zip(
        gate_columns, ("gru", "lstm"), ("update", "forget"), strict=True
    ):
        if gcell not in traces:
            continue
        with column:
            shown = list(SHOWN[gcell])
            gate = st.selectbox(
                f"{figures.CELL_NAMES[gcell]}: gate or state",
                shown,
                index=shown.index(default),
                format_func=figures.SERIES_TITLES.get,
                key=f"{P}_music_gate_{gcell}",
            )
            values = traces[gcell].series[gate]
            order = unit_order(values, "change")
            figure = figures.gate_heatmap(
                values,
                gate,
                x_labels,
                order,
                title=f"{figures.CELL_NAMES[gcell]}: {figures.SERIES_TITLES[gate]}",
                x_title="quarter note",
                max_ticks=12,
            )
            frame = pd.DataFrame(values, columns=[f"unit_{u}" for u in range(values.shape[1])])
            frame.insert(0, "frame", np.arange(len(values)))
            figure_with_data(figure, frame, f"{P}_music_heat_{gcell}", f"{gcell}-{gate}")
    st.caption(
        "Rows are sorted by how much a unit changes from one quarter note to the next "
        "(most changing on top)."
    )

    st.subheader("Let each model continue the piece")
    st.markdown(
        f"Each model reads the piece and then plays on for {CONTINUATION_FRAMES} quarter "
        "notes, drawing every note of every frame as an independent coin flip with its "
        "predicted probability and feeding its own frame back in."
    )
    seed = st.number_input("Random seed", 0, 10_000, 0, key=f"{P}_seed")
    columns = st.columns(len(loaded))
    for column, (c, model) in zip(columns, loaded.items(), strict=True):
        sampled = ui.continuation(model.name, device, *key, CONTINUATION_FRAMES, int(seed))
        with column:
            st.download_button(
                f"{figures.CELL_NAMES[c]}: piece + continuation (MIDI)",
                data=roll_to_midi(np.vstack([roll, sampled])),
                file_name=f"continuation-{c}-seed{int(seed)}.mid",
                mime="audio/midi",
                key=f"{P}_midi_{c}",
            )
            st.caption(f"{int(sampled.sum())} notes sampled in {CONTINUATION_FRAMES} frames")
    sampled = ui.continuation(loaded[cell].name, device, *key, CONTINUATION_FRAMES, int(seed))
    figure = figures.piano_roll(
        roll,
        None,
        LOW_PITCH,
        f"{figures.CELL_NAMES[cell]}'s continuation (orange) after the piece",
        continuation=sampled,
    )
    figure_with_data(
        figure,
        pd.DataFrame(
            [
                {"frame": len(roll) + t, "midi_pitch": int(k) + LOW_PITCH}
                for t, k in zip(*np.nonzero(sampled), strict=True)
            ],
            columns=["frame", "midi_pitch"],
        ),
        f"{P}_continuation",
        f"continuation-{cell}",
    )

# ---- text --------------------------------------------------------------------------------
else:
    loaded = {}
    for cell in CELLS:
        try:
            loaded[cell] = ui.load_rnn(ui.checkpoint_name("chars", cell), device)
        except CheckpointError as error:
            st.error(str(error), icon="🚫")
    if not loaded:
        st.stop()
    default_text = next(iter(loaded.values())).card.get("sample_text", EXAMPLES[0])[:300]
    init_from_query(f"{P}_text", "text", default_text)
    init_from_query(
        f"{P}_tcell",
        "cell",
        "lstm" if "lstm" in loaded else next(iter(loaded)),
        options=list(loaded),
    )
    init_from_query(f"{P}_order", "order", "change", options=list(ORDERS))

    def use_example() -> None:
        choice = st.session_state.get(f"{P}_example")
        if choice:
            st.session_state[f"{P}_text"] = choice

    left, right = st.columns([3, 2])
    with left:
        st.selectbox(
            "Try an example",
            list(EXAMPLES),
            index=None,
            placeholder="Pick an example…",
            key=f"{P}_example",
            on_change=use_example,
        )
        raw = st.text_area(
            "Text",
            key=f"{P}_text",
            height=120,
            help=f"Up to {MAX_TEXT_CHARS:,} characters are read, one step per character.",
        )
        upload = st.file_uploader(
            "…or upload a .txt file", type=["txt", "md"], key=f"{P}_text_upload"
        )
    with right:
        cell = st.selectbox(
            "Model", list(loaded), format_func=figures.CELL_NAMES.get, key=f"{P}_tcell"
        )
        shown = list(SHOWN[cell])
        init_from_query(f"{P}_gate_{cell}", "gate", shown[0], options=shown)
        gate = st.selectbox(
            "Gate or state",
            shown,
            format_func=figures.SERIES_TITLES.get,
            key=f"{P}_gate_{cell}",
        )
        order_by = st.radio(
            "Order units by",
            list(ORDERS),
            format_func=ORDERS.get,
            key=f"{P}_order",
            horizontal=True,
        )
    text = raw
    if upload is not None:
        try:
            text, _, notes = decode_bytes(upload.getvalue())
            show_notes(notes)
            st.info(f"Showing the uploaded file {escape_markdown(upload.name)}.", icon="📄")
        except UploadError as error:
            st.error(escape_markdown(str(error)), icon="🚫")
    vocab = loaded[cell].vocab
    try:
        prepared = prepare_text(text, vocab)
    except TextTooShort as error:
        publish_query({"view": view, "cell": cell, "gate": gate, "order": order_by, "text": ""})
        st.warning(escape_markdown(str(error)), icon="✏️")
        st.stop()
    show_notes(prepared.notes)
    traces = {cell: ui.text_trace(loaded[cell].name, device, prepared.text)}
    bits = {c: ui.text_bits(m.name, device, prepared.text) for c, m in loaded.items()}
    st.markdown(
        "Bits per character on this text (lower is better): "
        + " · ".join(f"**{figures.CELL_NAMES[c]}** {v:.2f}" for c, v in bits.items())
    )
    values = traces[cell].series[gate]  # (time, hidden)
    order = unit_order(values, order_by)
    n_units = values.shape[1]
    top = st.slider(
        "Units shown (in the chosen order)", 8, n_units, min(48, n_units), key=f"{P}_top"
    )
    chars = list(prepared.text)
    shown_title = f"{figures.CELL_NAMES[cell]}: {figures.SERIES_TITLES[gate]}"
    if top < n_units:
        shown_title += f" ({top} of {n_units} units)"
    figure = figures.gate_heatmap(
        values,
        gate,
        figures.char_labels(chars),
        order[:top],
        title=shown_title,
        x_title="character",
    )
    change = unit_change(values)

    def gate_table() -> pd.DataFrame:
        frame = pd.DataFrame(values, columns=[f"unit_{u}" for u in range(n_units)])
        frame.insert(0, "char", chars)
        frame.insert(0, "position", np.arange(len(chars)))
        return frame

    figure_with_data(figure, gate_table, f"{P}_text_heat", f"{cell}-{gate}-text")
    options = [int(u) for u in order]
    init_from_query(f"{P}_unit", "unit", str(options[0]), options=[str(u) for u in options])
    if st.session_state[f"{P}_unit"] not in [str(u) for u in options]:
        st.session_state[f"{P}_unit"] = str(options[0])
    unit = int(
        st.selectbox(
            "Unit to draw over the text",
            [str(u) for u in options],
            format_func=lambda u: f"unit {u} (mean change {change[int(u)]:.3f} per character)",
            key=f"{P}_unit",
        )
    )
    figure = figures.unit_over_text(chars, values[:, unit], gate, unit)
    figure_with_data(
        figure,
        pd.DataFrame({"position": np.arange(len(chars)), "char": chars, "value": values[:, unit]}),
        f"{P}_unit_text",
        f"{cell}-{gate}-unit{unit}",
    )
    st.download_button(
        "Download every gate and state of this text (JSON)",
        data=lambda: json.dumps(
            {
                "text": prepared.text,
                "cell": cell,
                "series": {k: np.round(v, 4).tolist() for k, v in traces[cell].series.items()},
                "bits": np.round(traces[cell].loss, 4).tolist(),
            }
        ),
        file_name=f"gates-{cell}.json",
        mime="application/json",
        key=f"{P}_json",
    )
    publish_query(
        {
            "view": view,
            "cell": cell,
            "gate": gate,
            "order": order_by,
            "unit": str(unit),
            "text": prepared.text,
        }
    )
    minutes = sorted(round(item.card.history[-1]["cpu_s"] / 60) for item in loaded.values())
    spent = f"{minutes[0]}" if minutes[0] == minutes[-1] else f"{minutes[0]}-{minutes[-1]}"
    st.caption(
        f"Our miniatures: about 100k parameters each, trained for {spent} "
        "CPU minutes on news articles; the paper has no text experiment, so nothing here "
        "reproduces a claim of the paper: it shows what the same gates do on text."
    )
    model_card(figures.CELL_NAMES[cell], loaded[cell].card)
