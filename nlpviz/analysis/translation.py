"""What the translation page shows, as plain numpy dataclasses: translations with their beam
trees and attention maps, sentence vectors and their 2-D projection, the cards' claims.

No streamlit here; ``nlpviz.ui.translation`` caches these per (checkpoint, text, options).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from nlpviz.checkpoints import Checkpoint, CheckpointError, load_state_into
from nlpviz.claims import NOT_REPRODUCED, Comparison, Verdict, cannot_judge, judge
from nlpviz.data.translation import (
    BOS_ID,
    EOS_ID,
    MAX_WORDS,
    PAD_ID,
    SOURCE_TOKENIZER_FILE,
    TARGET_TOKENIZER_FILE,
    UNK_ID,
    PieceTokenizer,
)
from nlpviz.families import translation as family
from nlpviz.models.beam import BeamResult, beam_search, clamp_beam
from nlpviz.models.seq2seq import Seq2Seq, Seq2SeqConfig
from nlpviz.models.transformer import Transformer, TransformerConfig

MAX_SOURCE_PIECES = 120  # longer input is cut (with a note); training saw up to 48
MAX_SENTENCES = 12  # the sentence-space view projects at most this many sentences
CHECKPOINTS = {s.name: s.label for s in family.FAMILY.checkpoints}  # checkpoint -> label


def model_from_checkpoint(checkpoint: Checkpoint) -> Seq2Seq | Transformer:
    """Rebuild the model a translation card describes and load its weights."""
    card = checkpoint.card
    try:
        if card["architecture"] == "transformer":
            model = Transformer(TransformerConfig(**card["config"]))
        else:
            model = Seq2Seq(Seq2SeqConfig(**card["config"]))
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(
            f"{checkpoint.directory / 'card.json'} does not describe a translation model "
            f"({error}). Rebuild it with `nlpviz train {checkpoint.name}`."
        ) from error
    return load_state_into(model, checkpoint)


def tokenizers_from_checkpoint(checkpoint: Checkpoint) -> tuple[PieceTokenizer, PieceTokenizer]:
    return (
        PieceTokenizer.from_file(checkpoint.directory / SOURCE_TOKENIZER_FILE),
        PieceTokenizer.from_file(checkpoint.directory / TARGET_TOKENIZER_FILE),
    )


# ---- the source -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    ids: tuple[int, ...]
    pieces: tuple[str, ...]
    notes: tuple[str, ...]  # warnings for the page (too long, unknown characters, cut)

    @property
    def is_empty(self) -> bool:
        return not self.ids


def prepare_source(
    tokenizer: PieceTokenizer, text: str, training_range: int | None = None
) -> Source:
    """Piece ids of the user's sentence, with the warnings the page shows.

    ``training_range``: the most source pieces a training sentence had (the card's
    ``recipe.max_pieces``); without it, the corpus' word limit is used.
    """
    text = " ".join(str(text).split())
    notes = []
    ids = tokenizer.encode(text)
    if not ids:
        return Source((), (), ())
    words = len(text.split())
    if training_range is not None and len(ids) > training_range:
        notes.append(
            f"The sentence has {len(ids)} pieces, longer than the training range (at most "
            f"{training_range} pieces): expect a worse translation (it is still translated)."
        )
    elif training_range is None and words > MAX_WORDS:
        notes.append(
            f"The sentence has {words} words, longer than the training range (at most "
            f"{MAX_WORDS} words): expect a worse translation (it is still translated)."
        )
    if len(ids) > MAX_SOURCE_PIECES:
        notes.append(
            f"The sentence has {len(ids)} pieces; only the first {MAX_SOURCE_PIECES} are read."
        )
        ids = ids[:MAX_SOURCE_PIECES]
    unknown = sum(1 for i in ids if i == UNK_ID)
    if unknown:
        notes.append(
            f"{unknown} piece(s) are characters the English vocabulary never saw; they are read "
            "as <unk>."
        )
    return Source(tuple(ids), tuple(tokenizer.pieces(ids)), tuple(notes))


# ---- one translation ------------------------------------------------------------------------


@dataclass(frozen=True)
class BeamTree:
    """The beam search tree as arrays, one entry per node (node 0 is the root)."""

    parent: np.ndarray  # (N,) int, -1 for the root
    step: np.ndarray  # (N,) int
    token: np.ndarray  # (N,) int
    piece: tuple[str, ...]  # (N,)
    token_log_prob: np.ndarray  # (N,) float
    score: np.ndarray  # (N,) float: sum of log-probs from the root
    status: tuple[str, ...]  # (N,) root/kept/pruned/finished/cut/stopped
    rank: np.ndarray  # (N,) int
    chosen: np.ndarray  # (N,) bool: on the path of the returned translation
    best_leaf: int
    beam_size: int
    max_len: int


@dataclass(frozen=True)
class Translation:
    model: str
    source: Source
    text: str  # the translation, detokenized
    output_ids: tuple[int, ...]  # without <s> and </s>
    output_pieces: tuple[str, ...]  # the target axis: y_1 .. y_T (+ </s> when finished)
    input_pieces: tuple[str, ...]  # the decoder's inputs: <s> y_1 .. y_T
    token_log_probs: np.ndarray  # (T',) of the target axis' pieces
    score: float
    normalized_score: float
    length_penalty: float
    finished: bool
    tree: BeamTree
    sentence: np.ndarray  # (H,) encoder summary (LSTM: final top-layer h; Transformer: mean)
    alignment: np.ndarray | None  # (T', S) LSTM attention over source positions, source order
    encoder_attention: np.ndarray | None  # (L, h, S, S) Transformer
    decoder_attention: np.ndarray | None  # (L, h, T', T') Transformer, causal
    cross_attention: np.ndarray | None  # (L, h, T', S) Transformer
    read_order: tuple[int, ...]  # source positions in the order the encoder read them
    seconds: float


def tree_arrays(result: BeamResult, tokenizer: PieceTokenizer) -> BeamTree:
    nodes = result.nodes
    chosen = np.zeros(len(nodes), dtype=bool)
    node = result.best_leaf
    while node >= 0:
        chosen[node] = True
        node = nodes[node].parent
    tokens = np.array([n.token for n in nodes], dtype=np.int64)
    pieces = tokenizer.pieces(tokens.tolist())
    return BeamTree(
        parent=np.array([n.parent for n in nodes], dtype=np.int64),
        step=np.array([n.step for n in nodes], dtype=np.int64),
        token=tokens,
        piece=tuple(pieces),
        token_log_prob=np.array([n.token_log_prob for n in nodes], dtype=np.float64),
        score=np.array([n.score for n in nodes], dtype=np.float64),
        status=tuple(n.status for n in nodes),
        rank=np.array([n.rank for n in nodes], dtype=np.int64),
        chosen=chosen,
        best_leaf=result.best_leaf,
        beam_size=result.beam_size,
        max_len=result.max_len,
    )


@torch.no_grad()
def translate(
    model: Seq2Seq | Transformer,
    src_tok: PieceTokenizer,
    tgt_tok: PieceTokenizer,
    text: str,
    beam_size: int,
    device: torch.device,
    name: str = "",
    max_len: int | None = None,
    training_range: int | None = None,
    length_penalty: float = 0.0,
) -> Translation | None:
    """Beam-search one sentence, then re-read the chosen output to collect every attention map.

    Returns None for text with no pieces (empty or blank).
    """
    import time

    started = time.perf_counter()
    source = prepare_source(src_tok, text, training_range)
    if source.is_empty:
        return None
    src = torch.tensor([source.ids], dtype=torch.long, device=device)  # (1, S)
    result = beam_search(model, src, clamp_beam(beam_size), max_len, length_penalty)
    out_ids = list(result.tokens) + ([EOS_ID] if result.finished else [])
    tgt_in = torch.tensor([[BOS_ID, *out_ids[:-1]]], dtype=torch.long, device=device)  # (1, T')
    if not out_ids:  # cut at max_len 0 cannot happen (max_len >= 1), but stay safe
        tgt_in = torch.tensor([[BOS_ID]], dtype=torch.long, device=device)
    output = model(src, tgt_in)
    log_probs = torch.log_softmax(output.logits[0].float(), dim=-1)  # (T', V)
    picked = log_probs[torch.arange(len(out_ids)), torch.tensor(out_ids, dtype=torch.long)]
    alignment = enc_att = dec_att = cross_att = None
    read_order = tuple(range(len(source.ids)))
    if isinstance(model, Transformer):
        enc_att = torch.stack(output.encoder_attention)[:, 0].float().cpu().numpy()
        dec_att = torch.stack(output.decoder_attention)[:, 0].float().cpu().numpy()
        cross_att = torch.stack(output.cross_attention)[:, 0].float().cpu().numpy()
    else:
        if output.alignment is not None:
            alignment = output.alignment[0].float().cpu().numpy()
        read_order = tuple(int(i) for i in output.read_order[0].cpu().tolist())
    return Translation(
        model=name,
        source=source,
        text=tgt_tok.decode(result.tokens),
        output_ids=tuple(result.tokens),
        output_pieces=tuple(tgt_tok.pieces(out_ids)),
        input_pieces=tuple(tgt_tok.pieces(tgt_in[0].tolist())),
        token_log_probs=picked.cpu().numpy().astype(np.float64),
        score=float(result.score),
        normalized_score=float(result.normalized_score),
        length_penalty=float(result.length_penalty),
        finished=result.finished,
        tree=tree_arrays(result, tgt_tok),
        sentence=output.sentence[0].float().cpu().numpy(),
        alignment=alignment,
        encoder_attention=enc_att,
        decoder_attention=dec_att,
        cross_attention=cross_att,
        read_order=read_order,
        seconds=time.perf_counter() - started,
    )


# ---- sentence space (the paper's Figure 2) --------------------------------------------------


@torch.no_grad()
def sentence_vectors(
    model: Seq2Seq | Transformer, tokenizer: PieceTokenizer, sentences, device
) -> np.ndarray:
    """(N, H) encoder summaries of ``sentences`` (empty ones are skipped by the caller)."""
    rows = [tokenizer.encode(s)[:MAX_SOURCE_PIECES] or [UNK_ID] for s in sentences]
    width = max(len(r) for r in rows)
    src = torch.full((len(rows), width), PAD_ID, dtype=torch.long)
    for i, row in enumerate(rows):
        src[i, : len(row)] = torch.tensor(row)
    src = src.to(device)
    tgt_in = torch.full((len(rows), 1), BOS_ID, dtype=torch.long, device=device)
    return model(src, tgt_in).sentence.float().cpu().numpy()


@dataclass(frozen=True)
class Projection:
    coords: np.ndarray  # (N, 2)
    explained: np.ndarray  # (2,) share of variance of each component
    distances: np.ndarray  # (N, N) cosine distances in the full space


def pca_2d(vectors: np.ndarray) -> Projection:
    """Project (N, H) vectors on their first two principal components (N >= 2)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[0] < 2:
        raise ValueError(f"need at least 2 vectors, got shape {vectors.shape}")
    centred = vectors - vectors.mean(0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:2]
    coords = centred @ components.T  # (N, <=2)
    if coords.shape[1] < 2:
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    total = float((singular**2).sum())
    explained = (singular[:2] ** 2) / total if total > 0 else np.zeros(2)
    explained = np.pad(explained, (0, 2 - len(explained)))
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return Projection(coords, explained, 1.0 - unit @ unit.T)


