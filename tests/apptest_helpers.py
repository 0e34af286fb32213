"""What every page's AppTest reads back: plotly figure specs and the text of messages."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parents[1] / "pages"


def plotly_specs(at: AppTest) -> dict[str, dict]:
    """Every plotly figure on the page as a dict, keyed by its title."""
    found = {}
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        found[spec["layout"].get("title", {}).get("text", "")] = spec
    return found


def messages(at: AppTest) -> str:
    """The text of every message, caption and markdown block, joined."""
    return " | ".join(
        str(e.value)
        for kind in ("error", "warning", "info", "caption", "markdown", "success")
        for e in getattr(at, kind)
    )


def open_page(
    page: str | Path,
    query: dict[str, str] | None = None,
    texts: dict[str, str] | None = None,
    timeout: float = 180,
) -> AppTest:
    """Run ``page`` as a link with ``query`` opens it, then type each ``{key: text}`` into its
    text area and run again; any exception on the page fails the test."""
    at = AppTest.from_file(str(page), default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    for key, value in (texts or {}).items():
        at.text_area(key=key).input(value)
    if texts:
        at.run()
        assert not at.exception, at.exception
    return at
