"""Transformer encoders in miniature: BERT, RoBERTa, DeBERTa and DeBERTaV3.

One encoder body serves all four papers; the differences are switches in :class:`EncoderConfig`.

* BERT (Devlin et al., 2019): token + absolute position + segment embeddings, post-LN layers
  (Vaswani et al. 2017, Eq. 1: softmax(QK^T / sqrt(d)) V), a masked-LM head tied to the input
  embeddings and a next-sentence head on [CLS].
* RoBERTa (Liu et al., 2019): the same body without segments or NSP; its differences are in the
  data (byte-level BPE, dynamic masking, full-sentence packing), see ``nlpviz.data.pretrain``.
* DeBERTa (He et al., 2021): disentangled attention (Eq. 4):
  A_ij = Q^c_i K^c_j + Q^c_i K^r_{d(i,j)} + K^c_j Q^r_{d(j,i)}, each term over sqrt(3d),
  with log-bucketed relative distances d, and the enhanced mask decoder (Section 3.2) that adds
  absolute positions just before the MLM head. The layout follows ``transformers``'
  DebertaV2Model (shared attention keys, layer-normed relative embeddings) so the two can be
  compared weight for weight.
* DeBERTaV3 (He et al., 2023): ELECTRA-style replaced-token detection with a half-depth
  generator and gradient-disentangled embedding sharing (Section 3.2): the discriminator's token
  embeddings are stop_gradient(E_G) + E_delta.

Every ``forward`` returns the attention probabilities of every layer and head, and the DeBERTa
score terms c2c, c2p and p2c separately, in a frozen dataclass; nothing is kept on the modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.nn import functional as F

Tensor = torch.Tensor


@dataclass(frozen=True)
class EncoderConfig:
    vocab_size: int
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 512
    max_len: int = 128
    type_vocab_size: int = 2  # BERT's segments A/B; 0 for none (RoBERTa, DeBERTa)
    absolute_positions: bool = True  # added to the input (BERT, RoBERTa); DeBERTa: False
    relative_attention: bool = False  # DeBERTa's disentangled attention
    position_buckets: int = 32  # k: relative distances are bucketed into [-k, k)
    max_relative_positions: int = 128  # the distance the log buckets stretch to
    emd: bool = False  # DeBERTa's enhanced mask decoder
    nsp: bool = False  # BERT's next-sentence head
    dropout: float = 0.1
    layer_norm_eps: float = 1e-7
    pad_id: int = 0

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not a multiple of n_heads {self.n_heads}")
        if self.emd and not self.relative_attention:
            raise ValueError("the enhanced mask decoder belongs to disentangled attention")

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


# ---- relative positions -------------------------------------------------------------------


def log_bucket_positions(relative: Tensor, buckets: int, max_position: int) -> Tensor:
    """DeBERTa's log buckets: exact within +-buckets/2, logarithmic beyond, sign kept.

    Args:
        relative: integer distances i - j, any shape.
        buckets: k; results lie in [-k, k) after clamping by the caller.
        max_position: the distance mapped to the last bucket.
    """
    sign = torch.sign(relative)
    mid = buckets // 2
    inside = (relative < mid) & (relative > -mid)
    absolute = torch.where(inside, torch.full_like(relative, mid - 1), relative.abs())
    log_position = (
        torch.ceil(torch.log(absolute / mid) / math.log((max_position - 1) / mid) * (mid - 1)) + mid
    )
    return torch.where(absolute <= mid, relative.to(log_position.dtype), log_position * sign).long()


def relative_buckets(length: int, config: EncoderConfig, device=None) -> Tensor:
    """The bucketed relative distance d(i, j) = bucket(i - j) of every query/key pair: (T, T)."""
    positions = torch.arange(length, device=device)
    relative = positions[:, None] - positions[None, :]  # (T, T)
    return log_bucket_positions(relative, config.position_buckets, config.max_relative_positions)


# ---- building blocks -----------------------------------------------------------------------


@dataclass(frozen=True)
class AttentionParts:
    """One layer's attention: probabilities and, for DeBERTa, the scaled score terms."""

    probs: Tensor  # (B, H, T, T) rows sum to 1 over unmasked keys
    c2c: Tensor  # (B, H, T, T) content-to-content score (already scaled)
    c2p: Tensor | None  # (B, H, T, T) content-to-position
    p2c: Tensor | None  # (B, H, T, T) position-to-content


