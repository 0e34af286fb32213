"""Training the tanh RNN, GRU and LSTM of Chung et al. (2014) on the chorales and on news text.

Both tasks give the three cells the same parameter budget (the paper's setting: roughly equal
parameter counts, Section 4.2), the same optimiser, seed, batches and number of updates, and
record learning curves against updates/epochs and against wall-clock seconds (the paper's
Figures 2-3 plot both). The fused PyTorch kernels train the very parameters the explicit cells
of :mod:`nlpviz.models.gated_rnn` read (``fused_rnn``; the parity tests prove they agree).

* ``music`` (``chorales-*``): piano rolls of the Bach chorales; each piece is read from a silent
  frame, so every frame x_1..x_T is predicted from the frames before it; loss = negative
  log-likelihood per frame with independent sigmoid notes (``frame_nll``). Mini-batches of
  pieces; the epoch with the best validation NLL is kept; test NLL is measured once, on the
  float16 weights that are stored.
* ``chars`` (``chars-*``): news articles as one character stream, read by 32 parallel streams
  in windows of 100 characters with the state carried across windows (truncated BPTT); held-out
  bits per character on the valid text every ``eval_every`` updates; test bits per character of
  the stored weights at the end.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from nlpviz.checkpoints import read_card, save_checkpoint
from nlpviz.models.gated_rnn import (
    GatedRNNConfig,
    SequenceModel,
    bits_per_char,
    frame_nll,
    fused_rnn,
    parameter_count,
    units_for_budget,
)
from nlpviz.train.common import (
    Plateau,
    load_as_stored,
    run_record,
    seed_everything,
    snapshot,
    stopwatch,
)

log = logging.getLogger(__name__)

PAPER = (
    "Chung, Gulcehre, Cho and Bengio (2014), Empirical Evaluation of Gated Recurrent Neural "
    "Networks on Sequence Modeling (arXiv:1412.3555)"
)
# Checked against a public record of the paper's results (Papers with Code, 'Music Modeling on
# JSB Chorales': GRU, NLL 8.54); the tanh and LSTM entries of the same table could not be checked
# here, so they are not quoted.
PAPER_FIGURE_MUSIC = {
    "metric": "test negative log-likelihood per frame (nats), JSB Chorales",
    "value": 8.54,
    "cell": "gru",
    "source": "Chung et al. (2014), Table 2, JSB Chorales, GRU (as listed by Papers with Code); "
    "their JSB set is Boulanger-Lewandowski et al.'s 382-chorale piano rolls, ours the 371 "
    "chorales of music21's corpus, so the numbers are comparable in kind, not exactly",
}
PAPER_FIGURE_CHARS = {
    "metric": "bits per character",
    "value": None,
    "source": "Chung et al. (2014) report no text task; the comparison here is ours",
}
HELDOUT_FILE = "heldout.json"
VOCAB_FILE = "vocab.json"
CELL_TITLES = {"tanh": "tanh RNN", "gru": "GRU", "lstm": "LSTM"}
# what both tasks' cards say about how every cell was trained, after each task's own notes
RECIPE_NOTES = {
    "kernel": "torch.nn fused kernel on the same parameters as the explicit cells",
    "initialisation": "PyTorch's U(-1/sqrt(H), 1/sqrt(H)); LSTM forget-gate input bias 1",
    "time_axes": "wall_s: wall-clock training seconds; cpu_s: the process's CPU seconds "
    "(one thread), the fairer clock on a shared machine",
    "storage": "float16",
}


@dataclass(frozen=True)
class MusicRecipe:
    cell: str
    budget: int = 20_000  # parameters of each model (units solved per cell)
    epochs: int = 300  # about 0.2-0.4 s an epoch on one CPU thread
    patience: int = 50
    batch_size: int = 8
    lr: float = 2e-3
    clip_norm: float = 1.0
    split_seed: int = 7
    heldout_pieces: int = 6
    dropout: float = 0.0  # on the hidden units feeding the read-out, training only


@dataclass(frozen=True)
class CharRecipe:
    cell: str
    budget: int = 100_000
    embed_dim: int = 32
    updates: int = 60_000  # a cap: training stops once validation stops improving
    eval_every: int = 500
    patience: int = 4  # evaluations without a new best validation bpc before a cut or a stop
    lr_decays: int = 3  # halvings of the learning rate before a stall stops training
    batch_size: int = 32
    window: int = 100
    lr: float = 3e-3
    clip_norm: float = 1.0
    min_count: int = 20
    split_seed: int = 13


def _pad_rolls(rolls: list[np.ndarray], n_pitches: int):
    """Inputs (silent frame + frames[:-1]), targets (frames), mask; each (batch, T_max, ...)."""
    longest = max(len(r) for r in rolls)
    inputs = torch.zeros(len(rolls), longest, n_pitches)
    targets = torch.zeros(len(rolls), longest, n_pitches)
    mask = torch.zeros(len(rolls), longest, dtype=torch.bool)
    for row, roll in enumerate(rolls):
        frames = torch.as_tensor(roll, dtype=torch.float32)
        targets[row, : len(roll)] = frames
        inputs[row, 1 : len(roll)] = frames[:-1]
        mask[row, : len(roll)] = True
    return inputs, targets, mask


@torch.no_grad()
def music_nll(
    model: SequenceModel, rolls: list[np.ndarray], device: torch.device, batch: int = 32
) -> float:
    """Mean NLL per frame (nats) over all frames of ``rolls`` (fused kernel)."""
    model.eval()
    rnn = fused_rnn(model.rnn)
    total, frames = 0.0, 0
    order = np.argsort([len(r) for r in rolls])
    for start in range(0, len(rolls), batch):
        chunk = [rolls[i] for i in order[start : start + batch]]
        inputs, targets, mask = (t.to(device) for t in _pad_rolls(chunk, model.config.n_inputs))
        logits, _ = model.fast_logits(inputs, rnn)
        n = int(mask.sum())
        total += float(frame_nll(logits, targets, mask)) * n
        frames += n
    return total / frames


def _roll_to_json(roll: np.ndarray) -> list[list[int]]:
    return [np.nonzero(frame)[0].tolist() for frame in roll]


def train_music(
    name: str, recipe: MusicRecipe, device: torch.device, seed: int, command: str
) -> dict:
    """Train one cell on the chorales; save ``checkpoints/<name>/`` and return its card."""
    from nlpviz.data.chorales import HIGH_PITCH, LOW_PITCH, N_PITCHES, load_chorales

    data = load_chorales(recipe.split_seed)
    generator = seed_everything(seed)
    hidden = units_for_budget(recipe.cell, "music", N_PITCHES, recipe.budget)
    config = GatedRNNConfig(cell=recipe.cell, task="music", n_inputs=N_PITCHES, hidden=hidden)
    model = SequenceModel(config).to(device)
    rnn = fused_rnn(model.rnn)
    optimiser = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    history: list[dict] = []
    best = (math.inf, 0, None)
    lengths = np.asarray([len(r) for r in data.train])
    with stopwatch() as clock:
        start = time.perf_counter()
        train_seconds = cpu_seconds = 0.0
        initial = music_nll(model, data.valid, device)
        history.append(
            {
                "epoch": 0,
                "wall_s": 0.0,
                "cpu_s": 0.0,
                "train_nll": None,
                "valid_nll": round(initial, 4),
            }
        )
        for epoch in tqdm(range(1, recipe.epochs + 1), desc=name, unit="epoch"):
            tick, cpu_tick = time.perf_counter(), time.process_time()
            model.train()
            # pieces of similar length together, batches in a new random order every epoch
            jitter = torch.rand(len(lengths), generator=generator).numpy()
            order = np.argsort(lengths * (0.8 + 0.4 * jitter), kind="stable")
            batches = [
                order[i : i + recipe.batch_size] for i in range(0, len(order), recipe.batch_size)
            ]
            batches = [batches[i] for i in torch.randperm(len(batches), generator=generator)]
            total, frames = 0.0, 0
            for rows in batches:
                chunk = [data.train[i] for i in rows]
                inputs, targets, mask = (t.to(device) for t in _pad_rolls(chunk, N_PITCHES))
                logits, _ = model.fast_logits(inputs, rnn, dropout=recipe.dropout)
                loss = frame_nll(logits, targets, mask)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), recipe.clip_norm)
                optimiser.step()
                n = int(mask.sum())
                total += loss.item() * n
                frames += n
            train_seconds += time.perf_counter() - tick
            cpu_seconds += time.process_time() - cpu_tick
            valid = music_nll(model, data.valid, device)
            history.append(
                {
                    "epoch": epoch,
                    "wall_s": round(train_seconds, 2),
                    "cpu_s": round(cpu_seconds, 2),
                    "train_nll": round(total / frames, 4),
                    "valid_nll": round(valid, 4),
                }
            )
            if valid < best[0]:
                best = (valid, epoch, snapshot(model))
            elif epoch - best[1] >= recipe.patience:
                log.info("%s: no validation gain for %d epochs, stopping", name, recipe.patience)
                break
        log.info("%s: %.0f s", name, time.perf_counter() - start)

    load_as_stored(model, best[2])
    metrics = {
        "test_nll": round(music_nll(model, data.test, device), 4),
        "valid_nll": round(music_nll(model, data.valid, device), 4),
        "train_nll": round(music_nll(model, data.train, device), 4),
        "test_frames": data.provenance["frames"]["test"],
        "test_pieces": len(data.test),
        "parameters": parameter_count(recipe.cell, "music", N_PITCHES, hidden),
    }
    # a few held-out pieces for the page (test split, in the split's order)
    heldout = [
        {"name": n, "frames": _roll_to_json(r)}
        for n, r in zip(data.names["test"], data.test, strict=True)
        if 24 <= len(r) <= 200
    ][: recipe.heldout_pieces]
    card = {
        "family": "gated_rnn",
        "paper": PAPER,
        "title": f"{CELL_TITLES[recipe.cell]} on the Bach chorales",
        "task": "music",
        "cell": recipe.cell,
        "config": config.to_json(),
        "pitch_range": [LOW_PITCH, HIGH_PITCH],
        "heldout_file": HELDOUT_FILE,
        "data": {"corpus": data.provenance},
        "recipe": dict(
            asdict(recipe),
            optimizer=f"Adam(lr={recipe.lr}) (the paper: RMSProp with weight noise)",
            best_epoch=best[1],
            selection="the epoch with the lowest validation NLL",
            **RECIPE_NOTES,
        ),
        "run": run_record(device, clock["seconds"], command, seed),
        "metrics": metrics,
        "paper_figure": dict(PAPER_FIGURE_MUSIC),
        "history": history,
    }
    save_checkpoint(name, model.state_dict(), card, side_files={HELDOUT_FILE: heldout})
    log.info("%s: test NLL %.3f, %d params", name, metrics["test_nll"], metrics["parameters"])
    return read_card(name)


def _streams(ids: np.ndarray, batch: int) -> torch.Tensor:
    """(batch, length) parallel streams cut from one id sequence."""
    length = len(ids) // batch
    return torch.as_tensor(ids[: length * batch].reshape(batch, length))


@torch.no_grad()
def char_bpc(
    model: SequenceModel, ids: np.ndarray, device: torch.device, batch: int = 16, window: int = 500
) -> float:
    """Bits per character of predicting ids[1:] from ids[:-1] (state carried across windows)."""
    model.eval()
    rnn = fused_rnn(model.rnn)
    streams = _streams(ids, batch).to(device)
    state = None
    total, count = 0.0, 0
    for start in range(0, streams.shape[1] - 1, window):
        inputs = streams[:, start : start + window]
        targets = streams[:, start + 1 : start + window + 1]
        inputs = inputs[:, : targets.shape[1]]
        logits, state = model.fast_logits(inputs, rnn, state)
        n = targets.numel()
        total += float(bits_per_char(logits, targets)) * n
        count += n
    return total / count


def train_chars(
    name: str, recipe: CharRecipe, device: torch.device, seed: int, command: str
) -> dict:
    """Train one cell as a character-level LM on news; save ``checkpoints/<name>/``."""
    from nlpviz.data.chars import CharVocab, load_char_corpus

    data = load_char_corpus(recipe.split_seed)
    vocab = CharVocab.build(data.train, recipe.min_count)
    generator = seed_everything(seed)
    hidden = units_for_budget(recipe.cell, "chars", len(vocab), recipe.budget, recipe.embed_dim)
    config = GatedRNNConfig(
        cell=recipe.cell,
        task="chars",
        n_inputs=len(vocab),
        hidden=hidden,
        embed_dim=recipe.embed_dim,
    )
    model = SequenceModel(config).to(device)
    rnn = fused_rnn(model.rnn)
    optimiser = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    train_ids = vocab.encode(data.train)
    valid_ids, test_ids = vocab.encode(data.valid), vocab.encode(data.test)
    streams = _streams(train_ids, recipe.batch_size).to(device)  # (batch, length)
    # every stream starts at a random offset, so the windows differ from seed to seed
    shift = int(torch.randint(0, recipe.window, (1,), generator=generator))
    history: list[dict] = [
        {
            "update": 0,
            "chars_seen": 0,
            "wall_s": 0.0,
            "cpu_s": 0.0,
            "train_bpc": None,
            "valid_bpc": round(char_bpc(model, valid_ids, device), 4),
            "lr": recipe.lr,
        }
    ]
    best = (math.inf, 0, None)
    plateau = Plateau(recipe.patience, recipe.lr_decays)
    state = None
    position = shift
    running, running_n = 0.0, 0
    with stopwatch() as clock:
        train_seconds = cpu_seconds = 0.0
        bar = tqdm(total=recipe.updates, desc=name, unit="update")
        tick, cpu_tick = time.perf_counter(), time.process_time()
        for update in range(1, recipe.updates + 1):
            model.train()
            if position + recipe.window + 1 > streams.shape[1]:
                position, state = shift, None  # a new pass over the text
            inputs = streams[:, position : position + recipe.window]
            targets = streams[:, position + 1 : position + recipe.window + 1]
            position += recipe.window
            if state is not None:
                state = tuple(s.detach() for s in state)
            logits, state = model.fast_logits(inputs, rnn, state)
            loss = bits_per_char(logits, targets)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), recipe.clip_norm)
            optimiser.step()
            running += loss.item()
            running_n += 1
            bar.update(1)
            if update % recipe.eval_every == 0 or update == recipe.updates:
                train_seconds += time.perf_counter() - tick
                cpu_seconds += time.process_time() - cpu_tick
                valid = char_bpc(model, valid_ids, device)
                history.append(
                    {
                        "update": update,
                        "chars_seen": update * recipe.batch_size * recipe.window,
                        "wall_s": round(train_seconds, 2),
                        "cpu_s": round(cpu_seconds, 2),
                        "train_bpc": round(running / running_n, 4),
                        "valid_bpc": round(valid, 4),
                        # the rate of the updates before this check; a cut made here shows
                        # from the next row on
                        "lr": optimiser.param_groups[0]["lr"],
                    }
                )
                bar.set_postfix(valid_bpc=f"{valid:.3f}")
                running, running_n = 0.0, 0
                verdict = plateau.check(valid)
                if verdict == "best":
                    best = (valid, update, snapshot(model))
                elif verdict == "decay":
                    for group in optimiser.param_groups:
                        group["lr"] *= plateau.factor
                    log.info("%s: lr cut to %.3g", name, optimiser.param_groups[0]["lr"])
                elif verdict == "stop":
                    log.info("%s: no validation gain after %d cuts", name, recipe.lr_decays)
                    break
                tick, cpu_tick = time.perf_counter(), time.process_time()
        bar.close()

    load_as_stored(model, best[2])
    metrics = {
        "test_bpc": round(char_bpc(model, test_ids, device), 4),
        "valid_bpc": round(char_bpc(model, valid_ids, device), 4),
        "test_chars": len(test_ids),
        "parameters": parameter_count(recipe.cell, "chars", len(vocab), hidden, recipe.embed_dim),
        "unigram_bpc": round(_unigram_bpc(train_ids, test_ids, len(vocab)), 4),
    }
    card = {
        "family": "gated_rnn",
        "paper": PAPER,
        "title": f"{CELL_TITLES[recipe.cell]} character language model on news",
        "task": "chars",
        "cell": recipe.cell,
        "config": config.to_json(),
        "vocab_file": VOCAB_FILE,
        "data": {"corpus": data.provenance},
        "recipe": dict(
            asdict(recipe),
            optimizer=f"Adam(lr={recipe.lr})",
            best_update=best[1],
            selection=f"the lowest validation bits per character, checked every "
            f"{recipe.eval_every} updates; after {recipe.patience} checks without a new best "
            f"the learning rate is halved, and after {recipe.lr_decays} halvings the next such "
            "stall stops training",
            bptt=f"{recipe.batch_size} parallel streams, windows of {recipe.window} characters, "
            "state carried across windows",
            **RECIPE_NOTES,
        ),
        "run": run_record(device, clock["seconds"], command, seed),
        "metrics": metrics,
        "paper_figure": dict(PAPER_FIGURE_CHARS),
        "sample_text": data.test[:600],
        "history": history,
    }
    save_checkpoint(name, model.state_dict(), card, side_files={VOCAB_FILE: vocab.to_json()})
    log.info("%s: test %.3f bits/char, %d params", name, metrics["test_bpc"], metrics["parameters"])
    return read_card(name)


def _unigram_bpc(train_ids: np.ndarray, test_ids: np.ndarray, vocab_size: int) -> float:
    """Bits per character of the add-one unigram model: the floor a model must beat."""
    counts = np.bincount(train_ids, minlength=vocab_size).astype(np.float64) + 1.0
    probs = counts / counts.sum()
    return float(-np.log2(probs[test_ids]).mean())


def train_by_name(name: str, device: torch.device, seed: int, command: str) -> dict:
    """``chorales-<cell>`` or ``chars-<cell>`` with the default recipe (``nlpviz train NAME``)."""
    task, _, cell = name.partition("-")
    if cell not in CELL_TITLES or task not in ("chorales", "chars"):
        raise ValueError(f"no gated-RNN checkpoint named {name!r}")
    if task == "chorales":
        return train_music(name, MusicRecipe(cell=cell), device, seed, command)
    return train_chars(name, CharRecipe(cell=cell), device, seed, command)
