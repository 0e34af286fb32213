"""Continuing an encoder's pretraining: which committed weights a second stage may start from."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import torch

from nlpviz.checkpoints import WEIGHTS_FILE, checkpoint_root, save_checkpoint
from nlpviz.data.pretrain import TOKENIZER_FILE
from nlpviz.models.encoders import build_model
from nlpviz.train.common import as_stored
from nlpviz.train.encoders import (
    CONTINUATIONS,
    committed_base,
    continuation_for,
    lr_at,
    recipe_for,
)

NAME = "encoder-bert"


def _tiny_base():
    return replace(
        recipe_for("bert"), d_model=16, n_layers=1, n_heads=2, d_ff=32, vocab_size=64, max_len=16
    )


def _commit(recipe, model, **card_extra) -> None:
    card = {"family": "encoder", "recipe": asdict(recipe), "metrics": {}, **card_extra}
    save_checkpoint(NAME, model.state_dict(), card, side_files={TOKENIZER_FILE: b"pieces"})


def test_a_continuation_starts_from_the_base_recipes_stored_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPVIZ_CHECKPOINTS", str(tmp_path))
    base = _tiny_base()
    torch.manual_seed(0)
    trained = build_model("bert", base.config())
    _commit(base, trained)
    fresh = build_model("bert", base.config())
    found = committed_base(NAME, base, fresh)
    assert found is not None and found.proto == b"pieces"
    assert found.weights_sha256 == found.card["weights_sha256"]
    stored = as_stored(trained.state_dict())  # float16 on disk: the continuation starts there
    assert all(torch.equal(v, stored[k]) for k, v in fresh.state_dict().items())
    assert not all(torch.equal(v, trained.state_dict()[k]) for k, v in stored.items())


def test_no_continuation_from_another_recipe_a_continued_card_or_changed_weights(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("NLPVIZ_CHECKPOINTS", str(tmp_path))
    base = _tiny_base()
    model = build_model("bert", base.config())
    assert committed_base(NAME, base, model) is None  # nothing committed
    _commit(base, model)
    assert committed_base(NAME, replace(base, lr=2e-3), model) is None
    _commit(base, model, continued={"after_steps": base.steps})
    assert committed_base(NAME, base, model) is None  # already the two-stage model
    _commit(base, model)
    weights = checkpoint_root() / NAME / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert committed_base(NAME, base, model) is None  # the sha256 no longer matches its card
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    card = json.loads((checkpoint_root() / NAME / "card.json").read_text())
    assert card["recipe"]["lr"] == base.lr


def test_a_continuation_keeps_the_architecture_and_warms_up_again():
    for design, more in CONTINUATIONS.items():
        stage = continuation_for(design)
        assert stage.config() == recipe_for(design).config()  # the base weights fit
        assert stage.steps == more["steps"] and stage.lr < recipe_for(design).lr
        assert lr_at(0, stage) == stage.lr / stage.warmup
        assert lr_at(stage.warmup, stage) == stage.lr
        assert abs(lr_at(stage.steps, stage) - stage.lr * stage.min_lr_fraction) < 1e-12
    assert continuation_for("deberta") is None
