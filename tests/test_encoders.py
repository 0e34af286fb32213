"""Unit tests of the miniature encoders (BERT, RoBERTa, DeBERTa, DeBERTaV3) on tiny configs.

The parity with ``transformers`` is in ``test_encoder_parity.py``; here: conservation laws
(attention rows sum to 1, padded keys get nothing), the heads, the EMD and GDES switches.
"""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from nlpviz.models.encoders import (
    DESIGNS,
    EncoderConfig,
    MaskedLMEncoder,
    ReplacedTokenDetector,
    build_model,
    design_config,
)

VOCAB = 50
SIZE = dict(d_model=16, n_layers=2, n_heads=2, d_ff=32, max_len=24, position_buckets=8)


def tiny(design: str, seed: int = 0, **overrides) -> MaskedLMEncoder | ReplacedTokenDetector:
    torch.manual_seed(seed)
    config = design_config(design, VOCAB, **{**SIZE, "dropout": 0.0, **overrides})
    return build_model(design, config).eval()


def padded_batch(length: int = 12, pad: int = 4, seed: int = 0) -> torch.Tensor:
    """Two rows of non-special ids; the second row ends in ``pad`` [PAD] (id 0) tokens."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, VOCAB, (2, length), generator=generator)
    ids[:, 0] = 2  # [CLS]
    ids[1, -pad:] = 0
    return ids


@pytest.mark.parametrize("design", DESIGNS)
def test_attention_rows_sum_to_one_and_padding_gets_nothing(design):
    model = tiny(design)
    ids = padded_batch()
    with torch.no_grad():
        out = model(ids)
    assert len(out.attentions) == SIZE["n_layers"]
    for probs in out.attentions:
        assert probs.shape == (2, SIZE["n_heads"], 12, 12)
        torch.testing.assert_close(probs.sum(-1), torch.ones(2, SIZE["n_heads"], 12))
        assert bool((probs >= 0).all())
        assert float(probs[1, :, :, -4:].abs().max()) == 0.0  # padded keys
        assert float(probs[0, :, :, -4:].min()) > 0.0  # the same positions, real in row 0
    # an explicit attention mask is the same as the default (ids != pad)
    with torch.no_grad():
        explicit = model(ids, attention_mask=(ids != 0).long())
    for a, b in zip(out.attentions, explicit.attentions, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("design", DESIGNS)
def test_padding_does_not_change_the_real_tokens(design):
    """A row padded to a longer batch reads the same as alone (relative positions included)."""
    model = tiny(design)
    ids = padded_batch(length=12, pad=4)
    with torch.no_grad():
        batched = model(ids)
        alone = model(ids[1:, :8])
    torch.testing.assert_close(batched.hidden[1, :8], alone.hidden[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(
        batched.attentions[-1][1, :, :8, :8], alone.attentions[-1][0], atol=1e-6, rtol=0
    )


@pytest.mark.parametrize("design", ["bert", "roberta", "deberta"])
def test_predict_mask_gives_the_full_logits_at_the_chosen_positions(design):
    model = tiny(design)
    ids = padded_batch()
    chosen = torch.zeros_like(ids, dtype=torch.bool)
    chosen[0, [1, 5, 11]] = True
    chosen[1, [2, 3]] = True
    with torch.no_grad():
        full = model(ids)
        some = model(ids, predict_mask=chosen)
    assert full.mlm_logits.shape == (2, 12, VOCAB)
    assert some.mlm_logits.shape == (5, VOCAB)
    torch.testing.assert_close(some.mlm_logits, full.mlm_logits[chosen], atol=1e-6, rtol=0)
    # the rest of the output does not depend on which positions are predicted
    assert torch.equal(some.hidden, full.hidden)


def test_config_rejects_bad_sizes():
    with pytest.raises(ValueError, match="multiple of n_heads"):
        EncoderConfig(VOCAB, d_model=18, n_heads=4)
    with pytest.raises(ValueError, match="disentangled"):
        EncoderConfig(VOCAB, emd=True, relative_attention=False)
    with pytest.raises(ValueError, match="unknown design"):
        design_config("gpt", VOCAB)
    assert EncoderConfig(VOCAB, d_model=16, n_heads=4).d_head == 4


@pytest.mark.parametrize("design", ["bert", "roberta", "deberta"])
def test_text_longer_than_the_window_is_refused(design):
    model = tiny(design)
    with torch.no_grad():
        model(torch.full((1, 24), 7))  # exactly the window is fine
        with pytest.raises(ValueError, match="25 tokens exceed the model's window of 24"):
            model(torch.full((1, 25), 7))


def test_relative_positions_read_past_the_training_window():
    v3 = tiny("debertav3")
    deberta = tiny("deberta")
    with torch.no_grad():
        long = torch.full((1, 60), 7)
        out = v3(long)  # the discriminator: no absolute table anywhere
        assert out.rtd_logits.shape == (1, 60)
        assert torch.allclose(out.attentions[0].sum(-1), torch.ones(1, 2, 60))
        assert deberta.body(long).hidden.shape == (1, 60, 16)  # the body reads it too


def test_design_switches():
    bert, roberta, deberta, v3 = (design_config(d, VOCAB, **SIZE) for d in DESIGNS)
    assert bert.type_vocab_size == 2 and bert.nsp and bert.absolute_positions
    assert not bert.relative_attention and not bert.emd
    assert roberta.type_vocab_size == 0 and not roberta.nsp and roberta.absolute_positions
    assert not roberta.relative_attention and not roberta.emd
    assert deberta.relative_attention and deberta.emd and not deberta.absolute_positions
    assert deberta.type_vocab_size == 0 and not deberta.nsp
    assert v3.relative_attention and not v3.emd and not v3.absolute_positions and not v3.nsp
    # the sizes pass through to every design
    assert {c.d_model for c in (bert, roberta, deberta, v3)} == {16}


def test_modules_follow_the_switches():
    bert, roberta, deberta, v3 = (tiny(d) for d in DESIGNS)
    assert bert.body.embeddings.segment is not None and hasattr(bert, "nsp")
    assert bert.body.embeddings.position is not None and not hasattr(bert.body, "rel_embeddings")
    assert roberta.body.embeddings.segment is None and not hasattr(roberta, "nsp")
    assert roberta.body.embeddings.position is not None
    assert deberta.body.embeddings.position is None and hasattr(deberta.body, "rel_embeddings")
    assert hasattr(deberta, "emd_positions")
    assert v3.body.embeddings.position is None and v3.body.embeddings.word is None
    assert not hasattr(v3.generator, "emd_positions")
    ids = padded_batch()
    with torch.no_grad():
        out_bert, out_roberta, out_deberta = bert(ids), roberta(ids), deberta(ids)
    assert out_bert.nsp_logits.shape == (2, 2) and out_roberta.nsp_logits is None
    assert out_bert.c2p is None and out_bert.buckets is None
    assert out_deberta.c2p is not None and out_deberta.buckets.shape == (12, 12)
    # BERT's segments are read: a different segment B changes the states
    types = torch.zeros_like(ids)
    types[:, 6:] = 1
    with torch.no_grad():
        assert not torch.allclose(bert(ids, token_type_ids=types).hidden, out_bert.hidden)


def test_build_model_returns_the_right_class():
    for design in DESIGNS:
        model = build_model(design, design_config(design, VOCAB, **SIZE))
        expected = ReplacedTokenDetector if design == "debertav3" else MaskedLMEncoder
        assert type(model) is expected


def test_deberta_reads_positions_only_through_relative_distances():
    """On a run of one repeated token, DeBERTa's layer-0 scores depend only on d(i, j)."""
    model = tiny("deberta")
    ids = torch.full((1, 20), 7)
    with torch.no_grad():
        out = model(ids)
    c2c, c2p, p2c = out.c2c[0][0], out.c2p[0][0], out.p2c[0][0]  # (H, T, T)
    torch.testing.assert_close(c2c, c2c[:, :1, :1].expand_as(c2c))  # no position in the content
    buckets = out.buckets  # (T, T)
    for term in (c2p, p2c):
        for bucket in buckets.unique():
            cells = term[:, buckets == bucket]  # (H, n): every pair at this distance
            torch.testing.assert_close(cells, cells[:, :1].expand_as(cells))
        assert not torch.allclose(term, term[:, :1, :1].expand_as(term))  # but distance matters
    # BERT's absolute positions make the same run's content scores differ by position
    bert = tiny("bert")
    with torch.no_grad():
        c2c_bert = bert(ids).c2c[0][0]
    assert not torch.allclose(c2c_bert, c2c_bert[:, :1, :1].expand_as(c2c_bert))


