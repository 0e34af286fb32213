"""Our miniature encoders against ``transformers``' BertModel and DebertaV2Model, weight for weight.

Tiny reference models are built here from configs with random weights (no download); their
weights are copied into ours through the explicit key maps below, and the last hidden states and
every layer's attention probabilities must agree. The DeBERTa models run at lengths both inside
and beyond the exact span of the log buckets, so the logarithmic buckets are exercised.
"""

from __future__ import annotations

import pytest
import torch
import transformers
from transformers.models.deberta_v2.modeling_deberta_v2 import make_log_bucket_position

from nlpviz.models.encoders import (
    MaskedLMEncoder,
    ReplacedTokenDetector,
    build_model,
    design_config,
    log_bucket_positions,
    relative_buckets,
)

VOCAB, D, LAYERS, HEADS, FF, MAX_LEN = 50, 16, 2, 2, 32, 24
BUCKETS, MAX_RELATIVE = 8, 24
ATOL = 1e-5
SIZE = dict(d_model=D, n_layers=LAYERS, n_heads=HEADS, d_ff=FF, max_len=MAX_LEN, dropout=0.0)


def _randomise(model: torch.nn.Module, seed: int) -> None:
    """Random weights everywhere (norms and biases too), so that no mapping error hides."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=generator))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=generator))


def _layer_map(i: int, query: str, key: str, value: str) -> dict[str, str]:
    hf, ours = f"encoder.layer.{i}.", f"body.layers.{i}."
    names = {
        f"attention.self.{query}": "attention.query",
        f"attention.self.{key}": "attention.key",
        f"attention.self.{value}": "attention.value",
        "attention.output.dense": "attention_out",
        "attention.output.LayerNorm": "attention_norm",
        "intermediate.dense": "ff_in",
        "output.dense": "ff_out",
        "output.LayerNorm": "ff_norm",
    }
    return {hf + a: ours + b for a, b in names.items()}


BERT_MAP = {
    "embeddings.word_embeddings": "body.embeddings.word",
    "embeddings.position_embeddings": "body.embeddings.position",
    "embeddings.token_type_embeddings": "body.embeddings.segment",
    "embeddings.LayerNorm": "body.embeddings.norm",
    **{k: v for i in range(LAYERS) for k, v in _layer_map(i, "query", "key", "value").items()},
}
DEBERTA_MAP = {
    "embeddings.word_embeddings": "body.embeddings.word",
    "embeddings.LayerNorm": "body.embeddings.norm",
    "encoder.rel_embeddings": "body.rel_embeddings",
    "encoder.LayerNorm": "body.rel_norm",
    **{
        k: v
        for i in range(LAYERS)
        for k, v in _layer_map(i, "query_proj", "key_proj", "value_proj").items()
    },
}


def _copy(
    reference: torch.nn.Module,
    ours: torch.nn.Module,
    modules: dict[str, str],
    params: dict[str, str] | None = None,
) -> None:
    """Copy every reference parameter into ours by the module (and parameter) map.

    Every reference parameter must find a place, and every parameter of our body a source.
    """
    theirs = dict(reference.named_parameters())
    target = dict(ours.named_parameters())
    used = set()
    with torch.no_grad():
        for hf_name, our_name in (params or {}).items():
            target[our_name].copy_(theirs[hf_name])
            used.add(hf_name)
        for hf_module, our_module in modules.items():
            for leaf in ("weight", "bias"):
                hf_name, our_name = f"{hf_module}.{leaf}", f"{our_module}.{leaf}"
                if hf_name not in theirs:
                    continue
                assert target[our_name].shape == theirs[hf_name].shape, hf_name
                target[our_name].copy_(theirs[hf_name])
                used.add(hf_name)
    assert used == set(theirs), f"reference parameters left uncopied: {set(theirs) - used}"
    body = {n for n in target if n.startswith("body.")}
    mapped = {f"{v}.{leaf}" for v in modules.values() for leaf in ("weight", "bias")}
    assert body <= mapped, f"our body parameters without a source: {body - mapped}"


@pytest.fixture(scope="module")
def bert_pair():
    ours = MaskedLMEncoder(design_config("bert", VOCAB, **SIZE)).eval()
    config = transformers.BertConfig(
        vocab_size=VOCAB,
        hidden_size=D,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=FF,
        max_position_embeddings=MAX_LEN,
        type_vocab_size=2,
        hidden_act="gelu",
        layer_norm_eps=ours.config.layer_norm_eps,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        pad_token_id=0,
        attn_implementation="eager",
    )
    reference = transformers.BertModel(config, add_pooling_layer=False).eval()
    _randomise(reference, seed=1)
    _copy(reference, ours, BERT_MAP)
    return reference, ours


@pytest.fixture(scope="module")
def deberta_pair():
    ours = MaskedLMEncoder(
        design_config(
            "deberta",
            VOCAB,
            position_buckets=BUCKETS,
            max_relative_positions=MAX_RELATIVE,
            **SIZE,
        )
    ).eval()
    config = transformers.DebertaV2Config(
        vocab_size=VOCAB,
        hidden_size=D,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=FF,
        max_position_embeddings=MAX_LEN,
        type_vocab_size=0,
        relative_attention=True,
        position_buckets=BUCKETS,
        max_relative_positions=MAX_RELATIVE,
        pos_att_type=["p2c", "c2p"],
        share_att_key=True,
        norm_rel_ebd="layer_norm",
        position_biased_input=False,
        hidden_act="gelu",
        layer_norm_eps=ours.config.layer_norm_eps,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        pad_token_id=0,
        attn_implementation="eager",
    )
    reference = transformers.DebertaV2Model(config).eval()
    _randomise(reference, seed=2)
    _copy(reference, ours, DEBERTA_MAP)
    return reference, ours


def _batch(length: int, seed: int, pad: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two rows of random non-pad ids; the second row ends in ``pad`` padding tokens."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, VOCAB, (2, length), generator=generator)
    mask = torch.ones_like(ids)
    if pad:
        ids[1, -pad:] = 0
        mask[1, -pad:] = 0
    return ids, mask


def _assert_same(ours, reference_out, mask: torch.Tensor) -> None:
    """Hidden states and attention at the real positions (padded rows are nobody's output)."""
    real = mask.bool()
    assert len(ours.attentions) == len(reference_out.attentions) == LAYERS
    torch.testing.assert_close(
        ours.hidden[real], reference_out.last_hidden_state[real], atol=ATOL, rtol=0
    )
    for mine, theirs in zip(ours.attentions, reference_out.attentions, strict=True):
        assert mine.shape == theirs.shape
        for b in range(mask.shape[0]):
            rows = real[b]
            torch.testing.assert_close(mine[b][:, rows], theirs[b][:, rows], atol=ATOL, rtol=0)


# ---- BERT -----------------------------------------------------------------------------------


@pytest.mark.parametrize("pad", [0, 5])
def test_bert_matches_transformers(bert_pair, pad):
    reference, ours = bert_pair
    ids, mask = _batch(12, seed=pad, pad=pad)
    types = torch.zeros_like(ids)
    types[:, 6:] = 1  # a second segment, so the segment table is read
    with torch.no_grad():
        theirs = reference(
            input_ids=ids, attention_mask=mask, token_type_ids=types, output_attentions=True
        )
        mine = ours(ids, token_type_ids=types, attention_mask=mask)
    _assert_same(mine, theirs, mask)
    if pad:  # the padded keys get no weight, in both
        assert float(mine.attentions[0][1, :, :, -pad:].abs().max()) == 0.0


def test_bert_default_mask_and_types(bert_pair):
    """Without an explicit mask ours masks ``pad_id``; without types both read segment 0."""
    reference, ours = bert_pair
    ids, mask = _batch(10, seed=7, pad=3)
    with torch.no_grad():
        theirs = reference(input_ids=ids, attention_mask=mask, output_attentions=True)
        mine = ours(ids)
    _assert_same(mine, theirs, mask)


def test_bert_full_window(bert_pair):
    reference, ours = bert_pair
    ids, mask = _batch(MAX_LEN, seed=3)
    with torch.no_grad():
        theirs = reference(input_ids=ids, attention_mask=mask, output_attentions=True)
        mine = ours(ids, attention_mask=mask)
    _assert_same(mine, theirs, mask)


def test_bert_pretraining_heads_match_transformers(bert_pair):
    """The tied masked-LM head and the next-sentence head against BertForPreTraining."""
    ours = MaskedLMEncoder(design_config("bert", VOCAB, **SIZE)).eval()
    reference = transformers.BertForPreTraining(bert_pair[0].config).eval()
    _randomise(reference, seed=4)
    assert (
        reference.cls.predictions.decoder.weight is reference.bert.embeddings.word_embeddings.weight
    )
    heads = {
        **{f"bert.{k}": v for k, v in BERT_MAP.items()},
        "bert.pooler.dense": "pooler",
        "cls.predictions.transform.dense": "mlm.dense",
        "cls.predictions.transform.LayerNorm": "mlm.norm",
        "cls.seq_relationship": "nsp",
    }
    _copy(reference, ours, heads, {"cls.predictions.bias": "mlm.bias"})
    ids, mask = _batch(12, seed=5, pad=4)
    types = torch.zeros_like(ids)
    types[:, 5:] = 1
    with torch.no_grad():
        theirs = reference(input_ids=ids, attention_mask=mask, token_type_ids=types)
        mine = ours(ids, token_type_ids=types, attention_mask=mask)
    real = mask.bool()
    torch.testing.assert_close(
        mine.mlm_logits[real], theirs.prediction_logits[real], atol=1e-4, rtol=1e-5
    )
    # label 0 = "B follows A", 1 = "B is random", in both
    torch.testing.assert_close(mine.nsp_logits, theirs.seq_relationship_logits, atol=ATOL, rtol=0)


# ---- DeBERTa --------------------------------------------------------------------------------


def test_log_buckets_match_transformers():
    distances = torch.arange(-300, 301)
    for buckets, max_position in [(8, 24), (32, 128), (256, 512), (4, 10), (16, 64)]:
        ours = log_bucket_positions(distances, buckets, max_position)
        theirs = make_log_bucket_position(distances, buckets, max_position).long()
        assert torch.equal(ours, theirs), (buckets, max_position)
        # exact inside the span, odd-symmetric everywhere, monotone
        mid = buckets // 2
        inside = distances.abs() <= mid
        assert torch.equal(ours[inside], distances[inside])
        assert torch.equal(ours, -ours.flip(0))
        assert bool((ours[1:] >= ours[:-1]).all())
        # up to max_position the buckets stay within [-k, k) and so index the 2k embeddings
        near = distances.abs() < max_position
        assert int(ours[near].max()) < buckets and int(ours[near].min()) >= -buckets


def test_relative_buckets_are_log_buckets_of_i_minus_j():
    config = design_config("deberta", VOCAB, position_buckets=BUCKETS, **SIZE)
    table = relative_buckets(20, config)
    i, j = torch.meshgrid(torch.arange(20), torch.arange(20), indexing="ij")
    expected = make_log_bucket_position(i - j, BUCKETS, config.max_relative_positions).long()
    assert table.shape == (20, 20) and torch.equal(table, expected)
    assert int(table.abs().max()) > BUCKETS // 2  # at T=20 the log buckets are in play


def test_deberta_config_matches_the_reference(deberta_pair):
    reference, ours = deberta_pair
    attention = reference.encoder.layer[0].attention.self
    assert attention.pos_ebd_size == ours.config.position_buckets
    assert attention.max_relative_positions == ours.config.max_relative_positions
    assert reference.encoder.rel_embeddings.weight.shape == ours.body.rel_embeddings.weight.shape
    assert reference.embeddings.position_embeddings is None  # position_biased_input=False
    assert ours.body.embeddings.position is None and ours.body.embeddings.segment is None


@pytest.mark.parametrize("length,pad", [(6, 0), (6, 2), (20, 0), (20, 7), (MAX_LEN, 0)])
def test_deberta_matches_transformers(deberta_pair, length, pad):
    reference, ours = deberta_pair
    ids, mask = _batch(length, seed=length + pad, pad=pad)
    with torch.no_grad():
        theirs = reference(input_ids=ids, attention_mask=mask, output_attentions=True)
        mine = ours(ids, attention_mask=mask)
        body = ours.body(ids, attention_mask=mask)
    # ``hidden`` is the body's last layer, not the mask decoder's output
    assert torch.equal(mine.hidden, body.hidden)
    _assert_same(mine, theirs, mask)
    # at T=6 every distance has its own bucket; at T=20 the far ones share log buckets
    assert (int(mine.buckets.abs().max()) < length - 1) == (length > BUCKETS)


@pytest.mark.parametrize("design,length", [("deberta", 6), ("deberta", 20), ("debertav3", 20)])
def test_score_terms_sum_to_the_attention(deberta_pair, design, length):
    """softmax(c2c + c2p + p2c) over the unmasked keys is the returned attention, per layer."""
    if design == "deberta":
        ours = deberta_pair[1]  # the weights copied from DebertaV2Model
    else:  # DeBERTaV3's discriminator (a ReplacedTokenDetector) returns the same terms
        torch.manual_seed(0)
        ours = build_model(design, design_config(design, VOCAB, position_buckets=BUCKETS, **SIZE))
        assert isinstance(ours, ReplacedTokenDetector)
        ours.eval()
    ids, mask = _batch(length, seed=11, pad=3)
    with torch.no_grad():
        out = ours(ids, attention_mask=mask)
    assert out.c2p is not None and out.p2c is not None
    keys = mask.bool()[:, None, None, :]  # (B, 1, 1, T)
    for c2c, c2p, p2c, probs in zip(out.c2c, out.c2p, out.p2c, out.attentions, strict=True):
        assert c2c.shape == c2p.shape == p2c.shape == probs.shape == (2, HEADS, length, length)
        scores = (c2c + c2p + p2c).masked_fill(~keys, float("-inf"))
        torch.testing.assert_close(scores.softmax(-1), probs, atol=1e-6, rtol=0)
        assert not torch.allclose(c2p, torch.zeros_like(c2p))
        assert not torch.allclose(p2c, torch.zeros_like(p2c))
