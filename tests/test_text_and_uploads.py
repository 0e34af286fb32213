"""Tokenizer, vocabulary and the handling of whatever a user types or uploads."""

from __future__ import annotations

import pytest

from nlpviz.data.tokenize import word_tokenize
from nlpviz.data.user_input import (
    MAX_BATCH_ITEMS,
    UploadError,
    clean_text,
    decode_bytes,
    parse_upload,
)
from nlpviz.data.vocab import PAD, UNK, Vocab


def test_tokenizer_splits_clitics_and_punctuation_like_glove():
    assert word_tokenize("It isn't bad, it's GREAT!") == [
        "it",
        "is",
        "n't",
        "bad",
        ",",
        "it",
        "'s",
        "great",
        "!",
    ]
    assert word_tokenize("don’t") == ["do", "n't"]


def test_tokenizer_keeps_html_emoji_and_cjk_as_visible_tokens():
    assert word_tokenize("<script>x</script>") == ["<", "script", ">", "x", "<", "/", "script", ">"]
    assert word_tokenize("great 👍🏽 电影") == ["great", "👍", "🏽", "电影"]
    assert word_tokenize("   \n\t ") == []


def test_vocab_reserves_padding_and_unknown():
    vocab = Vocab.build([["b", "a", "b"]])
    assert vocab.itos == (PAD, UNK, "b", "a")
    assert vocab.encode(["a", "zzz"]) == [3, 1]
    assert Vocab.from_json(vocab.to_json()) == vocab
    with pytest.raises(ValueError):
        Vocab(itos=("a", "b"))


def test_clean_text_truncates_and_says_so():
    result = clean_text("x" * 100_000)
    assert len(result.text) == 10_000
    assert any("100,000" in note for note in result.notes)
    assert clean_text("  \n ").is_empty
    assert clean_text(None).is_empty
    assert clean_text("a\x00b").text == "a b"


def test_txt_upload_gives_one_item_per_non_empty_line():
    items = parse_upload("x.txt", "first line\n\n  \nsecond 😀\r\n".encode())
    assert items.items == ("first line", "second 😀")
    assert items.encoding == "utf-8"


def test_csv_upload_reads_the_text_column_case_insensitively():
    data = b'id,Text\n1,"good, really"\n2,bad\n3,\n'
    assert parse_upload("reviews.csv", data).items == ("good, really", "bad")


def test_csv_without_text_column_is_explained():
    with pytest.raises(UploadError, match="no 'text' column.*'id', 'review'"):
        parse_upload("reviews.csv", b"id,review\n1,good\n")


def test_binary_and_empty_uploads_are_refused():
    with pytest.raises(UploadError, match="binary"):
        parse_upload("photo.txt", bytes(range(256)) * 10)
    with pytest.raises(UploadError, match="empty"):
        parse_upload("empty.txt", b"")
    with pytest.raises(UploadError, match="no non-empty"):
        parse_upload("blank.txt", b"\n \n\t\n")


def test_non_utf8_text_is_read_with_a_note():
    text, encoding, notes = decode_bytes("café naïve".encode("cp1252"))
    assert text == "café naïve" and encoding == "cp1252" and notes


def test_huge_uploads_are_capped_with_a_note():
    data = "\n".join(f"line {i}" for i in range(MAX_BATCH_ITEMS + 50)).encode()
    items = parse_upload("many.txt", data)
    assert len(items.items) == MAX_BATCH_ITEMS
    assert items.notes