# ---- the cards ------------------------------------------------------------------------------


_NO_BLEU_SE = (
    "these cards hold no standard error for BLEU or perplexity (newer cards carry a bootstrap "
    "over the test pairs), so a lead cannot be told from noise"
)


def difference_se(a: dict, b: dict, metric: str) -> float | None:
    """SE of a difference of two cards' test figures, from each card's bootstrap SE.

    Both models are scored on the same test pairs, so the paired SE is smaller; adding the two
    variances errs towards "not reproduced", as the accuracy rule does.
    """
    se_a, se_b = a["metrics"].get(f"{metric}_se"), b["metrics"].get(f"{metric}_se")
    if se_a is None or se_b is None:
        return None
    return float(math.hypot(se_a, se_b))


def update_budget(cards: dict[str, dict]) -> str:
    """The updates the cards' recipes ran: "6,000 updates of 64 pairs" or, when the models
    trained for different lengths, "6,000 to 10,000 updates of 64 pairs"."""
    recipes = [card.get("recipe") or {} for card in cards.values()]
    steps = sorted({r["steps"] for r in recipes if r.get("steps")})
    batches = sorted({r["batch_size"] for r in recipes if r.get("batch_size")})
    if not steps:
        return "an unrecorded number of updates"
    span = f"{steps[0]:,}" if len(steps) == 1 else f"{steps[0]:,} to {steps[-1]:,}"
    return f"{span} updates" + (f" of {batches[0]} pairs" if len(batches) == 1 else "")


