"""CPU benchmark of the attention explorer against BertViz 1.4.1, same model, same text, same run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_attention.py                  # MiniLM, 10 repeats
    .venv/bin/python benchmarks/bench_attention.py --repeats 3 --bertviz-repeats 1
    .venv/bin/python benchmarks/bench_attention.py --skip-bertviz --json artifacts/bench_attn.json

For every source (all-MiniLM-L6-v2 by default; add nlpviz's own encoders to ``SOURCES``) and
inputs of exactly 32, 128 and 512 tokens (special tokens included; a fixed English paragraph
repeated, the script asserts the count):

* bare forward: ``model(input_ids)`` under ``torch.inference_mode`` without attention outputs;
* head view: from a new text to the JSON of a drawn head view: the source callable (tokenize +
  forward with ``output_attentions`` + numpy), slicing (``pooled_grid`` + one head's map),
  ``thumbnail_grid`` + ``head_heatmap`` (layer 1, head 1), and what ``st.plotly_chart`` does to
  them (validate + to_json);
* summary panel, timed apart: ``summarise_view`` + ``summary_heatmap`` + its serialisation (the
  page's first look at a text is the head view plus this);
* sizes: the JSON of the grid + the large head (one "view"), and of the summary heatmap;
* BertViz 1.4.1 ``head_view(attention, tokens, html_action='return')`` on the same model, loaded
  the same way, and the same token ids: its build time (not counting its forward pass) and the
  size of the HTML it returns. BertViz is not an nlpviz requirement: it is installed with
  ``pip install --no-deps --target`` into a directory of its own (default
  ``$NLPVIZ_CACHE/bench-bertviz``, with IPython, which ``head_view`` imports, in a sub-directory)
  and runs in a subprocess of the same interpreter with that directory on ``PYTHONPATH``.

Both sides use one torch thread, as the app server does (``configure_serving_threads``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import plotly
import torch

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
for _path in (REPO_ROOT, BENCH_DIR):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench_kim_cnn import cpu_model, streamlit_serialise, summary_ms, verdict  # noqa: E402

from nlpviz import settings  # noqa: E402
from nlpviz.analysis.attention import AttentionView, pooled_grid, summarise_view  # noqa: E402
from nlpviz.device import configure_serving_threads  # noqa: E402
from nlpviz.models.hf_encoder import MINILM, encode_attention, load_encoder  # noqa: E402
from nlpviz.viz import attention as figures  # noqa: E402
from nlpviz.viz.common import figure_json_bytes  # noqa: E402

LENGTHS = (32, 128, 512)
BERTVIZ_VERSION = "1.4.1"
DEFAULT_BERTVIZ_DIR = settings.cache_dir() / "bench-bertviz"

# Targets (see the issue): checked and printed with PASS/FAIL.
SPEEDUP_TARGET_128 = 10.0  # BertViz head_view build / our text-to-view time, at 128 tokens
SHRINK_TARGET_128 = 25.0  # BertViz HTML bytes / our view's JSON bytes, at 128 tokens
VIEW_BYTES_TARGET_512 = 2_000_000
FORWARD_RATIO_TARGET_512 = 2.0  # our text-to-view time / bare forward, at 512 tokens

PARAGRAPH = (
    "The committee met on Tuesday to discuss the new library, which the town has wanted for "
    "years. Some members argued that the old building could be repaired, while others said it "
    "was too small and too expensive to heat. After a long debate, they agreed to ask local "
    "residents what they would prefer, and to publish the results before the summer."
)


# ---- sources ----------------------------------------------------------------------------------


@dataclass
class BenchSource:
    """What the benchmark needs of a source.

    ``view`` is the page's source callable ``(text, max_tokens, window_start) -> AttentionView``;
    ``forward`` runs the bare model on a (1, T) id tensor; ``ids`` turns a text into the ids the
    view reads (special tokens included); ``hf_dir`` is a Hugging Face directory for the BertViz
    comparison (None: no comparison).
    """

    name: str
    view: Callable[[str, int, int], AttentionView]
    forward: Callable[[torch.Tensor], object]
    ids: Callable[[str], list[int]]
    hf_dir: str | None


def minilm_source() -> BenchSource:
    from nlpviz.models.hf_encoder import minilm_path

    encoder = load_encoder(MINILM, "cpu")  # as nlpviz.ui.attention.load_hf, without the cache

    def forward(ids: torch.Tensor):
        return encoder.model(input_ids=ids, attention_mask=torch.ones_like(ids))

    return BenchSource(
        name="all-MiniLM-L6-v2",
        view=partial(_hf_view, encoder),
        forward=forward,
        ids=lambda text: list(encoder.tokenizer(text)["input_ids"]),
        hf_dir=str(minilm_path()),
    )


def _hf_view(encoder, text: str, max_tokens: int, window_start: int) -> AttentionView:
    return encode_attention(
        encoder.model, encoder.tokenizer, text, max_tokens, window_start, encoder.name
    )


def deberta_source() -> BenchSource:
    """nlpviz's miniature DeBERTa from its checkpoint. Relative positions let its body read the
    whole text in one pass, also past the 128 tokens it was trained on (the page keeps to 128)."""
    from nlpviz.checkpoints import load_checkpoint
    from nlpviz.data.pretrain import TOKENIZER_FILE, SubwordTokenizer
    from nlpviz.models.encoders import model_from_checkpoint

    checkpoint = load_checkpoint("encoder-deberta", family="encoder")
    model = model_from_checkpoint(checkpoint).eval()
    tokenizer = SubwordTokenizer.from_file(checkpoint.directory / TOKENIZER_FILE, "wordpiece")

    def ids_of(text: str) -> list[int]:
        return [tokenizer.cls_id, *tokenizer.encode(text), tokenizer.sep_id]

    def forward(ids: torch.Tensor):
        return model.body(ids)

    def view(text: str, max_tokens: int, window_start: int) -> AttentionView:
        ids = ids_of(text)[:max_tokens]
        with torch.inference_mode():
            states = model.body(torch.tensor([ids]))
        attentions = torch.stack([p.probs[0] for p in states.layers]).numpy()  # (L, H, T, T)
        return AttentionView(
            model_name="DeBERTa (nlpviz miniature)",
            tokens=tokenizer.display(ids),
            special=np.asarray([i in (tokenizer.cls_id, tokenizer.sep_id) for i in ids]),
            attentions=attentions,
            truncated=False,
            n_input_tokens=len(ids),
            window_start=0,
        )

    return BenchSource(
        name="nlpviz DeBERTa (4 layers x 4 heads)",
        view=view,
        forward=forward,
        ids=ids_of,
        hf_dir=None,
    )


SOURCES: dict[str, Callable[[], BenchSource]] = {
    "minilm": minilm_source,
    "deberta": deberta_source,
}


# ---- inputs -----------------------------------------------------------------------------------


def text_of_length(source: BenchSource, n_tokens: int) -> str:
    """The paragraph's words repeated so that the source reads exactly ``n_tokens`` (with its
    special tokens); words that would overshoot are skipped, single-token "the" fills the end."""
    words = PARAGRAPH.split()
    chosen: list[str] = []
    i = 0
    while len(source.ids(" ".join(chosen))) < n_tokens and i < 20 * n_tokens:
        candidate = [*chosen, words[i % len(words)]]
        i += 1
        if len(source.ids(" ".join(candidate))) <= n_tokens:
            chosen = candidate
        elif len(source.ids(" ".join([*chosen, "the"]))) <= n_tokens:
            chosen.append("the")
    text = " ".join(chosen)
    got = len(source.ids(text))
    assert got == n_tokens, f"built a text of {got} tokens, wanted {n_tokens}"
    return text


# ---- our side ---------------------------------------------------------------------------------

STEPS = ("source", "slicing", "figures", "serialise")


def build_view(
    source: BenchSource, text: str, max_tokens: int
) -> tuple[dict[str, float], float, list]:
    """One head view (the steps in ``STEPS``), then the summary panel, timed apart."""
    times = {}
    start = time.perf_counter()
    view = source.view(text, max_tokens, 0)
    times["source"] = time.perf_counter() - start
    start = time.perf_counter()
    grid, _ = pooled_grid(view.attentions)
    head = view.head(0, 0)
    times["slicing"] = time.perf_counter() - start
    start = time.perf_counter()
    figs = [
        figures.thumbnail_grid(grid, selected=(0, 0)),
        figures.head_heatmap(view.tokens, head, 0, 0, view.special),
    ]
    times["figures"] = time.perf_counter() - start
    start = time.perf_counter()
    for figure in figs:
        streamlit_serialise(figure)
    times["serialise"] = time.perf_counter() - start
    assert view.n_tokens == max_tokens or not view.truncated
    start = time.perf_counter()
    summaries = summarise_view(view)
    figs.append(figures.summary_heatmap(summaries.entropy, "entropy", (0, 0), view.n_tokens))
    streamlit_serialise(figs[-1])
    return times, time.perf_counter() - start, figs


def time_forward(source: BenchSource, text: str, repeats: int, warmup: int) -> list[float]:
    ids = torch.tensor([source.ids(text)])
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            start = time.perf_counter()
            source.forward(ids)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return times


def time_views(source: BenchSource, text: str, n: int, repeats: int, warmup: int) -> dict:
    per_step: dict[str, list[float]] = {s: [] for s in STEPS}
    totals, panel = [], []
    sizes: list[int] = []
    for i in range(warmup + repeats):
        steps, summary_s, figs = build_view(source, text, n)
        if i == 0:
            sizes = [figure_json_bytes(f) for f in figs]
        if i < warmup:
            continue
        totals.append(sum(steps.values()))
        panel.append(summary_s)
        for s in STEPS:
            per_step[s].append(steps[s])
    return {
        "view": summary_ms(totals),
        "summaries": summary_ms(panel),
        "steps_p50_ms": {s: summary_ms(v)["p50_ms"] for s, v in per_step.items()},
        "grid_bytes": sizes[0],
        "head_bytes": sizes[1],
        "summary_bytes": sizes[2],
        "view_bytes": sizes[0] + sizes[1],
    }


# ---- BertViz, in its own environment --------------------------------------------------------

BERTVIZ_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import torch, transformers
    torch.set_num_threads(1)
    from bertviz import head_view

    job = json.load(sys.stdin)
    model = transformers.AutoModel.from_pretrained(job["dir"], attn_implementation="eager")
    model.eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(job["dir"])
    results = []
    for item in job["inputs"]:
        ids = torch.tensor([item["ids"]])
        tokens = tokenizer.convert_ids_to_tokens(item["ids"])
        forward, build, size = [], [], 0
        for _ in range(item["repeats"]):
            start = time.perf_counter()
            with torch.inference_mode():
                attention = model(ids, output_attentions=True).attentions
            forward.append(time.perf_counter() - start)
            start = time.perf_counter()
            html = head_view(attention, tokens, html_action="return")
            build.append(time.perf_counter() - start)
            size = len(html.data.encode("utf-8"))
            del html
        results.append({"n": len(item["ids"]), "forward_s": forward, "build_s": build,
                        "html_bytes": size})
    import bertviz
    print(json.dumps({"results": results, "version": getattr(bertviz, "__version__", "?")}))
    """
)


