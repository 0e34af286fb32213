"""CPU benchmark of the HAN page: forward pass, one view's work, figure sizes, IG, cold start.

Run from the repository root::

    .venv/bin/python benchmarks/bench_han.py                      # han-news, 30 repeats
    .venv/bin/python benchmarks/bench_han.py --repeats 5 --checkpoint han-drugs
    .venv/bin/python benchmarks/bench_han.py --json artifacts/bench_han.json
    .venv/bin/python benchmarks/bench_han.py --skip-app --profile   # + cProfile of the long view

What is measured, for documents of 500 and 3,000 words (a fixed news-like paragraph of eight
sentences repeated, the last sentence cut so that ``tokenize_document(text).num_words`` is 500 or
3,000 where the tokenizer allows it; nothing is dropped or truncated by the page's limits of
200 sentences x 60 words, the script asserts it):

* forward: ``model(pad_documents([ids]))`` under ``torch.no_grad``;
* view: what the "Document view" tab computes per rerun: ``read_document`` (sentence split,
  tokenization, HAN forward) + ``probability_bars`` (one row) + ``document_html`` (the page's
  ``st.html`` string, shaded by the scaled weights, nothing folded: the page's defaults) +
  ``sentence_attention_bars`` + ``word_attention_heatmap`` (scaled) + ``document_frame``;
* outside the view, reported for diagnosis only: what Streamlit does to the three figures in
  ``st.plotly_chart``, and the CSVs the page builds eagerly for its download buttons
  (``figure_with_data`` gets DataFrames, not functions, on this page);
* size of every figure's JSON (``figure_json_bytes``) and of the ``document_html`` string;
* the "Attention vs attribution" tab: ``attribute_document`` toward the predicted class with
  30 steps (the page's default) and 50 steps, and the Spearman rho the page shows;
* app cold start: ``streamlit run app.py`` to ``/_stcore/health`` answering, and to
  ``/HAN?task=...`` fully rendered in headless Chromium (with its example document, so the
  first render includes its reading and its 30-step IG); then the server's peak memory. The
  process and browser helpers are those of ``bench_kim_cnn.py``.

The model is loaded without Streamlit (Streamlit only runs as the server subprocess).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly
import torch

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
for _path in (REPO_ROOT, BENCH_DIR):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench_kim_cnn import (  # noqa: E402
    cold_start,
    cold_start_report,
    cpu_model,
    percentile,
    streamlit_serialise,
    summary_ms,
    verdict,
)

from nlpviz.analysis import han as analysis  # noqa: E402
from nlpviz.analysis.stats import spearman  # noqa: E402
from nlpviz.checkpoints import load_checkpoint  # noqa: E402
from nlpviz.data.documents import (  # noqa: E402
    MAX_SENTENCES,
    MAX_WORDS,
    DocumentTokens,
    tokenize_document,
)
from nlpviz.data.vocab import Vocab  # noqa: E402
from nlpviz.device import configure_serving_threads  # noqa: E402
from nlpviz.models.han import HAN, pad_documents  # noqa: E402
from nlpviz.viz import common as common_figures  # noqa: E402
from nlpviz.viz import han as figures  # noqa: E402
from nlpviz.viz.common import figure_json_bytes  # noqa: E402

DEFAULT_CHECKPOINT = "han-news"
WORD_COUNTS = (500, 3000)
PAGE_IG_STEPS = 30  # the page's slider default
IG_STEPS = (PAGE_IG_STEPS, 50)
SCALE, COLLAPSE = True, 0.0  # the page's defaults for the document view

# Targets (see the brief): checked and printed with PASS/FAIL.
VIEW_P50_TARGET_MS = {500: 150.0, 3000: 600.0}
FIGURE_TARGET_BYTES = 1_000_000  # 1 MB, the document_html string included

# A fixed, English, news-like paragraph (8 sentences, 193 words); repeated to the wanted length.
NEWS = (
    "The city council voted on Tuesday to approve a new budget that adds 40 million dollars for "
    "buses, bike lanes and road repairs over the next three years.",
    "Supporters said the plan would ease traffic in the crowded eastern districts, where "
    "commuters often wait half an hour for a bus that never comes.",
    "Critics, however, warned that the money would come from higher parking fees and a small "
    "rise in property taxes.",
    '"We cannot keep asking families to pay more for services that don\'t improve," said one '
    "council member, who voted against the measure.",
    "The mayor's office said the first projects would begin in March, starting with the repair "
    "of two bridges that engineers had described as unsafe.",
    "Local business owners gave the plan a mixed reception.",
    "Some welcomed the promise of shorter delivery times, while others feared months of "
    "construction would keep shoppers away from the high street.",
    "A public hearing on the details is scheduled for next month, and residents can also submit "
    "comments online until the end of February.",
)
FIGURES = ("probability_bars", "sentence_attention_bars", "word_attention_heatmap")


# ---- inputs ---------------------------------------------------------------------------------


def document_of_length(n_words: int) -> tuple[str, DocumentTokens]:
    """The paragraph repeated sentence by sentence, the last one cut at a whitespace word so that
    ``tokenize_document`` counts ``n_words`` words (or the fewest above, if a cut word has several
    tokens). Asserts that the page's limits drop and cut nothing."""
    sentences: list[str] = []
    count = 0
    i = 0
    while count < n_words:
        sentence = NEWS[i % len(NEWS)]
        i += 1
        size = tokenize_document(sentence).num_words
        if count + size <= n_words:
            sentences.append(sentence)
            count += size
            continue
        words = sentence.split()
        for k in range(1, len(words) + 1):  # the shortest prefix that reaches n_words
            size = tokenize_document(" ".join(words[:k])).num_words
            if count + size >= n_words:
                sentences.append(" ".join(words[:k]))
                count += size
                break
    text = " ".join(sentences)
    document = tokenize_document(text)
    assert document.dropped_sentences == 0 and document.truncated_sentences == 0, (
        f"the page's limits ({MAX_SENTENCES} sentences x {MAX_WORDS} words) cut the document: "
        f"{document.dropped_sentences} sentences dropped, {document.truncated_sentences} cut"
    )
    assert document.num_words == count and n_words <= count < n_words + 5, (
        f"built a document of {document.num_words} words (counted {count}), wanted {n_words}"
    )
    assert len(document.sentences) == len(sentences), (
        f"{len(document.sentences)} sentences read, {len(sentences)} written"
    )
    return text, document


