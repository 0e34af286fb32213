"""Streamlit AppTest runs of every page: real inputs in, figure data and messages checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest_helpers import messages, plotly_specs
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
KIM_PAGE = str(REPO / "pages" / "1_Kim_CNN.py")
PAGES = REPO / "pages"
TIMEOUT = 120


def run_kim(text: str | None = None, **widgets) -> AppTest:
    at = AppTest.from_file(KIM_PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    if text is not None:
        at.text_area(key="kim_text").input(text)
    for key, value in widgets.items():
        at.radio(key=key).set_value(value)
    at.run()
    assert not at.exception, at.exception
    return at


def test_landing_page_lists_the_papers_and_the_device():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    text = messages(at)
    assert "Convolutional Neural Networks for Sentence Classification" in text
    assert "Hierarchical Attention Networks" in text and "LoRA" in text
    assert "Computing on:" in text
    assert not any(c.value == "Coming" for c in at.caption)  # every paper has its page


def test_kim_page_default_view_draws_every_figure():
    at = run_kim()
    specs = plotly_specs(at)
    assert {"Every variant on your text", "Learning curves (dev split)"} <= set(specs)
    assert {f"Width-{w} filters x window positions" for w in (3, 4, 5)} <= set(specs)
    bars = specs["Every variant on your text"]["data"]
    assert bars[0]["y"] == ["CNN-rand", "CNN-static", "CNN-non-static", "CNN-multichannel"]
    assert not at.error


def test_typing_text_changes_the_figures_data():
    first = plotly_specs(run_kim("A gorgeous, witty film."))
    second = plotly_specs(run_kim("a dull , tedious mess of a movie"))
    heat = second["Width-3 filters x window positions"]["layout"]["xaxis"]["ticktext"]
    assert heat[:4] == ["0·a", "1·dull", "2·,", "3·tedious"]
    before = first["Every variant on your text"]["data"][0]["x"]
    after = second["Every variant on your text"]["data"][0]["x"]
    assert before != after
    ig = second["Integrated Gradients toward 'rotten'"]
    assert len(ig["data"][0]["customdata"]) == 8


def test_sentiment_is_read_the_right_way_round():
    at = run_kim("a dull , tedious , lifeless mess")
    assert at.metric[0].value == "rotten"
    at = run_kim("a wonderful , moving and beautifully acted film")
    assert at.metric[0].value == "fresh"


def test_switching_variant_and_task():
    at = run_kim("not bad at all", kim_variant="rand")
    assert "CNN-rand predicts" == at.metric[0].label
    at.selectbox(key="kim_task").set_value("subj").run()
    assert not at.exception
    assert at.radio(key="kim_variant").value == "rand"
    assert set(at.metric[0].value.split()) <= {"objective", "subjective"}


def test_query_params_seed_the_inputs():
    at = AppTest.from_file(KIM_PAGE, default_timeout=TIMEOUT)
    at.query_params["text"] = "shared link text"
    at.query_params["variant"] = "static"
    at.run()
    assert not at.exception
    assert at.text_area(key="kim_text").value == "shared link text"
    assert at.radio(key="kim_variant").value == "static"
    at.text_area(key="kim_text").input("new words").run()
    assert at.query_params["text"] == ["new words"] or at.query_params["text"] == "new words"


def test_csv_upload_yields_the_batch_table():
    at = run_kim()
    data = 'id,text\n1,"A triumph, funny and warm."\n2,A tedious bore.\n3,\n4,🙂\n'.encode()
    at.file_uploader(key="kim_upload").set_value(("reviews.csv", data, "text/csv")).run()
    assert not at.exception
    table = at.dataframe[-1].value
    assert list(table["text"]) == ["A triumph, funny and warm.", "A tedious bore.", "🙂"]
    assert {"prediction", "P(rotten)", "P(fresh)"} <= set(table.columns)
    assert table["prediction"].iloc[0] == "fresh" and table["prediction"].iloc[1] == "rotten"
    assert "Classified 3 texts" in " ".join(s.value for s in at.success)


@pytest.mark.parametrize(
    ("filename", "data", "expected"),
    [
        ("image.txt", bytes(range(256)) * 4, "looks binary"),
        ("table.csv", b"id,review\n1,good\n", "no 'text' column"),
        ("empty.txt", b"", "empty"),
        ("latin.txt", "très bon film\nnul\n".encode("cp1252"), "not UTF-8; it was read as"),
    ],
)
def test_bad_uploads_get_a_message(filename, data, expected):
    at = run_kim()
    at.file_uploader(key="kim_upload").set_value((filename, data, "text/plain")).run()
    assert not at.exception
    # messages reach markdown escaped ("UTF\-8"); the reader sees them without the backslashes
    assert expected in messages(at).replace("\\", "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Type or paste a sentence"),
        ("   \n\t  ", "Type or paste a sentence"),
        ("good film " * 10_000, "100,000 characters"),
        ("good film " * 200, "first 256"),
        ("电影 🙂🙂 ñandú", "None of these words"),
        ("zorblax the quuxified film", "zorblax"),
    ],
)
def test_bad_text_gets_a_message_and_no_exception(text, expected):
    at = run_kim(text)
    assert expected in messages(at)


def test_html_in_the_text_stays_text():
    at = run_kim("<script>alert(1)</script> <b>great</b> film")
    specs = plotly_specs(at)
    ticks = specs["Width-3 filters x window positions"]["layout"]["xaxis"]["ticktext"]
    assert "0·&lt;" in ticks and "<" not in "".join(ticks)
    bodies = [element.proto.body for element in at.get("html")]
    assert len(bodies) == 2  # the winning n-grams and the attribution strip
    for body in bodies:
        assert "<script" not in body and "<b>" not in body and "&lt;" in body


def test_missing_checkpoints_give_the_train_command(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPVIZ_CHECKPOINTS", str(tmp_path))
    at = AppTest.from_file(KIM_PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "nlpviz train kim-cnn-multichannel-mr" in " ".join(e.value for e in at.error)


def test_embeddings_tab_compares_frozen_and_tuned_neighbours():
    at = run_kim()
    at.text_input(key="kim_word").input("good").run()
    assert not at.exception
    text = messages(at)
    assert "frozen vectors" in text and "tuned vectors" in text
    at.text_input(key="kim_word").input("qwzxv").run()
    assert "not in this model's vocabulary" in messages(at)


def test_attribution_reports_completeness():
    at = run_kim("a dull , tedious mess")
    labels = {m.label: m.value for m in at.metric}
    assert "convergence delta" in labels
    total = float(labels["sum of attributions"])
    at_input = float(labels["P(rotten | text)"])
    at_base = float(labels["P(… | padding)"])
    assert total == pytest.approx(at_input - at_base, abs=0.02)


def test_navigation_names_the_landing_page_home_and_lists_every_page() -> None:
    """The sidebar's page list starts with "Home" (not "app", after app.py) and shows all
    pages at once (Streamlit's own list folded three of them behind "View 3 more")."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    links = [e.proto for e in at.sidebar if type(e).__name__ == "PageLink"]
    labels = [link.label for link in links]
    pages = sorted(PAGES.glob("*.py"))
    assert labels[0] == "Home" and "app" not in labels
    assert len(labels) == 1 + len(pages), labels
    assert labels[1:4] == ["Kim CNN", "HAN", "Tagger"] and labels[-1] == "Attribution"
    assert [link.page for link in links[1:]] == [label.replace(" ", "_") for label in labels[1:]]


def test_tour_options_are_plain_text_without_markdown_asterisks() -> None:
    from nlpviz.tours import TOURS

    tour = TOURS["4_Attention.py"]
    at = AppTest.from_file(str(PAGES / "4_Attention.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    options = at.sidebar.selectbox(key=f"global_tour_{tour.prefix}").options
    assert any("it finds the animal" in o for o in options), options
    assert not [o for o in options if "*" in o], options


def test_a_filter_that_never_fires_says_so_instead_of_a_hardest_window():
    from nlpviz.ui import kim_cnn as kim

    text = "ok"
    reading = kim.reading(kim.CHECKPOINTS["mr"]["multichannel"], "cpu", text)
    silent = [i for i in range(100) if reading.pooled[i] == 0]  # width-3 filters
    if not silent:
        pytest.skip("every width-3 filter fires on this text")
    at = run_kim(text)
    at.selectbox(key="kim_explore_width").set_value(3)
    at.number_input(key="kim_explore_filter").set_value(silent[0]).run()
    assert not at.exception, at.exception
    shown = messages(at)
    assert "does not fire" in shown and "fires hardest at" not in shown
