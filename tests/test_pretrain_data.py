"""Pretraining data for the miniature encoders: masking, packing, NSP pairs, tokenizers.

Everything is built here from generated token ids and a small generated corpus; the training
corpus packages are never read. Also the training loop's AUC and learning-rate schedule.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from nlpviz.data.pretrain import (
    BYTE_SPECIALS,
    CLS_ID,
    MASK_ID,
    SEP_ID,
    SPECIALS,
    SubwordTokenizer,
    mask_rng,
    mask_sequence,
    masks_across_epochs,
    nsp_pairs,
    pack_full_sentences,
    train_tokenizer,
)
from nlpviz.train.encoders import EncoderRecipe, Sequences, auc, collate, lr_at

N_SPECIALS = len(SPECIALS)
VOCAB = 1000


# ---- masking --------------------------------------------------------------------------------


def test_mask_sequence_rates_and_targets():
    rng = np.random.default_rng(0)
    ids = rng.integers(N_SPECIALS, VOCAB, size=200_000)
    ids[::50] = SEP_ID  # sprinkle specials
    ids[0] = CLS_ID
    out = mask_sequence(ids, np.random.default_rng(1), VOCAB)
    special = ids < N_SPECIALS
    assert np.array_equal(out.targets, ids)
    assert not out.chosen[special].any()
    assert np.array_equal(out.input_ids[special], ids[special])
    share = out.chosen[~special].mean()
    assert abs(share - 0.15) < 0.005, share
    kinds = out.replacement[out.chosen]
    assert abs((kinds == 1).mean() - 0.8) < 0.01
    assert abs((kinds == 2).mean() - 0.1) < 0.01
    assert abs((kinds == 0).mean() - 0.1) < 0.01
    assert not out.replacement[~out.chosen].any()
    # what the model reads: [MASK], a random non-special token, or the original
    assert (out.input_ids[out.replacement == 1] == MASK_ID).all()
    randoms = out.input_ids[out.replacement == 2]
    assert (randoms >= N_SPECIALS).all() and (randoms < VOCAB).all()
    assert len(np.unique(randoms)) > 0.5 * (VOCAB - N_SPECIALS)  # spread over the vocabulary
    untouched = out.replacement == 0
    assert np.array_equal(out.input_ids[untouched], ids[untouched])


def test_mask_sequence_chooses_at_least_one_and_never_a_special():
    ids = np.array([CLS_ID, 7, 8, SEP_ID])
    for seed in range(200):
        out = mask_sequence(ids, np.random.default_rng(seed), VOCAB)
        assert 1 <= out.chosen.sum() and not out.chosen[[0, 3]].any()
    only_specials = np.array([CLS_ID, SEP_ID, 0, 0])
    out = mask_sequence(only_specials, np.random.default_rng(0), VOCAB)
    assert not out.chosen.any() and np.array_equal(out.input_ids, only_specials)


def test_static_masks_repeat_and_dynamic_ones_change():
    ids = np.arange(N_SPECIALS, N_SPECIALS + 60)
    static = masks_across_epochs(ids, VOCAB, epochs=4, dynamic=False, seed=3, example=9)
    dynamic = masks_across_epochs(ids, VOCAB, epochs=4, dynamic=True, seed=3, example=9)
    assert len(static) == len(dynamic) == 4
    for m in static[1:]:
        assert np.array_equal(m.chosen, static[0].chosen)
        assert np.array_equal(m.input_ids, static[0].input_ids)
    chosen = {tuple(np.flatnonzero(m.chosen)) for m in dynamic}
    assert len(chosen) == 4  # a new draw each epoch

    # the stream is reproducible and depends on seed, example and epoch
    def draw(seed, example, epoch):
        return mask_sequence(ids, mask_rng(seed, example, epoch), VOCAB).chosen

    assert np.array_equal(draw(3, 9, None), static[0].chosen)
    assert np.array_equal(draw(3, 9, 2), dynamic[2].chosen)
    assert not np.array_equal(draw(3, 9, None), draw(3, 10, None))
    assert not np.array_equal(draw(3, 9, None), draw(4, 9, None))


def test_collate_pads_and_masks_static_or_dynamic():
    seqs = Sequences(
        [np.array([CLS_ID, *range(10, 30), SEP_ID]), np.array([CLS_ID, 11, 12, 13, SEP_ID])],
        [np.zeros(22, np.int64), np.array([0, 0, 1, 1, 1])],
        np.array([0, 1]),
    )
    a = collate(seqs, [0, 1], epoch=0, static=True, seed=5, vocab=VOCAB)
    b = collate(seqs, [0, 1], epoch=7, static=True, seed=5, vocab=VOCAB)
    assert a["input_ids"].shape == (2, 22) and (a["input_ids"][1, 5:] == 0).all()
    assert not a["chosen"][1, 5:].any() and a["token_type_ids"][1, :5].tolist() == [0, 0, 1, 1, 1]
    assert a["random_next"].tolist() == [0, 1]
    assert all(np.array_equal(a[k], b[k]) for k in ("input_ids", "chosen"))
    dynamic = [collate(seqs, [0], epoch=e, static=False, seed=5, vocab=VOCAB) for e in range(4)]
    assert len({tuple(d["chosen"][0].nonzero().flatten().tolist()) for d in dynamic}) > 1


# ---- FULL-SENTENCES packing -----------------------------------------------------------------


def numbered_documents(lengths: list[list[int]]) -> list[list[np.ndarray]]:
    """Documents of sentences whose token ids are all different (counted up from 5)."""
    documents, next_id = [], N_SPECIALS
    for doc in lengths:
        sentences = []
        for n in doc:
            sentences.append(np.arange(next_id, next_id + n, dtype=np.int64))
            next_id += n
        documents.append(sentences)
    return documents


def random_lengths(
    seed: int, n_docs: int, low: int, high: int, most_sentences: int = 8
) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [
        rng.integers(low, high + 1, size=int(rng.integers(1, most_sentences + 1))).tolist()
        for _ in range(n_docs)
    ]


@pytest.mark.parametrize("max_len", [8, 16, 40])
def test_pack_full_sentences_keeps_everything_in_order(max_len):
    lengths = random_lengths(0, 30, 1, 12)
    lengths[3].insert(1, 50)  # longer than any window: it is cut
    documents = numbered_documents(lengths)
    budget = max_len - 2
    sequences = pack_full_sentences(documents, max_len)
    assert all(len(s) <= max_len for s in sequences)
    assert all(s[0] == CLS_ID and s[-1] == SEP_ID for s in sequences)
    assert all(s.dtype == np.int64 for s in sequences)
    bodies = [s[1:-1] for s in sequences]
    assert all(len(b) and b[0] != SEP_ID and b[-1] != SEP_ID for b in bodies)
    # the text stream: every sentence (cut to the window) in order, nothing else
    sentences = [s[:budget] for doc in documents for s in doc]
    stream = np.concatenate([b[b != SEP_ID] for b in bodies])
    assert np.array_equal(stream, np.concatenate(sentences))
    # a separator inside a sequence is always a document boundary
    ends, offset = set(), 0
    for doc in documents:
        offset += sum(len(s[:budget]) for s in doc)
        ends.add(offset)
    seen, inner = 0, []
    for body in bodies:
        for token in body:
            if token == SEP_ID:
                inner.append(seen)
            else:
                seen += 1
    assert set(inner) <= ends and len(inner) == len(set(inner))
    # ... and each document boundary is marked, either inside a sequence or by a new sequence
    breaks, seen = set(), 0
    for body in bodies:
        seen += int((body != SEP_ID).sum())
        breaks.add(seen)
    assert ends <= set(inner) | breaks
    # the long sentence is cut to the window
    cut = documents[3][1][:budget]
    assert any(np.array_equal(b, cut) for b in bodies) or max_len >= 52


def test_pack_full_sentences_fills_the_window_greedily():
    documents = numbered_documents([[3, 3, 3, 3], [3, 3]])
    sequences = pack_full_sentences(documents, max_len=10)  # budget 8: two sentences each
    assert [len(s) for s in sequences] == [8, 8, 8]
    assert sequences[1].tolist() == [CLS_ID, *range(11, 17), SEP_ID]
    joined = pack_full_sentences(numbered_documents([[3], [3]]), max_len=10)
    assert joined[0].tolist() == [CLS_ID, 5, 6, 7, SEP_ID, 8, 9, 10, SEP_ID]


# ---- NSP pairs ------------------------------------------------------------------------------


def _locate(documents):
    """token id -> (document, sentence)"""
    return {
        int(t): (d, s)
        for d, doc in enumerate(documents)
        for s, sent in enumerate(doc)
        for t in sent
    }


def test_nsp_pairs_structure_and_continuations():
    documents = numbered_documents(random_lengths(1, 80, 1, 6, most_sentences=60))
    where = _locate(documents)
    max_len = 32
    pairs = nsp_pairs(documents, max_len, np.random.default_rng(0))
    free, free_random = 0, 0
    covered = set()
    for pair in pairs:
        ids, types = pair.input_ids, pair.token_type_ids
        assert len(ids) <= max_len and ids.shape == types.shape and ids.dtype == np.int64
        seps = np.flatnonzero(ids == SEP_ID)
        assert ids[0] == CLS_ID and len(seps) == 2 and seps[1] == len(ids) - 1
        assert (ids[1:] != CLS_ID).all()
        first_sep = seps[0]
        assert types[: first_sep + 1].tolist() == [0] * (first_sep + 1)
        assert types[first_sep + 1 :].tolist() == [1] * (len(ids) - first_sep - 1)
        a, b = ids[1:first_sep], ids[first_sep + 1 : -1]
        assert len(a) and len(b)
        # sentences are short here, so A and B are runs of whole sentences
        for segment in (a, b):
            (doc, first), (doc_end, last) = where[int(segment[0])], where[int(segment[-1])]
            assert doc == doc_end
            expected = np.concatenate(documents[doc][first : last + 1])
            assert np.array_equal(segment, expected)
        a_doc, a_last = where[int(a[-1])]
        b_doc, b_first = where[int(b[0])]
        covered.update(where[int(t)] for t in a)
        if a_last == len(documents[a_doc]) - 1:
            assert pair.is_random_next  # A ends its document: nothing follows, B is random
        else:
            free += 1
            free_random += pair.is_random_next
        if pair.is_random_next:
            assert b_doc != a_doc
        else:
            assert (b_doc, b_first) == (a_doc, a_last + 1)  # B really follows A
            covered.update(where[int(t)] for t in b)
    # every sentence is read in its own document, as A or as the true continuation
    assert covered == {(d, s) for d, doc in enumerate(documents) for s in range(len(doc))}
    # where A leaves sentences after it, B is random half of the time (binomial, 4 sigma)
    assert free > 350
    assert abs(free_random / free - 0.5) < 4 * 0.5 / np.sqrt(free), (free_random, free)


def test_nsp_pairs_trim_long_segments_to_the_window():
    documents = numbered_documents([[40, 3, 30], [25, 25], [2, 60, 2]])
    for seed in range(5):
        for pair in nsp_pairs(documents, 24, np.random.default_rng(seed)):
            assert len(pair.input_ids) <= 24
            assert (pair.input_ids == SEP_ID).sum() == 2
            assert len(pair.token_type_ids) == len(pair.input_ids)


# ---- tokenizers -----------------------------------------------------------------------------

WORDS = (
    "the cat dog sat ran on a mat quickly slowly played playing player players house houses "
    "running walked under over tired because sleeping jumping happily unhappily"
).split()


def corpus(n: int = 400, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    sentences = []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 12))]
        sentences.append(" ".join(words).capitalize() + rng.choice([".", "!", "?", ","]))
    return sentences


@pytest.fixture(scope="module")
def tokenizers() -> dict[str, SubwordTokenizer]:
    sentences = corpus()
    return {
        "wordpiece": SubwordTokenizer(train_tokenizer(sentences, "wordpiece", 150), "wordpiece"),
        "bytebpe": SubwordTokenizer(train_tokenizer(sentences, "bytebpe", 330), "bytebpe"),
    }


@pytest.mark.parametrize("kind,size", [("wordpiece", 150), ("bytebpe", 330)])
def test_tokenizer_specials_sit_at_ids_0_to_4(tokenizers, kind, size):
    tok = tokenizers[kind]
    specials = BYTE_SPECIALS if kind == "bytebpe" else SPECIALS
    assert tok.vocab_size == size and tok.kind == kind
    assert [tok.piece(i) for i in range(5)] == list(specials)
    assert tok.display(range(5)) == list(specials)
    assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (0, 1, 2, 3, 4)
    ids = tok.encode("the cat sat on the mat")
    assert ids and min(ids) >= 5  # no special in ordinary text


def test_wordpiece_display_marks_word_internal_pieces(tokenizers):
    tok = tokenizers["wordpiece"]
    text = "the players housecat dogsleeping jumping over houses"  # two words it never saw
    shown = tok.display(tok.encode(text))
    assert any(s.startswith("##") for s in shown), shown
    assert not any(s.startswith("▁") for s in shown)
    words, current = [], ""
    for s in shown:
        if s.startswith("##"):
            current += s[2:]
        else:
            if current:
                words.append(current)
            current = s
    words.append(current)
    assert words == text.split()
    assert tok.decode(tok.encode(text)) == text


def test_wordpiece_shows_an_emoji_as_unknown(tokenizers):
    tok = tokenizers["wordpiece"]
    ids = tok.encode("the cat 😀")
    assert tok.unk_id in ids
    assert "[UNK]" in tok.display(ids)
    assert tok.is_unknown(ids).tolist() == [i == tok.unk_id for i in ids]


@pytest.mark.parametrize(
    "text", ["the cat 😀 sat", "Ünïcødé ✓ ç'est 2019 ÆØÅ", "日本語 テキスト", "a\tb"]
)
def test_bytebpe_never_unknown_and_round_trips(tokenizers, text):
    tok = tokenizers["bytebpe"]
    ids = tok.encode(text)
    assert tok.unk_id not in ids and not tok.is_unknown(ids).any()
    assert tok.decode(ids) == text
    assert all(s for s in tok.display(ids))


@pytest.mark.parametrize("kind", ["wordpiece", "bytebpe"])
def test_typed_mask_tokens_become_the_mask_id(tokenizers, kind):
    tok = tokenizers[kind]
    for typed in ("[MASK]", "<mask>"):
        ids = tok.encode(f"the {typed} sat on the{typed}mat")
        assert ids.count(tok.mask_id) == 2
        assert tok.display(ids).count(tok.mask_token) == 2
        plain = tok.encode("the sat on the mat")
        assert [i for i in ids if i != tok.mask_id] == plain
        assert tok.decode(ids) == tok.decode(plain)


def test_tokenizer_trains_fast_and_reproducibly():
    sentences = corpus(300, seed=1)
    first = train_tokenizer(sentences, "wordpiece", 120)
    assert first == train_tokenizer(sentences, "wordpiece", 120)
    with pytest.raises(ValueError, match="unknown tokenizer kind"):
        SubwordTokenizer(first, "wordlevel")


# ---- the training loop's metrics -------------------------------------------------------------


def brute_force_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels], scores[~labels]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


@pytest.mark.parametrize("seed", range(5))
def test_auc_matches_the_pairwise_definition(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 300))
    labels = rng.random(n) < rng.uniform(0.1, 0.9)
    labels[:2] = [True, False]
    scores = rng.integers(0, 6, size=n).astype(np.float32) + labels * rng.uniform(0, 2)  # ties
    assert auc(scores, labels) == pytest.approx(brute_force_auc(scores, labels), abs=1e-12)
    assert auc(scores, labels.astype(np.float32)) == pytest.approx(brute_force_auc(scores, labels))


def test_auc_edge_cases():
    assert auc(np.array([0.1, 0.9]), np.array([0, 1])) == 1.0
    assert auc(np.array([0.9, 0.1]), np.array([0, 1])) == 0.0
    assert auc(np.ones(6), np.array([0, 1, 0, 1, 1, 0])) == 0.5
    assert np.isnan(auc(np.arange(3.0), np.ones(3)))


def test_lr_warmup_then_cosine_to_a_floor_never_zero():
    recipe = EncoderRecipe("bert", lr=1e-3, warmup=100, steps=1500, min_lr_fraction=0.1)
    assert lr_at(0, recipe) == pytest.approx(1e-5)
    assert lr_at(49, recipe) == pytest.approx(5e-4)
    assert lr_at(99, recipe) == pytest.approx(1e-3)  # the peak at the end of warmup
    assert lr_at(100, recipe) == pytest.approx(1e-3)
    assert lr_at(800, recipe) == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5))  # half-way down
    assert lr_at(1500, recipe) == pytest.approx(1e-4)  # the floor, not zero
    values = [lr_at(s, recipe) for s in range(1500)]
    assert values.index(max(values)) == 99 and min(values[100:]) >= 1e-4 - 1e-12
    assert all(b <= a for a, b in zip(values[99:], values[100:], strict=False))


def test_most_steps_are_short_and_the_last_tenth_full_length():
    from nlpviz.train.encoders import long_from

    recipe = EncoderRecipe("bert", steps=10_000, long_fraction=0.1)
    assert long_from(recipe) == 9_000
    assert long_from(EncoderRecipe("bert", steps=10_000, long_fraction=0.0)) == 10_000
