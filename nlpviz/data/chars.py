"""Characters for the character-level language models (Chung et al. 2014's cells, on text).

* :class:`CharVocab`: the training text's characters seen at least ``min_count`` times; index 0
  stands for every other character (shown as U+FFFD).
* :func:`prepare_text`: a user's text -> ids, with the limits below (used by the app).
* :func:`load_char_corpus`: the cleaned news articles of ``nlpviz.data.documents.load_news``
  (split by article, the same seeded 80/10/10 split) joined into three long strings (training
  time only).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from nlpviz.data.user_input import clean_text

UNKNOWN_CHAR = "\ufffd"
MIN_TEXT_CHARS = 2
"""The gate view needs at least this many characters (one to read, one to predict)."""
MAX_TEXT_CHARS = 2_000
"""Typed or uploaded text is read for its first this-many characters in the gate view."""
ARTICLE_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class CharVocab:
    """Index <-> character; index 0 is every character not in the vocabulary."""

    itos: tuple[str, ...]
    stoi: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.itos or self.itos[0] != UNKNOWN_CHAR:
            raise ValueError(f"a character vocabulary starts with {UNKNOWN_CHAR!r}")
        if any(len(c) != 1 for c in self.itos):
            raise ValueError("every vocabulary entry must be one character")
        object.__setattr__(self, "stoi", {c: i for i, c in enumerate(self.itos)})

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> np.ndarray:
        """(len(text),) int64 ids; unknown characters map to 0."""
        get = self.stoi.get
        return np.fromiter((get(c, 0) for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids) -> str:
        return "".join(self.itos[int(i)] for i in ids)

    @classmethod
    def build(cls, text: str, min_count: int = 20) -> CharVocab:
        counts = Counter(text)
        chars = sorted(c for c, n in counts.items() if n >= min_count and c != UNKNOWN_CHAR)
        return cls(itos=(UNKNOWN_CHAR, *chars))

    def to_json(self) -> list[str]:
        return list(self.itos)

    @classmethod
    def from_json(cls, payload: list[str]) -> CharVocab:
        return cls(itos=tuple(payload))


class TextTooShort(ValueError):
    """The text has fewer than MIN_TEXT_CHARS characters; the message is meant for the user."""


@dataclass(frozen=True)
class PreparedText:
    text: str
    ids: np.ndarray  # (len(text),) int64
    unknown: int  # characters mapped to the unknown entry
    notes: tuple[str, ...] = ()


def prepare_text(text: str | None, vocab: CharVocab, max_chars: int = MAX_TEXT_CHARS):
    """Clean a user's text (control characters, length) and encode it.

    Raises:
        TextTooShort: fewer than :data:`MIN_TEXT_CHARS` characters after cleaning.
    """
    cleaned = clean_text(text, max_chars=max_chars)
    if len(cleaned.text) < MIN_TEXT_CHARS or not cleaned.text.strip():
        raise TextTooShort(
            f"The text has {len(cleaned.text.strip())} character(s); the gate view needs at "
            f"least {MIN_TEXT_CHARS} (the model reads one character and predicts the next)."
        )
    ids = vocab.encode(cleaned.text)
    unknown = int((ids == 0).sum())
    notes = list(cleaned.notes)
    if unknown:
        notes.append(
            f"{unknown} character(s) are not in the model's alphabet of {len(vocab) - 1} "
            f"characters and are read as {UNKNOWN_CHAR}."
        )
    return PreparedText(text=cleaned.text, ids=ids, unknown=unknown, notes=tuple(notes))


@dataclass(frozen=True)
class CharCorpus:
    train: str
    valid: str
    test: str
    provenance: dict


def load_char_corpus(split_seed: int = 13, max_eval_chars: int = 300_000) -> CharCorpus:
    """News articles as three strings (train / valid / test articles, joined by blank lines).

    The valid and test strings are cut to ``max_eval_chars`` (at an article boundary when one
    is near) to keep evaluation quick.
    """
    from nlpviz.data.documents import load_news

    data = load_news(split_seed)

    def join(texts: list[str], limit: int | None) -> str:
        out, size = [], 0
        for text in texts:
            if limit is not None and size >= limit:
                break
            out.append(text)
            size += len(text) + len(ARTICLE_SEPARATOR)
        joined = ARTICLE_SEPARATOR.join(out)
        return joined if limit is None else joined[:limit]

    train = join(data.train.texts, None)
    valid = join(data.dev.texts, max_eval_chars)
    test = join(data.test.texts, max_eval_chars)
    provenance = dict(data.provenance)
    provenance.update(
        use="character-level language modelling: the cleaned article texts, articles joined "
        "by a blank line; the outlet labels are not used",
        chars={"train": len(train), "valid": len(valid), "test": len(test)},
        eval_cut=f"valid and test cut to their first {max_eval_chars:,} characters",
    )
    return CharCorpus(train=train, valid=valid, test=test, provenance=provenance)