def test_emd_absolute_changes_the_logits_but_not_the_body():
    model = tiny("deberta")
    ids = padded_batch()
    with torch.no_grad():
        with_positions = model(ids, emd_absolute=True)
        without = model(ids, emd_absolute=False)
    assert not torch.allclose(with_positions.mlm_logits, without.mlm_logits, atol=1e-4)
    assert torch.equal(with_positions.hidden, without.hidden)
    for a, b in zip(with_positions.attentions, without.attentions, strict=True):
        assert torch.equal(a, b)
    # the oracle: with zero position embeddings the decoder is the same either way
    with torch.no_grad():
        model.emd_positions.weight.zero_()
        zeroed = model(ids, emd_absolute=True)
    torch.testing.assert_close(zeroed.mlm_logits, without.mlm_logits)


def test_emd_is_the_last_layer_run_twice_on_the_penultimate_states():
    model = tiny("deberta")
    ids = padded_batch()
    mask = ids != 0
    last = model.body.layers[-1]
    with torch.no_grad():
        out = model(ids)
        states = model.body(ids)
        rel, buckets = model.body.relative(ids.shape[1], ids.device)
        query = states.penultimate + model.emd_positions.weight[: ids.shape[1]]
        for _ in range(2):
            query, _ = last(states.penultimate, mask, query, rel, buckets)
        expected = model.mlm(query, model.word_weight)
        # and the penultimate states are the input of the last layer
        again, _ = last(states.penultimate, mask, None, rel, buckets)
    torch.testing.assert_close(out.mlm_logits, expected)
    torch.testing.assert_close(again, states.hidden)


