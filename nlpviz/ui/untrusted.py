"""Reading a visitor's upload on a page: in a worker process, outside the page-run slot, once.

The readers (``nlpviz.data.chorales.read_music_upload``, ``nlpviz.data.conll.read_conll_upload``,
``nlpviz.data.user_input.read_upload``) run their parser in a child process with hard limits
(:mod:`nlpviz.sandbox`). This module is the page's side of that:

* the wait gives the page-run slot to other visitors
  (:func:`~nlpviz.ui.script_slots.slot_released`): a hostile file costs its sender the
  wall-clock limit, never everyone else;
* a line "Reading your file... 3 s (stopped at 20 s)" is redrawn while waiting. Redrawing is also
  where Streamlit stops a script whose visitor left, reran or pressed Stop; the reader's
  ``finally`` then kills the worker;
* the outcome, result or refusal, is kept for the same bytes (a small LRU shared by the
  server's sessions, keyed by the SHA-256 of the bytes, so only the same file gets it back):
  every rerun of the page while the file stays uploaded would otherwise read it again, and a
  refused file would cost its time limit on every click.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from nlpviz.ui.script_slots import slot_released

T = TypeVar("T")
MAX_ENTRIES = 32
MAX_KEPT_BYTES = 64 * 1024 * 1024
"""Outcomes are kept for uploads of at most this many bytes in all (a result is about as large
as its upload: a 5 MB CSV file gives at most 20 MB of text items)."""
_outcomes: OrderedDict[tuple, tuple[bool, Any, int]] = OrderedDict()
_lock = threading.Lock()


def _key(reader: Callable, args: tuple) -> tuple:
    parts: list[Any] = [reader.__module__, reader.__qualname__]
    for arg in args:
        if isinstance(arg, bytes | str) and len(arg) > 256:
            data = arg.encode("utf-8", "surrogatepass") if isinstance(arg, str) else arg
            parts.append((type(arg).__name__, hashlib.sha256(data).hexdigest()))
        else:
            parts.append(arg)
    return tuple(parts)


def read_untrusted(
    reader: Callable[..., T],
    *args: Any,
    label: str = "your file",
    errors: tuple[type[Exception], ...] = (ValueError,),
) -> T:
    """``reader(*args, poll=...)`` with the slot released and a waiting line; cached by content.

    Raises:
        Exception: the reader's own user-facing error (one of ``errors``), also when it is
            served from the cache.
    """
    key = _key(reader, args)
    with _lock:
        if key in _outcomes:
            _outcomes.move_to_end(key)
            ok, value, _ = _outcomes[key]
            if ok:
                return value
            raise value
    status = st.empty()

    def poll(elapsed: float) -> None:
        if elapsed >= 0.5:
            status.caption(f"⏳ Reading {label}… {elapsed:.0f} s")

    try:
        with slot_released():
            try:
                value = reader(*args, poll=poll)
            except errors as error:
                _remember(key, False, error, 0)
                raise
        _remember(key, True, value, sum(len(a) for a in args if isinstance(a, bytes | str)))
        return value
    finally:
        status.empty()


def _remember(key: tuple, ok: bool, value: Any, size: int) -> None:
    with _lock:
        _outcomes[key] = (ok, value, size)
        _outcomes.move_to_end(key)
        while len(_outcomes) > MAX_ENTRIES or (
            len(_outcomes) > 1 and sum(entry[2] for entry in _outcomes.values()) > MAX_KEPT_BYTES
        ):
            _outcomes.popitem(last=False)


def clear() -> None:
    """Forget every kept outcome (tests)."""
    with _lock:
        _outcomes.clear()
