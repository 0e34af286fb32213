"""AppTest runs of the sequence-tagger page on the three committed WNUT checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest_helpers import messages, plotly_specs
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
PAGE = str(REPO / "pages" / "3_Tagger.py")
TIMEOUT = 120
EMISSIONS = "Emission scores (tokens x tags)"
LATTICE = "Tag lattice and the best paths"
CONLL = (
    "Barack\tB-person\nObama\tI-person\nvisited\tO\nLondon\tB-geo-loc\ntoday\tO\n\n"
    "I\tO\nlove\tO\nStarbucks\tB-company\n!\tO\n"
)


def run_page(text: str | None = None, **radios) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    if text is not None:
        at.text_area(key="tag_text").input(text)
    for key, value in radios.items():
        at.radio(key=key).set_value(value)
    at.run()
    assert not at.exception, at.exception
    return at


def test_default_view_draws_emissions_transitions_and_lattice():
    at = run_page()
    specs = plotly_specs(at)
    assert EMISSIONS in specs and LATTICE in specs
    transitions = next(s for t, s in specs.items() if t.startswith("Transition scores A"))
    assert "forbidden" in transitions["layout"]["title"]["text"]
    heat = specs[EMISSIONS]["data"][0]
    assert len(heat["y"]) == 21  # O + B-/I- of the 10 WNUT types
    lattice = specs[LATTICE]["data"]
    assert len(lattice) == 1 + 3  # nodes + the 3 best paths (the slider's default)
    assert any("Viterbi path (score" in trace.get("name", "") for trace in lattice)
    assert not at.error
    cards = at.dataframe[-1].value
    assert list(cards["variant"]) == ["BLSTM", "BLSTM-CNN", "BLSTM-CNN-CRF"]
    # the paper's Table 3 row of the same variant stands beside each of ours
    assert list(cards["paper, same variant (CoNLL-2003 NER)"].round(2)) == [87.0, 89.36, 91.21]
    assert "In our miniature" in messages(at)
    assert "In the paper, the character CNN adds 2.36 points" in messages(at)


def test_typing_a_sentence_changes_the_token_labels_and_the_k_slider_adds_paths():
    at = run_page("Obama visited Paris")
    specs = plotly_specs(at)
    ticks = specs[EMISSIONS]["layout"]["xaxis"]["ticktext"]
    assert ticks == ["0·Obama", "1·visited", "2·Paris"]
    at.slider(key="tag_k").set_value(5).run()
    lattice = plotly_specs(at)[LATTICE]["data"]
    assert len(lattice) == 1 + 5
    scores = [
        float(t["name"].split("score ")[1].rstrip(")")) for t in lattice[1:]
    ]  # drawn worst first
    assert scores == sorted(scores)
    side_by_side = at.dataframe[0].value
    assert list(side_by_side["token"]) == ["Obama", "visited", "Paris"]
    assert {"BLSTM", "BLSTM-CNN", "BLSTM-CNN-CRF", "confidence"} <= set(side_by_side.columns)


def test_variants_without_crf_or_chars_explain_what_is_missing():
    at = run_page("Obama visited Paris", tag_variant="blstm")
    text = messages(at)
    assert "has no CRF" in text and "reads no characters" in text
    assert EMISSIONS in plotly_specs(at)


def test_char_table_shows_trigrams_of_the_word():
    at = run_page("Obama visited Paris")
    at.selectbox(key="tag_word").set_value(2).run()
    table = next(d.value for d in at.dataframe if "characters" in d.value.columns)
    assert len(table) == 10
    for window in table["characters"]:
        assert len(window) == 3 and set(window) <= set("Paris·")


def test_conll_upload_gives_entity_f1_and_an_error_table():
    at = run_page()
    at.file_uploader(key="tag_upload").set_value(("gold.conll", CONLL.encode(), "text/plain"))
    at.run()
    assert not at.exception
    labels = {m.label: m.value for m in at.metric}
    assert labels["Entity F1"].endswith("%")
    assert 0.0 <= float(labels["Entity F1"].rstrip("%")) <= 100.0
    assert "on 2 sentences" in messages(at)


def test_plain_text_upload_yields_a_token_table():
    at = run_page()
    data = b"Obama visited Paris.\nI love Starbucks!\n"
    at.file_uploader(key="tag_upload").set_value(("notes.txt", data, "text/plain")).run()
    assert not at.exception
    table = at.dataframe[-2].value  # the last is the cards table
    assert list(table.columns) == ["sentence", "token", "tag"]
    assert list(table["token"][:4]) == ["Obama", "visited", "Paris", "."]
    assert "Tagged 2 sentences" in messages(at)


@pytest.mark.parametrize(
    ("filename", "data", "expected"),
    [
        ("bad.conll", b"Obama\tB-person\nvisited\n", "cannot be read"),
        ("bad.conll", b"Obama\tB-PER\nvisited\tO\n", r"tags this model does not know: B\-PER"),
        ("empty.txt", b"", "empty"),
        ("long.conll", b"word\tO\n" * 200_000, "more than 1,000 tokens"),
    ],
)
def test_bad_uploads_get_a_message(filename, data, expected):
    at = run_page()
    at.file_uploader(key="tag_upload").set_value((filename, data, "text/plain")).run()
    assert not at.exception
    assert expected in messages(at)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Type or paste a sentence"),
        ("   \n\t ", "Type or paste a sentence"),
        ("word " * 400, "up to 100 tokens in all (300 tokens beyond the limit are cut)"),
        ("zzqxv vvqzt qqxzz", "None of these words"),
        ("!?!", "Viterbi"),
        ("Hello", "Viterbi"),
    ],
)
def test_bad_text_gets_a_message_and_no_exception(text, expected):
    at = run_page(text)
    assert expected in messages(at)


def test_html_in_the_text_stays_text():
    at = run_page("<script>alert(1)</script> <b>Obama</b>")
    ticks = plotly_specs(at)[EMISSIONS]["layout"]["xaxis"]["ticktext"]
    assert "<" not in "".join(ticks) and "&lt;" in "".join(ticks)
    for element in at.get("html"):
        assert "<script" not in element.proto.body and "<b>Obama" not in element.proto.body


def test_query_params_seed_the_inputs_and_missing_checkpoints_name_the_command(
    tmp_path, monkeypatch
):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.query_params["text"] = "Paris is nice"
    at.query_params["variant"] = "blstm-cnn"
    at.run()
    assert not at.exception
    assert at.text_area(key="tag_text").value == "Paris is nice"
    assert at.radio(key="tag_variant").value == "blstm-cnn"
    monkeypatch.setenv("NLPVIZ_CHECKPOINTS", str(tmp_path))
    empty = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not empty.exception
    assert "nlpviz train tagger-blstm-cnn-crf-wnut-ner" in " ".join(e.value for e in empty.error)


@pytest.mark.parametrize("task", ["news-ner", "news-pos"])
def test_silver_news_tasks_run_when_their_checkpoints_exist(task):
    from nlpviz.checkpoints import checkpoint_root

    if not (checkpoint_root() / f"tagger-blstm-cnn-crf-{task}").is_dir():
        pytest.skip(f"no committed {task} checkpoint (train it with nlpviz train)")
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    at.selectbox(key="tag_task").set_value(task).run()
    assert not at.exception, at.exception
    at.text_area(key="tag_text").input("The European Union warned Britain on Monday.").run()
    assert not at.exception, at.exception
    shown = [str(e.value) for kind in ("caption", "markdown", "info") for e in getattr(at, kind)]
    assert "silver" in " ".join(shown).lower()
