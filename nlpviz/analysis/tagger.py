"""Readings of the Ma & Hovy (2016) taggers on user text: emissions, CRF lattice, char CNN.

The CRF scores a tag sequence as ``s(x, y) = sum_i A[y_{i-1}, y_i] + sum_i P[i, y_i]``
(the paper's Section 2.3); see :mod:`nlpviz.models.crf`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from nlpviz.data.documents import split_sentences
from nlpviz.data.tags import IMPOSSIBLE, bio_to_spans
from nlpviz.data.vocab import Vocab
from nlpviz.models.crf import entity_f1
from nlpviz.models.tagger import MAX_WORD_CHARS, Tagger, encode_sentences

MAX_TOKENS = 100
"""Tokens one interactive view tags (the first sentences up to this many; the rest is cut)."""
PAD_CHAR = "·"
"""How a padding character is shown in a character window."""

_TOKEN = re.compile(
    r"https?://\S+"  # URLs stay whole, as in the WNUT tweets
    r"|[@#]\w+"  # @user and #hashtag
    r"|\d+(?:[.,:/]\d+)*"  # numbers: 3.5, 1,000, 12:30, 1/2
    r"|[^\W\d_]+(?:['’][^\W\d_]+)*(?:[-'][^\W\d_]+)*"  # words, with inner apostrophes / hyphens
    r"|\w+"  # anything else word-like (mixed letters and digits)
    r"|[^\w\s]",  # each punctuation mark on its own
    re.UNICODE,
)


def tokenize_cased(text: str) -> list[str]:
    """Split text into CoNLL-like tokens, keeping case (the char CNN reads it).

    >>> tokenize_cased("Apple's CEO met @jack in New York, 3.5 hrs!")
    ["Apple's", 'CEO', 'met', '@jack', 'in', 'New', 'York', ',', '3.5', 'hrs', '!']
    """
    return _TOKEN.findall(text)


@dataclass(frozen=True)
class SentenceTokens:
    """The sentences of a text, tokenized, limited to ``MAX_TOKENS`` tokens in all."""

    sentences: tuple[tuple[str, ...], ...]
    dropped: int  # tokens cut off beyond the limit

    @property
    def num_tokens(self) -> int:
        return sum(len(s) for s in self.sentences)


def split_text(text: str, max_tokens: int = MAX_TOKENS) -> SentenceTokens:
    """The first sentences of ``text`` up to ``max_tokens`` tokens (the last one may be cut)."""
    kept: list[tuple[str, ...]] = []
    room, dropped = max_tokens, 0
    for sentence in split_sentences(text):
        tokens = tokenize_cased(sentence)
        if not tokens:
            continue
        if room <= 0:
            dropped += len(tokens)
            continue
        kept.append(tuple(tokens[:room]))
        dropped += max(0, len(tokens) - room)
        room -= len(kept[-1])
    return SentenceTokens(tuple(kept), dropped)


@dataclass(frozen=True)
class TagReading:
    """One sentence through one tagger."""

    tokens: tuple[str, ...]
    known: tuple[bool, ...]  # word in the model's vocabulary
    tags: tuple[str, ...]  # the model's tag set
    path: tuple[int, ...]  # decoded tag ids (Viterbi with a CRF, per-token argmax without)
    path_score: float
    emissions: np.ndarray  # (L, T) P[i, y]
    marginals: np.ndarray  # (L, T) p(y_i | x): CRF forward-backward, else softmax of emissions
    transitions: np.ndarray | None  # (T, T) A[from, to] with IMPOSSIBLE on forbidden moves
    start: np.ndarray | None  # (T,)
    end: np.ndarray | None  # (T,)
    k_best: tuple[tuple[tuple[int, ...], float], ...]  # CRF only: best paths and scores
    char_activations: np.ndarray | None  # (L, filters, positions)
    char_argmax: np.ndarray | None  # (L, filters) start of the max-pooled window
    char_window: int

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.tags[i] for i in self.path)

    @property
    def confidence(self) -> np.ndarray:
        """(L,) marginal probability of the chosen tag at each position."""
        return self.marginals[np.arange(len(self.path)), list(self.path)]

    @property
    def changed_by_crf(self) -> list[int]:
        return changed_positions(self.emissions, self.path)


@torch.no_grad()
def read_sentence(
    model: Tagger,
    vocab: Vocab,
    chars: Vocab,
    tokens: Sequence[str],
    device: torch.device,
    k: int = 5,
) -> TagReading:
    """Tag one sentence and collect everything the page shows."""
    if not tokens:
        raise ValueError("read_sentence needs at least one token")
    config = model.config
    words, char_ids = encode_sentences(vocab, chars, [tokens], config.char_window)
    out = model(words.to(device), char_ids.to(device))
    n = len(tokens)
    emissions = out.emissions[0, :n].float()  # (L, T)
    transitions = start = end = None
    best: tuple = ()
    if model.crf is not None:
        marg = model.crf.marginals(out.emissions.float(), out.mask)[0, :n]  # (L, T)
        a, s, e = model.crf.effective_transitions()
        transitions, start, end = (x.float().cpu().numpy() for x in (a, s, e))
        best = tuple((tuple(p), float(v)) for p, v in model.crf.k_best(emissions, k))
    else:
        marg = torch.softmax(emissions, dim=-1)
    acts = where = None
    if out.char_activations is not None:
        acts = out.char_activations[0, :n].float().cpu().numpy()
        where = out.char_argmax[0, :n].cpu().numpy()
    ids = words[0, :n].tolist()
    return TagReading(
        tokens=tuple(tokens),
        known=tuple(i != vocab.unk_index for i in ids),
        tags=tuple(config.tags),
        path=tuple(out.paths[0]),
        path_score=float(out.path_scores[0]),
        emissions=emissions.cpu().numpy(),
        marginals=marg.cpu().numpy(),
        transitions=transitions,
        start=start,
        end=end,
        k_best=best,
        char_activations=acts,
        char_argmax=where,
        char_window=config.char_window,
    )


def changed_positions(emissions: np.ndarray, path: Sequence[int]) -> list[int]:
    """Positions whose emission-only argmax differs from the decoded tag (the CRF's doing)."""
    emissions = np.asarray(emissions)
    if emissions.ndim != 2 or emissions.shape[0] != len(path):
        raise ValueError(
            f"emissions have shape {emissions.shape}, expected ({len(path)}, tags) for the path"
        )
    local = emissions.argmax(axis=1)
    return [i for i, (a, b) in enumerate(zip(local, path, strict=True)) if int(a) != int(b)]


@dataclass(frozen=True)
class CharFilter:
    filter: int
    activation: float
    start: int  # window start in the padded word
    trigram: str  # the characters under the window, padding shown as PAD_CHAR


def char_windows(
    word: str,
    activations: np.ndarray,
    argmax: np.ndarray,
    window: int,
    top: int = 8,
) -> list[CharFilter]:
    """The character window each of the strongest filters max-pooled on ``word``.

    ``pad_chars`` puts ``window // 2`` padding characters before the word (and pads after it up to
    the longest word of the sentence), so window start ``s`` covers padded positions
    ``s .. s + window - 1``, i.e. characters ``s - window // 2`` onwards of the word.

    Args:
        word: the token (only its first ``MAX_WORD_CHARS`` characters are read).
        activations: (filters, positions) of this word.
        argmax: (filters,) start of the max-pooled window.
    """
    activations = np.asarray(activations)
    argmax = np.asarray(argmax)
    if activations.ndim != 2 or argmax.shape != (activations.shape[0],):
        raise ValueError(
            f"activations have shape {activations.shape} and argmax {argmax.shape}; expected "
            "(filters, positions) and (filters,)"
        )
    side = window // 2
    chars = list(word[:MAX_WORD_CHARS])
    pooled = activations.max(axis=1)  # (filters,)
    order = np.argsort(-pooled, kind="stable")[:top]
    found = []
    for f in order:
        s = int(argmax[f])
        shown = []
        for p in range(s, s + window):
            c = p - side
            shown.append(chars[c] if 0 <= c < len(chars) else PAD_CHAR)
        found.append(CharFilter(int(f), float(pooled[f]), s, "".join(shown)))
    return found


@torch.no_grad()
def tag_many(
    model: Tagger,
    vocab: Vocab,
    chars: Vocab,
    sentences: Sequence[Sequence[str]],
    device: torch.device,
    batch_size: int = 64,
    progress: Callable[[float], None] | None = None,
) -> list[list[str]]:
    """Decoded tags of many sentences (empty sentences get empty tag lists)."""
    tags = model.config.tags
    result: list[list[str]] = [[] for _ in sentences]
    todo = [i for i, s in enumerate(sentences) if len(s)]
    for start in range(0, len(todo), batch_size):
        rows = todo[start : start + batch_size]
        words, char_ids = encode_sentences(
            vocab, chars, [sentences[i] for i in rows], model.config.char_window
        )
        out = model(words.to(device), char_ids.to(device))
        for i, path in zip(rows, out.paths, strict=True):
            result[i] = [tags[t] for t in path]
        if progress is not None:
            progress(min(1.0, (start + len(rows)) / len(todo)))
    return result


def span_errors(
    tokens: Sequence[Sequence[str]], gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]
) -> list[dict]:
    """One row per entity that is in gold but not predicted (missed) or the other way round."""
    rows = []
    for n, (toks, g, p) in enumerate(zip(tokens, gold, pred, strict=True)):
        gs, ps = set(bio_to_spans(g)), set(bio_to_spans(p))
        for kind, spans in (("missed (gold only)", gs - ps), ("spurious (model only)", ps - gs)):
            for label, a, b in sorted(spans, key=lambda s: s[1]):
                rows.append(
                    {
                        "sentence": n + 1,
                        "error": kind,
                        "type": label,
                        "tokens": " ".join(toks[a:b]),
                        "gold tags": " ".join(g[a:b]),
                        "model tags": " ".join(p[a:b]),
                    }
                )
    return rows


