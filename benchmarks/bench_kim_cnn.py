"""CPU benchmark of the Kim CNN page: forward pass, one view's work, figure sizes, IG, cold start.

Run from the repository root::

    .venv/bin/python benchmarks/bench_kim_cnn.py                 # multichannel MR, 30 repeats
    .venv/bin/python benchmarks/bench_kim_cnn.py --repeats 5 --checkpoint kim-cnn-static-mr
    .venv/bin/python benchmarks/bench_kim_cnn.py --json artifacts/bench_kim_cnn.json

What is measured, for inputs of exactly 16, 64 and 256 tokens (a fixed movie-review-like text
repeated and cut; 256 is the page's MAX_TOKENS):

* forward: ``model(pad_ids(...))`` under ``torch.no_grad``;
* view: ``read_text`` + ``top_features`` (k=5 for the table, k=1 for the filter explorer) +
  every figure the "Prediction" and "Filter activations" tabs build for that text (the probability
  bars for one row and the three feature-map heatmaps, strongest 25 filters as the page's default;
  also timed with all 100 filters);
* outside the view, reported for diagnosis only: what Streamlit does to each of those figures in
  ``st.plotly_chart`` (``plotly.tools.return_figure_from_figure_or_data(validate_figure=True)``
  then ``plotly.io.to_json``) and the CSV frames the page builds beside the heatmaps;
* figure JSON size (``figure_json_bytes``) of the largest figure, 25 and 100 filters;
* Integrated Gradients (``analysis.attribute``, 50 steps) toward the predicted class;
* app cold start: ``streamlit run app.py`` to ``/_stcore/health`` answering, and to ``/Kim_CNN``
  fully rendered in headless Chromium; then the server's peak resident memory (VmHWM).

The models are loaded without Streamlit (Streamlit only runs as the server subprocess).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly
import plotly.io
import plotly.tools
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from nlpviz import settings  # noqa: E402
from nlpviz.analysis import kim_cnn as analysis  # noqa: E402
from nlpviz.checkpoints import load_checkpoint  # noqa: E402
from nlpviz.data.tokenize import word_tokenize  # noqa: E402
from nlpviz.data.vocab import Vocab  # noqa: E402
from nlpviz.device import configure_serving_threads  # noqa: E402
from nlpviz.models.kim_cnn import KimCNN, pad_ids  # noqa: E402
from nlpviz.viz import common as common_figures  # noqa: E402
from nlpviz.viz import kim_cnn as figures  # noqa: E402
from nlpviz.viz.common import figure_json_bytes  # noqa: E402

DEFAULT_CHECKPOINT = "kim-cnn-multichannel-mr"
LENGTHS = (16, 64, 256)
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
RENDERED_JS = (
    "return !!document.querySelector("
    "\"[data-testid='stApp'][data-test-script-state='notRunning']\")"
    " && !!document.querySelector('.js-plotly-plot');"
)

# Targets (see the brief): checked and printed with PASS/FAIL.
VIEW_P50_TARGET_MS = 100.0  # at 64 tokens
IG_TARGET_S = 1.0  # 50 steps, every length
FIGURE_TARGET_KB = 500.0

# A fixed, English, movie-review-like text; repeated and cut to the wanted token count.
REVIEW = (
    "The film opens with a long, quiet shot of a harbour at dawn, and for a while it seems "
    "content to watch. The lead performance is terrific: restrained, funny when it needs to be, "
    "and never showy. The script, though, isn't nearly as sharp as its cast. Too many scenes "
    "repeat the same joke, the second act drags, and the villain's plan makes little sense. "
    "Still, the photography is gorgeous, the score is warm without being sentimental, and the "
    "final twenty minutes are genuinely moving. It's not a masterpiece, but it is a smart, "
    "generous movie that trusts its audience, and I'd happily watch it again."
)


# ---- inputs ---------------------------------------------------------------------------------


def text_of_length(n_tokens: int, vocab: Vocab) -> str:
    """The review repeated and cut so that ``analysis.tokenize`` yields exactly ``n_tokens``."""
    chunks: list[str] = []
    count = 0
    source = (REVIEW + " ").split()
    i = 0
    while count < n_tokens:
        chunk = source[i % len(source)]
        i += 1
        size = len(word_tokenize(chunk))
        if count + size <= n_tokens:
            chunks.append(chunk)
            count += size
        else:  # the chunk has several tokens ("isn't,"): take the ones that still fit
            pieces = word_tokenize(chunk)[: n_tokens - count]
            chunks.extend(pieces)
            count += len(pieces)
    text = " ".join(chunks)
    tokens = analysis.tokenize(text, vocab)
    assert len(tokens.tokens) == n_tokens and tokens.dropped == 0, (
        f"built a text of {len(tokens.tokens)} tokens (+{tokens.dropped} dropped), "
        f"wanted {n_tokens}"
    )
    return text


# ---- model ----------------------------------------------------------------------------------


@dataclass
class Loaded:
    name: str
    model: KimCNN
    vocab: Vocab
    card: dict
    device: torch.device

    @property
    def variant(self) -> str:
        return str(self.card["config"]["variant"])

    @property
    def class_names(self) -> list[str]:
        return list(self.card["class_names"])


def load(name: str) -> Loaded:
    """What ``nlpviz.ui.loaders._load_kim`` does, without Streamlit's cache."""
    device = torch.device("cpu")
    checkpoint = load_checkpoint(name, family="kim_cnn")
    model = KimCNN.from_checkpoint(checkpoint).to(device).eval()
    for parameter in model.parameters():  # as freeze_for_serving
        parameter.requires_grad_(False)
    vocab = Vocab.from_json(checkpoint.read_json(checkpoint.card["vocab_file"]))
    return Loaded(name, model, vocab, checkpoint.card, device)


