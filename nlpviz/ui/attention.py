"""Cached attention sources of the attention explorer page.

A *source* is any callable ``(text, max_tokens, window_start) -> AttentionView``.
:func:`attention_sources` lists the built-in ones by the name the page shows; adding a model is
one entry, e.g. for nlpviz's own miniature encoders::

    sources["DeBERTa (nlpviz miniature)"] = partial(own_encoder_view, "deberta-mini", device)

The box for a visitor's own model directory (or hub name) exists only where the server's owner
set ``NLPVIZ_LOCAL_MODELS=1``; its errors say only that no usable model was found (never which
paths exist), and a directory is cached once per resolved real path, however it is spelled.

Hugging Face encoders are loaded once per (directory, device) by ``st.cache_resource`` and shared
read-only by every session; their forward pass runs under the lock returned with them (one
512-token pass at a time per model keeps peak memory bounded). :func:`explore` caches what the
page draws for (source, text, window) with ``st.cache_data``: numpy arrays only.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import streamlit as st

from nlpviz.analysis.attention import (
    AttentionView,
    EmptyTextError,
    HeadSummaries,
    pooled_grid,
    summarise_view,
)
from nlpviz.checkpoints import CheckpointError
from nlpviz.models.hf_encoder import (
    MINILM,
    EncoderLoadError,
    HFEncoder,
    downloads_allowed,
    encode_attention,
    local_models_allowed,
)
from nlpviz.models.hf_encoder import load_encoder as _load_encoder
from nlpviz.ui.script_slots import model_lock_released_slot

logger = logging.getLogger(__name__)

SourceFn = Callable[[str, int, int], AttentionView]
"""``(text, max_tokens, window_start) -> AttentionView``; raises EmptyTextError, load errors."""

MINILM_SOURCE = "all-MiniLM-L6-v2 (pretrained)"
LOCAL_SOURCE = "Local Hugging Face directory…"
LOAD_ERRORS: tuple[type[Exception], ...] = (EncoderLoadError, CheckpointError)
"""Errors a source raises when its model cannot be loaded; the page shows their message."""


@dataclass(frozen=True, eq=False)
class LoadedEncoder:
    encoder: HFEncoder
    lock: threading.Lock


@st.cache_resource(show_spinner="Loading the encoder…", max_entries=4)
def load_hf(path: str, device: str) -> LoadedEncoder:
    """One shared, read-only encoder per (directory or MINILM, device), with its lock."""
    name = MINILM if path == MINILM else None
    return LoadedEncoder(_load_encoder(path, device, name=name), threading.Lock())


def hf_view(path: str, device: str, text: str, max_tokens: int, window_start: int) -> AttentionView:
    """The attention of a Hugging Face encoder (a :data:`SourceFn` once ``path``, ``device`` are
    bound); ``max_tokens`` is capped at the model's own limit."""
    loaded = load_hf(path, device)
    encoder = loaded.encoder
    with model_lock_released_slot(loaded.lock):
        return encode_attention(
            encoder.model,
            encoder.tokenizer,
            text,
            min(int(max_tokens), encoder.max_tokens),
            int(window_start),
            encoder.name,
        )


def own_view(
    design: str, device: str, text: str, max_tokens: int, window_start: int
) -> AttentionView:
    """One of nlpviz's miniature encoders; it reads at most its own window (``max_len``) of
    pieces, so ``max_tokens`` is not needed."""
    from nlpviz.ui.encoders import attention_view

    view = attention_view(design, device, text, int(window_start))
    if not (~np.asarray(view.special)).any():
        raise EmptyTextError("The text gives the model no token to read.")
    return view


OWN_SOURCES = {
    "bert": "BERT (nlpviz miniature)",
    "roberta": "RoBERTa (nlpviz miniature)",
    "deberta": "DeBERTa (nlpviz miniature)",
    "debertav3": "DeBERTaV3 discriminator (nlpviz miniature)",
}


def attention_sources(device: str) -> dict[str, SourceFn]:
    """Built-in sources by the name the page shows: the real MiniLM, then our four encoders."""
    sources: dict[str, SourceFn] = {MINILM_SOURCE: partial(hf_view, MINILM, device)}
    for design, label in OWN_SOURCES.items():
        sources[label] = partial(own_view, design, device)
    return sources


def local_box_enabled() -> bool:
    """Whether the page offers the local-model box (``NLPVIZ_LOCAL_MODELS=1``; off by default)."""
    return local_models_allowed()


def local_box_help() -> str:
    """The box's help text, true to this server's settings."""
    hub = (
        "or a hub name: one not yet in this server's Hugging Face cache is downloaded (config, "
        "tokenizer and safetensors weights only; no code is run)."
        if downloads_allowed()
        else "or a hub name already in this server's Hugging Face cache; nothing is downloaded."
    )
    return f"A BERT-like model (BERT, RoBERTa, DeBERTa, ELECTRA, MiniLM...) on this server, {hub}"


NO_LOCAL_MODEL = (
    "No usable model was found there. The box takes the directory of a BERT-like Hugging Face "
    "encoder (config.json, .safetensors weights and tokenizer files) on this server, or a hub "
    "name this server can load."
)
"""The one message for every failure of the local box: it must not tell which paths exist."""


def resolve_local(path: str) -> str:
    """The real path of an existing directory or file (so that every spelling of one folder is
    one cache entry), else the text as typed (a hub name, or nothing there)."""
    text = (path or "").strip()
    expanded = os.path.expanduser(text)
    try:
        if text and os.path.exists(expanded):
            return os.path.realpath(expanded)
    except (OSError, ValueError):
        pass
    return text


def local_view(
    path: str, device: str, text: str, max_tokens: int, window_start: int
) -> AttentionView:
    """:func:`hf_view` for a visitor's path or hub name; every load failure becomes
    :data:`NO_LOCAL_MODEL` (the reason goes to the server's log only)."""
    try:
        return hf_view(path, device, text, max_tokens, window_start)
    except EmptyTextError:
        raise
    except Exception as error:  # noqa: BLE001 - any reason could reveal the filesystem
        logger.info("local model %r not loaded: %s", path, error)
        raise EncoderLoadError(NO_LOCAL_MODEL) from None


def local_source(path: str, device: str) -> SourceFn:
    """A source for a Hugging Face encoder directory the user names (see :func:`resolve_local`);
    only for servers where :func:`local_box_enabled`."""
    if not local_box_enabled():
        raise EncoderLoadError("This server does not load models named by visitors.")
    return partial(local_view, resolve_local(path), device)


@dataclass(frozen=True, eq=False)
class Explored:
    """Everything the page draws for one (source, text, window): numpy only."""

    view: AttentionView
    summaries: HeadSummaries
    grid: np.ndarray  # (L, H, C, C) max-pooled thumbnails
    edges: np.ndarray  # (C + 1,) token edges of the thumbnail cells


@st.cache_data(max_entries=8, show_spinner="Reading the attention…")
def explore(key: str, _source: SourceFn, text: str, max_tokens: int, window_start: int) -> Explored:
    """The view, its head summaries and thumbnails, cached by ``key`` (which must name the
    source, its model and the device) and the inputs. A 512-token view of 6 x 12 heads is
    75 MB, hence the few entries."""
    view = _source(text, max_tokens, window_start)
    grid, edges = pooled_grid(view.attentions)
    return Explored(view, summarise_view(view), grid, edges)
