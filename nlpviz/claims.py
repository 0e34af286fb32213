"""How the app judges a paper's claim on our miniatures: one verdict type and one rule.

A paper's claim that "A beats B" is **reproduced** when our A is ahead of our B by more than
``K_STANDARD_ERRORS`` (2) standard errors of the difference:

    d = A - B  (B - A where lower is better),   reproduced  <=>  d > 2 SE(d).

Otherwise it is **not reproduced**, with one exception: when the cards give no way to compute
SE(d) and d > 0, the claim **cannot be judged** (we cannot tell the gap from noise). A gap of
d <= 0 fails the rule for every SE, so it is "not reproduced" even without one. A claim also
cannot be judged when a figure it needs is missing, or when the two designs were trained under
different budgets (the papers compare at an equal budget).

Why this rule: two standard errors is the usual ~95% bar for a one-sided gap, strict enough that
a handful of test items cannot flip a verdict, and it states the noise in the reader's units
instead of hiding it behind a p-value. Where the SE comes from is fixed by the kind of figure:

* an accuracy on n held-out items: the binomial SE of a difference of two independent
  proportions, ``sqrt(pa (1 - pa) / na + pb (1 - pb) / nb)``. Our designs are scored on the
  same test items, so the true (paired) SE is smaller; without per-item predictions in the
  cards a McNemar-style paired SE is out of reach, so the rule errs towards "not reproduced";
* a mean over seeds: ``sqrt(sa^2 / ka + sb^2 / kb)`` from each side's sample standard deviation
  over its k seeds (both sides are scored on the same test set, so the seeds' spread is the
  noise that separates them); fewer than two seeds on a side gives no SE;
* anything else (BLEU, perplexity, NLL, bits per character, seconds): no SE, unless a card
  records one.

A claim made of several gaps (say "every gated cell beats the tanh RNN") is reproduced when every
gap is, not reproduced when any gap is not, and cannot be judged otherwise. A claim that "A
matches B" (LoRA at a small rank matches full fine-tuning) is the same rule turned round: it is
reproduced when "B beats A" is not, and not reproduced when "B beats A" is.

This module holds numbers and words only; nlpviz.ui.claims renders a verdict on a page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

K_STANDARD_ERRORS = 2.0

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
CANNOT_BE_JUDGED = "cannot be judged"
OUTCOMES = (REPRODUCED, NOT_REPRODUCED, CANNOT_BE_JUDGED)


def binomial_se(p_a: float, n_a: int, p_b: float, n_b: int) -> float:
    """SE of ``p_a - p_b`` for two accuracies (fractions) on ``n_a`` and ``n_b`` held-out items."""
    if n_a < 1 or n_b < 1:
        raise ValueError(f"held-out sizes must be positive, got {n_a} and {n_b}")
    for p in (p_a, p_b):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"an accuracy is a fraction in [0, 1], got {p}")
    return float(np.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b))


def seed_se(std_a: float | None, seeds_a: int, std_b: float | None, seeds_b: int) -> float | None:
    """SE of a difference of two means over seeds, from each side's sample std (None: <2 seeds)."""
    if std_a is None or std_b is None or seeds_a < 2 or seeds_b < 2:
        return None
    return float(math.sqrt(std_a**2 / seeds_a + std_b**2 / seeds_b))