# ---- model ----------------------------------------------------------------------------------


@dataclass
class Loaded:
    name: str
    model: HAN
    vocab: Vocab
    card: dict
    device: torch.device

    @property
    def class_names(self) -> list[str]:
        return list(self.card["class_names"])


def load(name: str) -> Loaded:
    """What ``nlpviz.ui.loaders._load`` does for a HAN, without Streamlit's cache."""
    device = torch.device("cpu")
    checkpoint = load_checkpoint(name, family="han")
    model = HAN.from_checkpoint(checkpoint).to(device).eval()
    for parameter in model.parameters():  # as freeze_for_serving
        parameter.requires_grad_(False)
    vocab = Vocab.from_json(checkpoint.read_json(checkpoint.card["vocab_file"]))
    return Loaded(name, model, vocab, checkpoint.card, device)


# ---- timing -----------------------------------------------------------------------------------


def time_forward(loaded: Loaded, document: DocumentTokens, repeats: int, warmup: int) -> list:
    ids = analysis.encode(document, loaded.vocab)
    times = []
    with torch.no_grad():
        for i in range(warmup + repeats):
            start = time.perf_counter()
            loaded.model(pad_documents([ids]).to(loaded.device))
            elapsed = time.perf_counter() - start
            if i >= warmup:
                times.append(elapsed)
    return times


STEPS = (
    "read_document",
    "probability_bars",
    "document_html",
    "sentence_attention_bars",
    "word_attention_heatmap",
    "document_frame",
)


