"""The one parser for numbers that arrive in a link (``?rank=8``, ``?tour=2``, ``?alpha=0.6``).

A link is typed by anyone, so its numbers are read strictly: ASCII digits only (``int()`` also
reads ``'٣'`` and ``str.isdigit()`` says yes to ``'²'``, which ``int()`` then refuses), no NaN, no
infinity, no exponent, a bounded length; a value outside the page's range is clamped. Whenever the
link's value was not used as written, the page gets a note to show, with the value escaped for
markdown (a link may carry ``[text](https://...)`` or ``$...$``).
"""

from __future__ import annotations

import re
from typing import NamedTuple

import streamlit as st

from nlpviz.viz.common import escape_markdown

_INT = re.compile(r"[+-]?[0-9]{1,18}")
_FLOAT = re.compile(r"[+-]?(?:[0-9]{1,18}(?:\.[0-9]{0,12})?|\.[0-9]{1,12})")
SHOWN_CHARS = 40
"""How much of a refused value a note quotes."""


class UrlNumber(NamedTuple):
    """A number read from a link: the value to use, and a note when the link's was not used."""

    value: float
    note: str | None


def quote_value(raw: str) -> str:
    """The link's value as a note quotes it: shortened, and escaped for markdown."""
    text = raw if len(raw) <= SHOWN_CHARS else raw[:SHOWN_CHARS] + "…"
    return f"“{escape_markdown(text)}”"


def _read(raw, pattern: re.Pattern, convert, default, lo, hi, name: str) -> UrlNumber:
    if raw is None:
        return UrlNumber(default, None)
    text = str(raw).strip()
    label = escape_markdown(name)
    if text == "":
        return UrlNumber(default, None)
    if not pattern.fullmatch(text):
        return UrlNumber(
            default,
            f"The link's {label} {quote_value(str(raw))} is not a number; "
            f"showing {label} {default}.",
        )
    value = convert(text)
    clamped = min(max(value, lo), hi)
    if clamped != value:
        return UrlNumber(
            clamped,
            f"The link's {label} {quote_value(text)} is outside {lo} to {hi}; "
            f"showing {label} {clamped} instead of {value}.",
        )
    return UrlNumber(value, None)


def parse_url_int(
    raw: str | None, default: int, lo: int, hi: int, name: str = "value"
) -> UrlNumber:
    """Read a whole number from a link's text, clamped to ``lo..hi``.

    Missing or empty text gives ``default`` without a note; anything but optional sign and ASCII
    digits gives ``default`` with a note; a number outside the range is clamped with a note.
    """
    return _read(raw, _INT, int, default, lo, hi, name)


def parse_url_float(
    raw: str | None, default: float, lo: float, hi: float, name: str = "value"
) -> UrlNumber:
    """Read a decimal number (``0.6``, ``-2``, ``.5``; no NaN, infinity or exponent), clamped."""
    return _read(raw, _FLOAT, float, default, lo, hi, name)


def url_int(param: str, default: int, lo: int, hi: int) -> UrlNumber:
    """``?param=`` of this page's link as a whole number in ``lo..hi`` (see parse_url_int)."""
    return parse_url_int(st.query_params.get(param), default, lo, hi, param)


def url_float(param: str, default: float, lo: float, hi: float) -> UrlNumber:
    """``?param=`` of this page's link as a finite decimal in ``lo..hi`` (see parse_url_float)."""
    return parse_url_float(st.query_params.get(param), default, lo, hi, param)
