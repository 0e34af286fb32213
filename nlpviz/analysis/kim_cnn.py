"""Readings of Kim's CNN on user text: probabilities, feature maps, winning n-grams, IG."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from nlpviz.attribution import TokenAttribution, integrated_gradients
from nlpviz.claims import Comparison, Verdict, binomial_se, judge
from nlpviz.data.tokenize import Tokens, vocab_tokens
from nlpviz.data.vocab import Vocab
from nlpviz.models.kim_cnn import KimCNN, pad_ids, window_span

MAX_TOKENS = 256
"""Longest input one view reads; longer texts are cut (and the page says so)."""


def tokenize(text: str, vocab: Vocab, max_tokens: int = MAX_TOKENS) -> Tokens:
    """The words of ``text`` as one view reads them (the first ``max_tokens``) and their ids."""
    return vocab_tokens(text, vocab, max_tokens)


@dataclass(frozen=True)
class KimReading:
    """One text through one Kim CNN."""

    tokens: Tokens
    class_names: tuple[str, ...]
    widths: tuple[int, ...]
    probabilities: np.ndarray  # (classes,)
    feature_maps: tuple[np.ndarray, ...]  # per width: (filters, positions)
    pool_argmax: tuple[np.ndarray, ...]  # per width: (filters,)
    pooled: np.ndarray  # (widths * filters,)
    contributions: np.ndarray  # (widths * filters,) each feature's push toward the predicted class

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))


@dataclass(frozen=True)
class PooledFeature:
    width: int
    filter: int
    activation: float
    contribution: float
    start: int
    end: int
    ngram: str


def _margin_weights(model: KimCNN, predicted: int) -> torch.Tensor:
    """Weight each pooled feature has on logit(predicted) minus the mean of the other logits."""
    weight = model.output.weight  # (classes, features)
    others = torch.cat([weight[:predicted], weight[predicted + 1 :]])  # (classes - 1, features)
    return weight[predicted] - others.mean(dim=0)  # (features,)


@torch.no_grad()
def read_text(
    model: KimCNN, vocab: Vocab, text: str, class_names: Sequence[str], device: torch.device
) -> KimReading | None:
    """Run one text; ``None`` when it has no tokens at all."""
    tokens = tokenize(text, vocab)
    if not tokens.tokens:
        return None
    batch = pad_ids([tokens.ids], model.config.min_length).to(device)  # (1, seq)
    out = model(batch)
    probabilities = torch.softmax(out.logits, dim=-1)[0]  # (classes,)
    predicted = int(probabilities.argmax())
    n = len(tokens.tokens)
    maps = tuple(
        fm[0, :, : max(n - w + 1, 1)].float().cpu().numpy()
        for fm, w in zip(out.feature_maps, model.config.filter_widths, strict=True)
    )
    contributions = out.pooled[0] * _margin_weights(model, predicted)  # (features,)
    return KimReading(
        tokens=tokens,
        class_names=tuple(class_names),
        widths=model.config.filter_widths,
        probabilities=probabilities.float().cpu().numpy(),
        feature_maps=maps,
        pool_argmax=tuple(a[0].cpu().numpy() for a in out.pool_argmax),
        pooled=out.pooled[0].float().cpu().numpy(),
        contributions=contributions.float().cpu().numpy(),
    )


def top_features(reading: KimReading, k: int = 10) -> list[PooledFeature]:
    """The ``k`` pooled features that pushed hardest toward the predicted class."""
    per_width = len(reading.pool_argmax[0])
    n = len(reading.tokens.tokens)
    order = np.argsort(-reading.contributions, kind="stable")[:k]
    features = []
    for column in order:
        w_index, f = divmod(int(column), per_width)
        width = reading.widths[w_index]
        start, end = window_span(int(reading.pool_argmax[w_index][f]), width, n)
        features.append(
            PooledFeature(
                width=width,
                filter=f,
                activation=float(reading.pooled[column]),
                contribution=float(reading.contributions[column]),
                start=start,
                end=end,
                ngram=" ".join(reading.tokens.tokens[start:end]),
            )
        )
    return features


@torch.no_grad()
def classify_many(
    model: KimCNN,
    vocab: Vocab,
    texts: Sequence[str],
    device: torch.device,
    batch_size: int = 200,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """Class probabilities (n, classes) for many texts; an empty text gets NaNs."""
    probabilities = np.full((len(texts), model.config.num_classes), np.nan, dtype=np.float32)
    encoded = [tokenize(text, vocab).ids for text in texts]
    rows = [i for i, ids in enumerate(encoded) if ids]
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        batch = pad_ids([encoded[i] for i in chunk], model.config.min_length).to(device)
        probabilities[chunk] = torch.softmax(model(batch).logits, -1).float().cpu().numpy()
        if progress is not None:
            progress(min(1.0, (start + len(chunk)) / max(len(rows), 1)))
    return probabilities


def nearest_neighbours(
    table: torch.Tensor, vocab: Vocab, word: str, k: int = 8
) -> list[tuple[str, float]] | None:
    """Cosine nearest neighbours of ``word`` in an embedding table; ``None`` if unknown."""
    index = vocab.stoi.get(word)
    if index is None or index < 2:
        return None
    with torch.no_grad():
        vectors = torch.nn.functional.normalize(table.float(), dim=-1)  # (vocab, dim)
        similarity = vectors @ vectors[index]  # (vocab,)
        similarity[:2] = -2.0
        similarity[index] = -2.0
        best = torch.topk(similarity, k)
    return [(vocab.itos[i], float(s)) for s, i in zip(best.values, best.indices, strict=True)]


def attribute(
    model: KimCNN,
    vocab: Vocab,
    text: str,
    target: int,
    device: torch.device,
    n_steps: int = 50,
    internal_batch_size: int = 50,
) -> TokenAttribution | None:
    """Integrated Gradients of P(target) on the word vectors, from all-padding (zero) vectors."""
    tokens = tokenize(text, vocab)
    if not tokens.tokens:
        return None
    batch = pad_ids([tokens.ids], model.config.min_length).to(device)  # (1, seq)
    lengths = torch.tensor([len(tokens.ids)], device=device)
    with torch.no_grad():
        embedded = model.embed(batch)  # (1, seq, channels * dim)

    def probability(x: torch.Tensor) -> torch.Tensor:
        out = model.forward_embedded(x, lengths.expand(x.shape[0]))
        return torch.softmax(out.logits, dim=-1)  # (batch, classes)

    scores, delta, at_input, at_baseline = integrated_gradients(
        probability,
        embedded,
        torch.zeros_like(embedded),
        target=target,
        n_steps=n_steps,
        internal_batch_size=internal_batch_size,
    )
    return TokenAttribution(
        tokens=tokens.tokens,
        scores=scores[: len(tokens.tokens)],
        target=target,
        output_at_input=at_input,
        output_at_baseline=at_baseline,
        delta=delta,
        n_steps=n_steps,
    )


@torch.no_grad()
def filter_class_weights(model: KimCNN) -> np.ndarray:
    """(widths * filters, classes): how strongly each pooled feature votes for each class."""
    return model.output.weight.detach().float().cpu().numpy().T.copy()


def embedding_tables(model: KimCNN) -> dict[str, torch.Tensor]:
    """The model's word-vector tables by role ("frozen", "tuned"), detached."""
    return {role: table.detach() for role, table in model.embedding_tables().items()}


