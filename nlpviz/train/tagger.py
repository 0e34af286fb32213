"""Training the BiLSTM(-CNN)(-CRF) taggers of Ma & Hovy (2016), Section 3.

The paper's recipe is SGD (lr 0.01, momentum 0.9, batch 10) with gradient clipping at 5 and
dropout 0.5; within a CPU budget we use Adam with the same clipping and dropout, batches of
sentences of similar length, and early stopping on the dev metric (entity-level F1 for NER,
token accuracy for POS). Test metrics are measured once, on the float16 weights that are stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from nlpviz.checkpoints import read_card, save_checkpoint
from nlpviz.data.conll import TaggedData, TaggedSentence
from nlpviz.data.vocab import Vocab
from nlpviz.models.crf import entity_f1
from nlpviz.models.kim_cnn import pad_ids
from nlpviz.models.tagger import MAX_WORD_CHARS, Tagger, TaggerConfig, pad_chars
from nlpviz.train.common import load_as_stored, run_record, seed_everything, snapshot, stopwatch

log = logging.getLogger(__name__)

PAPER = "Ma & Hovy (2016), End-to-end Sequence Labeling via Bi-directional LSTM-CNNs-CRF"
PAPER_FIGURES = {  # the full BLSTM-CNN-CRF, test split, as the paper reports it
    "ner": {"metric": "entity F1", "value": 0.9121, "source": "Ma & Hovy (2016), CoNLL-2003 NER"},
    "pos": {"metric": "accuracy", "value": 0.9755, "source": "Ma & Hovy (2016), WSJ POS"},
}
VOCAB_FILE = "vocab.json"
CHARS_FILE = "chars.json"
VARIANTS = {"blstm": (False, False), "blstm-cnn": (True, False), "blstm-cnn-crf": (True, True)}


@dataclass(frozen=True)
class TaggerRecipe:
    variant: str  # a key of VARIANTS
    task: str  # "wnut-ner", "news-ner" or "news-pos"
    epochs: int = 12
    batch_size: int = 16
    lr: float = 2e-3
    clip: float = 5.0
    glove_words: int = 20_000
    split_seed: int = 13


def _load(task: str, split_seed: int) -> tuple[TaggedData, str]:
    from nlpviz.data import conll

    if task == "wnut-ner":
        return conll.load_wnut(split_seed), "ner"
    if task in ("news-ner", "news-pos"):
        return conll.load_silver_news(split_seed=split_seed), task.split("-")[1]
    raise ValueError(f"unknown tagging task {task!r}")


def labels_of(sentence: TaggedSentence, kind: str) -> tuple[str, ...]:
    if kind == "pos":
        if sentence.pos is None:
            raise ValueError("this corpus has no POS tags")
        return sentence.pos
    return sentence.tags


def encode_words(vocab: Vocab, tokens: tuple[str, ...]) -> list[int]:
    return vocab.encode([t.lower() for t in tokens])


def encode_chars(chars: Vocab, tokens: tuple[str, ...]) -> list[list[int]]:
    return [chars.encode(list(t[:MAX_WORD_CHARS])) for t in tokens]


def make_batch(
    sentences: list[TaggedSentence], vocab: Vocab, chars: Vocab, window: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Word ids (B, L) and char ids (B, L, C) for a batch of sentences."""
    words = pad_ids([encode_words(vocab, s.tokens) for s in sentences], 1)  # (B, L)
    per_sentence = [pad_chars(encode_chars(chars, s.tokens), window) for s in sentences]
    width = max(c.shape[1] for c in per_sentence)
    batch = torch.zeros(len(sentences), words.shape[1], width, dtype=torch.long)  # (B, L, C)
    for row, c in enumerate(per_sentence):
        batch[row, : c.shape[0], : c.shape[1]] = c
    return words, batch


def _batches(n_items: list[int], size: int, generator: torch.Generator) -> list[list[int]]:
    """Indices grouped by similar length, batches in random order."""
    order = sorted(range(len(n_items)), key=lambda i: n_items[i])
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    return [groups[i] for i in torch.randperm(len(groups), generator=generator).tolist()]


@torch.no_grad()
def predict(
    model: Tagger,
    sentences: list[TaggedSentence],
    vocab: Vocab,
    chars: Vocab,
    device: torch.device,
    batch_size: int = 64,
) -> list[list[int]]:
    model.eval()
    paths: list[list[int]] = []
    for start in range(0, len(sentences), batch_size):
        words, char_ids = make_batch(
            sentences[start : start + batch_size], vocab, chars, model.config.char_window
        )
        paths.extend(model(words.to(device), char_ids.to(device)).paths)
    return paths


def evaluate(
    model: Tagger,
    sentences: list[TaggedSentence],
    kind: str,
    vocab: Vocab,
    chars: Vocab,
    device: torch.device,
) -> dict:
    tags = model.config.tags
    predicted = [
        [tags[i] for i in path] for path in predict(model, sentences, vocab, chars, device)
    ]
    gold = [list(labels_of(s, kind)) for s in sentences]
    if kind == "pos":
        pairs = [
            (g, p)
            for gs, ps in zip(gold, predicted, strict=True)
            for g, p in zip(gs, ps, strict=True)
        ]
        return {"accuracy": float(np.mean([g == p for g, p in pairs]))}
    return entity_f1(gold, predicted)


