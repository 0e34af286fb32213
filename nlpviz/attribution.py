"""Thin wrappers over Captum that return plain dataclasses (numpy, no tensors).

Integrated Gradients (Sundararajan et al., 2017) on word vectors:
``IG_i(x) = (x_i - x'_i) * integral_0^1 dF(x' + a (x - x')) / dx_i da``; by completeness the
attributions sum to ``F(x) - F(x')`` up to the integral's numerical error, which Captum reports
as the convergence delta.

The workbench part adapts every classifier of the app to Captum (:func:`prepare_kim`,
:func:`prepare_han`, :func:`prepare_flat`, :func:`prepare_minilm`, :func:`prepare_tagger`) as an
:class:`EmbeddedText` (token vectors and a forward over them), and :func:`attribute` runs one of
:data:`METHODS` on it. Gradients are taken of the inputs only, so no parameter gets a ``.grad``
and no hook is registered on the shared model.

DeepLift is not offered: Captum's rescale rule acts on activation *modules*, and these models
apply their non-linearities as functions (``torch.relu``, GELU, GRU/LSTM cells, which the rule
does not cover anyway), and the shared model must never carry Captum's hooks. DeepLift here
would be ``(x - x') * dF/dx``, Input x Gradient under another name.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from captum.attr import IntegratedGradients


@dataclass(frozen=True)
class TokenAttribution:
    """Per-token attributions of one prediction."""

    tokens: tuple[str, ...]
    scores: np.ndarray  # (tokens,) summed over the vector dimensions
    target: int
    output_at_input: float  # F(x)
    output_at_baseline: float  # F(x')
    delta: float  # sum(scores) - (F(x) - F(x')), as Captum reports it
    n_steps: int
    method: str = "Integrated Gradients"


def integrated_gradients(
    forward: Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    baseline: torch.Tensor,
    target: int,
    n_steps: int = 50,
    internal_batch_size: int = 16,
) -> tuple[np.ndarray, float, float, float]:
    """Integrated Gradients of ``forward(x)[:, target]`` with respect to ``inputs``.

    Args:
        forward: (batch, seq, dim) -> (batch, classes); must be free of dropout (eval mode).
        inputs: (1, seq, dim) the embedded input.
        baseline: (1, seq, dim) the reference input, usually all padding vectors.
        target: output column to explain.
        n_steps: points on the path; evaluated ``internal_batch_size`` at a time so long inputs
            do not run out of memory.

    Returns:
        Attributions summed over ``dim`` (seq,), the convergence delta, F(inputs), F(baseline).
    """
    if inputs.shape != baseline.shape or inputs.shape[0] != 1:
        raise ValueError(
            f"inputs {tuple(inputs.shape)} and baseline {tuple(baseline.shape)} must both be "
            "(1, seq, dim)"
        )
    explainer = IntegratedGradients(forward)
    attributions, delta = explainer.attribute(
        inputs,
        baselines=baseline,
        target=target,
        n_steps=n_steps,
        internal_batch_size=internal_batch_size,
        return_convergence_delta=True,
    )
    with torch.no_grad():
        ends = forward(torch.cat([inputs, baseline]))[:, target]  # (2,)
    per_token = attributions.sum(dim=-1)[0].detach().cpu().numpy()  # (seq,)
    return per_token, float(delta.item()), float(ends[0]), float(ends[1])


# ---- the workbench: every classifier adapted to Captum -------------------------------------------

MAX_UNITS = 128
"""Most tokens one attribution reads (longer texts are cut, and the page says so): every method
costs passes that grow with the length (Occlusion one pass per token, the curves one per point)."""

METHODS = (
    "Integrated Gradients",
    "Saliency",
    "Input x Gradient",
    "GradientSHAP",
    "Occlusion",
    "Feature Ablation",
)
SIGNED = frozenset(METHODS) - {"Saliency"}
"""Saliency is |gradient| summed over the vector: a magnitude, never negative."""
BASELINES = {
    "pad": "the padding token's vector (all zeros for the word models)",
    "zero": "all-zero vectors",
    "unk": "the unknown word's vector",
    "mask": "the [MASK] token's vector (MiniLM only)",
}


@dataclass(frozen=True)
class AttributionOptions:
    """How a method runs; part of every cache key, so keep it hashable."""

    baseline: str = "pad"
    n_steps: int = 20  # Integrated Gradients: points on the path
    internal_batch_size: int = 20  # path points (or occluded copies) per forward/backward pass
    n_samples: int = 16  # GradientSHAP: random points (baseline + noise, alpha)
    stdev: float = 0.05  # GradientSHAP: noise added to the baseline, in vector units
    window: int = 3  # Occlusion: tokens covered by each sliding window
    seed: int = 0  # GradientSHAP's random draws

    def __post_init__(self) -> None:
        if self.n_steps < 2 or self.internal_batch_size < 1 or self.n_samples < 1:
            raise ValueError(
                f"n_steps {self.n_steps} must be >= 2, internal_batch_size "
                f"{self.internal_batch_size} and n_samples {self.n_samples} >= 1"
            )
        if self.window < 1:
            raise ValueError(f"window must be >= 1 token, got {self.window}")


@dataclass(frozen=True)
class EmbeddedText:
    """One text prepared for attribution: its tokens as vectors and a forward over vectors.

    ``forward`` maps (batch, tokens, dim) vectors to (batch, classes) probabilities; every
    method and every faithfulness curve uses it, so all scores are in probability units.
    Tokens are the units the user sees (words, or word pieces for MiniLM); anything the model
    needs around them ([CLS], [SEP], padding, the document layout) lives inside ``forward``.
    """

    tokens: tuple[str, ...]
    inputs: torch.Tensor  # (1, tokens, dim), detached
    baselines: dict[str, torch.Tensor]  # name -> (1, tokens, dim)
    forward: Callable[[torch.Tensor], torch.Tensor]  # (b, tokens, dim) -> (b, classes)
    class_names: tuple[str, ...]
    attention: np.ndarray | None = None  # (tokens,) the model's own attention, where it has one
    attention_label: str = ""
    dropped: int = 0  # tokens cut off beyond MAX_UNITS (or the model's own limit)

    def baseline(self, name: str) -> torch.Tensor:
        if name not in self.baselines:
            raise ValueError(
                f"baseline {name!r} is not available here; choose one of {sorted(self.baselines)}"
            )
        return self.baselines[name]

    @torch.no_grad()
    def probabilities(self) -> np.ndarray:
        """(classes,) the model's probabilities on the text."""
        return self.forward(self.inputs)[0].float().cpu().numpy()


