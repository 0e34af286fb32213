"""Training the HAN of Yang et al. (2016) and two flat baselines on the document tasks.

Tasks (``nlpviz.data.documents``): ``news`` (which of 9 outlets published an article) and
``drugs`` (negative / neutral / positive drugs.com reviews). Models: ``han`` (the paper's
HN-ATT), ``flat_gru`` (one BiGRU with attention over the whole document's words) and
``mean_embedding`` (the average word vector and a softmax layer).

Every model reads the same tokens: a document is split into sentences and cut to
``MAX_SENTENCES`` x ``MAX_WORDS`` exactly as the app cuts it; the flat models read those
sentences joined. The vocabulary is the training split's words seen at least twice; word vectors
start from GloVe 6B 50-d and are tuned. The paper trained with SGD (momentum 0.9, batch 64, lr by
grid search); on a CPU budget of a few minutes Adam converges in fewer epochs, so it is used
here (recorded in the card). Mini-batches hold documents of similar length (less padding),
in a new random order every epoch. The epoch with the best dev accuracy is kept, and test
accuracy is measured once, on the float16 weights that are actually stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from nlpviz.checkpoints import read_card, save_checkpoint
from nlpviz.data.documents import MAX_SENTENCES, MAX_WORDS, DocumentTokens, tokenize_document
from nlpviz.data.rotten import LabelledSplit, TaskData
from nlpviz.data.vocab import Vocab
from nlpviz.models.han import (
    HAN,
    FlatAttentionGRU,
    FlatAttentionGRUConfig,
    HANConfig,
    MeanEmbeddingClassifier,
    MeanEmbeddingConfig,
    pad_documents,
    pad_flat,
)
from nlpviz.train.common import (
    accuracy_metrics,
    load_as_stored,
    run_record,
    seed_everything,
    snapshot,
    stopwatch,
)

log = logging.getLogger(__name__)

PAPER = "Yang et al. (2016), Hierarchical Attention Networks for Document Classification"
PAPER_TABLE = {
    "source": "Yang et al. (2016), Table 2, document classification accuracy in %",
    "columns": ["Yelp'13", "Yelp'14", "Yelp'15", "IMDB", "Yahoo Answer", "Amazon"],
    "rows": {
        "HN-ATT": [68.2, 70.5, 71.0, 49.4, 75.8, 63.6],
        "CNN-word": [59.7, 61.0, 61.5, 37.6, 70.9, 57.6],
        "LSTM-GRNN (Tang et al., 2015)": [65.1, 67.1, 67.6, 45.3, None, None],
    },
}
PAPER_FIGURE = {
    "metric": "accuracy",
    "value": None,
    "source": "Yang et al. (2016), Table 2: no comparable data set; the claim is the ordering "
    "HAN > flat models (e.g. Yelp'15: HN-ATT 71.0 vs CNN-word 61.5)",
}
VOCAB_FILE = "vocab.json"
FAMILIES = {"han": "HAN", "flat_gru": "flat attention BiGRU", "mean_embedding": "mean of vectors"}
TASK_TITLES = {"news": "news outlets", "drugs": "drug reviews"}


@dataclass(frozen=True)
class HANRecipe:
    model: str  # "han" | "flat_gru" | "mean_embedding"
    task: str  # "news" | "drugs"
    epochs: int = 10
    patience: int = 4  # stop when dev accuracy has not improved for this many epochs
    batch_size: int = 32
    lr: float = 2e-3
    clip_norm: float = 5.0
    dropout: float = 0.3
    min_count: int = 2
    split_seed: int = 13

    def __post_init__(self) -> None:
        if self.model not in FAMILIES:
            raise ValueError(f"model must be one of {sorted(FAMILIES)}, got {self.model!r}")
        if self.task not in TASK_TITLES:
            raise ValueError(f"task must be one of {sorted(TASK_TITLES)}, got {self.task!r}")


# Per (model, task) settings, set by a few short runs to fit about 6 minutes per model on one CPU
# thread: the GRU models on news take ~50 s an epoch, so few epochs and a larger step; the 540
# training reviews overfit fast, so more dropout and a smaller step.
RECIPES: dict[tuple[str, str], dict] = {
    ("han", "news"): {"epochs": 7, "patience": 3, "batch_size": 64, "lr": 4e-3},
    ("flat_gru", "news"): {"epochs": 7, "patience": 3, "batch_size": 64, "lr": 4e-3},
    ("mean_embedding", "news"): {"epochs": 40, "patience": 8, "batch_size": 64, "lr": 5e-3},
    ("han", "drugs"): {"epochs": 40, "patience": 10, "lr": 1e-3, "dropout": 0.5},
    ("flat_gru", "drugs"): {"epochs": 40, "patience": 10, "lr": 1e-3, "dropout": 0.5},
    ("mean_embedding", "drugs"): {"epochs": 40, "patience": 10, "lr": 5e-3, "dropout": 0.5},
}


def recipe_for(model: str, task: str) -> HANRecipe:
    """The recipe ``nlpviz train`` uses for ``model`` on ``task``."""
    return HANRecipe(model=model, task=task, **RECIPES.get((model, task), {}))


def load_documents(task: str, split_seed: int) -> TaskData:
    from nlpviz.data.documents import load_drug_reviews, load_news

    loaders: dict[str, Callable[[int], TaskData]] = {
        "news": load_news,
        "drugs": load_drug_reviews,
    }
    return loaders[task](split_seed)


def _tokenize(split: LabelledSplit) -> list[DocumentTokens]:
    return [tokenize_document(text, MAX_SENTENCES, MAX_WORDS) for text in split.texts]


def _encode(docs: list[DocumentTokens], vocab: Vocab) -> list[list[list[int]]]:
    return [[vocab.encode(sentence) for sentence in doc.sentences] for doc in docs]


def build_model(recipe: HANRecipe, vocab_size: int, num_classes: int) -> nn.Module:
    sizes = {"vocab_size": vocab_size, "num_classes": num_classes, "dropout": recipe.dropout}
    if recipe.model == "han":
        return HAN(HANConfig(**sizes))
    if recipe.model == "flat_gru":
        return FlatAttentionGRU(FlatAttentionGRUConfig(**sizes))
    return MeanEmbeddingClassifier(MeanEmbeddingConfig(**sizes))


def batch_ids(model: nn.Module, docs: list[list[list[int]]]) -> torch.Tensor:
    """(batch, sentences, words) ids for the HAN, (batch, words) for the flat models."""
    if isinstance(model, HAN):
        return pad_documents(docs)
    return pad_flat([[i for sentence in doc for i in sentence] for doc in docs])


def length_batches(
    lengths: list[int], batch_size: int, generator: torch.Generator | None
) -> list[list[int]]:
    """Batches of indices of similar length; shuffled (lengths jittered) when a generator is given.

    Sorting by length cuts padding (and GRU steps); the jitter and the shuffled batch order give
    every epoch different batches.
    """
    keys = np.asarray(lengths, dtype=np.float64)
    if generator is not None:
        noise = torch.rand(len(keys), generator=generator, dtype=torch.float64).numpy()
        keys = keys * (0.8 + 0.4 * noise)
    order = np.argsort(keys, kind="stable").tolist()
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if generator is not None:
        batches = [batches[i] for i in torch.randperm(len(batches), generator=generator)]
    return batches


def _doc_length(doc: list[list[int]]) -> int:
    return sum(len(sentence) for sentence in doc)


@torch.no_grad()
def predict(
    model: nn.Module, docs: list[list[list[int]]], device: torch.device, batch_size: int = 64
) -> np.ndarray:
    """Class probabilities (n, classes) of every encoded document."""
    model.eval()
    probs: list[np.ndarray] = [np.empty(0)] * len(docs)
    for rows in length_batches([_doc_length(d) for d in docs], batch_size, None):
        logits = model(batch_ids(model, [docs[i] for i in rows]).to(device)).logits
        for row, p in zip(rows, torch.softmax(logits, -1).cpu().numpy(), strict=True):
            probs[row] = p
    return np.stack(probs)


def evaluate(
    model: nn.Module, docs: list[list[list[int]]], labels: np.ndarray, device: torch.device
) -> tuple[float, float]:
    """Accuracy and mean negative log likelihood of encoded documents."""
    probs = predict(model, docs, device)
    nll = -np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, None)).mean()
    return float((probs.argmax(-1) == labels).mean()), float(nll)


def macro_f1(preds: np.ndarray, labels: np.ndarray, num_classes: int) -> float:
    scores = []
    for c in range(num_classes):
        tp = float(np.sum((preds == c) & (labels == c)))
        predicted, actual = float(np.sum(preds == c)), float(np.sum(labels == c))
        scores.append(0.0 if tp == 0 else 2 * tp / (predicted + actual))
    return float(np.mean(scores))


def train_han(name: str, recipe: HANRecipe, device: torch.device, seed: int, command: str) -> dict:
    """Train one model on one task, save ``checkpoints/<name>/`` and return its card."""
    from nlpviz.data.glove import glove_for_vocab

    generator = seed_everything(seed)
    data = load_documents(recipe.task, recipe.split_seed)
    tokens = {part: _tokenize(getattr(data, part)) for part in ("train", "dev", "test")}
    vocab = Vocab.build(
        (sentence for doc in tokens["train"] for sentence in doc.sentences),
        min_count=recipe.min_count,
    )
    model = build_model(recipe, len(vocab), len(data.class_names))
    vectors, glove_source = glove_for_vocab(vocab, seed)
    model.load_pretrained(vectors)
    model.to(device)
    train_docs, dev_docs, test_docs = (_encode(tokens[p], vocab) for p in ("train", "dev", "test"))
    train_lengths = [_doc_length(d) for d in train_docs]
    train_labels = torch.as_tensor(data.train.labels)

    optimiser = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    loss_fn = nn.CrossEntropyLoss()
    history: list[dict] = []
    best: tuple[tuple[float, float], int, dict | None] = ((-1.0, 0.0), 0, None)
    with stopwatch() as clock:
        steps = -(-len(train_docs) // recipe.batch_size)
        bar = tqdm(total=recipe.epochs * steps, desc=name, unit="batch")
        for epoch in range(1, recipe.epochs + 1):
            model.train()
            total = 0.0
            for rows in length_batches(train_lengths, recipe.batch_size, generator):
                batch = batch_ids(model, [train_docs[i] for i in rows]).to(device)
                loss = loss_fn(model(batch).logits, train_labels[rows].to(device))
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), recipe.clip_norm)
                optimiser.step()
                total += loss.item() * len(rows)
                bar.update(1)
            dev_acc, dev_loss = evaluate(model, dev_docs, data.dev.labels, device)
            history.append(
                {
                    "epoch": epoch,
                    "train_loss": round(total / len(train_docs), 4),
                    "dev_loss": round(dev_loss, 4),
                    "dev_accuracy": round(dev_acc, 4),
                }
            )
            bar.set_postfix(dev_acc=f"{dev_acc:.3f}")
            if (dev_acc, -dev_loss) > best[0]:
                best = ((dev_acc, -dev_loss), epoch, snapshot(model))
            elif epoch - best[1] >= recipe.patience:
                log.info("%s: no dev improvement for %d epochs, stopping", name, recipe.patience)
                break
        bar.close()

    load_as_stored(model, best[2])  # score the weights the checkpoint keeps
    dev_acc, _ = evaluate(model, dev_docs, data.dev.labels, device)
    test_preds = predict(model, test_docs, device).argmax(-1)
    test_acc = float((test_preds == data.test.labels).mean())
    num_classes = len(data.class_names)
    majority = float(max(np.mean(data.test.labels == c) for c in range(num_classes)))
    cut = {
        part: {
            "documents_with_dropped_sentences": sum(d.dropped_sentences > 0 for d in docs),
            "sentences_dropped": sum(d.dropped_sentences for d in docs),
            "sentences_truncated": sum(d.truncated_sentences for d in docs),
            "sentences_kept": sum(len(d.sentences) for d in docs),
        }
        for part, docs in tokens.items()
    }
    card = {
        "family": recipe.model,
        "paper": PAPER,
        "title": f"{FAMILIES[recipe.model]} on {TASK_TITLES[recipe.task]}",
        "task": recipe.task,
        "class_names": list(data.class_names),
        "config": model.config.to_json(),
        "vocab_file": VOCAB_FILE,
        "data": {"corpus": dict(data.provenance), "vectors": glove_source},
        "recipe": {
            "optimizer": f"Adam(lr={recipe.lr}) (the paper: SGD, momentum 0.9)",
            "batch_size": recipe.batch_size,
            "batching": "documents of similar length together, batches in random order",
            "epochs": recipe.epochs,
            "early_stopping": f"best dev accuracy, ties to the lower dev loss (patience "
            f"{recipe.patience} epochs)",
            "best_epoch": best[1],
            "gradient_clipping": f"global norm {recipe.clip_norm}",
            "dropout": f"{recipe.dropout} on word vectors and on the document vector"
            if recipe.model != "mean_embedding"
            else f"{recipe.dropout} on the mean vector",
            "truncation": f"documents split by nlpviz.data.documents.split_sentences and cut to "
            f"{MAX_SENTENCES} sentences x {MAX_WORDS} words, in training and evaluation as in "
            "the app; the flat models read the same sentences joined",
            "truncation_counts": cut,
            "vocabulary": f"{len(vocab):,} words: the training split's words seen at least "
            f"{recipe.min_count} times",
            "embeddings": "GloVe 6B 50-d, tuned (the paper: word2vec 200-d trained on the "
            "data); U[-0.25, 0.25] where missing",
            "storage": "float16",
        },
        "run": run_record(device, clock["seconds"], command, seed),
        "metrics": accuracy_metrics(
            test_acc,
            dev_acc,
            majority,
            len(test_docs),
            test_macro_f1=round(macro_f1(test_preds, data.test.labels, num_classes), 4),
        ),
        "paper_figure": dict(PAPER_FIGURE),
        "paper_table": PAPER_TABLE,
        "history": history,
    }
    save_checkpoint(name, model.state_dict(), card, side_files={VOCAB_FILE: vocab.to_json()})
    log.info(
        "%s: test accuracy %.4f (majority %.4f), %.0f s",
        name,
        test_acc,
        majority,
        clock["seconds"],
    )
    return read_card(name)
