"""A word vocabulary with reserved padding and unknown entries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PAD = "<pad>"
UNK = "<unk>"


@dataclass(frozen=True)
class Vocab:
    """Index <-> word mapping. Index 0 is padding, index 1 the unknown word."""

    itos: tuple[str, ...]
    stoi: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.itos[:2] != (PAD, UNK):
            raise ValueError(f"a vocabulary starts with {PAD!r}, {UNK!r}; got {self.itos[:2]}")
        object.__setattr__(self, "stoi", {word: i for i, word in enumerate(self.itos)})

    @property
    def pad_index(self) -> int:
        return 0

    @property
    def unk_index(self) -> int:
        return 1

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.stoi.get(token, 1) for token in tokens]

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_count: int = 1) -> Vocab:
        """Vocabulary of every token seen at least ``min_count`` times, most frequent first."""
        counts = Counter(token for sentence in sentences for token in sentence)
        words = sorted(
            (w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w)
        )
        return cls(itos=(PAD, UNK, *words))

    def to_json(self) -> list[str]:
        return list(self.itos)

    @classmethod
    def from_json(cls, payload: list[str]) -> Vocab:
        return cls(itos=tuple(payload))
