"""Devlin et al. (2019), Liu et al. (2019), He et al. (2021, 2023): four miniature encoders."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nlpviz.families import CheckpointSpec, Family, specs

if TYPE_CHECKING:
    import torch

DESIGNS = {"bert": "BERT", "roberta": "RoBERTa", "deberta": "DeBERTa", "debertav3": "DeBERTaV3"}
TASK = "pretrain"  # masked LM (replaced-token detection for V3) on news, plays and reviews


def _train(spec: CheckpointSpec, device: torch.device, seed: int, command: str) -> dict:
    from nlpviz.train.encoders import continuations_for, recipe_for, train_encoder

    design = spec.variant
    return train_encoder(
        spec.name, recipe_for(design), device, seed, command, continuations_for(design)
    )


CHECKPOINTS = specs(
    (
        (
            f"encoder-{design}",
            TASK,
            design,
            label,
            f"{label} miniature encoder (pretrained on news+plays+reviews)",
        )
        for design, label in DESIGNS.items()
    ),
    _train,
    card_family="encoder",
)

FAMILY = Family(
    key="encoders",
    papers=("bert", "roberta", "deberta", "debertav3"),
    pages=(
        "pages/4_Attention.py",
        "pages/5_Masked_LM.py",
        "pages/6_DeBERTa.py",
        "pages/7_DeBERTaV3.py",
    ),
    checkpoints=CHECKPOINTS,
    loader="nlpviz.ui.encoders:load_encoder",
)
