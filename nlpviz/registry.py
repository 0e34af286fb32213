"""Every model family nlpviz covers, in one list: the CLI, loaders, workbench and pages read it.

A new family is one module under :mod:`nlpviz.families` exporting ``FAMILY`` and one line in
:data:`FAMILIES` below. The order here is the order of ``nlpviz list`` and of the README's table.
Nothing here imports torch or streamlit: the records reference training code and loaders, which
are imported when a checkpoint is trained or loaded.
"""

from __future__ import annotations

from nlpviz.families import (
    CheckpointSpec,
    Explained,
    Family,
    encoders,
    gated_rnn,
    han,
    kim_cnn,
    lora,
    positional,
    tagger,
    translation,
)

FAMILIES: tuple[Family, ...] = (
    kim_cnn.FAMILY,
    han.FAMILY,
    tagger.FAMILY,
    encoders.FAMILY,
    lora.FAMILY,
    translation.FAMILY,
    gated_rnn.FAMILY,
    positional.FAMILY,
)
# pages that read several families at once (they belong to none)
SHARED_PAGES: tuple[str, ...] = ("pages/12_Attribution.py",)

CHECKPOINTS: dict[str, CheckpointSpec] = {
    spec.name: spec for family in FAMILIES for spec in family.checkpoints
}


def family(key: str) -> Family:
    """The family record called ``key`` (``"kim_cnn"``, ``"lora"``, ...)."""
    for found in FAMILIES:
        if found.key == key:
            return found
    raise KeyError(f"no model family {key!r}; known: {', '.join(f.key for f in FAMILIES)}")


def family_of(name: str) -> Family:
    """The family that trains checkpoint ``name``."""
    for found in FAMILIES:
        if any(spec.name == name for spec in found.checkpoints):
            return found
    raise KeyError(f"no family trains a checkpoint named {name!r}")


def rebuild_command(name: str) -> str:
    """The command that rebuilds checkpoint ``name`` (``nlpviz train NAME`` for every spec)."""
    spec = CHECKPOINTS.get(name)
    # a name outside the registry (a test's own checkpoint) keeps the CLI's usual form
    return spec.rebuild if spec is not None else f"nlpviz train {name}"


def model_classes() -> dict[str, str]:
    """Card family -> ``"module:Class"`` for the checkpoints the shared loader reads."""
    return {s.card_family: s.model_class for s in CHECKPOINTS.values() if s.model_class}


def explained(order: tuple[str, ...]) -> tuple[Explained, ...]:
    """The attribution workbench's models, families in ``order`` (family keys)."""
    return tuple(entry for key in order for entry in family(key).attribution)


def paper_keys() -> tuple[str, ...]:
    """Every paper some family reproduces, each once, in family order."""
    return tuple(dict.fromkeys(p for f in FAMILIES for p in f.papers))


def pages() -> tuple[str, ...]:
    """Every page: the families' and the shared ones, each once."""
    return tuple(dict.fromkeys([p for f in FAMILIES for p in f.pages] + list(SHARED_PAGES)))