# ---- timing helpers -------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q))


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000.0 for s in seconds]
    return {
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "min_ms": min(ms),
        "n": len(ms),
    }


def time_forward(loaded: Loaded, text: str, repeats: int, warmup: int) -> list[float]:
    ids = analysis.tokenize(text, loaded.vocab).ids
    min_length = loaded.model.config.min_length
    times = []
    with torch.no_grad():
        for i in range(warmup + repeats):
            start = time.perf_counter()
            loaded.model(pad_ids([ids], min_length).to(loaded.device))
            elapsed = time.perf_counter() - start
            if i >= warmup:
                times.append(elapsed)
    return times


# ---- one view ---------------------------------------------------------------------------------

STEPS = ("read_text", "top_features", "probability_bars", "heatmaps")


def build_view(loaded: Loaded, text: str, n_filters: int) -> tuple[dict[str, float], list, list]:
    """The page's work for one text and one variant.

    Returns seconds per step, the figures, and the arguments of the heatmaps' CSV frames.
    """
    t = {}
    start = time.perf_counter()
    reading = analysis.read_text(
        loaded.model, loaded.vocab, text, loaded.class_names, loaded.device
    )
    assert reading is not None
    t["read_text"] = time.perf_counter() - start

    start = time.perf_counter()
    analysis.top_features(reading, 5)  # "Filter activations": the slider's default k
    analysis.top_features(reading, 1)  # "Filter explorer": the default filter
    t["top_features"] = time.perf_counter() - start

    start = time.perf_counter()
    probs = common_figures.probability_bars(
        [f"CNN-{loaded.variant}"],
        loaded.class_names,
        reading.probabilities[None, :],
        "Every variant on your text",
    )
    t["probability_bars"] = time.perf_counter() - start

    start = time.perf_counter()
    heatmaps = []
    for w_index, width in enumerate(reading.widths):
        fmap = reading.feature_maps[w_index]
        argmax = reading.pool_argmax[w_index]
        order = np.argsort(-fmap.max(axis=1), kind="stable")[:n_filters]
        heatmaps.append(
            (
                figures.feature_map_heatmap(
                    fmap[order], reading.tokens.tokens, width, order.tolist(), argmax[order]
                ),
                (fmap[order], reading.tokens.tokens, width, order.tolist()),
            )
        )
    t["heatmaps"] = time.perf_counter() - start
    return t, [probs, *(h for h, _ in heatmaps)], [frame for _, frame in heatmaps]


