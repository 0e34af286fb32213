"""CPU benchmark of the tagger page: forward, one view's work, k-best, sizes, cold start.

Run from the repository root::

    .venv/bin/python benchmarks/bench_tagger.py                       # 30 repeats
    .venv/bin/python benchmarks/bench_tagger.py --repeats 5 --skip-app
    .venv/bin/python benchmarks/bench_tagger.py --json artifacts/bench_tagger.json
    .venv/bin/python benchmarks/bench_tagger.py --skip-app --profile  # + cProfile of the long view

What is measured, for one sentence of exactly 20 and 100 tokens (a fixed tweet/news-like English
run-on text, tweet style with punctuation glued on and no sentence boundary, cut after its n-th
token as found by the page's own tokenizer; the script asserts that ``split_text`` reads it as
one sentence of n tokens with nothing dropped; 100 is the page's ``MAX_TOKENS``):

* forward: ``model(words, chars)`` of the chosen variant (``tagger-blstm-cnn-crf-wnut-ner``,
  the page's default) under ``torch.no_grad``: embeddings, char CNN, BiLSTM, Viterbi;
* view: what the page computes for a new sentence with its defaults (task wnut-ner, variant
  BLSTM-CNN-CRF, k = 3): ``read_sentence`` (forward + CRF marginals + ``k_best`` with k = 5, as
  ``nlpviz.ui.tagger.reading`` always asks for 5 and the slider slices) + ``tag_many`` of each
  of the three WNUT variants (the side-by-side table) and that table + ``entity_html`` +
  ``changed_by_crf`` + ``emission_heatmap`` + ``transition_heatmap`` + ``lattice`` (3 paths);
* k-best alone: ``model.crf.k_best(emissions, 5)`` (and k = 3 for comparison) on the sentence's
  emissions;
* outside the view, for diagnosis only: what ``st.plotly_chart`` does to the three figures (the
  CSVs are built lazily on this page: ``figure_with_data`` gets functions);
* sizes: ``figure_json_bytes`` of each figure and the UTF-8 length of the ``entity_html`` string;
* app cold start: ``streamlit run app.py`` to ``/_stcore/health`` and to ``/Tagger`` rendered in
  headless Chromium (its first example sentence; three models loaded), then the server's peak
  memory. The process and browser helpers are those of ``bench_kim_cnn.py``.

The models are loaded without Streamlit (Streamlit only runs as the server subprocess).
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
import pandas as pd
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

from nlpviz.analysis import tagger as analysis  # noqa: E402
from nlpviz.checkpoints import load_checkpoint  # noqa: E402
from nlpviz.data.vocab import Vocab  # noqa: E402
from nlpviz.device import configure_serving_threads  # noqa: E402
from nlpviz.models.tagger import Tagger  # noqa: E402
from nlpviz.viz import tagger as figures  # noqa: E402
from nlpviz.viz.common import figure_json_bytes  # noqa: E402

TASK = "wnut-ner"
VARIANTS = ("blstm", "blstm-cnn", "blstm-cnn-crf")  # as nlpviz.ui.tagger.VARIANTS
CHOSEN = "blstm-cnn-crf"  # the page's default variant (nlpviz.ui.tagger.FULL)
TOKEN_COUNTS = (20, 100)
READING_K = 5  # nlpviz.ui.tagger.reading's k; the slider then slices
PAGE_K = 3  # the slider's default
KBEST_KS = (5, 3)
VIEW_P50_TARGET_MS = 100.0  # at 20 tokens

# One tweet/news-like run-on "sentence" (@users, #tags, numbers, glued punctuation, no sentence
# boundary): split_sentences cuts a stretch of more than 60 whitespace words into chunks, so the
# 100-token prefix must have at most 60 (it has exactly 60). Tokenized by the page's tokenizer.
TEXT = (
    "Just landed in New York (JFK) w/ @sarah,@mike&@jen for the Taylor Swift show at Madison "
    "Square Garden (MSG) tonight, 7:30pm doors, $120 tix; Apple's Tim Cook met EU officials "
    "(Brussels, Monday) re: taxes/privacy/AI & the new iPhone plant (Austin, TX); Lakers lost "
    '98-102 to the Bulls (again!!), LeBron: "tired", lol, Chicago tmrw '
    "w/ my bro 4 #NBA + #ArtInstitute, then Paris/Berlin/London/Madrid w/ @ECB folks re: "
    "energy, rents & climate"
)


# ---- inputs ---------------------------------------------------------------------------------


def sentence_of_length(n_tokens: int) -> tuple[str, tuple[str, ...]]:
    """The prefix of ``TEXT`` that ends with its ``n_tokens``-th token, and the tokens the page
    reads from it (``split_text(text).sentences[0]``); asserts one sentence of exactly n."""
    matches = list(analysis._TOKEN.finditer(TEXT))
    assert len(matches) >= n_tokens, f"TEXT has {len(matches)} tokens, wanted {n_tokens}"
    text = TEXT[: matches[n_tokens - 1].end()]
    split = analysis.split_text(text)
    assert split.dropped == 0 and len(split.sentences) == 1, (
        f"the page reads {len(split.sentences)} sentence(s), {split.dropped} tokens dropped"
    )
    sentence = split.sentences[0]
    assert len(sentence) == n_tokens, f"{len(sentence)} tokens, wanted {n_tokens}"
    assert list(sentence) == analysis.tokenize_cased(text)
    return text, sentence


# ---- models ---------------------------------------------------------------------------------


@dataclass
class Loaded:
    name: str
    model: Tagger
    vocab: Vocab
    chars: Vocab
    card: dict
    device: torch.device


def load(name: str) -> Loaded:
    """What ``nlpviz.ui.loaders._load`` + ``nlpviz.ui.tagger.char_vocab`` do, without Streamlit."""
    device = torch.device("cpu")
    checkpoint = load_checkpoint(name, family="tagger")
    model = Tagger.from_checkpoint(checkpoint).to(device).eval()
    for parameter in model.parameters():  # as freeze_for_serving
        parameter.requires_grad_(False)
    vocab = Vocab.from_json(checkpoint.read_json(checkpoint.card.get("vocab_file", "vocab.json")))
    chars = Vocab.from_json(checkpoint.read_json(checkpoint.card.get("chars_file", "chars.json")))
    return Loaded(name, model, vocab, chars, checkpoint.card, device)


# ---- timing -----------------------------------------------------------------------------------


def time_forward(loaded: Loaded, sentence: tuple[str, ...], repeats: int, warmup: int) -> list:
    words, chars = analysis.encode(
        loaded.vocab, loaded.chars, [sentence], loaded.model.config.char_window
    )
    times = []
    with torch.no_grad():
        for i in range(warmup + repeats):
            start = time.perf_counter()
            loaded.model(words, chars)
            elapsed = time.perf_counter() - start
            if i >= warmup:
                times.append(elapsed)
    return times


def time_kbest(loaded: Loaded, sentence: tuple[str, ...], k: int, repeats: int) -> list:
    reading = analysis.read_sentence(
        loaded.model, loaded.vocab, loaded.chars, sentence, loaded.device, k=1
    )
    emissions = torch.from_numpy(reading.emissions)
    times = []
    with torch.no_grad():
        for i in range(2 + repeats):
            start = time.perf_counter()
            loaded.model.crf.k_best(emissions, k)
            elapsed = time.perf_counter() - start
            if i >= 2:
                times.append(elapsed)
    return times


STEPS = (
    "read_sentence",
    "side_by_side",
    "entity_html",
    "emission_heatmap",
    "transition_heatmap",
    "lattice",
)


def build_view(models: dict[str, Loaded], sentence: tuple[str, ...]) -> tuple[dict, dict, str]:
    """The page's work for one new sentence at its defaults (variant BLSTM-CNN-CRF, k = 3).

    Returns seconds per step, the figures by name and the ``entity_html`` string.
    """
    chosen = models[CHOSEN]
    t = {}
    start = time.perf_counter()
    current = analysis.read_sentence(
        chosen.model, chosen.vocab, chosen.chars, sentence, chosen.device, k=READING_K
    )
    any(current.known), all(current.known)
    t["read_sentence"] = time.perf_counter() - start

    start = time.perf_counter()
    table = pd.DataFrame({"token": list(current.tokens)})
    for variant, m in models.items():
        table[variant] = analysis.tag_many(m.model, m.vocab, m.chars, [current.tokens], m.device)[0]
    table["confidence"] = np.round(current.confidence, 3)
    t["side_by_side"] = time.perf_counter() - start

    start = time.perf_counter()
    html = figures.entity_html(current.tokens, current.labels)
    t["entity_html"] = time.perf_counter() - start

    start = time.perf_counter()
    emissions = figures.emission_heatmap(current.emissions, current.tokens, current.tags)
    current.changed_by_crf  # noqa: B018 - the page lists the CRF's changes
    t["emission_heatmap"] = time.perf_counter() - start

    start = time.perf_counter()
    transitions = figures.transition_heatmap(current.transitions, current.tags)
    t["transition_heatmap"] = time.perf_counter() - start

    start = time.perf_counter()
    paths = list(current.k_best[:PAGE_K])
    lattice = figures.lattice(
        current.tokens, current.tags, paths, current.emissions, current.marginals
    )
    t["lattice"] = time.perf_counter() - start

    built = {"emission_heatmap": emissions, "transition_heatmap": transitions, "lattice": lattice}
    return t, built, html


def time_views(models: dict[str, Loaded], sentence: tuple[str, ...], repeats: int, warmup: int):
    per_step: dict[str, list[float]] = {s: [] for s in STEPS}
    totals, serialise = [], []
    sizes: dict[str, int] = {}
    for i in range(warmup + repeats):
        steps, built, html = build_view(models, sentence)
        if i == 0:
            sizes = {name: figure_json_bytes(f) for name, f in built.items()}
            sizes["entity_html"] = len(html.encode("utf-8"))
        if i < warmup:
            continue
        totals.append(sum(steps.values()))
        for s in STEPS:
            per_step[s].append(steps[s])
        start = time.perf_counter()
        for f in built.values():
            streamlit_serialise(f)
        serialise.append(time.perf_counter() - start)
    figure_sizes = {k: v for k, v in sizes.items() if k != "entity_html"}
    largest = max(figure_sizes, key=figure_sizes.get)
    return {
        "view": summary_ms(totals),
        "steps_p50_ms": {s: percentile([x * 1000 for x in v], 50) for s, v in per_step.items()},
        "streamlit_serialise": summary_ms(serialise),
        "sizes_bytes": sizes,
        "largest_figure": {"name": largest, "bytes": sizes[largest]},
    }


def profile_view(models: dict[str, Loaded], sentence: tuple[str, ...], top: int = 22) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        build_view(models, sentence)
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(top)
    return stream.getvalue()


def kb(n_bytes: int) -> float:
    return n_bytes / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed views per length")
    parser.add_argument("--warmup", type=int, default=3, help="untimed views first")
    parser.add_argument("--app-timeout", type=float, default=60.0, help="seconds")
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
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be >= 1, --warmup >= 0")

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    else:
        configure_serving_threads()
    bench_start = time.perf_counter()
    start = time.perf_counter()
    models = {v: load(f"tagger-{v}-{TASK}") for v in VARIANTS}
    load_s = time.perf_counter() - start
    chosen = models[CHOSEN]
    assert chosen.model.crf is not None, f"{chosen.name} has no CRF"
    header = {
        "checkpoint": chosen.name,
        "side_by_side": [m.name for m in models.values()],
        "tags": len(chosen.model.config.tags),
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
        "models_load_s": load_s,
    }

    per_length = {}
    profile = None
    forward_repeats = max(50, args.repeats)
    for n in TOKEN_COUNTS:
        text, sentence = sentence_of_length(n)
        forward = summary_ms(time_forward(chosen, sentence, forward_repeats, args.warmup + 5))
        view = time_views(models, sentence, args.repeats, args.warmup)
        kbest = {
            str(k): summary_ms(time_kbest(chosen, sentence, k, args.repeats)) for k in KBEST_KS
        }
        per_length[n] = {
            "tokens": len(sentence),
            "characters": len(text),
            "forward": forward,
            "view": view,
            "k_best": kbest,
        }
        if args.profile and n == max(TOKEN_COUNTS):
            profile = profile_view(models, sentence)
        print(f"... {n} tokens done ({time.perf_counter() - bench_start:.0f} s)", file=sys.stderr)
    if profile is not None:
        print(f"cProfile of 5 views at {max(TOKEN_COUNTS)} tokens:\n{profile}", file=sys.stderr)

    app = {"skipped": True} if args.skip_app else cold_start("/Tagger", args.app_timeout)
    header["loadavg_at_end"] = list(os.getloadavg())

    n0 = min(TOKEN_COUNTS)
    value = per_length[n0]["view"]["view"]["p50_ms"]
    targets = {
        f"view_p50_{n0}_tokens_ms<={VIEW_P50_TARGET_MS:.0f}": {
            "value": value,
            "pass": value <= VIEW_P50_TARGET_MS,
        }
    }

    # ---- markdown ----
    out = []
    out.append(f"# Tagger benchmark: `{chosen.name}` (+ the two other WNUT variants), CPU\n")
    out.append(
        f"- CPU: {header['cpu']}, {header['cpus_usable']} usable cores; torch "
        f"{header['torch']} with {header['torch_threads']} threads "
        f"{'(set by --threads) ' if args.threads is not None else '(as the app server) '}"
        f"({header['torch_interop_threads']} inter-op); Python {header['python']}, "
        f"plotly {header['plotly']}"
    )
    out.append(
        f"- load average at start {header['loadavg_at_start'][0]:.2f}, at end "
        f"{header['loadavg_at_end'][0]:.2f} (another process was training on one core during "
        f"this run); three models loaded (verify + build) in {load_s * 1000:.0f} ms"
    )
    out.append(
        f"- views: {args.repeats} timed after {args.warmup} warm-ups; forward: {forward_repeats} "
        f"timed; k-best: {args.repeats} timed after 2 warm-ups; page defaults (BLSTM-CNN-CRF, "
        f"reading with k = {READING_K}, lattice with k = {PAGE_K}); {header['tags']} tags\n"
    )
    out.append(
        "| tokens | forward p50 / p95 (ms) | view p50 / p95 (ms) | k-best k=5 p50 / p95 (ms) "
        "| k-best k=3 p50 (ms) | largest figure (KB) | entity_html (KB) |"
    )
    out.append("|---:|---:|---:|---:|---:|---|---:|")
    for r in per_length.values():
        f, v, k5, k3 = r["forward"], r["view"], r["k_best"]["5"], r["k_best"]["3"]
        out.append(
            f"| {r['tokens']} | {f['p50_ms']:.1f} / {f['p95_ms']:.1f} "
            f"| {v['view']['p50_ms']:.1f} / {v['view']['p95_ms']:.1f} "
            f"| {k5['p50_ms']:.1f} / {k5['p95_ms']:.1f} | {k3['p50_ms']:.1f} "
            f"| {kb(v['largest_figure']['bytes']):.1f} ({v['largest_figure']['name']}) "
            f"| {kb(v['sizes_bytes']['entity_html']):.1f} |"
        )
    out.append("\nWhere a view's time goes (p50 ms), and what `st.plotly_chart` adds:\n")
    out.append(
        "| tokens | read_sentence (forward + marginals + k-best 5) | side-by-side (3 variants) "
        "| entity_html | emission_heatmap | transition_heatmap | lattice | st.plotly_chart "
        "serialisation of the 3 figures |"
    )
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in per_length.values():
        s = r["view"]["steps_p50_ms"]
        cells = " | ".join(f"{s[k]:.1f}" for k in STEPS)
        out.append(
            f"| {r['tokens']} | {cells} | {r['view']['streamlit_serialise']['p50_ms']:.1f} |"
        )
    names = ("emission_heatmap", "transition_heatmap", "lattice", "entity_html")
    out.append("\nSizes sent to the browser (KB; figures as `figure_json_bytes`, HTML as UTF-8):\n")
    out.append("| tokens | " + " | ".join(names) + " |")
    out.append("|---:|" + "---:|" * len(names))
    for r in per_length.values():
        sizes = r["view"]["sizes_bytes"]
        out.append(f"| {r['tokens']} | " + " | ".join(f"{kb(sizes[k]):.1f}" for k in names) + " |")
    out.extend(
        cold_start_report(
            app,
            "/Tagger rendered (script done + plotly chart; 3 models loaded, the first "
            "example read)",
        )
    )
    out.append("\nTargets:\n")
    out.append("| target | measured | result |")
    out.append("|---|---:|---|")
    for t in targets.values():
        out.append(
            f"| full view p50 <= {VIEW_P50_TARGET_MS:.0f} ms at {n0} tokens "
            f"| {t['value']:.1f} ms | {verdict(t['pass'])} |"
        )
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
