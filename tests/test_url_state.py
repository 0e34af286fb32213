"""Every page's state round-trips through its URL: a shared link opens the same view.

For each page, a link with non-default values for the page's main inputs must (1) set the
widgets to those values and (2) come back out of the page unchanged in its own URL (what the
"Share this view" box and the browser's address bar show). A third check opens the page from its
own published link and expects the same widgets again.
"""

from __future__ import annotations

import pytest
from apptest_helpers import PAGES
from streamlit.testing.v1 import AppTest

TIMEOUT = 180

# page -> (widget key prefix, link parameters, {param: widget key} where not "<prefix>_<param>")
CASES: dict[str, tuple[str, dict[str, str], dict[str, str | None]]] = {
    "1_Kim_CNN.py": ("kim", {"task": "subj", "variant": "rand", "text": "a quiet honest film"}, {}),
    "2_HAN.py": (
        "han",
        {"task": "drugs", "text": "The pills worked well. No side effects at all."},
        {},
    ),
    "3_Tagger.py": (
        "tag",
        {"task": "news-pos", "variant": "blstm", "text": "The old man saw the boat in Paris ."},
        {},
    ),
    "4_Attention.py": ("attn", {"layer": "3", "head": "5", "text": "The river ran fast."}, {}),
    "5_Masked_LM.py": (
        "mlm",
        {"text": "The soup was hot and the bread was fresh.", "word": "3", "model": "roberta"},
        {"model": "mlm_ig_model", "word": None},
    ),
    "6_DeBERTa.py": (
        "deberta",
        {"text": "The cat sat near the door.", "layer": "2", "head": "3", "word": "2"},
        {"word": None},
    ),
    "7_DeBERTaV3.py": (
        "debertav3",
        {
            "mode": "corrupt",
            "text": "The chef cooked a fine meal for the guests.",
            "rate": "30",
            "seed": "4",
            "layer": "2",
            "head": "2",
        },
        {},
    ),
    "8_Positional_Encoding.py": (
        "pe",
        {"n": "64", "d": "32", "pos": "5", "k": "3", "text": "a b c d"},
        {},
    ),
    "10_Translation.py": (
        "tr",
        {
            "view": "beam",
            "model": "translate-lstm-attention",
            "beam": "3",
            "alpha": "0.6",
            "text": "She gave the old man a book.",
        },
        {},
    ),
    "11_Gated_RNN.py": (
        "grnn",
        {
            "view": "text",
            "cell": "gru",
            "gate": "update",
            "order": "change",
            "unit": "7",
            "text": "The minister said yes.",
        },
        {"cell": "grnn_tcell", "gate": "grnn_gate_gru"},
    ),
    "12_Attribution.py": (
        "attr",
        {
            "text": "a dull film",
            "models": "kim-cnn-rand-mr,han-news",
            "methods": "ig,ixg",
            "baseline": "zero",
            "steps": "12",
        },
        {"models": None, "methods": None},
    ),
    "9_LoRA.py": (
        "lora",
        {"rank": "64", "seed": "2", "layer": "3", "matrix": "value", "text": "a dull film"},
        {},
    ),
}


def _run(page: str, params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(PAGES / page), default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def _published(at: AppTest) -> dict[str, str]:
    found = {}
    for key in at.query_params:
        value = at.query_params[key]
        found[key] = value[0] if isinstance(value, list) else value
    return found


def _same(widget_value, param: str) -> bool:
    if isinstance(widget_value, bool):
        return str(widget_value).lower() == param.lower()
    if isinstance(widget_value, int | float):
        return float(widget_value) == float(param)
    return str(widget_value) == param


@pytest.mark.parametrize("page", list(CASES))
def test_a_shared_link_sets_the_widgets_and_comes_back_unchanged(page: str) -> None:
    prefix, params, keys = CASES[page]
    at = _run(page, params)
    assert not at.exception, at.exception
    for param, value in params.items():
        key = keys.get(param, f"{prefix}_{param}")
        if key is not None:
            assert _same(at.session_state[key], value), (
                f"?{param}={value} set {key} to {at.session_state[key]!r}"
            )
    published = _published(at)
    for param, value in params.items():
        assert published.get(param) == value, f"the page's URL has {param}={published.get(param)}"

    again = _run(page, published)  # the page's own link, opened in a new session
    assert not again.exception, again.exception
    assert _published(again) == published
    for param in params:
        key = keys.get(param, f"{prefix}_{param}")
        if key is not None:
            assert again.session_state[key] == at.session_state[key]


def test_every_page_has_a_round_trip_case() -> None:
    pages = {p.name for p in PAGES.glob("*.py")}
    assert pages == set(CASES), f"pages without a URL case: {sorted(pages - set(CASES))}"


def test_presentation_mode_from_a_link_shows_the_key_idea_and_stays_in_the_link() -> None:
    at = _run("1_Kim_CNN.py", {"present": "1", "text": "a quiet honest film"})
    assert not at.exception
    assert at.session_state["global_present"] is True
    assert any("max-pooling keeps each filter's best" in i.value for i in at.info)
    assert _published(at).get("present") == "1"
    shared = [c.value for c in at.sidebar.code]
    assert shared and "present=1" in shared[-1] and "text=a+quiet+honest+film" in shared[-1]

    at.sidebar.toggle(key="global_present").set_value(False).run()
    assert "present" not in _published(at)
    assert not any("max-pooling keeps" in i.value for i in at.info)
    assert "present=1" not in at.sidebar.code[-1].value


def test_presentation_figures_are_larger_and_the_cached_figure_is_untouched() -> None:
    import plotly.graph_objects as go

    from nlpviz.viz.common import presentation_figure

    figure = go.Figure(go.Bar(x=[1, 2], y=[3, 4]), layout={"height": 400, "font": {"size": 13}})
    spec = presentation_figure(figure)
    assert spec["layout"]["font"]["size"] >= 18 and spec["layout"]["height"] == 500
    assert figure.layout.font.size == 13 and figure.layout.height == 400
