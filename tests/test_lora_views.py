"""The LoRA page's figures (nlpviz.viz.lora): the data they draw against oracles, shape errors."""

from __future__ import annotations

import json
import statistics

import numpy as np
import pytest

from nlpviz.analysis import lora as la
from nlpviz.viz import lora as fig
from nlpviz.viz.lora import Reference

RANKS = [1, 1, 1, 8, 8, 8, 64]
SEEDS = [1, 2, 3, 1, 2, 3, 1]
ACC = [0.70, 0.72, 0.74, 0.80, 0.81, 0.79, 0.78]


def traces(figure) -> dict[str, dict]:
    return {t.name: t for t in figure.data}


def test_summarise_seeds_is_the_mean_and_sample_std():
    summary = fig.summarise_seeds(RANKS, ACC)
    assert summary.groups == [1, 8, 64]
    assert summary.mean == pytest.approx([0.72, 0.80, 0.78])
    assert summary.std[0] == pytest.approx(statistics.stdev([0.70, 0.72, 0.74]))
    assert summary.std[1] == pytest.approx(statistics.stdev([0.80, 0.81, 0.79]))
    assert np.isnan(summary.std[2])  # one seed: no spread to show
    assert summary.n.tolist() == [3, 3, 1]
    # labels keep their first-seen order
    assert fig.summarise_seeds(["r=8", "full", "r=8"], [0.5, 0.6, 0.7]).groups == ["r=8", "full"]


def test_accuracy_vs_rank_draws_every_run_the_means_and_the_references():
    refs = [Reference("full fine-tuning", 0.81, 0.01, 3), Reference("frozen probe", 0.70)]
    figure = fig.accuracy_vs_rank(RANKS, ACC, SEEDS, refs)
    found = traces(figure)
    # every run is one point of its seed's trace
    points = sorted(
        (x, int(name.split()[-1]), y)
        for name, t in found.items()
        if name.startswith("seed ")
        for x, y in zip(t.x, t.y, strict=True)
    )
    assert points == sorted(zip(map(float, RANKS), SEEDS, ACC, strict=True))
    mean = found["LoRA, mean over seeds"]
    assert list(mean.x) == [1, 8, 64]
    assert list(mean.y) == pytest.approx([0.72, 0.80, 0.78])
    errors = list(mean.error_y.array)
    assert errors[:2] == pytest.approx([0.02, statistics.stdev([0.80, 0.81, 0.79])])
    assert errors[2] == 0.0  # a single seed gets no error bar
    # references are flat lines named in the legend and labelled on the plot
    assert set(found["full fine-tuning"].y) == {0.81}
    assert set(found["frozen probe"].y) == {0.70}
    labels = [a.text for a in figure.layout.annotations]
    assert "full fine-tuning 81.0%" in labels and "frozen probe 70.0%" in labels
    # log2-spaced axis with one tick per trained rank
    assert figure.layout.xaxis.type == "log"
    assert list(figure.layout.xaxis.tickvals) == [1, 8, 64]
    assert "±" in found["full fine-tuning"].hovertemplate


