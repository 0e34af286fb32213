"""Cached computations of the attribution workbench (keyed by model, method, text and options).

Models come from the shared loaders (read-only, one per checkpoint and device): the word models
from :mod:`nlpviz.ui.loaders`, MiniLM with a LoRA adapter merged into a cached copy from
:mod:`nlpviz.ui.lora`. Every attribution holds the model's lock (:func:`loaders.model_lock`), so
one model runs one attribution at a time whoever asks; predictions elsewhere never wait for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import streamlit as st
import torch

from nlpviz import attribution as lib
from nlpviz import registry
from nlpviz.analysis import faithfulness
from nlpviz.checkpoints import CheckpointError, checkpoint_root, read_card
from nlpviz.ui.loaders import model_lock, require_model
from nlpviz.ui.script_slots import model_lock_released_slot

# the order of the families in the workbench's model list
WORKBENCH_FAMILIES = ("kim_cnn", "han", "lora", "tagger")


@dataclass(frozen=True)
class ModelChoice:
    key: str  # checkpoint name
    label: str
    family: str  # the reader: "kim_cnn", "han", "flat", "minilm" or "tagger"
    task: str  # what the classes are
    data_task: str  # the registry's task key: the data set its held-out split comes from

    @property
    def per_token(self) -> bool:
        return self.family == "tagger"

    @property
    def has_attention(self) -> bool:
        return self.family in ("han", "flat", "minilm")


def _catalogue() -> dict[str, ModelChoice]:
    return {
        entry.name: ModelChoice(
            entry.name,
            entry.label,
            entry.adapter,
            entry.task,
            registry.CHECKPOINTS[entry.name].task,
        )
        for entry in registry.explained(WORKBENCH_FAMILIES)
    }


CATALOGUE = _catalogue()
# the default texts are movie reviews: only models of that task (sentiment, MR) by default; the
# news-outlet HAN would explain an outlet it cannot read in a review
DEFAULT_MODELS = ("kim-cnn-multichannel-mr", "kim-cnn-static-mr", "lora-r8-s1")
DEFAULT_METHODS = ("Integrated Gradients", "Input x Gradient", "Occlusion")


def available_models() -> dict[str, ModelChoice]:
    """The catalogue's models whose checkpoint is on this server."""
    root = checkpoint_root()
    return {k: m for k, m in CATALOGUE.items() if (root / k / "card.json").exists()}


# ---- preparing a text for one model --------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    embedded: lib.EmbeddedText | None
    lock: object  # threading.Lock


def _minilm(name: str, device: str):
    from nlpviz.ui import lora as lora_ui

    root = checkpoint_root()
    card = read_card(name, root)
    model = lora_ui._adapted(name, card.get("weights_sha256", ""), str(root), device)
    base = lora_ui.load_base(device)
    if isinstance(base, Exception):
        raise CheckpointError(str(base))
    return model, base.tokenizer, card


def prepare(key: str, device: str, text: str, position: int = 0) -> Prepared:
    """The text as vectors for model ``key`` (None when the model reads no token in it)."""
    choice = CATALOGUE[key]
    dev = torch.device(device)
    if choice.family == "minilm":
        model, tokenizer, card = _minilm(key, device)
        lock = model_lock(key, device)
        embedded = lib.prepare_minilm(
            model, tokenizer, text, card["class_names"], dev, max_len=int(card["recipe"]["max_len"])
        )
        return Prepared(embedded, lock)
    loaded = require_model(key, device)
    names = loaded.card.get("class_names", [])
    if choice.family == "kim_cnn":
        embedded = lib.prepare_kim(loaded.model, loaded.vocab, text, names, dev)
    elif choice.family == "han":
        embedded = lib.prepare_han(loaded.model, loaded.vocab, text, names, dev)
    elif choice.family == "flat":
        embedded = lib.prepare_flat(loaded.model, loaded.vocab, text, names, dev)
    else:
        from nlpviz.ui.tagger import char_vocab

        tokens = tagger_tokens(text)
        if not tokens:
            return Prepared(None, loaded.lock)
        position = min(max(position, 0), len(tokens) - 1)
        embedded = lib.prepare_tagger(
            loaded.model, loaded.vocab, char_vocab(loaded), tokens, position, dev
        )
    return Prepared(embedded, loaded.lock)


def tagger_tokens(text: str) -> tuple[str, ...]:
    from nlpviz.analysis.tagger import tokenize_cased

    return tuple(tokenize_cased(text)[: lib.MAX_UNITS])


# ---- one cell of the grid ------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One (model, method) cell: scores, prediction and faithfulness, all numpy."""

    key: str
    method: str
    tokens: tuple[str, ...]
    scores: np.ndarray  # (tokens,)
    class_names: tuple[str, ...]
    probabilities: np.ndarray  # (classes,)
    target: int
    delta: float
    seconds: float
    faith: faithfulness.Faithfulness
    attention: np.ndarray | None
    attention_label: str
    dropped: int
    position: int
    baseline: str  # the baseline used: the one asked for, or "pad" where the model lacks it

    @property
    def target_name(self) -> str:
        return self.class_names[self.target]


