"""The LoRA page's loaders: the sweep, the base MiniLM, adapted copies and the live sweep.

* The sweep checkpoint (``lora-sweep``: the card's rows and summary and ``analyses.json``) is
  read through :func:`nlpviz.checkpoints.load_checkpoint`, so every file's sha256 is checked.
* One base all-MiniLM-L6-v2 per device is shared read-only by every session. An adapter is
  applied to a deep COPY of it (LoRA injected, the adapter loaded, then merged into the copy's
  weights); that copy is cached per run with a small ``max_entries``. The shared base is never
  touched: no injection, no merge, no ``.train()``, no ``.to()``.
* A live sweep runs in the visitor's own script run, writes into a temporary folder of that
  session (never into ``checkpoints/``), and only one runs per server at a time
  (:func:`acquire_live_sweep`: the server's one heavy-work slot, ``nlpviz.heavy``).
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
import torch
from torch.nn import functional as F

from nlpviz import heavy, settings
from nlpviz.analysis import lora as analysis
from nlpviz.checkpoints import CheckpointError, checkpoint_root, load_checkpoint, read_card
from nlpviz.claims import Comparison, Verdict, cannot_judge, matches, seed_se
from nlpviz.heavy import HEAVY_LINE, Ticket, heavy_work_disabled
from nlpviz.models.lora import MiniLMClassifier, inject_lora, load_adapter_state, merge_all
from nlpviz.train import lora as sweep_lib
from nlpviz.ui.heavy import session_owner  # noqa: F401 - the page asks lora for it
from nlpviz.ui.loaders import freeze_for_serving
from nlpviz.ui.url_numbers import parse_url_int, quote_value
from nlpviz.viz.lora import Reference

SWEEP_ENV = settings.LORA_SWEEP.name  # another sweep (e.g. lora-sweep-quick) for development
DEFAULT_SWEEP = settings.LORA_SWEEP.default
DEFAULT_RANKS = sweep_lib.DEFAULT_RANKS  # the ranks the default sweep plans (for the page)
DEFAULT_SEEDS = sweep_lib.DEFAULT_SEEDS
LIVE_RANKS = (1, 2, 4, 8, 16, 32, 64)  # a live sweep may try any power of two up to 64
KIM_REFERENCE = "kim-cnn-multichannel-mr"
DISABLE_ENV = heavy.DISABLE_ENV
LIVE_NAME = "lora-live"
LIVE_PREFIX = "lora-live"
SMALL_RANKS = analysis.SMALL_RANKS


def sweep_name() -> str:
    """The sweep checkpoint the page shows (``lora-sweep``; ``NLPVIZ_LORA_SWEEP`` overrides)."""
    return settings.lora_sweep_name()


# ---- the sweep ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sweep:
    """A verified sweep checkpoint: its card (rows, summary) and its analyses."""

    name: str
    card: dict[str, Any]
    analyses: dict[str, Any]

    @property
    def rows(self) -> list[dict]:
        return list(self.card.get("rows", []))

    @property
    def lora_rows(self) -> list[dict]:
        return [r for r in self.rows if r["kind"] == "lora"]

    @property
    def ranks(self) -> list[int]:
        return sorted({int(r["rank"]) for r in self.lora_rows})

    def seeds_of(self, kind: str, rank: int | None = None) -> list[int]:
        return sorted(int(r["seed"]) for r in self.rows if r["kind"] == kind and r["rank"] == rank)

    def run_name(self, kind: str, rank: int | None, seed: int) -> str | None:
        for row in self.rows:
            if row["kind"] == kind and row["rank"] == rank and int(row["seed"]) == seed:
                return row["name"]
        return None

    def summary_of(self, kind: str, rank: int | None = None) -> dict | None:
        for entry in self.card.get("summary", []):
            if entry["kind"] == kind and entry["rank"] == rank:
                return entry
        return None

    @property
    def class_names(self) -> list[str]:
        return list(self.card["class_names"])

    @property
    def max_len(self) -> int:
        return int(self.card["recipe"]["max_len"])

    def completeness(self) -> dict:
        """How many runs there are and whether every configuration has every seed seen."""
        seeds = sorted({int(r["seed"]) for r in self.rows})
        configs: dict[tuple, set] = {}
        for row in self.rows:
            configs.setdefault((row["kind"], row["rank"]), set()).add(int(row["seed"]))
        missing = {k: sorted(set(seeds) - v) for k, v in configs.items() if set(seeds) - v}
        planned = None
        if self.card.get("run_prefix") == "lora":  # the default `nlpviz train lora-sweep`
            planned = (len(sweep_lib.DEFAULT_RANKS) + 2) * len(sweep_lib.DEFAULT_SEEDS)
        return {
            "runs": len(self.rows),
            "seeds": seeds,
            "configurations": len(configs),
            "missing": missing,
            "planned": planned,
            "complete": not missing and (planned is None or len(self.rows) >= planned),
        }


def _stamp(name: str, root: Path) -> int:
    try:
        return (root / name / "card.json").stat().st_mtime_ns
    except OSError:
        return 0


@st.cache_data(max_entries=8, show_spinner=False)
def _load_sweep(name: str, root: str, stamp: int) -> Sweep:
    checkpoint = load_checkpoint(name, Path(root), family=sweep_lib.SWEEP_FAMILY)
    return Sweep(name, checkpoint.card, checkpoint.read_json(sweep_lib.ANALYSES_FILE))


def load_sweep(name: str | None = None, root: Path | None = None) -> Sweep | CheckpointError:
    """The verified sweep (re-read whenever a running sweep rewrites its card), or the error
    to show; it names the command that builds the sweep."""
    name = name or sweep_name()
    root = Path(root) if root is not None else checkpoint_root()
    for attempt in range(2):  # a running sweep replaces the folder atomically, but not instantly
        try:
            return _load_sweep(name, str(root), _stamp(name, root))
        except CheckpointError as error:
            if attempt:
                return error
            time.sleep(0.3)
    raise AssertionError("unreachable")


def kim_reference() -> Reference | None:
    """The Kim CNN (multichannel, MR-like) test accuracy from its card, if it is there."""
    try:
        card = read_card(KIM_REFERENCE)
        value = float(card["metrics"]["test_accuracy"])
    except (CheckpointError, KeyError, TypeError, ValueError):
        return None
    return Reference("Kim CNN (multichannel)", value)


def run_reference(sweep: Sweep, kind: str, label: str) -> Reference | None:
    entry = sweep.summary_of(kind)
    if entry is None:
        return None
    return Reference(label, entry["test_accuracy_mean"], entry["test_accuracy_std"], entry["n"])


# ---- the verdict ---------------------------------------------------------------------------------


SMALL_RANK_CLAIM = "A small rank (1 to 8) matches full fine-tuning"


def sweep_verdict(summary: list[dict]) -> Verdict:
    """Compare the best small-rank LoRA (r in 1..8) with full fine-tuning, on mean test accuracy.

    By the rule of nlpviz.claims: the claim holds unless full fine-tuning beats that rank by more
    than two standard errors of the difference of the two means over seeds.
    """
    full = next((s for s in summary if s["kind"] == "full"), None)
    small = [s for s in summary if s["kind"] == "lora" and s["rank"] in SMALL_RANKS]
    if full is None or not small:
        missing = "full fine-tuning" if full is None else "a LoRA run with rank 1 to 8"
        return cannot_judge(SMALL_RANK_CLAIM, f"the sweep has no {missing} so far")
    best = max(small, key=lambda s: (s["test_accuracy_mean"], -s["rank"]))
    se = seed_se(full.get("test_accuracy_std"), full.get("n", 1),
                 best.get("test_accuracy_std"), best.get("n", 1))  # fmt: skip
    full_beats_lora = Comparison(
        "full fine-tuning",
        f"LoRA r={best['rank']}",
        full["test_accuracy_mean"],
        best["test_accuracy_mean"],
        se,
        percent=True,
    )
    seeds = f"{best['n']} seed{'s' if best['n'] != 1 else ''} vs {full['n']}"
    return matches(SMALL_RANK_CLAIM, full_beats_lora, note=f"Means over {seeds}")


# ---- rank and seed from a link -------------------------------------------------------------------


def parse_rank(raw: Any, trained: list[int], hidden: int | None = None) -> tuple[int | None, str]:
    """A rank from a link: the rank when it was trained, else None and a message saying why.

    The message is markdown-safe (the link's text is escaped).
    """
    text = str(raw).strip()
    value, refused = parse_url_int(text, 0, -(10**18), 10**18, "rank")
    if refused or value < 1:
        return None, f"The link's rank {quote_value(text)} is not a positive integer."
    if hidden is not None and value > hidden:
        return None, (
            f"Rank {value} exceeds the size of the adapted matrices (min(in, out) = {hidden}): "
            "B A would not be a low-rank update."
        )
    if value not in trained:
        listed = ", ".join(str(r) for r in trained)
        return None, f"Rank {value} was not trained in this sweep (trained: {listed})."
    return value, ""


# ---- the base model and adapted copies -----------------------------------------------------------


@dataclass(frozen=True)
class LoadedBase:
    model: MiniLMClassifier  # shared by every session: read-only
    tokenizer: Any
    directory: Path
    device: torch.device


@st.cache_resource(show_spinner="Loading all-MiniLM-L6-v2…", max_entries=2)
def _base(device: str) -> LoadedBase:
    import transformers

    from nlpviz.models.hf_encoder import minilm_path

    directory = minilm_path()
    tokenizer = transformers.AutoTokenizer.from_pretrained(directory, local_files_only=True)
    model = MiniLMClassifier.from_pretrained(directory)
    return LoadedBase(
        freeze_for_serving(model, torch.device(device)), tokenizer, directory, torch.device(device)
    )


def load_base(device: str | torch.device) -> LoadedBase | Exception:
    """The cached base classifier, or the error to show (the MiniLM package is missing)."""
    try:
        return _base(str(device))
    except Exception as error:  # noqa: BLE001 - shown on the page, not swallowed
        return error


@st.cache_resource(show_spinner="Merging the adapter into a copy of MiniLM…", max_entries=3)
def _adapted(name: str, sha: str, root: str, device: str) -> MiniLMClassifier:
    """A deep copy of the base with this run's adapter merged into its weights (and its head)."""
    checkpoint = load_checkpoint(name, Path(root), family=sweep_lib.RUN_FAMILY)
    lora = checkpoint.card["config"]["lora"]
    base = _base(device)
    model = copy.deepcopy(base.model)  # the shared base stays exactly as it was
    inject_lora(
        model.encoder, r=int(lora["r"]), alpha=float(lora["alpha"]), targets=lora["targets"]
    )
    load_adapter_state(model.to(torch.device(device)), checkpoint.tensors)
    merge_all(model)
    return freeze_for_serving(model, torch.device(device))


@st.cache_resource(max_entries=8, show_spinner=False)
def _probe_head(name: str, sha: str, root: str, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    checkpoint = load_checkpoint(name, Path(root), family=sweep_lib.RUN_FAMILY)
    weight = checkpoint.tensors["head.weight"].float().to(device)  # (classes, hidden)
    bias = checkpoint.tensors["head.bias"].float().to(device)  # (classes,)
    return weight, bias


@dataclass(frozen=True)
class Prediction:
    """One model's reading of a text."""

    label: str
    probabilities: np.ndarray  # (classes,)
    pooled: np.ndarray  # (hidden,) the mean-pooled sentence vector the head reads
    n_pieces: int  # wordpieces of the text, [CLS]/[SEP] included, before truncation
    max_len: int


def _encode(tokenizer: Any, text: str, max_len: int, device: torch.device):
    pieces = len(tokenizer(text, truncation=False)["input_ids"])
    encoded = tokenizer([text], truncation=True, max_length=max_len, return_tensors="pt")
    return encoded["input_ids"].to(device), encoded["attention_mask"].to(device), pieces


@st.cache_data(max_entries=256, show_spinner=False)
def _adapted_prediction(
    name: str, sha: str, root: str, device: str, text: str, max_len: int, label: str
) -> Prediction:
    model = _adapted(name, sha, root, device)
    ids, mask, pieces = _encode(_base(device).tokenizer, text, max_len, torch.device(device))
    with torch.no_grad():
        out = model(ids, mask)
    probabilities = out.logits.softmax(-1)[0].cpu().numpy()  # (classes,)
    return Prediction(label, probabilities, out.pooled[0].cpu().numpy(), pieces, max_len)


@st.cache_data(max_entries=256, show_spinner=False)
def _probe_prediction(
    name: str, sha: str, root: str, device: str, text: str, max_len: int, label: str
) -> Prediction:
    base = _base(device)
    weight, bias = _probe_head(name, sha, root, device)
    ids, mask, pieces = _encode(base.tokenizer, text, max_len, torch.device(device))
    with torch.no_grad():
        pooled = base.model(ids, mask).pooled  # (1, hidden): the frozen encoder
        probabilities = F.linear(pooled, weight, bias).softmax(-1)[0].cpu().numpy()
    return Prediction(label, probabilities, pooled[0].cpu().numpy(), pieces, max_len)


def _run_key(sweep: Sweep, kind: str, rank: int | None, seed: int) -> tuple[str, str, str]:
    name = sweep.run_name(kind, rank, seed)
    if name is None:
        what = f"r={rank}" if kind == "lora" else kind
        raise CheckpointError(f"The sweep '{sweep.name}' has no {what} run with seed {seed}.")
    root = checkpoint_root()
    sha = read_card(name, root).get("weights_sha256", "")
    return name, sha, str(root)


def adapted_prediction(
    rank: int, seed: int, text: str, device: str = "cpu", sweep: Sweep | None = None
) -> Prediction:
    """The MR prediction of MiniLM with the (rank, seed) adapter merged into a cached copy."""
    sweep = sweep or _require(load_sweep())
    name, sha, root = _run_key(sweep, "lora", rank, seed)
    label = f"LoRA r={rank} (seed {seed})"
    return _adapted_prediction(name, sha, root, str(device), text, sweep.max_len, label)


def probe_prediction(
    seed: int, text: str, device: str = "cpu", sweep: Sweep | None = None
) -> Prediction:
    """The frozen base encoder with the linear probe's head: the 'base model' to compare with."""
    sweep = sweep or _require(load_sweep())
    name, sha, root = _run_key(sweep, "probe", None, seed)
    label = f"Frozen MiniLM + probe (seed {seed})"
    return _probe_prediction(name, sha, root, str(device), text, sweep.max_len, label)


def _require(loaded):
    if isinstance(loaded, Exception):
        raise loaded
    return loaded


@dataclass(frozen=True)
class Change:
    """How the adapter changed the reading of a text against the frozen encoder + probe."""

    delta: np.ndarray  # (classes,) adapted - probe probabilities
    flipped: bool  # the predicted class differs
    cosine: float  # cosine of the two pooled sentence vectors
    relative_shift: float  # ||pooled_lora - pooled_base|| / ||pooled_base||


def prediction_change(adapted: Prediction, base: Prediction) -> Change:
    a, b = adapted.pooled.astype(np.float64), base.pooled.astype(np.float64)
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return Change(
        delta=adapted.probabilities - base.probabilities,
        flipped=int(adapted.probabilities.argmax()) != int(base.probabilities.argmax()),
        cosine=float(a @ b / norm) if norm > 0 else float("nan"),
        relative_shift=float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12)),
    )


