"""Training Kim's CNN variants on the Rotten Tomatoes tasks, as Section 3 of the paper describes.

Adadelta (rho 0.95, as in the paper's code), mini-batches of 50, dropout 0.5, the max-norm
constraint applied after every update, and early stopping on the dev split (the epoch with the
best dev accuracy is kept). Test accuracy is measured once, on the float16 weights that are
actually stored, so the card's figure is the figure of the model the app shows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from nlpviz.checkpoints import read_card, save_checkpoint
from nlpviz.data.rotten import LabelledSplit, TaskData, load_task
from nlpviz.data.tokenize import word_tokenize
from nlpviz.data.vocab import Vocab
from nlpviz.models.kim_cnn import PAPER_ACCURACY, KimCNN, KimCNNConfig, pad_ids
from nlpviz.train.common import (
    accuracy_metrics,
    load_as_stored,
    run_record,
    seed_everything,
    snapshot,
    stopwatch,
)

log = logging.getLogger(__name__)

PAPER = "Kim (2014), Convolutional Neural Networks for Sentence Classification"
FILTER_TABLE = "filters.json"
VOCAB_FILE = "vocab.json"
TOP_NGRAMS = 8


@dataclass(frozen=True)
class KimRecipe:
    variant: str
    task: str
    epochs: int = 25
    batch_size: int = 50
    split_seed: int = 13
    # 20k extra words at 100-d keep the eight checkpoints near their 50-d, 30k-word size
    glove_words: int = 20_000
    embed_dim: int = 100


def _build_vocab(data: TaskData, glove_words: int) -> Vocab:
    """Training-split words, then the most frequent English words the training split lacks.

    Kim's vocabulary held every word of the data set, so test words unseen in training still
    had pretrained vectors. Taking the extra words from a frequency list (GloVe's vocabulary,
    which is in frequency order) keeps that benefit without looking at the test split. Every
    variant gets the same vocabulary (in CNN-rand the extra words keep their random, untrained
    vectors, as in the paper).
    """
    from nlpviz.data.glove import glove_words as top_glove_words

    train = Vocab.build(word_tokenize(text) for text in data.train.texts)
    extra = [w for w in top_glove_words(glove_words) if w not in train]
    return Vocab(itos=(*train.itos, *extra))


def _encode(split: LabelledSplit, vocab: Vocab) -> list[list[int]]:
    return [vocab.encode(word_tokenize(text)) for text in split.texts]


@torch.no_grad()
def predict(
    model: KimCNN, ids: list[list[int]], device: torch.device, batch_size: int = 500
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicted classes (n,), pooled features (n, F) and pool argmax (n, F) for encoded texts."""
    model.eval()
    preds, pooled, where = [], [], []
    for start in range(0, len(ids), batch_size):
        batch = pad_ids(ids[start : start + batch_size], model.config.min_length).to(device)
        out = model(batch)
        preds.append(out.logits.argmax(-1).cpu())
        pooled.append(out.pooled.cpu())
        where.append(torch.cat(out.pool_argmax, dim=-1).cpu())
    return torch.cat(preds).numpy(), torch.cat(pooled).numpy(), torch.cat(where).numpy()


def accuracy(
    model: KimCNN, ids: list[list[int]], labels: np.ndarray, device: torch.device
) -> float:
    return float((predict(model, ids, device)[0] == labels).mean())


def filter_table(
    model: KimCNN, texts: list[str], ids: list[list[int]], device: torch.device
) -> dict:
    """For every filter, the held-out n-grams that activate it most (distinct, strongest first)."""
    _, pooled, where = predict(model, ids, device)
    tokens = [word_tokenize(text) for text in texts]
    widths = model.config.filter_widths
    per_width = model.config.num_filters
    table: list[list[list]] = []
    for w_index, width in enumerate(widths):
        rows = []
        for f in range(per_width):
            column = w_index * per_width + f
            seen: dict[str, float] = {}
            for sentence in np.argsort(-pooled[:, column], kind="stable"):
                start = int(where[sentence, column])
                ngram = " ".join(tokens[sentence][start : start + width])
                if ngram and ngram not in seen:
                    seen[ngram] = round(float(pooled[sentence, column]), 4)
                if len(seen) == TOP_NGRAMS:
                    break
            rows.append([[ngram, value] for ngram, value in seen.items()])
        table.append(rows)
    return {"widths": list(widths), "source": "test split", "top": table}