@st.cache_data(max_entries=512, show_spinner=False)
def cell(
    key: str,
    device: str,
    text: str,
    method: str,
    target: int | None,
    options: lib.AttributionOptions,
    position: int = 0,
) -> Cell | None:
    """Attribution of ``P(target)`` (None: the predicted class) and its faithfulness."""
    prepared = prepare(key, device, text, position)
    embedded = prepared.embedded
    if embedded is None:
        return None
    if options.baseline not in embedded.baselines:  # e.g. [MASK] for a model without one
        options = replace(options, baseline="pad")
    with model_lock_released_slot(prepared.lock):
        probabilities = embedded.probabilities()
        chosen = int(np.argmax(probabilities)) if target is None else int(target)
        chosen = min(max(chosen, 0), len(embedded.class_names) - 1)
        result = lib.attribute(embedded, method, chosen, options)
        faith = faithfulness.measure(
            embedded.forward,
            embedded.inputs,
            embedded.baseline(options.baseline),
            result.scores,
            chosen,
        )
    return Cell(
        key=key,
        method=method,
        tokens=embedded.tokens,
        scores=result.scores,
        class_names=embedded.class_names,
        probabilities=probabilities,
        target=chosen,
        delta=result.delta,
        seconds=result.seconds,
        faith=faith,
        attention=embedded.attention,
        attention_label=embedded.attention_label,
        dropped=embedded.dropped,
        position=position,
        baseline=options.baseline,
    )


@st.cache_data(max_entries=256, show_spinner=False)
def random_deletion(
    key: str,
    device: str,
    text: str,
    target: int,
    baseline: str,
    position: int = 0,
    repeats: int = 5,
) -> np.ndarray | None:
    """The mean deletion curve of ``repeats`` random orders (the curve view's reference)."""
    prepared = prepare(key, device, text, position)
    embedded = prepared.embedded
    if embedded is None:
        return None
    if baseline not in embedded.baselines:
        baseline = "pad"
    rng = np.random.default_rng(0)
    curves = []
    with model_lock_released_slot(prepared.lock):
        for _ in range(repeats):
            scores = rng.permutation(len(embedded.tokens)).astype(float)
            curves.append(
                faithfulness.measure(
                    embedded.forward,
                    embedded.inputs,
                    embedded.baseline(baseline),
                    scores,
                    target,
                ).deletion
            )
    return np.mean(curves, axis=0)


@st.cache_data(max_entries=256, show_spinner=False)
def pass_seconds(key: str, device: str, text: str, position: int = 0) -> tuple[float, int]:
    """(seconds of one forward pass on this text, tokens) for the time estimate."""
    prepared = prepare(key, device, text, position)
    embedded = prepared.embedded
    if embedded is None:
        return 0.0, 0
    best = float("inf")
    with model_lock_released_slot(prepared.lock), torch.no_grad():
        for _ in range(2):
            start = time.perf_counter()
            embedded.forward(embedded.inputs)
            best = min(best, time.perf_counter() - start)
    return best, len(embedded.tokens)


def estimate_seconds(
    seconds_per_pass: float, n_tokens: int, method: str, options: lib.AttributionOptions
) -> float:
    """About how long one cell takes: the method's passes plus the curves' (batched, cheaper)."""
    curves = 2 * len(faithfulness.curve_ks(max(n_tokens, 1))) + 2
    passes = lib.forward_passes(method, n_tokens, options) + 0.5 * curves
    return seconds_per_pass * passes


# ---- the dataset view ----------------------------------------------------------------------------


@st.cache_data(max_entries=8, show_spinner="Reading the held-out split…")
def held_out_texts(key: str) -> tuple[list[str], str]:
    """The test split the model was evaluated on, and where it comes from (training packages)."""
    choice = CATALOGUE[key]
    card = read_card(key)
    seed = int(card.get("data", {}).get("corpus", {}).get("split_seed", 13) or 13)
    if choice.family in ("kim_cnn", "minilm"):
        from nlpviz.data.rotten import load_task

        data = load_task(choice.data_task, seed)
    elif choice.family in ("han", "flat"):
        from nlpviz.data import documents

        loaders = {"news": documents.load_news, "drugs": documents.load_drug_reviews}
        data = loaders[choice.data_task](seed)
    else:
        raise ValueError("The taggers' held-out sentences are in the tagger page's own files.")
    return list(data.test.texts), f"the {choice.task} test split ({len(data.test.texts):,} texts)"


def dataset(
    key: str,
    device: str,
    texts: tuple[str, ...],
    method: str,
    target: int,
    options: lib.AttributionOptions,
    progress: Callable[[float], None] | None = None,
) -> lib.DatasetAttribution:
    """The dataset view: every text through one model and method (not cached: files vary).

    Holds the model's lock for the whole run; the row loop is :func:`lib.attribute_dataset`.
    """
    choice = CATALOGUE[key]
    if choice.per_token:
        raise ValueError("The dataset view reads classifiers; the tagger explains one token.")
    first = prepare(key, device, texts[0] if texts else "", 0)

    def one(text: str) -> lib.EmbeddedText | None:
        return prepare(key, device, text, 0).embedded

    with model_lock_released_slot(first.lock):
        return lib.attribute_dataset(one, texts, method, target, options, progress=progress)
