"""Save, load and verify checkpoints: the one module that touches files under ``checkpoints/``.

A checkpoint is a folder ``checkpoints/<name>/`` holding ``model.safetensors`` (never a pickle),
``card.json`` (config, provenance, metrics, the command that rebuilds it, a sha256 per file) and
any small side files (vocabulary, precomputed tables). Loading verifies every sha256 listed in the
card, so a truncated or edited file is refused with a message naming the file and the command.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from nlpviz import registry, settings

WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "card.json"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt or does not match the code that reads it."""


def checkpoint_root() -> Path:
    """Folder that holds all checkpoints (``NLPVIZ_CHECKPOINTS`` overrides the repository's)."""
    return settings.checkpoints_dir()


def train_command(name: str) -> str:
    """The command that rebuilds checkpoint ``name``, as the registry (and so the CLI) knows it."""
    return registry.rebuild_command(name)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class RunRecord:
    """How a checkpoint was built: the command that rebuilds it, its seed, device and wall time."""

    command: str
    seed: int
    device: str
    wall_time_s: float
    extras: dict[str, Any] = field(default_factory=dict)  # threads, versions, per-family timings


@dataclass(frozen=True)
class PaperFigure:
    """The paper's own figure for the metric the card reports, and where the paper prints it."""

    metric: str
    value: float | None  # None where the paper quotes no number for this setting
    source: str
    extras: dict[str, Any] = field(default_factory=dict)


# JSON kinds a card field may hold; a JSON true/false is never a number here
_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "text": ((str,), "a string"),
    "integer": ((int,), "an integer"),
    "number": ((int, float), "a number"),
    "mapping": ((dict,), "a JSON object"),
    "list": ((list,), "a list"),
}
# the fields with a typed attribute on Card; every other top-level field is in Card.extras
_TYPED = (
    "name",
    "family",
    "files",
    "weights_sha256",
    "paper",
    "title",
    "config",
    "data",
    "recipe",
    "run",
    "metrics",
    "paper_figure",
    "history",
)


class _Fields:
    """Reads typed fields out of one JSON object and collects every problem, not only the first."""

    def __init__(self, problems: list[str]):
        self.problems = problems

    def read(
        self, raw: dict[str, Any], key: str, kind: str, required: bool = False, path: str = ""
    ) -> Any:
        value = raw.get(key)
        if value is None:
            if required:
                self.problems.append(f"'{path}{key}' is missing")
            return None
        types, wanted = _KINDS[kind]
        if isinstance(value, bool) or not isinstance(value, types):
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            self.problems.append(f"'{path}{key}' should be {wanted}, not {shown}")
            return None
        return value

    def record(
        self, raw: dict[str, Any], key: str, cls: type, kinds: dict[str, tuple[str, bool]]
    ) -> Any:
        """``raw[key]`` as ``cls`` (fields named in ``kinds``, the rest in ``extras``), or None."""
        value = self.read(raw, key, "mapping")
        if value is None:
            return None
        typed = {
            name: self.read(value, name, kind, required, f"{key}.")
            for name, (kind, required) in kinds.items()
        }
        return cls(**typed, extras={k: v for k, v in value.items() if k not in kinds})


# field -> (kind, required) of the records inside a card
_RUN_FIELDS = {
    "command": ("text", True),
    "seed": ("integer", True),
    "device": ("text", True),
    "wall_time_s": ("number", True),
}
_FIGURE_FIELDS = {"metric": ("text", True), "value": ("number", False), "source": ("text", True)}


