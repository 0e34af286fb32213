"""Tabs are part of a link: ``?tab=<label>`` opens a page's tab, switching tabs writes it back,
and a tour step opens the tab it talks about."""

from __future__ import annotations

import re

from apptest_helpers import PAGES
from apptest_helpers import open_page as _open_page

from nlpviz.tours import TOURS

KIM = PAGES / "1_Kim_CNN.py"
TIMEOUT = 600  # the Kim page loads four checkpoints: slow on a busy machine
TEXT = "the movie is a masterpiece of quiet grace"


def open_page(page, query=None):
    return _open_page(page, query, None, TIMEOUT)


def _tab_labels(page: str) -> list[str]:
    """The labels a page passes to ``page_tabs`` (read from its source)."""
    source = (PAGES / page).read_text(encoding="utf-8")
    call = re.search(r"page_tabs\(\s*P,\s*\[(.*?)\]", source, re.S)
    assert call, f"{page} has no page_tabs call"
    return re.findall(r'"([^"]+)"', call.group(1))


def test_every_tour_step_names_a_tab_its_page_has():
    named = [(t.page, s.tab) for t in TOURS.values() for s in t.steps if s.tab]
    assert ("1_Kim_CNN.py", "Filter activations") in named  # "the feature maps" of Kim's tour
    for page, tab in named:
        assert tab in _tab_labels(page), (page, tab)


def test_a_link_opens_the_tab_it_names_and_a_switch_writes_it_back():
    at = open_page(KIM, {"tab": "Filter activations", "text": TEXT})
    assert at.session_state["kim_tab"] == "Filter activations"
    assert at.query_params["tab"] in ("Filter activations", ["Filter activations"])
    at = open_page(KIM, {"tab": "No such tab", "text": TEXT})  # a bad value: the first tab
    assert at.session_state["kim_tab"] == "Prediction"
    assert "tab" not in at.query_params  # the default tab leaves the link clean
    at.session_state["kim_tab"] = "Embeddings"  # what a click on the tab does
    at.run()
    assert at.query_params["tab"] in ("Embeddings", ["Embeddings"])


def test_a_tour_step_opens_its_tab():
    at = open_page(KIM)
    at.selectbox(key="global_tour_kim").set_value(1).run()
    assert not at.exception
    assert at.session_state["kim_tab"] == "Filter activations"
    assert at.query_params["tab"] in ("Filter activations", ["Filter activations"])
    at.button(key="global_tour_next").click().run()  # step 2 talks about the attribution bars
    assert at.session_state["kim_tab"] == "Attribution (IG)"
