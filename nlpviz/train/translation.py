"""Training the four English->Spanish translators on the apertium pairs, under one budget.

* ``translate-lstm``: Sutskever et al. (2014), source read in order.
* ``translate-lstm-reversed``: the same, source reversed (Section 3.3); nothing else changes.
* ``translate-lstm-attention``: the same LSTMs plus Luong (2015) global attention.
* ``translate-transformer``: Vaswani et al. (2017), label smoothing 0.1 and the learning-rate
  schedule of Eq. 3 (warmup then ``step^-0.5``), Adam with beta2 = 0.98.

All four share the data, the two sentencepiece vocabularies, the batch size and the number of
updates, and have about 1.7 million parameters. The LSTMs deviate from the paper's optimiser (plain
SGD at 0.7 for 7.5 epochs): in our few thousand updates SGD barely moves, so they use Adam with
the paper's gradient-norm clipping at 5 and its uniform [-0.08, 0.08] initialisation.

The dev set is scored every ``eval_every`` updates with the wall time so far, so the page can
compare the models at equal wall time. At the end: test perplexity (teacher forcing, per target
piece, ``</s>`` included) and test BLEU (sacrebleu, beam search and greedy). Training resumes
from ``$NLPVIZ_CACHE/train-state/<name>.pt``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from nlpviz import settings
from nlpviz.checkpoints import save_checkpoint
from nlpviz.data.translation import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    SOURCE_TOKENIZER_FILE,
    TARGET_TOKENIZER_FILE,
    PieceTokenizer,
    TranslationCorpus,
    load_pairs,
    train_piece_model,
)
from nlpviz.models.beam import beam_search, greedy_decode
from nlpviz.models.seq2seq import Seq2Seq, Seq2SeqConfig, count_parameters
from nlpviz.models.transformer import Transformer, TransformerConfig, noam_rate
from nlpviz.train import common
from nlpviz.train.common import run_record, seed_everything

log = logging.getLogger(__name__)

MODELS = ("lstm", "lstm-reversed", "lstm-attention", "transformer")
PAPERS = {
    "lstm": "Sutskever, Vinyals & Le (2014), Sequence to Sequence Learning with Neural Networks",
    "lstm-reversed": "Sutskever, Vinyals & Le (2014), Sequence to Sequence Learning with "
    "Neural Networks (Section 3.3, reversed source)",
    "lstm-attention": "Sutskever et al. (2014) + Luong, Pham & Manning (2015), Effective "
    "Approaches to Attention-based Neural Machine Translation (global, general score)",
    "transformer": "Vaswani et al. (2017), Attention Is All You Need",
}


@dataclass(frozen=True)
class TranslationRecipe:
    model: str
    vocab_size: int = 3000  # each side
    d_model: int = 128
    batch_size: int = 64
    steps: int = 6000  # about 6 epochs of the pairs in range (see LONGER_RUNS)
    eval_every: int = 500
    max_pieces: int = 48  # the training range: pairs longer on either side are left out
    lr: float = 5e-3  # the LSTMs' Adam rate (linear decay to 5% of it)
    lstm_dropout: float = 0.0  # dev perplexity never rose in the 6,000-update runs
    clip: float = 5.0  # the LSTM paper's gradient-norm clip
    noam_scale: float = 0.35  # the Transformer: lr = scale * Eq. 3 (peak 2.2e-3 at warmup)
    warmup: int = 200
    label_smoothing: float = 0.1  # the Transformer only (Section 5.4)
    bleu_beam: int = 4
    bleu_beam_sentences: int = 1000  # beam-search BLEU on up to this many test pairs
    bootstrap_rounds: int = 200  # resamples of the test pairs for BLEU's and perplexity's SE
    transformer_layers: int = 2  # encoder and decoder each: keeps the four near 1.7M parameters
    split_seed: int = 13

    def config(self, src_vocab: int, tgt_vocab: int):
        if self.model == "transformer":
            return TransformerConfig(
                src_vocab,
                tgt_vocab,
                d_model=self.d_model,
                d_ff=4 * self.d_model,
                n_encoder_layers=self.transformer_layers,
                n_decoder_layers=self.transformer_layers,
            )
        return Seq2SeqConfig(
            src_vocab,
            tgt_vocab,
            d_embed=self.d_model,
            d_hidden=self.d_model,
            dropout=self.lstm_dropout,
            reverse_source=self.model == "lstm-reversed",
            attention="luong" if self.model == "lstm-attention" else None,
        )


# The two attention-free LSTMs were still improving at 6,000 updates (dev perplexity 47 and 41,
# far behind the attention models' 6.4 and 4.9), so they train longer: 10,000 updates is what
# two of them in parallel finish within one working session on two CPU cores (~0.6 s per
# update each). Still one recipe for the pair, which differs only in source order, as in
# Sutskever et al.'s Section 3.3.
LONGER_RUNS = {"lstm": 10_000, "lstm-reversed": 10_000}


def recipe_for(model: str) -> TranslationRecipe:
    """The recipe ``nlpviz train translate-MODEL`` uses."""
    return TranslationRecipe(model=model, steps=LONGER_RUNS.get(model, TranslationRecipe.steps))


def build_model(config) -> Seq2Seq | Transformer:
    return Transformer(config) if isinstance(config, TransformerConfig) else Seq2Seq(config)


# ---- data -----------------------------------------------------------------------------------


def tokenizers(corpus: TranslationCorpus, vocab_size: int) -> tuple[PieceTokenizer, ...]:
    """The English and Spanish sentencepiece models, trained once on the train split (cached)."""
    key = hashlib.sha256(
        json.dumps([vocab_size, corpus.record["sha256"], corpus.split_seed]).encode()
    ).hexdigest()[:16]
    folder = settings.cache_dir() / "translation" / "tokenizers"
    out = []
    for side, index in (("en", 0), ("es", 1)):
        path = folder / f"{side}-{key}.model"
        if not path.is_file():
            log.info("training the %s tokenizer", side)
            proto = train_piece_model((pair[index] for pair in corpus.train), vocab_size)
            folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(proto)
        out.append(PieceTokenizer.from_file(path))
    return tuple(out)


@dataclass(frozen=True)
class Encoded:
    src: list[np.ndarray]
    tgt: list[np.ndarray]  # y_1 .. y_T </s>


def in_range(pairs, src_tok, tgt_tok, max_pieces: int) -> list[tuple[str, str]]:
    """The pairs whose source and target (with ``</s>``) have at most ``max_pieces`` pieces."""
    return [
        (en, es)
        for en, es in pairs
        if 0 < len(src_tok.encode(en)) <= max_pieces and len(tgt_tok.encode(es)) + 1 <= max_pieces
    ]


def encode_pairs(pairs, src_tok, tgt_tok, max_pieces: int | None) -> Encoded:
    src, tgt = [], []
    for en, es in pairs:
        s = np.asarray(src_tok.encode(en), dtype=np.int64)
        t = np.asarray([*tgt_tok.encode(es), EOS_ID], dtype=np.int64)
        if len(s) == 0 or (max_pieces is not None and max(len(s), len(t)) > max_pieces):
            continue
        src.append(s)
        tgt.append(t)
    return Encoded(src, tgt)


def collate(data: Encoded, indices) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(src (B, S), tgt_in (B, T) = <s> y.., tgt_out (B, T) = y.. </s>), padded with PAD_ID."""
    s_len = max(len(data.src[i]) for i in indices)
    t_len = max(len(data.tgt[i]) for i in indices)
    src = np.full((len(indices), s_len), PAD_ID, np.int64)
    tgt_in = np.full((len(indices), t_len), PAD_ID, np.int64)
    tgt_out = np.full((len(indices), t_len), PAD_ID, np.int64)
    for row, i in enumerate(indices):
        src[row, : len(data.src[i])] = data.src[i]
        tgt_out[row, : len(data.tgt[i])] = data.tgt[i]
        tgt_in[row, 0] = BOS_ID
        tgt_in[row, 1 : len(data.tgt[i])] = data.tgt[i][:-1]
    return torch.from_numpy(src), torch.from_numpy(tgt_in), torch.from_numpy(tgt_out)


