"""CoNLL reading/writing and the spaCy -> silver-tag conversion (no spaCy, no corpora needed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from nlpviz.data.conll import (
    ONTONOTES_OUTSIDE,
    ONTONOTES_TO_CONLL,
    ConllError,
    MissingTrainingData,
    TaggedSentence,
    _split_indices,
    entity_counts,
    load_silver_news,
    map_ontonotes,
    parse_conll,
    repair_bio,
    spacy_doc_to_sentences,
    tag_names,
    validate_tags,
    write_conll,
)

TWO_COLUMNS = "EU\tB-ORG\nrejects\tO\nGerman\tB-MISC\ncall\tO\n\nPeter\tB-PER\nBlackburn\tI-PER\n"
THREE_COLUMNS = """-DOCSTART- -X- -X- O

EU NNP B-ORG
rejects VBZ O
German JJ B-MISC
call NN O
. . O


Peter NNP B-PER
Blackburn NNP I-PER
"""


def test_parse_two_columns() -> None:
    sentences = parse_conll(TWO_COLUMNS)
    assert sentences == [
        TaggedSentence(("EU", "rejects", "German", "call"), ("B-ORG", "O", "B-MISC", "O")),
        TaggedSentence(("Peter", "Blackburn"), ("B-PER", "I-PER")),
    ]
    assert sentences[0].pos is None and sentences[0].doc_id is None


def test_parse_three_columns_docstart_and_blank_lines() -> None:
    sentences = parse_conll(THREE_COLUMNS)
    assert [s.tokens for s in sentences] == [
        ("EU", "rejects", "German", "call", "."),
        ("Peter", "Blackburn"),
    ]
    assert sentences[0].pos == ("NNP", "VBZ", "JJ", "NN", ".")
    assert sentences[0].tags == ("B-ORG", "O", "B-MISC", "O", "O")
    assert sentences[1].tags == ("B-PER", "I-PER")


def test_parse_tolerates_crlf_bom_tab_only_blank_lines_and_no_final_newline() -> None:
    text = "\ufeffa\tO\r\nb\tB-LOC\r\n\t\r\n  \n\nc\tO"
    sentences = parse_conll(text)
    assert [s.tokens for s in sentences] == [("a", "b"), ("c",)]
    assert [s.tags for s in sentences] == [("O", "B-LOC"), ("O",)]
    assert parse_conll("") == [] and parse_conll("\n\n  \n") == []


def test_tab_separated_tokens_may_hold_spaces_and_hashes_are_tokens() -> None:
    sentences = parse_conll("New York\tB-LOC\n#\tO\n#nyc\tO\n")
    assert sentences[0].tokens == ("New York", "#", "#nyc")
    assert sentences[0].doc_id is None


def test_article_markers_set_doc_ids_and_end_sentences() -> None:
    text = "# article 7\na\tDT\tO\n\nb\tNN\tO\n# article 9\nc\tNN\tB-PER\n"
    sentences = parse_conll(text)
    assert [(s.tokens, s.doc_id) for s in sentences] == [
        (("a",), "7"),
        (("b",), "7"),
        (("c",), "9"),
    ]


@pytest.mark.parametrize(
    "sentences",
    [
        [
            TaggedSentence(("EU", "rejects"), ("B-ORG", "O")),
            TaggedSentence(("New York", "#"), ("B-LOC", "O")),
        ],
        [
            TaggedSentence(("Peter", "ran"), ("B-PER", "O"), pos=("NNP", "VBD"), doc_id="3"),
            TaggedSentence(("He", "left"), ("O", "O"), pos=("PRP", "VBD"), doc_id="3"),
            TaggedSentence(("Paris",), ("B-LOC",), pos=("NNP",), doc_id="12"),
        ],
    ],
)
def test_write_then_parse_round_trip(sentences: list[TaggedSentence]) -> None:
    text = write_conll(sentences)
    assert parse_conll(text) == sentences
    assert write_conll(parse_conll(text)) == text


def test_write_layout() -> None:
    sentences = [TaggedSentence(("a", "b"), ("O", "B-X"), pos=("DT", "NN"), doc_id="1")]
    assert write_conll(sentences) == "# article 1\na\tDT\tO\nb\tNN\tB-X\n\n"
    assert write_conll([]) == ""


def test_write_rejects_what_would_not_read_back() -> None:
    with pytest.raises(ValueError, match="POS"):
        write_conll(
            [
                TaggedSentence(("a",), ("O",), pos=("DT",)),
                TaggedSentence(("b",), ("O",)),
            ]
        )
    with pytest.raises(ValueError, match="cannot be a CoNLL column"):
        write_conll([TaggedSentence(("a\tb",), ("O",))])
    with pytest.raises(ValueError, match="cannot be a CoNLL column"):
        write_conll([TaggedSentence((" ",), ("O",))])
    with pytest.raises(ValueError, match="no doc_id"):
        write_conll([TaggedSentence(("a",), ("O",), doc_id="1"), TaggedSentence(("b",), ("O",))])


def test_sentence_lengths_must_agree() -> None:
    with pytest.raises(ValueError, match="2 tokens but 1 tags"):
        TaggedSentence(("a", "b"), ("O",))
    with pytest.raises(ValueError, match="POS"):
        TaggedSentence(("a",), ("O",), pos=("DT", "NN"))


def test_token_without_tag_names_the_line() -> None:
    with pytest.raises(ConllError, match=r"^line 4: the token 'Blackburn' has no tag") as info:
        parse_conll("EU\tB-ORG\nrejects\tO\n\nBlackburn\n")
    assert info.value.line == 4
    assert isinstance(info.value, ValueError)


def test_inconsistent_columns_name_both_lines() -> None:
    with pytest.raises(ConllError, match=r"^line 3: found 3 columns .* line 1 has 2") as info:
        parse_conll("EU B-ORG\nrejects O\ncall NN O\n")
    assert info.value.line == 3


def test_expected_tag_columns() -> None:
    assert parse_conll("a DT O\n", tag_columns=2)[0].pos == ("DT",)
    with pytest.raises(ConllError, match=r"^line 2: found 3 columns .*expected 2 columns"):
        parse_conll("a O\nb NN O\n", tag_columns=1)
    with pytest.raises(ValueError, match="tag_columns"):
        parse_conll("a O\n", tag_columns=0)


def test_validate_tags_lists_unknown_tags_sorted() -> None:
    sentences = parse_conll("a\tB-person\nb\tO\n\nc\tB-PER\nd\tI-geo-loc\n")
    allowed = set(tag_names(["PER", "LOC"]))
    assert validate_tags(sentences, allowed) == ["B-person", "I-geo-loc"]
    assert validate_tags(sentences, allowed | {"B-person", "I-geo-loc"}) == []


def test_tag_names_and_entity_counts() -> None:
    assert tag_names(["LOC", "PER", "LOC"]) == ("O", "B-LOC", "I-LOC", "B-PER", "I-PER")
    sentences = [
        TaggedSentence(("a",) * 6, ("B-PER", "I-PER", "B-PER", "O", "I-LOC", "I-LOC")),
        TaggedSentence(("a",), ("B-LOC",)),
    ]
    assert entity_counts(sentences) == {"LOC": 2, "PER": 2}


def test_map_ontonotes() -> None:
    assert map_ontonotes("PERSON") == "PER"
    assert map_ontonotes("ORG") == "ORG"
    assert [map_ontonotes(t) for t in ("GPE", "LOC", "FAC")] == ["LOC"] * 3
    misc = ("NORP", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE", "PRODUCT")
    assert [map_ontonotes(t) for t in misc] == ["MISC"] * 6
    outside = ("DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL")
    assert [map_ontonotes(t) for t in outside] == [None] * 7
    assert len(ONTONOTES_TO_CONLL) + len(ONTONOTES_OUTSIDE) == 18  # all of OntoNotes' types
    with pytest.raises(ValueError, match="unknown OntoNotes"):
        map_ontonotes("PER")


def test_repair_bio() -> None:
    assert repair_bio(["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"]) == (
        "B-PER",
        "I-PER",
        "O",
        "B-LOC",
        "B-LOC",
        "B-ORG",
    )


# A stand-in for spaCy's Doc: only the attributes spacy_doc_to_sentences reads.
@dataclass
class FakeToken:
    text: str
    tag_: str
    ent_iob_: str = "O"
    ent_type_: str = ""


@dataclass
class FakeDoc:
    sentences: list[list[FakeToken]]

    @property
    def sents(self):
        return iter(self.sentences)


def test_spacy_doc_to_sentences() -> None:
    doc = FakeDoc(
        [
            [
                FakeToken("Angela", "NNP", "B", "PERSON"),
                FakeToken("Merkel", "NNP", "I", "PERSON"),
                FakeToken("visited", "VBD"),
                FakeToken("New", "NNP", "B", "GPE"),
                FakeToken("York", "NNP", "I", "GPE"),
                FakeToken("on", "IN"),
                FakeToken("Monday", "NNP", "B", "DATE"),
                FakeToken("with", "IN", ""),  # spaCy's "" = no entity annotation
                FakeToken("3", "CD", "B", "CARDINAL"),
                FakeToken("Germans", "NNPS", "B", "NORP"),
                FakeToken(".", "."),
                FakeToken("\n\n", "_SP"),
            ],
            [FakeToken("\n", "_SP")],  # a sentence of whitespace only is dropped
            [
                FakeToken("Bank", "NNP", "I", "ORG"),  # an entity cut by the sentence break
                FakeToken("\n", "_SP", "I", "ORG"),
                FakeToken("of", "IN", "I", "ORG"),
                FakeToken("England", "NNP", "I", "ORG"),
                FakeToken("rose", "VBD"),
            ],
        ]
    )
    sentences = spacy_doc_to_sentences(doc, doc_id="42")
    assert sentences == [
        TaggedSentence(
            ("Angela", "Merkel", "visited", "New", "York", "on", "Monday", "with", "3")
            + ("Germans", "."),
            ("B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "O", "O", "O", "B-MISC", "O"),
            pos=("NNP", "NNP", "VBD", "NNP", "NNP", "IN", "NNP", "IN", "CD", "NNPS", "."),
            doc_id="42",
        ),
        TaggedSentence(
            ("Bank", "of", "England", "rose"),
            ("B-ORG", "I-ORG", "I-ORG", "O"),
            pos=("NNP", "IN", "NNP", "VBD"),
            doc_id="42",
        ),
    ]
    text = write_conll(sentences)
    assert text.startswith("# article 42\nAngela\tNNP\tB-PER\n")
    assert parse_conll(text, tag_columns=2) == sentences


def test_split_indices_partition_80_10_10_and_depend_on_seed() -> None:
    train, dev, test = _split_indices(100, seed=13)
    assert (len(train), len(dev), len(test)) == (80, 10, 10)
    assert sorted([*train, *dev, *test]) == list(range(100))
    assert list(_split_indices(100, seed=13)[1]) == list(dev)
    assert list(_split_indices(100, seed=14)[1]) != list(dev)


def test_load_silver_news_splits_by_article(tmp_path: Path) -> None:
    sentences = [
        TaggedSentence((f"w{a}", "Paris"), ("O", "B-LOC"), pos=("NN", "NNP"), doc_id=str(a))
        for a in range(20)
        for _ in range(a % 3 + 1)  # articles of 1-3 sentences
    ]
    path = tmp_path / "silver.conll"
    path.write_text(write_conll(sentences), encoding="utf-8")
    sidecar = {"tagger": {"spacy": "3.8"}, "articles": {"used": 20, "rows": list(range(20))}}
    (tmp_path / "silver.conll.json").write_text(json.dumps(sidecar))
    data = load_silver_news(path, split_seed=13)
    splits = {"train": data.train, "dev": data.dev, "test": data.test}
    articles = {name: {s.doc_id for s in part} for name, part in splits.items()}
    assert [len(a) for a in articles.values()] == [16, 2, 2]
    assert set.union(*articles.values()) == {str(a) for a in range(20)}
    assert sum(len(a) for a in articles.values()) == 20  # no article in two splits
    assert sum(len(part) for part in splits.values()) == len(sentences)
    assert set(data.tag_names) == {"O"} | {
        f"{p}-{t}" for t in ("PER", "ORG", "LOC", "MISC") for p in "BI"
    }
    assert data.provenance["split_seed"] == 13
    assert data.provenance["tagger"] == {"spacy": "3.8"}
    assert data.provenance["articles_used"] == 20
    assert data.provenance["sizes"] == {name: len(part) for name, part in splits.items()}
    assert {s.doc_id for s in load_silver_news(path, split_seed=14).dev} != articles["dev"]


def test_load_silver_news_missing_file_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(MissingTrainingData, match="nlpviz data silver-news"):
        load_silver_news(tmp_path / "none.conll")
    unmarked = tmp_path / "unmarked.conll"
    unmarked.write_text("a\tDT\tO\n")
    with pytest.raises(ConllError, match="article"):
        load_silver_news(unmarked)


def test_spacy_doc_to_sentences_leaves_a_leading_the_outside() -> None:
    doc = FakeDoc(
        [
            [
                FakeToken("The", "DT", "B", "ORG"),
                FakeToken("European", "NNP", "I", "ORG"),
                FakeToken("Union", "NNP", "I", "ORG"),
                FakeToken("met", "VBD"),
                FakeToken("The", "DT", "B", "WORK_OF_ART"),
            ]
        ]
    )
    assert spacy_doc_to_sentences(doc)[0].tags == ("O", "B-ORG", "I-ORG", "O", "O")
    kept = spacy_doc_to_sentences(doc, strip_the=False)[0].tags
    assert kept == ("B-ORG", "I-ORG", "I-ORG", "O", "B-MISC")