def build_view(loaded: Loaded, text: str) -> tuple[dict[str, float], dict, str, dict]:
    """The "Document view" tab's work for one document.

    Returns seconds per step, the figures by name, the HTML string and the page's tables.
    """
    t = {}
    start = time.perf_counter()
    read = analysis.read_document(
        loaded.model, loaded.vocab, text, loaded.class_names, loaded.device
    )
    assert read is not None
    t["read_document"] = time.perf_counter() - start
    doc = read.document

    start = time.perf_counter()
    probs = common_figures.probability_bars(
        ["HAN"], loaded.class_names, read.probabilities[None, :], "Class probabilities"
    )
    t["probability_bars"] = time.perf_counter() - start

    start = time.perf_counter()
    html = figures.document_html(
        doc.sentences, read.sentence_attention, read.word_attention, SCALE, COLLAPSE
    )
    t["document_html"] = time.perf_counter() - start

    start = time.perf_counter()
    bars = figures.sentence_attention_bars(doc.sentence_texts, read.sentence_attention)
    t["sentence_attention_bars"] = time.perf_counter() - start

    start = time.perf_counter()
    heatmap = figures.word_attention_heatmap(
        doc.sentences, read.sentence_attention, read.word_attention, SCALE
    )
    t["word_attention_heatmap"] = time.perf_counter() - start

    start = time.perf_counter()
    data = figures.document_frame(
        doc.sentence_texts, doc.sentences, read.sentence_attention, read.word_attention
    )
    t["document_frame"] = time.perf_counter() - start

    tables = {"probabilities": read.probabilities[None, :], "document": data}
    built = {"probability_bars": probs, "sentence_attention_bars": bars}
    built["word_attention_heatmap"] = heatmap
    return t, built, html, tables


def page_csvs(tables: dict, class_names: list[str]) -> None:
    """The CSVs ``figure_with_data`` builds at once on the HAN page (it gets DataFrames)."""
    import pandas as pd

    probs = tables["probabilities"]
    pd.DataFrame(probs, columns=[f"P({c})" for c in class_names]).to_csv(index=False)
    data = tables["document"]
    data.drop_duplicates("sentence")[["sentence", "sentence_attention", "sentence_text"]].to_csv(
        index=False
    )
    data.to_csv(index=False)


def time_views(loaded: Loaded, text: str, repeats: int, warmup: int) -> dict:
    per_step: dict[str, list[float]] = {s: [] for s in STEPS}
    totals, serialise, csvs = [], [], []
    sizes: dict[str, int] = {}
    for i in range(warmup + repeats):
        steps, built, html, tables = build_view(loaded, text)
        if i == 0:
            sizes = {name: figure_json_bytes(f) for name, f in built.items()}
            sizes["document_html"] = len(html.encode("utf-8"))
        if i < warmup:
            continue
        totals.append(sum(steps.values()))
        for s in STEPS:
            per_step[s].append(steps[s])
        start = time.perf_counter()
        for f in built.values():
            streamlit_serialise(f)
        serialise.append(time.perf_counter() - start)
        start = time.perf_counter()
        page_csvs(tables, loaded.class_names)
        csvs.append(time.perf_counter() - start)
    largest = max(sizes, key=sizes.get)
    return {
        "view": summary_ms(totals),
        "steps_p50_ms": {s: percentile([x * 1000 for x in v], 50) for s, v in per_step.items()},
        "streamlit_serialise": summary_ms(serialise),
        "page_csvs": summary_ms(csvs),
        "sizes_bytes": sizes,
        "largest": {"name": largest, "bytes": sizes[largest]},
    }


def time_ig(loaded: Loaded, text: str, n_steps: int, repeats: int) -> dict:
    """``attribute_document`` toward the predicted class, then the page's Spearman rho."""
    read = analysis.read_document(
        loaded.model, loaded.vocab, text, loaded.class_names, loaded.device
    )
    assert read is not None
    ig_times, rho_times = [], []
    found, rho = None, float("nan")
    for i in range(1 + repeats):
        start = time.perf_counter()
        found = analysis.attribute_document(
            loaded.model, loaded.vocab, text, read.predicted, loaded.device, n_steps=n_steps
        )
        middle = time.perf_counter()
        assert found is not None
        rho = spearman(analysis.scaled_word_attention(read), np.abs(found.flat()))
        end = time.perf_counter()
        if i >= 1:
            ig_times.append(middle - start)
            rho_times.append(end - middle)
    out = summary_ms(ig_times)
    out["spearman"] = summary_ms(rho_times)
    out["rho"] = rho
    out["delta"] = float(found.delta)
    out["n_steps"] = n_steps
    return out


