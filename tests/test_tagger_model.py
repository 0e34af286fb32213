"""BiLSTM-CNN-CRF tagger: shapes, padding, the ablation switches, learning, round trip."""

from __future__ import annotations

import pytest
import torch

from nlpviz.checkpoints import load_checkpoint, save_checkpoint
from nlpviz.models.kim_cnn import pad_ids
from nlpviz.models.tagger import Tagger, TaggerConfig, pad_chars

TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")


def tiny(use_chars=True, use_crf=True, seed=0) -> Tagger:
    torch.manual_seed(seed)
    config = TaggerConfig(
        vocab_size=12,
        char_vocab_size=9,
        tags=TAGS,
        use_chars=use_chars,
        use_crf=use_crf,
        word_dim=6,
        char_dim=4,
        char_filters=5,
        hidden=7,
        dropout=0.0,
    )
    return Tagger(config).eval()


def batch():
    words = pad_ids([[2, 3, 4, 5], [6, 7]], 1)  # (2, 4)
    chars = torch.stack(
        [
            pad_chars([[1, 2], [3], [4, 5, 6], [7]], 3),
            torch.nn.functional.pad(pad_chars([[8, 2, 3], [4]], 3), (0, 0, 0, 2)),
        ]
    )
    return words, chars


@pytest.mark.parametrize(("use_chars", "use_crf"), [(False, False), (True, False), (True, True)])
def test_ablation_variants_tag_every_real_word(use_chars, use_crf):
    model = tiny(use_chars, use_crf)
    words, chars = batch()
    out = model(words, chars if use_chars else None)
    assert out.emissions.shape == (2, 4, len(TAGS))
    assert [len(p) for p in out.paths] == [4, 2]
    assert (out.char_activations is not None) == use_chars
    assert (out.transitions is not None) == use_crf
    if use_crf:
        assert out.transitions.shape == (len(TAGS), len(TAGS))
        assert out.transitions[TAGS.index("O"), TAGS.index("I-PER")] <= -1e3  # O -> I-PER
    if use_chars:
        assert out.char_argmax.shape == (2, 4, 5)
    assert model.config.name == "BLSTM" + ("-CNN" if use_chars else "") + (
        "-CRF" if use_crf else ""
    )


def test_crf_paths_are_valid_bio():
    model = tiny(seed=3)
    with torch.no_grad():
        model.emit.bias.copy_(torch.tensor([0.0, 0.0, 5.0, 0.0, 5.0]))  # push toward I- tags
    words, chars = batch()
    for path in model(words, chars).paths:
        tags = [TAGS[i] for i in path]
        assert not tags[0].startswith("I-")
        for before, after in zip(tags, tags[1:], strict=False):
            if after.startswith("I-"):
                assert before[2:] == after[2:] and before != "O"


def test_padding_does_not_change_a_sentence():
    model = tiny(seed=1)
    words, chars = batch()
    alone = model(words[1:, :2], chars[1:, :2])
    padded = model(words, chars)
    torch.testing.assert_close(padded.emissions[1, :2], alone.emissions[0], atol=1e-5, rtol=1e-5)
    assert padded.paths[1] == alone.paths[0]


@pytest.mark.parametrize("use_crf", [False, True])
def test_a_few_steps_learn_a_toy_labelling(use_crf):
    model = tiny(use_crf=use_crf, seed=2).train()
    words, chars = batch()
    gold = torch.tensor([[1, 2, 0, 3], [3, 4, 0, 0]])
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    first = model.loss(words, chars, gold).item()
    for _ in range(60):
        optimiser.zero_grad()
        model.loss(words, chars, gold).backward()
        optimiser.step()
    assert model.loss(words, chars, gold).item() < first / 4
    assert model.eval()(words, chars).paths == [[1, 2, 0, 3], [3, 4]]


def test_checkpoint_round_trip_rebuilds_the_constraints(tmp_path):
    model = tiny(seed=4)
    save_checkpoint(
        "t",
        model.state_dict(),
        {"family": "tagger", "config": model.config.to_json()},
        root=tmp_path,
        half=False,
    )
    rebuilt = Tagger.from_checkpoint(load_checkpoint("t", root=tmp_path))
    words, chars = batch()
    torch.testing.assert_close(rebuilt(words, chars).emissions, model(words, chars).emissions)
    assert rebuilt.crf.constrained and rebuilt.config.tags == TAGS


@pytest.mark.parametrize("variant", ["blstm", "blstm-cnn", "blstm-cnn-crf"])
def test_committed_wnut_taggers_verify_and_tag(variant):
    from nlpviz.data.vocab import Vocab
    from nlpviz.train.tagger import make_batch

    name = f"tagger-{variant}-wnut-ner"
    checkpoint = load_checkpoint(name, family="tagger")
    card = checkpoint.card
    assert card["run"]["command"].startswith(f"nlpviz train {name}")
    assert 0.2 < card["metrics"]["test_f1"] <= 1.0
    assert card["paper_figure"]["source"].startswith("Ma & Hovy (2016)")
    model = Tagger.from_checkpoint(checkpoint)
    vocab = Vocab.from_json(checkpoint.read_json("vocab.json"))
    chars = Vocab.from_json(checkpoint.read_json("chars.json"))
    from nlpviz.data.conll import TaggedSentence

    sentence = TaggedSentence(tokens=("Barack", "Obama", "visited", "London"), tags=("O",) * 4)
    words, char_ids = make_batch([sentence], vocab, chars, model.config.char_window)
    out = model(words, char_ids if model.config.use_chars else None)
    assert len(out.paths[0]) == 4