def claim_checks(cards: dict[str, dict]) -> list[Verdict]:
    """The papers' claims, judged on our cards (test BLEU, perplexity, wall time) by the rule of
    nlpviz.claims. BLEU and perplexity carry a bootstrap SE in cards trained since it was
    added; without one a gap the wrong way is "not reproduced" and a gap the right way "cannot
    be judged"."""
    checks = []
    fwd, rev = cards.get("translate-lstm"), cards.get("translate-lstm-reversed")
    if fwd and rev:
        f, r = fwd["metrics"], rev["metrics"]
        checks.append(
            judge(
                "Reversing the source helps the LSTM a lot",
                [
                    Comparison(
                        "reversed BLEU",
                        "forward",
                        r["test_bleu"],
                        f["test_bleu"],
                        difference_se(rev, fwd, "test_bleu"),
                    ),
                    Comparison(
                        "reversed perplexity",
                        "forward",
                        r["test_perplexity"],
                        f["test_perplexity"],
                        difference_se(rev, fwd, "test_perplexity"),
                        lower_is_better=True,
                    ),
                ],
                paper="BLEU 25.9 -> 30.6, perplexity 5.8 -> 4.7 (Sutskever et al. 2014, "
                "Section 3.3)",
                unjudged=_NO_BLEU_SE,
            )
        )
    trans = cards.get("translate-transformer")
    recurrent = {k: v for k, v in cards.items() if k != "translate-transformer"}
    if trans and recurrent:
        best_name, best = max(recurrent.items(), key=lambda kv: kv[1]["metrics"]["test_bleu"])
        checks.append(
            judge(
                "The Transformer beats recurrent models",
                [
                    Comparison(
                        "Transformer BLEU",
                        CHECKPOINTS.get(best_name, best_name),
                        trans["metrics"]["test_bleu"],
                        best["metrics"]["test_bleu"],
                        difference_se(trans, best, "test_bleu"),
                    )
                ],
                paper="Transformer (base) 27.3 BLEU EN-DE vs GNMT+RL 24.6 (Vaswani et al. "
                "2017, Table 2)",
                unjudged=_NO_BLEU_SE,
            )
        )
        checks.append(_faster(trans, recurrent))
    return checks


