"""Vaswani et al. (2017), Section 3.5: positional encodings, computed on the page (no weights)."""

from __future__ import annotations

from nlpviz.families import Family

FAMILY = Family(
    key="positional",
    papers=("vaswani",),
    pages=("pages/8_Positional_Encoding.py",),
    checkpoints=(),
    loader=None,
)
