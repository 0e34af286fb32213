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
