"""The gated-RNN cells against PyTorch's, the losses against hand computation, checkpoints."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nlpviz.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from nlpviz.models.gated_rnn import (
    CELLS,
    SHOWN,
    GatedRNNConfig,
    RecurrentCell,
    SequenceModel,
    bits_per_char,
    frame_nll,
    fused_rnn,
    parameter_count,
    units_for_budget,
)

REFERENCE = {"tanh": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}


def reference_with_copied_weights(cell: RecurrentCell) -> torch.nn.RNNBase:
    """An independent torch module whose weights are COPIES of the cell's."""
    kwargs = {"nonlinearity": "tanh"} if cell.kind == "tanh" else {}
    reference = REFERENCE[cell.kind](cell.input_dim, cell.hidden, batch_first=True, **kwargs)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(reference, f"{name}_l0").copy_(getattr(cell, name))
    return reference


@pytest.mark.parametrize("kind", CELLS)
def test_explicit_cell_matches_torch_with_copied_weights(kind):
    torch.manual_seed(0)
    cell = RecurrentCell(kind, input_dim=5, hidden=7)
    reference = reference_with_copied_weights(cell)
    inputs = torch.randn(3, 11, 5)
    h0 = torch.randn(3, 7)
    state = (h0, torch.randn(3, 7)) if kind == "lstm" else (h0,)
    hidden, gates, cells, final = cell(inputs, state)
    torch_state = tuple(s[None] for s in state) if kind == "lstm" else state[0][None]
    expected, expected_final = reference(inputs, torch_state)
    torch.testing.assert_close(hidden, expected, atol=1e-6, rtol=1e-5)
    if kind == "lstm":
        torch.testing.assert_close(final[0], expected_final[0][0], atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(final[1], expected_final[1][0], atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(cells[:, -1], expected_final[1][0], atol=1e-6, rtol=1e-5)
    else:
        torch.testing.assert_close(final[0], expected_final[0], atol=1e-6, rtol=1e-5)


def test_gru_gates_recombine_into_the_state():
    """h_t = (1 - z_t) n_t + z_t h_{t-1} with the returned gates, and gates lie in (0, 1)."""
    torch.manual_seed(1)
    cell = RecurrentCell("gru", 4, 6)
    hidden, gates, _, _ = cell(torch.randn(2, 9, 4))
    previous = torch.cat([torch.zeros(2, 1, 6), hidden[:, :-1]], dim=1)
    z, n = gates["update"], gates["candidate"]
    torch.testing.assert_close(hidden, (1 - z) * n + z * previous)
    for name in ("update", "reset"):
        assert bool(((gates[name] > 0) & (gates[name] < 1)).all())


def test_lstm_gates_recombine_into_cell_and_state():
    torch.manual_seed(2)
    cell = RecurrentCell("lstm", 4, 6)
    hidden, gates, cells, _ = cell(torch.randn(2, 9, 4))
    previous = torch.cat([torch.zeros(2, 1, 6), cells[:, :-1]], dim=1)
    expected_c = gates["forget"] * previous + gates["input"] * gates["candidate"]
    torch.testing.assert_close(cells, expected_c)
    torch.testing.assert_close(hidden, gates["output"] * torch.tanh(cells))


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("task", ["music", "chars"])
def test_fused_path_shares_parameters_and_agrees(kind, task):
    torch.manual_seed(3)
    config = GatedRNNConfig(
        kind, task, n_inputs=10, hidden=8, embed_dim=4 if task == "chars" else 0
    )
    model = SequenceModel(config)
    inputs = (
        (torch.rand(2, 12, 10) > 0.6).float() if task == "music" else torch.randint(10, (2, 12))
    )
    rnn = fused_rnn(model.rnn)
    assert rnn.weight_hh_l0 is model.rnn.weight_hh  # shared, so training moves both
    logits, final = model.fast_logits(inputs, rnn)
    output = model(inputs)
    torch.testing.assert_close(output.logits, logits, atol=1e-5, rtol=1e-5)
    # continuing from a state gives the same as reading in one go
    first = model(inputs[:, :5])
    second = model(inputs[:, 5:], first.final)
    torch.testing.assert_close(second.logits, output.logits[:, 5:], atol=1e-5, rtol=1e-5)
    assert set(SHOWN[kind]) <= {"hidden", "cell", *output.gates}
    assert sum(p.numel() for p in model.parameters()) == parameter_count(
        kind, task, 10, 8, config.embed_dim
    )


def test_forward_output_is_frozen():
    model = SequenceModel(GatedRNNConfig("gru", "music", 4, 3))
    output = model(torch.zeros(1, 2, 4))
    with pytest.raises(AttributeError):
        output.hidden = None  # type: ignore[misc]


def test_equal_budgets_give_roughly_equal_parameter_counts():
    sizes = {c: units_for_budget(c, "music", 53, 20_000) for c in CELLS}
    counts = [parameter_count(c, "music", 53, h) for c, h in sizes.items()]
    assert max(counts) - min(counts) < 0.02 * 20_000
    assert sizes["tanh"] > sizes["gru"] > sizes["lstm"]


def test_frame_nll_of_a_hand_computed_two_frame_example():
    # two pitches, two frames; p = sigmoid(logit)
    logits = torch.tensor([[[0.0, math.log(3.0)], [math.log(1 / 4), 0.0]]])  # p: .5,.75 / .2,.5
    targets = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    mask = torch.tensor([[True, True]])
    frame1 = -(math.log(0.5) + math.log(0.25))
    frame2 = -(math.log(0.8) + math.log(0.5))
    assert frame_nll(logits, targets, mask).item() == pytest.approx((frame1 + frame2) / 2)
    # a padded third frame does not count
    padded = torch.cat([logits, torch.zeros(1, 1, 2)], 1)
    padded_targets = torch.cat([targets, torch.ones(1, 1, 2)], 1)
    value = frame_nll(padded, padded_targets, torch.tensor([[True, True, False]]))
    assert value.item() == pytest.approx((frame1 + frame2) / 2)
    with pytest.raises(ValueError, match="do not fit"):
        frame_nll(logits, targets[:, :1], mask)


def test_bits_per_char_of_a_uniform_model_is_log2_vocab():
    logits = torch.zeros(2, 5, 8)
    assert bits_per_char(logits, torch.randint(8, (2, 5))).item() == pytest.approx(3.0)


def test_config_and_input_checks():
    with pytest.raises(ValueError, match="cell must be"):
        GatedRNNConfig("rnn", "music", 4, 3)
    with pytest.raises(ValueError, match="embed_dim"):
        GatedRNNConfig("gru", "chars", 4, 3)
    model = SequenceModel(GatedRNNConfig("lstm", "music", 4, 3))
    with pytest.raises(ValueError, match="frames must be"):
        model(torch.zeros(1, 2, 5))


def test_checkpoint_round_trip_and_corruption(tmp_path):
    torch.manual_seed(4)
    config = GatedRNNConfig("gru", "chars", n_inputs=6, hidden=5, embed_dim=3)
    model = SequenceModel(config)
    card = {"family": "gated_rnn", "config": config.to_json(), "metrics": {}}
    save_checkpoint("chars-gru", model.state_dict(), card, root=tmp_path)
    loaded = SequenceModel.from_checkpoint(
        load_checkpoint("chars-gru", root=tmp_path, family="gated_rnn")
    )
    ids = torch.randint(6, (1, 7))
    expected = model(ids).logits
    np.testing.assert_allclose(loaded(ids).logits.detach(), expected.detach(), atol=5e-3)
    weights = tmp_path / "chars-gru" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(CheckpointError, match="nlpviz train chars-gru"):
        load_checkpoint("chars-gru", root=tmp_path, family="gated_rnn")


def test_checkpoints_are_registered_with_the_cli():
    from nlpviz.train.cli import TRAINABLES
    from nlpviz.train.gated_rnn import train_by_name

    names = {f"{task}-{cell}" for task in ("chorales", "chars") for cell in CELLS}
    assert names <= set(TRAINABLES)
    with pytest.raises(ValueError, match="no gated-RNN checkpoint"):
        train_by_name("chorales-rnn", torch.device("cpu"), 1, "x")


def test_lstm_forget_gates_start_open():
    cell = RecurrentCell("lstm", 3, 4)
    assert torch.all(cell.bias_ih[4:8] == 1.0)
    assert not torch.all(cell.bias_ih[:4] == 1.0)


def test_read_out_dropout_acts_in_training_only_and_leaves_the_recurrence_alone():
    torch.manual_seed(0)
    model = SequenceModel(GatedRNNConfig("gru", "music", n_inputs=10, hidden=16))
    rnn = fused_rnn(model.rnn)
    inputs = (torch.rand(3, 9, 10) > 0.6).float()
    model.eval()
    plain, plain_final = model.fast_logits(inputs, rnn)
    dropped, dropped_final = model.fast_logits(inputs, rnn, dropout=0.5)
    torch.testing.assert_close(plain, dropped)  # eval mode: no dropout
    model.train()
    noisy, noisy_final = model.fast_logits(inputs, rnn, dropout=0.5)
    assert not torch.allclose(noisy, plain)
    torch.testing.assert_close(noisy_final, plain_final)  # the state never sees the dropout


def test_plateau_halves_the_rate_at_each_stall_and_stops_after_the_last_cut():
    from nlpviz.train.common import Plateau

    plateau = Plateau(patience=2, decays=1)
    values = [3.0, 2.5, 2.6, 2.5, 2.45, 2.5, 2.4, 2.42, 2.43]
    verdicts = [plateau.check(v) for v in values]
    # a tie is no gain; the count restarts after a cut and after a new best; one cut allowed,
    # so the second stall stops
    assert verdicts == ["best", "best", "wait", "decay", "best", "wait", "best", "wait", "stop"]
    assert Plateau(patience=1, decays=0).check(1.0) == "best"
    never_cut = Plateau(patience=1, decays=0)
    assert [never_cut.check(v) for v in (1.0, 1.0)] == ["best", "stop"]
    for bad in ((0, 1, 0.5), (1, -1, 0.5), (1, 1, 1.0), (1, 1, 0.0)):
        with pytest.raises(ValueError):
            Plateau(*bad)
