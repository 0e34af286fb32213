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

    def keys_values(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        """memory (B, Tk, D) -> keys and values per head, each (B, h, Tk, dk)."""
        return self._heads(self.k(memory)), self._heads(self.v(memory))

    def attend(
        self, query: Tensor, keys: Tensor, values: Tensor, allowed: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        """Eq. 1 for every head: query (B, Tq, D), keys/values (B, h, Tk, dk), allowed
        (B, 1 or Tq, Tk) bool or None (everything allowed). Returns (B, Tq, D), (B, h, Tq, Tk)."""
        q = self._heads(self.q(query))  # (B, h, Tq, dk)
        scores = q @ keys.transpose(-1, -2) / math.sqrt(self.d_head)  # (B, h, Tq, Tk)
        if allowed is not None:
            scores = scores.masked_fill(~allowed[:, None], float("-inf"))
        probs = torch.softmax(scores, dim=-1)  # (B, h, Tq, Tk)
        mixed = self.dropout(probs) @ values  # (B, h, Tq, dk)
        batch, _, length, _ = mixed.shape
        mixed = mixed.transpose(1, 2).reshape(batch, length, -1)  # (B, Tq, D)
        return self.o(mixed), probs

    def forward(self, query: Tensor, memory: Tensor, allowed: Tensor) -> tuple[Tensor, Tensor]:
        """
        Args:
            query: (B, Tq, D); memory: (B, Tk, D) (the same tensor for self-attention).
            allowed: (B, 1 or Tq, Tk) bool, True where a query may look.

        Returns:
            output (B, Tq, D) and probabilities (B, h, Tq, Tk) (rows sum to 1).
        """
        keys, values = self.keys_values(memory)
        return self.attend(query, keys, values, allowed)


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

    def step(
        self,
        y: Tensor,
        cache: tuple[Tensor, Tensor],
        cross_kv: tuple[Tensor, Tensor],
        source_allowed: Tensor,
    ) -> tuple[Tensor, tuple[Tensor, Tensor], Tensor]:
        """One new position (incremental decoding; same result as ``forward`` at that position).

        Args:
            y: (k, 1, D) the new position's input; cache: keys and values of the earlier
                positions, each (k, h, t, dk); cross_kv: the source's keys and values for this
                layer, each (k, h, S, dk); source_allowed: (k, 1, S).

        Returns:
            (k, 1, D) output, the cache with this position appended, cross probs (k, h, 1, S).
        """
        new_k, new_v = self.self_attention.keys_values(y)  # (k, h, 1, dk)
        keys = torch.cat([cache[0], new_k], dim=2)  # (k, h, t + 1, dk)
        values = torch.cat([cache[1], new_v], dim=2)
        attended, _ = self.self_attention.attend(y, keys, values, None)  # the past only: causal
        y = self.norm1(y + self.dropout(attended))
        crossed, cross_probs = self.cross_attention.attend(y, *cross_kv, source_allowed)
        y = self.norm2(y + self.dropout(crossed))
        y = self.norm3(y + self.dropout(self.feed_forward(y)))
        return y, (keys, values), cross_probs


@dataclass(frozen=True)
class TransformerMemory:
    states: Tensor  # (B, S, D) encoder output
    allowed: Tensor  # (B, 1, S) bool, real source tokens
    self_attention: tuple[Tensor, ...]  # per layer (B, h, S, S)
    cross_keys_values: tuple[tuple[Tensor, Tensor], ...] = ()  # per decoder layer (B, h, S, dk)


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
    state: dict  # per decoder layer "k{i}", "v{i}": (k, h, t, dk) cached keys and values
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
        # every decoder layer's cross-attention keys and values, computed once per source
        cross = tuple(layer.cross_attention.keys_values(x) for layer in self.decoder_layers)
        return TransformerMemory(x, allowed, tuple(maps), cross)

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
        """Empty key/value caches of every decoder layer, hypothesis-first: (B, h, 0, dk)."""
        batch, c = memory.states.shape[0], self.config
        empty = memory.states.new_zeros((batch, c.n_heads, 0, c.d_head))
        state = {}
        for i in range(c.n_decoder_layers):
            state[f"k{i}"], state[f"v{i}"] = empty, empty
        return state

    def step(self, memory: TransformerMemory, prefixes: Tensor, state: dict) -> TransformerStep:
        """Next-token log-probabilities for ``k`` prefixes (k, t) of ONE source sentence (or
        of k sentences when ``memory`` has batch k). Only the last token is new: the earlier
        positions' keys and values come from ``state`` (a cache; the result equals ``decode``
        on the whole prefix)."""
        k, position = prefixes.shape[0], prefixes.shape[1] - 1
        allowed = memory.allowed.expand(k, -1, -1)  # (k, 1, S)
        if position >= self.config.max_len:
            raise ValueError(f"position {position} >= max_len {self.config.max_len}")
        y = self.tgt_embed(prefixes[:, -1:]) * math.sqrt(self.config.d_model)  # (k, 1, D)
        y = self.dropout(y + self.positions[position].to(y.dtype))
        new_state, cross = {}, None
        for i, layer in enumerate(self.decoder_layers):
            cross_kv = tuple(t.expand(k, -1, -1, -1) for t in memory.cross_keys_values[i])
            y, (keys, values), cross = layer.step(
                y, (state[f"k{i}"], state[f"v{i}"]), cross_kv, allowed
            )
            new_state[f"k{i}"], new_state[f"v{i}"] = keys, values
        logits = y[:, 0] @ self.tgt_embed.weight.T + self.out_bias  # (k, V)
        alignment = cross[:, :, 0].mean(1)  # (k, S) last layer, averaged over heads
        return TransformerStep(F.log_softmax(logits.float(), dim=-1), new_state, alignment)


def noam_rate(step: int, d_model: int, warmup: int, scale: float = 1.0) -> float:
    """Eq. 3: ``lrate = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)`` (step from 1)."""
    step = max(step, 1)
    return scale * d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)
