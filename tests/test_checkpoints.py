"""Checkpoints: round trip, tampering, missing files, mismatched configs; the committed ones."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import tiny_kim

from nlpviz.checkpoints import (
    CheckpointError,
    checkpoint_root,
    load_checkpoint,
    read_card,
    save_checkpoint,
)
from nlpviz.models.kim_cnn import KimCNN, pad_ids
from nlpviz.ui.kim_cnn import CHECKPOINTS


def _save(tmp_path, half=True):
    model, vocab = tiny_kim("multichannel", seed=2)
    card = {"family": "kim_cnn", "config": model.config.to_json(), "vocab_file": "vocab.json"}
    save_checkpoint(
        "tiny", model.state_dict(), card, {"vocab.json": vocab.to_json()}, root=tmp_path, half=half
    )
    return model, vocab


@pytest.mark.parametrize("half", [False, True])
def test_round_trip_gives_the_same_outputs(tmp_path, half):
    model, vocab = _save(tmp_path, half)
    checkpoint = load_checkpoint("tiny", root=tmp_path, family="kim_cnn")
    rebuilt = KimCNN.from_checkpoint(checkpoint)
    ids = pad_ids([vocab.encode("the film is very great".split())], 5)
    tolerance = {"atol": 2e-2, "rtol": 1e-2} if half else {"atol": 0.0, "rtol": 0.0}
    torch.testing.assert_close(rebuilt(ids).logits, model(ids).logits, **tolerance)
    assert checkpoint.read_json("vocab.json") == vocab.to_json()
    card = read_card("tiny", root=tmp_path)
    assert card["weights_sha256"] == card["files"]["model.safetensors"]


def test_a_saved_checkpoint_is_readable_by_every_user(tmp_path):
    _save(tmp_path)
    folder = tmp_path / "tiny"
    assert folder.stat().st_mode & 0o777 == 0o755
    modes = {path.name: path.stat().st_mode & 0o777 for path in folder.iterdir()}
    assert modes == {"model.safetensors": 0o644, "vocab.json": 0o644, "card.json": 0o644}


def test_a_tampered_weight_file_is_rejected_with_the_rebuild_command(tmp_path):
    _save(tmp_path)
    weights = tmp_path / "tiny" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"model\.safetensors.*nlpviz train tiny"):
        load_checkpoint("tiny", root=tmp_path)


def test_a_tampered_side_file_is_rejected(tmp_path):
    _save(tmp_path)
    (tmp_path / "tiny" / "vocab.json").write_text('["<pad>", "<unk>", "evil"]')
    with pytest.raises(CheckpointError, match="vocab.json"):
        load_checkpoint("tiny", root=tmp_path)


def test_missing_checkpoint_names_the_train_command(tmp_path):
    with pytest.raises(CheckpointError, match="nlpviz train kim-cnn-rand-mr"):
        load_checkpoint("kim-cnn-rand-mr", root=tmp_path)


def test_missing_file_is_reported(tmp_path):
    _save(tmp_path)
    (tmp_path / "tiny" / "vocab.json").unlink()
    with pytest.raises(CheckpointError, match="vocab.json is missing"):
        load_checkpoint("tiny", root=tmp_path)


def test_config_that_does_not_fit_the_weights_is_rejected(tmp_path):
    _save(tmp_path)
    card_path = tmp_path / "tiny" / "card.json"
    card = json.loads(card_path.read_text())
    card["config"]["num_filters"] = 7
    card_path.write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="does not fit"):
        KimCNN.from_checkpoint(load_checkpoint("tiny", root=tmp_path))
    card["config"]["surprise"] = 1
    card_path.write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="no valid Kim CNN config"):
        KimCNN.from_checkpoint(load_checkpoint("tiny", root=tmp_path))


def test_wrong_family_is_rejected(tmp_path):
    _save(tmp_path)
    with pytest.raises(CheckpointError, match="not 'han'"):
        load_checkpoint("tiny", root=tmp_path, family="han")


def test_a_garbage_card_is_rejected(tmp_path):
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "card.json").write_bytes(b"\xff\xfe not json")
    with pytest.raises(CheckpointError, match="unreadable"):
        load_checkpoint("tiny", root=tmp_path)


ALL_NAMES = sorted({name for per_task in CHECKPOINTS.values() for name in per_task.values()})


@pytest.mark.parametrize("name", ALL_NAMES)
def test_committed_checkpoints_verify_and_carry_an_honest_card(name):
    checkpoint = load_checkpoint(name, family="kim_cnn")
    card = checkpoint.card
    assert card["run"]["command"].startswith(f"nlpviz train {name}")
    metrics = card["metrics"]
    assert 0.5 < metrics["test_accuracy"] <= 1.0
    assert metrics["test_accuracy"] > metrics["test_majority_baseline"]
    assert card["paper_figure"]["source"].startswith("Kim (2014), Table 2")
    assert card["data"]["corpus"]["sha256"] and card["data"]["corpus"]["split_seed"] is not None
    model = KimCNN.from_checkpoint(checkpoint)
    assert model.output.weight.norm(dim=1).max() <= model.config.max_norm + 1e-2
    filters = checkpoint.read_json("filters.json")
    assert len(filters["top"]) == len(model.config.filter_widths)
    assert all(len(rows) == model.config.num_filters for rows in filters["top"])


def test_the_checkpoint_folder_is_the_repositorys():
    assert (checkpoint_root() / ALL_NAMES[0] / "card.json").is_file()