def test_accuracy_vs_rank_refuses_bad_input():
    with pytest.raises(ValueError, match="ranks has 2, seeds 3 and accuracies 3"):
        fig.accuracy_vs_rank([1, 2], [0.5, 0.6, 0.7], [1, 1, 1])
    with pytest.raises(ValueError, match="positive integers"):
        fig.accuracy_vs_rank([0, 2], [0.5, 0.6], [1, 1])
    with pytest.raises(ValueError, match="positive integers"):
        fig.accuracy_vs_rank([1.5, 2], [0.5, 0.6], [1, 1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fig.accuracy_vs_rank([1, 2], [0.5, 60.0], [1, 1])
    with pytest.raises(ValueError, match="accuracies has shape"):
        fig.accuracy_vs_rank([1], [[0.5]], [1])
    with pytest.raises(ValueError, match="not in"):
        fig.accuracy_vs_rank([1], [0.5], [1], [Reference("broken", 1.5)])


def test_accuracy_vs_parameters_groups_configurations_on_a_log_axis():
    labels = ["r=1", "r=1", "full fine-tuning", "linear probe"]
    params = [9986, 9986, 22_700_000, 770]
    figure = fig.accuracy_vs_parameters(
        labels, params, [0.7, 0.8, 0.85, 0.6], [1, 2, 1, 1], [Reference("Kim CNN", 0.74)]
    )
    found = traces(figure)
    mean = found["mean over seeds"]
    assert list(mean.x) == [9986, 22_700_000, 770]
    assert list(mean.y) == pytest.approx([0.75, 0.85, 0.6])
    assert list(mean.text) == labels[1:]
    assert figure.layout.xaxis.type == "log"
    assert set(found["Kim CNN"].y) == {0.74}
    with pytest.raises(ValueError, match="different parameter counts"):
        fig.accuracy_vs_parameters(["r=1", "r=1"], [10, 11], [0.5, 0.5], [1, 2])
    with pytest.raises(ValueError, match="positive"):
        fig.accuracy_vs_parameters(["probe"], [0], [0.5], [1])
    with pytest.raises(ValueError, match="labels has 1, parameters 2"):
        fig.accuracy_vs_parameters(["r=1"], [10, 10], [0.5, 0.5], [1, 2])


def test_runs_frame_has_one_row_per_run():
    frame = fig.runs_frame(["r=1", "full"], [10, 20], [0.5, 0.6], [1, 1])
    assert frame.to_dict("records")[1] == {
        "configuration": "full",
        "seed": 1,
        "trainable_parameters": 20,
        "test_accuracy": 0.6,
    }


def test_spectra_match_the_svd_of_the_update():
    rng = np.random.default_rng(0)
    spectra = {}
    for r in (1, 4):
        a, b = rng.standard_normal((r, 12)), rng.standard_normal((12, r))
        spectra[r] = la.singular_values(la.delta_weight(a, b, 2.0 / r))
        assert len(spectra[r]) == 12
        spectra[r] = spectra[r][:r]  # what the sweep stores: the r non-zero values
    full = la.singular_values(rng.standard_normal((12, 12)))
    figure = fig.spectra_figure(spectra, full)
    found = traces(figure)
    assert list(found) == ["LoRA r=1", "LoRA r=4", "full fine-tuning"]
    assert list(found["LoRA r=4"].y) == pytest.approx(spectra[4])
    assert list(found["LoRA r=4"].x) == [1, 2, 3, 4]
    assert found["full fine-tuning"].line.dash == "dash"
    assert figure.layout.yaxis.type == "log"
    relative = traces(fig.spectra_figure(spectra, full, relative=True))
    assert relative["LoRA r=4"].y[0] == pytest.approx(1.0)
    assert list(relative["LoRA r=4"].y) == pytest.approx(spectra[4] / spectra[4][0])
    frame = fig.spectra_frame(spectra, full)
    assert len(frame) == 1 + 4 + 12


def test_spectra_refuse_impossible_values():
    with pytest.raises(ValueError, match="rank-2 update has at most 2"):
        fig.spectra_figure({2: [3.0, 2.0, 1.0]})
    with pytest.raises(ValueError, match="non-increasing"):
        fig.spectra_figure({2: [1.0, 3.0]})
    with pytest.raises(ValueError, match="shape"):
        fig.spectra_figure({2: [[1.0, 0.5]]})


def test_similarity_heatmap_draws_phi_on_a_fixed_0_1_scale():
    rng = np.random.default_rng(1)
    a8 = rng.standard_normal((8, 40))
    a64 = np.vstack([a8, rng.standard_normal((56, 40))])[:40]  # r=40 holding r=8's rows
    phi = la.subspace_similarity(a8, a64)
    figure = fig.similarity_heatmap(phi, (8, 40))
    heat = figure.data[0]
    assert np.asarray(heat.z).shape == (8, 40)
    assert (heat.zmin, heat.zmax) == (0.0, 1.0)
    assert list(heat.x) == list(range(1, 41)) and list(heat.y) == list(range(1, 9))
    # oracle: r=8's span lies inside the larger one, so phi(8, 40) = 1
    assert np.asarray(heat.z)[7, 39] == pytest.approx(1.0)
    frame = fig.similarity_frame(phi)
    assert len(frame) == 8 * 40
    assert frame.iloc[-1].to_dict() == pytest.approx({"i": 8, "j": 40, "phi": phi[7, 39]})


def test_similarity_heatmap_refuses_wrong_shapes_and_values():
    with pytest.raises(ValueError, match=r"phi has shape \(8, 32\), expected \(8, 64\)"):
        fig.similarity_heatmap(np.zeros((8, 32)), (8, 64))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fig.similarity_heatmap(np.full((2, 3), 1.5), (2, 3))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fig.similarity_heatmap(np.full((2, 3), np.nan), (2, 3))


def test_amplification_bars_show_the_factor_and_the_three_projections():
    w = np.diag([10.0, 5.0, 1.0, 0.1])
    delta = np.zeros((4, 4))
    delta[3, 3] = 2.0  # dW boosts W's weakest direction
    amp = la.amplification(w, delta, r=1, random_draws=0)
    assert amp.factor == pytest.approx(2.0 / 0.1)
    figure = fig.amplification_bars(
        [1], [amp.factor], [amp.projected_on_delta], [amp.projected_on_weight], [0.01]
    )
    found = traces(figure)
    assert list(found["||dW|| / ||U^T W V^T||"].y) == pytest.approx([20.0])
    assert list(found["dW's top-r directions"].y) == pytest.approx([0.1])
    assert list(found["W's own top-r"].y) == pytest.approx([10.0])
    assert list(found["random"].y) == pytest.approx([0.01])
    with pytest.raises(ValueError, match=r"on_weight has shape \(1,\), expected \(2,\)"):
        fig.amplification_bars([1, 2], [1.0, 2.0], [1.0, 2.0], [1.0], [1.0, 2.0])


def test_labels_are_escaped():
    figure = fig.accuracy_vs_rank(
        [1], [0.5], [1], [Reference("<script>alert(1)</script>", 0.6)], title="<b>x</b>"
    )
    dumped = json.dumps(figure.to_plotly_json(), default=str)
    assert "<script>" not in dumped and "<b>x" not in dumped
    assert "&lt;script&gt;" in dumped


def test_the_epochs_frame_and_figure_keep_every_runs_history():
    frame = fig.epochs_frame(
        ["r=8", "r=8", "full fine-tuning"], [1, 2, 1], [[0.70, 0.74], [0.72, 0.78], [0.8, 0.82]]
    )
    assert frame.to_dict("list") == {
        "configuration": ["r=8"] * 4 + ["full fine-tuning"] * 2,
        "seed": [1, 1, 2, 2, 1, 1],
        "epoch": [1, 2, 1, 2, 1, 2],
        "dev_accuracy": [0.70, 0.74, 0.72, 0.78, 0.8, 0.82],
    }
    found = traces(fig.accuracy_vs_epochs(frame))
    assert list(found["r=8"].x) == [1, 2]
    assert list(found["r=8"].y) == pytest.approx([0.71, 0.76])  # the mean over the two seeds
    spread = [statistics.stdev([0.70, 0.72]), statistics.stdev([0.74, 0.78])]
    assert list(found["r=8"].error_y.array) == pytest.approx(spread)
    assert list(found["full fine-tuning"].y) == pytest.approx([0.8, 0.82])
    assert list(found["full fine-tuning"].error_y.array) == [0.0, 0.0]  # one seed: no bar
    with pytest.raises(ValueError, match="one of each per run"):
        fig.epochs_frame(["r=8"], [1, 2], [[0.5]])
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        fig.epochs_frame(["r=8"], [1], [[0.5, 1.5]])
    escaped = fig.accuracy_vs_epochs(fig.epochs_frame(["<b>x</b>"], [1], [[0.5, 0.6]])).data
    assert [t.name for t in escaped] == ["&lt;b&gt;x&lt;/b&gt;"]
    assert "<b>" not in escaped[0].hovertemplate


def _row(kind, rank, seed, history):
    # a run keeps its best dev epoch, as the trainer does
    return {"kind": kind, "rank": rank, "seed": seed, "dev_history": history,
            "dev_accuracy": max(history) if history else None}  # fmt: skip


def test_epoch_gap_compares_kept_dev_accuracies_and_reads_the_curves():
    rows = [
        _row("lora", 1, 1, [0.70, 0.75, 0.77]),
        _row("lora", 8, 1, [0.72, 0.74, 0.78]),
        _row("lora", 8, 2, [0.74, 0.76, 0.80]),  # r=8 mean 0.79 at epoch 3, rising
        _row("lora", 64, 1, [0.90, 0.90, 0.90]),  # not a small rank
        _row("full", None, 1, [0.80, 0.82, 0.81]),
        _row("full", None, 2, [0.80, 0.84, 0.83]),
    ]
    gap = la.epoch_gap(rows)
    assert (gap.small_label, gap.epoch) == ("r=8", 3)
    # each run at its best epoch: full 0.82 and 0.84 (epoch 2), r=8 0.78 and 0.80 (epoch 3)
    assert (gap.full_dev, gap.small_dev) == pytest.approx((0.83, 0.79))
    assert gap.points_behind == pytest.approx(4.0)
    assert gap.full_best_epoch == 2
    assert gap.closing  # r=8 rose 0.04 while full fell 0.01: the curves' gap shrank 7 -> 3
    # full fine-tuning rising faster: the small rank still rises, but the gap is not closing
    racing = [*rows[:4], _row("full", None, 1, [0.80, 0.82, 0.90])]
    assert not la.epoch_gap(racing).closing and la.epoch_gap(racing).full_best_epoch == 3
    # a tie in kept dev accuracy names the smaller rank
    tied = [
        _row("lora", 1, 1, [0.7, 0.8]),
        _row("lora", 8, 1, [0.8, 0.7]),
        _row("full", None, 1, [0.8, 0.9]),
    ]
    assert la.epoch_gap(tied).small_label == "r=1"
    # one epoch is no curve; a card from before the history was kept has none
    assert la.epoch_gap([_row("lora", 8, 1, [0.7]), _row("full", None, 1, [0.8])]) is None
    old = [{**r, "dev_history": None} for r in rows]
    assert la.epoch_gap(old) is None