def streamlit_serialise(figure) -> str:
    """What ``st.plotly_chart`` does to a figure before sending it (Streamlit 1.67)."""
    as_dict = plotly.tools.return_figure_from_figure_or_data(figure, validate_figure=True)
    return plotly.io.to_json(as_dict, validate=False)


def time_views(
    loaded: Loaded, text: str, n_filters: int, repeats: int, warmup: int, extras: bool
) -> dict:
    per_step: dict[str, list[float]] = {s: [] for s in STEPS}
    totals, serialise, frames = [], [], []
    sizes: list[int] = []
    for i in range(warmup + repeats):
        steps, figs, frame_args = build_view(loaded, text, n_filters)
        if i < warmup:
            if i == 0:
                sizes = [figure_json_bytes(f) for f in figs]
            continue
        totals.append(sum(steps.values()))
        for s in STEPS:
            per_step[s].append(steps[s])
        if extras:
            start = time.perf_counter()
            for f in figs:
                streamlit_serialise(f)
            serialise.append(time.perf_counter() - start)
            start = time.perf_counter()
            for args in frame_args:
                figures.feature_map_frame(*args).to_csv(index=False)
            frames.append(time.perf_counter() - start)
    result = {
        "view": summary_ms(totals),
        "steps_p50_ms": {s: percentile([x * 1000 for x in v], 50) for s, v in per_step.items()},
        "figure_kb": [b / 1024 for b in sizes],
        "largest_figure_kb": max(sizes) / 1024,
    }
    if extras:
        result["streamlit_serialise"] = summary_ms(serialise)
        result["csv_frames"] = summary_ms(frames)
    return result


def time_ig(loaded: Loaded, text: str, repeats: int) -> dict:
    reading = analysis.read_text(
        loaded.model, loaded.vocab, text, loaded.class_names, loaded.device
    )
    target = reading.predicted
    times = []
    delta = None
    for i in range(1 + repeats):
        start = time.perf_counter()
        ig = analysis.attribute(loaded.model, loaded.vocab, text, target, loaded.device, n_steps=50)
        elapsed = time.perf_counter() - start
        if i >= 1:
            times.append(elapsed)
        delta = ig.delta
    out = summary_ms(times)
    out["delta"] = float(delta)
    return out


# ---- app cold start ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def start_browser(user_data_dir: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={user_data_dir}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def cold_start_report(app: dict, rendered: str) -> list[str]:
    """Markdown lines for a :func:`cold_start` result; ``rendered`` names the page drawn."""
    out = ["\nApp cold start (`streamlit run app.py`, fresh process):\n"]
    if app.get("skipped"):
        return [*out, "- skipped (--skip-app)"]
    out += ["| measure | value |", "|---|---:|"]
    if "health_s" in app:
        out.append(f"| process start -> /_stcore/health answers | {app['health_s']:.2f} s |")
    if "page_rendered_s" in app:
        out.append(f"| process start -> {rendered} | {app['page_rendered_s']:.2f} s |")
        out.append(f"| plotly charts on the rendered page | {app['plotly_charts']} |")
    if "peak_rss_mb" in app:
        when = "after the page view" if "page_rendered_s" in app else "after health only"
        out.append(
            f"| server peak RSS (VmHWM, {app['server_pids']} process(es)) {when} "
            f"| {app['peak_rss_mb']:.0f} MB |"
        )
    if "browser_start_s" in app:
        out.append(
            "| (headless Chromium start, before the server; not counted) "
            f"| {app['browser_start_s']:.2f} s |"
        )
    if app.get("browser_error"):
        out.append(f"\nNo browser measurement: {app['browser_error']}; health time only.")
    if app.get("exceptions_on_page") or app.get("errors_on_page"):
        out.append(
            f"\nThe page showed {app.get('exceptions_on_page', 0)} exception(s) and these "
            f"errors: {app.get('errors_on_page')}"
        )
    if "error" in app:
        out.append(f"\nCold start failed: {app['error']} (server log: {app.get('log')})")
    return out


