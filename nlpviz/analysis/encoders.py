"""Reading the miniature encoders on a user's text (no streamlit; numpy out).

Text -> the checkpoint's sentencepiece tokenizer -> [CLS] pieces [SEP] (one window of the
model's size) -> forward -> plain arrays: attention of every layer and head, DeBERTa's score
terms, masked-LM top-k, replaced-token probabilities, Integrated Gradients.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nlpviz.attribution import TokenAttribution, integrated_gradients
from nlpviz.claims import Comparison, Verdict, binomial_se, cannot_judge, judge
from nlpviz.data.pretrain import TOKENIZER_FILE, SubwordTokenizer, masks_across_epochs
from nlpviz.models.encoders import MaskedLMEncoder, ReplacedTokenDetector, log_bucket_positions

TOP_K = 10


@dataclass(frozen=True)
class EncodedText:
    ids: np.ndarray  # (T,) [CLS] window [SEP]
    tokens: list[str]  # (T,) display strings
    unknown: np.ndarray  # (T,) bool: pieces the vocabulary lacks
    n_pieces: int  # pieces of the whole text (before the window)
    window_start: int  # first piece shown
    truncated: bool  # the text had more pieces than the window holds

    @property
    def special(self) -> np.ndarray:
        return np.asarray([i < 5 and i != 4 for i in self.ids.tolist()], dtype=bool)


def encode_text(
    tokenizer: SubwordTokenizer, text: str, max_len: int, window_start: int = 0
) -> EncodedText:
    """[CLS] + a window of at most ``max_len - 2`` pieces starting at ``window_start`` + [SEP]."""
    pieces = tokenizer.encode(text)
    room = max_len - 2
    start = max(0, min(int(window_start), max(0, len(pieces) - room)))
    window = pieces[start : start + room]
    ids = np.asarray([tokenizer.cls_id, *window, tokenizer.sep_id], dtype=np.int64)
    return EncodedText(
        ids=ids,
        tokens=tokenizer.display(ids),
        unknown=tokenizer.is_unknown(ids),
        n_pieces=len(pieces),
        window_start=start,
        truncated=len(pieces) > room,
    )


def mask_word(text: str, word_index: int, mask_token: str) -> str:
    """``text`` with its ``word_index``-th whitespace-separated word replaced by ``mask_token``.

    Punctuation glued to the word stays ("film." -> "[MASK].").
    """
    words = list(re.finditer(r"\S+", text))
    if not 0 <= word_index < len(words):
        raise ValueError(f"word {word_index} does not exist; the text has {len(words)} words")
    match = words[word_index]
    core = re.match(r"^(\W*)(.*?)(\W*)$", match.group(0))
    lead, body, trail = core.groups() if core and core.group(2) else ("", match.group(0), "")
    return text[: match.start()] + lead + mask_token + trail + text[match.end() :]


def words_of(text: str) -> list[str]:
    return re.findall(r"\S+", text)


@dataclass(frozen=True)
class Prediction:
    position: int  # index into the encoded tokens
    tokens: list[str]  # top-k display strings
    ids: list[int]
    probabilities: np.ndarray  # (k,)


@dataclass(frozen=True)
class EncoderReading:
    """One forward pass on one window, as numpy."""

    encoded: EncodedText
    attentions: np.ndarray  # (L, H, T, T) float32
    c2c: np.ndarray | None  # (L, H, T, T) DeBERTa's scaled score terms
    c2p: np.ndarray | None
    p2c: np.ndarray | None
    buckets: np.ndarray | None  # (T, T) relative-distance buckets
    predictions: list[Prediction]  # at every [MASK] position
    replaced_probability: np.ndarray | None  # (T,) DeBERTaV3's discriminator


def _mlm_model(model) -> MaskedLMEncoder:
    return model.generator if isinstance(model, ReplacedTokenDetector) else model


def _top_k(
    logits: torch.Tensor, positions: list[int], tokenizer: SubwordTokenizer, k: int
) -> list[Prediction]:
    out = []
    probs = torch.softmax(logits.float(), dim=-1)  # (T, V)
    probs[:, :5] = 0  # special tokens are never a word's prediction
    probs = probs / probs.sum(-1, keepdim=True)
    for position in positions:
        top = torch.topk(probs[position], k)
        ids = top.indices.tolist()
        out.append(Prediction(position, tokenizer.display(ids), ids, top.values.cpu().numpy()))
    return out


@torch.inference_mode()
def read(
    model: MaskedLMEncoder | ReplacedTokenDetector,
    tokenizer: SubwordTokenizer,
    text: str,
    device: torch.device,
    window_start: int = 0,
    emd_absolute: bool = True,
    k: int = TOP_K,
) -> EncoderReading:
    """Encode one window of ``text`` and read everything the pages show."""
    encoded = encode_text(tokenizer, text, model.config.max_len, window_start)
    ids = torch.from_numpy(encoded.ids)[None].to(device)  # (1, T)
    masks = [i for i, t in enumerate(encoded.ids.tolist()) if t == tokenizer.mask_id]
    replaced = None
    if isinstance(model, ReplacedTokenDetector):
        out = model(ids)
        replaced = torch.sigmoid(out.rtd_logits[0].float()).cpu().numpy()
        predictions = (
            _top_k(model.generator(ids).mlm_logits[0], masks, tokenizer, k) if masks else []
        )
    else:
        out = model(ids, emd_absolute=emd_absolute)
        predictions = _top_k(out.mlm_logits[0], masks, tokenizer, k)

    def stack(parts):
        return None if parts is None else torch.stack([p[0] for p in parts]).float().cpu().numpy()

    return EncoderReading(
        encoded=encoded,
        attentions=stack(out.attentions),
        c2c=stack(out.c2c) if out.c2p is not None else None,
        c2p=stack(out.c2p),
        p2c=stack(out.p2c),
        buckets=None if out.buckets is None else out.buckets.cpu().numpy(),
        predictions=predictions,
        replaced_probability=replaced,
    )


# ---- DeBERTaV3: the generator corrupts, the discriminator detects ----------------------------


@dataclass(frozen=True)
class Corruption:
    tokens: list[str]  # (T,) the corrupted sequence as the discriminator reads it
    original: list[str]  # (T,) the user's tokens
    chosen: np.ndarray  # (T,) bool: positions the generator filled in
    replaced: np.ndarray  # (T,) bool: positions whose token actually changed
    replaced_probability: np.ndarray  # (T,) the discriminator's P(replaced)
    attentions: np.ndarray  # (L, H, T, T) the discriminator's attention


@torch.inference_mode()
def corrupt_and_detect(
    model: ReplacedTokenDetector,
    tokenizer: SubwordTokenizer,
    text: str,
    device: torch.device,
    rate: float = 0.15,
    seed: int = 0,
    window_start: int = 0,
) -> Corruption:
    """ELECTRA's game on the user's text: mask ``rate`` of the pieces, let the generator sample
    replacements, and score every token of the result with the discriminator."""
    encoded = encode_text(tokenizer, text, model.config.max_len, window_start)
    ids = torch.from_numpy(encoded.ids)[None].to(device)  # (1, T)
    maskable = ids[0] >= 5
    rng = np.random.default_rng(seed)
    chosen_np = maskable.cpu().numpy() & (rng.random(len(encoded.ids)) < rate)
    if maskable.any() and not chosen_np.any():
        chosen_np[rng.choice(np.flatnonzero(maskable.cpu().numpy()))] = True
    chosen = torch.from_numpy(chosen_np).to(device)
    masked = ids.clone()
    masked[0, chosen] = tokenizer.mask_id
    logits = model.generator(masked).mlm_logits[0].float()  # (T, V)
    logits[:, :5] = float("-inf")
    generator = torch.Generator(device="cpu").manual_seed(seed)
    sampled = torch.multinomial(torch.softmax(logits, -1).cpu(), 1, generator=generator)[:, 0]
    corrupted = ids.clone()
    corrupted[0, chosen] = sampled.to(device)[chosen]
    out = model(corrupted)
    return Corruption(
        tokens=tokenizer.display(corrupted[0].tolist()),
        original=encoded.tokens,
        chosen=chosen_np,
        replaced=(corrupted[0] != ids[0]).cpu().numpy(),
        replaced_probability=torch.sigmoid(out.rtd_logits[0].float()).cpu().numpy(),
        attentions=torch.stack([a[0] for a in out.attentions]).float().cpu().numpy(),
    )


def embedding_sharing(model: ReplacedTokenDetector) -> dict[str, float]:
    """How far GDES moved the discriminator's embeddings from the generator's: norms of E_G and
    E_delta and the cosine between E_D = E_G + E_delta and E_G, averaged over the vocabulary."""
    with torch.no_grad():
        shared = model.generator.word_weight.float()
        delta = model.word_delta.float()
        own = shared + delta
        cosine = torch.nn.functional.cosine_similarity(own, shared, dim=-1)
        return {
            "generator_norm": float(shared.norm(dim=-1).mean()),
            "delta_norm": float(delta.norm(dim=-1).mean()),
            "mean_cosine": float(cosine.mean()),
        }


# ---- masks across epochs (RoBERTa vs BERT) -------------------------------------------------


def mask_schedule(
    tokenizer: SubwordTokenizer, text: str, max_len: int, epochs: int, dynamic: bool, seed: int = 0
) -> tuple[list[str], np.ndarray]:
    """What the training loop would feed for ``text`` in each of ``epochs`` passes.

    Returns the tokens and an (epochs, T) int array: 0 untouched, 1 [MASK], 2 random token,
    3 chosen but kept.
    """
    encoded = encode_text(tokenizer, text, max_len)
    schedule = masks_across_epochs(encoded.ids, tokenizer.vocab_size, epochs, dynamic, seed)
    codes = np.zeros((epochs, len(encoded.ids)), dtype=np.int64)
    for epoch, masked in enumerate(schedule):
        codes[epoch][masked.chosen] = 3
        codes[epoch][masked.replacement == 1] = 1
        codes[epoch][masked.replacement == 2] = 2
    return encoded.tokens, codes


# ---- Integrated Gradients for a masked-LM prediction --------------------------------------


def mlm_attribution(
    model: MaskedLMEncoder | ReplacedTokenDetector,
    tokenizer: SubwordTokenizer,
    text: str,
    position: int,
    target_id: int,
    device: torch.device,
    n_steps: int = 32,
    window_start: int = 0,
) -> TokenAttribution:
    """IG of the log-probability of ``target_id`` at ``position`` w.r.t. the token vectors.

    The baseline keeps [CLS], [SEP] and [MASK] and puts padding vectors everywhere else.
    """
    mlm = _mlm_model(model)
    encoded = encode_text(tokenizer, text, mlm.config.max_len, window_start)
    ids = torch.from_numpy(encoded.ids)[None].to(device)
    weight = mlm.word_weight.detach()
    inputs = weight[ids]  # (1, T, D)
    baseline_ids = ids.clone()
    keep = (ids < 5) & (ids != tokenizer.pad_id)
    baseline_ids[~keep] = tokenizer.pad_id
    baseline = weight[baseline_ids]  # (1, T, D)

    def forward(vectors: torch.Tensor) -> torch.Tensor:
        batch_ids = ids.expand(vectors.shape[0], -1)
        logits = mlm(batch_ids, word_vectors=vectors).mlm_logits[:, position]  # (B, V)
        return torch.log_softmax(logits.float(), dim=-1)

    scores, delta, at_input, at_baseline = integrated_gradients(
        forward, inputs, baseline, target_id, n_steps=n_steps
    )
    return TokenAttribution(
        tokens=tuple(encoded.tokens),
        scores=scores,
        target=target_id,
        output_at_input=at_input,
        output_at_baseline=at_baseline,
        delta=delta,
        n_steps=n_steps,
    )


# ---- the papers' claims beside our miniatures ----------------------------------------------

PAPER_CLAIMS = (
    {
        "claim": "Dynamic masking is comparable to or slightly better than static masking",
        "papers": "RoBERTa",
        "figures": "BERT-base size: static 78.3 / 84.3 / 92.5, dynamic 78.7 / 84.0 / 92.9 "
        "(SQuAD 2.0 F1 / MNLI-m / SST-2)",
        "source": "Liu et al. (2019), Table 1",
    },
    {
        "claim": "Dropping next-sentence prediction matches or slightly improves results",
        "papers": "RoBERTa",
        "figures": "SEGMENT-PAIR+NSP 84.0 MNLI-m vs FULL-SENTENCES (no NSP) 84.7",
        "source": "Liu et al. (2019), Table 2",
    },
    {
        "claim": "RoBERTa > BERT",
        "papers": "RoBERTa",
        "figures": "MNLI-m: BERT-large 86.6, RoBERTa 90.2; SQuAD 2.0 F1: 81.8 vs 89.4",
        "source": "Liu et al. (2019), Table 4",
    },
    {
        "claim": "DeBERTa > RoBERTa > BERT (same data and steps)",
        "papers": "DeBERTa",
        "figures": "MNLI-m: BERT-base 84.3, RoBERTa-ReImp-base 84.9, DeBERTa-base 86.3; "
        "RACE: 65.0, 66.8, 71.7",
        "source": "He et al. (2021), Table 4",
    },
    {
        "claim": "Each part of DeBERTa helps: without EMD, C2P or P2C scores drop",
        "papers": "DeBERTa",
        "figures": "MNLI-m 86.3 full; -EMD 86.1; -C2P 85.9; -P2C 86.0; SQuAD 2.0 F1 82.5 full, "
        "-EMD 81.3",
        "source": "He et al. (2021), Table 4",
    },
    {
        "claim": "DeBERTaV3 (replaced-token detection + GDES) > DeBERTa",
        "papers": "DeBERTaV3",
        "figures": "MNLI-m: DeBERTa-base 88.8, DeBERTaV3-base 90.6; SQuAD 2.0 F1 86.2 vs 88.4",
        "source": "DeBERTaV3 model card and README of the official repository (base models)",
    },
    {
        "claim": "Replaced-token detection learns more per unit of compute than MLM",
        "papers": "ELECTRA (the V3 objective)",
        "figures": "GLUE dev at equal compute: ELECTRA-Small 79.9 vs BERT-Small 75.1",
        "source": "Clark et al. (2020), Table 1",
    },
)


def later_stages(card: dict) -> list[dict]:
    """The records of a design's pretraining stages after its base recipe, in order."""
    return list(card.get("continued") or [])


