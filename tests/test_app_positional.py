"""AppTest runs of the positional-encoding page: controls change the data, bad links are safe."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
from apptest_helpers import messages, plotly_specs
from streamlit.testing.v1 import AppTest

from nlpviz.models.positional import sinusoidal_table

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "8_Positional_Encoding.py")
TIMEOUT = 120
TABLE = "PE table: {n} positions x {d} dimensions"


def run_page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    for param, value in (query or {}).items():
        at.query_params[param] = value
    at.run()
    assert not at.exception, at.exception
    return at


def array(value) -> np.ndarray:
    """A plotly spec's array: a plain list, or plotly's typed binary ``{dtype, bdata, shape}``."""
    if isinstance(value, dict):
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = tuple(int(s) for s in str(value.get("shape", len(data))).split(","))
        return data.reshape(shape)
    return np.asarray(value)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_default_view_draws_every_figure_with_the_table():
    at = run_page()
    specs = plotly_specs(at)
    heat = array(specs[TABLE.format(n=128, d=128)]["data"][0]["z"])
    np.testing.assert_allclose(heat, sinusoidal_table(128, 128).numpy(), atol=1e-6)
    gram = array(specs["Dot products PE(pos) · PE(pos')"]["data"][0]["z"])
    assert gram.shape == (128, 128)
    np.testing.assert_allclose(np.diag(gram), 64.0, rtol=1e-6)
    curves = specs["Dot product against the offset k"]["data"]
    assert [c["name"] for c in curves] == ["pos = 0", "pos = 10", "pos = 64", "pos = 127"]
    assert "M_5 · PE(10) against PE(15)" in specs
    words = specs["What is added to your 11 words (128 dimensions)"]["data"][0]
    assert words["y"][:3] == ["0·the", "1·cat", "2·sat"]
    assert "Vaswani" in messages(at) and at.title[0].value == "Positional encodings"
    shared = {param: at.query_params[param] for param in ("n", "d", "pos", "k")}
    assert shared == {"n": "128", "d": "128", "pos": "10", "k": "5"}


def test_changing_d_model_and_positions_changes_the_heatmap_shape():
    at = run_page()
    at.slider(key="pe_d").set_value(32).run()
    assert not at.exception
    at.slider(key="pe_n").set_value(40).run()
    assert not at.exception
    specs = plotly_specs(at)
    heat = array(specs[TABLE.format(n=40, d=32)]["data"][0]["z"])
    assert heat.shape == (40, 32)
    assert array(specs["Dot products PE(pos) · PE(pos')"]["data"][0]["z"]).shape == (40, 40)
    assert at.query_params["d"] == "32" and at.query_params["n"] == "40"


def test_offset_demo_error_is_rounding_only():
    at = run_page({"pos": "300", "k": "200", "n": "512", "d": "512"})
    found = metrics(at)
    error64 = float(found["max |M_200 PE(300) − PE(500)| (float64)"])
    error32 = float(found["… in float32, as a model stores it"])
    assert 0 <= error64 < 1e-12 and error32 < 1e-5
    assert found["nonzero entries of M_200"] == "1,024 of 262,144"
    spec = plotly_specs(at)["M_200 · PE(300) against PE(500)"]
    rotated, shifted = (array(t["y"]) for t in spec["data"])
    np.testing.assert_allclose(rotated, shifted, atol=1e-12)


def test_shrinking_the_table_keeps_position_and_offset_in_range():
    at = run_page({"pos": "100", "k": "90"})
    at.slider(key="pe_n").set_value(16).run()
    assert not at.exception
    assert at.slider(key="pe_pos").value == 15 and at.slider(key="pe_k").value == 15
    assert at.query_params["pos"] == "15"


def test_bad_url_parameters_fall_back_or_are_clamped():
    at = run_page({"n": "abc", "d": "13", "pos": "-5", "k": "1e999"})
    assert (at.slider(key="pe_n").value, at.slider(key="pe_d").value) == (128, 16)
    assert (at.slider(key="pe_pos").value, at.slider(key="pe_k").value) == (0, 5)
    at = run_page({"n": "100000", "d": "777", "pos": "nan", "k": "3.7"})
    assert (at.slider(key="pe_n").value, at.slider(key="pe_d").value) == (512, 512)
    assert (at.slider(key="pe_pos").value, at.slider(key="pe_k").value) == (10, 4)
    assert TABLE.format(n=512, d=512) in plotly_specs(at)


def test_user_words_label_the_position_axis_escaped():
    at = run_page()
    at.text_input(key="pe_text").input("<b>Hi</b> there *you*").run()
    assert not at.exception
    words = plotly_specs(at)["What is added to your 12 words (128 dimensions)"]["data"][0]
    assert words["y"][:3] == ["0·&lt;", "1·b", "2·&gt;"]
    assert r"\*" in messages(at)
    long_text = " ".join(["word"] * 200)
    at.text_input(key="pe_text").input(long_text).run()
    assert "first 128 are shown" in messages(at)
    at.text_input(key="pe_text").input("   ").run()
    assert "Type a sentence" in messages(at)