def cold_start(page: str, timeout: float) -> dict:
    """Start the app, time health and the first full render of ``page`` (a path with its query,
    e.g. ``/Kim_CNN?task=mr``), then read the server's peak memory."""
    result: dict = {"browser": None}
    browser_ok = Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()
    driver = None
    user_data_dir = tempfile.mkdtemp(prefix="bench-chromium-")
    if browser_ok:
        try:
            start = time.perf_counter()
            driver = start_browser(user_data_dir)
            driver.set_page_load_timeout(timeout)
            result["browser_start_s"] = time.perf_counter() - start
            result["browser"] = "chromium " + str(driver.capabilities.get("browserVersion", "?"))
        except Exception as error:  # noqa: BLE001 - report and fall back to health only
            result["browser_error"] = f"{type(error).__name__}: {error}".splitlines()[0]
            driver = None
    else:
        result["browser_error"] = f"{CHROMIUM} or {CHROMEDRIVER} not found"

    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="bench-kim-streamlit-", suffix=".log", delete=False)
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    env = dict(settings.process_environment(), PYTHONUNBUFFERED="1")
    t0 = time.perf_counter()
    server = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = t0 + timeout
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"streamlit exited with {server.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(base + "/_stcore/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no health answer in {timeout:.0f} s; see {log.name}")
            time.sleep(0.02)
        result["health_s"] = time.perf_counter() - t0

        if driver is not None:
            from selenium.webdriver.support.ui import WebDriverWait

            url = f"{base}{page}"
            result["url"] = url
            driver.get(url)
            WebDriverWait(
                driver, max(1.0, deadline - time.perf_counter()), poll_frequency=0.02
            ).until(lambda d: d.execute_script(RENDERED_JS))
            result["page_rendered_s"] = time.perf_counter() - t0
            result["plotly_charts"] = driver.execute_script(
                "return document.querySelectorAll('.js-plotly-plot').length;"
            )
            result["exceptions_on_page"] = driver.execute_script(
                "return document.querySelectorAll(\"[data-testid='stException']\").length;"
            )
            result["errors_on_page"] = driver.execute_script(
                "return Array.from(document.querySelectorAll("
                "\"[data-testid='stAlertContentError']\")).map(e => e.innerText.slice(0, 160));"
            )
        pids = process_tree(server.pid)
        result["server_pids"] = len(pids)
        result["peak_rss_mb"] = sum(status_kb(p, "VmHWM") for p in pids) / 1024
        result["rss_mb"] = sum(status_kb(p, "VmRSS") for p in pids) / 1024
    except Exception as error:  # noqa: BLE001 - the rest of the report still stands
        result["error"] = f"{type(error).__name__}: {error}".splitlines()[0]
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(user_data_dir, ignore_errors=True)
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        result["server_exit_code"] = server.returncode
        log.close()
        if "error" in result:
            result["log"] = log.name
        else:
            os.unlink(log.name)
    return result