def profile_view(loaded: Loaded, text: str, views: int = 5, top: int = 18) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(views):
        build_view(loaded, text)
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(top)
    return stream.getvalue()


# ---- app cold start ---------------------------------------------------------------------------


def kb(n_bytes: int) -> float:
    return n_bytes / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT)
    parser.add_argument("--repeats", type=int, default=30, help="timed views per length")
    parser.add_argument("--warmup", type=int, default=3, help="untimed views first")
    parser.add_argument("--ig-repeats", type=int, default=3, help="timed IG runs per setting")
    parser.add_argument("--app-timeout", type=float, default=120.0, help="seconds")
    parser.add_argument("--skip-app", action="store_true", help="no Streamlit cold start")
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of the longest view to stderr"
    )
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument(
        "--threads",
        type=int,
        help="torch.set_num_threads for this process (default: what the app server uses, "
        "nlpviz.device.configure_serving_threads)",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0 or args.ig_repeats < 1:
        parser.error("--repeats and --ig-repeats must be >= 1, --warmup >= 0")

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    else:
        configure_serving_threads()
    bench_start = time.perf_counter()
    start = time.perf_counter()
    loaded = load(args.checkpoint)
    load_s = time.perf_counter() - start
    header = {
        "checkpoint": args.checkpoint,
        "task": loaded.card.get("task"),
        "cpu": cpu_model(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "torch_threads": torch.get_num_threads(),
        "torch_threads_set_by_flag": args.threads is not None,
        "torch_interop_threads": torch.get_num_interop_threads(),
        "loadavg_at_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "plotly": plotly.__version__,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "ig_repeats": args.ig_repeats,
        "model_load_s": load_s,
    }

    per_length = {}
    profile = None
    for n in WORD_COUNTS:
        text, document = document_of_length(n)
        forward = summary_ms(time_forward(loaded, document, max(50, args.repeats), args.warmup + 5))
        view = time_views(loaded, text, args.repeats, args.warmup)
        ig = {str(steps): time_ig(loaded, text, steps, args.ig_repeats) for steps in IG_STEPS}
        per_length[n] = {
            "words": document.num_words,
            "sentences": len(document.sentences),
            "characters": len(text),
            "forward": forward,
            "view": view,
            "ig": ig,
        }
        if args.profile and n == max(WORD_COUNTS):
            profile = profile_view(loaded, text)
        print(f"... {n} words done ({time.perf_counter() - bench_start:.0f} s)", file=sys.stderr)
    if profile is not None:
        print(f"cProfile of 5 views at {max(WORD_COUNTS)} words:\n{profile}", file=sys.stderr)

    task = str(loaded.card.get("task", "news"))
    app = {"skipped": True} if args.skip_app else cold_start(f"/HAN?task={task}", args.app_timeout)
    header["loadavg_at_end"] = list(os.getloadavg())

    targets = {}
    for n, limit in VIEW_P50_TARGET_MS.items():
        value = per_length[n]["view"]["view"]["p50_ms"] if n in per_length else float("nan")
        targets[f"view_p50_{n}_words_ms<={limit:.0f}"] = {"value": value, "pass": value <= limit}
    largest = max(
        ((r["view"]["largest"]["bytes"], r["view"]["largest"]["name"], n))
        for n, r in per_length.items()
    )
    targets["largest_figure_or_html_bytes<=1MB"] = {
        "value": largest[0],
        "what": f"{largest[1]} at {largest[2]:,} words",
        "pass": largest[0] <= FIGURE_TARGET_BYTES,
    }

    # ---- markdown ----
    out = []
    out.append(f"# HAN benchmark: `{args.checkpoint}` (task {header['task']}), CPU\n")
    out.append(
        f"- CPU: {header['cpu']}, {header['cpus_usable']} usable cores; torch "
        f"{header['torch']} with {header['torch_threads']} threads "
        f"{'(set by --threads) ' if args.threads is not None else '(as the app server) '}"
        f"({header['torch_interop_threads']} inter-op); Python {header['python']}, "
        f"plotly {header['plotly']}"
    )
    out.append(
        f"- load average at start {header['loadavg_at_start'][0]:.2f}, at end "
        f"{header['loadavg_at_end'][0]:.2f}; model load (verify + build) {load_s * 1000:.0f} ms"
    )
    out.append(
        f"- views: {args.repeats} timed after {args.warmup} warm-ups; forward: "
        f"{max(50, args.repeats)} timed; IG: {args.ig_repeats} timed after 1 warm-up per "
        f"setting; document view at the page's defaults (scaled words, nothing folded)\n"
    )
    out.append(
        "| words (sentences) | forward p50 / p95 (ms) | view p50 / p95 (ms) | "
        "largest figure (KB) | IG 30 steps p50 (ms) | IG 50 steps p50 (ms) | "
        "Spearman p50 (ms) | rho, IG delta (30 steps) |"
    )
    out.append("|---:|---:|---:|---|---:|---:|---:|---:|")
    for r in per_length.values():
        f, v = r["forward"], r["view"]
        ig30, ig50 = r["ig"][str(PAGE_IG_STEPS)], r["ig"]["50"]
        out.append(
            f"| {r['words']:,} ({r['sentences']}) | {f['p50_ms']:.1f} / {f['p95_ms']:.1f} "
            f"| {v['view']['p50_ms']:.1f} / {v['view']['p95_ms']:.1f} "
            f"| {kb(v['largest']['bytes']):.1f} ({v['largest']['name']}) "
            f"| {ig30['p50_ms']:.0f} | {ig50['p50_ms']:.0f} "
            f"| {ig30['spearman']['p50_ms']:.2f} | {ig30['rho']:+.2f}, {ig30['delta']:+.1e} |"
        )
    out.append("\nWhere a view's time goes (p50 ms), and the work Streamlit and the page add:\n")
    out.append(
        "| words | read_document | probability_bars | document_html | sentence_attention_bars "
        "| word_attention_heatmap | document_frame | st.plotly_chart serialisation of the 3 "
        "figures | the page's 3 eager CSVs |"
    )
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in per_length.values():
        s = r["view"]["steps_p50_ms"]
        out.append(
            f"| {r['words']:,} | {s['read_document']:.1f} | {s['probability_bars']:.1f} | "
            f"{s['document_html']:.1f} | {s['sentence_attention_bars']:.1f} | "
            f"{s['word_attention_heatmap']:.1f} | {s['document_frame']:.1f} | "
            f"{r['view']['streamlit_serialise']['p50_ms']:.1f} | "
            f"{r['view']['page_csvs']['p50_ms']:.1f} |"
        )
    out.append("\nSizes sent to the browser (KB; figures as `figure_json_bytes`, HTML as UTF-8):\n")
    out.append("| words | " + " | ".join([*FIGURES, "document_html"]) + " |")
    out.append("|---:|" + "---:|" * (len(FIGURES) + 1))
    for r in per_length.values():
        sizes = r["view"]["sizes_bytes"]
        cells = " | ".join(f"{kb(sizes[k]):.1f}" for k in (*FIGURES, "document_html"))
        out.append(f"| {r['words']:,} | {cells} |")
    out.extend(
        cold_start_report(
            app,
            f"/HAN?task={task} rendered (script done + plotly chart; 3 models loaded, "
            "example read, 30-step IG)",
        )
    )
    out.append("\nTargets:\n")
    out.append("| target | measured | result |")
    out.append("|---|---:|---|")
    for key, t in targets.items():
        if key.startswith("view_p50_"):
            n = int(key.split("_")[2])
            label = f"view p50 <= {VIEW_P50_TARGET_MS[n]:.0f} ms at {n:,} words"
            measured = f"{t['value']:.1f} ms"
        else:
            label = "no figure (nor the document HTML) over 1 MB"
            measured = f"{kb(t['value']):.1f} KB ({t['what']})"
        out.append(f"| {label} | {measured} | {verdict(t['pass'])} |")
    out.append(f"\nTotal benchmark time {time.perf_counter() - bench_start:.0f} s.")
    print("\n".join(out))

    assert "streamlit" not in sys.modules, "the benchmark itself must not import streamlit"
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "header": header,
            "lengths": {str(n): r for n, r in per_length.items()},
            "app": app,
            "targets": targets,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
