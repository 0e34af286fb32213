"""The BIO tag scheme, without torch: a tag's parts, a tag sequence's entity spans, and the score
a CRF gives a move the scheme forbids.

The CRF (``nlpviz.models.crf``), the tagger's readings and its figures share these; they sit
here so that a figure can name forbidden moves and spans without importing a model.
"""

from __future__ import annotations

from collections.abc import Sequence

IMPOSSIBLE = -1e4  # score of a forbidden move; large but finite, so gradients stay finite


def split_tag(tag: str) -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``; anything not ``B-``/``I-`` -> ``("O", "")``."""
    if len(tag) > 2 and tag[1] == "-" and tag[0] in "BI":
        return tag[0], tag[2:]
    return "O", ""


def bio_to_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Entity spans of a BIO tag sequence, chunked as conlleval does.

    ``B-X`` always opens a span; ``I-X`` continues a span of type X and opens a new one after
    ``O`` or after a span of another type; ``O`` (or any tag without a ``B-``/``I-`` prefix)
    closes the open span.

    Args:
        tags: e.g. ``["B-PER", "I-PER", "O", "B-LOC"]``.

    Returns:
        ``[(type, start, end), ...]`` with ``end`` exclusive, in order:
        ``[("PER", 0, 2), ("LOC", 3, 4)]`` for the example.
    """
    spans: list[tuple[str, int, int]] = []
    open_type: str | None = None
    open_start = 0
    for i, tag in enumerate(tags):
        prefix, kind = split_tag(tag)
        continues = prefix == "I" and kind == open_type
        if open_type is not None and not continues:
            spans.append((open_type, open_start, i))
            open_type = None
        if prefix in ("B", "I") and not continues:
            open_type, open_start = kind, i
    if open_type is not None:
        spans.append((open_type, open_start, len(tags)))
    return spans
