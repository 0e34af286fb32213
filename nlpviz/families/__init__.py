"""One record per model family: its papers, pages, checkpoints, loader and attribution entries.

Each module in this package exports ``FAMILY``; :mod:`nlpviz.registry` collects them, and the CLI,
the loaders, the attribution workbench and the pages read their names from there. A record holds
plain data and references: training code and models are imported only when a checkpoint is
trained or loaded, so the Streamlit pages that read the registry stay quick to import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

# (spec, device, seed, command) -> the card written; imports its training code when called
TrainEntry = Callable[["CheckpointSpec", "torch.device", int, str], dict]


@dataclass(frozen=True)
class CheckpointSpec:
    """One checkpoint nlpviz can train: ``checkpoints/<name>/`` and ``nlpviz train <name>``."""

    name: str
    task: str  # the family's task key ("mr", "news", "wnut-ner", "music", ...)
    variant: str  # the family's variant key ("non-static", "flat_gru", "blstm-cnn-crf", ...)
    label: str  # what the pages call it
    description: str  # what ``nlpviz list`` says about it
    train: TrainEntry
    card_family: str  # the card's "family" field
    model_class: str | None = None  # "module:Class" with ``from_checkpoint``, for ui.loaders
    sweep: str | None = None  # the sweep checkpoint whose rows list this run
    seed: int | None = None  # a seed fixed by the name (a sweep's run): --seed cannot change it

    @property
    def rebuild(self) -> str:
        """The command that rebuilds this checkpoint (the CLI accepts every spec's name)."""
        return f"nlpviz train {self.name}"


# (name, task, variant, label, description): the fields that differ between a family's checkpoints
Row = tuple[str, str, str, str, str]


def specs(
    rows: Iterable[Row], train: TrainEntry, **shared: str | None
) -> tuple[CheckpointSpec, ...]:
    """A family's checkpoints, in the order of ``rows``.

    A family's checkpoints share their trainer and most other fields; written once, the fields
    cannot drift apart between the checkpoints of one family.
    """
    return tuple(CheckpointSpec(*row, train=train, **shared) for row in rows)


@dataclass(frozen=True)
class Explained:
    """A checkpoint the attribution workbench offers, and how it reads a text."""

    name: str  # a checkpoint of the same family
    adapter: str  # the workbench's reader: "kim_cnn", "han", "flat", "minilm" or "tagger"
    label: str
    task: str  # what the classes are


@dataclass(frozen=True)
class Family:
    """A model family: the papers it reproduces, its pages and everything it trains."""

    key: str
    papers: tuple[str, ...]  # keys of nlpviz.papers.PAPERS
    pages: tuple[str, ...]  # paths under pages/
    checkpoints: tuple[CheckpointSpec, ...]
    loader: str | None  # "module:function" the family's pages load checkpoints with
    attribution: tuple[Explained, ...] = ()  # in the workbench's order
    claims: tuple[Any, ...] = ()

    def spec(self, **keys: str) -> CheckpointSpec:
        """The one checkpoint whose fields equal ``keys`` (e.g. ``task="mr", variant="rand"``)."""
        found = [s for s in self.checkpoints if all(getattr(s, k) == v for k, v in keys.items())]
        if len(found) != 1:
            raise KeyError(f"{self.key}: {len(found)} checkpoints match {keys}")
        return found[0]