@dataclass(frozen=True)
class Comparison:
    """One gap the rule judges: is ``a`` ahead of ``b`` by more than K standard errors?"""

    a: str  # the design the claim says wins
    b: str
    value_a: float
    value_b: float
    se: float | None  # SE of the difference, in the values' units (None: the cards give none)
    lower_is_better: bool = False
    percent: bool = False  # values are fractions shown as percentages, gaps as points
    digits: int = 2  # decimals shown when not percent

    @property
    def difference(self) -> float:
        """How far ``a`` is ahead of ``b`` (positive: in the claim's direction)."""
        gap = self.value_b - self.value_a if self.lower_is_better else self.value_a - self.value_b
        return round(gap, 9)  # cards round their figures; keep float dust out of ties

    @property
    def margin(self) -> float | None:
        return None if self.se is None else K_STANDARD_ERRORS * self.se

    @property
    def outcome(self) -> str:
        if self.difference <= 0:
            return NOT_REPRODUCED
        if self.margin is None:
            return CANNOT_BE_JUDGED
        return REPRODUCED if self.difference > self.margin else NOT_REPRODUCED

    def _value(self, value: float) -> str:
        return f"{100 * value:.1f}%" if self.percent else f"{value:.{self.digits}f}"

    def _gap(self, value: float) -> str:
        return f"{100 * value:.1f} points" if self.percent else f"{value:.{self.digits}f}"

    def describe(self) -> str:
        """The two figures, the gap in the claim's direction and the bar it had to clear."""
        text = f"{self.a} {self._value(self.value_a)} vs {self.b} {self._value(self.value_b)}"
        sign = "+" if self.difference > 0 else "−" if self.difference < 0 else "±"
        gap = f"{sign}{self._gap(abs(self.difference))}"
        better = " (lower is better)" if self.lower_is_better else ""
        if self.margin is None:
            return f"{text}{better}: gap {gap}, no standard error in the cards"
        return (
            f"{text}{better}: gap {gap}, {K_STANDARD_ERRORS:g} standard errors = "
            f"{self._gap(self.margin)}"
        )


@dataclass(frozen=True)
class Verdict:
    """A paper's claim beside our figures, and what the rule makes of it."""

    claim: str  # as the paper states it
    paper: str  # the paper's figures and their source ("" when the page says them elsewhere)
    ours: str  # our figures in words (the comparisons' descriptions when not given)
    outcome: str  # one of OUTCOMES
    reason: str = ""  # why it cannot be judged, or a note on the outcome
    comparisons: tuple[Comparison, ...] = ()

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {self.outcome!r}")

    @property
    def reproduced(self) -> bool | None:
        """True / False, or None when the claim cannot be judged."""
        return {REPRODUCED: True, NOT_REPRODUCED: False}.get(self.outcome)


def combined_outcome(comparisons: Sequence[Comparison]) -> str:
    outcomes = {c.outcome for c in comparisons}
    if not outcomes:
        return CANNOT_BE_JUDGED
    if NOT_REPRODUCED in outcomes:
        return NOT_REPRODUCED
    return REPRODUCED if outcomes == {REPRODUCED} else CANNOT_BE_JUDGED


def _why_not(note: str, why: str) -> str:
    """Why a claim cannot be judged comes first; a note on the figures follows it."""
    return why if not note else f"{why}; {note[:1].lower()}{note[1:]}"


def judge(
    claim: str,
    comparisons: Sequence[Comparison],
    *,
    paper: str = "",
    ours: str | None = None,
    note: str = "",
    unjudged: str = "the cards give no standard error to tell the gap from noise",
) -> Verdict:
    """The verdict on a claim made of ``comparisons`` (every gap must clear the rule).

    ``note`` says what the figures rest on; ``unjudged`` says why, when no SE settles it.
    """
    comparisons = tuple(comparisons)
    if not comparisons:
        raise ValueError(f"{claim!r}: a verdict needs at least one comparison")
    outcome = combined_outcome(comparisons)
    reason = note
    if outcome == CANNOT_BE_JUDGED:
        reason = _why_not(reason, unjudged)
    text = ours if ours is not None else "; ".join(c.describe() for c in comparisons)
    return Verdict(claim, paper, text, outcome, reason, comparisons)


def matches(
    claim: str, b_beats_a: Comparison, *, paper: str = "", ours: str | None = None, note: str = ""
) -> Verdict:
    """The verdict on "A matches B", given the comparison "B beats A" (which must fail)."""
    flipped = {REPRODUCED: NOT_REPRODUCED, NOT_REPRODUCED: REPRODUCED}
    outcome = flipped.get(b_beats_a.outcome, CANNOT_BE_JUDGED)
    reason = note
    if outcome == CANNOT_BE_JUDGED:
        why = f"{b_beats_a.a} is ahead, and the cards give no standard error to tell by how much"
        reason = _why_not(reason, why)
    text = ours if ours is not None else b_beats_a.describe()
    return Verdict(claim, paper, text, outcome, reason, (b_beats_a,))


def cannot_judge(claim: str, reason: str, *, paper: str = "", ours: str = "") -> Verdict:
    """A claim the cards cannot settle (a figure missing, unequal budgets), and why."""
    return Verdict(claim, paper, ours, CANNOT_BE_JUDGED, reason)
