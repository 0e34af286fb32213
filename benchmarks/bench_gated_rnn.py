"""CPU benchmark of the gated-RNN page: gate views for 500 characters and a 200-frame chorale.

Run from the repository root::

    .venv/bin/python benchmarks/bench_gated_rnn.py                 # 20 repeats
    .venv/bin/python benchmarks/bench_gated_rnn.py --repeats 5 --json artifacts/bench_gated_rnn.json

Target (issue 9): each gate view within 200 ms on the CPU. One intra-op thread, as the app
serves (``configure_serving_threads``). What is measured, without Streamlit and its caches (a
cold view: the worst case of a rerun with new input):

* ``forward``: the explicit cell's forward pass (every gate at every step) of one model;
* text view (500 characters of a news article): ``prepare_text`` + ``text_bits`` of the three
  cells (fused kernel; the page shows each one's bits per character) + ``text_trace`` of the LSTM
  (explicit, every gate) + its forget-gate heatmap (48 units, ordered by change) + one unit drawn
  over the text, each figure serialised to JSON as Streamlit does;
* music view (200 frames, held-out chorales end to end): ``music_loss`` of the three cells +
  ``music_trace`` of the GRU and the LSTM + the piano roll with the GRU's probabilities + the GRU
  and LSTM gate heatmaps, serialised to JSON;
* continuation: sampling 32 frames from each of the three models and writing the MIDI files
  (computed on the same rerun as the music view, reported apart).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from nlpviz.analysis.gated_rnn import (  # noqa: E402
    heldout_rolls,
    music_loss,
    music_trace,
    sample_continuation,
    text_bits,
    text_trace,
    unit_order,
)
from nlpviz.checkpoints import load_checkpoint  # noqa: E402
from nlpviz.data.chars import CharVocab, prepare_text  # noqa: E402
from nlpviz.data.chorales import LOW_PITCH, roll_to_midi  # noqa: E402
from nlpviz.device import configure_serving_threads  # noqa: E402
from nlpviz.models.gated_rnn import CELLS, SequenceModel  # noqa: E402
from nlpviz.viz import gated_rnn as figures  # noqa: E402

TARGET_MS = 200.0


def load(name: str) -> tuple[SequenceModel, dict, object]:
    checkpoint = load_checkpoint(name, family="gated_rnn")
    model = SequenceModel.from_checkpoint(checkpoint).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    card = checkpoint.card
    side = None
    if "vocab_file" in card:
        side = CharVocab.from_json(checkpoint.read_json(card["vocab_file"]))
    elif "heldout_file" in card:
        side = heldout_rolls(checkpoint.read_json(card["heldout_file"]), model.config.n_inputs)
    return model, card, side


def timed(function, repeats: int) -> dict:
    function()  # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 1),
        "p90_ms": round(samples[int(0.9 * (len(samples) - 1))], 1),
        "max_ms": round(samples[-1], 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    threads = configure_serving_threads()

    chars = {cell: load(f"chars-{cell}") for cell in CELLS}
    music = {cell: load(f"chorales-{cell}") for cell in CELLS}
    vocab = chars["lstm"][2]
    text = (chars["lstm"][1]["sample_text"] * 2)[:500]
    pieces = music["gru"][2]
    roll = np.concatenate(list(pieces.values()))[:200]
    assert len(text) == 500 and roll.shape[0] == 200, (len(text), roll.shape)
    results: dict = {
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": threads,
        "repeats": args.repeats,
        "target_ms": TARGET_MS,
    }

    ids = prepare_text(text, vocab).ids
    for cell in CELLS:
        model = chars[cell][0]
        results[f"forward_text500_{cell}"] = timed(lambda m=model: text_trace(m, ids), args.repeats)
        model = music[cell][0]
        results[f"forward_roll200_{cell}"] = timed(
            lambda m=model: music_trace(m, roll), args.repeats
        )

    def text_view() -> int:
        prepared = prepare_text(text, vocab)
        bits = [text_bits(chars[c][0], prepared.ids) for c in CELLS]  # the page's bpc line
        trace = text_trace(chars["lstm"][0], prepared.ids)  # the gates of the chosen model
        values = trace.series["forget"]
        order = unit_order(values, "change")
        heat = figures.gate_heatmap(
            values, "forget", figures.char_labels(list(prepared.text)), order[:48]
        )
        over = figures.unit_over_text(list(prepared.text), values[:, order[0]], "forget", 0)
        return len(heat.to_json()) + len(over.to_json()) + len(bits)

    def music_view() -> int:
        losses = [music_loss(music[c][0], roll) for c in CELLS]  # the page's NLL line
        traces = {c: music_trace(music[c][0], roll) for c in ("gru", "lstm")}
        labels = [str(t) for t in range(len(roll))]
        built = [figures.piano_roll(roll, traces["gru"].probs, LOW_PITCH, "roll")]
        for cell, gate in (("gru", "update"), ("lstm", "forget")):
            values = traces[cell].series[gate]
            built.append(figures.gate_heatmap(values, gate, labels, unit_order(values, "change")))
        return sum(len(f.to_json()) for f in built) + len(losses)

    def continuation() -> int:
        total = 0
        for cell in CELLS:
            sampled = sample_continuation(music[cell][0], roll, 32, seed=0)
            total += len(roll_to_midi(np.vstack([roll, sampled])))
        return total

    results["text_view_500_chars"] = timed(text_view, args.repeats)
    results["text_view_figure_json_bytes"] = text_view()
    results["music_view_200_frames"] = timed(music_view, args.repeats)
    results["music_view_figure_json_bytes"] = music_view()
    results["continuation_3_models_32_frames"] = timed(continuation, args.repeats)
    for key in ("text_view_500_chars", "music_view_200_frames"):
        results[key]["meets_target"] = results[key]["median_ms"] <= TARGET_MS
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
