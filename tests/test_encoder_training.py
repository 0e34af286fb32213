"""Continuing an encoder's pretraining: which committed weights a later stage may start from."""

from __future__ import annotations

import json
import random
from dataclasses import asdict, replace

import pytest
import torch

from nlpviz.checkpoints import (
    WEIGHTS_FILE,
    checkpoint_root,
    load_checkpoint,
    save_checkpoint,
    sha256_file,
)
from nlpviz.data.pretrain import TOKENIZER_FILE, PretrainCorpus
from nlpviz.models.encoders import build_model
from nlpviz.train import encoders as trainer
from nlpviz.train.common import as_stored
from nlpviz.train.encoders import (
    CONTINUATIONS,
    LATER_STAGE_PEAK_LR,
    committed_base,
    continuations_for,
    lr_at,
    recipe_for,
)

NAME = "encoder-bert"
WORDS = "the a cat dog sat ran on mat house under over because slowly quickly tired".split()


def _documents(n: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    return [
        [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9))) + "." for _ in range(6)]
        for _ in range(n)
    ]


FAKE_CORPUS = PretrainCorpus(
    train=_documents(40, 0),
    held_out=_documents(6, 1),
    provenance=[{"package": "test words", "sha256": "0" * 64}],
    stats={"split_seed": 13, "documents": 46},
)


def _tiny_base():
    return replace(
        recipe_for("bert"), d_model=16, n_layers=1, n_heads=2, d_ff=32, vocab_size=64, max_len=16
    )


def _commit(recipe, model, **card_extra) -> None:
    card = {
        "family": "encoder",
        "recipe": asdict(recipe),
        "metrics": {},
        "run": {"seed": 1, "command": "test", "device": "CPU", "wall_time_s": 1.0},
        "data": {"sources": FAKE_CORPUS.provenance, "corpus": FAKE_CORPUS.stats},
        **card_extra,
    }
    save_checkpoint(NAME, model.state_dict(), card, side_files={TOKENIZER_FILE: b"pieces"})


def test_a_continuation_starts_from_the_base_recipes_stored_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPVIZ_CHECKPOINTS", str(tmp_path))
    base = _tiny_base()
    torch.manual_seed(0)
    trained = build_model("bert", base.config())
    _commit(base, trained)
    found = committed_base(NAME, base, 1, FAKE_CORPUS)
    assert found is not None and found.proto == b"pieces"
    assert found.weights_sha256 == sha256_file(checkpoint_root() / NAME / WEIGHTS_FILE)
    fresh = build_model("bert", base.config())
    from nlpviz.checkpoints import load_state_into

    load_state_into(fresh, found.checkpoint)
    stored = as_stored(trained.state_dict())  # float16 on disk: the continuation starts there
    assert all(torch.equal(v, stored[k]) for k, v in fresh.state_dict().items())
    assert not all(torch.equal(v, trained.state_dict()[k]) for k, v in stored.items())