def stage_steps(card: dict) -> list[int]:
    """The optimizer steps of each pretraining stage, the base recipe first."""
    return [int(card["recipe"]["steps"])] + [int(s["recipe"]["steps"]) for s in later_stages(card)]


def pretraining_steps(card: dict) -> int:
    """Every optimizer step a design saw, over all its stages."""
    return sum(stage_steps(card))


def continuation_note(cards: dict[str, dict], labels: dict[str, str]) -> str | None:
    """One sentence on the designs whose pretraining went on in later stages, or None."""
    parts = [
        f"{labels.get(d, d)} " + " + ".join(f"{n:,}" for n in stage_steps(card))
        for d, card in cards.items()
        if later_stages(card)
    ]
    if not parts:
        return None
    return (
        "Pretrained in stages: "
        + ", ".join(parts)
        + " steps. Each later stage starts from the stored weights of the one before with a new "
        "optimizer, warm-up and cosine schedule, so its curves go on past that stage's end "
        "and may get worse for a few hundred steps there before they improve again."
    )


def comparison_rows(cards: dict[str, dict]) -> list[dict]:
    """One row per design from its card: held-out metrics at equal steps and equal wall time,
    and the downstream probe (the one yardstick all four share)."""
    rows = []
    for design, card in cards.items():
        metrics = card["metrics"]
        wall = metrics.get("at_equal_wall_time", {})
        rows.append(
            {
                "design": design,
                "tokenizer": card["tokenizer"]["kind"],
                "parameters": card.get("parameters"),
                "steps": pretraining_steps(card),
                "wall_time_s": card["run"]["wall_time_s"],
                "mlm_loss": metrics["mlm_loss"],
                "mlm_accuracy": metrics["mlm_accuracy"],
                "mlm_accuracy_at_equal_wall": wall.get("mlm_accuracy"),
                "equal_wall_budget_s": wall.get("budget_s"),
                "nsp_accuracy": metrics.get("nsp_accuracy"),
                "rtd_accuracy": metrics.get("rtd_accuracy"),
                "rtd_auc": metrics.get("rtd_auc"),
                "probe_mr_accuracy": metrics.get("probe_mr_accuracy"),
                "cloze_top1": metrics.get("cloze", {}).get("top1_accuracy"),
                "cloze_top5": metrics.get("cloze", {}).get("top5_accuracy"),
                "cloze_top1_content_word": metrics.get("cloze", {}).get("top1_content_word"),
            }
        )
    return rows