# ---- the live sweep ------------------------------------------------------------------------------

LIVE_SWEEP_LABEL = "a live LoRA sweep"


@dataclass(frozen=True)
class LiveBusy:
    """Someone else's heavy job (a sweep, a data-set attribution) holds the server's one slot."""

    owner: str
    since: float  # time.time() when it started
    label: str = LIVE_SWEEP_LABEL
    waiting: int = 0

    def message(self) -> str:
        started = time.strftime("%H:%M:%S", time.localtime(self.since))
        minutes = (time.time() - self.since) / 60
        what = "A sweep" if self.label == LIVE_SWEEP_LABEL else f"Heavy work ({self.label})"
        queued = f"; {self.waiting} more waiting" if self.waiting else ""
        return (
            f"{what} is already running on this server, started by {self.owner} at {started} "
            f"({minutes:.0f} min ago{queued}). One heavy job runs at a time: wait for it to "
            "finish, then start yours."
        )


def _busy(ticket: Ticket) -> LiveBusy:
    return LiveBusy(ticket.owner, ticket.since, ticket.label, HEAVY_LINE.waiting())


def acquire_live_sweep(owner: str) -> LiveBusy | None:
    """Take the server's heavy-work slot without waiting: None when taken, else who holds it."""
    # the same line as every other heavy job (``nlpviz.ui.heavy.heavy_turn``), without waiting
    if HEAVY_LINE.try_hold(owner, LIVE_SWEEP_LABEL) is not None:
        return None
    running = HEAVY_LINE.running()
    return _busy(running) if running is not None else LiveBusy("another visitor", time.time())