class Embeddings(nn.Module):
    """Token (+ absolute position) (+ segment) embeddings, layer-normed."""

    def __init__(self, config: EncoderConfig, own_words: bool = True) -> None:
        super().__init__()
        self.word = nn.Embedding(config.vocab_size, config.d_model) if own_words else None
        self.position = (
            nn.Embedding(config.max_len, config.d_model) if config.absolute_positions else None
        )
        self.segment = (
            nn.Embedding(config.type_vocab_size, config.d_model)
            if config.type_vocab_size > 0
            else None
        )
        self.norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self,
        input_ids: Tensor,
        token_type_ids: Tensor | None = None,
        word_weight: Tensor | None = None,
        word_vectors: Tensor | None = None,
    ) -> Tensor:
        if word_vectors is None:  # attribution passes the looked-up vectors (B, T, D) itself
            weight = self.word.weight if word_weight is None else word_weight
            word_vectors = F.embedding(input_ids, weight)
        x = word_vectors  # (B, T, D)
        if self.position is not None:
            x = x + self.position(torch.arange(input_ids.shape[1], device=input_ids.device))
        if self.segment is not None:
            types = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
            x = x + self.segment(types)
        return self.dropout(self.norm(x))


class SelfAttention(nn.Module):
    """Scaled dot-product attention, optionally disentangled (content and relative position)."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d)
        self.value = nn.Linear(d, d)
        self.dropout = nn.Dropout(config.dropout)

    def _heads(self, x: Tensor) -> Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.config.n_heads, self.config.d_head).transpose(1, 2)

    def forward(
        self,
        hidden: Tensor,
        key_mask: Tensor,
        query_states: Tensor | None = None,
        rel_embeddings: Tensor | None = None,
        buckets: Tensor | None = None,
    ) -> tuple[Tensor, AttentionParts]:
        cfg = self.config
        q = self._heads(self.query(hidden if query_states is None else query_states))  # (B,H,T,dh)
        k = self._heads(self.key(hidden))  # (B, H, T, dh)
        v = self._heads(self.value(hidden))  # (B, H, T, dh)
        scale = math.sqrt(cfg.d_head * (3 if cfg.relative_attention else 1))
        q_scaled = q / scale  # scaling (B,H,T,dh) once, not each (B,H,T,T) term
        c2c = q_scaled @ k.transpose(-1, -2)  # (B, H, T, T)
        scores = c2c
        c2p = p2c = None
        if cfg.relative_attention:
            span = cfg.position_buckets
            rel = rel_embeddings[None]  # (1, 2k, D): the keys share the content projections
            q_r = self._heads(self.query(rel))  # (1, H, 2k, dh)
            k_r = self._heads(self.key(rel))  # (1, H, 2k, dh)
            index = (buckets + span).clamp(0, 2 * span - 1)  # (T, T) bucket of i - j
            shape = (*q.shape[:3], index.shape[-1])
            # c2p[i, j] = Q^c_i . K^r_{d(i,j)}
            c2p = torch.gather(q_scaled @ k_r.transpose(-1, -2), -1, index.expand(shape))
            # p2c[i, j] = K^c_j . Q^r_{d(i,j)}; d is odd-symmetric, so bucket(i-j) = -bucket(j-i)
            flipped = (-buckets + span).clamp(0, 2 * span - 1)  # (T, T)
            p2c = torch.gather(k @ (q_r / scale).transpose(-1, -2), -1, flipped.expand(shape))
            p2c = p2c.transpose(-1, -2)
            scores = c2c + c2p
            scores += p2c
        if not bool(key_mask.all()):  # a single unpadded text needs no mask
            scores = scores.masked_fill(~key_mask[:, None, None, :], torch.finfo(scores.dtype).min)
        probs = scores.softmax(dim=-1)  # (B, H, T, T)
        context = self.dropout(probs) @ v  # (B, H, T, dh)
        context = context.transpose(1, 2).reshape(hidden.shape[0], -1, cfg.d_model)
        return context, AttentionParts(probs, c2c, c2p, p2c)


class EncoderLayer(nn.Module):
    """Post-LN Transformer layer: attention + residual + norm, feed-forward + residual + norm."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        d = config.d_model
        self.attention = SelfAttention(config)
        self.attention_out = nn.Linear(d, d)
        self.attention_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.ff_in = nn.Linear(d, config.d_ff)
        self.ff_out = nn.Linear(config.d_ff, d)
        self.ff_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self,
        hidden: Tensor,
        key_mask: Tensor,
        query_states: Tensor | None = None,
        rel_embeddings: Tensor | None = None,
        buckets: Tensor | None = None,
    ) -> tuple[Tensor, AttentionParts]:
        residual = hidden if query_states is None else query_states
        context, parts = self.attention(hidden, key_mask, query_states, rel_embeddings, buckets)
        x = self.attention_norm(residual + self.dropout(self.attention_out(context)))  # (B,T,D)
        y = self.ff_out(F.gelu(self.ff_in(x)))  # (B, T, D)
        return self.ff_norm(x + self.dropout(y)), parts


