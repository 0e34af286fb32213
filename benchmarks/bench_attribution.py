"""CPU benchmark of the attribution workbench: every method on every model, the grid, the
dataset view.

Run from the repository root::

    .venv/bin/python benchmarks/bench_attribution.py                 # 3 repeats, 1 thread
    .venv/bin/python benchmarks/bench_attribution.py --threads 2 --repeats 5
    .venv/bin/python benchmarks/bench_attribution.py --json artifacts/bench_attribution.json
    .venv/bin/python benchmarks/bench_attribution.py --attention-rows 100   # + attention vs IG

What is measured (the models loaded without Streamlit, exactly as the page's loaders build them;
median of ``--repeats`` runs after one warm-up; ``torch.set_num_threads(--threads)``, the server
uses 1):

* per method x model, at 64 tokens: ``attribute`` alone, with the page's default options
  (IG 20 steps in one batch, GradientSHAP 16 samples, Occlusion window 3);
* one grid cell as the page computes it: ``attribute`` + ``faithfulness.measure`` (deletion and
  insertion curves at 11 points, comprehensiveness and sufficiency), for the page's default grid
  (Kim CNN-multichannel MR, HAN news, MiniLM + LoRA r=8; IG, Input x Gradient, Occlusion) and
  its total, against the target of 5 s on a 2-core CPU;
* the dataset view's throughput (rows/s) for IG on the Kim CNN over ``--rows`` test-split texts
  (MR; a fixed sentence list when the corpus package is not installed);
* with ``--attention-rows N``: not a timing but the page's claim check, the Spearman rank
  correlation between each attention model's own attention and |IG| / |Feature Ablation| on N
  held-out texts (needs the training corpora).

The 64-token texts: a fixed review-like paragraph repeated and cut so that each model reads
exactly 64 units (words for the word models, word pieces for MiniLM, which is given
``max_len=66`` so that [CLS] + 64 + [SEP] fit; the page keeps the 64 of its training).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from nlpviz import attribution as lib  # noqa: E402
from nlpviz import registry  # noqa: E402
from nlpviz.analysis import faithfulness  # noqa: E402
from nlpviz.checkpoints import load_checkpoint, read_card  # noqa: E402
from nlpviz.data.vocab import Vocab  # noqa: E402

PARAGRAPH = (
    "the film is a gorgeous , witty and surprisingly moving story about a family that falls "
    "apart and finds its way back , but the second half drags and the jokes grow stale . "
)
FAMILIES = registry.model_classes()  # card family -> "module:Class"
MODELS = (
    "kim-cnn-multichannel-mr",
    "han-news",
    "flat-gru-news",
    "lora-r8-s1",
    "tagger-blstm-cnn-crf-news-pos",
)
GRID_MODELS = ("kim-cnn-multichannel-mr", "han-news", "lora-r8-s1")
GRID_METHODS = ("Integrated Gradients", "Input x Gradient", "Occlusion")
N_TOKENS = 64


def _word_model(name: str):
    family = read_card(name)["family"]
    checkpoint = load_checkpoint(name, family=family)
    module, cls = FAMILIES[family].split(":")
    model = getattr(importlib.import_module(module), cls).from_checkpoint(checkpoint).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    vocab = Vocab.from_json(checkpoint.read_json(checkpoint.card.get("vocab_file", "vocab.json")))
    return model, vocab, checkpoint


def _minilm(name: str):
    import transformers

    from nlpviz.models.hf_encoder import minilm_path
    from nlpviz.models.lora import MiniLMClassifier, inject_lora, load_adapter_state, merge_all

    tokenizer = transformers.AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
    model = copy.deepcopy(MiniLMClassifier.from_pretrained())
    checkpoint = load_checkpoint(name, family="lora_run")
    lora = checkpoint.card["config"]["lora"]
    inject_lora(
        model.encoder, r=int(lora["r"]), alpha=float(lora["alpha"]), targets=lora["targets"]
    )
    load_adapter_state(model, checkpoint.tensors)
    merge_all(model)
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model, tokenizer, checkpoint


def prepare_64(name: str) -> tuple[lib.EmbeddedText, object]:
    """The model's EmbeddedText of a text it reads as exactly 64 units, and a prepare(text)."""
    cpu = torch.device("cpu")
    words = (PARAGRAPH * 4).split()
    text = " ".join(words[:N_TOKENS])
    if name.startswith("lora"):
        model, tokenizer, checkpoint = _minilm(name)
        names = checkpoint.card["class_names"]
        pieces = tokenizer(PARAGRAPH * 4, add_special_tokens=False)["input_ids"][:N_TOKENS]
        text = tokenizer.decode(pieces)

        def prep(t):
            return lib.prepare_minilm(model, tokenizer, t, names, cpu, max_len=N_TOKENS + 2)

    elif name.startswith("tagger"):
        from nlpviz.analysis.tagger import tokenize_cased

        model, vocab, checkpoint = _word_model(name)
        chars = Vocab.from_json(checkpoint.read_json("chars.json"))

        def prep(t):
            return lib.prepare_tagger(model, vocab, chars, tokenize_cased(t)[:N_TOKENS], 3, cpu)

    else:
        model, vocab, checkpoint = _word_model(name)
        names = checkpoint.card["class_names"]
        family = checkpoint.card["family"]
        fn = {"kim_cnn": lib.prepare_kim, "han": lib.prepare_han, "flat_gru": lib.prepare_flat}

        def prep(t):
            return fn[family](model, vocab, t, names, cpu)

    embedded = prep(text)
    assert len(embedded.tokens) == N_TOKENS, (name, len(embedded.tokens))
    return embedded, prep