def ordering_verdicts(cards: dict[str, dict]) -> list[Verdict]:
    """Whether our miniatures reproduce each ordering the papers claim, on the probe accuracy.

    Judged by the rule of nlpviz.claims (the gap must exceed two binomial standard errors on the
    probe's test sentences). Two designs trained for different numbers of steps cannot be judged:
    the papers' claims are at an equal budget.
    """

    def probe(design: str) -> float | None:
        card = cards.get(design)
        return None if card is None else card["metrics"].get("probe_mr_accuracy")

    n = next(
        (
            c["metrics"]["probe"]["test_sentences"]
            for c in cards.values()
            if "probe" in c["metrics"]
        ),
        0,
    )

    def beats(claim: str, a: str, b: str) -> Verdict:
        pa, pb = probe(a), probe(b)
        if pa is None or pb is None:
            return cannot_judge(claim, "not trained")
        steps_a, steps_b = (pretraining_steps(cards[d]) for d in (a, b))
        if steps_a != steps_b:
            return cannot_judge(
                claim,
                f"trained for different numbers of steps ({steps_a:,} vs {steps_b:,}); probe "
                f"accuracy {pa:.1f} vs {pb:.1f}",
            )
        if n < 1:
            return cannot_judge(claim, "the cards do not say how many sentences the probe saw")
        fa, fb = pa / 100, pb / 100  # the cards keep the probe accuracy in percent
        label_a, label_b = claim.split(" > ")
        se = binomial_se(fa, n, fb, n)
        return judge(
            claim, [Comparison(label_a, label_b, fa, fb, se, percent=True)],
            note=f"Probe accuracy on {n:,} test sentences",
        )  # fmt: skip

    return [
        beats("RoBERTa > BERT", "roberta", "bert"),
        beats("DeBERTa > RoBERTa", "deberta", "roberta"),
        beats("DeBERTaV3 > DeBERTa", "debertav3", "deberta"),
    ]


