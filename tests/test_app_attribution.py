"""AppTest runs of the attribution workbench on the committed checkpoints: the grid's numbers
against the library's, deep links, uploads, the dataset view, bad input, a cancelled run."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from apptest_helpers import messages, open_page, plotly_specs
from streamlit.testing.v1 import AppTest

from nlpviz import attribution as lib
from nlpviz.checkpoints import load_checkpoint
from nlpviz.data.vocab import Vocab
from nlpviz.models.kim_cnn import KimCNN
from nlpviz.ui.attribution import CATALOGUE, DEFAULT_MODELS
from nlpviz.viz.common import CLASS_COLOURS

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "12_Attribution.py")
TIMEOUT = 240
LIGHT = {"models": "kim-cnn-rand-mr", "methods": "saliency,ablation"}


def run_page(text: str | None = None, **params: str) -> AppTest:
    return open_page(PAGE, params, {"attr_text": text} if text is not None else None, TIMEOUT)


def grid_traces(at: AppTest) -> list[dict]:
    return [t for t in plotly_specs(at)["Attribution grid"]["data"] if t["type"] == "heatmap"]


def kim(name: str) -> tuple[KimCNN, Vocab, list[str]]:
    checkpoint = load_checkpoint(name, family="kim_cnn")
    model = KimCNN.from_checkpoint(checkpoint).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    vocab = Vocab.from_json(checkpoint.read_json("vocab.json"))
    return model, vocab, checkpoint.card["class_names"]


def test_default_grid_shows_three_models_by_three_methods_with_the_librarys_numbers():
    at = run_page()
    traces = grid_traces(at)
    assert len(traces) == 3
    for trace in traces:
        assert trace["y"] == ["Integrated Gradients", "Input x Gradient", "Occlusion"]
        z = np.array(trace["z"], dtype=float)
        np.testing.assert_allclose(np.abs(z).sum(axis=1), 1.0, atol=1e-6)  # shares of |score|
    # the Kim CNN row against the library on the same text and options, outside Streamlit
    model, vocab, names = kim("kim-cnn-multichannel-mr")
    text = at.text_area(key="attr_text").value
    embedded = lib.prepare_kim(model, vocab, text, names, torch.device("cpu"))
    target = int(embedded.probabilities().argmax())
    expected = lib.attribute(embedded, "Integrated Gradients", target).scores
    np.testing.assert_allclose(traces[0]["customdata"][0], expected, rtol=1e-4, atol=1e-7)
    assert len(traces[0]["x"]) == len(embedded.tokens)
    # one colour scale for the whole grid
    spec = plotly_specs(at)["Attribution grid"]
    bound = spec["layout"]["coloraxis"]["cmax"]
    assert bound == pytest.approx(max(np.abs(np.array(t["z"])).max() for t in traces))
    # one colour axis per row (the colours of the class it explains), on the grid's one bound;
    # the bar says which end is "against" instead of a bare negative "share of |attribution|"
    axes = [spec["layout"][t["coloraxis"]] for t in traces]
    assert [(a["cmin"], a["cmax"]) for a in axes] == [(-bound, bound)] * 3
    for axis in axes:
        ticks = axis["colorbar"]["ticktext"]
        assert "against" in ticks[0] and "toward" in ticks[-1]
        toward, against = axis["colorscale"][-1][1], axis["colorscale"][0][1]
        assert {toward, against} == set(CLASS_COLOURS[:2])  # binary: the two class colours
    # the Kim CNN row's toward colour is its predicted class's colour on the probability bars
    assert axes[0]["colorscale"][-1][1] == CLASS_COLOURS[target]
    # faithfulness under every cell in plain words beside the jargon; the curves of the first
    # cell start at P(target | text)
    captions = [str(c.value) for c in at.caption if "(AOPC-del)" in str(c.value)]
    assert len(captions) == 9
    assert all("as its top words go" in c and "(comp@" in c and "(suff@" in c for c in captions)
    curves = next(v for k, v in plotly_specs(at).items() if k.startswith("Deletion and"))
    deletion = curves["data"][0]["y"]
    assert deletion[0] == pytest.approx(embedded.probabilities()[target], abs=1e-5)
    agreement = next(v for k, v in plotly_specs(at).items() if k.startswith("Agreement"))
    assert np.diag(np.array(agreement["data"][0]["z"], dtype=float)) == pytest.approx(1.0)
    # the default texts are movie reviews: every default model is a movie-review model
    assert at.query_params["models"] in (
        "kim-cnn-multichannel-mr,kim-cnn-static-mr,lora-r8-s1",
        ["kim-cnn-multichannel-mr,kim-cnn-static-mr,lora-r8-s1"],
    )
    assert all(CATALOGUE[k].task == "sentiment (MR)" for k in DEFAULT_MODELS)


def test_a_deep_link_sets_models_methods_and_options_and_attention_joins_the_agreement():
    at = run_page(
        models="kim-cnn-rand-mr,flat-gru-news",
        methods="saliency,ablation",
        baseline="unk",
        steps="8",
        text="The minister met the president in Moscow.",
    )
    traces = grid_traces(at)
    assert [t["y"] for t in traces] == [["Saliency", "Feature Ablation"]] * 2
    assert np.all(np.array(traces[0]["customdata"][0]) >= 0)  # Saliency is a magnitude
    assert at.selectbox(key="attr_baseline").value == "unk"
    assert at.slider(key="attr_steps").value == 8
    for key, value in (("methods", "saliency,ablation"), ("baseline", "unk"), ("steps", "8")):
        assert at.query_params[key] in (value, [value])  # the view stays shareable
    at.selectbox(key="attr_agree_model").set_value("flat-gru-news").run()
    agreement = next(v for k, v in plotly_specs(at).items() if k.startswith("Agreement"))
    assert agreement["data"][0]["x"] == ["Saliency", "Feature Ablation", "attention"]
    # the Feature Ablation row with the unk baseline is the drop when each word becomes <unk>
    model, vocab, names = kim("kim-cnn-rand-mr")
    embedded = lib.prepare_kim(model, vocab, at.text_area(key="attr_text").value, names, "cpu")
    target = int(embedded.probabilities().argmax())
    with torch.no_grad():
        full = embedded.forward(embedded.inputs)[0, target]
        x = embedded.inputs.clone()
        x[0, 0] = embedded.baselines["unk"][0, 0]
        drop = float(full - embedded.forward(x)[0, target])
    assert traces[0]["customdata"][1][0] == pytest.approx(drop, abs=1e-6)


def test_a_slow_grid_waits_for_the_button_and_stays_after_it(monkeypatch):
    monkeypatch.setenv("NLPVIZ_ATTRIBUTION_AUTORUN_S", "0")
    at = run_page(**LIGHT)
    assert "Attribution grid" not in plotly_specs(at)
    assert "waits for the button" in messages(at)
    at.button(key="attr_run").click().run()
    assert len(grid_traces(at)) == 1
    at.selectbox(key="attr_cell").set_value(at.selectbox(key="attr_cell").options[1]).run()
    assert len(grid_traces(at)) == 1  # another widget's rerun keeps the approved grid
    assert any(k.endswith("Feature Ablation") for k in plotly_specs(at))


def test_bad_text_gets_messages_and_escaped_html():
    at = run_page("", **LIGHT)
    assert "Type or paste a text" in messages(at)
    at = run_page("<script>alert(1)</script> a <b>great</b> film 🎬", **LIGHT)
    bodies = " ".join(h.proto.body for h in at.get("html"))
    assert "<script" not in bodies and "<b>" not in bodies
    assert '<span title="&lt;: ' in bodies and ">&lt;</span>" in bodies
    assert "&lt;" in grid_traces(at)[0]["x"][0]  # plotly labels are escaped too
    at = run_page("great film " * 6_000, **LIGHT)
    shown = messages(at)
    assert "10,000" in shown and f"the limit is {lib.MAX_UNITS} tokens" in shown
    assert len(grid_traces(at)[0]["x"]) == lib.MAX_UNITS
    at = run_page("a dull film", baseline="mask", **LIGHT)  # the Kim CNN has no [MASK]
    assert "no 'mask' token; its cells use the 'pad' baseline" in messages(at)
    at = run_page("qwzx blorf", **LIGHT)  # unknown words: read as <unk>, still a grid
    assert len(grid_traces(at)[0]["x"]) == 2


def test_a_line_from_an_uploaded_file_is_the_text():
    at = run_page(source="file", **LIGHT)
    assert "Attribution grid" not in plotly_specs(at)
    data = b"first line is dull\nthe second line is a wonderful film\nthird\n"
    at.file_uploader(key="attr_upload").set_value(("lines.txt", data, "text/plain")).run()
    at.selectbox(key="attr_line").set_value(1).run()
    assert not at.exception
    labels = grid_traces(at)[0]["x"]
    assert [
        label.split("·", 1)[1] for label in labels
    ] == "the second line is a wonderful film".split()


def test_dataset_view_reads_an_uploaded_csv_and_ranks_words():
    at = run_page("a fine film", **LIGHT)
    at.selectbox(key="attr_ds_model").set_value("kim-cnn-rand-mr")
    at.selectbox(key="attr_ds_method").set_value("Input x Gradient").run()
    rows = ["a wonderful , moving film", "a dull , boring film", "", "wonderful acting"] * 2
    data = ("id,text\n" + "\n".join(f'{i},"{t}"' for i, t in enumerate(rows))).encode()
    at.file_uploader(key="attr_ds_upload").set_value(("reviews.csv", data, "text/csv")).run()
    at.button(key="attr_ds_run").click().run()
    assert not at.exception, at.exception
    assert "6 rows read" in messages(at)  # the upload drops the empty row
    figure = next(v for k, v in plotly_specs(at).items() if k.startswith("Words with the"))
    values = figure["data"][0]["x"]
    assert values == sorted(values, reverse=True)
    # the same loop outside Streamlit gives the same means
    model, vocab, names = kim("kim-cnn-rand-mr")
    result = lib.attribute_dataset(
        lambda t: lib.prepare_kim(model, vocab, t, names, "cpu"), rows, "Input x Gradient", 1
    )
    top = result.top(20, 3)
    assert [f"{w} ({c})" for w, _, c in top] == figure["data"][0]["y"][: len(top)]
    # a binary upload is a message, not a stack trace
    at.file_uploader(key="attr_ds_upload").set_value(("x.csv", bytes(range(256)), "text/csv"))
    at.run()
    assert not at.exception and "binary" in messages(at)


def test_a_cancelled_dataset_run_leaves_the_model_usable():
    from nlpviz.ui import attribution as workbench
    from nlpviz.ui.loaders import require_model

    calls = []

    def stop(fraction: float) -> None:
        calls.append(fraction)
        raise KeyboardInterrupt("Stop pressed")  # Streamlit stops a script from its st calls

    options = lib.AttributionOptions()
    with pytest.raises(KeyboardInterrupt):
        workbench.dataset("kim-cnn-rand-mr", "cpu", ("a film", "a dull film"), "Saliency", 1,
                          options, stop)  # fmt: skip
    lock = require_model("kim-cnn-rand-mr", "cpu").lock
    assert calls == [0.5] and lock.acquire(blocking=False)
    lock.release()
    again = workbench.dataset("kim-cnn-rand-mr", "cpu", ("a film",), "Saliency", 1, options)
    assert again.rows_read == 1
    done = threading.Event()
    with lock:  # another session's attribution holds the model: this one waits, then runs
        worker = threading.Thread(
            target=lambda: (
                workbench.dataset("kim-cnn-rand-mr", "cpu", ("film",), "Saliency", 1, options),
                done.set(),
            )
        )
        worker.start()
        assert not done.wait(0.5)
    worker.join(timeout=60)
    assert done.is_set()


def test_the_tagger_explains_the_tag_of_the_chosen_token():
    at = run_page(
        "Taylor Swift played in New York",
        models="tagger-blstm-cnn-crf-news-ner",
        methods="ixg,ablation",
    )
    at.selectbox(key="attr_position").set_value(5).run()
    assert not at.exception, at.exception
    assert "explains the tag of token 6 (York)" in messages(at)
    trace = grid_traces(at)[0]
    assert len(trace["x"]) == 6 and trace["y"] == ["Input x Gradient", "Feature Ablation"]