CPU_TIMES: list[float] = []  # process CPU seconds of the last timed() call's runs


def timed(fn, repeats: int) -> float:
    """Median wall seconds of ``repeats`` runs after a warm-up (CPU seconds go to CPU_TIMES)."""
    fn()  # warm-up
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU_TIMES[:] = [statistics.median(cpu)]
    return statistics.median(times)


def grid_cell(embedded: lib.EmbeddedText, method: str, options: lib.AttributionOptions):
    target = int(embedded.probabilities().argmax())
    result = lib.attribute(embedded, method, target, options)
    faithfulness.measure(
        embedded.forward,
        embedded.inputs,
        embedded.baseline(options.baseline),
        result.scores,
        target,
    )


def dataset_texts(rows: int) -> tuple[list[str], str]:
    try:
        from nlpviz.data.rotten import load_task

        texts = load_task("mr").test.texts[:rows]
        return texts, f"MR test split, first {len(texts)} texts"
    except Exception as error:  # noqa: BLE001 - the corpus is a training-only package
        sentences = [s.strip() for s in PARAGRAPH.split(".") if s.strip()]
        return [sentences[i % len(sentences)] for i in range(rows)], f"fixed sentences ({error})"


def attention_agreement(rows: int, options: lib.AttributionOptions) -> dict:
    """Spearman of each model's attention with |IG| and |Feature Ablation| on held-out texts.

    Jain & Wallace (NAACL 2019, abstract): "learned attention weights are frequently uncorrelated
    with gradient-based measures of feature importance". HAN and the flat BiGRU on the news test
    split, MiniLM + LoRA r=8 on the MR test split; texts with fewer than 3 tokens are skipped.
    """
    import numpy as np

    from nlpviz.data.documents import load_news
    from nlpviz.data.rotten import load_task

    cpu = torch.device("cpu")
    found = {}
    for name in ("han-news", "flat-gru-news", "lora-r8-s1"):
        if name.startswith("lora"):
            model, tokenizer, checkpoint = _minilm(name)
            names, texts = checkpoint.card["class_names"], load_task("mr").test.texts[:rows]

            def prep(t, m=model, tok=tokenizer, n=names):
                return lib.prepare_minilm(m, tok, t, n, cpu)

        else:
            model, vocab, checkpoint = _word_model(name)
            names, texts = checkpoint.card["class_names"], load_news().test.texts[:rows]
            fn = lib.prepare_han if name.startswith("han") else lib.prepare_flat

            def prep(t, m=model, v=vocab, n=names, f=fn):
                return f(m, v, t, n, cpu)

        rhos: dict[str, list[float]] = {"Integrated Gradients": [], "Feature Ablation": []}
        for text in texts:
            embedded = prep(text)
            if embedded is None or len(embedded.tokens) < 3:
                continue
            target = int(embedded.probabilities().argmax())
            for method in rhos:
                scores = lib.attribute(embedded, method, target, options).scores
                rho = faithfulness.attention_agreement(embedded.attention, scores)
                if rho == rho:
                    rhos[method].append(rho)
        found[name] = {
            method: {
                "n": len(values),
                "mean": float(np.mean(values)),
                "median": float(np.median(values)),
                "share_below_0.5": float(np.mean(np.array(values) < 0.5)),
            }
            for method, values in rhos.items()
        }
        for method, summary in found[name].items():
            print(
                f"attention vs |{method}| on {name}: Spearman mean {summary['mean']:+.2f}, "
                f"median {summary['median']:+.2f}, below 0.5 in {summary['share_below_0.5']:.0%} "
                f"of {summary['n']} texts"
            )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--attention-rows",
        type=int,
        default=0,
        help="also measure attention vs attribution (Spearman) on this many held-out texts",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    options = lib.AttributionOptions()
    report: dict = {
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "cpu": platform.processor() or platform.machine(),
        },
        "options": options.__dict__,
        "methods": {},
        "grid": {},
    }
    prepared = {}
    for name in MODELS:
        try:
            prepared[name] = prepare_64(name)
        except Exception as error:  # noqa: BLE001 - a model missing here is reported, not fatal
            print(f"{name}: skipped ({type(error).__name__}: {error})")
    print(f"{'model':32s}" + "".join(f"{m[:12]:>14s}" for m in lib.METHODS))
    for name, (embedded, _) in prepared.items():
        target = int(embedded.probabilities().argmax())
        row = {
            method: timed(
                lambda m=method, e=embedded, t=target: lib.attribute(e, m, t, options), args.repeats
            )
            for method in lib.METHODS
        }
        report["methods"][name] = row
        print(f"{name:32s}" + "".join(f"{row[m] * 1000:12.0f}ms" for m in lib.METHODS))
    total = total_cpu = 0.0
    for name in GRID_MODELS:
        if name not in prepared:
            continue
        embedded = prepared[name][0]
        for method in GRID_METHODS:
            seconds = timed(lambda m=method, e=embedded: grid_cell(e, m, options), args.repeats)
            report["grid"][f"{name} · {method}"] = {"wall_s": seconds, "cpu_s": CPU_TIMES[0]}
            total += seconds
            total_cpu += CPU_TIMES[0]
            cpu_ms = CPU_TIMES[0] * 1000
            print(f"grid cell {name} · {method}: {seconds * 1000:.0f} ms (CPU {cpu_ms:.0f} ms)")
    report["grid_total_s"] = total
    report["grid_total_cpu_s"] = total_cpu
    print(
        f"default grid (3 models x 3 methods, 64 tokens, with faithfulness): {total:.2f} s wall, "
        f"{total_cpu:.2f} s CPU (target <= 5 s on 2 cores); load average now "
        f"{os.getloadavg()[0]:.1f}"
    )
    if "kim-cnn-multichannel-mr" in prepared:
        prep = prepared["kim-cnn-multichannel-mr"][1]
        texts, source = dataset_texts(args.rows)
        start, start_cpu = time.perf_counter(), time.process_time()
        result = lib.attribute_dataset(prep, texts, "Integrated Gradients", 1, options)
        seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        report["dataset"] = {
            "source": source,
            "rows": len(texts),
            "rows_read": result.rows_read,
            "seconds": seconds,
            "rows_per_s": len(texts) / seconds,
            "rows_per_cpu_s": len(texts) / cpu,
        }
        print(
            f"dataset view, IG on the Kim CNN: {len(texts) / seconds:.1f} rows/s wall, "
            f"{len(texts) / cpu:.1f} rows per CPU second ({source})"
        )
    if args.attention_rows:
        report["attention"] = attention_agreement(args.attention_rows, options)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