def score_against_gold(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """Entity P/R/F1 and token accuracy."""
    scores = entity_f1([list(g) for g in gold], [list(p) for p in pred])
    pairs = [(a, b) for g, p in zip(gold, pred, strict=True) for a, b in zip(g, p, strict=True)]
    scores["accuracy"] = float(np.mean([a == b for a, b in pairs])) if pairs else 0.0
    return scores


def looks_like_conll(filename: str, text: str) -> bool:
    """A ``.conll`` file, or text whose non-blank lines are mostly two+ columns (tab or space)."""
    if filename.lower().endswith((".conll", ".tsv", ".bio")):
        return True
    lines = [line for line in text.splitlines() if line.strip()][:50]
    if not lines:
        return False
    tabbed = sum("\t" in line for line in lines)
    two = sum(len(line.split()) == 2 for line in lines)
    return tabbed >= 0.8 * len(lines) or two >= 0.8 * len(lines)


PAPER_ABLATION_SOURCE = (
    "Ma & Hovy (2016), Table 3 (test split; WSJ POS accuracy, CoNLL-2003 NER F1)"
)
PAPER_ABLATION = {  # variant -> {"pos": test accuracy, "ner": test entity F1}, as fractions
    "BRNN": {"pos": 0.9676, "ner": 0.8544},
    "BLSTM": {"pos": 0.9693, "ner": 0.8700},
    "BLSTM-CNN": {"pos": 0.9733, "ner": 0.8936},
    "BLSTM-CNN-CRF": {"pos": 0.9755, "ner": 0.9121},  # printed "BRNN-CNN-CRF"; the final model
}


def paper_ablation_summary(kind: str) -> str:
    """What the paper's Table 3 says about characters and the CRF, for ``kind`` (pos or ner)."""
    rows = {v: PAPER_ABLATION[v][kind] for v in ("BLSTM", "BLSTM-CNN", "BLSTM-CNN-CRF")}
    metric = "accuracy" if kind == "pos" else "entity F1"
    chars = 100 * (rows["BLSTM-CNN"] - rows["BLSTM"])
    crf = 100 * (rows["BLSTM-CNN-CRF"] - rows["BLSTM-CNN"])
    return (
        f"In the paper, the character CNN adds {chars:.2f} points of {metric} and the CRF "
        f"{crf:.2f} more ({PAPER_ABLATION_SOURCE})."
    )


def ablation_summary(scores: dict[str, float], metric: str) -> str:
    """Plain words on what the miniature shows: does the char CNN help, does the CRF help?

    Args:
        scores: test metric per variant name ("BLSTM", "BLSTM-CNN", "BLSTM-CNN-CRF").
    """
    parts = []
    pairs = (
        ("BLSTM", "BLSTM-CNN", "the character CNN"),
        ("BLSTM-CNN", "BLSTM-CNN-CRF", "the CRF"),
    )
    for before, after, what in pairs:
        if before in scores and after in scores:
            gap = scores[after] - scores[before]
            if abs(gap) < 0.005:
                verdict = f"adding {what} changes little ({100 * gap:+.1f} points of {metric})"
            elif gap > 0:
                verdict = (
                    f"adding {what} helps: {after} beats {before} by {100 * gap:.1f} points "
                    f"of {metric}"
                )
            else:
                verdict = (
                    f"adding {what} does not help here: {after} trails {before} by "
                    f"{-100 * gap:.1f} points"
                )
            parts.append(verdict)
    if not parts:
        return "Train at least two variants to compare them."
    return "In our miniature, " + "; ".join(parts) + "."


__all__ = [
    "IMPOSSIBLE",
    "PAPER_ABLATION",
    "PAPER_ABLATION_SOURCE",
    "paper_ablation_summary",
    "MAX_TOKENS",
    "CharFilter",
    "SentenceTokens",
    "TagReading",
    "ablation_summary",
    "changed_positions",
    "char_windows",
    "encode_sentences",
    "looks_like_conll",
    "read_sentence",
    "score_against_gold",
    "span_errors",
    "split_text",
    "tag_many",
    "tokenize_cased",
]
