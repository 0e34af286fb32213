"""The sidebar every page shares: which device computes, and a switch to force the CPU."""

from __future__ import annotations

import streamlit as st
import torch

from nlpviz.device import configure_serving_threads, cuda_available, describe_device, pick_device

# Every page draws this sidebar, so the server takes its thread count here, whichever page a
# visitor opens first (not only pages that load through nlpviz.ui.loaders).
configure_serving_threads()

FORCE_CPU_KEY = "global_force_cpu"


def render_sidebar() -> torch.device:
    """Draw the shared sidebar and return the device this page should compute on."""
    with st.sidebar:
        has_cuda = cuda_available()
        force_cpu = st.toggle(
            "Force CPU",
            key=FORCE_CPU_KEY,
            value=False,
            disabled=not has_cuda,
            help="Compute on the CPU even when a CUDA GPU is available."
            if has_cuda
            else "No CUDA GPU is visible to PyTorch here, so everything runs on the CPU.",
        )
        device = pick_device(force_cpu=force_cpu)
        st.caption(f"**Computing on:** {describe_device(device)}")
        st.caption(
            "Models are shared read-only by every visitor; nothing you type is stored or "
            "changes them."
        )
    return device
