"""The translation models and beam search, on tiny random models (no checkpoint needed).

Oracles: greedy decoding for beam 1, teacher-forced log-probabilities for the tree's scores,
the forward model on a hand-reversed source for the reversed model, a changed future token for
the causal mask, and the batch forward for the one-step decoders.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nlpviz.data.translation import BOS_ID, EOS_ID, PAD_ID
from nlpviz.models.beam import MAX_BEAM, beam_search, clamp_beam, greedy_decode, length_norm
from nlpviz.models.seq2seq import Seq2Seq, Seq2SeqConfig, reverse_padded
from nlpviz.models.transformer import Transformer, TransformerConfig, causal_mask, noam_rate

V_SRC, V_TGT = 30, 25


def lstm(reverse: bool = False, attention: str | None = None, seed: int = 0) -> Seq2Seq:
    torch.manual_seed(seed)
    config = Seq2SeqConfig(
        V_SRC,
        V_TGT,
        d_embed=16,
        d_hidden=16,
        n_layers=2,
        reverse_source=reverse,
        attention=attention,
    )
    return Seq2Seq(config).eval()


def transformer(seed: int = 0) -> Transformer:
    torch.manual_seed(seed)
    config = TransformerConfig(
        V_SRC, V_TGT, d_model=16, n_heads=2, d_ff=32, n_encoder_layers=2, n_decoder_layers=2
    )
    return Transformer(config).eval()


def eos_friendly(model):
    """Make </s> likely enough that some hypotheses finish early."""
    with torch.no_grad():
        if isinstance(model, Transformer):
            model.out_bias[EOS_ID] = 2.5
        else:
            model.out.bias[EOS_ID] += 2.5
    return model


ALL = {
    "lstm": lambda: lstm(),
    "lstm-reversed": lambda: lstm(reverse=True),
    "lstm-attention": lambda: lstm(attention="luong"),
    "transformer": lambda: transformer(),
}


def sources(n: int = 6, seed: int = 1) -> list[torch.Tensor]:
    rng = np.random.default_rng(seed)
    return [
        torch.tensor([rng.integers(4, V_SRC, size=int(rng.integers(2, 9))).tolist()])
        for _ in range(n)
    ]


def test_reverse_padded_reverses_real_part_and_is_an_involution():
    ids = torch.tensor([[5, 6, 7, 0, 0], [8, 9, 10, 11, 12]])
    lengths = torch.tensor([3, 5])
    flipped = reverse_padded(ids, lengths)
    assert flipped.tolist() == [[7, 6, 5, 0, 0], [12, 11, 10, 9, 8]]
    assert torch.equal(reverse_padded(flipped, lengths), ids)


def test_reversing_applies_to_the_source_only():
    forward, reverse = lstm(reverse=False), lstm(reverse=True)
    reverse.load_state_dict(forward.state_dict())
    src = torch.tensor([[5, 6, 7, 8, PAD_ID], [9, 10, 11, 12, 13]])
    hand = torch.tensor([[8, 7, 6, 5, PAD_ID], [13, 12, 11, 10, 9]])
    tgt_in = torch.tensor([[BOS_ID, 4, 5, 6], [BOS_ID, 7, 8, PAD_ID]])
    ours, oracle = reverse(src, tgt_in), forward(hand, tgt_in)
    # the same target positions get the same logits: the target was not reversed
    torch.testing.assert_close(ours.logits, oracle.logits)
    torch.testing.assert_close(ours.sentence, oracle.sentence)
    assert ours.read_order.tolist() == [[3, 2, 1, 0, 4], [4, 3, 2, 1, 0]]
    # and the reversed source really changes what the model computes
    assert not torch.allclose(forward(src, tgt_in).logits, ours.logits)


def test_reversed_attention_is_reported_in_source_order():
    forward, reverse = lstm(attention="luong"), lstm(reverse=True, attention="luong")
    reverse.load_state_dict(forward.state_dict())
    src = torch.tensor([[5, 6, 7, 8]])
    tgt_in = torch.tensor([[BOS_ID, 4, 5]])
    ours = reverse(src, tgt_in).alignment  # (1, T, S) source order
    oracle = forward(torch.tensor([[8, 7, 6, 5]]), tgt_in).alignment.flip(-1)
    torch.testing.assert_close(ours, oracle)
    torch.testing.assert_close(ours.sum(-1), torch.ones(1, 3))


@pytest.mark.parametrize("kind", list(ALL))
def test_one_step_decoder_matches_teacher_forcing(kind):
    model = ALL[kind]()
    src = torch.tensor([[5, 6, 7, 8, 9]])
    tgt_in = torch.tensor([[BOS_ID, 4, 9, 12, 7]])
    full = torch.log_softmax(model(src, tgt_in).logits[0], dim=-1)  # (T, V)
    memory = model.encode(src)
    state = model.start_state(memory)
    for t in range(tgt_in.shape[1]):
        out = model.step(memory, tgt_in[:, : t + 1], state)
        state = out.state
        torch.testing.assert_close(out.log_probs[0], full[t], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", list(ALL))
def test_beam_one_equals_greedy(kind):
    model = eos_friendly(ALL[kind]())
    finished = 0
    for src in sources():
        result = beam_search(model, src, beam_size=1, max_len=12)
        assert list(result.tokens) == greedy_decode(model, src, max_len=12)[0]
        finished += result.finished
    assert finished > 0  # the comparison covered hypotheses that ended with </s>


@pytest.mark.parametrize("kind", list(ALL))
@pytest.mark.parametrize("beam,alpha", [(2, 0.0), (4, 0.0), (4, 0.6)])
def test_best_leaf_is_the_translation_and_its_score_is_the_sum_of_log_probs(kind, beam, alpha):
    model = eos_friendly(ALL[kind]())
    for src in sources(4, seed=beam):
        result = beam_search(model, src, beam_size=beam, max_len=10, length_penalty=alpha)
        path = result.path(result.best_leaf)[1:]  # without the root
        tokens = [n.token for n in path]
        if result.finished:
            assert tokens[-1] == EOS_ID
            tokens = tokens[:-1]
        assert tokens == list(result.tokens)
        assert result.score == pytest.approx(sum(n.token_log_prob for n in path), abs=1e-9)
        # oracle: the model's own teacher-forced log-probabilities of the chosen output
        out_ids = list(result.tokens) + ([EOS_ID] if result.finished else [])
        tgt_in = torch.tensor([[BOS_ID, *out_ids[:-1]]])
        log_probs = torch.log_softmax(model(src, tgt_in).logits[0], dim=-1)
        picked = log_probs[torch.arange(len(out_ids)), torch.tensor(out_ids)]
        oracle = float(picked.detach().sum())
        assert result.score == pytest.approx(oracle, abs=1e-4)
        # every node's score is its parent's plus its own log-probability
        for node in result.nodes[1:]:
            parent = result.nodes[node.parent]
            assert node.score == pytest.approx(parent.score + node.token_log_prob, abs=1e-9)
        # no step keeps more than the beam, and the chosen leaf is the best finished one
        kept = [n for n in result.nodes if n.status in ("kept", "finished", "cut", "stopped")]
        for step in {n.step for n in kept}:
            assert sum(n.step == step for n in kept) <= beam
        done = [
            n.score / length_norm(n.step, alpha) for n in result.nodes if n.status == "finished"
        ]
        if done:  # the chosen leaf is the best finished one, ranked by score / lp(length)
            assert result.normalized_score == pytest.approx(max(done))
            assert result.normalized_score == pytest.approx(
                result.score / length_norm(len(path), alpha)
            )


def test_beam_search_keeps_pruned_branches_and_terminates_at_max_len():
    model = lstm()
    with torch.no_grad():
        model.out.bias[EOS_ID] = -50.0  # never finishes
    result = beam_search(model, sources(1)[0], beam_size=3, max_len=4)
    statuses = [n.status for n in result.nodes]
    assert result.steps == 4 and not result.finished and len(result.tokens) == 4
    assert statuses.count("cut") == 3
    assert statuses.count("pruned") == 1 * 3 - 3 + 3 * (3 * 3 - 3)  # step 1: 3 of 3 kept
    assert statuses[0] == "root"


def test_length_penalty_prefers_longer_outputs_than_raw_scores():
    model = eos_friendly(lstm(seed=3))
    raw = [beam_search(model, s, 4, max_len=12) for s in sources(6, seed=7)]
    norm = [beam_search(model, s, 4, max_len=12, length_penalty=1.0) for s in sources(6, seed=7)]
    assert sum(len(r.tokens) for r in norm) >= sum(len(r.tokens) for r in raw)
    assert length_norm(1, 0.6) == pytest.approx((6 / 6) ** 0.6) and length_norm(7, 0.0) == 1.0


def test_beam_size_is_bounded():
    assert clamp_beam(0) == 1 and clamp_beam(-5) == 1 and clamp_beam(10_000) == MAX_BEAM
    result = beam_search(lstm(), sources(1)[0], beam_size=0, max_len=3)
    assert result.beam_size == 1


@torch.no_grad()
def test_causal_mask_gives_zero_attention_to_the_future():
    model = transformer()
    src = torch.tensor([[5, 6, 7, 8]])
    tgt_in = torch.tensor([[BOS_ID, 4, 9, 12, 7, 5]])
    out = model(src, tgt_in)
    future = ~causal_mask(tgt_in.shape[1])[0]  # (T, T) True above the diagonal
    for probs in out.decoder_attention:  # (1, h, T, T)
        assert probs.shape == (1, 2, 6, 6)
        assert float(probs[0][:, future].abs().max()) == 0.0
        torch.testing.assert_close(probs.sum(-1), torch.ones(1, 2, 6))
    # oracle: changing a later target token leaves earlier positions' outputs unchanged
    changed = tgt_in.clone()
    changed[0, 4] = 20
    other = model(src, changed)
    torch.testing.assert_close(other.logits[0, :4], out.logits[0, :4])
    assert not torch.allclose(other.logits[0, 4:], out.logits[0, 4:])


def test_transformer_returns_every_attention_map_per_layer_and_head():
    model = transformer()
    out = model(torch.tensor([[5, 6, 7]]), torch.tensor([[BOS_ID, 4]]))
    assert [tuple(a.shape) for a in out.encoder_attention] == [(1, 2, 3, 3)] * 2
    assert [tuple(a.shape) for a in out.cross_attention] == [(1, 2, 2, 3)] * 2
    for maps in (out.encoder_attention, out.cross_attention):
        for probs in maps:
            torch.testing.assert_close(probs.sum(-1), torch.ones(probs.shape[:-1]))


def test_padding_in_a_batch_does_not_change_a_sentence():
    for kind in ("lstm", "lstm-reversed", "transformer"):
        model = ALL[kind]()
        alone = model(torch.tensor([[5, 6, 7]]), torch.tensor([[BOS_ID, 4]])).logits
        padded = model(
            torch.tensor([[5, 6, 7, PAD_ID, PAD_ID], [8, 9, 10, 11, 12]]),
            torch.tensor([[BOS_ID, 4], [BOS_ID, 6]]),
        ).logits[:1]
        torch.testing.assert_close(alone, padded, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_reading_in_segments_equals_reading_the_packed_batch(layers):
    """The CPU's fast encoder path against PyTorch's own packed reading: the same outputs (zero
    past each row's end), final states and gradients, for rows of many lengths in any order."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch.manual_seed(3)
    model = Seq2Seq(
        Seq2SeqConfig(V_SRC, V_TGT, d_embed=8, d_hidden=12, n_layers=layers, dropout=0.0)
    )
    lengths = torch.tensor([5, 1, 9, 5, 3, 9, 2, 7])
    embedded = torch.randn(len(lengths), 11, 8)  # wider than the longest row
    weights = torch.randn(3)

    def loss_and_grads(read):
        model.zero_grad()
        x = embedded.clone().requires_grad_()  # the embeddings must learn through this path too
        outputs, hidden, cell = read(x, lengths)
        loss = (
            weights[0] * outputs.sin().sum()
            + weights[1] * hidden.sum()
            + weights[2] * cell.pow(2).sum()
        )
        loss.backward()
        return (outputs, hidden, cell), [x.grad] + [
            p.grad.clone() for p in model.encoder.parameters()
        ]

    def packed(x, lengths):
        read = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        outputs, (hidden, cell) = model.encoder(read)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=x.shape[1])
        return outputs, hidden, cell

    ours, our_grads = loss_and_grads(model._read_in_segments)
    oracle, oracle_grads = loss_and_grads(packed)
    for got, want in zip(ours + tuple(our_grads), oracle + tuple(oracle_grads), strict=True):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
    assert ours[0][1, 1:].abs().sum() == 0  # the one-token row has nothing past its end


def test_noam_schedule_peaks_at_warmup():
    rates = [noam_rate(s, 256, 400) for s in range(1, 2000)]
    assert int(np.argmax(rates)) + 1 == 400
    assert noam_rate(400, 256, 400) == pytest.approx(256**-0.5 * 400**-0.5)
