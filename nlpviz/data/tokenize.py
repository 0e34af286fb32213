"""Word tokenization for the classic word-level models (Kim's ``clean_str`` in spirit).

Lower-cases, splits punctuation and clitics the way GloVe's vocabulary does ("n't", "'s"), keeps
runs of letters/digits of any script as words and every other visible character (emoji, symbols)
as a token of its own, so a user always sees each piece of their text accounted for.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from nlpviz.data.vocab import Vocab

_TOKEN = re.compile(
    r"n't|'(?:s|re|ve|d|ll|m)\b|[^\W_]+(?:-[^\W_]+)*|[^\w\s]|_",
    re.UNICODE,
)
_NOT = re.compile(r"([^\W_])n't\b", re.UNICODE)


def word_tokenize(text: str) -> list[str]:
    """Split ``text`` into lower-cased word tokens.

    >>> word_tokenize("It isn't <b>bad</b>, it's GREAT!")
    ['it', 'is', "n't", '<', 'b', '>', 'bad', '<', '/', 'b', '>', ',', 'it', "'s", 'great', '!']
    """
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    text = _NOT.sub(r"\1 n't", text)
    return _TOKEN.findall(text)


@dataclass(frozen=True)
class Tokens:
    """A text's words as a word-level model reads them, with their vocabulary ids."""

    tokens: tuple[str, ...]
    ids: tuple[int, ...]
    known: tuple[bool, ...]
    dropped: int  # tokens cut off beyond the limit the caller gave

    @property
    def unknown(self) -> tuple[str, ...]:
        return tuple(t for t, k in zip(self.tokens, self.known, strict=True) if not k)


def vocab_tokens(text: str, vocab: Vocab, max_tokens: int) -> Tokens:
    """The first ``max_tokens`` words of ``text`` (:func:`word_tokenize`) and their ids."""
    tokens = word_tokenize(text)
    dropped = max(0, len(tokens) - max_tokens)
    tokens = tokens[:max_tokens]
    ids = vocab.encode(tokens)
    return Tokens(
        tokens=tuple(tokens),
        ids=tuple(ids),
        known=tuple(i != vocab.unk_index for i in ids),
        dropped=dropped,
    )