PRETRAINED_CLAIM = "Pretrained word vectors beat random ones (every pretrained CNN > CNN-rand)"


def pretrained_vs_random(accuracies: dict[str, float], n: int, paper: str = "") -> Verdict:
    """Kim's main finding judged on test accuracies (``"rand"`` plus pretrained variants) on n
    held-out sentences: every pretrained variant must beat CNN-rand by the rule of
    nlpviz.claims (more than two binomial standard errors of the difference)."""
    if "rand" not in accuracies or len(accuracies) < 2 or n < 1:
        raise ValueError(f"need CNN-rand and a pretrained variant, got {sorted(accuracies)}")
    rand = accuracies["rand"]
    comparisons = [
        Comparison(f"CNN-{v}", "CNN-rand", a, rand, binomial_se(a, n, rand, n), percent=True)
        for v, a in accuracies.items()
        if v != "rand"
    ]
    return judge(PRETRAINED_CLAIM, comparisons, paper=paper, note=f"On {n:,} test sentences")


def lead_over_random(metrics: dict[str, dict]) -> dict[str, tuple[float, float]]:
    """Smallest and largest lead (points) of a pretrained variant over CNN-rand, per split.

    ``metrics`` maps a variant to its card's metrics; the "dev" lead uses the dev accuracies
    that chose each model's epoch, the "test" lead the held-out ones the verdict judges.
    """
    if "rand" not in metrics or len(metrics) < 2:
        raise ValueError(f"need CNN-rand and a pretrained variant, got {sorted(metrics)}")
    out = {}
    for split in ("test", "dev"):
        rand = metrics["rand"][f"{split}_accuracy"]
        leads = [100 * (m[f"{split}_accuracy"] - rand) for v, m in metrics.items() if v != "rand"]
        out[split] = (min(leads), max(leads))
    return out