BERTVIZ_ARRAYS_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np, torch
    torch.set_num_threads(1)
    from bertviz import head_view

    job = json.load(sys.stdin)
    results = []
    for item in job["inputs"]:
        arrays = np.load(item["npz"])["attentions"]  # (L, H, T, T)
        attention = tuple(torch.from_numpy(a[None]) for a in arrays)
        build, size = [], 0
        for _ in range(item["repeats"]):
            start = time.perf_counter()
            html = head_view(attention, item["tokens"], html_action="return")
            build.append(time.perf_counter() - start)
            size = len(html.data.encode("utf-8"))
            del html
        results.append({"n": len(item["tokens"]), "forward_s": [0.0], "build_s": build,
                        "html_bytes": size})
    print(json.dumps({"results": results}))
    """
)


def run_bertviz_on_arrays(source: BenchSource, texts: dict, repeats: int, directory: Path) -> dict:
    """BertViz's head_view on the attention our source computed (for models BertViz cannot
    load itself): the same tensors it would get from a Hugging Face model."""
    inputs = []
    for n, text in texts.items():
        view = source.view(text, n, 0)
        path = directory / f"attentions-{n}.npz"
        np.savez(path, attentions=view.attentions)
        inputs.append(
            {"npz": str(path), "tokens": view.tokens, "repeats": 1 if n >= 512 else repeats}
        )
    env = dict(
        settings.process_environment(), PYTHONPATH=bertviz_path(directory), HF_HUB_OFFLINE="1"
    )
    done = subprocess.run(
        [sys.executable, "-c", BERTVIZ_ARRAYS_SCRIPT],
        input=json.dumps({"inputs": inputs}),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"BertViz subprocess failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bertviz_path(directory: Path) -> str:
    return os.pathsep.join([str(directory), str(directory / "ipython")])


def ensure_bertviz(directory: Path) -> None:
    """Install BertViz (no dependencies) and IPython into ``directory`` unless already there."""
    if not (directory / "bertviz").is_dir():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
             str(directory), f"bertviz=={BERTVIZ_VERSION}"],
            check=True,
        )  # fmt: skip
    if not (directory / "ipython" / "IPython").is_dir():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target",
             str(directory / "ipython"), "ipython"],
            check=True,
        )  # fmt: skip


def run_bertviz(hf_dir: str, inputs: list[dict], directory: Path) -> dict:
    env = dict(
        settings.process_environment(), PYTHONPATH=bertviz_path(directory), HF_HUB_OFFLINE="1"
    )
    job = json.dumps({"dir": hf_dir, "inputs": inputs})
    done = subprocess.run(
        [sys.executable, "-c", BERTVIZ_SCRIPT],
        input=job,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"BertViz subprocess failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- report -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", action="append", choices=list(SOURCES), help="repeatable")
    parser.add_argument("--repeats", type=int, default=10, help="timed views per length")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--bertviz-repeats", type=int, default=3, help="head_view builds per length (1 at 512)"
    )
    parser.add_argument("--bertviz-dir", type=Path, default=DEFAULT_BERTVIZ_DIR)
    parser.add_argument("--skip-bertviz", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0 or args.bertviz_repeats < 1:
        parser.error("--repeats and --bertviz-repeats must be >= 1, --warmup >= 0")

    configure_serving_threads()
    bench_start = time.perf_counter()
    header = {
        "cpu": cpu_model(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "torch_threads": torch.get_num_threads(),
        "loadavg_at_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "plotly": plotly.__version__,
        "repeats": args.repeats,
        "warmup": args.warmup,
    }
    if not args.skip_bertviz:
        ensure_bertviz(args.bertviz_dir)

    report: dict[str, dict] = {}
    for key in args.source or ["minilm"]:
        start = time.perf_counter()
        source = SOURCES[key]()
        load_s = time.perf_counter() - start
        rows = {}
        texts = {n: text_of_length(source, n) for n in LENGTHS}
        for n, text in texts.items():
            rows[n] = {
                "forward": summary_ms(time_forward(source, text, max(20, args.repeats), 3)),
                **time_views(source, text, n, args.repeats, args.warmup),
            }
            print(f"... {source.name} {n} tokens ({time.perf_counter() - bench_start:.0f} s)",
                  file=sys.stderr)  # fmt: skip
        bertviz = None
        if not args.skip_bertviz and source.hf_dir:
            inputs = [
                {"ids": source.ids(text), "repeats": 1 if n >= 512 else args.bertviz_repeats}
                for n, text in texts.items()
            ]
            bertviz = run_bertviz(source.hf_dir, inputs, args.bertviz_dir)
        elif not args.skip_bertviz:
            bertviz = run_bertviz_on_arrays(source, texts, args.bertviz_repeats, args.bertviz_dir)
        if bertviz is not None:
            for n, result in zip(LENGTHS, bertviz["results"], strict=True):
                assert result["n"] == n, (result["n"], n)
                rows[n]["bertviz"] = {
                    "forward": summary_ms(result["forward_s"]),
                    "build": summary_ms(result["build_s"]),
                    "html_bytes": result["html_bytes"],
                }
        report[source.name] = {"load_s": load_s, "lengths": rows}
    header["loadavg_at_end"] = list(os.getloadavg())

    out = ["# Attention explorer benchmark (CPU), against BertViz "
           f"{BERTVIZ_VERSION} `head_view`\n"]  # fmt: skip
    out.append(
        f"- CPU: {header['cpu']}, {header['cpus_usable']} usable cores; torch {header['torch']} "
        f"with {header['torch_threads']} thread(s) on both sides; plotly {header['plotly']}"
    )
    out.append(
        f"- load average at start {header['loadavg_at_start'][0]:.2f}, at end "
        f"{header['loadavg_at_end'][0]:.2f}; views: {args.repeats} timed after {args.warmup} "
        f"warm-ups; BertViz: {args.bertviz_repeats} builds (1 at 512 tokens)\n"
    )
    targets: dict[str, dict] = {}
    for name, r in report.items():
        out.append(f"## {name} (loaded in {r['load_s']:.1f} s)\n")
        out.append(
            "| tokens | bare forward p50 | our head view p50 (text -> figures' JSON) | + summary "
            "panel p50 | our view JSON (grid + head) | summary heatmap JSON | BertViz "
            "head_view build | BertViz HTML | faster | smaller |"
        )
        out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n, row in r["lengths"].items():
            ours_ms, fwd_ms = row["view"]["p50_ms"], row["forward"]["p50_ms"]
            bv = row.get("bertviz")
            bv_cells = "| – | – | – | – |"
            if bv:
                speed = bv["build"]["p50_ms"] / ours_ms
                shrink = bv["html_bytes"] / row["view_bytes"]
                bv_cells = (
                    f"| {bv['build']['p50_ms']:,.0f} ms | {bv['html_bytes'] / 1e6:,.1f} MB "
                    f"| {speed:,.0f}x | {shrink:,.0f}x |"
                )
                row["speedup"], row["shrink"] = speed, shrink
            out.append(
                f"| {n} | {fwd_ms:.0f} ms | {ours_ms:.0f} ms (p95 {row['view']['p95_ms']:.0f}) "
                f"| {row['summaries']['p50_ms']:.0f} ms "
                f"| {row['view_bytes'] / 1e6:.2f} MB | {row['summary_bytes'] / 1e3:.0f} KB "
                + bv_cells
            )
        out.append("\nWhere our view's time goes (p50 ms):\n")
        out.append("| tokens | " + " | ".join(STEPS) + " |")
        out.append("|---:|" + "---:|" * len(STEPS))
        for n, row in r["lengths"].items():
            s = row["steps_p50_ms"]
            out.append(f"| {n} | " + " | ".join(f"{s[k]:.1f}" for k in STEPS) + " |")
        r128, r512 = r["lengths"][128], r["lengths"][512]
        if "speedup" in r128:
            targets[f"{name}: >= 10x faster than BertViz at 128 tokens"] = {
                "value": f"{r128['speedup']:.0f}x",
                "pass": r128["speedup"] >= SPEEDUP_TARGET_128,
            }
            targets[f"{name}: >= 25x smaller than BertViz at 128 tokens"] = {
                "value": f"{r128['shrink']:.0f}x",
                "pass": r128["shrink"] >= SHRINK_TARGET_128,
            }
        targets[f"{name}: one view < 2 MB at 512 tokens"] = {
            "value": f"{r512['view_bytes'] / 1e6:.2f} MB",
            "pass": r512["view_bytes"] < VIEW_BYTES_TARGET_512,
        }
        ratio = r512["view"]["p50_ms"] / r512["forward"]["p50_ms"]
        targets[f"{name}: view within 2x of the bare forward at 512 tokens"] = {
            "value": f"{ratio:.2f}x",
            "pass": ratio <= FORWARD_RATIO_TARGET_512,
        }
    out.append("\nTargets:\n")
    out.append("| target | measured | result |")
    out.append("|---|---:|---|")
    for label, t in targets.items():
        out.append(f"| {label} | {t['value']} | {verdict(t['pass'])} |")
    out.append(f"\nTotal benchmark time {time.perf_counter() - bench_start:.0f} s.")
    print("\n".join(out))

    assert "streamlit" not in sys.modules, "the benchmark itself must not import streamlit"
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"header": header, "sources": report, "targets": targets}
        args.json.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
