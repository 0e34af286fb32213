"""AppTest runs of the DeBERTa and DeBERTaV3 pages on the committed miniature encoders."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
from apptest_helpers import messages, open_page, plotly_specs
from streamlit.testing.v1 import AppTest

from nlpviz.analysis.encoders import encode_text
from nlpviz.checkpoints import checkpoint_root
from nlpviz.data.pretrain import TOKENIZER_FILE, SubwordTokenizer

PAGES = Path(__file__).resolve().parents[1] / "pages"
DEBERTA_PAGE = str(PAGES / "6_DeBERTa.py")
V3_PAGE = str(PAGES / "7_DeBERTaV3.py")
TIMEOUT = 180
TEXT = "The cat sat on the mat because it was tired."
HTML_TEXT = "<script>alert(1)</script> The <b>vote</b> passed."


def decode(array: dict | list) -> np.ndarray:
    """A plotly typed array ({dtype, bdata, shape}) or a plain list, as numpy."""
    if isinstance(array, list):
        return np.asarray(array)
    data = np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
    shape = [int(s) for s in str(array.get("shape", len(data))).split(",")]
    return data.reshape(shape)


def run_page(page: str, query: dict[str, str] | None = None, **inputs: str) -> AppTest:
    """Run ``page`` with URL ``query``; then type each ``key=text`` into its text area."""
    return open_page(page, query, inputs or None, TIMEOUT)


def score_maps(at: AppTest) -> tuple[str, dict]:
    titles = [t for t in plotly_specs(at) if t.startswith("Score terms")]
    assert len(titles) == 1, list(plotly_specs(at))
    return titles[0], plotly_specs(at)[titles[0]]


def all_labels(at: AppTest) -> str:
    return " ".join(
        " ".join(map(str, trace.get(axis) or []))
        for spec in plotly_specs(at).values()
        for trace in spec["data"]
        for axis in ("x", "y", "customdata")
        if isinstance(trace.get(axis), list)
    )


def tokenizer(name: str) -> SubwordTokenizer:
    import json

    card = json.loads((checkpoint_root() / name / "card.json").read_text())
    return SubwordTokenizer.from_file(
        checkpoint_root() / name / TOKENIZER_FILE, card["tokenizer"]["kind"]
    )


# ---- DeBERTa ----------------------------------------------------------------------------


def test_default_view_draws_the_four_maps_and_their_total_is_the_sum():
    at = run_page(DEBERTA_PAGE)
    title, spec = score_maps(at)
    assert title == "Score terms, layer 1, head 1"
    assert [t["name"] for t in spec["data"]] == ["c2c", "c2p", "p2c", "total"]
    c2c, c2p, p2c, total = (decode(t["z"]) for t in spec["data"])
    n = len(spec["data"][0]["x"])
    assert c2c.shape == (n, n) and c2c.dtype == np.float32
    np.testing.assert_allclose(total, c2c + c2p + p2c, rtol=1e-5, atol=1e-6)
    assert not np.allclose(c2p, 0) and not np.allclose(p2c, 0)  # position terms are live
    cmax = spec["layout"]["coloraxis"]["cmax"]
    assert spec["layout"]["coloraxis"]["cmin"] == -cmax
    assert cmax == pytest.approx(max(np.abs(m).max() for m in (c2c, c2p, p2c, total)))
    specs = plotly_specs(at)
    attention = decode(specs["Attention, layer 1, head 1"]["data"][0]["z"])
    np.testing.assert_allclose(attention.sum(axis=1), 1.0, atol=1e-4)
    shares = np.stack(
        [decode(t["z"]) for t in specs["Share of each score term, per head"]["data"]], axis=-1
    )
    np.testing.assert_allclose(shares.sum(axis=-1), 1.0, atol=1e-5)
    buckets = decode(specs["Relative-position buckets δ(i, j)"]["data"][0]["z"])
    assert buckets.shape == (n, n) and (np.diag(buckets) == 0).all()
    assert "Log buckets: distance → bucket" in specs
    # the claims are a wrapping table (a dataframe cut them off at the cell's edge)
    claims = at.table[0].value
    assert "Table 4" in " ".join(str(v) for v in claims["Source"])
    assert not at.dataframe or "Source" not in at.dataframe[0].value
    # the figure titles sit above the panel names and head labels drawn on top
    for name in ("Share of each score term, per head",):
        title = specs[name]["layout"]["title"]
        assert title["yref"] == "container" and title["yanchor"] == "top"
        assert specs[name]["layout"]["margin"]["t"] >= 80  # the title, then the panel names


def test_emd_with_and_without_absolute_positions():
    at = run_page(DEBERTA_PAGE, {"word": "2", "text": TEXT})
    assert at.selectbox(key="deberta_word").value == 1
    emd = plotly_specs(at)["The masked word: with and without absolute positions"]
    with_, without = emd["data"]
    for trace in (with_, without):
        p = decode(trace["x"])
        assert len(p) == 10 and ((p >= 0) & (p <= 1)).all() and (np.diff(p) <= 1e-7).all()
    assert "not a DeBERTa trained without EMD" in messages(at)
    assert "cat" not in " ".join(messages(at).split("The model sees")[1:])[:60]  # masked
    at.selectbox(key="deberta_word").set_value(4).run()
    assert not at.exception
    assert at.query_params["word"] in ("5", ["5"])
    at.text_area(key="deberta_text").input("A new text about the weather today.").run()
    assert at.selectbox(key="deberta_word").value == 5  # "weather": a new text's longest word


def test_url_params_select_the_head_and_bad_ones_do_not_crash():
    at = run_page(DEBERTA_PAGE, {"layer": "3", "head": "2", "text": TEXT})
    assert score_maps(at)[0] == "Score terms, layer 3, head 2"
    assert at.number_input(key="deberta_layer").value == 3
    assert "Attention, layer 3, head 2" in plotly_specs(at)
    at = run_page(DEBERTA_PAGE, {"layer": "99", "head": "abc", "word": "999"})
    n_layers = int(at.number_input(key="deberta_layer").max)
    assert score_maps(at)[0] == f"Score terms, layer {n_layers}, head 1"
    shown = messages(at)
    assert "not a number" in shown and "instead of 99" in shown
    at = run_page(DEBERTA_PAGE, {"layer": "-4", "head": "0"})
    assert score_maps(at)[0] == "Score terms, layer 1, head 1"


def test_empty_html_and_long_texts_get_messages_and_no_exception():
    at = run_page(DEBERTA_PAGE, deberta_text="")
    assert "Type or paste a text" in messages(at) and not plotly_specs(at)
    at = run_page(DEBERTA_PAGE, deberta_text=HTML_TEXT)
    labels = all_labels(at)  # the tokenizer reads "<" as [UNK]; nothing raw gets through
    assert "<script" not in labels and "<b>" not in labels and "[UNK]" in labels
    assert "\\<b\\>vote\\</b\\>" in messages(at)  # the masked text, markdown-escaped
    assert "<script" not in " ".join(str(h.proto.body) for h in at.get("html"))
    at = run_page(DEBERTA_PAGE, deberta_text="A long sentence with many words. " * 40)
    assert "longer than the model's window" in messages(at)
    at.slider(key="deberta_window").set_value(30).run()
    assert not at.exception
    assert score_maps(at)


# ---- DeBERTaV3 --------------------------------------------------------------------------------


def replaced_figure(at: AppTest) -> tuple[dict, dict | None]:
    spec = plotly_specs(at)["P(replaced) for every token"]
    bars = spec["data"][0]
    marks = spec["data"][1] if len(spec["data"]) > 1 else None
    return bars, marks


def test_corrupt_mode_scores_every_token_and_marks_the_replaced_ones():
    at = run_page(V3_PAGE, {"rate": "50", "seed": "3"}, debertav3_text=TEXT)
    assert at.radio(key="debertav3_mode").value == "corrupt"
    assert at.slider(key="debertav3_rate").value == 50
    bars, marks = replaced_figure(at)
    n = len(encode_text(tokenizer("encoder-debertav3"), TEXT, 128).tokens)
    p = decode(bars["y"])
    assert len(bars["x"]) == n and len(p) == n
    assert ((p >= 0) & (p <= 1)).all()
    changes = at.dataframe[0].value
    assert len(changes) >= 1  # half the tokens re-sampled: at least one differs
    assert marks is not None
    assert marks["x"] == [bars["x"][i] for i in changes["position"]]
    assert [c.split(" → ")[0] for c in marks["customdata"]] == list(changes["original"])
    np.testing.assert_allclose(changes["P(replaced)"], p[changes["position"]].round(3), atol=1e-3)
    caught = next(m for m in at.metric if m.label.startswith("replaced tokens caught"))
    assert caught.value.endswith(f"of {len(changes)}")
    assert "Discriminator attention, layer 1, head 1" in plotly_specs(at)
    assert "Gradient-disentangled embedding sharing" in plotly_specs(at)
    shown = messages(at)
    assert "AUC" in shown and "accuracy, because only a few tokens are replaced" in shown


def test_typed_mode_scores_the_users_own_corruption():
    original, typed = "The man saw the dog.", "The man saw the car."
    at = run_page(
        V3_PAGE,
        {"mode": "typed", "layer": "2", "head": "9"},
        debertav3_original=original,
        debertav3_typed=typed,
    )
    bars, marks = replaced_figure(at)
    tok = tokenizer("encoder-debertav3")
    before, after = encode_text(tok, original, 128), encode_text(tok, typed, 128)
    assert len(bars["x"]) == len(after.tokens)
    p = decode(bars["y"])
    assert ((p >= 0) & (p <= 1)).all()
    if len(before.tokens) == len(after.tokens):
        changed = [
            i for i, (a, b) in enumerate(zip(before.tokens, after.tokens, strict=True)) if a != b
        ]
        assert marks["x"] == [bars["x"][i] for i in changed]
    else:
        assert "same number of tokens" in messages(at)
    assert "Discriminator attention, layer 2, head 4" in plotly_specs(at)
    # without an original: scores only
    at.text_area(key="debertav3_original").input("").run()
    assert not at.exception
    bars, marks = replaced_figure(at)
    assert marks is None and len(bars["x"]) == len(after.tokens)


def test_v3_empty_and_html_texts_get_messages_and_escaped_output():
    at = run_page(V3_PAGE, debertav3_text="")
    assert "for the generator to corrupt" in messages(at)
    at = run_page(V3_PAGE, debertav3_text=HTML_TEXT)
    labels = all_labels(at)
    assert "<script" not in labels and "<b>" not in labels and "[UNK]" in labels
    at = run_page(V3_PAGE, {"mode": "typed"}, debertav3_typed="")
    assert "Type a sentence" in messages(at)
    at = run_page(V3_PAGE, {"mode": "typed"}, debertav3_typed=HTML_TEXT, debertav3_original="")
    labels = all_labels(at)
    assert "<script" not in labels and "[UNK]" in labels
    at = run_page(V3_PAGE, {"mode": "nonsense", "rate": "x", "seed": "-5"})
    assert at.radio(key="debertav3_mode").value == "corrupt"
    assert plotly_specs(at)["P(replaced) for every token"]
