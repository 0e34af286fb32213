"""Pieces every training loop shares: seeding, timing, the card's common fields."""

from __future__ import annotations

import platform
import random
import time
from contextlib import contextmanager

import numpy as np
import torch

from nlpviz.device import describe_device


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
