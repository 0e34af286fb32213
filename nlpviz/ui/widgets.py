"""Shared widgets: text input with examples, file upload, figures with their data, query params.

Every widget key is prefixed with the page's prefix (``kim_text``), and a page's main inputs
round-trip through ``st.query_params`` so a view can be shared as a link.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from nlpviz.checkpoints import Card
from nlpviz.data.user_input import (
    MAX_BATCH_ITEMS,
    MAX_CHARS,
    MAX_UPLOAD_MB,
    CleanText,
    UploadedItems,
    UploadError,
    clean_text,
    read_upload,
)
from nlpviz.ui.sidebar import presentation_mode, refresh_share_link
from nlpviz.ui.url_numbers import url_int
from nlpviz.viz.common import escape_markdown, export_config, presentation_figure

QUERY_TEXT_LIMIT = 1_000
"""Text longer than this is not mirrored into the URL (links would become unwieldy)."""


def init_from_query(key: str, param: str, default, options: Sequence | None = None) -> None:
    """Seed ``st.session_state[key]`` from the URL's ``?param=`` once, else from ``default``."""
    if key in st.session_state:
        return
    value = st.query_params.get(param)
    if value is not None and (options is None or value in options):
        st.session_state[key] = value
    else:
        st.session_state[key] = default


TAB_PARAM = "tab"  # the link parameter naming the open tab (its label), as in tour steps


def page_tabs(prefix: str, labels: Sequence[str]) -> Sequence:
    """``st.tabs`` whose open tab is part of the link: ``?tab=<label>`` opens that tab (a
    shared link, a tour step), and switching tabs writes it back. Returns the tab containers.

    Switching a tab reruns the page (cached results make that cheap); the first tab is the
    default and leaves the parameter out of the link.
    """
    key = f"{prefix}_tab"
    init_from_query(key, TAB_PARAM, labels[0], options=list(labels))
    if st.session_state[key] not in labels:  # a stale label from an older version of the page
        st.session_state[key] = labels[0]
    tabs = st.tabs(list(labels), key=key, on_change="rerun")
    chosen = st.session_state.get(key, labels[0])
    publish_query({TAB_PARAM: "" if chosen == labels[0] else chosen})
    return tabs


def init_index_from_query(key: str, param: str, count: int) -> str | None:
    """Seed a 1-based index widget (layer, head) from ``?param=`` once, clamp it to 1..count.

    Returns a note for the page (markdown-safe) when the link's value was not a whole number or
    out of range.
    """
    note = None
    if key not in st.session_state:
        value, note = url_int(param, 1, 1, max(count, 1))
        st.session_state[key] = value
    value = int(st.session_state[key])
    clamped = min(max(value, 1), count)
    if clamped != value:
        note = f"This model has {count} {param}s; showing {param} {clamped} instead of {value}."
        st.session_state[key] = clamped
    return note


def publish_query(params: dict[str, str]) -> None:
    """Mirror the page's main inputs into the URL (only when they changed)."""
    for param, value in params.items():
        value = "" if value is None else str(value)
        if param == "text" and len(value) > QUERY_TEXT_LIMIT:
            st.caption(
                f"🔗 The link to this view leaves your text out: it has {len(value):,} "
                f"characters, and a link keeps at most {QUERY_TEXT_LIMIT:,}."
            )
            value = ""
        if st.query_params.get(param) != value:
            if value:
                st.query_params[param] = value
            elif param in st.query_params:
                del st.query_params[param]
    refresh_share_link()


def text_input(prefix: str, examples: Sequence[str], label: str = "Your text") -> CleanText:
    """A text box with example presets; returns the cleaned text and notes on what was changed."""
    key = f"{prefix}_text"
    init_from_query(key, "text", examples[0] if examples else "")

    def use_example() -> None:
        choice = st.session_state.get(f"{prefix}_example")
        if choice:
            st.session_state[key] = choice

    st.selectbox(
        "Try an example",
        options=list(examples),
        index=None,
        placeholder="Pick an example sentence…",
        key=f"{prefix}_example",
        on_change=use_example,
    )
    raw = st.text_area(
        label,
        key=key,
        height=100,
        help=f"Type or paste anything. Up to {MAX_CHARS:,} characters are read; a shared link "
        f"keeps the text up to {QUERY_TEXT_LIMIT:,} characters.",
    )
    return clean_text(raw)