# ---- DeBERTaV3: how the detector did on one corruption --------------------------------------


@dataclass(frozen=True)
class DetectionCounts:
    replaced: int  # tokens the generator really changed
    caught: int  # of those, flagged (P >= threshold)
    kept: int  # tokens left as they were
    false_alarms: int  # of those, flagged anyway
    threshold: float


def detection_counts(
    replaced: np.ndarray,
    probability: np.ndarray,
    threshold: float = 0.5,
    scored: np.ndarray | None = None,
) -> DetectionCounts:
    """The confusion summary of one corruption: of the replaced tokens how many the
    discriminator flagged at ``threshold``, of the kept ones how many it flagged falsely.

    Args:
        replaced: (T,) bool, positions whose token changed.
        probability: (T,) P(replaced).
        scored: (T,) bool, positions to count (default all; pass False for [CLS]/[SEP]).
    """
    replaced = np.asarray(replaced, dtype=bool)
    probability = np.asarray(probability, dtype=np.float64)
    if replaced.shape != probability.shape or replaced.ndim != 1:
        raise ValueError(
            f"replaced has shape {replaced.shape}, probability {probability.shape}; "
            "expected two equal (T,)"
        )
    scored = np.ones_like(replaced) if scored is None else np.asarray(scored, dtype=bool)
    flagged = probability >= threshold
    return DetectionCounts(
        replaced=int((replaced & scored).sum()),
        caught=int((replaced & flagged & scored).sum()),
        kept=int((~replaced & scored).sum()),
        false_alarms=int((~replaced & flagged & scored).sum()),
        threshold=float(threshold),
    )