@dataclass(frozen=True, eq=False)
class Card(Mapping[str, Any]):
    """A checkpoint's ``card.json``, validated: the fields every card shares, typed.

    ``name``, ``family``, ``files`` and ``weights_sha256`` are required; the fields that judge a
    trained model (``paper``, ``run``, ``metrics``, ``paper_figure``, ...) are checked for their
    type where present (every committed card has them; a card written by a test may not).
    Family-specific fields stay plain JSON in ``extras``. The card still reads as the mapping it
    was loaded from (``card["metrics"]``), so code written against plain dicts keeps working.
    """

    name: str
    family: str
    files: dict[str, str]
    weights_sha256: str
    paper: str | None
    title: str | None
    config: dict[str, Any] | None
    data: dict[str, Any]
    recipe: dict[str, Any]
    run: RunRecord | None
    metrics: dict[str, Any]
    paper_figure: PaperFigure | None
    history: list[dict[str, Any]] | None
    extras: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    @classmethod
    def from_json(cls, raw: Any, where: Path | str, name: str) -> Card:
        """Validate a parsed ``card.json``.

        Args:
            raw: The parsed JSON.
            where: The card's path, named in the error.
            name: The checkpoint's name, for the rebuild command in the error.

        Raises:
            CheckpointError: naming the card, every missing or mistyped field and the command.
        """
        rebuild = f"Rebuild it with `{train_command(name)}`."
        if not isinstance(raw, dict):
            raise CheckpointError(f"{where} is not a JSON object. {rebuild}")
        problems: list[str] = []
        fields = _Fields(problems)
        files = fields.read(raw, "files", "mapping", required=True)
        if files is not None and not all(isinstance(v, str) for v in files.values()):
            problems.append("'files' should map each file name to its sha256 text")
        run = fields.record(raw, "run", RunRecord, _RUN_FIELDS)
        figure = fields.record(raw, "paper_figure", PaperFigure, _FIGURE_FIELDS)
        history = fields.read(raw, "history", "list")
        if history is not None and not all(isinstance(h, dict) for h in history):
            problems.append("'history' should be a list of JSON objects")
        card = cls(
            name=fields.read(raw, "name", "text", required=True),
            family=fields.read(raw, "family", "text", required=True),
            files=files,
            weights_sha256=fields.read(raw, "weights_sha256", "text", required=True),
            paper=fields.read(raw, "paper", "text"),
            title=fields.read(raw, "title", "text"),
            config=fields.read(raw, "config", "mapping"),
            data=fields.read(raw, "data", "mapping") or {},
            recipe=fields.read(raw, "recipe", "mapping") or {},
            run=run,
            metrics=fields.read(raw, "metrics", "mapping") or {},
            paper_figure=figure,
            history=history,
            extras={k: v for k, v in raw.items() if k not in _TYPED},
            raw=raw,
        )
        if problems:
            raise CheckpointError(
                f"{where} does not hold a valid card: {'; '.join(problems)}. {rebuild}"
            )
        return card


@dataclass(frozen=True)
class Checkpoint:
    """A verified checkpoint: its card, its tensors (on the CPU) and its side files."""

    name: str
    directory: Path
    card: Card
    tensors: dict[str, torch.Tensor] = field(repr=False)

    def read_json(self, filename: str) -> Any:
        """Read a verified JSON side file of this checkpoint."""
        if filename not in self.card.files:
            raise CheckpointError(
                f"{self.directory / filename} is not listed in the card of '{self.name}'; "
                f"rebuild it with `{train_command(self.name)}`"
            )
        with open(self.directory / filename, encoding="utf-8") as handle:
            return json.load(handle)


def _to_storage(tensor: torch.Tensor, half: bool) -> torch.Tensor:
    tensor = tensor.detach().to("cpu").contiguous()
    if half and tensor.is_floating_point():
        tensor = tensor.to(torch.float16)
    return tensor