@dataclass(frozen=True)
class EncoderStates:
    hidden: Tensor  # (B, T, D) the last layer's output
    penultimate: Tensor  # (B, T, D) the last layer's input (the enhanced mask decoder reads it)
    layers: tuple[AttentionParts, ...]  # one per layer
    buckets: Tensor | None  # (T, T) relative-distance buckets (DeBERTa)


class EncoderBody(nn.Module):
    """Embeddings and the stack of layers shared by all four designs."""

    def __init__(self, config: EncoderConfig, own_words: bool = True) -> None:
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config, own_words)
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.n_layers))
        if config.relative_attention:
            self.rel_embeddings = nn.Embedding(2 * config.position_buckets, config.d_model)
            self.rel_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)

    def relative(self, length: int, device) -> tuple[Tensor | None, Tensor | None]:
        if not self.config.relative_attention:
            return None, None
        return self.rel_norm(self.rel_embeddings.weight), relative_buckets(
            length, self.config, device
        )

    def forward(
        self,
        input_ids: Tensor,
        token_type_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        word_weight: Tensor | None = None,
        word_vectors: Tensor | None = None,
    ) -> EncoderStates:
        # Relative positions have no table to run out of: a DeBERTa body reads any length
        # (distances past the buckets share the last one); absolute positions stop at max_len.
        if self.config.absolute_positions and input_ids.shape[1] > self.config.max_len:
            raise ValueError(
                f"{input_ids.shape[1]} tokens exceed the model's window of {self.config.max_len}"
            )
        key_mask = (
            input_ids != self.config.pad_id if attention_mask is None else attention_mask.bool()
        )  # (B, T)
        hidden = self.embeddings(input_ids, token_type_ids, word_weight, word_vectors)  # (B,T,D)
        rel, buckets = self.relative(input_ids.shape[1], input_ids.device)
        penultimate = hidden
        parts = []
        for layer in self.layers:
            penultimate = hidden
            hidden, layer_parts = layer(hidden, key_mask, None, rel, buckets)
            parts.append(layer_parts)
        return EncoderStates(hidden, penultimate, tuple(parts), buckets)


class MaskedLMHead(nn.Module):
    """Transform (dense, GELU, norm) then scores against the tied input embeddings."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_model)
        self.norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden: Tensor, word_weight: Tensor) -> Tensor:
        x = self.norm(F.gelu(self.dense(hidden)))  # (..., D)
        return x @ word_weight.T + self.bias  # (..., V)


def init_weights(module: nn.Module) -> None:
    """BERT's initialisation: N(0, 0.02) weights, zero biases, unit norms."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


# ---- the masked-LM models (BERT, RoBERTa, DeBERTa) ------------------------------------------


