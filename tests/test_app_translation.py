"""AppTest runs of the translation page on the committed translators.

The assertions hold for any checkpoints of the right format (nearly untrained or fully
trained): they check what the figures contain against the cards and the models' own outputs
(sizes, sums, escaping, the causal zeros, links), never a particular Spanish word.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from apptest_helpers import messages, open_page, plotly_specs
from streamlit.testing.v1 import AppTest

from nlpviz.checkpoints import read_card

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "10_Translation.py")
TIMEOUT = 240
NAMES = (
    "translate-lstm",
    "translate-lstm-reversed",
    "translate-lstm-attention",
    "translate-transformer",
)


def decode(array: dict | list) -> np.ndarray:
    """A plotly typed array ({dtype, bdata, shape}) or a plain list, as numpy."""
    if isinstance(array, list):
        return np.asarray(array)
    data = np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
    shape = [int(s) for s in str(array.get("shape", len(data))).split(",")]
    return data.reshape(shape)


def run_page(query: dict[str, str] | None = None, text: str | None = None) -> AppTest:
    return open_page(PAGE, query, {"tr_text": text} if text is not None else None, TIMEOUT)


def test_translate_view_shows_four_models_and_the_cards_numbers():
    at = run_page()
    table = at.table[0].value  # a wrapping table: long translations are not cut
    assert list(table.index) == [
        "LSTM",
        "LSTM, reversed source",
        "LSTM + attention",
        "Transformer",
    ]
    assert all(isinstance(t, str) for t in table["translation"])
    specs = plotly_specs(at)
    bars = next(spec for title, spec in specs.items() if title.startswith("Test BLEU"))
    cards = [read_card(n) for n in NAMES]
    np.testing.assert_allclose(
        decode(bars["data"][0]["y"]), [c["metrics"]["test_bleu"] for c in cards]
    )
    curve = specs["Dev perplexity per training second"]["data"]
    assert [len(decode(trace["x"])) for trace in curve] == [len(c["history"]) for c in cards]
    text = messages(at)
    assert "rule-based machine translation" in text and "apertium" in text
    assert "Reversing the source helps the LSTM a lot" in text
    assert "Positional_Encoding" in text  # the link to the positional-encoding page


def test_beam_tree_view_round_trips_the_link_and_beam_one_is_a_single_path():
    at = run_page({"view": "beam", "model": "translate-lstm", "beam": "3", "alpha": "0"})
    assert at.selectbox(key="tr_model").value == "translate-lstm"
    assert at.select_slider(key="tr_alpha").value == 0.0
    assert at.slider(key="tr_beam").value == 3
    spec = plotly_specs(at)["Beam search tree, beam 3: LSTM"]
    markers = [t for t in spec["data"] if "markers" in t["mode"]]
    statuses = {t["name"] for t in markers}
    assert "chosen translation" in statuses and "pruned" in statuses
    at.slider(key="tr_beam").set_value(1).run()
    assert not at.exception
    spec = plotly_specs(at)["Beam search tree, beam 1: LSTM"]
    markers = [t for t in spec["data"] if "markers" in t["mode"]]
    chosen = next(t for t in markers if t["name"] == "chosen translation")
    # greedy: every node is on the returned path (no pruned candidates)
    assert sum(len(decode(t["x"])) for t in markers) == len(decode(chosen["x"]))
    assert at.query_params["beam"] == "1"


def test_beam_size_from_the_link_is_bounded():
    for raw, expected in (("999", 10), ("0", 1), ("abc", 4)):
        at = run_page({"view": "beam", "beam": raw, "alpha": raw})
        assert at.slider(key="tr_beam").value == expected
        assert at.select_slider(key="tr_alpha").value in (0.0, 0.6, 1.0)


def test_attention_view_link_to_decoder_self_attention_is_causal():
    at = run_page({"view": "attention", "kind": "decoder", "layer": "2", "head": "2"})
    spec = plotly_specs(at)["Transformer decoder attention, layer 2, head 2"]
    z = decode(spec["data"][0]["z"]).astype(float)
    assert z.shape[0] == z.shape[1] and z.shape[0] >= 1
    assert np.all(z[np.triu_indices(z.shape[0], k=1)] == 0.0)
    np.testing.assert_allclose(z.sum(1), 1.0, atol=1e-3)
    lstm = plotly_specs(at)["LSTM attention alignment"]
    np.testing.assert_allclose(decode(lstm["data"][0]["z"]).astype(float).sum(1), 1.0, atol=1e-3)
    at.radio(key="tr_kind").set_value("cross").run()
    cross = plotly_specs(at)["Transformer cross attention, layer 2, head 2"]
    z = decode(cross["data"][0]["z"]).astype(float)
    assert z.shape[1] == len(cross["data"][0]["x"])  # source pieces on the columns
    assert at.query_params["kind"] == "cross"


def test_sentence_space_projects_each_sentence_for_both_lstms():
    at = run_page({"view": "space"})
    spec = plotly_specs(at)["Encoder final states, projected by PCA"]
    assert [len(decode(t["x"])) for t in spec["data"]] == [6, 6]
    lines = spec["data"][0]["customdata"]
    assert lines[1] == "Mary is admired by John."  # the whole sentence on hover
    assert spec["data"][0]["text"][1] == "2. Mary is admired…"  # its first words on the point
    logprobs = plotly_specs(at)["How sure each LSTM is of every piece it writes"]["data"]
    assert all(decode(t["y"]).max() <= 0.0 for t in logprobs)  # log-probabilities
    at.text_area(key="tr_sentences").input("One sentence.\nTwo sentences.").run()
    assert "at least three sentences" in messages(at)


def test_bad_input_gives_messages_not_tracebacks():
    at = run_page(text="")
    assert "Type an English sentence" in messages(at)
    # about 100 pieces: past the 48-piece training range, under the 120-piece cut
    long = " ".join(["The committee met again on Monday to talk about the budget."] * 8)
    at = run_page(text=long)
    assert "longer than the training range" in messages(at)
    at = run_page(text="<script>alert('x')</script> 🙂 naïve café")
    table = at.table[0].value
    assert len(table) == 4
    assert "the English vocabulary never saw" in messages(at)


def test_attention_json_download_has_every_layer_and_head():
    at = run_page({"view": "attention"})
    config = read_card("translate-transformer")["config"]
    button = next(
        b for b in at.get("download_button") if b.proto.label.startswith("Download every")
    )
    assert button is not None
    layers = config["n_decoder_layers"]
    spec = plotly_specs(at)["Transformer cross attention, layer 1, head 1"]
    assert spec["data"][0]["type"] == "heatmap" and layers >= 1
    assert json.loads(json.dumps(spec["layout"]["title"]))["text"].startswith("Transformer")
