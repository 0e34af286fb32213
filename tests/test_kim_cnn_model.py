"""Kim CNN: shapes, the max-pool's n-gram, padding invariance, max-norm, variants."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import tiny_kim

from nlpviz.analysis.kim_cnn import read_text, top_features
from nlpviz.models.kim_cnn import KimCNN, KimCNNConfig, pad_ids, window_span


@pytest.mark.parametrize("variant", ["rand", "static", "non-static", "multichannel"])
def test_forward_shapes(variant):
    model, vocab = tiny_kim(variant)
    ids = pad_ids([vocab.encode("the film is very great".split()), vocab.encode(["ok"])], 5)
    out = model(ids)
    assert out.logits.shape == (2, 2)
    assert out.pooled.shape == (2, 3 * 4)
    for width, fmap, where in zip((3, 4, 5), out.feature_maps, out.pool_argmax, strict=True):
        assert fmap.shape == (2, 4, 5 - width + 1)
        assert where.shape == (2, 4)
    # The one-token sentence has one valid window per width, so every max-pool picks position 0.
    assert all(int(w[1].max()) == 0 for w in out.pool_argmax)


def test_variants_freeze_the_right_tables():
    static, _ = tiny_kim("static")
    assert not static.embedding.weight.requires_grad
    multi, _ = tiny_kim("multichannel")
    assert multi.embedding.weight.requires_grad
    assert not multi.static_embedding.weight.requires_grad
    assert multi.convs[0].in_channels == 2 * multi.config.embed_dim
    with pytest.raises(ValueError, match="variant"):
        KimCNNConfig(vocab_size=10, variant="dynamic")


def test_max_pool_argmax_maps_back_to_the_planted_ngram():
    """A width-2 filter that matches exactly the vectors of "very great" must pick that bigram."""
    model, vocab = tiny_kim("non-static", filter_widths=(2,), num_filters=1, embed_dim=4)
    table = torch.zeros(len(vocab), 4)
    for word, axis in (("very", 0), ("great", 1), ("the", 2), ("film", 3)):
        table[vocab.stoi[word], axis] = 1.0
    model.load_pretrained(table)
    with torch.no_grad():
        kernel = torch.zeros(1, 4, 2)  # (filters, dim, width): "very" then "great"
        kernel[0, 0, 0] = 1.0
        kernel[0, 1, 1] = 1.0
        model.convs[0].weight.copy_(kernel)
        model.convs[0].bias.zero_()
    text = "the film is very great ok"
    reading = read_text(model, vocab, text, ("neg", "pos"), torch.device("cpu"))
    position = int(reading.pool_argmax[0][0])
    assert position == 3
    assert window_span(position, 2, len(reading.tokens.tokens)) == (3, 5)
    (feature,) = [f for f in top_features(reading, 2) if f.width == 2]
    assert feature.ngram == "very great"
    assert feature.activation == pytest.approx(2.0)
    assert reading.feature_maps[0][0].tolist() == pytest.approx([0, 0, 0, 2.0, 0])


def test_window_span_clips_to_the_sentence():
    assert window_span(0, 5, 2) == (0, 2)
    assert window_span(4, 3, 10) == (4, 7)
    with pytest.raises(ValueError):
        window_span(-1, 3, 5)


def test_output_does_not_depend_on_batch_padding():
    model, vocab = tiny_kim("multichannel")
    short = vocab.encode("very great film".split())
    alone = model(pad_ids([short], 5)).logits
    padded = model(pad_ids([short, vocab.encode(("the film is " * 6).split())], 5)).logits[:1]
    torch.testing.assert_close(alone, padded)


def test_max_norm_holds_after_a_training_step():
    model, vocab = tiny_kim("non-static")
    model.train()
    with torch.no_grad():
        model.output.weight.mul_(100.0)
    optimiser = torch.optim.SGD(model.parameters(), lr=10.0)
    ids = pad_ids([vocab.encode("the film is very great".split())] * 4, 5)
    loss = torch.nn.functional.cross_entropy(model(ids).logits, torch.tensor([1, 0, 1, 0]))
    loss.backward()
    optimiser.step()
    assert model.output.weight.norm(dim=1).max() > 3.0  # the step itself breaks the constraint
    model.apply_max_norm()
    norms = model.output.weight.detach().norm(dim=1)
    assert float(norms.max()) <= 3.0 + 1e-5
    assert np.allclose(norms.detach().numpy(), 3.0, atol=1e-4)


def test_max_norm_leaves_short_vectors_alone():
    model, _ = tiny_kim("rand")
    with torch.no_grad():
        model.output.weight.mul_(1e-3)
    before = model.output.weight.clone()
    model.apply_max_norm()
    torch.testing.assert_close(model.output.weight, before)


def test_padding_only_input_is_rejected_when_too_short():
    model, _ = tiny_kim("rand")
    with pytest.raises(ValueError, match="padded"):
        model.forward_embedded(torch.zeros(1, 2, 6), torch.tensor([2]))


def test_from_checkpoint_builds_in_eval_mode(tmp_path):
    from nlpviz.checkpoints import load_checkpoint, save_checkpoint

    model, _ = tiny_kim("static")
    save_checkpoint(
        "tiny",
        model.state_dict(),
        {"family": "kim_cnn", "config": model.config.to_json()},
        root=tmp_path,
        half=False,
    )
    rebuilt = KimCNN.from_checkpoint(load_checkpoint("tiny", root=tmp_path))
    assert not rebuilt.training
    assert rebuilt.config == model.config