def show_notes(notes: Sequence[str]) -> None:
    for note in notes:
        st.info(note, icon="ℹ️")


def file_upload(prefix: str) -> UploadedItems | None:
    """Upload of a ``.txt`` (one item per line) or ``.csv`` (``text`` column); None if none."""
    upload = st.file_uploader(
        f"Upload a .txt file (one text per line) or a .csv file with a 'text' column "
        f"(up to {MAX_UPLOAD_MB} MB, first {MAX_BATCH_ITEMS:,} items)",
        type=["txt", "csv"],
        key=f"{prefix}_upload",
    )
    if upload is None:
        return None
    try:
        from nlpviz.ui.untrusted import read_untrusted

        items = read_untrusted(read_upload, upload.name, upload.getvalue(), errors=(UploadError,))
    except UploadError as error:
        st.error(escape_markdown(str(error)), icon="🚫")  # it may quote the file (CSV columns)
        return None
    show_notes([escape_markdown(note) for note in items.notes])
    return items


def figure_with_data(
    figure: go.Figure,
    data: pd.DataFrame | Callable[[], pd.DataFrame],
    key: str,
    filename: str,
    on_select: Callable[[], None] | None = None,
) -> None:
    """Draw a plotly figure (PNG via its camera button) and offer its numbers as CSV.

    ``data`` may be a function: the table is then built only when the button is clicked.
    ``on_select``: called when a point is clicked (the selection is in
    ``st.session_state[key].selection``), before the rerun.
    """
    shown = presentation_figure(figure) if presentation_mode() else figure
    if on_select is None:
        st.plotly_chart(shown, key=key, config=export_config(filename), width="stretch")
    else:
        st.plotly_chart(
            shown,
            key=key,
            config=export_config(filename),
            width="stretch",
            on_select=on_select,
            selection_mode="points",
        )

    def csv() -> bytes:
        frame = data() if callable(data) else data
        return frame.to_csv(index=False).encode("utf-8")

    st.download_button(
        "Download the numbers (CSV)",
        data=csv if callable(data) else csv(),
        file_name=f"{filename}.csv",
        mime="text/csv",
        key=f"{key}_csv",
    )


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[float], None]]:
    """A progress bar with a time-left estimate; yields the ``progress(fraction)`` callback."""
    bar = st.progress(0.0, text=label)
    start = time.perf_counter()

    def progress(fraction: float) -> None:
        elapsed = time.perf_counter() - start
        remaining = elapsed / fraction - elapsed if fraction > 0 else 0.0
        bar.progress(fraction, text=f"{fraction:.0%} done, about {remaining:.0f} s left")

    try:
        yield progress
    finally:
        bar.empty()


def model_card(label: str, card: Card) -> None:
    """An expander with how a checkpoint was built and the card fields that judge it."""
    run, recipe = card.run, card.recipe
    best = ""
    if "best_epoch" in recipe and "epochs" in recipe:
        best = f" · best epoch {recipe['best_epoch']} of {recipe['epochs']}"
    elif "best_update" in recipe and "updates" in recipe and "update" in (card.history or [{}])[-1]:
        best = (
            f" · best update {recipe['best_update']:,}, stopped at "
            f"{card.history[-1]['update']:,} of at most {recipe['updates']:,}"
        )
    with st.expander(f"{label}: {card.name}"):
        if run is not None:
            st.markdown(
                f"Rebuild with `{run.command}` · trained in {run.wall_time_s:.0f} s on "
                f"{run.device}{best}"
            )
        st.json(
            {
                k: card[k]
                for k in ("metrics", "paper_figure", "paper_table", "recipe", "data", "config")
                if k in card
            },
            expanded=False,
        )
