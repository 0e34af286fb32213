"""Pieces every training loop shares: seeding, timing, the best epoch's weights, resuming an
interrupted run, scoring the weights as they are stored, and the card's run record."""

from __future__ import annotations

import json
import logging
import math
import platform
import random
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nlpviz.device import describe_device

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch; return a generator for data shuffling."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


@contextmanager
def stopwatch():
    """Yields a dict whose ``seconds`` is filled in when the block ends."""
    record = {"seconds": 0.0}
    start = time.perf_counter()
    try:
        yield record
    finally:
        record["seconds"] = time.perf_counter() - start


def run_record(device: torch.device, seconds: float, command: str, seed: int) -> dict:
    return {
        "command": command,
        "seed": seed,
        "device": describe_device(device),
        "wall_time_s": round(seconds, 1),
        "cpu_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def accuracy_metrics(
    test_acc: float, dev_acc: float, majority: float, test_size: int, **more: object
) -> dict:
    """A classifier card's ``metrics``: the same four numbers, named and rounded alike in every
    family's card; ``more`` follows them (macro F1, trainable parameters, ...).
    """
    return {
        "test_accuracy": round(test_acc, 4),
        "dev_accuracy": round(dev_acc, 4),
        "test_majority_baseline": round(majority, 4),
        "test_size": test_size,
        **more,
    }


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the model's state (the best epoch so far), untouched by later updates."""
    return {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}


def as_stored(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state as its checkpoint holds it: floating tensors rounded to float16 and back.

    Trainers score these, not the float32 weights, so a card's metrics are those of the very
    weights the app loads (:func:`nlpviz.checkpoints.save_checkpoint` stores float16).
    """
    return {
        k: v.detach().to(torch.float16).to(v.dtype) if v.is_floating_point() else v
        for k, v in state.items()
    }


def load_as_stored(
    model: torch.nn.Module, state: dict[str, torch.Tensor] | None = None
) -> torch.nn.Module:
    """Load ``state`` (default: the model's own), rounded as stored, into ``model`` to score it."""
    model.load_state_dict(as_stored(model.state_dict() if state is None else state))
    return model


def save_train_state(
    path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    recipe: Any,
    seed: int,
    step: int,
    wall: float,
    history: list[dict],
    **extra: Any,
) -> None:
    """Save what an interrupted run needs to go on where it stopped (see :func:`resume`).

    Args:
        path: The run's state file (outside the repository: it holds float32 weights and the
            optimiser's moments).
        recipe: The run's recipe dataclass; a resumed run must have the same one.
        extra: Further tensors or numbers the loop carries (a generator's state, CPU seconds).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "step": step,
            "wall": wall,
            "history": json.dumps(history),
            "recipe": json.dumps(asdict(recipe)),
            "seed": seed,
            **extra,
        },
        path,
    )


def resume(
    path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    recipe: Any,
    seed: int,
    device: torch.device,
) -> dict[str, Any] | None:
    """Restore the model and optimiser of an interrupted run of the same recipe and seed.

    Returns:
        The saved state (``step``, ``wall``, ``history`` as a list, and any extras), or None
        when there is none to resume: no file, or one left by another recipe or seed.
    """
    if not path.is_file():
        return None
    state = torch.load(path, map_location=device, weights_only=True)
    if state.get("recipe") != json.dumps(asdict(recipe)) or state.get("seed") != seed:
        return None
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    state["history"] = json.loads(state["history"])
    log.info("%s: resuming at step %d (%.0f s done)", path.stem, state["step"], state["wall"])
    return state


class Plateau:
    """Early stopping with learning-rate halving, driven by validation checks (lower is better).

    After ``patience`` checks in a row without a new best, the learning rate is multiplied by
    ``factor``; once it has been cut ``decays`` times, the next such stall stops training. A
    constant rate leaves the validation curve noisy enough that a short patience stops a model
    that is still improving; the cuts let it settle before it is judged to have stopped.
    """

    def __init__(self, patience: int, decays: int, factor: float = 0.5) -> None:
        if patience < 1 or decays < 0 or not 0.0 < factor < 1.0:
            raise ValueError(
                f"need patience >= 1, decays >= 0, 0 < factor < 1; got {patience}, {decays}, "
                f"{factor}"
            )
        self.patience, self.decays_left, self.factor = patience, decays, factor
        self.best = math.inf
        self.stalled = 0

    def check(self, value: float) -> str:
        """Record one validation value: 'best', 'wait', 'decay' (cut the rate now) or 'stop'."""
        if value < self.best:
            self.best, self.stalled = value, 0
            return "best"
        self.stalled += 1
        if self.stalled < self.patience:
            return "wait"
        if self.decays_left == 0:
            return "stop"
        self.decays_left -= 1
        self.stalled = 0
        return "decay"