def epoch_batches(data: Encoded, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Batches of similar length (the paper's 2x speed-up): shuffle, sort in windows, shuffle."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(data.src))
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort([len(data.tgt[i]) for i in chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


# ---- scoring --------------------------------------------------------------------------------


@torch.no_grad()
def sentence_nll(model, data: Encoded, device, batch_size: int = 100) -> np.ndarray:
    """(n, 2): each pair's summed negative log-likelihood and its number of target pieces."""
    model.eval()
    out = np.zeros((len(data.tgt), 2))
    order = np.argsort([len(t) for t in data.tgt], kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        src, tgt_in, tgt_out = (t.to(device) for t in collate(data, rows))
        logits = model(src, tgt_in).logits
        nll = F.cross_entropy(
            logits.transpose(1, 2).float(), tgt_out, ignore_index=PAD_ID, reduction="none"
        )  # (B, T), zero at padding
        out[rows, 0] = nll.sum(1).cpu().numpy()
        out[rows, 1] = (tgt_out != PAD_ID).sum(1).cpu().numpy()
    model.train()
    return out


def pooled_perplexity(nll: np.ndarray) -> float:
    """exp(summed NLL / pieces) over rows of :func:`sentence_nll`."""
    return math.exp(nll[:, 0].sum() / max(nll[:, 1].sum(), 1))


def perplexity(model, data: Encoded, device, batch_size: int = 100) -> float:
    """exp(mean negative log-likelihood per target piece), ``</s>`` included."""
    return pooled_perplexity(sentence_nll(model, data, device, batch_size))


def bootstrap_se(statistic, n: int, rounds: int, seed: int = 0) -> float:
    """Standard deviation of ``statistic(indices)`` over resamples of ``n`` test items.

    The resamples depend only on ``n`` and the seed, so two models scored on the same test
    pairs are resampled alike.
    """
    rng = np.random.default_rng(seed)
    values = [statistic(rng.integers(0, n, n)) for _ in range(rounds)]
    return float(np.std(values, ddof=1))


@torch.no_grad()
def translate_all(model, src_tok, tgt_tok, sentences, device, beam: int) -> list[str]:
    """Translations of ``sentences``: batched greedy when ``beam == 1``, else beam search."""
    model.eval()
    encoded = [src_tok.encode(s)[:MAX_SOURCE] or [src_tok.processor.unk_id()] for s in sentences]
    out: list[str] = [""] * len(sentences)
    if beam == 1:
        order = np.argsort([len(e) for e in encoded], kind="stable")
        for start in range(0, len(order), 100):
            rows = order[start : start + 100]
            width = max(len(encoded[i]) for i in rows)
            src = torch.full((len(rows), width), PAD_ID, dtype=torch.long)
            for r, i in enumerate(rows):
                src[r, : len(encoded[i])] = torch.tensor(encoded[i])
            for i, tokens in zip(rows, greedy_decode(model, src.to(device)), strict=True):
                out[i] = tgt_tok.decode(tokens)
    else:
        for i, ids in enumerate(encoded):
            result = beam_search(model, torch.tensor([ids], device=device), beam)
            out[i] = tgt_tok.decode(result.tokens)
    model.train()
    return out


MAX_SOURCE = 120  # pieces; the app's bound as well


def bleu(hypotheses: list[str], references: list[str]) -> float:
    import sacrebleu

    return round(float(sacrebleu.corpus_bleu(hypotheses, [references]).score), 2)


# ---- the loop -------------------------------------------------------------------------------


def _state_path(name: str) -> Path:
    return settings.cache_dir() / "train-state" / f"{name}.pt"


def learning_rate(step: int, recipe: TranslationRecipe) -> float:
    if recipe.model == "transformer":
        return noam_rate(step + 1, recipe.d_model, recipe.warmup, recipe.noam_scale)
    return recipe.lr * max(0.05, 1.0 - step / recipe.steps)


def train_translation(
    name: str,
    recipe: TranslationRecipe,
    device: torch.device,
    seed: int,
    command: str,
    pairs_dir: Path | None = None,
) -> dict:
    """Train one translator, save ``checkpoints/<name>/`` and return its card."""
    if recipe.model not in MODELS:
        raise ValueError(f"unknown model {recipe.model!r}; one of {MODELS}")
    seed_everything(seed)
    corpus = load_pairs(pairs_dir, recipe.split_seed)
    src_tok, tgt_tok = tokenizers(corpus, recipe.vocab_size)
    train = encode_pairs(corpus.train, src_tok, tgt_tok, recipe.max_pieces)
    # held-out pairs inside the training range (the page warns about longer input)
    dev = encode_pairs(
        in_range(corpus.dev, src_tok, tgt_tok, recipe.max_pieces), src_tok, tgt_tok, None
    )
    test_pairs = in_range(corpus.test, src_tok, tgt_tok, recipe.max_pieces)
    test = encode_pairs(test_pairs, src_tok, tgt_tok, None)
    log.info(
        "%s: %d training pairs, %d dev, %d test", name, len(train.src), len(dev.src), len(test.src)
    )
    config = recipe.config(src_tok.vocab_size, tgt_tok.vocab_size)
    model = build_model(config).to(device)
    if recipe.model == "transformer":
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-9)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    smoothing = recipe.label_smoothing if recipe.model == "transformer" else 0.0

    step, wall, history = 0, 0.0, []
    state_path = _state_path(name)
    if (state := common.resume(state_path, model, optimizer, recipe, seed, device)) is not None:
        step, wall, history = state["step"], state["wall"], state["history"]

    batches_cache: dict[int, list[np.ndarray]] = {}
    per_epoch = len(epoch_batches(train, recipe.batch_size, seed, 0))
    model.train()
    progress = tqdm(total=recipe.steps, initial=step, desc=name, mininterval=30)
    while step < recipe.steps:
        started = time.perf_counter()
        epoch, within = divmod(step, per_epoch)
        if epoch not in batches_cache:
            batches_cache.clear()
            batches_cache[epoch] = epoch_batches(train, recipe.batch_size, seed, epoch)
        src, tgt_in, tgt_out = collate(train, batches_cache[epoch][within])
        src, tgt_in, tgt_out = src.to(device), tgt_in.to(device), tgt_out.to(device)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, recipe)
        logits = model(src, tgt_in).logits
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            tgt_out.reshape(-1),
            ignore_index=PAD_ID,
            label_smoothing=smoothing,
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.clip)
        optimizer.step()
        step += 1
        progress.update(1)
        wall += time.perf_counter() - started
        if step % recipe.eval_every == 0 or step == recipe.steps:
            entry = {
                "step": step,
                "epoch": round(step / per_epoch, 3),
                "wall_s": round(wall, 1),
                "train_loss": round(float(loss.detach()), 4),
                "dev_perplexity": round(perplexity(model, dev, device), 3),
                "lr": learning_rate(step - 1, recipe),
            }
            history.append(entry)
            log.info("%s: %s", name, entry)
            common.save_train_state(state_path, model, optimizer, recipe, seed, step, wall, history)
    progress.close()

    common.load_as_stored(model).eval()  # score the weights the checkpoint keeps
    started = time.perf_counter()
    test_nll = sentence_nll(model, test, device)
    test_ppl = pooled_perplexity(test_nll)
    english = [en for en, _ in test_pairs]
    references = [es for _, es in test_pairs]
    greedy = translate_all(model, src_tok, tgt_tok, english, device, beam=1)
    n_beam = min(recipe.bleu_beam_sentences, len(english))
    beamed = translate_all(model, src_tok, tgt_tok, english[:n_beam], device, beam=recipe.bleu_beam)
    bleu_se = bootstrap_se(
        lambda rows: bleu([beamed[i] for i in rows], [references[i] for i in rows]),
        n_beam,
        recipe.bootstrap_rounds,
    )
    ppl_se = bootstrap_se(
        lambda rows: pooled_perplexity(test_nll[rows]),
        len(test_nll),
        recipe.bootstrap_rounds,
    )
    eval_seconds = time.perf_counter() - started
    metrics = {
        "test_bleu": bleu(beamed, references[:n_beam]),
        "test_bleu_se": round(bleu_se, 3),
        "test_perplexity_se": round(ppl_se, 3),
        "standard_errors": f"bootstrap over the test pairs ({recipe.bootstrap_rounds} "
        "resamples, the same resamples for every model)",
        "test_bleu_greedy": bleu(greedy, references),
        "test_bleu_greedy_same_pairs": bleu(greedy[:n_beam], references[:n_beam]),
        "bleu_beam_pairs": n_beam,
        "test_perplexity": round(test_ppl, 3),
        "dev_perplexity": history[-1]["dev_perplexity"] if history else None,
        "bleu_beam": recipe.bleu_beam,
        "test_pairs": len(references),
        "bleu_tool": "sacrebleu " + _sacrebleu_version() + " corpus_bleu, default 13a tokenizer",
        "evaluation_s": round(eval_seconds, 1),
    }
    card = {
        "family": "translation",
        "model": recipe.model,
        "architecture": "transformer" if recipe.model == "transformer" else "seq2seq",
        "paper": PAPERS[recipe.model],
        "config": asdict(config),
        "tokenizers": {
            "source": {"file": SOURCE_TOKENIZER_FILE, "vocab_size": src_tok.vocab_size},
            "target": {"file": TARGET_TOKENIZER_FILE, "vocab_size": tgt_tok.vocab_size},
            "kind": "sentencepiece BPE, trained on the training split",
        },
        "data": {
            **{k: v for k, v in corpus.record.items() if k != "path"},
            "pairs_file": "$NLPVIZ_CACHE/translation/pairs.tsv (nlpviz data translation-pairs)",
            "split_seed": corpus.split_seed,
            "train_pairs": len(corpus.train),
            "train_pairs_used": len(train.src),
            "dev_pairs": len(corpus.dev),
            "test_pairs": len(corpus.test),
            "test_pairs_in_range": len(test_pairs),
            "dev_pairs_in_range": len(dev.src),
            "training_range": f"source and target (with </s>) of at most {recipe.max_pieces} "
            "pieces; dev and test scored on the pairs in that range",
            "target_side": "rule-based machine translation (apertium), not human translation",
        },
        "recipe": asdict(recipe),
        "optimizer": "Adam(0.9, 0.98, eps 1e-9), Eq. 3 schedule x noam_scale, label smoothing"
        if recipe.model == "transformer"
        else "Adam, linear decay, grad-norm clip 5, uniform(-0.08, 0.08) init",
        "parameters": count_parameters(model),
        "run": run_record(device, wall, command, seed),
        "metrics": metrics,
        "paper_figure": paper_figure(recipe.model),
        "history": history,
        "samples": [
            {"english": e, "apertium": r, "beam": b, "greedy": g}
            for e, r, b, g in list(zip(english, references, beamed, greedy, strict=False))[:5]
        ],
    }
    save_checkpoint(
        name,
        dict(model.state_dict()),
        card,
        side_files={SOURCE_TOKENIZER_FILE: src_tok.proto, TARGET_TOKENIZER_FILE: tgt_tok.proto},
    )
    state_path.unlink(missing_ok=True)
    return card


def _sacrebleu_version() -> str:
    import importlib.metadata

    return importlib.metadata.version("sacrebleu")


def paper_figure(model: str) -> dict:
    """The paper's own figures (WMT'14; not comparable to ours in size, only in direction)."""
    sutskever = "Sutskever et al. (2014), Section 3.3 (single LSTM, WMT'14 En->Fr test)"
    figures = {
        "lstm": {
            "metric": "test BLEU / perplexity, source in order",
            "value": 25.9,
            "perplexity": 5.8,
            "source": sutskever,
        },
        "lstm-reversed": {
            "metric": "test BLEU / perplexity, source reversed",
            "value": 30.6,
            "perplexity": 4.7,
            "source": sutskever,
        },
        "lstm-attention": {
            "metric": "none quoted: the seeds' notes name attention as the next step",
            "value": None,
            "source": "paper notes, Section 4 (Notes)",
        },
        "transformer": {
            "metric": "newstest2014 BLEU, Transformer (base): EN-DE 27.3, EN-FR 38.1; training "
            "cost 3.3e18 FLOPs vs GNMT+RL 2.3e19 (EN-DE) / 1.4e20 (EN-FR)",
            "value": 27.3,
            "source": "Vaswani et al. (2017), Table 2",
        },
    }
    return figures[model]
