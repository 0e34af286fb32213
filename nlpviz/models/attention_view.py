"""What an attention source returns: the view of one text's attention, and the window it read.

Every source (a Hugging Face encoder, nlpviz's own miniature encoders) turns a text into an
:class:`AttentionView`: the tokens and the attention probabilities
``softmax(Q K^T / sqrt(d_k))`` of every layer and head (Vaswani et al. 2017, Eq. 1), one row per
query token. Plain numpy, below the models that fill it and the analysis that reads it
(``nlpviz.analysis.attention``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROW_SUM_TOLERANCE = 1e-3
"""How far an attention row may be from summing to 1 (float32 softmax, fp16 models)."""


class EmptyTextError(ValueError):
    """The text gives the model no token to read (empty, or only characters it drops)."""


@dataclass(frozen=True, eq=False)
class AttentionView:
    """Attention probabilities of every layer and head for one window of one text.

    Attributes:
        model_name: what the page calls the source.
        tokens: display strings of the T tokens read, special ones included ("[CLS]", "##ing").
        special: (T,) bool, True for [CLS]/[SEP]/<s>/</s>/padding.
        attentions: (L, H, T, T) float32; ``attentions[l, h, i, j]`` is how much query token i
            attends to key token j; every row sums to 1.
        truncated: the text has more tokens than the model reads at once, so only a window of it
            is shown.
        n_input_tokens: tokens of the whole text, special tokens included, before truncation.
        window_start: index of the first text token shown (among the text's tokens, specials
            excluded).
        notes: short remarks of the source for the page to show (e.g. unknown tokens).
    """

    model_name: str
    tokens: list[str]
    special: np.ndarray
    attentions: np.ndarray
    truncated: bool
    n_input_tokens: int
    window_start: int
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        attentions = np.asarray(self.attentions)
        if attentions.ndim != 4 or attentions.shape[2] != attentions.shape[3]:
            raise ValueError(f"attentions has shape {attentions.shape}, expected (L, H, T, T)")
        n = len(self.tokens)
        if attentions.shape[2] != n:
            raise ValueError(f"attentions has shape {attentions.shape}, but there are {n} tokens")
        special = np.asarray(self.special, dtype=bool)
        if special.shape != (n,):
            raise ValueError(f"special has shape {special.shape}, expected ({n},)")
        if attentions.dtype != np.float32:
            attentions = attentions.astype(np.float32)
        object.__setattr__(self, "attentions", attentions)
        object.__setattr__(self, "special", special)

    @property
    def n_layers(self) -> int:
        return int(self.attentions.shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.attentions.shape[1])

    @property
    def n_tokens(self) -> int:
        return int(self.attentions.shape[2])

    def head(self, layer: int, head: int) -> np.ndarray:
        """One head's (T, T) map; ``layer`` and ``head`` are 0-based and must exist."""
        if not (0 <= layer < self.n_layers and 0 <= head < self.n_heads):
            raise ValueError(
                f"layer {layer} / head {head} out of range: "
                f"{self.n_layers} layers x {self.n_heads} heads"
            )
        return self.attentions[layer, head]


def check_rows(attentions: np.ndarray, tolerance: float = ROW_SUM_TOLERANCE) -> None:
    """Raise ``ValueError`` unless every attention row is non-negative and sums to 1."""
    attentions = np.asarray(attentions)
    sums = attentions.sum(axis=-1)  # float32 pairwise sums: ~1e-7 off for 512 terms
    worst = float(np.abs(sums - 1.0).max()) if sums.size else 0.0
    if worst > tolerance or (attentions.size and float(attentions.min()) < -tolerance):
        raise ValueError(
            f"attention rows must be probabilities: the worst row sums to 1 {worst:+.2e} off"
        )


@dataclass(frozen=True)
class Window:
    """Which text tokens a model reads when the text is longer than it can take at once.

    ``start``/``stop`` index the text's tokens (special tokens excluded); ``size`` is how many
    text tokens fit next to the special tokens.
    """

    start: int
    stop: int
    n_text_tokens: int
    size: int

    @property
    def truncated(self) -> bool:
        return self.n_text_tokens > self.size

    @property
    def max_start(self) -> int:
        return max(0, self.n_text_tokens - self.size)


def choose_window(n_text_tokens: int, max_tokens: int, n_special: int, start: int = 0) -> Window:
    """The window of text tokens to read: all of them if they fit, else ``size`` from ``start``.

    Args:
        n_text_tokens: tokens of the whole text, without special tokens.
        max_tokens: the most tokens the model reads in one pass, special tokens included.
        n_special: special tokens the tokenizer adds around a text ([CLS] ... [SEP]: 2).
        start: the first text token wanted; clamped to ``[0, n_text_tokens - size]`` so the
            window is always full (start 0 is plain truncation).
    """
    if n_text_tokens < 0 or n_special < 0:
        raise ValueError(f"token counts must be >= 0, got {n_text_tokens} and {n_special}")
    size = max_tokens - n_special
    if size < 1:
        raise ValueError(
            f"max_tokens {max_tokens} leaves no room for text next to {n_special} special tokens"
        )
    if n_text_tokens <= size:
        return Window(0, n_text_tokens, n_text_tokens, size)
    start = min(max(int(start), 0), n_text_tokens - size)
    return Window(start, start + size, n_text_tokens, size)
