"""HAN, its flat baselines and the document tokenizer: attention conservation, padding
invariance, the BiGRU against torch's, sentence splitting by hand, checkpoints."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from nlpviz.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from nlpviz.data.documents import (
    MAX_SENTENCES,
    MAX_WORDS,
    clean_news_text,
    split_sentences,
    tokenize_document,
)
from nlpviz.models.han import (
    HAN,
    BiGRU,
    FlatAttentionGRU,
    FlatAttentionGRUConfig,
    HANConfig,
    MeanEmbeddingClassifier,
    MeanEmbeddingConfig,
    masked_softmax,
    pad_documents,
    pad_flat,
    reverse_padded,
)

VOCAB = 30
# Three documents of different shapes: sentences of token ids (0 is padding, never a token).
DOCS = [
    [[2, 3, 4, 5], [6, 7], [8, 9, 10, 11, 12, 13]],
    [[14, 15]],
    [[16, 17, 18], [19], [20, 21], [22, 23, 24, 25, 26, 27, 28], [29, 2]],
]


def tiny_han(seed: int = 0) -> HAN:
    torch.manual_seed(seed)
    config = HANConfig(
        vocab_size=VOCAB,
        num_classes=3,
        embed_dim=6,
        word_hidden=4,
        sentence_hidden=5,
        attention_dim=7,
    )
    return HAN(config).eval()


def tiny_flat(seed: int = 0) -> FlatAttentionGRU:
    torch.manual_seed(seed)
    config = FlatAttentionGRUConfig(
        vocab_size=VOCAB, num_classes=3, embed_dim=6, hidden=4, attention_dim=7
    )
    return FlatAttentionGRU(config).eval()


def flat(doc: list[list[int]]) -> list[int]:
    return [i for sentence in doc for i in sentence]


def test_han_shapes_and_masks():
    out = tiny_han()(pad_documents(DOCS))
    assert out.logits.shape == (3, 3)
    assert out.word_attention.shape == (3, 5, 7)
    assert out.sentence_attention.shape == (3, 5)
    assert out.sentence_mask.tolist() == [
        [True, True, True, False, False],
        [True, False, False, False, False],
        [True, True, True, True, True],
    ]
    assert out.word_mask.sum(dim=(1, 2)).tolist() == [sum(map(len, d)) for d in DOCS]


def test_han_attention_sums_to_one_and_is_exactly_zero_on_padding():
    out = tiny_han()(pad_documents(DOCS))
    words, sentences = out.word_attention, out.sentence_attention
    real = out.sentence_mask
    torch.testing.assert_close(words.sum(-1)[real], torch.ones(int(real.sum())))
    assert torch.all(words[~real] == 0)  # rows of padded sentences: all exactly 0
    assert torch.all(words[~out.word_mask] == 0)  # padded words: exactly 0
    assert torch.all(words[out.word_mask] > 0)
    torch.testing.assert_close(sentences.sum(-1), torch.ones(3))
    assert torch.all(sentences[~real] == 0)
    assert torch.all(sentences[real] > 0)
    # The one-sentence document puts all its sentence attention on that sentence.
    assert sentences[1].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]


def test_han_output_does_not_depend_on_batch_padding():
    model = tiny_han()
    alone = model(pad_documents([DOCS[1]]))
    # In a batch with more sentences and longer sentences, the same document comes out equal.
    batched = model(pad_documents(DOCS))
    torch.testing.assert_close(batched.logits[1:2], alone.logits)
    torch.testing.assert_close(batched.word_attention[1:2, :1, :2], alone.word_attention)
    torch.testing.assert_close(batched.sentence_attention[1:2, :1], alone.sentence_attention)
    for row, doc in enumerate(DOCS):
        single = model(pad_documents([doc]))
        torch.testing.assert_close(batched.logits[row : row + 1], single.logits)
        n_sent, n_words = single.word_attention.shape[1:]
        torch.testing.assert_close(
            batched.word_attention[row : row + 1, :n_sent, :n_words], single.word_attention
        )


def test_han_rejects_holes_and_empty_documents():
    model = tiny_han()
    ids = pad_documents(DOCS)
    ids[0, 1] = 0  # an all-padding sentence between two real ones
    with pytest.raises(ValueError, match="right-padded"):
        model(ids)
    with pytest.raises(ValueError, match="empty sentence"):
        pad_documents([[[2, 3], []]])
    with pytest.raises(ValueError, match="at least one sentence"):
        model(torch.zeros(1, 2, 3, dtype=torch.long))


def test_forward_embedded_matches_forward():
    model = tiny_han()
    ids = pad_documents(DOCS)
    direct = model(ids)
    via = model.forward_embedded(model.embed(ids), ids != 0)
    torch.testing.assert_close(via.logits, direct.logits)
    torch.testing.assert_close(via.word_attention, direct.word_attention)


def test_bigru_equals_torch_bidirectional_gru_on_packed_sequences():
    torch.manual_seed(1)
    ours = BiGRU(5, 3)
    reference = torch.nn.GRU(5, 3, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name, value in ours.forward_gru.named_parameters():
            getattr(reference, name).copy_(value)
        for name, value in ours.backward_gru.named_parameters():
            getattr(reference, f"{name}_reverse").copy_(value)
    inputs, lengths = torch.randn(4, 7, 5), torch.tensor([7, 1, 4, 6])
    packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
    expected, _ = pad_packed_sequence(reference(packed)[0], batch_first=True, total_length=7)
    torch.testing.assert_close(ours(inputs, lengths), expected)


def test_reverse_padded_reverses_within_each_length():
    x = torch.arange(8.0).reshape(2, 4, 1)
    out = reverse_padded(x, torch.tensor([3, 4]))
    assert out[..., 0].tolist() == [[2.0, 1.0, 0.0, 3.0], [7.0, 6.0, 5.0, 4.0]]
    torch.testing.assert_close(reverse_padded(out, torch.tensor([3, 4])), x)


def test_masked_softmax_is_exact_zero_and_safe_on_empty_rows():
    scores = torch.tensor([[1.0, 2.0, 50.0], [3.0, 3.0, 3.0]])
    mask = torch.tensor([[True, True, False], [False, False, False]])
    weights = masked_softmax(scores, mask)
    torch.testing.assert_close(weights[0, :2], torch.softmax(torch.tensor([1.0, 2.0]), 0))
    assert weights[0, 2] == 0 and torch.all(weights[1] == 0)


def test_flat_gru_attention_and_padding_invariance():
    model = tiny_flat()
    batched = model(pad_flat([flat(d) for d in DOCS]))
    assert batched.attention.shape == (3, 15)
    torch.testing.assert_close(batched.attention.sum(-1), torch.ones(3))
    assert torch.all(batched.attention[~batched.mask] == 0)
    for row, doc in enumerate(DOCS):
        single = model(pad_flat([flat(doc)]))
        n = len(flat(doc))
        torch.testing.assert_close(batched.logits[row : row + 1], single.logits)
        torch.testing.assert_close(batched.attention[row : row + 1, :n], single.attention)


def test_mean_embedding_is_the_mean_of_the_real_word_vectors():
    torch.manual_seed(0)
    model = MeanEmbeddingClassifier(MeanEmbeddingConfig(vocab_size=VOCAB, num_classes=2)).eval()
    ids = pad_flat([[2, 3, 4], [5]])
    table = model.embedding.weight
    expected = model.output(torch.stack([table[[2, 3, 4]].mean(0), table[5]]))
    torch.testing.assert_close(model(ids).logits, expected)


def test_load_pretrained_checks_shape_and_zeroes_padding():
    model = tiny_han()
    with pytest.raises(ValueError, match="expects"):
        model.load_pretrained(torch.ones(VOCAB, 5))
    model.load_pretrained(torch.ones(VOCAB, 6))
    assert torch.all(model.embedding.weight[0] == 0) and torch.all(model.embedding.weight[1] == 1)


def test_configs_reject_bad_sizes():
    with pytest.raises(ValueError):
        HANConfig(vocab_size=10, num_classes=1)
    with pytest.raises(ValueError):
        FlatAttentionGRUConfig(vocab_size=10, num_classes=2, hidden=0)
    with pytest.raises(ValueError):
        MeanEmbeddingConfig(vocab_size=10, num_classes=2, dropout=1.0)


def test_han_checkpoint_round_trip(tmp_path):
    model = tiny_han(seed=3)
    ids = pad_documents(DOCS)
    save_checkpoint(
        "tiny-han",
        model.state_dict(),
        {"family": "han", "config": model.config.to_json()},
        root=tmp_path,
        half=False,
    )
    rebuilt = HAN.from_checkpoint(load_checkpoint("tiny-han", root=tmp_path, family="han"))
    assert not rebuilt.training
    assert rebuilt.config == model.config
    torch.testing.assert_close(rebuilt(ids).logits, model(ids).logits)
    # float16 storage (as the trainer saves) stays close.
    save_checkpoint(
        "tiny-han-16",
        model.state_dict(),
        {"family": "han", "config": model.config.to_json()},
        root=tmp_path,
    )
    half = HAN.from_checkpoint(load_checkpoint("tiny-han-16", root=tmp_path))
    torch.testing.assert_close(half(ids).logits, model(ids).logits, atol=1e-2, rtol=1e-2)


def test_flat_models_round_trip(tmp_path):
    for family, cls, model in (
        ("flat_gru", FlatAttentionGRU, tiny_flat()),
        (
            "mean_embedding",
            MeanEmbeddingClassifier,
            MeanEmbeddingClassifier(MeanEmbeddingConfig(VOCAB, 2)),
        ),
    ):
        card = {"family": family, "config": model.config.to_json()}
        save_checkpoint("m", model.state_dict(), card, root=tmp_path)
        rebuilt = cls.from_checkpoint(load_checkpoint("m", root=tmp_path))
        assert rebuilt.config == model.config and not rebuilt.training


def test_bad_card_config_is_a_checkpoint_error(tmp_path):
    model = tiny_han()
    config = dict(model.config.to_json(), word_hidden="fifty")
    save_checkpoint("bad", model.state_dict(), {"family": "han", "config": config}, root=tmp_path)
    with pytest.raises(CheckpointError, match="nlpviz train bad"):
        HAN.from_checkpoint(load_checkpoint("bad", root=tmp_path))
    save_checkpoint("nocfg", model.state_dict(), {"family": "han"}, root=tmp_path)
    with pytest.raises(CheckpointError, match="no valid HAN config"):
        HAN.from_checkpoint(load_checkpoint("nocfg", root=tmp_path))


# --- sentence splitting and document limits ---------------------------------------------------


def test_split_sentences_by_hand():
    text = (
        "Mr. Smith met Dr. Jones at St. Paul's on Jan. 5 in the U.S. Senate. "
        'The fee rose 3.5% to $2.75, e.g. for J. K. Rowling. "He left." Then it rained! '
        "Really? Yes.\n\nA new paragraph without a stop\nand a line break"
    )
    assert split_sentences(text) == [
        "Mr. Smith met Dr. Jones at St. Paul's on Jan. 5 in the U.S. Senate.",
        "The fee rose 3.5% to $2.75, e.g. for J. K. Rowling.",
        '"He left."',
        "Then it rained!",
        "Really?",
        "Yes.",
        "A new paragraph without a stop",
        "and a line break",
    ]


def test_split_sentences_number_abbreviations_need_a_number():
    assert split_sentences("He lives at No. 10 since Feb. 2. He said no. Then he left.") == [
        "He lives at No. 10 since Feb. 2.",
        "He said no.",
        "Then he left.",
    ]


def test_split_sentences_acronym_ends_a_sentence_before_a_typical_opener():
    assert split_sentences("He moved to the U.K. The move was hard. Gov. Brown vs. Mr. X.") == [
        "He moved to the U.K.",
        "The move was hard.",
        "Gov. Brown vs. Mr. X.",
    ]


def test_split_sentences_news_artefacts():
    # The corpus lost curly quotes: '"?' glued to the next word stands for a quote and a space.
    text = 'The vote was close."?Then the Senate adjourned. He said: "Why?" Nobody answered.'
    assert split_sentences(text) == [
        'The vote was close."',
        "Then the Senate adjourned.",
        'He said: "Why?"',
        "Nobody answered.",
    ]
    # ... but not after a comma, where it is a closing quote inside the sentence.
    assert split_sentences('"We are ready,"?Orozco said.') == ['"We are ready,"?Orozco said.']


def test_split_sentences_without_punctuation_chunks_long_text():
    words = [f"w{i}" for i in range(100)]
    chunks = split_sentences(" ".join(words))
    assert [len(c.split()) for c in chunks] == [34, 33, 33]
    assert " ".join(chunks).split() == words
    short = " ".join(words[:60])
    assert split_sentences(short) == [short]  # up to 60 words stay one sentence


def test_split_sentences_never_returns_empty_strings():
    assert split_sentences("") == []
    assert split_sentences("  \n\n \t ") == []
    assert split_sentences("...") == ["..."]
    assert all(s.strip() for s in split_sentences("a. . B! ?\n \n!C"))


def test_tokenize_document_limits_and_counts():
    text = " ".join(f"Sentence {i} is here." for i in range(5)) + "\n" + "Long " * 10 + "one."
    doc = tokenize_document(text, max_sentences=4, max_words=5)
    assert doc.sentences[0] == ("sentence", "0", "is", "here", ".")
    assert len(doc.sentences) == len(doc.sentence_texts) == 4
    assert doc.dropped_sentences == 2  # "Sentence 4 ..." and the long one
    assert doc.truncated_sentences == 0
    doc = tokenize_document("Long " * 10 + "one. Short.", max_sentences=5, max_words=5)
    assert doc.sentences == (("long",) * 5, ("short", "."))
    assert doc.truncated_sentences == 1 and doc.dropped_sentences == 0
    assert doc.sentence_texts == ("Long " * 10 + "one.", "Short.")
    assert tokenize_document("").sentences == ()
    assert (MAX_SENTENCES, MAX_WORDS) == (200, 60)
    with pytest.raises(ValueError):
        tokenize_document("x", max_sentences=0)


def test_clean_news_text_removes_outlet_boilerplate():
    raw = (
        'MOSCOW, February 7. /TASS/. Talks went on."?Lavrov told TASS more. '
        "Source:-Al Jazeera and news agencies"
    )
    assert clean_news_text(raw) == 'Talks went on." Lavrov told the outlet more.'
    assert clean_news_text("Washington (CNN)The vote passed.") == "The vote passed."
    # the masked LMs' pretraining text keeps the names (boilerplate still goes)
    assert clean_news_text("Lavrov told Al Jazeera more.", keep_outlet_names=True) == (
        "Lavrov told Al Jazeera more."
    )
    assert clean_news_text("Lavrov told Al Jazeera more.") == "Lavrov told the outlet more."
    assert clean_news_text("It rose. (China Daily European Weekly 01/27/2017 page32)") == (
        "It rose."
    )