@pytest.mark.parametrize("design", ["bert", "roberta", "deberta"])
def test_mlm_head_is_tied_to_the_word_embeddings(design):
    model = tiny(design)
    ids = padded_batch()
    assert 4 not in ids.tolist()  # id 4 ([MASK]) is not read, only scored
    with torch.no_grad():
        before = model(ids).mlm_logits
        model.body.embeddings.word.weight[4] += torch.randn(SIZE["d_model"])
        after = model(ids).mlm_logits
    changed = (before - after).abs().amax(dim=(0, 1)) > 1e-6  # (V,)
    assert changed.tolist() == [v == 4 for v in range(VOCAB)]  # only the column of id 4 moves
    # and the loss trains the table through the head
    model.zero_grad()
    loss = F.cross_entropy(model(ids).mlm_logits[0], ids[0])
    loss.backward()
    assert model.body.embeddings.word.weight.grad[4].abs().sum() > 0
    assert not any(
        n.startswith("mlm.") and "weight" in n and p.shape[0] == VOCAB
        for n, p in model.named_parameters()
    )  # no separate decoder matrix


def test_gdes_stops_the_rtd_gradient_at_the_generators_embeddings():
    model = tiny("debertav3", n_layers=4)
    assert len(model.generator.body.layers) == 2 and len(model.body.layers) == 4
    assert not model.generator.config.emd
    assert tiny("debertav3", n_layers=1).generator.config.n_layers == 1
    ids = padded_batch()
    replaced = (torch.rand(ids.shape, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    model.train()
    out = model(ids)
    assert out.rtd_logits.shape == ids.shape
    loss = F.binary_cross_entropy_with_logits(out.rtd_logits, replaced)
    loss.backward()
    generator_words = model.generator.body.embeddings.word.weight
    assert generator_words.grad is None or float(generator_words.grad.abs().max()) == 0.0
    assert model.word_delta.grad is not None and float(model.word_delta.grad.abs().max()) > 0
    # only the rows of the ids read get a gradient
    read = torch.zeros(VOCAB, dtype=torch.bool)
    read[ids.unique()] = True
    rows = model.word_delta.grad.abs().sum(-1) > 0
    assert torch.equal(rows, read)
    # the generator's own MLM loss does reach its table
    model.zero_grad()
    gen = model.generator(ids)
    F.cross_entropy(gen.mlm_logits.flatten(0, 1), ids.flatten()).backward()
    assert float(generator_words.grad.abs().max()) > 0
    # E_D = E_G + E_delta
    with torch.no_grad():
        model.word_delta.normal_()
    torch.testing.assert_close(model.word_weight, generator_words + model.word_delta)


def test_forward_leaves_no_state_on_the_modules():
    for design in DESIGNS:
        model = tiny(design)
        before = {name: set(vars(m)) for name, m in model.named_modules()}
        with torch.no_grad():
            model(padded_batch())
        assert {name: set(vars(m)) for name, m in model.named_modules()} == before