@dataclass(frozen=True)
class Attribution:
    """One method's per-token scores for one target class (plain numpy, cacheable)."""

    method: str
    tokens: tuple[str, ...]
    scores: np.ndarray  # (tokens,) in units of P(target), except Saliency (a gradient norm)
    target: int
    target_name: str
    probability: float  # P(target | text)
    options: AttributionOptions
    delta: float = float("nan")  # completeness gap, for methods that have one (IG, GradientSHAP)
    output_at_baseline: float = float("nan")  # P(target | baseline)
    seconds: float = 0.0


_RNG_LOCK = threading.Lock()  # GradientSHAP draws from the global generators

# Captum warns on every call that it sets requires_grad on the inputs: expected here.
warnings.filterwarnings("ignore", message=r".*required_grads has been set automatically.*")


def _per_token(values: torch.Tensor, reduce: str = "sum") -> np.ndarray:
    """(1, tokens, dim) attributions -> (tokens,) numpy."""
    reduced = values.sum(dim=-1) if reduce == "sum" else values.mean(dim=-1)
    return reduced[0].detach().float().cpu().numpy().astype(np.float64)


def _run_method(
    text: EmbeddedText,
    method: str,
    target: int,
    options: AttributionOptions,
    baseline: torch.Tensor,
) -> tuple[np.ndarray, float, float]:
    """(scores (tokens,), delta, P(target | baseline)) of one method; NaN where it has none."""
    from captum.attr import (
        FeatureAblation,
        GradientShap,
        InputXGradient,
        Occlusion,
        Saliency,
    )

    inputs = text.inputs
    n, dim = inputs.shape[1], inputs.shape[2]
    delta = at_baseline = float("nan")
    if method == "Integrated Gradients":
        scores, delta, _, at_baseline = integrated_gradients(
            text.forward,
            inputs,
            baseline,
            target,
            n_steps=options.n_steps,
            internal_batch_size=options.internal_batch_size,
        )
        scores = scores.astype(np.float64)
    elif method == "Saliency":
        grads = Saliency(text.forward).attribute(
            inputs.clone().requires_grad_(), target=target, abs=True
        )
        scores = _per_token(grads)
    elif method == "Input x Gradient":
        scores = _per_token(
            InputXGradient(text.forward).attribute(inputs.clone().requires_grad_(), target=target)
        )
    elif method == "GradientSHAP":
        # Captum draws the noise from torch's and the path points from numpy's global
        # generators: seed both for a reproducible result and put them back afterwards.
        with _RNG_LOCK, torch.random.fork_rng(devices=[]):
            numpy_state = np.random.get_state()
            try:
                torch.manual_seed(options.seed)
                np.random.seed(options.seed)
                values, gap = GradientShap(text.forward).attribute(
                    inputs.clone().requires_grad_(),
                    baselines=baseline,
                    target=target,
                    n_samples=options.n_samples,
                    stdevs=options.stdev,
                    return_convergence_delta=True,
                )
            finally:
                np.random.set_state(numpy_state)
        scores, delta = _per_token(values), float(gap.mean())
    elif method == "Occlusion":
        window = min(options.window, n)
        values = Occlusion(text.forward).attribute(
            inputs,
            sliding_window_shapes=(window, dim),
            strides=(1, dim),
            baselines=baseline,
            target=target,
            perturbations_per_eval=options.internal_batch_size,
        )
        scores = _per_token(values, reduce="mean")
    else:  # Feature Ablation: each token on its own
        mask = torch.arange(n, device=inputs.device)[None, :, None].expand(1, n, dim)
        values = FeatureAblation(text.forward).attribute(
            inputs,
            baselines=baseline,
            target=target,
            feature_mask=mask,
            perturbations_per_eval=options.internal_batch_size,
        )
        scores = _per_token(values, reduce="mean")
    return scores, float(delta), float(at_baseline)


