"""Transformer encoder-decoder of Vaswani et al. (2017), "Attention Is All You Need" (NeurIPS).

Section 3 of the paper, in miniature: token embeddings scaled by ``sqrt(d_model)`` plus the
sinusoidal positional encodings of Section 3.5 (``nlpviz.models.positional``); ``N`` encoder
layers of multi-head self-attention and a position-wise feed-forward network; ``N`` decoder
layers of MASKED self-attention, encoder-decoder (cross) attention and a feed-forward network;
each sub-layer is ``LayerNorm(x + Dropout(Sublayer(x)))`` (post-norm, Section 3.1/5.4).

Attention is Eq. 1, computed explicitly so its probabilities can be shown:
``Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V``, with ``h`` heads (Eq. in Section 3.2.2).
The decoder's mask sets the scores of future positions to ``-inf`` before the softmax, so their
probability is exactly 0. The target embedding is shared with the pre-softmax projection
(Section 3.4). Training uses label smoothing 0.1 and the learning-rate schedule of Eq. 3
(``nlpviz.train.translation``).

``forward`` returns every layer's and head's attention probabilities (encoder self, decoder
masked self, cross) in a frozen dataclass; nothing is kept on the module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from nlpviz.data.translation import PAD_ID
from nlpviz.models.positional import sinusoidal_table


@dataclass(frozen=True)
class TransformerConfig:
    src_vocab: int
    tgt_vocab: int
    d_model: int = 256
    n_heads: int = 4
    d_ff: int = 512
    n_encoder_layers: int = 3
    n_decoder_layers: int = 3
    dropout: float = 0.1
    max_len: int = 160  # positions in the sinusoid table (sources and outputs are bounded below)

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by {self.n_heads} heads")

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention over ``h`` heads, with explicit probabilities."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.n_heads, self.d_head = config.n_heads, config.d_head
        self.q = nn.Linear(config.d_model, config.d_model)
        self.k = nn.Linear(config.d_model, config.d_model)
        self.v = nn.Linear(config.d_model, config.d_model)
        self.o = nn.Linear(config.d_model, config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def _heads(self, x: Tensor) -> Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, self.n_heads, self.d_head).transpose(1, 2)  # (B, h, T, dk)

    def forward(self, query: Tensor, memory: Tensor, allowed: Tensor) -> tuple[Tensor, Tensor]:
        """
        Args:
            query: (B, Tq, D); memory: (B, Tk, D) (the same tensor for self-attention).
            allowed: (B, 1 or Tq, Tk) bool, True where a query may look.

        Returns:
            output (B, Tq, D) and probabilities (B, h, Tq, Tk) (rows sum to 1).
        """
        q, k, v = (
            self._heads(self.q(query)),
            self._heads(self.k(memory)),
            self._heads(self.v(memory)),
        )
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.d_head)  # (B, h, Tq, Tk)
        scores = scores.masked_fill(~allowed[:, None], float("-inf"))
        probs = torch.softmax(scores, dim=-1)  # (B, h, Tq, Tk)
        mixed = self.dropout(probs) @ v  # (B, h, Tq, dk)
        batch, _, length, _ = mixed.shape
        mixed = mixed.transpose(1, 2).reshape(batch, length, -1)  # (B, Tq, D)
        return self.o(mixed), probs


class FeedForward(nn.Module):
    """``FFN(x) = max(0, x W_1 + b_1) W_2 + b_2`` (Eq. 2)."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.inner = nn.Linear(config.d_model, config.d_ff)
        self.outer = nn.Linear(config.d_ff, config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.outer(self.dropout(F.relu(self.inner(x))))


class EncoderLayer(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.attention = MultiHeadAttention(config)
        self.feed_forward = FeedForward(config)
        self.norm1 = nn.LayerNorm(config.d_model)
        self.norm2 = nn.LayerNorm(config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, allowed: Tensor) -> tuple[Tensor, Tensor]:
        attended, probs = self.attention(x, x, allowed)
        x = self.norm1(x + self.dropout(attended))  # (B, S, D)
        x = self.norm2(x + self.dropout(self.feed_forward(x)))
        return x, probs


class DecoderLayer(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.self_attention = MultiHeadAttention(config)
        self.cross_attention = MultiHeadAttention(config)
        self.feed_forward = FeedForward(config)
        self.norm1 = nn.LayerNorm(config.d_model)
        self.norm2 = nn.LayerNorm(config.d_model)
        self.norm3 = nn.LayerNorm(config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self, y: Tensor, memory: Tensor, causal: Tensor, source_allowed: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        attended, self_probs = self.self_attention(y, y, causal)
        y = self.norm1(y + self.dropout(attended))  # (B, T, D)
        crossed, cross_probs = self.cross_attention(y, memory, source_allowed)
        y = self.norm2(y + self.dropout(crossed))
        y = self.norm3(y + self.dropout(self.feed_forward(y)))
        return y, self_probs, cross_probs


@dataclass(frozen=True)
class TransformerMemory:
    states: Tensor  # (B, S, D) encoder output
    allowed: Tensor  # (B, 1, S) bool, real source tokens
    self_attention: tuple[Tensor, ...]  # per layer (B, h, S, S)


@dataclass(frozen=True)
class TransformerOutput:
    logits: Tensor  # (B, T, V)
    encoder_states: Tensor  # (B, S, D)
    decoder_states: Tensor  # (B, T, D)
    encoder_attention: tuple[Tensor, ...]  # per layer (B, h, S, S)
    decoder_attention: tuple[Tensor, ...]  # per layer (B, h, T, T), masked (causal)
    cross_attention: tuple[Tensor, ...]  # per layer (B, h, T, S)
    sentence: Tensor  # (B, D) mean of the encoder states over real tokens


@dataclass(frozen=True)
class TransformerStep:
    log_probs: Tensor  # (k, V)
    state: dict  # empty: the decoder re-reads the whole prefix (no cache to share)
    alignment: Tensor | None  # (k, S) cross-attention of the last layer, averaged over heads


def causal_mask(length: int, device=None) -> Tensor:
    """(1, T, T) bool: position i may attend to positions j <= i only."""
    return torch.tril(torch.ones(length, length, dtype=torch.bool, device=device))[None]


class Transformer(nn.Module):
    """Encoder-decoder Transformer (post-norm), returning every attention map."""

    family = "transformer"

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        self.src_embed = nn.Embedding(config.src_vocab, config.d_model, padding_idx=PAD_ID)
        self.tgt_embed = nn.Embedding(config.tgt_vocab, config.d_model, padding_idx=PAD_ID)
        self.register_buffer(
            "positions", sinusoidal_table(config.max_len, config.d_model), persistent=False
        )
        self.encoder_layers = nn.ModuleList(
            EncoderLayer(config) for _ in range(config.n_encoder_layers)
        )
        self.decoder_layers = nn.ModuleList(
            DecoderLayer(config) for _ in range(config.n_decoder_layers)
        )
        self.dropout = nn.Dropout(config.dropout)
        self.out_bias = nn.Parameter(torch.zeros(config.tgt_vocab))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for name, parameter in self.named_parameters():
            if parameter.dim() > 1:
                nn.init.xavier_uniform_(parameter)
            elif "norm" not in name:
                nn.init.zeros_(parameter)
        for embedding in (self.src_embed, self.tgt_embed):
            nn.init.normal_(embedding.weight, std=self.config.d_model**-0.5)
            with torch.no_grad():
                embedding.weight[PAD_ID].zero_()

    def _embed(self, table: nn.Embedding, ids: Tensor) -> Tensor:
        if ids.shape[1] > self.config.max_len:
            raise ValueError(f"{ids.shape[1]} positions > max_len {self.config.max_len}")
        scaled = table(ids) * math.sqrt(self.config.d_model)  # (B, T, D)
        return self.dropout(scaled + self.positions[: ids.shape[1]].to(scaled.dtype))

    def encode(self, src: Tensor) -> TransformerMemory:
        """src: (B, S) padded source ids (no start/end marks)."""
        allowed = (src != PAD_ID)[:, None, :]  # (B, 1, S)
        x = self._embed(self.src_embed, src)
        maps = []
        for layer in self.encoder_layers:
            x, probs = layer(x, allowed)
            maps.append(probs)
        return TransformerMemory(x, allowed, tuple(maps))

    def decode(
        self, memory: TransformerMemory, tgt_in: Tensor
    ) -> tuple[Tensor, Tensor, tuple, tuple]:
        """tgt_in (B, T) -> logits (B, T, V), states (B, T, D), self maps, cross maps."""
        allowed = causal_mask(tgt_in.shape[1], tgt_in.device) & (tgt_in != PAD_ID)[:, None, :]
        # a padded query row still sees itself, so no row is all -inf
        allowed = allowed | torch.eye(tgt_in.shape[1], dtype=torch.bool, device=tgt_in.device)
        y = self._embed(self.tgt_embed, tgt_in)
        self_maps, cross_maps = [], []
        for layer in self.decoder_layers:
            y, self_probs, cross_probs = layer(y, memory.states, allowed, memory.allowed)
            self_maps.append(self_probs)
            cross_maps.append(cross_probs)
        logits = y @ self.tgt_embed.weight.T + self.out_bias  # (B, T, V), shared weights
        return logits, y, tuple(self_maps), tuple(cross_maps)

    def forward(self, src: Tensor, tgt_in: Tensor) -> TransformerOutput:
        """Teacher-forced pass: src (B, S), tgt_in (B, T) = ``<s> y_1 .. y_{T-1}``."""
        memory = self.encode(src)
        logits, states, self_maps, cross_maps = self.decode(memory, tgt_in)
        real = memory.allowed[:, 0, :, None].to(memory.states.dtype)  # (B, S, 1)
        sentence = (memory.states * real).sum(1) / real.sum(1).clamp(min=1)
        return TransformerOutput(
            logits=logits,
            encoder_states=memory.states,
            decoder_states=states,
            encoder_attention=memory.self_attention,
            decoder_attention=self_maps,
            cross_attention=cross_maps,
            sentence=sentence,
        )

    def start_state(self, memory: TransformerMemory) -> dict:
        return {}

    def step(self, memory: TransformerMemory, prefixes: Tensor, state: dict) -> TransformerStep:
        """Next-token log-probabilities for ``k`` prefixes (k, t) of ONE source sentence."""
        k = prefixes.shape[0]
        wide = TransformerMemory(
            memory.states.expand(k, -1, -1), memory.allowed.expand(k, -1, -1), ()
        )
        logits, _, _, cross = self.decode(wide, prefixes)
        alignment = cross[-1][:, :, -1].mean(1)  # (k, S)
        return TransformerStep(F.log_softmax(logits[:, -1].float(), dim=-1), {}, alignment)


def noam_rate(step: int, d_model: int, warmup: int, scale: float = 1.0) -> float:
    """Eq. 3: ``lrate = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)`` (step from 1)."""
    step = max(step, 1)
    return scale * d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)
