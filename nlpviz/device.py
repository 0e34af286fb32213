"""Choosing where tensors live: CUDA when there is one, else the CPU."""

from __future__ import annotations

import torch

from nlpviz import settings


def pick_device(force_cpu: bool = False, requested: str | None = None) -> torch.device:
    """Return the device models and training loops should use.

    Args:
        force_cpu: Use the CPU even when CUDA is available.
        requested: An explicit device name ("cpu", "cuda", "cuda:1"). "cuda" without a GPU is
            an error, not a silent fall-back, so a training command never lies about its device.
    """
    if requested is not None:
        device = torch.device(requested)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("--device cuda was asked for, but PyTorch sees no CUDA device here")
        return device
    if not force_cpu and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def describe_device(device: torch.device) -> str:
    """A one-line, human description of a device for the sidebar and model cards."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"GPU: {torch.cuda.get_device_name(index)} (CUDA {torch.version.cuda})"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'s' if threads != 1 else ''}, PyTorch {torch.__version__})"


def cuda_available() -> bool:
    return torch.cuda.is_available()


def configure_serving_threads() -> int:
    """Give PyTorch one intra-op thread in a serving process (``NLPVIZ_TORCH_THREADS`` overrides).

    The models are small, and a live server shares its cores with other sessions: with two
    threads waiting on each other, a 2 ms forward pass took 100 ms whenever the other core was
    busy (benchmarks/bench_kim_cnn.py). Returns the thread count now in force.
    """
    torch.set_num_threads(settings.torch_threads())
    return torch.get_num_threads()