def release_live_sweep(owner: str) -> None:
    """Give the slot back (only its holder does)."""
    HEAVY_LINE.release_held(owner)


def live_sweep_holder() -> LiveBusy | None:
    running = HEAVY_LINE.running()
    return _busy(running) if running is not None else None


def live_training_disabled() -> bool:
    return heavy_work_disabled()


@dataclass(frozen=True)
class LiveLimits:
    """What the live-sweep controls allow on this device."""

    ranks: tuple[int, ...]
    max_ranks: int
    train_sizes: tuple[int, int, int]  # min, max, default sentences
    eval_size: int | None  # dev and test sentences (None: the whole splits)
    max_epochs: int
    max_seeds: int
    full_default: bool
    note: str


def live_limits(device: str | torch.device) -> LiveLimits:
    if torch.device(device).type == "cuda":
        return LiveLimits(
            LIVE_RANKS, len(LIVE_RANKS), (200, 8000, 8000), None, 3, 3,
            True,
            "On a GPU the live sweep may be the full size: every rank, the whole training "
            "split (up to 8,000 sentences), up to 3 epochs and 3 seeds.",
        )  # fmt: skip
    return LiveLimits(
        LIVE_RANKS, 3, (100, 600, 300), 200, 1, 1, False,
        "On a CPU the live sweep is kept small (up to 3 ranks, 600 training sentences, "
        "200 dev and 200 test sentences, 1 epoch, 1 seed) so it ends in minutes on a shared "
        "server; `nlpviz train lora-sweep` runs the real one.",
    )  # fmt: skip


