"""AppTest runs of the HAN page: documents in, one row per sentence out, bad input handled."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest_helpers import messages, plotly_specs
from streamlit.testing.v1 import AppTest

HAN_PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "2_HAN.py")
TIMEOUT = 180
DOCUMENT = (
    "The minister arrived in Dublin on Monday. She met the prime minister at noon. "
    '"We agreed on most points," she said afterwards. Talks will continue next week.'
)


def run_han(text: str | None = None, **kwargs) -> AppTest:
    at = AppTest.from_file(HAN_PAGE, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    if text is not None:
        at.text_area(key="han_text").input(text)
        at.run()
    assert not at.exception, at.exception
    return at


def test_pasting_a_document_gives_one_row_per_sentence():
    at = run_han(DOCUMENT)
    figure = plotly_specs(at)["Sentence attention"]
    labels = figure["layout"]["yaxis"]["ticktext"]
    assert len(labels) == 4
    assert labels[0].startswith("1. The minister arrived in Dublin")
    assert len(at.get("html")) == 1
    body = at.get("html")[0].proto.body
    assert body.count('title="sentence') == 4
    assert at.metric[0].label == "HAN predicts"


def test_bad_documents_get_messages_and_no_exception():
    assert "Paste a document" in messages(run_han(""))
    at = run_han("no punctuation at all " * 80)
    assert not at.exception and plotly_specs(at)["Sentence attention"]
    at = run_han("a.\n\nb.\n\n\nc")
    assert not at.exception
    huge = "This is one short sentence. " * 5_000
    at = run_han(huge)
    shown = messages(at)
    assert "60,000" in shown and "the first 200" in shown
    at = run_han("<script>alert(1)</script> The <b>vote</b> passed.")
    assert "<script>" not in at.get("html")[0].proto.body
    assert "single sentence" in messages(run_han("Just one sentence here"))


def test_csv_upload_yields_the_batch_table():
    at = run_han()
    data = b'id,text\n1,"First article. It has two sentences."\n2,"Second one."\n3,\n'
    at.file_uploader(key="han_upload").set_value(("docs.csv", data, "text/csv")).run()
    assert not at.exception
    table = at.dataframe[-1].value
    assert len(table) == 2 and "top-attended sentence" in table.columns
    assert table["top-attended sentence"].iloc[1] == "Second one."


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("x.txt", bytes(range(256)) * 4, "looks binary"),
        ("x.csv", b"id,body\n1,hello\n", "no 'text' column"),
        ("latin.txt", "Le ministre a parl\xe9. Puis il est parti.".encode("latin-1"), "not UTF-8"),
    ],
)
def test_bad_uploads_get_a_message(name, data, expected):
    at = run_han()
    at.file_uploader(key="han_upload").set_value((name, data, "text/plain")).run()
    assert not at.exception
    assert expected in messages(at)


def test_switching_task_and_comparing_models():
    at = run_han(DOCUMENT)
    at.selectbox(key="han_task").set_value("drugs").run()
    assert not at.exception
    compare = plotly_specs(at)["Every model on your document"]
    assert compare["data"][0]["y"] == ["HAN", "flat BiGRU + attention", "averaged embeddings"]


def test_attention_and_attribution_are_compared():
    at = run_han(DOCUMENT)
    labels = {m.label: m.value for m in at.metric}
    assert "Spearman ρ (attention, |IG|)" in labels
    figure = plotly_specs(at)
    assert any(title.startswith("Attention vs attribution") for title in figure)
