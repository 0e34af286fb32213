"""AppTest runs of the masked-LM page: four encoders predict a hidden word, masks, bad input.

The assertions hold for any checkpoints of the right format (nearly untrained or fully
trained): they check shapes, sums, escaping and what changes, never a predicted word.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from apptest_helpers import messages, open_page, plotly_specs
from streamlit.testing.v1 import AppTest

from nlpviz.checkpoints import checkpoint_root

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "5_Masked_LM.py")
TIMEOUT = 240
PREDICTIONS = "Top 10 predictions"
DESIGNS = ("encoder-bert", "encoder-roberta", "encoder-deberta", "encoder-debertav3")
LABELS = ["BERT", "RoBERTa", "DeBERTa", "DeBERTaV3 (generator)"]
DEFAULT = "The film was a delight from start to finish, and the actors clearly enjoyed themselves."
LONG = (
    "The committee met on Monday to discuss the budget for next year, and after a long "
    "debate the members agreed to spend more on schools, roads and hospitals while cutting "
    "the money set aside for new offices in the capital."
)


def run_page(text: str | None = None, query: dict[str, str] | None = None) -> AppTest:
    return open_page(PAGE, query, {"mlm_text": text} if text is not None else None, TIMEOUT)


def word_picker(at: AppTest):
    return next(w for w in at.get("button_group") if w.key == "mlm_word")


def bars(at: AppTest) -> dict[str, list[float]]:
    """Model label -> the probabilities of its top-k bars."""
    return {trace["name"]: trace["x"] for trace in plotly_specs(at)[PREDICTIONS]["data"]}


def hidden_word_line(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("Hidden word"))


def test_default_view_shows_four_models_top_10():
    at = run_page()
    found = bars(at)
    assert list(found) == LABELS
    for label, probabilities in found.items():
        assert len(probabilities) == 10, label
        assert all(0 <= p <= 1 for p in probabilities), label
        assert sum(probabilities) <= 1 + 1e-6, label
        assert probabilities == sorted(probabilities, reverse=True), label
    assert "**film**" in hidden_word_line(at)
    assert at.query_params["word"] == "1"
    assert "DeBERTaV3's panel is its small generator" in messages(at)
    # Every model's tokenization is listed, and the comparison tab draws the curves.
    assert len(at.get("html")) >= 2
    assert any(title.startswith("Held-out") for title in plotly_specs(at))
    assert len(at.dataframe[0].value) == 4  # comparison_rows: one row per design
    assert len(at.dataframe[1].value) >= 5  # the papers' claims


def test_choosing_another_word_changes_the_hidden_word_and_the_bars():
    at = run_page()
    before = bars(at)
    word_picker(at).set_value(4).run()  # "delight"
    assert not at.exception, at.exception
    assert "**delight**" in hidden_word_line(at)
    assert at.query_params["word"] == "4"
    after = bars(at)
    assert list(after) == LABELS and after != before
    # The same view from a shared link.
    linked = run_page(query={"text": DEFAULT, "word": "4"})
    assert "**delight**" in hidden_word_line(linked)
    assert bars(linked) == after


def test_a_typed_mask_is_predicted_and_the_word_picker_steps_aside():
    at = run_page("To be, or not to be, that is the [MASK].")
    assert not [w for w in at.get("button_group") if w.key == "mlm_word"]
    assert "mask token" in messages(at)
    found = bars(at)
    assert list(found) == LABELS and all(sum(p) <= 1 + 1e-6 for p in found.values())
    at.text_area(key="mlm_text").input("The [MASK] sat on the [MASK].").run()
    assert not at.exception, at.exception
    first = bars(at)
    at.selectbox(key="mlm_which").set_value(1).run()
    assert not at.exception, at.exception
    assert bars(at) != first


def test_html_is_shown_as_text():
    at = run_page("<script>alert(1)</script> The <b>vote</b> passed.")
    word_picker(at).set_value(0).run()  # hide the <script> word itself
    assert not at.exception, at.exception
    assert "<script>" not in hidden_word_line(at)
    for element in at.get("html"):
        body = element.proto.body
        assert "<script>" not in body and "<b>" not in body
    for spec in plotly_specs(at).values():
        dumped = json.dumps(spec)
        assert "<script>" not in dumped and "<b>vote" not in dumped
    assert list(bars(at)) == LABELS


def test_empty_and_symbol_only_text_get_messages():
    at = run_page("")
    assert "Type or paste a sentence" in messages(at)
    assert PREDICTIONS not in plotly_specs(at)
    assert any(title.startswith("Held-out") for title in plotly_specs(at))  # the rest renders
    at = run_page("!!! ??? 🎉🎉")
    assert "only punctuation or symbols" in messages(at)
    assert PREDICTIONS not in plotly_specs(at)


def test_static_masks_repeat_and_dynamic_masks_change():
    at = run_page(LONG)
    specs = plotly_specs(at)
    static = np.asarray(specs["Static (BERT) masks, BERT's tokenizer"]["data"][0]["z"])
    dynamic = np.asarray(specs["Dynamic (RoBERTa) masks, RoBERTa's tokenizer"]["data"][0]["z"])
    assert static.shape[0] == dynamic.shape[0] == 4
    assert (static == static[0]).all()  # the same masks every epoch
    assert (static[0] > 0).any()
    assert not (dynamic == dynamic[0]).all()  # new masks each epoch
    assert static[:, 0].max() == 0 and static[:, -1].max() == 0  # [CLS], [SEP] never chosen
    at.slider(key="mlm_epochs").set_value(6).run()
    assert not at.exception, at.exception
    z = plotly_specs(at)["Static (BERT) masks, BERT's tokenizer"]["data"][0]["z"]
    assert len(z) == 6


def test_text_longer_than_the_window_uses_a_window():
    long_text = " ".join([LONG] * 6)  # about 250 words, more than 128 pieces
    at = run_page(long_text)
    assert "longer than the models' window" in messages(at)
    picker = at.selectbox(key="mlm_word")  # too many words for pills
    picker.set_value(len(long_text.split()) - 3).run()
    assert not at.exception, at.exception
    assert list(bars(at)) == LABELS  # centred on the hidden word
    at.toggle(key="mlm_window_auto").set_value(False).run()
    assert not at.exception, at.exception
    assert "outside the window" in messages(at)
    at.slider(key="mlm_window").set_value(at.slider(key="mlm_window").max).run()
    assert not at.exception, at.exception
    assert PREDICTIONS in plotly_specs(at)


def test_a_missing_checkpoint_is_reported_and_the_others_still_work(tmp_path, monkeypatch):
    for name in DESIGNS:
        if name != "encoder-deberta":
            (tmp_path / name).symlink_to(checkpoint_root() / name)
    monkeypatch.setenv("NLPVIZ_CHECKPOINTS", str(tmp_path))
    at = run_page()
    shown_errors = " ".join(e.value for e in at.error)
    assert "encoder\\-deberta" in shown_errors or "encoder-deberta" in shown_errors
    assert list(bars(at)) == ["BERT", "RoBERTa", "DeBERTaV3 (generator)"]


def test_integrated_gradients_run_on_demand_and_add_up():
    at = run_page()
    assert not [t for t in plotly_specs(at) if t.startswith("Integrated Gradients")]
    assert "expected to take about" in messages(at)
    at.toggle(key="mlm_ig_run").set_value(True).run()
    assert not at.exception, at.exception
    specs = plotly_specs(at)
    title = next(t for t in specs if t.startswith("Integrated Gradients"))
    scores = np.asarray(specs[title]["data"][0]["y"])
    values = {m.label: float(m.value) for m in at.metric}
    # Completeness: the attributions add up to log P(input) - log P(baseline), up to delta.
    gap = values["log P at the input"] - values["log P at the baseline"]
    assert scores.sum() == pytest.approx(values["sum of attributions"], abs=1e-3)
    assert abs(scores.sum() - gap) <= abs(values["convergence delta"]) + 2e-3
    at.selectbox(key="mlm_ig_model").set_value("roberta").run()
    assert not at.exception, at.exception
    assert at.query_params["model"] == "roberta"
    assert any(t.endswith("(RoBERTa)") for t in plotly_specs(at))


def test_predictions_read_as_words_and_the_explained_word_is_quoted():
    """People see "the", never a piece mark ("Ġthe", "▁the", "##s"), and the caption quotes
    the word it explains ("Explaining “the” (P = 3.8%)", not "Explaining the (P = 3.8%)")."""
    at = run_page()
    labels = [y for trace in plotly_specs(at)[PREDICTIONS]["data"] for y in trace["y"]]
    assert len(labels) == 40
    marked = [y for y in labels if any(mark in y for mark in ("Ġ", "▁", "##"))]
    assert not marked, f"piece marks shown to people: {marked}"
    explaining = next(m.value for m in at.markdown if m.value.startswith("Explaining"))
    assert explaining.startswith("Explaining **“") and "”** (P = " in explaining, explaining
