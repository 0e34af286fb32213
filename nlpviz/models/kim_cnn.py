"""Kim (2014), "Convolutional Neural Networks for Sentence Classification".

Each filter of width h slides over the sentence's word vectors (Eq. 2 of the paper):
``c_i = ReLU(w . x_{i:i+h-1} + b)``; max-over-time pooling keeps ``max_i c_i`` per filter (Eq. 3);
the pooled features of widths 3, 4 and 5 (100 filters each) feed a softmax layer trained with
dropout 0.5 and a max-norm constraint of 3 on its weight vectors.

Variants (Section 3.1): ``rand`` (random vectors, tuned), ``static`` (pretrained, frozen),
``non-static`` (pretrained, tuned) and ``multichannel`` (one frozen and one tuned copy; every
filter reads both channels and their results are added, which is a Conv1d over the concatenated
channels).

One deliberate difference from the paper's code: windows that run past the end of a sentence are
masked before pooling, so a sentence's output does not depend on how much padding its batch had.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn

from nlpviz.checkpoints import Checkpoint, model_from_card

VARIANTS = ("rand", "static", "non-static", "multichannel")
PAPER_ACCURACY = {  # Kim (2014), Table 2, accuracy in %
    "mr": {"rand": 76.1, "static": 81.0, "non-static": 81.5, "multichannel": 81.1},
    "subj": {"rand": 89.6, "static": 93.0, "non-static": 93.4, "multichannel": 93.2},
}


@dataclass(frozen=True)
class KimCNNConfig:
    vocab_size: int
    num_classes: int = 2
    variant: str = "rand"
    embed_dim: int = 50
    filter_widths: tuple[int, ...] = (3, 4, 5)
    num_filters: int = 100
    dropout: float = 0.5
    max_norm: float = 3.0

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        object.__setattr__(self, "filter_widths", tuple(int(w) for w in self.filter_widths))

    @property
    def channels(self) -> int:
        return 2 if self.variant == "multichannel" else 1

    @property
    def min_length(self) -> int:
        """Shortest input the widest filter can read (shorter inputs are padded to this)."""
        return max(self.filter_widths)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class KimCNNOutput:
    """Everything the page shows about one forward pass."""

    logits: torch.Tensor  # (batch, classes)
    feature_maps: tuple[
        torch.Tensor, ...
    ]  # per width h: (batch, filters, seq - h + 1), 0 where masked
    pool_argmax: tuple[
        torch.Tensor, ...
    ]  # per width h: (batch, filters), start of the winning window
    pooled: torch.Tensor  # (batch, widths * filters), the max-pooled features in width order


def window_span(position: int, width: int, n_tokens: int) -> tuple[int, int]:
    """Token span ``[start, end)`` read by the window that starts at ``position``.

    Sentences shorter than the filter are padded, so the span is clipped to the real tokens.
    """
    if position < 0 or width < 1:
        raise ValueError(f"position {position} and width {width} must be >= 0 and >= 1")
    return position, min(position + width, n_tokens)


def pad_ids(ids: Sequence[Sequence[int]], min_length: int, pad_index: int = 0) -> torch.Tensor:
    """Right-pad token id lists into a (batch, max(longest, min_length)) LongTensor."""
    length = max([min_length, *(len(row) for row in ids)])
    batch = torch.full((len(ids), length), pad_index, dtype=torch.long)
    for row, values in enumerate(ids):
        if values:
            batch[row, : len(values)] = torch.as_tensor(list(values), dtype=torch.long)
    return batch


class KimCNN(nn.Module):
    """The CNN of Kim (2014), Figure 1."""

    def __init__(self, config: KimCNNConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=0)
        nn.init.uniform_(self.embedding.weight, -0.25, 0.25)
        with torch.no_grad():
            self.embedding.weight[0].zero_()
        if config.variant == "static":
            self.embedding.weight.requires_grad_(False)
        self.static_embedding: nn.Embedding | None = None
        if config.variant == "multichannel":
            self.static_embedding = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=0)
            self.static_embedding.weight.requires_grad_(False)
        in_channels = config.channels * config.embed_dim
        self.convs = nn.ModuleList(
            nn.Conv1d(in_channels, config.num_filters, kernel_size=width)
            for width in config.filter_widths
        )
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(len(config.filter_widths) * config.num_filters, config.num_classes)

    def load_pretrained(self, vectors: torch.Tensor) -> None:
        """Initialise every embedding channel with pretrained vectors (vocab_size, embed_dim)."""
        if tuple(vectors.shape) != (self.config.vocab_size, self.config.embed_dim):
            raise ValueError(
                f"vectors have shape {tuple(vectors.shape)}, the model expects "
                f"({self.config.vocab_size}, {self.config.embed_dim})"
            )
        with torch.no_grad():
            for table in self.embedding_tables().values():
                table.copy_(vectors)
                table[0].zero_()

    def embedding_tables(self) -> dict[str, torch.Tensor]:
        """The word-vector tables by role: "tuned" and/or "frozen" (views, not copies)."""
        own = self.embedding.weight
        if self.config.variant == "multichannel":
            assert self.static_embedding is not None
            return {"frozen": self.static_embedding.weight, "tuned": own}
        return {"frozen" if self.config.variant == "static" else "tuned": own}

    def embed(self, token_ids: torch.Tensor) -> torch.Tensor:
        """(batch, seq) ids -> (batch, seq, channels * embed_dim) word vectors."""
        vectors = [self.embedding(token_ids)]  # (batch, seq, dim)
        if self.static_embedding is not None:
            vectors.insert(0, self.static_embedding(token_ids))
        return torch.cat(vectors, dim=-1)  # (batch, seq, channels * dim)

    def forward_embedded(self, embedded: torch.Tensor, lengths: torch.Tensor) -> KimCNNOutput:
        """Run the network from word vectors.

        Args:
            embedded: (batch, seq, channels * embed_dim); seq >= the widest filter.
            lengths: (batch,) number of real tokens in each row.
        """
        seq = embedded.shape[1]
        if seq < self.config.min_length:
            raise ValueError(f"inputs must be padded to {self.config.min_length} tokens, got {seq}")
        x = embedded.transpose(1, 2)  # (batch, channels * dim, seq)
        maps, argmaxes, pooled = [], [], []
        for width, conv in zip(self.config.filter_widths, self.convs, strict=True):
            fmap = torch.relu(conv(x))  # (batch, filters, seq - width + 1)
            positions = torch.arange(fmap.shape[-1], device=fmap.device)  # (positions,)
            valid_count = (lengths - width + 1).clamp(min=1)  # (batch,)
            valid = positions[None, :] < valid_count[:, None]  # (batch, positions)
            masked = fmap.masked_fill(~valid[:, None, :], float("-inf"))
            best, where = masked.max(dim=-1)  # (batch, filters) each
            maps.append(fmap * valid[:, None, :])
            argmaxes.append(where)
            pooled.append(best)
        features = torch.cat(pooled, dim=-1)  # (batch, widths * filters)
        logits = self.output(self.dropout(features))  # (batch, classes)
        return KimCNNOutput(
            logits=logits, feature_maps=tuple(maps), pool_argmax=tuple(argmaxes), pooled=features
        )

    def forward(self, token_ids: torch.Tensor) -> KimCNNOutput:
        """(batch, seq) right-padded token ids (0 = padding) -> :class:`KimCNNOutput`."""
        lengths = (token_ids != 0).sum(dim=1)  # (batch,)
        return self.forward_embedded(self.embed(token_ids), lengths)

    @torch.no_grad()
    def apply_max_norm(self) -> None:
        """Rescale each class's weight vector to L2 norm <= max_norm (Kim's constraint s = 3)."""
        weight = self.output.weight  # (classes, features)
        weight.copy_(torch.renorm(weight, p=2, dim=0, maxnorm=self.config.max_norm))

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint) -> KimCNN:
        """Build the model a verified checkpoint describes and load its weights (eval mode)."""
        return model_from_card(cls, KimCNNConfig, checkpoint, "Kim CNN")