def live_recipe(
    ranks: tuple[int, ...],
    train_limit: int,
    epochs: int,
    seeds: tuple[int, ...],
    include_full: bool,
    include_probe: bool,
    limits: LiveLimits,
) -> sweep_lib.SweepRecipe:
    """The live sweep's recipe, clamped to ``limits`` (ValueError for a bad rank)."""
    if not ranks:
        raise ValueError("choose at least one rank")
    ranks = tuple(sorted(set(int(r) for r in ranks)))[: limits.max_ranks]
    low, high, _ = limits.train_sizes
    return replace(
        sweep_lib.SweepRecipe(),
        ranks=ranks,
        seeds=tuple(seeds)[: limits.max_seeds] or (1,),
        prefix=LIVE_PREFIX,
        include_full=include_full,
        include_probe=include_probe,
        epochs=max(1, min(int(epochs), limits.max_epochs)),
        train_limit=max(low, min(int(train_limit), high)),
        eval_limit=limits.eval_size,
    )


class LiveFolder:
    """A temporary checkpoint root for a session's live sweeps (never ``checkpoints/``).

    Removed by :meth:`remove` (a finished sweep: :func:`finish_live_sweep` keeps its results in
    memory), else when this object is dropped: it lives in the session's state, which
    Streamlit drops some time after the visitor leaves, or at the latest when the server exits.
    A stopped sweep's folder stays until then, so starting again continues from its runs.
    """

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="nlpviz-lora-live-"))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.path), True)

    def remove(self) -> None:
        self._finalizer()

    @property
    def exists(self) -> bool:
        return self.path.is_dir()