def train_tagger(
    name: str,
    recipe: TaggerRecipe,
    device: torch.device,
    seed: int,
    command: str,
    progress: Callable[[float], None] | None = None,
) -> dict:
    """Train one tagger, save ``checkpoints/<name>/`` and return its card."""
    generator = seed_everything(seed)
    data, kind = _load(recipe.task, recipe.split_seed)
    from nlpviz.data.glove import glove_for_vocab, glove_words

    train_vocab = Vocab.build([t.lower() for t in s.tokens] for s in data.train)
    extra = [w for w in glove_words(recipe.glove_words) if w not in train_vocab]
    vocab = Vocab(itos=(*train_vocab.itos, *extra))
    chars = Vocab.build(list("".join(s.tokens)) for s in data.train)
    if kind == "pos":
        tags = tuple(
            sorted(
                {
                    t
                    for split in (data.train, data.dev, data.test)
                    for s in split
                    for t in labels_of(s, kind)
                }
            )
        )
    else:
        tags = tuple(data.tag_names)
    use_chars, use_crf = VARIANTS[recipe.variant]
    config = TaggerConfig(
        vocab_size=len(vocab),
        char_vocab_size=len(chars),
        tags=tags,
        use_chars=use_chars,
        use_crf=use_crf,
    )
    model = Tagger(config)
    vectors, glove_source = glove_for_vocab(vocab, seed, scale=(3 / config.word_dim) ** 0.5)
    model.load_pretrained(vectors)
    model.to(device)
    index = {t: i for i, t in enumerate(tags)}
    optimiser = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    metric = "accuracy" if kind == "pos" else "f1"
    history, best = [], (-1.0, 0, None)
    with stopwatch() as clock:
        lengths = [len(s.tokens) for s in data.train]
        steps = (len(lengths) + recipe.batch_size - 1) // recipe.batch_size
        bar = tqdm(total=recipe.epochs * steps, desc=name, unit="batch")
        for epoch in range(1, recipe.epochs + 1):
            model.train()
            total = 0.0
            for rows in _batches(lengths, recipe.batch_size, generator):
                batch = [data.train[i] for i in rows]
                words, char_ids = make_batch(batch, vocab, chars, config.char_window)
                gold = pad_ids([[index[t] for t in labels_of(s, kind)] for s in batch], 1)
                loss = model.loss(words.to(device), char_ids.to(device), gold.to(device))
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.clip)
                optimiser.step()
                total += loss.item() * len(rows)
                bar.update(1)
            dev = evaluate(model, data.dev, kind, vocab, chars, device)
            history.append(
                {
                    "epoch": epoch,
                    "train_loss": round(total / len(lengths), 4),
                    f"dev_{metric}": round(dev[metric], 4),
                }
            )
            bar.set_postfix({f"dev_{metric}": f"{dev[metric]:.3f}"})
            if dev[metric] > best[0]:
                best = (dev[metric], epoch, snapshot(model))
        bar.close()
    load_as_stored(model, best[2])  # score the weights the checkpoint keeps
    dev = evaluate(model, data.dev, kind, vocab, chars, device)
    test = evaluate(model, data.test, kind, vocab, chars, device)
    card = {
        "family": "tagger",
        "paper": PAPER,
        "title": f"{config.name} on {recipe.task}",
        "task": recipe.task,
        "kind": kind,
        "config": config.to_json(),
        "vocab_file": VOCAB_FILE,
        "chars_file": CHARS_FILE,
        "data": {"corpus": data.provenance, "vectors": glove_source},
        "recipe": {
            "optimizer": f"Adam(lr={recipe.lr}) (the paper: SGD lr 0.01, momentum 0.9, batch 10)",
            "batch_size": recipe.batch_size,
            "epochs": recipe.epochs,
            "gradient_clipping": recipe.clip,
            "dropout": config.dropout,
            "early_stopping": f"best dev {metric}",
            "best_epoch": best[1],
            "vocabulary": f"{len(vocab):,} lower-cased words: the training split's, plus the "
            f"{recipe.glove_words:,} most frequent GloVe words it lacks; {len(chars)} characters",
            "embeddings": "GloVe 6B 50-d, tuned (the paper: GloVe 100-d)",
            "storage": "float16",
        },
        "run": run_record(device, clock["seconds"], command, seed),
        "metrics": {
            f"test_{k}": round(v, 4) if isinstance(v, float) else v for k, v in test.items()
        }
        | {f"dev_{metric}": round(dev[metric], 4), "test_size": len(data.test)},
        "paper_figure": PAPER_FIGURES[kind],
        "history": history,
    }
    save_checkpoint(
        name,
        model.state_dict(),
        card,
        side_files={VOCAB_FILE: vocab.to_json(), CHARS_FILE: chars.to_json()},
    )
    log.info("%s: test %s %.4f", name, metric, test[metric])
    return read_card(name)
