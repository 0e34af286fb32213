"""Masked-LM page pieces without a model: figures of nlpviz.viz.encoders and the page helpers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nlpviz.analysis.encoders import default_word, mask_window, typed_masks
from nlpviz.viz import encoders as figures

MODELS = ("BERT", "RoBERTa <b>")
TOKENS = (("film", "movie", "<script>"), ("Ġfilm", "Ġstory"))
PROBS = (np.array([0.5, 0.2, 0.1]), np.array([0.7, 0.3]))


def spec(figure) -> dict:
    return json.loads(figure.to_json())


def test_prediction_bars_carry_the_inputs_on_a_fixed_axis():
    figure = spec(figures.prediction_bars(MODELS, TOKENS, PROBS, "Top predictions"))
    assert figure["layout"]["title"]["text"] == "Top predictions"
    bars = figure["data"]
    assert [b["type"] for b in bars] == ["bar", "bar"]
    np.testing.assert_allclose(bars[0]["x"], PROBS[0])
    np.testing.assert_allclose(bars[1]["x"], PROBS[1])
    assert bars[0]["y"] == ["1. film", "2. movie", "3. &lt;script&gt;"]
    assert bars[1]["customdata"] == ["Ġfilm", "Ġstory"]
    assert bars[1]["name"] == "RoBERTa &lt;b&gt;"
    for axis in ("xaxis", "xaxis2"):
        assert figure["layout"][axis]["range"] == [0, 1]
    assert "<script>" not in json.dumps(figure) and "<b>" not in json.dumps(figure)
    frame = figures.prediction_frame(MODELS, TOKENS, PROBS)
    assert list(frame["rank"]) == [1, 2, 3, 1, 2]
    np.testing.assert_allclose(frame["probability"], np.concatenate(PROBS))


def test_prediction_bars_refuse_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(2,\), expected \(3,\)"):
        figures.prediction_bars(["BERT"], [("a", "b", "c")], [np.array([0.5, 0.2])])
    with pytest.raises(ValueError, match="2 models but 1 token lists"):
        figures.prediction_bars(MODELS, TOKENS[:1], PROBS)
    with pytest.raises(ValueError, match="outside 0..1"):
        figures.prediction_bars(["BERT"], [("a",)], [np.array([1.5])])
    with pytest.raises(ValueError, match="no model"):
        figures.prediction_bars([], [], [])


def test_mask_schedule_heatmap_is_categorical_and_labelled():
    tokens = ["[CLS]", "the", "<i>", "film", "[SEP]"]
    codes = np.array([[0, 1, 0, 3, 0], [0, 0, 2, 0, 0]])
    figure = spec(figures.mask_schedule_heatmap(tokens, codes, "Static masks"))
    heat = figure["data"][0]
    assert heat["z"] == codes.tolist()
    assert heat["y"] == ["epoch 1", "epoch 2"]
    assert heat["x"] == ["0·[CLS]", "1·the", "2·&lt;i&gt;", "3·film", "4·[SEP]"]
    assert heat["zmin"] == -0.5 and heat["zmax"] == 3.5
    assert heat["colorbar"]["ticktext"] == list(figures.MASK_CODES)
    assert heat["customdata"][0][1] == "[MASK]" and heat["customdata"][1][2] == "random token"
    frame = figures.schedule_frame(tokens, codes)
    assert len(frame) == 10 and frame["meaning"].iloc[3] == figures.MASK_CODES[3]
    with pytest.raises(ValueError, match=r"\(2, 5\), expected \(None, 4\)"):
        figures.mask_schedule_heatmap(tokens[:4], codes, "x")
    with pytest.raises(ValueError, match="0..3"):
        figures.mask_schedule_heatmap(tokens, codes + 3, "x")


HISTORIES = {
    "BERT": [
        {"step": 10, "wall_s": 5.0, "mlm_accuracy": 10.0, "mlm_loss": 6.0},
        {"step": 20, "wall_s": 10.0, "mlm_accuracy": 20.0, "mlm_loss": 5.0},
    ],
    "DeBERTaV3": [
        {"step": 10, "wall_s": 9.0, "mlm_loss": 6.5, "rtd_accuracy": 80.0},
        {"step": 20, "wall_s": 18.0, "mlm_loss": 5.5, "rtd_accuracy": 85.0},
    ],
}


def test_heldout_curves_plot_the_metric_against_steps_and_wall_time():
    figure = spec(figures.heldout_curves(HISTORIES, "mlm_loss"))
    traces = figure["data"]
    assert len(traces) == 4  # two designs x (steps, wall time)
    by_axis = {(t["name"], t["xaxis"]): t for t in traces}
    assert by_axis[("BERT", "x")]["x"] == [10.0, 20.0]
    assert by_axis[("BERT", "x2")]["x"] == [5.0, 10.0]
    assert by_axis[("DeBERTaV3", "x2")]["y"] == [6.5, 5.5]
    assert [t["showlegend"] for t in traces] == [True, False, True, False]
    assert figure["layout"]["xaxis2"]["title"]["text"] == "wall time (s)"
    # Entries without the metric are skipped; a design without any is left out.
    accuracy = spec(figures.heldout_curves(HISTORIES, "mlm_accuracy"))
    assert {t["name"] for t in accuracy["data"]} == {"BERT"}
    frame = figures.history_frame(HISTORIES)
    assert list(frame.columns[:3]) == ["design", "step", "wall_s"] and len(frame) == 4
    with pytest.raises(ValueError, match="entry 0, lacks wall_s"):
        figures.heldout_curves({"x": [{"step": 1, "mlm_loss": 1.0}]}, "mlm_loss")


def test_attribution_bars_diverge_around_zero():
    tokens = ["[CLS]", "the", "[MASK]", "<b>", "[SEP]"]
    scores = np.array([0.0, 0.4, -0.1, -0.8, 0.0])
    figure = spec(figures.attribution_bars(tokens, scores, "film", position=2))
    bar = figure["data"][0]
    np.testing.assert_allclose(bar["y"], scores)
    assert bar["marker"]["cmin"] == -0.8 and bar["marker"]["cmax"] == 0.8
    assert bar["x"][2] == "<b>2·[MASK]</b>" and bar["x"][3] == "3·&lt;b&gt;"
    assert figure["layout"]["title"]["text"] == "Integrated Gradients toward 'film'"
    with pytest.raises(ValueError, match=r"\(4,\), expected \(5,\)"):
        figures.attribution_bars(tokens, scores[:4], "film")
    with pytest.raises(ValueError, match="position 7"):
        figures.attribution_bars(tokens, scores, "film", position=7)


def test_tokens_html_escapes_and_marks_unknown_pieces():
    html = figures.tokens_html(["<script>", "[UNK]", "ok"], [False, True, False])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count("not in the vocabulary") == 1
    with pytest.raises(ValueError, match="unknown"):
        figures.tokens_html(["a", "b"], [True])


class WordTokenizer:
    """One piece per word; "[MASK]" is id 4, as in the encoders' tokenizers."""

    mask_id = 4

    def encode(self, text: str) -> list[int]:
        return [self.mask_id if w == "[MASK]" else 10 + len(w) for w in text.split()]


