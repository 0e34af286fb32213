"""Sessions typing different texts at the same time each see only their own results.

A real server (``streamlit run``) and real sessions over the browser's websocket protocol: each
visit is its own session, opened at once on the same page with its own text. Every session's
figures must name its own words, none of the others', and be exactly the figures the same text
gives when it is the only visitor. Shared mutable state in a cached model or a cached result (a
hook left on a module, a stashed tensor, a mutated list) would break one of these.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from app_server import running_app
from streamlit_ws import PageVisit, visit_many, visit_page_sync

pytestmark = pytest.mark.server

WORDS = ("doctor", "river", "music", "garden", "winter", "money")  # one token in every vocabulary
PAGES = {
    "Kim_CNN": lambda w: {"text": f"the {w} scene is a gripping and moving delight"},
    "HAN": lambda w: {"text": f"The {w} report came out today. Officials said the {w} was fine."},
    "Attention": lambda w: {"text": f"The {w} smiled at the crowd."},
}


def _figures(visit: PageVisit) -> str:
    """The data of every figure the session drew, as one string."""
    return json.dumps([spec.get("data") for spec in visit.plotly_specs], sort_keys=True)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("isolation") / "server.log") as server:
        yield server


@pytest.mark.parametrize("page", list(PAGES))
def test_concurrent_sessions_see_only_their_own_text(app, page: str) -> None:
    make_query = PAGES[page]
    alone = {}
    for word in WORDS[:3]:  # the reference: one visitor at a time
        visit = visit_page_sync(app.host, app.port, page, make_query(word))
        assert visit.ok, f"{visit.error or visit.exceptions}\n{app.log_tail()}"
        alone[word] = _figures(visit)

    visits = asyncio.run(
        visit_many(app.host, app.port, [(page, make_query(w)) for w in WORDS], timeout=180)
    )
    for word, visit in zip(WORDS, visits, strict=True):
        assert visit.ok, f"{word}: {visit.error or visit.exceptions}\n{app.log_tail()}"
        assert visit.plotly_specs, f"{page} drew no figure for {word}"
        figures = _figures(visit)
        assert word in figures, f"{word}'s own text is not in its figures"
        others = [w for w in WORDS if w != word and w in figures]
        assert not others, f"{word}'s session shows other sessions' words: {others}"
        assert f"{word}" in " ".join(visit.text_areas.values()), visit.text_areas
        if word in alone:
            assert figures == alone[word], f"{word}: figures differ from the same text alone"