# ---- the masked-LM page: which word is masked, which window is read ------------------------

_TYPED_MASK = re.compile(r"\[MASK\]|<mask>")


def typed_masks(text: str) -> int:
    """How many mask tokens ("[MASK]" or "<mask>") the user typed into ``text``."""
    return len(_TYPED_MASK.findall(text))


def default_word(words: list[str]) -> int:
    """The word a page masks first: the longest purely alphabetic word (first on ties), else 0."""
    lengths = [len(w) if w.isalpha() else 0 for w in words]
    return max(range(len(words)), key=lambda i: (lengths[i], -i)) if words else 0


def mask_window(
    tokenizer: SubwordTokenizer,
    text: str,
    max_len: int,
    occurrence: int = 0,
    window_start: int | None = None,
) -> tuple[int, int | None]:
    """Where the ``occurrence``-th mask token of ``text`` lands in the window the model reads.

    Args:
        window_start: first piece of the window; None centres the window on the mask.

    Returns:
        The window start as :func:`encode_text` clamps it, and the mask's index in
        [CLS] window [SEP] (None when the text has no such mask or it lies outside the window).
    """
    pieces = tokenizer.encode(text)
    room = max_len - 2
    masks = [i for i, token_id in enumerate(pieces) if token_id == tokenizer.mask_id]
    found = masks[occurrence] if 0 <= occurrence < len(masks) else None
    if window_start is None:
        window_start = 0 if found is None else found - room // 2
    start = max(0, min(int(window_start), max(0, len(pieces) - room)))
    if found is None or not start <= found < start + room:
        return start, None
    return start, found - start + 1