_FOLDER_KEY, _RESULTS_KEY = "lora_live_root", "lora_live_results"


def live_folder(create: bool = False) -> Path | None:
    """This session's live-sweep folder (:class:`LiveFolder`), made on the first start; None
    before that and after a finished sweep removed it."""
    folder = st.session_state.get(_FOLDER_KEY)
    if isinstance(folder, LiveFolder) and folder.exists:
        return folder.path
    if not create:
        return None
    folder = LiveFolder()
    st.session_state[_FOLDER_KEY] = folder
    return folder.path


def finish_live_sweep(root: Path) -> Sweep | None:
    """A finished sweep's results read into memory, then its folder (a checkpoint per run,
    tens of MB each) removed."""
    try:
        return load_live(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def keep_live_results() -> None:
    """After a finished sweep: keep its results in the session, remove its folder."""
    folder = st.session_state.pop(_FOLDER_KEY, None)
    if isinstance(folder, LiveFolder):
        st.session_state[_RESULTS_KEY] = finish_live_sweep(folder.path)
        folder.remove()


def live_results() -> Sweep | None:
    """The session's sweep to show: a stopped one from its folder, else the last finished one."""
    folder = live_folder()
    live = load_live(folder) if folder is not None else None
    return live if live is not None else st.session_state.get(_RESULTS_KEY)


@st.cache_resource(show_spinner=False, max_entries=1)
def _base_provenance() -> dict:
    from nlpviz.data.sources import provenance

    directory = _base("cpu").directory
    source = provenance(
        sweep_lib.BASE_DISTRIBUTION, directory / "model.safetensors", directory.parent
    )
    source["model"] = sweep_lib.BASE_MODEL
    return source


@st.cache_resource(show_spinner="Reading the MR-like corpus…", max_entries=1)
def _task_data(split_seed: int):
    from nlpviz.data.rotten import load_task

    return load_task("mr", split_seed)


def live_backbone() -> sweep_lib.Backbone:
    """A private copy of the base for training (the shared one is never trained or moved)."""
    base = _base("cpu")
    tokenizer = base.tokenizer

    def tokenize(texts: list[str], max_len: int) -> list[list[int]]:
        return list(tokenizer(texts, truncation=True, max_length=max_len)["input_ids"])

    return sweep_lib.Backbone(
        copy.deepcopy(base.model), tokenize, int(tokenizer.pad_token_id or 0), _base_provenance()
    )


@dataclass
class LiveRun:
    """A prepared live sweep: its recipe, data, private backbone and the time estimate."""

    recipe: sweep_lib.SweepRecipe
    device: torch.device
    root: Path
    backbone: sweep_lib.Backbone
    data: Any
    estimate: dict


def prepare_live_sweep(
    recipe: sweep_lib.SweepRecipe, device: str | torch.device, root: Path
) -> LiveRun:
    """Load the data, copy the base and time a few real steps (``estimate_seconds``) for the
    runs still missing in ``root``.

    Raises:
        nlpviz.data.sources.MissingTrainingData: the corpus package is not installed.
    """
    device = torch.device(device)
    data = _task_data(recipe.split_seed)
    backbone = live_backbone()
    task = sweep_lib.encode_task(data, backbone, recipe)
    key = sweep_lib.recipe_key(recipe, backbone, data.provenance)
    pending = [
        s
        for s in sweep_lib.planned_runs(recipe)
        if sweep_lib._existing_run(s.name(recipe.prefix), key, root) is None
    ]
    estimate = sweep_lib.estimate_seconds(pending, recipe, backbone, task, device)
    return LiveRun(recipe, device, root, backbone, data, estimate)


def run_live_sweep(run: LiveRun, progress: Callable[[float, str], None]) -> dict:
    """Run the prepared sweep; ``progress(fraction, run name)`` is fed from the estimate's
    per-run seconds. Finished runs stay in ``run.root`` when it is interrupted."""
    per_run = run.estimate.get("per_run_s", {})
    total = max(sum(per_run.values()), 1e-9)
    finished: set[str] = set()

    def report(name: str, step: int, steps: int) -> None:
        done = sum(per_run.get(n, 0.0) for n in finished)
        fraction = (done + per_run.get(name, 0.0) * step / max(steps, 1)) / total
        if step >= steps:
            finished.add(name)
        progress(min(max(fraction, 0.0), 1.0), name)

    command = "the LoRA page's live sweep (nlpviz.ui.lora.run_live_sweep)"
    return sweep_lib.run_sweep(
        LIVE_NAME,
        run.recipe,
        run.device,
        command,
        backbone=run.backbone,
        data=run.data,
        root=run.root,
        progress=report,
        estimate=False,
    )


def load_live(root: Path) -> Sweep | None:
    """The live sweep's results in this session's folder (partial after a stop), if any."""
    loaded = load_sweep(LIVE_NAME, root)
    return None if isinstance(loaded, CheckpointError) else loaded