# ---- report -----------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT)
    parser.add_argument("--repeats", type=int, default=30, help="timed views per length")
    parser.add_argument("--warmup", type=int, default=3, help="untimed views first")
    parser.add_argument("--ig-repeats", type=int, default=5, help="timed IG runs per length")
    parser.add_argument("--app-timeout", type=float, default=120.0, help="seconds")
    parser.add_argument("--skip-app", action="store_true", help="no Streamlit cold start")
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
        "variant": loaded.variant,
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
    for n in LENGTHS:
        text = text_of_length(n, loaded.vocab)
        forward = summary_ms(time_forward(loaded, text, max(50, args.repeats), args.warmup + 5))
        view25 = time_views(loaded, text, 25, args.repeats, args.warmup, extras=True)
        view100 = time_views(loaded, text, 100, args.repeats, args.warmup, extras=False)
        ig = time_ig(loaded, text, args.ig_repeats)
        per_length[n] = {
            "forward": forward,
            "view_25": view25,
            "view_100": view100,
            "ig_50_steps": ig,
        }
        print(f"... {n} tokens done ({time.perf_counter() - bench_start:.0f} s)", file=sys.stderr)

    app = (
        {"skipped": True}
        if args.skip_app
        else cold_start(
            f"/Kim_CNN?task={loaded.card.get('task', 'mr')}&variant={loaded.variant}",
            args.app_timeout,
        )
    )
    header["loadavg_at_end"] = list(os.getloadavg())

    view64 = per_length[64]["view_25"]["view"]["p50_ms"] if 64 in per_length else float("nan")
    ig_worst = max(r["ig_50_steps"]["p50_ms"] for r in per_length.values()) / 1000
    fig25 = max(r["view_25"]["largest_figure_kb"] for r in per_length.values())
    fig100 = max(r["view_100"]["largest_figure_kb"] for r in per_length.values())
    targets = {
        "view_p50_64_tokens_ms<=100": {"value": view64, "pass": view64 <= VIEW_P50_TARGET_MS},
        "ig_50_steps_s<=1_every_length": {"value": ig_worst, "pass": ig_worst <= IG_TARGET_S},
        "largest_figure_kb<=500_25_filters": {"value": fig25, "pass": fig25 <= FIGURE_TARGET_KB},
        "largest_figure_kb<=500_100_filters": {
            "value": fig100,
            "pass": fig100 <= FIGURE_TARGET_KB,
        },
    }

    # ---- markdown ----
    out = []
    out.append(f"# Kim CNN benchmark: `{args.checkpoint}` (CNN-{loaded.variant}), CPU\n")
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
        f"{max(50, args.repeats)} timed; IG: {args.ig_repeats} timed after 1 warm-up\n"
    )
    out.append(
        "| tokens | forward p50 / p95 (ms) | view p50 / p95 (ms), 25 filters | "
        "view p50 / p95 (ms), 100 filters | largest figure (KB), 25 / 100 filters | "
        "IG 50 steps p50 (ms) |"
    )
    out.append("|---:|---:|---:|---:|---:|---:|")
    for n, r in per_length.items():
        f, v25, v100, ig = r["forward"], r["view_25"], r["view_100"], r["ig_50_steps"]
        out.append(
            f"| {n} | {f['p50_ms']:.2f} / {f['p95_ms']:.2f} "
            f"| {v25['view']['p50_ms']:.1f} / {v25['view']['p95_ms']:.1f} "
            f"| {v100['view']['p50_ms']:.1f} / {v100['view']['p95_ms']:.1f} "
            f"| {v25['largest_figure_kb']:.1f} / {v100['largest_figure_kb']:.1f} "
            f"| {ig['p50_ms']:.0f} |"
        )
    out.append("\nWhere a view's time goes (p50 ms, 25 filters), and the work Streamlit adds:\n")
    out.append(
        "| tokens | read_text | top_features | probability_bars | 3 heatmaps | "
        "3 heatmaps (100 filters) | st.plotly_chart serialisation of the 4 figures | "
        "CSV frames of the 3 heatmaps |"
    )
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, r in per_length.items():
        s, s100 = r["view_25"]["steps_p50_ms"], r["view_100"]["steps_p50_ms"]
        out.append(
            f"| {n} | {s['read_text']:.2f} | {s['top_features']:.2f} | "
            f"{s['probability_bars']:.1f} | {s['heatmaps']:.1f} | {s100['heatmaps']:.1f} | "
            f"{r['view_25']['streamlit_serialise']['p50_ms']:.1f} | "
            f"{r['view_25']['csv_frames']['p50_ms']:.1f} |"
        )
    out.extend(
        cold_start_report(
            app,
            "/Kim_CNN rendered (script done + plotly chart)",
        )
    )
    out.append("\nTargets:\n")
    out.append("| target | measured | result |")
    out.append("|---|---:|---|")
    labels = {
        "view_p50_64_tokens_ms<=100": ("view p50 <= 100 ms at 64 tokens", "{:.1f} ms"),
        "ig_50_steps_s<=1_every_length": ("IG (50 steps) <= 1 s (worst length)", "{:.3f} s"),
        "largest_figure_kb<=500_25_filters": (
            "no figure over 500 KB (25 filters, page default)", "{:.1f} KB"),
        "largest_figure_kb<=500_100_filters": (
            "no figure over 500 KB (all 100 filters)", "{:.1f} KB"),
    }  # fmt: skip
    for key, t in targets.items():
        label, fmt = labels[key]
        out.append(f"| {label} | {fmt.format(t['value'])} | {verdict(t['pass'])} |")
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