def attribute(
    text: EmbeddedText,
    method: str,
    target: int,
    options: AttributionOptions | None = None,
) -> Attribution:
    """Per-token attribution of ``P(target)`` by one Captum method, on the token vectors.

    Gradient methods sum the vector dimensions of each token. Occlusion and Feature Ablation
    replace a token's vector by the baseline's and report the drop in P(target) (Occlusion
    averages the windows that cover the token; Feature Ablation removes one token at a time).
    """
    options = options or AttributionOptions()
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    n_classes = len(text.class_names)
    if not 0 <= target < n_classes:
        raise ValueError(f"target {target} is not a class index in 0..{n_classes - 1}")
    inputs = text.inputs
    baseline = text.baseline(options.baseline)
    start = time.perf_counter()
    # cuDNN's RNN backward refuses eval mode: the GRU/LSTM models need the native kernels there.
    guard = (
        torch.backends.cudnn.flags(enabled=False, benchmark=False, deterministic=False)
        if inputs.is_cuda
        else contextlib.nullcontext()
    )
    with guard:
        scores, delta, at_baseline = _run_method(text, method, target, options, baseline)
    with torch.no_grad():
        probability = float(text.forward(inputs)[0, target])
        if math.isnan(at_baseline) and method == "GradientSHAP":
            at_baseline = float(text.forward(baseline)[0, target])
    return Attribution(
        method=method,
        tokens=text.tokens,
        scores=scores,
        target=target,
        target_name=text.class_names[target],
        probability=probability,
        options=options,
        delta=float(delta),
        output_at_baseline=at_baseline,
        seconds=time.perf_counter() - start,
    )


def forward_passes(method: str, n_tokens: int, options: AttributionOptions) -> float:
    """How many single-text forward(+backward) passes a method costs, for the time estimate.

    A backward pass counts as two forwards.
    """
    options = options or AttributionOptions()
    if method == "Integrated Gradients":
        return 3.0 * options.n_steps + 2
    if method in ("Saliency", "Input x Gradient"):
        return 3.0
    if method == "GradientSHAP":
        return 3.0 * options.n_samples + 1
    if method == "Occlusion":
        return float(n_tokens - min(options.window, n_tokens) + 2)
    if method == "Feature Ablation":
        return float(n_tokens + 1)
    raise ValueError(f"unknown method {method!r}")


# ---- adapters: one per model family ----------------------------------------------------------


def _softmax(logits: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits.float(), dim=-1)


def _word_baselines(
    embed: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor, pad: int, unk: int
) -> dict[str, torch.Tensor]:
    n = inputs.shape[1]
    device = inputs.device
    with torch.no_grad():
        pad_vectors = embed(torch.full((1, n), pad, dtype=torch.long, device=device))
        unk_vectors = embed(torch.full((1, n), unk, dtype=torch.long, device=device))
    return {"pad": pad_vectors, "zero": torch.zeros_like(inputs), "unk": unk_vectors}


