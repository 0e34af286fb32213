"""Ma & Hovy (2016), "End-to-end Sequence Labeling via Bi-directional LSTM-CNNs-CRF".

A character CNN (window 3, 30 filters, max-pooled over the word's characters; Section 2.1) gives
every word a spelling vector; it is concatenated with the word's GloVe vector and read by a
bidirectional LSTM (Section 2.2, dropout on its input and output); a linear layer turns each state
into per-tag emission scores P, and a linear-chain CRF (Section 2.3) scores whole tag sequences,
``s(x, y) = sum_i A[y_{i-1}, y_i] + P[i, y_i]``, decoded with Viterbi.

The paper's ablation is the same class with parts switched off: BLSTM (no characters, softmax per
token), BLSTM-CNN (characters, softmax) and BLSTM-CNN-CRF.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn

from nlpviz.checkpoints import Checkpoint, model_from_card
from nlpviz.data.vocab import Vocab
from nlpviz.models.crf import CRF, bio_constraints
from nlpviz.models.kim_cnn import pad_ids

MAX_WORD_CHARS = 20
"""Characters of a word the CNN reads (longer words are cut)."""


@dataclass(frozen=True)
class TaggerConfig:
    vocab_size: int
    char_vocab_size: int
    tags: tuple[str, ...]  # tag names in index order; BIO tags get the CRF's BIO constraints
    use_chars: bool = True
    use_crf: bool = True
    word_dim: int = 50
    char_dim: int = 30
    char_filters: int = 30
    char_window: int = 3
    hidden: int = 100  # per direction (the paper: 200)
    dropout: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", tuple(self.tags))
        if len(set(self.tags)) != len(self.tags) or not self.tags:
            raise ValueError(f"tags must be distinct and non-empty, got {self.tags}")

    @property
    def num_tags(self) -> int:
        return len(self.tags)

    @property
    def is_bio(self) -> bool:
        return any(t.startswith(("B-", "I-")) for t in self.tags)

    def to_json(self) -> dict:
        return dict(asdict(self), tags=list(self.tags))

    @property
    def name(self) -> str:
        return "BLSTM" + ("-CNN" if self.use_chars else "") + ("-CRF" if self.use_crf else "")


@dataclass(frozen=True)
class TaggerOutput:
    """Everything the tagger page shows about one forward pass."""

    emissions: torch.Tensor  # (batch, words, tags) P[i, y]
    mask: torch.Tensor  # (batch, words) bool, True on real words
    paths: list[list[int]]  # the decoded tag ids of each sentence (Viterbi with a CRF)
    path_scores: torch.Tensor  # (batch,) score of each decoded path
    char_activations: torch.Tensor | None  # (batch, words, filters, char positions)
    char_argmax: torch.Tensor | None  # (batch, words, filters) window start the max-pool kept
    transitions: torch.Tensor | None = None  # (tags, tags) A[from, to] as scored, -1e4 forbidden


def pad_chars(words: Sequence[Sequence[int]], window: int) -> torch.Tensor:
    """(words, max_chars + window - 1) char ids, each word centred by ``window // 2`` pads."""
    side = window // 2
    longest = max([1, *(len(w) for w in words)])
    batch = torch.zeros(len(words), longest + 2 * side, dtype=torch.long)
    for row, chars in enumerate(words):
        if chars:
            batch[row, side : side + len(chars)] = torch.as_tensor(list(chars), dtype=torch.long)
    return batch


