"""Hu et al. (2022): the LoRA rank sweep on all-MiniLM-L6-v2, one checkpoint per run.

``nlpviz train lora-sweep`` trains every run that is missing or damaged; ``nlpviz train
lora-r8-s1`` trains that one run of the same sweep (with the sweep's recipe) and rebuilds the
sweep's rows. The sweep's plan (ranks, seeds, run names) lives here so that the registry can name
every run without importing the training code; :mod:`nlpviz.train.lora` reads it from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nlpviz.families import CheckpointSpec, Explained, Family, specs

if TYPE_CHECKING:
    import torch

SWEEP = "lora-sweep"
QUICK_SWEEP = "lora-sweep-quick"
# The paper's small, middle and large rank (its Figure 3 compares 8 with 64). Each run trains for
# 3 epochs, 16 to 28 minutes on one CPU thread (full fine-tuning is the slowest): the ten runs
# took 2.7 CPU hours, and seven ranks would add 8 runs, about 2.4 CPU hours more.
RANKS = (1, 8, 64)
SEEDS = (1, 2)  # the two seeds the sweep card holds; `--seed N` adds more
PREFIX = "lora"  # run checkpoints are <prefix>-r8-s1, <prefix>-full-s1, ...
QUICK_RANKS = (1, 8, 64)
QUICK_SEEDS = (1,)
QUICK_PREFIX = "lora-quick"
TASK = "mr"
TASK_CLASSES = "sentiment (MR)"


def run_name(prefix: str, kind: str, seed: int, rank: int | None = None) -> str:
    """A run's checkpoint name: ``lora-r8-s1``, ``lora-full-s2``, ``lora-quick-probe-s1``."""
    what = f"r{rank}" if kind == "lora" else kind
    return f"{prefix}-{what}-s{seed}"


def planned_runs(
    ranks: tuple[int, ...], seeds: tuple[int, ...], full: bool = True, probe: bool = True
) -> list[tuple[str, int, int | None]]:
    """``(kind, seed, rank)`` in seed-major order: a first full seed before the next."""
    runs: list[tuple[str, int, int | None]] = []
    for seed in seeds:
        runs += [("lora", seed, r) for r in ranks]
        runs += [("full", seed, None)] if full else []
        runs += [("probe", seed, None)] if probe else []
    return runs


def _train_sweep(spec: CheckpointSpec, device: torch.device, seed: int, command: str) -> dict:
    from nlpviz.train.lora import train_lora_sweep

    return train_lora_sweep(spec.name, device, seed, command, quick=spec.name == QUICK_SWEEP)


# run name -> (kind, rank): what the run trains besides its sweep and seed
_RUNS: dict[str, tuple[str, int | None]] = {}


def _train_run(spec: CheckpointSpec, device: torch.device, seed: int, command: str) -> dict:
    from nlpviz.train.lora import train_lora_run

    kind, rank = _RUNS[spec.name]
    assert spec.sweep is not None and spec.seed is not None
    return train_lora_run(spec.sweep, kind, rank, spec.seed, device, command)


def _runs(sweep: str, prefix: str, ranks: tuple[int, ...], seeds: tuple[int, ...]):
    for kind, seed, rank in planned_runs(ranks, seeds):
        name = run_name(prefix, kind, seed, rank)
        _RUNS[name] = (kind, rank)
        label = f"r={rank}" if kind == "lora" else kind
        what = {"lora": f"LoRA {label}", "full": "full fine-tuning", "probe": "linear probe"}[kind]
        yield CheckpointSpec(
            name=name,
            task=TASK,
            variant=label,
            label=label,
            description=f"{what} on MiniLM, seed {seed} (a run of {sweep})",
            train=_train_run,
            card_family="lora_run",
            sweep=sweep,
            seed=seed,
        )


SWEEPS = specs(
    (
        (
            SWEEP,
            TASK,
            "sweep",
            "LoRA rank sweep",
            "LoRA sweep on MiniLM, MR-like: ranks 1, 8, 64, full FT, probe",
        ),
        (
            QUICK_SWEEP,
            TASK,
            "quick sweep",
            "LoRA rank sweep (small check)",
            "LoRA sweep on MiniLM, MR-like: small check (3 ranks, 800 sentences)",
        ),
    ),
    _train_sweep,
    card_family="lora_sweep",
)
RUNS = (
    *_runs(SWEEP, PREFIX, RANKS, SEEDS),
    *_runs(QUICK_SWEEP, QUICK_PREFIX, QUICK_RANKS, QUICK_SEEDS),
)

FAMILY = Family(
    key="lora",
    papers=("lora",),
    pages=("pages/9_LoRA.py",),
    checkpoints=(*SWEEPS, *RUNS),
    loader="nlpviz.ui.lora:load_sweep",
    # the workbench explains the first seed of every rank
    attribution=tuple(
        Explained(
            run_name(PREFIX, "lora", SEEDS[0], rank),
            "minilm",
            f"MiniLM + LoRA r={rank} · {TASK_CLASSES}",
            TASK_CLASSES,
        )
        for rank in RANKS
    ),
)