def prepare_kim(
    model: torch.nn.Module,
    vocab,
    text: str,
    class_names: Sequence[str],
    device: torch.device,
    max_units: int = MAX_UNITS,
) -> EmbeddedText | None:
    """Kim CNN: the word vectors (both channels side by side for multichannel)."""
    from nlpviz.data.tokenize import vocab_tokens
    from nlpviz.models.kim_cnn import pad_ids

    tokens = vocab_tokens(text, vocab, max_tokens=max_units)
    if not tokens.tokens:
        return None
    n = len(tokens.ids)
    width = max(n, model.config.min_length)
    ids = pad_ids([tokens.ids], model.config.min_length).to(device)  # (1, width)
    with torch.no_grad():
        inputs = model.embed(ids[:, :n])  # (1, n, channels * dim)
        tail = model.embed(ids[:, n:])  # (1, width - n, channels * dim) padding, fixed

    def forward(x: torch.Tensor) -> torch.Tensor:
        full = torch.cat([x, tail.expand(x.shape[0], -1, -1)], dim=1)  # (b, width, C * dim)
        lengths = torch.full((x.shape[0],), n, device=x.device)
        return _softmax(model.forward_embedded(full, lengths).logits)

    assert width == n + tail.shape[1]
    return EmbeddedText(
        tokens=tokens.tokens,
        inputs=inputs,
        baselines=_word_baselines(model.embed, inputs, vocab.pad_index, vocab.unk_index),
        forward=forward,
        class_names=tuple(class_names),
        dropped=tokens.dropped,
    )


def prepare_han(
    model: torch.nn.Module,
    vocab,
    text: str,
    class_names: Sequence[str],
    device: torch.device,
    max_units: int = MAX_UNITS,
) -> EmbeddedText | None:
    """HAN: every word of the document in reading order; the sentence layout stays fixed.

    ``attention`` is each word's attention times its sentence's (sums to 1 over the document).
    """
    from nlpviz.data.documents import tokenize_document
    from nlpviz.models.han import pad_documents

    document = tokenize_document(text)
    sentences, room, dropped = [], max_units, 0
    for sentence in document.sentences:
        if room <= 0:
            dropped += len(sentence)
            continue
        sentences.append(sentence[:room])
        dropped += max(0, len(sentence) - room)
        room -= len(sentences[-1])
    if not sentences:
        return None
    ids = [vocab.encode(s) for s in sentences]
    grid = pad_documents([ids]).to(device)  # (1, S, W)
    mask = grid != 0  # (1, S, W); unknown words are id 1, so real words are all True
    flat_mask = mask.reshape(-1)  # (S * W,)
    with torch.no_grad():
        out = model(grid)
        embedded = model.embed(grid)  # (1, S, W, E)
    shape = embedded.shape
    inputs = embedded.reshape(1, -1, shape[-1])[:, flat_mask]  # (1, n, E)
    positions = flat_mask.nonzero().squeeze(1)  # (n,)

    def forward(x: torch.Tensor) -> torch.Tensor:
        full = x.new_zeros(x.shape[0], shape[1] * shape[2], shape[3])  # (b, S * W, E)
        full = full.index_copy(1, positions, x)
        out = model.forward_embedded(
            full.view(x.shape[0], *shape[1:]), mask.expand(x.shape[0], -1, -1)
        )
        return _softmax(out.logits)

    scaled = out.sentence_attention[0, :, None] * out.word_attention[0]  # (S, W)
    return EmbeddedText(
        tokens=tuple(t for s in sentences for t in s),
        inputs=inputs,
        baselines=_word_baselines(model.embed, inputs, vocab.pad_index, vocab.unk_index),
        forward=forward,
        class_names=tuple(class_names),
        attention=scaled.reshape(-1)[flat_mask].float().cpu().numpy(),
        attention_label="word attention × sentence attention",
        dropped=dropped,
    )