# ---- the cloze probe: everyday sentences with one hidden content word -------------------------

CLOZE_FILE = Path(__file__).resolve().parents[2] / "tests" / "data" / "cloze.tsv"
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as into onto than then that this
    these those there here is are was were be been being am do does did has have had having it its
    he she they we you i me him her them us my his their our your not no so too very can could
    will would shall should may might must just also only up down out over under again what which
    who whom whose when where why how all any both each few more most other some such own same s
    t 's""".split()
)


@dataclass(frozen=True)
class ClozeItem:
    sentence: str  # with one "[MASK]"
    answer: str  # lower case


def load_cloze(path: Path = CLOZE_FILE) -> list[ClozeItem]:
    """The cloze probe set: ``sentence<TAB>answer`` lines, ``#`` comments."""
    items = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        sentence, answer = line.split("\t")
        if sentence.count("[MASK]") != 1:
            raise ValueError(f"a cloze sentence needs exactly one [MASK]: {sentence!r}")
        items.append(ClozeItem(sentence, answer.strip().lower()))
    return items


def held_out_gaps(
    documents, n: int, seed: int = 0, min_words: int = 6, max_words: int = 30
) -> list[ClozeItem]:
    """Up to ``n`` cloze items cut from held-out text: one content word of a sentence hidden.

    The larger, less hand-picked companion of the probe set: each sentence of ``min_words`` to
    ``max_words`` space-separated words, in a seeded order, hides one of its alphabetic non-stopword
    words of three letters or more (chosen with the same seed); sentences without one are skipped.
    """
    rng = random.Random(seed)
    sentences = [
        s for document in documents for s in document if min_words <= len(s.split()) <= max_words
    ]
    rng.shuffle(sentences)
    items = []
    for sentence in sentences:
        if len(items) >= n:
            break
        words = sentence.split()
        hideable = [
            i
            for i, w in enumerate(words)
            if w.isalpha() and len(w) > 2 and w.lower() not in STOPWORDS
        ]
        if hideable:
            i = rng.choice(hideable)
            masked = " ".join([*words[:i], "[MASK]", *words[i + 1 :]])
            items.append(ClozeItem(masked, words[i].lower()))
    return items