@dataclass(frozen=True)
class MaskedLMOutput:
    mlm_logits: Tensor  # (B, T, V), or (N, V) at the positions of ``predict_mask``
    nsp_logits: Tensor | None  # (B, 2): [is next, is random]
    hidden: Tensor  # (B, T, D)
    attentions: tuple[Tensor, ...]  # per layer (B, H, T, T)
    c2c: tuple[Tensor, ...]  # per layer (B, H, T, T) scaled content-to-content scores
    c2p: tuple[Tensor, ...] | None  # per layer, DeBERTa only
    p2c: tuple[Tensor, ...] | None
    buckets: Tensor | None  # (T, T) relative-distance buckets, DeBERTa only


class MaskedLMEncoder(nn.Module):
    """BERT / RoBERTa / DeBERTa: encoder body + masked-LM head (+ NSP head) (+ mask decoder)."""

    def __init__(self, config: EncoderConfig, own_words: bool = True) -> None:
        super().__init__()
        self.config = config
        self.body = EncoderBody(config, own_words)
        self.mlm = MaskedLMHead(config)
        if config.nsp:
            self.pooler = nn.Linear(config.d_model, config.d_model)
            self.nsp = nn.Linear(config.d_model, 2)
        if config.emd:
            self.emd_positions = nn.Embedding(config.max_len, config.d_model)
        init_weights(self)

    @property
    def word_weight(self) -> Tensor:
        return self.body.embeddings.word.weight

    def decode_masked(
        self, states: EncoderStates, key_mask: Tensor, absolute: bool = True
    ) -> Tensor:
        """The enhanced mask decoder: the last layer, run twice, queried with I = H + P.

        H is the last layer's input and P the absolute positions, as in the paper's code.

        With ``absolute=False`` the positions are left out (the page's "without EMD" view).
        """
        last = self.body.layers[-1]
        length = states.hidden.shape[1]
        if length > self.config.max_len:
            raise ValueError(
                f"{length} tokens exceed the model's window of {self.config.max_len} "
                "(the mask decoder's absolute positions)"
            )
        query = states.penultimate
        if absolute:
            query = query + self.emd_positions(torch.arange(length, device=query.device))
        rel, buckets = self.body.relative(length, query.device)
        for _ in range(2):
            query, _ = last(states.penultimate, key_mask, query, rel, buckets)  # (B, T, D)
        return query

    def forward(
        self,
        input_ids: Tensor,
        token_type_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        predict_mask: Tensor | None = None,
        emd_absolute: bool = True,
        word_vectors: Tensor | None = None,
    ) -> MaskedLMOutput:
        """Encode and predict.

        Args:
            input_ids: (B, T) token ids.
            token_type_ids: (B, T) segment ids (BERT), default all 0.
            attention_mask: (B, T) 1 for real tokens; default ``input_ids != pad_id``.
            predict_mask: (B, T) bool; when given, MLM logits only at these positions (N, V).
            emd_absolute: DeBERTa: add absolute positions in the mask decoder (the paper's EMD).
            word_vectors: (B, T, D) token vectors to use instead of looking up ``input_ids``
                (Integrated Gradients interpolates them).
        """
        cfg = self.config
        states = self.body(input_ids, token_type_ids, attention_mask, word_vectors=word_vectors)
        hidden = states.hidden
        if cfg.emd:
            key_mask = input_ids != cfg.pad_id if attention_mask is None else attention_mask.bool()
            hidden = self.decode_masked(states, key_mask, emd_absolute)
        if predict_mask is not None:
            hidden = hidden[predict_mask]  # (N, D)
        logits = self.mlm(hidden, self.word_weight)
        nsp = None
        if cfg.nsp:
            nsp = self.nsp(torch.tanh(self.pooler(states.hidden[:, 0])))  # (B, 2)
        return _masked_lm_output(logits, nsp, states)