def encode_sentences(
    vocab: Vocab, chars: Vocab, sentences: Sequence[Sequence[str]], window: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Word ids (B, L) (lower-cased, as in training) and char ids (B, L, C) (cased)."""
    words = pad_ids([vocab.encode([t.lower() for t in s]) for s in sentences], 1)  # (B, L)
    per = [
        pad_chars([chars.encode(list(t[:MAX_WORD_CHARS])) for t in s], window) for s in sentences
    ]
    width = max(c.shape[1] for c in per)
    batch = torch.zeros(len(sentences), words.shape[1], width, dtype=torch.long)  # (B, L, C)
    for row, c in enumerate(per):
        batch[row, : c.shape[0], : c.shape[1]] = c
    return words, batch


class CharCNN(nn.Module):
    """Characters -> one vector per word (max over time of a width-3 convolution)."""

    def __init__(self, config: TaggerConfig) -> None:
        super().__init__()
        self.embedding = nn.Embedding(config.char_vocab_size, config.char_dim, padding_idx=0)
        self.conv = nn.Conv1d(config.char_dim, config.char_filters, config.char_window)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, chars: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(batch, words, chars) -> vectors (batch, words, filters), activations, argmax."""
        batch, words, length = chars.shape
        x = self.dropout(self.embedding(chars.view(batch * words, length)))  # (BW, C, char_dim)
        activations = self.conv(x.transpose(1, 2))  # (BW, filters, C - window + 1)
        pooled, where = activations.max(dim=-1)  # (BW, filters) each
        shape = (batch, words, -1)
        return (
            pooled.view(*shape),
            activations.view(batch, words, activations.shape[1], activations.shape[2]),
            where.view(*shape),
        )


class Tagger(nn.Module):
    """BLSTM / BLSTM-CNN / BLSTM-CNN-CRF (Ma & Hovy 2016, Figure 3)."""

    def __init__(self, config: TaggerConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.word_dim, padding_idx=0)
        nn.init.uniform_(
            self.embedding.weight, -((3 / config.word_dim) ** 0.5), (3 / config.word_dim) ** 0.5
        )
        self.chars = CharCNN(config) if config.use_chars else None
        width = config.word_dim + (config.char_filters if config.use_chars else 0)
        self.lstm = nn.LSTM(width, config.hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(config.dropout)
        self.emit = nn.Linear(2 * config.hidden, config.num_tags)
        self.crf: CRF | None = None
        if config.use_crf:
            constraints = bio_constraints(config.tags) if config.is_bio else ()
            self.crf = CRF(config.num_tags, *constraints)

    def load_pretrained(self, vectors: torch.Tensor) -> None:
        if tuple(vectors.shape) != tuple(self.embedding.weight.shape):
            raise ValueError(
                f"vectors have shape {tuple(vectors.shape)}, the model expects "
                f"{tuple(self.embedding.weight.shape)}"
            )
        with torch.no_grad():
            self.embedding.weight.copy_(vectors)
            self.embedding.weight[0].zero_()

    def emissions(
        self, words: torch.Tensor, chars: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """(batch, L) word ids and (batch, L, C) char ids -> (batch, L, tags) emissions."""
        mask = words != 0  # (batch, L)
        x = self.embedding(words)  # (batch, L, word_dim)
        activations = where = None
        if self.chars is not None:
            if chars is None:
                raise ValueError("this tagger reads characters: pass char ids")
            spelled, activations, where = self.chars(chars)  # (batch, L, filters), ...
            x = torch.cat([x, spelled], dim=-1)  # (batch, L, word_dim + filters)
        lengths = mask.sum(dim=1).clamp(min=1).cpu()  # (batch,)
        packed = nn.utils.rnn.pack_padded_sequence(
            self.dropout(x), lengths, batch_first=True, enforce_sorted=False
        )
        states, _ = self.lstm(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(
            states, batch_first=True, total_length=words.shape[1]
        )  # (batch, L, 2 * hidden)
        return self.emit(self.dropout(states)), activations, where  # (batch, L, tags)

    def forward(self, words: torch.Tensor, chars: torch.Tensor | None = None) -> TaggerOutput:
        """Tag a right-padded batch (word id 0 = padding)."""
        mask = words != 0  # (batch, L)
        emissions, activations, where = self.emissions(words, chars)
        if self.crf is not None:
            best = self.crf.viterbi(emissions, mask)
            paths, scores = best.paths, best.scores
        else:
            top, ids = emissions.max(dim=-1)  # (batch, L) each
            lengths = mask.sum(dim=1).tolist()
            paths = [ids[b, :n].tolist() for b, n in enumerate(lengths)]
            scores = (top * mask).sum(dim=1)  # (batch,)
        transitions = None if self.crf is None else self.crf.effective_transitions()[0].detach()
        return TaggerOutput(emissions, mask, paths, scores, activations, where, transitions)

    def loss(
        self, words: torch.Tensor, chars: torch.Tensor | None, tags: torch.Tensor
    ) -> torch.Tensor:
        """Mean negative log-likelihood of the gold tags (CRF) or per-token cross-entropy."""
        mask = words != 0  # (batch, L)
        emissions, _, _ = self.emissions(words, chars)
        if self.crf is not None:
            return self.crf.neg_log_likelihood(emissions, tags, mask)
        return nn.functional.cross_entropy(emissions[mask], tags[mask])

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint) -> Tagger:
        return model_from_card(cls, TaggerConfig, checkpoint, "tagger")
