"""The linear-chain CRF against brute force over every tag path (log Z, Viterbi, marginals,
k-best, masking, BIO constraints), a few SGD steps on the NLL, and the BIO span metrics by hand."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
import torch

from nlpviz.models.crf import (
    CRF,
    IMPOSSIBLE,
    ViterbiResult,
    bio_constraints,
    bio_to_spans,
    entity_f1,
)

SIZES = [(length, tags) for length in (1, 2, 4) for tags in (2, 3)]
BIO_TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def make_crf(num_tags: int, seed: int, constraints=None) -> CRF:
    """A float64 CRF with random (not near-zero) transitions."""
    torch.manual_seed(seed)
    crf = CRF(num_tags, *(constraints or ())).double()
    with torch.no_grad():
        crf.transitions.normal_()
        crf.start_transitions.normal_()
        crf.end_transitions.normal_()
    return crf


def path_score(crf: CRF, emissions: torch.Tensor, path: tuple[int, ...]) -> float:
    """score(x, y) written out term by term for one (seq, T) emission matrix."""
    transitions, start, end = (t.detach() for t in crf.effective_transitions())
    total = start[path[0]] + end[path[-1]]
    for i, tag in enumerate(path):
        total = total + emissions[i, tag]
        if i:
            total = total + transitions[path[i - 1], tag]
    return float(total)


def brute_force(crf: CRF, emissions: torch.Tensor) -> list[tuple[tuple[int, ...], float]]:
    """Every path of one (seq, T) sequence with its score, best first."""
    seq, num_tags = emissions.shape
    paths = itertools.product(range(num_tags), repeat=seq)
    scored = [(path, path_score(crf, emissions, path)) for path in paths]
    return sorted(scored, key=lambda item: -item[1])


def brute_marginals(scored, seq: int, num_tags: int) -> torch.Tensor:
    scores = torch.tensor([score for _, score in scored], dtype=torch.float64)
    probs = torch.softmax(scores, dim=0)  # (paths,)
    out = torch.zeros(seq, num_tags, dtype=torch.float64)
    for (path, _), p in zip(scored, probs, strict=True):
        for i, tag in enumerate(path):
            out[i, tag] += p
    return out


@pytest.mark.parametrize(("length", "num_tags"), SIZES)
def test_log_partition_matches_brute_force(length: int, num_tags: int) -> None:
    crf = make_crf(num_tags, seed=length * 10 + num_tags)
    emissions = torch.randn(3, length, num_tags, dtype=torch.float64)
    log_z = crf.log_partition(emissions)
    assert log_z.shape == (3,)
    for b in range(3):
        scores = torch.tensor([s for _, s in brute_force(crf, emissions[b])], dtype=torch.float64)
        assert log_z[b].item() == pytest.approx(torch.logsumexp(scores, 0).item(), abs=1e-9)


@pytest.mark.parametrize(("length", "num_tags"), SIZES)
def test_score_matches_the_written_out_sum(length: int, num_tags: int) -> None:
    crf = make_crf(num_tags, seed=length + 7 * num_tags)
    emissions = torch.randn(4, length, num_tags, dtype=torch.float64)
    tags = torch.randint(0, num_tags, (4, length))
    scores = crf.score(emissions, tags)
    for b in range(4):
        expected = path_score(crf, emissions[b], tuple(tags[b].tolist()))
        assert scores[b].item() == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("length", "num_tags"), SIZES)
def test_viterbi_matches_brute_force(length: int, num_tags: int) -> None:
    crf = make_crf(num_tags, seed=100 + length * 10 + num_tags)
    emissions = torch.randn(3, length, num_tags, dtype=torch.float64)
    result = crf.viterbi(emissions)
    assert isinstance(result, ViterbiResult)
    for b in range(3):
        best_path, best_score = brute_force(crf, emissions[b])[0]
        assert result.paths[b] == list(best_path)
        assert result.scores[b].item() == pytest.approx(best_score, abs=1e-9)


@pytest.mark.parametrize(("length", "num_tags"), SIZES)
def test_marginals_match_brute_force(length: int, num_tags: int) -> None:
    crf = make_crf(num_tags, seed=200 + length * 10 + num_tags)
    emissions = torch.randn(2, length, num_tags, dtype=torch.float64)
    marginals = crf.marginals(emissions)
    assert marginals.shape == (2, length, num_tags)
    for b in range(2):
        expected = brute_marginals(brute_force(crf, emissions[b]), length, num_tags)
        torch.testing.assert_close(marginals[b], expected, atol=1e-9, rtol=0)
    torch.testing.assert_close(
        marginals.sum(-1), torch.ones(2, length, dtype=torch.float64), atol=1e-9, rtol=0
    )


@pytest.mark.parametrize(("length", "num_tags"), SIZES)
def test_k_best_matches_brute_force(length: int, num_tags: int) -> None:
    crf = make_crf(num_tags, seed=300 + length * 10 + num_tags)
    emissions = torch.randn(length, num_tags, dtype=torch.float64)
    expected = brute_force(crf, emissions)[:5]  # all paths when fewer than 5 exist
    for given in (emissions, emissions.unsqueeze(0)):
        got = crf.k_best(given, 5)
        assert len(got) == len(expected) == min(5, num_tags**length)
        for (path, score), (want_path, want_score) in zip(got, expected, strict=True):
            assert path == list(want_path)
            assert score == pytest.approx(want_score, abs=1e-9)
    assert crf.k_best(emissions, 1)[0][0] == crf.viterbi(emissions.unsqueeze(0)).paths[0]


def test_k_best_returns_every_path_in_order_when_k_is_large() -> None:
    crf = make_crf(3, seed=5)
    emissions = torch.randn(3, 3, dtype=torch.float64)
    got = crf.k_best(emissions, 100)
    expected = brute_force(crf, emissions)
    assert [tuple(p) for p, _ in got] == [p for p, _ in expected]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=1e-9)


def test_padded_batch_equals_each_sequence_alone() -> None:
    num_tags, lengths = 3, [4, 1, 3, 2]
    crf = make_crf(num_tags, seed=11)
    emissions = torch.randn(len(lengths), max(lengths), num_tags, dtype=torch.float64)
    mask = torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]  # (B, L)
    tags = torch.randint(0, num_tags, mask.shape)
    log_z = crf.log_partition(emissions, mask)
    scores = crf.score(emissions, tags, mask)
    best = crf.viterbi(emissions, mask)
    marginals = crf.marginals(emissions, mask)
    nll = crf.neg_log_likelihood(emissions, tags, mask, reduction="none")
    for b, n in enumerate(lengths):
        alone = emissions[b : b + 1, :n]
        torch.testing.assert_close(log_z[b : b + 1], crf.log_partition(alone))
        torch.testing.assert_close(scores[b : b + 1], crf.score(alone, tags[b : b + 1, :n]))
        single = crf.viterbi(alone)
        assert best.paths[b] == single.paths[0] and len(best.paths[b]) == n
        torch.testing.assert_close(best.scores[b : b + 1], single.scores)
        torch.testing.assert_close(marginals[b, :n], crf.marginals(alone)[0])
        assert marginals[b, n:].abs().sum() == 0
        # Padding content must not matter either: brute force on the real part agrees.
        expected = brute_force(crf, alone[0])
        assert best.paths[b] == list(expected[0][0])
        all_scores = torch.tensor([s for _, s in expected], dtype=torch.float64)
        want = torch.logsumexp(all_scores, 0) - path_score(crf, alone[0], tuple(tags[b, :n]))
        assert nll[b].item() == pytest.approx(want.item(), abs=1e-9)
    torch.testing.assert_close(crf.neg_log_likelihood(emissions, tags, mask), nll.mean())
    torch.testing.assert_close(crf(emissions, tags, mask, reduction="sum"), nll.sum())
    torch.testing.assert_close(
        crf.neg_log_likelihood(emissions, tags, mask, reduction="token_mean"),
        nll.sum() / sum(lengths),
    )


def test_bio_constraints_forbid_the_invalid_moves() -> None:
    allowed, allowed_start, allowed_end = bio_constraints(BIO_TAGS)
    index = {tag: i for i, tag in enumerate(BIO_TAGS)}
    forbidden = {
        ("O", "I-PER"),
        ("O", "I-LOC"),
        ("B-PER", "I-LOC"),
        ("I-PER", "I-LOC"),
        ("B-LOC", "I-PER"),
        ("I-LOC", "I-PER"),
    }
    for a, b in itertools.product(BIO_TAGS, repeat=2):
        assert bool(allowed[index[a], index[b]]) == ((a, b) not in forbidden), (a, b)
    assert allowed_start.tolist() == [True, True, False, True, False]
    assert allowed_end.all()


def is_valid_bio(path: Sequence[int]) -> bool:
    tags = [BIO_TAGS[t] for t in path]
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            return False
        previous = tag
    return True


@pytest.mark.parametrize("length", [1, 2, 4])
def test_constrained_decoding_matches_constrained_brute_force(length: int) -> None:
    constraints = bio_constraints(BIO_TAGS)
    crf = make_crf(len(BIO_TAGS), seed=40 + length, constraints=constraints)
    assert crf.constrained
    # Emissions that push hard towards I- tags, so an unconstrained decoder would pick them.
    emissions = torch.randn(6, length, len(BIO_TAGS), dtype=torch.float64)
    emissions[..., 2] += 3.0
    emissions[..., 4] += 3.0
    result = crf.viterbi(emissions)
    for b in range(6):
        scored = brute_force(crf, emissions[b])
        assert result.paths[b] == list(scored[0][0])
        assert result.scores[b].item() == pytest.approx(scored[0][1], abs=1e-9)
        assert is_valid_bio(result.paths[b])
        valid = [(p, s) for p, s in scored if is_valid_bio(p)]
        assert scored[0] == valid[0]  # the best of all paths is the best valid path
        assert all(s < IMPOSSIBLE / 2 for p, s in scored if not is_valid_bio(p))
        top = crf.k_best(emissions[b], 5)
        assert [tuple(p) for p, _ in top] == [p for p, _ in scored[:5]]
        log_z = crf.log_partition(emissions[b : b + 1])
        all_scores = torch.tensor([s for _, s in scored], dtype=torch.float64)
        assert log_z.item() == pytest.approx(torch.logsumexp(all_scores, 0).item(), abs=1e-9)
        torch.testing.assert_close(
            crf.marginals(emissions[b : b + 1])[0],
            brute_marginals(scored, length, len(BIO_TAGS)),
            atol=1e-9,
            rtol=0,
        )
    # Without constraints the same emissions do produce invalid best paths.
    free = make_crf(len(BIO_TAGS), seed=40 + length)
    assert not free.constrained
    assert not all(is_valid_bio(p) for p in free.viterbi(emissions).paths)


def test_constraints_are_applied_in_scoring_not_in_the_parameters() -> None:
    crf = make_crf(len(BIO_TAGS), seed=3, constraints=bio_constraints(BIO_TAGS))
    learned = crf.transitions.detach().clone()
    transitions, start, end = crf.effective_transitions()
    assert torch.equal(crf.transitions.detach(), learned)
    assert transitions[0, 2].item() == IMPOSSIBLE and start[2].item() == IMPOSSIBLE
    assert transitions[1, 2].item() == learned[1, 2].item()  # B-PER -> I-PER keeps its value
    assert torch.equal(end, crf.end_transitions)
    assert set(crf.state_dict()) == {"transitions", "start_transitions", "end_transitions"}


def test_sgd_on_the_nll_raises_the_gold_path_probability() -> None:
    torch.manual_seed(0)
    crf = CRF(3)
    emissions = torch.randn(1, 5, 3)
    gold = torch.tensor([[0, 2, 2, 1, 0]])
    optimizer = torch.optim.SGD(crf.parameters(), lr=0.5)

    def gold_probability() -> float:
        with torch.no_grad():
            return torch.exp(-crf.neg_log_likelihood(emissions, gold)).item()

    before = gold_probability()
    for _ in range(20):
        optimizer.zero_grad()
        loss = crf.neg_log_likelihood(emissions, gold)
        loss.backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in crf.parameters())
        optimizer.step()
    after = gold_probability()
    assert after > before + 0.2
    assert crf.viterbi(emissions).paths[0] == gold[0].tolist()


def test_gradient_of_log_z_is_the_marginals() -> None:
    crf = make_crf(3, seed=9)
    emissions = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    crf.log_partition(emissions).sum().backward()
    torch.testing.assert_close(emissions.grad, crf.marginals(emissions.detach()))


def test_invalid_inputs_are_rejected() -> None:
    crf = CRF(3)
    emissions = torch.randn(2, 3, 3)
    with pytest.raises(ValueError, match="prefix mask"):
        crf.log_partition(emissions, torch.tensor([[True, False, True], [True, True, True]]))
    with pytest.raises(ValueError, match="first token"):
        crf.log_partition(emissions, torch.tensor([[False, False, False], [True, True, True]]))
    with pytest.raises(ValueError, match="emissions must be"):
        crf.viterbi(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="one sequence"):
        crf.k_best(emissions, 2)
    with pytest.raises(ValueError, match="reduction"):
        crf.neg_log_likelihood(emissions, torch.zeros(2, 3, dtype=torch.long), reduction="avg")
    with pytest.raises(ValueError, match="allowed has shape"):
        CRF(3, torch.ones(2, 2, dtype=torch.bool))


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
        (["O", "I-ORG", "I-ORG", "O"], [("ORG", 1, 3)]),  # a stray I- opens a span
        (["B-PER", "I-LOC"], [("PER", 0, 1), ("LOC", 1, 2)]),  # type change splits
        (["B-PER", "B-PER", "I-PER"], [("PER", 0, 1), ("PER", 1, 3)]),  # B- always opens
        (["I-MISC"], [("MISC", 0, 1)]),
        (["O", "O"], []),
        ([], []),
    ],
)
def test_bio_to_spans(tags: list[str], spans: list[tuple[str, int, int]]) -> None:
    assert bio_to_spans(tags) == spans


def test_entity_f1_by_hand() -> None:
    gold = [["B-PER", "I-PER", "O"], ["O", "B-LOC"]]
    pred = [["B-PER", "I-PER", "O"], ["B-LOC", "I-LOC"]]  # PER exact; LOC has wrong bounds
    assert entity_f1(gold, pred) == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "tp": 1,
        "fp": 1,
        "fn": 1,
    }
    # 3 gold, 1 predicted and correct: P = 1, R = 1/3, F1 = 2 * 1/3 / (4/3) = 0.5.
    scores = entity_f1([["B-A", "B-B", "B-C"]], [["B-A", "O", "O"]])
    assert (scores["precision"], scores["recall"], scores["f1"]) == pytest.approx((1, 1 / 3, 0.5))
    empty = entity_f1([["O"]], [["O"]])
    assert (empty["precision"], empty["recall"], empty["f1"]) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="sentence 0"):
        entity_f1([["O"]], [["O", "O"]])
