"""Yang et al. (2016), "Hierarchical Attention Networks for Document Classification" (NAACL).

A document is a sequence of sentences, a sentence a sequence of words (Section 2):

* word encoder: a bidirectional GRU reads the word vectors of sentence i,
  ``h_it = [GRU_fwd(x_it); GRU_bwd(x_it)]`` (Eqs. 5-7);
* word attention (Eqs. 8-10): ``u_it = tanh(W_w h_it + b_w)``,
  ``a_it = softmax_t(u_it^T u_w)``, ``s_i = sum_t a_it h_it`` with a learned context vector u_w;
* sentence encoder: a bidirectional GRU over the sentence vectors s_i gives h_i (Eqs. 11-12);
* sentence attention (Eqs. 13-15): ``u_i = tanh(W_s h_i + b_s)``, ``a_i = softmax_i(u_i^T u_s)``,
  ``v = sum_i a_i h_i``;
* classifier: ``p = softmax(W_c v + b_c)`` (Eq. 16), trained with the negative log likelihood
  (Eq. 17).

Padding never reaches a real step of a GRU (the backward GRU reads each sentence reversed
within its own length, see :class:`BiGRU`) and the attention softmaxes are masked, so padded
words and sentences get weight exactly 0 and a document's output does not depend on how much
padding its batch had. Dropout on the word vectors and on the document vector is our addition
(the paper names none); it is inactive in eval mode.

Two flat baselines in the spirit of the paper's Table 2 (which compares HAN with flat CNN/LSTM
models and bag-of-means) live here too: :class:`FlatAttentionGRU` (one BiGRU
over all of a document's words with the same attention, no sentence level) and
:class:`MeanEmbeddingClassifier` (the average word vector fed to a linear softmax layer, a
bag-of-means baseline).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn

from nlpviz.checkpoints import Checkpoint, model_from_card


class _SizedConfig:
    """The checks and JSON form the three configs share (they differ only in their sizes)."""

    def __post_init__(self) -> None:
        _check_sizes(self)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class HANConfig(_SizedConfig):
    vocab_size: int
    num_classes: int
    embed_dim: int = 50
    word_hidden: int = 50  # per direction; the word annotation h_it has 2 * word_hidden
    sentence_hidden: int = 50  # per direction; h_i has 2 * sentence_hidden
    attention_dim: int = 100  # size of u_it, u_w, u_i and u_s
    dropout: float = 0.3


@dataclass(frozen=True)
class FlatAttentionGRUConfig(_SizedConfig):
    vocab_size: int
    num_classes: int
    embed_dim: int = 50
    hidden: int = 50  # per direction
    attention_dim: int = 100
    dropout: float = 0.3


@dataclass(frozen=True)
class MeanEmbeddingConfig(_SizedConfig):
    vocab_size: int
    num_classes: int
    embed_dim: int = 50
    dropout: float = 0.3


def _check_sizes(config) -> None:
    sizes = {k: v for k, v in asdict(config).items() if k != "dropout"}
    small = {k: v for k, v in sizes.items() if not isinstance(v, int) or v < 1}
    if small or config.vocab_size < 2 or config.num_classes < 2:
        raise ValueError(f"{type(config).__name__} needs positive sizes, got {sizes}")
    if not 0.0 <= config.dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {config.dropout}")


@dataclass(frozen=True)
class HANOutput:
    """Everything the page shows about one forward pass of the HAN."""

    logits: torch.Tensor  # (batch, classes)
    word_attention: torch.Tensor  # (batch, sentences, words) a_it; 0 on padding
    sentence_attention: torch.Tensor  # (batch, sentences) a_i; 0 on padded sentences
    word_mask: torch.Tensor  # (batch, sentences, words) bool, True on real words
    sentence_mask: torch.Tensor  # (batch, sentences) bool, True on real sentences


@dataclass(frozen=True)
class FlatAttentionGRUOutput:
    logits: torch.Tensor  # (batch, classes)
    attention: torch.Tensor  # (batch, words), 0 on padding
    mask: torch.Tensor  # (batch, words) bool, True on real words


@dataclass(frozen=True)
class MeanEmbeddingOutput:
    logits: torch.Tensor  # (batch, classes)


def pad_documents(docs: Sequence[Sequence[Sequence[int]]], pad_index: int = 0) -> torch.Tensor:
    """Right-pad documents of sentences of token ids into a (batch, sentences, words) LongTensor.

    Every document needs at least one sentence and every sentence at least one token.
    """
    if not docs:
        raise ValueError("pad_documents needs at least one document")
    for d, doc in enumerate(docs):
        if not doc or any(len(sentence) == 0 for sentence in doc):
            raise ValueError(f"document {d} has no sentence or an empty sentence")
    n_sentences = max(len(doc) for doc in docs)
    n_words = max(len(sentence) for doc in docs for sentence in doc)
    batch = torch.full((len(docs), n_sentences, n_words), pad_index, dtype=torch.long)
    for d, doc in enumerate(docs):
        for s, sentence in enumerate(doc):
            batch[d, s, : len(sentence)] = torch.as_tensor(list(sentence), dtype=torch.long)
    return batch


def pad_flat(docs: Sequence[Sequence[int]], pad_index: int = 0) -> torch.Tensor:
    """Right-pad token id lists (a document's words, sentences joined) into (batch, words)."""
    if not docs or any(len(doc) == 0 for doc in docs):
        raise ValueError("pad_flat needs at least one document and a token in each")
    batch = torch.full((len(docs), max(len(doc) for doc in docs)), pad_index, dtype=torch.long)
    for d, doc in enumerate(docs):
        batch[d, : len(doc)] = torch.as_tensor(list(doc), dtype=torch.long)
    return batch


def _check_prefix_mask(mask: torch.Tensor, what: str) -> None:
    """Real positions must come first along the last axis, and each row needs one."""
    if bool((mask[..., 1:] & ~mask[..., :-1]).any()):
        raise ValueError(f"{what} must be right-padded: a real position follows padding")


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis where ``mask`` is True; exactly 0 where it is False.

    A row with no True entry gives all zeros (not NaN).
    """
    scores = scores.masked_fill(~mask, float("-inf"))
    top = scores.amax(dim=-1, keepdim=True).clamp(min=torch.finfo(scores.dtype).min)
    weights = torch.exp(scores - top) * mask  # (..., n), exp(-inf) = 0 on masked entries
    return weights / weights.sum(dim=-1, keepdim=True).clamp(min=torch.finfo(scores.dtype).tiny)


class AdditiveAttention(nn.Module):
    """Eqs. 8-10: ``u_t = tanh(W h_t + b)``, ``a_t = softmax_t(u_t^T u)``, ``c = sum_t a_t h_t``."""

    def __init__(self, input_dim: int, attention_dim: int) -> None:
        super().__init__()
        self.projection = nn.Linear(input_dim, attention_dim)
        self.context = nn.Parameter(torch.empty(attention_dim))  # u_w or u_s
        nn.init.normal_(self.context, std=attention_dim**-0.5)

    def forward(
        self, states: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, steps, input_dim) states and (n, steps) mask -> summary (n, input_dim), weights."""
        hidden = torch.tanh(self.projection(states))  # (n, steps, attention_dim)
        weights = masked_softmax(hidden @ self.context, mask)  # (n, steps)
        summary = (weights.unsqueeze(-1) * states).sum(dim=1)  # (n, input_dim)
        return summary, weights


def reverse_padded(inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row's first ``lengths`` steps, leaving its padding where it is.

    (n, steps, dim), (n,) -> (n, steps, dim); applying it twice gives the input back.
    """
    steps = torch.arange(inputs.shape[1], device=inputs.device)  # (steps,)
    last = (lengths.to(inputs.device) - 1).unsqueeze(1)  # (n, 1)
    index = torch.where(steps < last + 1, last - steps, steps)  # (n, steps)
    return inputs.gather(1, index.unsqueeze(-1).expand_as(inputs))


class BiGRU(nn.Module):
    """A bidirectional GRU whose outputs on real steps do not depend on right-padding.

    The forward GRU reads left to right (padding comes after every real step, so it cannot
    leak in); the backward GRU reads each row reversed within its own length. Equal to
    ``nn.GRU(bidirectional=True)`` on packed sequences, and several times faster on a CPU than
    packing. Padded steps of the output are 0.
    """

    def __init__(self, input_dim: int, hidden: int) -> None:
        super().__init__()
        self.forward_gru = nn.GRU(input_dim, hidden, batch_first=True)
        self.backward_gru = nn.GRU(input_dim, hidden, batch_first=True)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(n, steps, input_dim), (n,) lengths >= 1 -> (n, steps, 2 * hidden)."""
        steps = torch.arange(inputs.shape[1], device=inputs.device)  # (steps,)
        real = (steps[None, :] < lengths.to(inputs.device)[:, None]).unsqueeze(-1)  # (n, steps, 1)
        ahead, _ = self.forward_gru(inputs)  # (n, steps, hidden)
        behind, _ = self.backward_gru(reverse_padded(inputs, lengths))  # (n, steps, hidden)
        behind = reverse_padded(behind, lengths)  # (n, steps, hidden), aligned with the input
        return torch.cat([ahead, behind], dim=-1) * real  # (n, steps, 2 * hidden)


class _WordModel(nn.Module):
    """Shared word-vector table (index 0 = padding) and its GloVe initialisation."""

    config: HANConfig | FlatAttentionGRUConfig | MeanEmbeddingConfig

    def _init_embedding(self) -> None:
        self.embedding = nn.Embedding(self.config.vocab_size, self.config.embed_dim, padding_idx=0)
        nn.init.uniform_(self.embedding.weight, -0.25, 0.25)
        with torch.no_grad():
            self.embedding.weight[0].zero_()

    def load_pretrained(self, vectors: torch.Tensor) -> None:
        """Initialise the word vectors with a (vocab_size, embed_dim) table (row 0 is zeroed)."""
        expected = (self.config.vocab_size, self.config.embed_dim)
        if tuple(vectors.shape) != expected:
            raise ValueError(
                f"vectors have shape {tuple(vectors.shape)}, the model expects {expected}"
            )
        with torch.no_grad():
            self.embedding.weight.copy_(vectors)
            self.embedding.weight[0].zero_()

    def embed(self, token_ids: torch.Tensor) -> torch.Tensor:
        """Token ids of any shape (...) -> word vectors (..., embed_dim)."""
        return self.embedding(token_ids)


class HAN(_WordModel):
    """The Hierarchical Attention Network of Yang et al. (2016), Figure 2."""

    def __init__(self, config: HANConfig) -> None:
        super().__init__()
        self.config = config
        self._init_embedding()
        self.word_encoder = BiGRU(config.embed_dim, config.word_hidden)
        self.word_attention = AdditiveAttention(2 * config.word_hidden, config.attention_dim)
        self.sentence_encoder = BiGRU(2 * config.word_hidden, config.sentence_hidden)
        self.sentence_attention = AdditiveAttention(
            2 * config.sentence_hidden, config.attention_dim
        )
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(2 * config.sentence_hidden, config.num_classes)

    def forward_embedded(self, embedded: torch.Tensor, word_mask: torch.Tensor) -> HANOutput:
        """Run the network from word vectors (so attribution can work on the embeddings).

        Args:
            embedded: (batch, sentences, words, embed_dim) word vectors.
            word_mask: (batch, sentences, words) bool, True on real words; right-padded along
                both axes, every document with at least one real sentence.
        """
        batch, n_sent, n_words, _ = embedded.shape
        if tuple(word_mask.shape) != (batch, n_sent, n_words):
            raise ValueError(
                f"word_mask has shape {tuple(word_mask.shape)}, embedded {tuple(embedded.shape)}"
            )
        word_mask = word_mask.bool()
        word_counts = word_mask.sum(dim=-1)  # (batch, sentences)
        sentence_mask = word_counts > 0  # (batch, sentences)
        _check_prefix_mask(word_mask, "words")
        _check_prefix_mask(sentence_mask, "sentences")
        sentence_counts = sentence_mask.sum(dim=-1)  # (batch,)
        if bool((sentence_counts == 0).any()):
            raise ValueError("every document needs at least one sentence with a real word")

        # Word level: only the real sentences of the batch, packed by length.
        words = self.dropout(embedded[sentence_mask])  # (n_real, words, embed_dim)
        word_states = self.word_encoder(words, word_counts[sentence_mask])  # (n_real, words, 2Hw)
        sentence_vectors, word_weights = self.word_attention(
            word_states, word_mask[sentence_mask]
        )  # (n_real, 2Hw), (n_real, words)

        # Back to (batch, sentences, ...) with zeros for padded sentences.
        s_i = sentence_vectors.new_zeros(batch, n_sent, sentence_vectors.shape[-1])
        s_i = s_i.masked_scatter(sentence_mask.unsqueeze(-1), sentence_vectors)  # (B, S, 2Hw)
        a_it = word_weights.new_zeros(batch, n_sent, n_words)
        a_it = a_it.masked_scatter(sentence_mask.unsqueeze(-1), word_weights)  # (B, S, W)

        # Sentence level.
        sentence_states = self.sentence_encoder(s_i, sentence_counts)  # (B, S, 2Hs)
        document, a_i = self.sentence_attention(sentence_states, sentence_mask)  # (B, 2Hs), (B, S)
        logits = self.output(self.dropout(document))  # (batch, classes)
        return HANOutput(
            logits=logits,
            word_attention=a_it,
            sentence_attention=a_i,
            word_mask=word_mask,
            sentence_mask=sentence_mask,
        )

    def forward(self, token_ids: torch.Tensor) -> HANOutput:
        """(batch, sentences, words) right-padded token ids (0 = padding) -> :class:`HANOutput`."""
        if token_ids.dim() != 3:
            raise ValueError(f"token_ids must be (batch, sentences, words), got {token_ids.shape}")
        return self.forward_embedded(self.embed(token_ids), token_ids != 0)

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint) -> HAN:
        """Build the model a verified checkpoint describes and load its weights (eval mode)."""
        return model_from_card(cls, HANConfig, checkpoint, "HAN")


class FlatAttentionGRU(_WordModel):
    """One BiGRU over all of a document's words, then word attention and a softmax layer."""

    def __init__(self, config: FlatAttentionGRUConfig) -> None:
        super().__init__()
        self.config = config
        self._init_embedding()
        self.encoder = BiGRU(config.embed_dim, config.hidden)
        self.attention = AdditiveAttention(2 * config.hidden, config.attention_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(2 * config.hidden, config.num_classes)

    def forward_embedded(
        self, embedded: torch.Tensor, mask: torch.Tensor
    ) -> FlatAttentionGRUOutput:
        """(batch, words, embed_dim) vectors and (batch, words) right-padded bool mask."""
        mask = mask.bool()
        _check_prefix_mask(mask, "words")
        lengths = mask.sum(dim=-1)  # (batch,)
        if bool((lengths == 0).any()):
            raise ValueError("every document needs at least one real word")
        states = self.encoder(self.dropout(embedded), lengths)  # (batch, words, 2H)
        document, weights = self.attention(states, mask)  # (batch, 2H), (batch, words)
        logits = self.output(self.dropout(document))  # (batch, classes)
        return FlatAttentionGRUOutput(logits=logits, attention=weights, mask=mask)

    def forward(self, token_ids: torch.Tensor) -> FlatAttentionGRUOutput:
        """(batch, words) right-padded token ids (0 = padding)."""
        return self.forward_embedded(self.embed(token_ids), token_ids != 0)

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint) -> FlatAttentionGRU:
        return model_from_card(cls, FlatAttentionGRUConfig, checkpoint, "flat attention GRU")


class MeanEmbeddingClassifier(_WordModel):
    """The average of a document's word vectors fed to a linear softmax layer."""

    def __init__(self, config: MeanEmbeddingConfig) -> None:
        super().__init__()
        self.config = config
        self._init_embedding()
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(config.embed_dim, config.num_classes)

    def forward_embedded(self, embedded: torch.Tensor, mask: torch.Tensor) -> MeanEmbeddingOutput:
        """(batch, words, embed_dim) vectors and (batch, words) bool mask of real words."""
        mask = mask.to(embedded.dtype).unsqueeze(-1)  # (batch, words, 1)
        mean = (embedded * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)  # (batch, dim)
        return MeanEmbeddingOutput(logits=self.output(self.dropout(mean)))

    def forward(self, token_ids: torch.Tensor) -> MeanEmbeddingOutput:
        """(batch, words) token ids (0 = padding)."""
        return self.forward_embedded(self.embed(token_ids), token_ids != 0)

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint) -> MeanEmbeddingClassifier:
        return model_from_card(cls, MeanEmbeddingConfig, checkpoint, "mean-embedding")


# Card ``family`` -> model class, for loaders that read any of the three.
FAMILY_CLASSES: dict[str, type[HAN] | type[FlatAttentionGRU] | type[MeanEmbeddingClassifier]] = {
    "han": HAN,
    "flat_gru": FlatAttentionGRU,
    "mean_embedding": MeanEmbeddingClassifier,
}