def tokenizer_from_checkpoint(checkpoint) -> SubwordTokenizer:
    """The tokenizer an encoder checkpoint was trained with, of the kind its card names."""
    kind = checkpoint.card["tokenizer"]["kind"]
    return SubwordTokenizer.from_file(checkpoint.directory / TOKENIZER_FILE, kind)


def human_word(display: str) -> str:
    """A predicted piece as a reader sees it: no "##" or "Ġ" marks, lower case."""
    return display.removeprefix("##").removeprefix("Ġ").strip().lower()


def is_content_word(display: str) -> bool:
    """A whole alphabetic word that is not a stopword ("##ing", ",", "the" are not)."""
    if display.startswith("##"):
        return False
    word = human_word(display)
    return word.isalpha() and word not in STOPWORDS


@torch.inference_mode()
def cloze_scores(
    model: MaskedLMEncoder | ReplacedTokenDetector,
    tokenizer: SubwordTokenizer,
    items: list[ClozeItem],
    device: torch.device,
) -> dict:
    """Top-1 / top-5 hits of the hidden word, and how often the top-1 is a content word (in %).

    The hidden word counts as found when a prediction at the mask, read as a word, equals it; a
    word the vocabulary splits into pieces can only be missed, which the card's count shows.
    """
    hits1 = hits5 = content = single_piece = 0
    rows = []
    for item in items:
        text = item.sentence.replace("[MASK]", tokenizer.mask_token)
        predictions = read(model, tokenizer, text, device, k=5).predictions
        words = [human_word(t) for t in predictions[0].tokens]
        hits1 += words[0] == item.answer
        hits5 += item.answer in words
        content += is_content_word(predictions[0].tokens[0])
        single_piece += len(tokenizer.encode(" " + item.answer)) == 1
        rows.append({"sentence": item.sentence, "answer": item.answer, "top5": words})
    n = len(items)
    return {
        "sentences": n,
        "top1_accuracy": round(100 * hits1 / n, 1),
        "top5_accuracy": round(100 * hits5 / n, 1),
        "top1_content_word": round(100 * content / n, 1),
        "answers_one_piece": single_piece,
        "predictions": rows,
    }


def bucket_values(
    position_buckets: int, max_relative_positions: int, max_distance: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """Distances -max_distance .. max_distance and their DeBERTa log buckets (the model's own
    function, ``log_bucket_positions``), as (D,) int arrays for the bucket curve."""
    if max_distance < 1:
        raise ValueError(f"max_distance must be at least 1, got {max_distance}")
    distances = torch.arange(-max_distance, max_distance + 1)
    values = log_bucket_positions(distances, position_buckets, max_relative_positions)
    return distances.numpy(), values.numpy()