def prepare_flat(
    model: torch.nn.Module,
    vocab,
    text: str,
    class_names: Sequence[str],
    device: torch.device,
    max_units: int = MAX_UNITS,
) -> EmbeddedText | None:
    """The flat baselines (BiGRU + attention, averaged embeddings): all words in one row."""
    from nlpviz.data.documents import tokenize_document

    document = tokenize_document(text)
    words = [t for s in document.sentences for t in s]
    dropped = max(0, len(words) - max_units)
    words = words[:max_units]
    if not words:
        return None
    ids = torch.tensor([vocab.encode(words)], device=device)  # (1, n)
    mask = ids != 0
    with torch.no_grad():
        inputs = model.embed(ids)  # (1, n, E)
        out = model(ids)
    attention = getattr(out, "attention", None)

    def forward(x: torch.Tensor) -> torch.Tensor:
        return _softmax(model.forward_embedded(x, mask.expand(x.shape[0], -1)).logits)

    return EmbeddedText(
        tokens=tuple(words),
        inputs=inputs,
        baselines=_word_baselines(model.embed, inputs, vocab.pad_index, vocab.unk_index),
        forward=forward,
        class_names=tuple(class_names),
        attention=None if attention is None else attention[0].float().cpu().numpy(),
        attention_label="word attention" if attention is not None else "",
        dropped=dropped,
    )


