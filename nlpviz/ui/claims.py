"""The one way a page shows a paper's claim and our verdict on it (the rule: nlpviz.claims)."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from nlpviz.claims import CANNOT_BE_JUDGED, NOT_REPRODUCED, REPRODUCED, Verdict
from nlpviz.viz.common import escape_markdown

_ICONS = {REPRODUCED: "✅", NOT_REPRODUCED: "❌", CANNOT_BE_JUDGED: "⏳"}


def verdict_markdown(verdict: Verdict) -> str:
    """The verdict as one markdown paragraph; every value in it is escaped first.

    Reads "**claim: reproduced** ...", "**claim: not reproduced** ..." or
    "**claim:** cannot be judged here (why) ...", then our figures, then the paper's.
    """
    claim = escape_markdown(verdict.claim)
    if verdict.outcome == CANNOT_BE_JUDGED:
        text = f"**{claim}:** cannot be judged here"
        if verdict.reason:
            text += f" ({escape_markdown(verdict.reason)})"
        text += "."
    else:
        text = f"**{claim}: {verdict.outcome}**."
        if verdict.reason:
            text += f" {escape_markdown(verdict.reason)}."
    if verdict.ours:
        text += f" Ours: {escape_markdown(verdict.ours.rstrip('.'))}."
    if verdict.paper:
        text += f" Paper: {escape_markdown(verdict.paper.rstrip('.'))}."
    return text


def show_verdict(verdict: Verdict) -> None:
    """A coloured box per outcome: green reproduced, amber not reproduced, blue cannot judge."""
    text = verdict_markdown(verdict)
    icon = _ICONS[verdict.outcome]
    if verdict.outcome == REPRODUCED:
        st.success(text, icon=icon)
    elif verdict.outcome == NOT_REPRODUCED:
        st.warning(text, icon=icon)
    else:
        st.info(text, icon=icon)


def show_verdicts(verdicts: Iterable[Verdict]) -> None:
    for verdict in verdicts:
        show_verdict(verdict)