def test_typed_masks_and_default_word():
    assert typed_masks("a [MASK] b <mask> c [mask]") == 2
    assert typed_masks("no mask here") == 0
    assert default_word(["The", "film,", "delighted", "me", "wonderful!"]) == 2
    assert default_word(["!!", "🎉"]) == 0 and default_word([]) == 0


def test_mask_window_centres_or_follows_the_start():
    tokenizer = WordTokenizer()
    words = [f"w{i}" for i in range(30)]
    words[20] = "[MASK]"
    text = " ".join(words)
    # max_len 10: 8 pieces per window. Centred: start 20 - 4 = 16, mask at 20 - 16 + 1 = 5.
    assert mask_window(tokenizer, text, 10) == (16, 5)
    assert mask_window(tokenizer, text, 10, window_start=0) == (0, None)  # outside
    assert mask_window(tokenizer, text, 10, window_start=15) == (15, 6)
    assert mask_window(tokenizer, text, 10, window_start=99) == (22, None)  # clamped to the end
    assert mask_window(tokenizer, text, 64) == (0, 21)  # short enough: the whole text
    assert mask_window(tokenizer, "no mask", 10) == (0, None)
    assert mask_window(tokenizer, "[MASK] a [MASK]", 10, occurrence=1) == (0, 3)