def prepare_minilm(
    model: torch.nn.Module,
    tokenizer,
    text: str,
    class_names: Sequence[str],
    device: torch.device,
    max_len: int = 64,
    max_units: int = MAX_UNITS,
) -> EmbeddedText | None:
    """MiniLM classifier: the word-piece vectors of the text; [CLS] and [SEP] stay fixed.

    ``attention`` is the attention each piece receives in the last layer, averaged over heads
    and over all query positions.
    """
    from nlpviz.models.hf_encoder import display_token

    pieces = list(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
    keep = min(max_units, max_len - 2)
    dropped = max(0, len(pieces) - keep)
    pieces = pieces[:keep]
    if not pieces:
        return None
    ids = torch.tensor([[tokenizer.cls_token_id, *pieces, tokenizer.sep_token_id]], device=device)
    table = model.encoder.embeddings.word_embeddings
    with torch.no_grad():
        vectors = table(ids)  # (1, n + 2, H)
        out = model(ids, torch.ones_like(ids), output_attentions=True)
    inputs = vectors[:, 1:-1]  # (1, n, H)
    cls, sep = vectors[:, :1], vectors[:, -1:]
    n = len(pieces)

    def forward(x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        full = torch.cat([cls.expand(b, -1, -1), x, sep.expand(b, -1, -1)], dim=1)
        mask = torch.ones(full.shape[:2], dtype=torch.long, device=x.device)
        hidden = model.encoder(inputs_embeds=full, attention_mask=mask).last_hidden_state
        return _softmax(model.head(model.pool(hidden, mask)))

    def constant(token_id: int) -> torch.Tensor:
        with torch.no_grad():
            return table(torch.full((1, n), token_id, dtype=torch.long, device=device))

    baselines = {"pad": constant(tokenizer.pad_token_id), "zero": torch.zeros_like(inputs)}
    if tokenizer.mask_token_id is not None:
        baselines["mask"] = constant(tokenizer.mask_token_id)
    if tokenizer.unk_token_id is not None:
        baselines["unk"] = constant(tokenizer.unk_token_id)
    last = out.attentions[-1][0].float()  # (heads, n + 2, n + 2)
    received = last.mean(dim=0).mean(dim=0)[1:-1]  # (n,)
    raw = tokenizer.convert_ids_to_tokens(pieces)
    specials = frozenset(tokenizer.all_special_tokens)
    return EmbeddedText(
        tokens=tuple(display_token(tokenizer, t, specials) for t in raw),
        inputs=inputs,
        baselines=baselines,
        forward=forward,
        class_names=tuple(class_names),
        attention=received.cpu().numpy(),
        attention_label="last-layer attention received (mean over heads and queries)",
        dropped=dropped,
    )


def prepare_tagger(
    model: torch.nn.Module,
    vocab,
    chars,
    tokens: Sequence[str],
    position: int,
    device: torch.device,
) -> EmbeddedText:
    """Tagger, per token: P(tag at ``position``) from the softmax of its emissions.

    The unit a token contributes is what enters the BiLSTM: its word vector, and for the
    BLSTM-CNN variants its character-CNN features too. (With a CRF the decoded tag also depends
    on the neighbours' tags; the emission softmax is the part the BiLSTM computes.)
    """
    from nlpviz.models.tagger import encode_sentences

    if not tokens:
        raise ValueError("the tagger needs at least one token")
    if not 0 <= position < len(tokens):
        raise ValueError(f"position {position} is outside the sentence (0..{len(tokens) - 1})")
    words, char_ids = encode_sentences(vocab, chars, [list(tokens)], model.config.char_window)
    words, char_ids = words.to(device), char_ids.to(device)  # (1, L), (1, L, C)

    def units(word_ids: torch.Tensor, char_batch: torch.Tensor | None) -> torch.Tensor:
        x = model.embedding(word_ids)  # (1, L, word_dim)
        if model.chars is not None:
            x = torch.cat([x, model.chars(char_batch)[0]], dim=-1)  # (1, L, word_dim + filters)
        return x

    with torch.no_grad():
        inputs = units(words, char_ids)  # (1, L, D)
        pad_inputs = units(torch.zeros_like(words), torch.zeros_like(char_ids))
        unk_inputs = units(torch.full_like(words, vocab.unk_index), torch.zeros_like(char_ids))

    def forward(x: torch.Tensor) -> torch.Tensor:
        states, _ = model.lstm(x)  # (b, L, 2 * hidden); one sentence, so no padding to pack
        return _softmax(model.emit(states[:, position]))  # (b, tags)

    return EmbeddedText(
        tokens=tuple(tokens),
        inputs=inputs,
        baselines={"pad": pad_inputs, "zero": torch.zeros_like(inputs), "unk": unk_inputs},
        forward=forward,
        class_names=tuple(model.config.tags),
    )


# ---- many texts: the dataset view ---------------------------------------------------------------

MAX_DATASET_ROWS = 2_000
"""Most rows one dataset run reads (the upload limit; the held-out splits are about 1,400)."""


@dataclass(frozen=True)
class DatasetAttribution:
    """Mean attribution per word over many texts, for one model, method and target."""

    words: tuple[str, ...]
    mean: np.ndarray  # (words,) mean score over the word's occurrences
    total: np.ndarray  # (words,) sum of scores
    count: np.ndarray  # (words,) occurrences
    rows_read: int
    rows_skipped: int  # empty or unreadable texts
    rows_cut: int  # texts longer than the token limit (read up to it)
    target_name: str
    method: str
    seconds: float

    def top(self, k: int = 20, min_count: int = 3, positive: bool = True) -> list[tuple]:
        """(word, mean, count) of the ``k`` words with the highest (or lowest) mean score."""
        keep = np.flatnonzero(self.count >= min_count)
        order = keep[np.argsort(-self.mean[keep] if positive else self.mean[keep], kind="stable")]
        chosen = [i for i in order if (self.mean[i] > 0 if positive else self.mean[i] < 0)][:k]
        return [(self.words[i], float(self.mean[i]), int(self.count[i])) for i in chosen]


def attribute_dataset(
    prepare: Callable[[str], EmbeddedText | None],
    texts: Sequence[str],
    method: str,
    target: int,
    options: AttributionOptions | None = None,
    progress: Callable[[float], None] | None = None,
    max_rows: int = MAX_DATASET_ROWS,
) -> DatasetAttribution:
    """Attribute every text and average each word's scores (the dataset view's one loop).

    ``prepare`` turns a text into an :class:`EmbeddedText` (``None`` when it has no token).
    ``progress(fraction)`` is called after every row; an exception it raises (a cancelled
    script run) ends the loop at once and leaves nothing behind.
    """
    options = options or AttributionOptions()
    start = time.perf_counter()
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    read = skipped = cut = 0
    texts = list(texts)[:max_rows]
    target_name = ""
    for row, text in enumerate(texts):
        embedded = prepare(text) if text and text.strip() else None
        if embedded is None:
            skipped += 1
        else:
            if options.baseline not in embedded.baselines:
                options = replace(options, baseline="pad")
            result = attribute(embedded, method, target, options)
            target_name = result.target_name
            cut += embedded.dropped > 0
            read += 1
            for token, score in zip(result.tokens, result.scores, strict=True):
                totals[token] = totals.get(token, 0.0) + float(score)
                counts[token] = counts.get(token, 0) + 1
        if progress is not None:
            progress((row + 1) / len(texts))
    words = tuple(totals)
    total = np.array([totals[w] for w in words], dtype=np.float64)
    count = np.array([counts[w] for w in words], dtype=np.int64)
    return DatasetAttribution(
        words=words,
        mean=total / np.maximum(count, 1),
        total=total,
        count=count,
        rows_read=read,
        rows_skipped=skipped,
        rows_cut=cut,
        target_name=target_name,
        method=method,
        seconds=time.perf_counter() - start,
    )