def save_checkpoint(
    name: str,
    tensors: dict[str, torch.Tensor],
    card: dict[str, Any],
    side_files: dict[str, Any] | None = None,
    root: Path | None = None,
    half: bool = True,
) -> Path:
    """Write a checkpoint atomically and return its folder.

    The folder is assembled in a temporary directory beside the target and renamed into place,
    so a reader never sees a half-written checkpoint.

    Args:
        name: Checkpoint name (folder name).
        tensors: State dict to store; floating tensors are stored as float16 when ``half``.
        card: JSON-serialisable card; ``files`` and ``weights_sha256`` are filled in here.
        side_files: ``filename -> JSON-serialisable object`` (or raw ``bytes``) written next to
            the weights.
        root: Checkpoint root (defaults to :func:`checkpoint_root`).
        half: Store floating tensors in float16 to keep the repository small.
    """
    root = Path(root) if root is not None else checkpoint_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / name
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        staging.chmod(0o755)
        stored = {key: _to_storage(value, half) for key, value in tensors.items()}
        save_file(stored, str(staging / WEIGHTS_FILE), metadata={"name": name})
        files = {WEIGHTS_FILE: sha256_file(staging / WEIGHTS_FILE)}
        for filename, payload in (side_files or {}).items():
            if isinstance(payload, bytes):  # a tokenizer model, stored as it is
                (staging / filename).write_bytes(payload)
            else:
                with open(staging / filename, "w", encoding="utf-8") as handle:
                    json.dump(payload, handle, ensure_ascii=False, separators=(",", ":"))
            files[filename] = sha256_file(staging / filename)
        full_card = dict(card, name=name, files=files, weights_sha256=files[WEIGHTS_FILE])
        with open(staging / CARD_FILE, "w", encoding="utf-8") as handle:
            json.dump(full_card, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
        # safetensors writes its file 0600; the app's server may run as another user
        for written in staging.iterdir():
            written.chmod(0o644)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def read_card(name: str, root: Path | None = None) -> Card:
    """Read and validate a checkpoint's card without verifying or loading weights (listings)."""
    directory = (Path(root) if root is not None else checkpoint_root()) / name
    card_path = directory / CARD_FILE
    if not card_path.is_file():
        raise CheckpointError(
            f"No checkpoint '{name}' at {directory}. Build it with `{train_command(name)}`."
        )
    try:
        with open(card_path, encoding="utf-8") as handle:
            card = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(
            f"{card_path} is unreadable ({error}). Rebuild it with `{train_command(name)}`."
        ) from error
    return Card.from_json(card, card_path, name)


def load_checkpoint(name: str, root: Path | None = None, family: str | None = None) -> Checkpoint:
    """Load and verify a checkpoint.

    Raises:
        CheckpointError: the folder or a file is missing, a sha256 differs from the card, the
            weights cannot be parsed, or the card's family is not ``family``.
    """
    directory = (Path(root) if root is not None else checkpoint_root()) / name
    card = read_card(name, root)
    command = train_command(name)
    if family is not None and card.family != family:
        raise CheckpointError(
            f"{directory / CARD_FILE} describes a '{card.family}' model, not '{family}'. "
            f"Rebuild it with `{command}`."
        )
    for filename, expected in card.files.items():
        path = directory / filename
        if not path.is_file():
            raise CheckpointError(f"{path} is missing. Rebuild it with `{command}`.")
        actual = sha256_file(path)
        if actual != expected:
            raise CheckpointError(
                f"{path} does not match its card (sha256 {actual[:12]}... != {expected[:12]}...): "
                f"the file is corrupt or was changed. Rebuild it with `{command}`."
            )
    if WEIGHTS_FILE not in card.files:
        raise CheckpointError(f"{directory} lists no {WEIGHTS_FILE}. Rebuild it with `{command}`.")
    try:
        tensors = load_file(str(directory / WEIGHTS_FILE))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(
            f"{directory / WEIGHTS_FILE} cannot be read ({error}). Rebuild it with `{command}`."
        ) from error
    return Checkpoint(name=name, directory=directory, card=card, tensors=tensors)


def load_state_into(model: torch.nn.Module, checkpoint: Checkpoint) -> torch.nn.Module:
    """Copy a checkpoint's tensors into ``model`` (strictly), upcasting float16 storage."""
    own = model.state_dict()
    mismatched = [
        f"{key}: checkpoint {tuple(value.shape)} vs model {tuple(own[key].shape)}"
        for key, value in checkpoint.tensors.items()
        if key in own and tuple(own[key].shape) != tuple(value.shape)
    ]
    missing = sorted(set(own) - set(checkpoint.tensors))
    unexpected = sorted(set(checkpoint.tensors) - set(own))
    if mismatched or missing or unexpected:
        problems = "; ".join(
            mismatched
            + ([f"missing {missing[:3]}"] if missing else [])
            + ([f"unexpected {unexpected[:3]}"] if unexpected else [])
        )
        raise CheckpointError(
            f"{checkpoint.directory / WEIGHTS_FILE} does not fit the model its card describes "
            f"({problems}). Rebuild it with `{train_command(checkpoint.name)}`."
        )
    converted = {
        key: value.to(own[key].dtype) if value.is_floating_point() else value
        for key, value in checkpoint.tensors.items()
    }
    model.load_state_dict(converted, strict=True)
    return model


M = TypeVar("M", bound=torch.nn.Module)


def model_from_card(
    model_class: Callable[[Any], M],
    config_class: Callable[..., Any],
    checkpoint: Checkpoint,
    what: str,
) -> M:
    """``model_class(config_class(**card["config"]))`` with the checkpoint's weights, in eval mode.

    A card whose config does not fit ``config_class`` is a :class:`CheckpointError` naming the
    card and the command that rebuilds it, like every other damaged checkpoint; ``what`` names
    the model in that message.
    """
    try:
        config = config_class(**checkpoint.card["config"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(
            f"{checkpoint.directory / 'card.json'} has no valid {what} config ({error}). "
            f"Rebuild it with `{train_command(checkpoint.name)}`."
        ) from error
    model = model_class(config)
    load_state_into(model, checkpoint)
    return model.eval()
