"""A count model of the cloze probe: what word counts in the pretraining corpus alone predict.

The yardstick for the masked LMs' cloze scores: if a model that only counts which words follow
the two words before the gap (and which word follows the gap's word) finds the hidden word far
more often than a trained encoder, the corpus holds what the probe asks and the encoder has not
learnt it. Scoring is Brants et al.'s (2007) "stupid backoff" on the left context (trigram, then
bigram with weight 0.4, then unigram with 0.16), times the chance of the word right after the gap
given the candidate (bigram, else 0.4 times its unigram share). Words are lower-case letter
runs, as the probe's answers are.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

WORD = re.compile(r"[a-z']+")
BACKOFF = 0.4


def words_of(text: str) -> list[str]:
    return WORD.findall(text.lower())


@dataclass(frozen=True)
class CountModel:
    unigrams: Counter
    bigrams: Counter
    trigrams: Counter
    total: int
    candidates: tuple[str, ...]  # words seen at least ``min_count`` times

    @classmethod
    def from_sentences(cls, sentences: Iterable[str], min_count: int = 2) -> CountModel:
        """Counts within sentences (no n-gram crosses a sentence boundary)."""
        unigrams, bigrams, trigrams = Counter(), Counter(), Counter()
        for sentence in sentences:
            words = words_of(sentence)
            unigrams.update(words)
            bigrams.update(zip(words, words[1:], strict=False))
            trigrams.update(zip(words, words[1:], words[2:], strict=False))
        candidates = tuple(sorted(w for w, c in unigrams.items() if c >= min_count))
        return cls(unigrams, bigrams, trigrams, sum(unigrams.values()), candidates)

    def left_score(self, before: list[str], word: str) -> float:
        """Stupid-backoff score of ``word`` after the words ``before`` (the last two count)."""
        if len(before) >= 2 and (seen := self.trigrams[(before[-2], before[-1], word)]):
            return seen / self.bigrams[(before[-2], before[-1])]
        if before and (seen := self.bigrams[(before[-1], word)]):
            return BACKOFF * seen / self.unigrams[before[-1]]
        return BACKOFF * BACKOFF * self.unigrams[word] / self.total

    def right_score(self, word: str, after: list[str]) -> float:
        """How likely the word after the gap is to follow ``word``."""
        if not after:
            return 1.0
        if seen := self.bigrams[(word, after[0])]:
            return seen / self.unigrams[word]
        return BACKOFF * max(self.unigrams[after[0]], 1) / self.total

    def top_k(self, sentence: str, k: int = 5, mask: str = "[MASK]") -> list[str]:
        """The ``k`` candidates with the highest score for the gap in ``sentence``."""
        left, right = sentence.split(mask)
        before, after = words_of(left), words_of(right)

        def cost(word: str) -> float:
            return -math.log(self.left_score(before, word)) - math.log(
                self.right_score(word, after)
            )

        return sorted(self.candidates, key=lambda w: (cost(w), w))[:k]


def count_cloze_scores(model: CountModel, items) -> dict:
    """Top-1 / top-5 hits (in %) of the count model on the cloze items."""
    hits1 = hits5 = 0
    rows = []
    for item in items:
        top5 = model.top_k(item.sentence, 5)
        hits1 += top5[0] == item.answer
        hits5 += item.answer in top5
        rows.append({"sentence": item.sentence, "answer": item.answer, "top5": top5})
    n = len(rows)
    return {
        "sentences": n,
        "top1_accuracy": round(100 * hits1 / n, 1),
        "top5_accuracy": round(100 * hits5 / n, 1),
        "predictions": rows,
    }