def _per_layer_fields(states: EncoderStates) -> dict:
    """The fields both output types carry: the last hidden states and each layer's scores."""
    relative = states.layers[0].c2p is not None
    return {
        "hidden": states.hidden,
        "attentions": tuple(p.probs for p in states.layers),
        "c2c": tuple(p.c2c for p in states.layers),
        "c2p": tuple(p.c2p for p in states.layers) if relative else None,
        "p2c": tuple(p.p2c for p in states.layers) if relative else None,
        "buckets": states.buckets,
    }


def _masked_lm_output(logits: Tensor, nsp: Tensor | None, states: EncoderStates) -> MaskedLMOutput:
    return MaskedLMOutput(mlm_logits=logits, nsp_logits=nsp, **_per_layer_fields(states))


# ---- DeBERTaV3: replaced-token detection ----------------------------------------------------


@dataclass(frozen=True)
class DetectorOutput:
    rtd_logits: Tensor  # (B, T) logit of "this token was replaced"
    hidden: Tensor  # (B, T, D)
    attentions: tuple[Tensor, ...]  # per layer (B, H, T, T)
    c2c: tuple[Tensor, ...]
    c2p: tuple[Tensor, ...] | None
    p2c: tuple[Tensor, ...] | None
    buckets: Tensor | None


class ReplacedTokenDetector(nn.Module):
    """DeBERTaV3: a half-depth MLM generator and a discriminator sharing embeddings by GDES."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        generator_config = replace(config, n_layers=max(1, config.n_layers // 2), emd=False)
        self.generator = MaskedLMEncoder(generator_config)
        self.body = EncoderBody(config, own_words=False)
        # E_delta: the discriminator's own correction to the shared token embeddings.
        self.word_delta = nn.Parameter(torch.zeros(config.vocab_size, config.d_model))
        self.rtd_dense = nn.Linear(config.d_model, config.d_model)
        self.rtd_out = nn.Linear(config.d_model, 1)
        init_weights(self.body)
        init_weights(self.rtd_dense)
        init_weights(self.rtd_out)

    @property
    def word_weight(self) -> Tensor:
        """E_D = stop_gradient(E_G) + E_delta: the RTD loss does not pull the generator's table."""
        return self.generator.word_weight.detach() + self.word_delta

    def forward(
        self,
        input_ids: Tensor,
        token_type_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
    ) -> DetectorOutput:
        """The discriminator: (B, T) ids, possibly corrupted -> per-token "replaced" logits."""
        states = self.body(input_ids, token_type_ids, attention_mask, word_weight=self.word_weight)
        logits = self.rtd_out(F.gelu(self.rtd_dense(states.hidden))).squeeze(-1)  # (B, T)
        return DetectorOutput(rtd_logits=logits, **_per_layer_fields(states))


# ---- the four designs at one size -----------------------------------------------------------

DESIGNS = ("bert", "roberta", "deberta", "debertav3")


def design_config(design: str, vocab_size: int, **size) -> EncoderConfig:
    """The paper's switches for ``design`` at a common size (``size`` overrides the defaults)."""
    if design == "bert":
        return EncoderConfig(vocab_size, type_vocab_size=2, nsp=True, **size)
    if design == "roberta":
        return EncoderConfig(vocab_size, type_vocab_size=0, **size)
    if design in ("deberta", "debertav3"):
        return EncoderConfig(
            vocab_size,
            type_vocab_size=0,
            absolute_positions=False,
            relative_attention=True,
            emd=design == "deberta",
            **size,
        )
    raise ValueError(f"unknown design {design!r}; choose one of {', '.join(DESIGNS)}")


def build_model(design: str, config: EncoderConfig) -> MaskedLMEncoder | ReplacedTokenDetector:
    return ReplacedTokenDetector(config) if design == "debertav3" else MaskedLMEncoder(config)


def model_from_checkpoint(checkpoint) -> MaskedLMEncoder | ReplacedTokenDetector:
    """Rebuild the model a checkpoint's card describes and load its weights (float32)."""
    from nlpviz.checkpoints import load_state_into

    config = EncoderConfig(**checkpoint.card["config"])
    return load_state_into(build_model(checkpoint.card["design"], config), checkpoint)