def train_kim_cnn(
    name: str, recipe: KimRecipe, device: torch.device, seed: int, command: str
) -> dict:
    """Train one variant, save ``checkpoints/<name>/`` and return its card."""
    generator = seed_everything(seed)
    data: TaskData = load_task(recipe.task, split_seed=recipe.split_seed)
    vocab = _build_vocab(data, recipe.glove_words)
    config = KimCNNConfig(
        vocab_size=len(vocab),
        num_classes=len(data.class_names),
        variant=recipe.variant,
        embed_dim=recipe.embed_dim,
    )
    model = KimCNN(config)
    card_data = dict(data.provenance)
    if recipe.variant != "rand":
        from nlpviz.data.minilm_vectors import minilm_for_vocab

        vectors, vector_source = minilm_for_vocab(vocab, recipe.embed_dim)
        model.load_pretrained(vectors)
        card_data = {"corpus": card_data, "vectors": vector_source}
    else:
        card_data = {"corpus": card_data}
    model.to(device)

    train_ids, dev_ids, test_ids = (_encode(s, vocab) for s in (data.train, data.dev, data.test))
    train_labels = torch.as_tensor(data.train.labels)
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.Adadelta(params, lr=1.0, rho=0.95, eps=1e-6)
    loss_fn = nn.CrossEntropyLoss()
    history, best = [], (-1.0, 0, None)

    with stopwatch() as clock:
        steps = (len(train_ids) + recipe.batch_size - 1) // recipe.batch_size
        bar = tqdm(total=recipe.epochs * steps, desc=name, unit="batch")
        for epoch in range(1, recipe.epochs + 1):
            model.train()
            order = torch.randperm(len(train_ids), generator=generator).tolist()
            total = 0.0
            for start in range(0, len(order), recipe.batch_size):
                rows = order[start : start + recipe.batch_size]
                batch = pad_ids([train_ids[i] for i in rows], config.min_length).to(device)
                target = train_labels[rows].to(device)
                loss = loss_fn(model(batch).logits, target)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                model.apply_max_norm()
                total += loss.item() * len(rows)
                bar.update(1)
            dev_acc = accuracy(model, dev_ids, data.dev.labels, device)
            history.append(
                {
                    "epoch": epoch,
                    "train_loss": round(total / len(order), 4),
                    "dev_accuracy": dev_acc,
                }
            )
            bar.set_postfix(dev_acc=f"{dev_acc:.3f}")
            if dev_acc > best[0]:
                best = (dev_acc, epoch, snapshot(model))
        bar.close()

    load_as_stored(model, best[2])  # score the weights the checkpoint keeps
    dev_acc = accuracy(model, dev_ids, data.dev.labels, device)
    test_acc = accuracy(model, test_ids, data.test.labels, device)
    majority = float(max(np.mean(data.test.labels == c) for c in range(config.num_classes)))
    paper = PAPER_ACCURACY[recipe.task][recipe.variant]
    card = {
        "family": "kim_cnn",
        "paper": PAPER,
        "title": f"CNN-{recipe.variant} on {recipe.task.upper()}-like",
        "task": recipe.task,
        "class_names": list(data.class_names),
        "config": config.to_json(),
        "vocab_file": VOCAB_FILE,
        "data": card_data,
        "recipe": {
            "optimizer": "Adadelta(lr=1.0, rho=0.95, eps=1e-6)",
            "batch_size": recipe.batch_size,
            "epochs": recipe.epochs,
            "early_stopping": "best dev accuracy",
            "vocabulary": f"{len(vocab):,} words: the training split's, plus the "
            f"{recipe.glove_words:,} most frequent words of GloVe's vocabulary list it lacks",
            "best_epoch": best[1],
            "embeddings": "random U[-0.25, 0.25]"
            if recipe.variant == "rand"
            else f"{recipe.embed_dim}-d static word vectors distilled from all-MiniLM-L6-v2 "
            "(each word encoded alone, mean-pooled, principal components); the paper used "
            "word2vec 300-d",
            "storage": "float16",
        },
        "run": run_record(device, clock["seconds"], command, seed),
        "metrics": accuracy_metrics(test_acc, dev_acc, majority, len(test_ids)),
        "paper_figure": {
            "metric": "accuracy",
            "value": paper / 100,
            "source": f"Kim (2014), Table 2, {recipe.task.upper()}, CNN-{recipe.variant}",
        },
        "history": history,
    }
    filters = filter_table(model, data.test.texts, test_ids, device)
    save_checkpoint(
        name,
        model.state_dict(),
        card,
        side_files={VOCAB_FILE: vocab.to_json(), FILTER_TABLE: filters},
    )
    log.info("%s: test accuracy %.4f (paper %.1f%%)", name, test_acc, paper)
    return read_card(name)
