"""Guided tours: every step opens its page without error and the page shows what the step says.

The phrases in each step's ``expect`` come from the models nlpviz trained; if a retrained model
no longer shows them, this test fails and the tour must be rewritten.
"""

from __future__ import annotations

import pytest
from apptest_helpers import PAGES, messages
from streamlit.testing.v1 import AppTest

from nlpviz.tours import TOURS

STEPS = [(page, number) for page, tour in TOURS.items() for number in range(len(tour.steps))]


def _shown(at: AppTest) -> str:
    metrics = " | ".join(f"{m.label} {m.value}" for m in at.metric)
    return f"{messages(at)} | {metrics}"


def test_every_tour_is_on_a_real_page_with_three_to_five_steps() -> None:
    assert TOURS, "no tours"
    for page, tour in TOURS.items():
        assert (PAGES / page).exists(), page
        assert 3 <= len(tour.steps) <= 5


@pytest.mark.parametrize(("page", "number"), STEPS)
def test_a_tour_step_shows_what_it_says(page: str, number: int) -> None:
    tour = TOURS[page]
    step = tour.steps[number]
    at = AppTest.from_file(str(PAGES / page), default_timeout=180)
    for key, value in {**step.params, "tour": str(number + 1)}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    shown = _shown(at)
    assert f"step {number + 1} of {len(tour.steps)}" in shown, "the step's banner is missing"
    for phrase in step.expect:
        assert phrase in shown, f"{page} step {number + 1}: {phrase!r} is not on the page"


def test_next_step_sets_the_pages_inputs() -> None:
    page, tour = next(iter(TOURS.items()))
    at = AppTest.from_file(str(PAGES / page), default_timeout=180)
    at.query_params["tour"] = "1"
    for key, value in tour.steps[0].params.items():
        at.query_params[key] = value
    at.run()
    at.button(key="global_tour_next").click().run()
    assert not at.exception
    second = tour.steps[1]
    assert "step 2 of" in _shown(at)
    for key, value in second.params.items():
        assert at.session_state[f"{tour.prefix}_{key}"] == value
    at.sidebar.selectbox(key=f"global_tour_{tour.prefix}").set_value(0).run()
    assert "step 2 of" not in _shown(at)