def test_no_continuation_from_another_recipe_seed_corpus_a_continued_card_or_changed_weights(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("NLPVIZ_CHECKPOINTS", str(tmp_path))
    base = _tiny_base()
    model = build_model("bert", base.config())
    assert committed_base(NAME, base, 1, FAKE_CORPUS) is None  # nothing committed
    _commit(base, model)
    assert committed_base(NAME, base, 1, FAKE_CORPUS) is not None
    assert committed_base(NAME, replace(base, lr=2e-3), 1, FAKE_CORPUS) is None
    assert committed_base(NAME, base, 2, FAKE_CORPUS) is None
    other = replace(FAKE_CORPUS, provenance=[{"package": "other words", "sha256": "1" * 64}])
    assert committed_base(NAME, base, 1, other) is None
    second = replace(base, steps=3, lr=5e-4)
    _commit(base, model, continued=[{"after_steps": base.steps, "recipe": asdict(second)}])
    assert committed_base(NAME, base, 1, FAKE_CORPUS) is None  # already the two-stage model
    assert committed_base(NAME, base, 1, FAKE_CORPUS, (second,)) is not None  # a third's start
    assert committed_base(NAME, base, 1, FAKE_CORPUS, (replace(second, steps=4),)) is None
    assert committed_base(NAME, base, 1, FAKE_CORPUS, (second, second)) is None
    _commit(base, model)
    weights = checkpoint_root() / NAME / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert committed_base(NAME, base, 1, FAKE_CORPUS) is None  # the sha256 no longer matches
    card = json.loads((checkpoint_root() / NAME / "card.json").read_text())
    assert card["recipe"]["lr"] == base.lr


def test_a_continuation_keeps_the_architecture_and_warms_up_again(monkeypatch):
    for design, steps in CONTINUATIONS.items():
        stages = continuations_for(design)
        assert [stage.steps for stage in stages] == list(steps)
        peak = recipe_for(design).lr
        for stage in stages:
            assert stage.config() == recipe_for(design).config()  # the base weights fit
            assert stage.lr < peak  # each stage peaks lower than the one before
            assert lr_at(0, stage) == stage.lr / stage.warmup
            assert lr_at(stage.warmup, stage) == stage.lr
            assert abs(lr_at(stage.steps, stage) - stage.lr * stage.min_lr_fraction) < 1e-12
            peak = stage.lr
    monkeypatch.setitem(CONTINUATIONS, "bert", (100, 200))
    assert [s.lr for s in continuations_for("bert")] == list(LATER_STAGE_PEAK_LR[:2])
    monkeypatch.setitem(CONTINUATIONS, "bert", (100,) * (len(LATER_STAGE_PEAK_LR) + 1))
    with pytest.raises(ValueError):  # a stage without a rate of its own is not run at all
        continuations_for("bert")
    monkeypatch.delitem(CONTINUATIONS, "deberta")
    assert continuations_for("deberta") == ()  # a design with only its base recipe


# ---- the stages end to end, on a tiny model and corpus ---------------------------------------


@pytest.fixture
def tiny_training(tmp_path, monkeypatch):
    """Checkpoints and training state under tmp_path, a corpus of a few made-up documents, and
    a probe that needs no sentiment data; returns the base recipe and two later stages."""
    monkeypatch.setenv("NLPVIZ_CHECKPOINTS", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("NLPVIZ_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(trainer, "corpus", lambda split_seed: FAKE_CORPUS)
    monkeypatch.setattr(
        trainer, "probe_mr", lambda *a: {"test_accuracy": 50.0, "test_sentences": 2}
    )
    base = replace(
        recipe_for("roberta"), d_model=16, n_layers=1, n_heads=2, d_ff=32, vocab_size=330,
        max_len=128, short_len=16, steps=4, warmup=1, eval_every=2, eval_sequences=4,
    )  # fmt: skip
    return base, replace(base, steps=4, lr=5e-4), replace(base, steps=2, lr=3e-4)


def _train(base, *later) -> dict:
    """Train, then the card as saved (with its weights' sha256)."""
    trainer.train_encoder("encoder-roberta", base, torch.device("cpu"), 1, "test", later)
    return load_checkpoint("encoder-roberta").card.raw


def test_a_continuation_is_the_same_from_a_committed_base_or_from_scratch(tiny_training):
    base, more, _ = tiny_training
    base_card = _train(base)
    from_committed = _train(base, more)
    assert from_committed["continued"][0]["from_weights_sha256"] == base_card["weights_sha256"]
    (checkpoint_root() / "encoder-roberta" / "card.json").unlink()  # nothing to continue from
    from_scratch = _train(base, more)
    assert from_scratch["weights_sha256"] == from_committed["weights_sha256"]
    assert from_scratch["continued"][0]["from_weights_sha256"] == base_card["weights_sha256"]
    assert [h["step"] for h in from_scratch["history"]] == [2, 4, 6, 8]
    wall = [h["wall_s"] for h in from_scratch["history"]]
    assert wall == sorted(wall) and from_scratch["recipe"] == base_card["recipe"]
    base_wall = from_scratch["history"][1]["wall_s"]  # the base's last evaluation: its end
    assert from_scratch["run"]["wall_time_s"] == pytest.approx(
        base_wall + from_scratch["continued"][0]["wall_time_s"], abs=0.11
    )
    assert not any((trainer.settings.cache_dir() / "train-state").glob("*.pt"))


def test_a_third_stage_starts_from_the_second_and_is_the_same_from_scratch(tiny_training):
    base, second, third = tiny_training
    two = _train(base, second)
    three = _train(base, second, third)
    assert [s["after_steps"] for s in three["continued"]] == [4, 8]
    assert three["continued"][0] == two["continued"][0]  # the earlier record is kept as it was
    assert three["continued"][1]["from_weights_sha256"] == two["weights_sha256"]
    assert three["continued"][1]["recipe"]["lr"] == third.lr
    assert three["history"][:4] == two["history"]
    assert [h["step"] for h in three["history"]] == [2, 4, 6, 8, 10]
    assert three["run"]["wall_time_s"] == pytest.approx(
        two["run"]["wall_time_s"] + three["continued"][1]["wall_time_s"], abs=0.11
    )
    assert three["data"]["epochs_seen"] > two["data"]["epochs_seen"]
    (checkpoint_root() / "encoder-roberta" / "card.json").unlink()
    from_scratch = _train(base, second, third)  # all three stages, each from stored weights
    assert from_scratch["weights_sha256"] == three["weights_sha256"]
    assert from_scratch["continued"][1]["from_weights_sha256"] == two["weights_sha256"]


def test_a_run_that_dies_after_its_last_step_resumes_without_training_again(
    tiny_training, monkeypatch
):
    base, more, _ = tiny_training
    whole = _train(base, more)
    (checkpoint_root() / "encoder-roberta" / "card.json").unlink()

    real_cloze = trainer.cloze_scores
    calls = []

    def dies_in_the_second_stage(*args):
        calls.append(1)
        if len(calls) == 2:  # the base has been scored and saved
            raise RuntimeError("killed while scoring")
        return real_cloze(*args)

    monkeypatch.setattr(trainer, "cloze_scores", dies_in_the_second_stage)
    with pytest.raises(RuntimeError):
        _train(base, more)
    assert (trainer.settings.cache_dir() / "train-state" / "encoder-roberta-continued.pt").is_file()
    monkeypatch.setattr(trainer, "cloze_scores", real_cloze)
    stages = []
    monkeypatch.setattr(
        trainer, "run_stage", lambda *a, **k: stages.append(a[2]) or real_run_stage(*a, **k)
    )
    again = _train(base, more)
    assert stages == [1] and again["weights_sha256"] == whole["weights_sha256"]
    assert load_checkpoint("encoder-roberta").card.raw["continued"][0]["after_steps"] == 4


real_run_stage = trainer.run_stage


@pytest.mark.parametrize("design", ["bert", "roberta", "deberta", "debertav3"])
def test_the_committed_encoders_are_what_nlpviz_train_builds_today(design):
    from nlpviz.checkpoints import read_card

    def as_json(recipe):
        return json.loads(json.dumps(asdict(recipe)))

    card = read_card(f"encoder-{design}").raw
    assert card["recipe"] == as_json(recipe_for(design))
    stages = [stage["recipe"] for stage in card.get("continued") or []]
    assert stages == [as_json(recipe) for recipe in continuations_for(design)]
