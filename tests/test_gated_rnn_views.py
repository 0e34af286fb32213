"""Gate traces, unit rankings, sampling and the figures of the gated-RNN page."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nlpviz.analysis.gated_rnn import (
    heldout_rolls,
    music_trace,
    sample_continuation,
    text_trace,
    unit_change,
    unit_order,
)
from nlpviz.models.gated_rnn import GatedRNNConfig, SequenceModel, frame_nll
from nlpviz.viz import gated_rnn as figures


def tiny(cell: str, task: str) -> SequenceModel:
    torch.manual_seed(0)
    config = GatedRNNConfig(cell, task, n_inputs=6, hidden=5, embed_dim=3 if task == "chars" else 0)
    return SequenceModel(config).eval()


def test_music_trace_loss_is_the_frame_nll_from_a_silent_frame():
    model = tiny("lstm", "music")
    roll = (np.random.default_rng(0).random((9, 6)) > 0.5).astype(np.uint8)
    trace = music_trace(model, roll)
    frames = torch.as_tensor(roll, dtype=torch.float32)[None]
    inputs = torch.cat([torch.zeros(1, 1, 6), frames[:, :-1]], 1)
    expected = frame_nll(model(inputs).logits, frames, torch.ones(1, 9, dtype=torch.bool))
    assert trace.loss.mean() == pytest.approx(expected.item(), rel=1e-5)
    assert set(trace.series) == {"input", "forget", "output", "candidate", "cell", "hidden"}
    assert trace.series["forget"].shape == (9, 5) and trace.probs.shape == (9, 6)
    with pytest.raises(ValueError, match="roll must be"):
        music_trace(model, np.zeros((3, 7)))


def test_text_trace_bits_match_the_softmax():
    model = tiny("gru", "chars")
    ids = np.array([1, 2, 3, 2, 1, 0])
    trace = text_trace(model, ids)
    assert trace.loss.shape == (5,) and trace.series["update"].shape == (6, 5)
    assert trace.loss[0] == pytest.approx(-np.log2(trace.probs[0, 2]), rel=1e-5)
    np.testing.assert_allclose(trace.probs.sum(-1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="at least 2"):
        text_trace(model, np.array([1]))


def test_unit_change_and_orders():
    values = np.array([[0.0, 0.5, 0.1], [1.0, 0.5, 0.3], [0.0, 0.5, 0.1]])
    np.testing.assert_allclose(unit_change(values), [1.0, 0.0, 0.2])
    assert unit_order(values, "change").tolist() == [0, 2, 1]
    assert unit_order(values, "index").tolist() == [0, 1, 2]
    assert unit_order(values, "mean").tolist() == [1, 0, 2]
    assert unit_change(values[:1]).tolist() == [0.0, 0.0, 0.0]


def test_sampling_is_seeded_binary_and_of_the_asked_length():
    model = tiny("gru", "music")
    roll = np.eye(6, dtype=np.uint8)[:4]
    first = sample_continuation(model, roll, 7, seed=3)
    assert first.shape == (7, 6) and set(np.unique(first)) <= {0, 1}
    np.testing.assert_array_equal(first, sample_continuation(model, roll, 7, seed=3))
    # a certain model (huge bias) plays every note
    with torch.no_grad():
        model.readout.bias.fill_(50.0)
    assert sample_continuation(model, roll, 3).sum() == 18


def test_heldout_payload_round_trip():
    rolls = heldout_rolls([{"name": "a", "frames": [[0, 2], [], [5]]}], 6)
    assert rolls["a"].tolist() == [[1, 0, 1, 0, 0, 0], [0] * 6, [0, 0, 0, 0, 0, 1]]


def test_gate_heatmap_orders_units_and_checks_sizes():
    values = np.arange(12, dtype=float).reshape(4, 3) / 12
    figure = figures.gate_heatmap(values, "update", ["a", "b", "c", "d"], np.array([2, 0]))
    assert list(figure.data[0].y) == ["unit 2", "unit 0"]
    np.testing.assert_allclose(np.asarray(figure.data[0].z), values[:, [2, 0]].T)
    assert (figure.data[0].zmin, figure.data[0].zmax) == (0.0, 1.0)
    with pytest.raises(ValueError, match="3 labels for 4 steps"):
        figures.gate_heatmap(values, "update", ["a", "b", "c"])
    with pytest.raises(ValueError, match="distinct units"):
        figures.gate_heatmap(values, "update", list("abcd"), np.array([0, 0]))


def test_user_text_is_escaped_in_figures():
    chars = list("<b>x</b> &")
    labels = figures.char_labels(chars)
    assert labels[0] == "0·&lt;" and labels[8] == "8·␣" and "<b>" not in "".join(labels)
    figure = figures.unit_over_text(chars, np.linspace(0, 1, len(chars)), "forget", 3, width=4)
    text = np.asarray(figure.data[0].text, dtype=object)
    assert text.shape == (3, 4) and text[0, 0] == "&lt;" and text[0, 1] == "b"
    assert "<" not in "".join(str(t) for t in text.ravel())
    with pytest.raises(ValueError, match="characters but activation"):
        figures.unit_over_text(chars, np.zeros(3), "forget", 0)


def test_piano_roll_figure_places_notes_and_probabilities():
    roll = np.zeros((3, 4), dtype=np.uint8)
    roll[1, 2] = 1
    probs = np.full((3, 4), 0.25)
    figure = figures.piano_roll(roll, probs, 60, "t", continuation=np.eye(4, dtype=np.uint8)[:2])
    heat, notes, sampled = figure.data
    assert list(notes.x) == [1] and list(notes.y) == ["D4"]
    assert list(sampled.x) == [3, 4] and list(sampled.y) == ["C4", "C#4"]
    assert np.asarray(heat.z).shape == (4, 3)
    with pytest.raises(ValueError, match="differ in shape"):
        figures.piano_roll(roll, probs[:2], 60, "t")


def test_learning_curves_one_line_per_cell():
    figure = figures.learning_curves(
        {"tanh": ([0, 1], [3.0, 2.0]), "gru": ([0, 1], [3.0, 1.5])},
        "epoch",
        "nll",
        "t",
        reference=(1.0, "paper"),
    )
    assert [trace.name for trace in figure.data] == ["tanh RNN", "GRU"]
    with pytest.raises(ValueError, match="2 x values but 1"):
        figures.learning_curves({"gru": ([0, 1], [1.0])}, "x", "y", "t")


def test_fast_losses_equal_the_explicit_traces():
    from nlpviz.analysis.gated_rnn import music_loss, text_bits

    for cell in ("tanh", "gru", "lstm"):
        model = tiny(cell, "music")
        roll = (np.random.default_rng(1).random((8, 6)) > 0.5).astype(np.uint8)
        assert music_loss(model, roll) == pytest.approx(music_trace(model, roll).loss.mean(), 1e-5)
        model = tiny(cell, "chars")
        ids = np.array([1, 2, 3, 4, 5, 0, 2])
        assert text_bits(model, ids) == pytest.approx(text_trace(model, ids).loss.mean(), 1e-5)


def test_titles_with_file_names_are_escaped():
    figure = figures.piano_roll(np.eye(3, dtype=np.uint8), None, 60, "your file <img src=x>.mid")
    assert figure.layout.title.text == "your file &lt;img src=x&gt;.mid"


def test_learning_curves_range_ignores_the_untrained_point():
    figure = figures.learning_curves(
        {"gru": ([0, 1, 2], [36.0, 10.0, 9.0])}, "epoch", "nll", "t", reference=(8.5, "paper")
    )
    low, high = figure.layout.yaxis.range
    assert low < 8.5 and 10.0 < high < 11.0