def _faster(trans: dict, recurrent: dict[str, dict]) -> Verdict:
    """Wall time until the Transformer matches the best recurrent model's final dev perplexity,
    against the time that recurrent model took to get there."""
    paper = (
        "3.3e18 training FLOPs (base) vs 2.3e19 for GNMT+RL, EN-DE (Vaswani et al. 2017, "
        "Table 2); base model trained in 12 hours on 8 P100 GPUs"
    )
    claim = "The Transformer trains faster"
    with_history = {k: v for k, v in recurrent.items() if v.get("history")}
    if not trans.get("history") or not with_history:
        return cannot_judge(claim, "no training history in the cards", paper=paper)
    name, best = min(with_history.items(), key=lambda kv: kv[1]["history"][-1]["dev_perplexity"])
    target = best["history"][-1]["dev_perplexity"]
    theirs = time_to_perplexity(best["history"], target)
    ours = time_to_perplexity(trans["history"], target)
    steps = trans["recipe"]["steps"]
    label = CHECKPOINTS.get(name, name)
    per_update = (
        f" Per update, on one CPU thread: Transformer {trans['run']['wall_time_s'] / steps:.2f} s,"
        f" {label} {best['run']['wall_time_s'] / steps:.2f} s."
    )
    if ours is None:
        # never getting there is a gap the wrong way, whatever the noise
        text = f"the Transformer never reached dev perplexity {target:.1f}."
        return Verdict(claim, paper, text + per_update, NOT_REPRODUCED)
    text = (
        f"the Transformer reached dev perplexity {target:.1f} (the final value of "
        f"{label}, the best recurrent model) after {ours:.0f} s of "
        f"training; that model needed {theirs:.0f} s."
    )
    seconds = Comparison("Transformer", label, ours, theirs, None, lower_is_better=True, digits=0)
    return judge(
        claim,
        [seconds],
        paper=paper,
        ours=text + per_update,
        unjudged="wall times on a shared machine have no standard error in the cards",
    )


def time_to_perplexity(history: list[dict], target: float) -> float | None:
    """Wall seconds until the dev perplexity first reached ``target`` (None: never)."""
    for entry in history:
        if entry["dev_perplexity"] <= target:
            return float(entry["wall_s"])
    return None
