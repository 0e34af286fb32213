"""Word tokenization for the classic word-level models (Kim's ``clean_str`` in spirit).

Lower-cases, splits punctuation and clitics the way GloVe's vocabulary does ("n't", "'s"), keeps
runs of letters/digits of any script as words and every other visible character (emoji, symbols)
as a token of its own, so a user always sees each piece of their text accounted for.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
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


def train_bpe(
    sentences: Iterable[str], vocab_size: int, specials: Sequence[str], **options: object
) -> bytes:
    """Train a sentencepiece BPE model on ``sentences``; returns the serialized model.

    ``specials`` holds the pad, unknown, begin and end pieces at ids 0 to 3 (every nlpviz
    tokenizer puts them there); any further specials become user-defined symbols (the masked-LM
    tokenizer's mask). ``options`` are passed to the trainer as they are (coverage,
    normalisation, byte fallback, ...).
    """
    import sentencepiece as spm

    pad, unk, begin, end, *others = specials
    if others:
        options["user_defined_symbols"] = list(others)
    writer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=writer,
        model_type="bpe",
        vocab_size=vocab_size,
        pad_id=0,
        unk_id=1,
        bos_id=2,
        eos_id=3,
        pad_piece=pad,
        unk_piece=unk,
        bos_piece=begin,
        eos_piece=end,
        split_digits=True,
        num_threads=1,
        minloglevel=2,
        **options,
    )
    return writer.getvalue()
