"""The waiting line for heavy work, drawn on a page (see ``nlpviz.heavy``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from nlpviz.heavy import DISABLE_ENV, HEAVY_LINE, HeavyLine, heavy_work_disabled
from nlpviz.ui.script_slots import slot_released

POLL_SECONDS = 0.5


def session_owner() -> str:
    """A short, non-identifying name for this browser session (shown to waiting visitors)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return f"session {ctx.session_id[:8]}" if ctx is not None else "a script"


def disabled_note(what: str) -> None:
    st.info(
        f"{what} is turned off on this server by its owner ({DISABLE_ENV}=1), so that forty "
        "visitors sharing it stay fast. Everything else on this page works.",
        icon="🔒",
    )


@contextmanager
def heavy_turn(label: str, line: HeavyLine = HEAVY_LINE) -> Iterator[bool]:
    """Wait in the server's line for heavy work, showing where this visitor stands.

    Yields True once it is this session's turn (the body then runs while holding the slot), or
    False when heavy work is turned off on this server (a note is shown). Leaving the page or
    pressing Stop while waiting gives the place up: Streamlit stops the script at the next
    element update, and ``finally`` leaves the line.
    """
    if heavy_work_disabled():
        disabled_note(label[0].upper() + label[1:])
        yield False
        return
    ticket = line.join(session_owner(), label)
    status = st.empty()
    # Waiting and running take seconds to minutes: the page-run slot goes to other visitors.
    with slot_released():
        try:
            while not line.wait_turn(ticket, POLL_SECONDS):
                ahead = line.position(ticket)
                running = line.running()
                if ahead is None or running is None:
                    break
                status.info(
                    f"Waiting for the server: {ahead} heavy job(s) ahead of yours "
                    f"({running.label} by {running.owner} is running now). Yours, {label}, "
                    "starts by itself when its turn comes.",
                    icon="⏳",
                )
            status.empty()
            yield True
        finally:
            line.leave(ticket)
