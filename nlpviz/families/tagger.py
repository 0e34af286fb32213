"""Ma & Hovy (2016): BLSTM, BLSTM-CNN and BLSTM-CNN-CRF taggers on three tagging tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nlpviz.families import CheckpointSpec, Explained, Family, specs

if TYPE_CHECKING:
    import torch

VARIANTS = ("blstm", "blstm-cnn", "blstm-cnn-crf")
TASKS = ("wnut-ner", "news-ner", "news-pos")
FULL = "blstm-cnn-crf"
# the workbench lists the full model of each task, part-of-speech first
WORKBENCH_TASKS = ("news-pos", "news-ner", "wnut-ner")


def _train(spec: CheckpointSpec, device: torch.device, seed: int, command: str) -> dict:
    from nlpviz.train.tagger import TaggerRecipe, train_tagger

    # The silver news corpus is ten times WNUT's size: fewer epochs fit the same budget.
    epochs = 12 if spec.task.startswith("wnut") else 5
    recipe = TaggerRecipe(variant=spec.variant, task=spec.task, epochs=epochs)
    return train_tagger(spec.name, recipe, device, seed, command)


CHECKPOINTS = specs(
    (
        (
            f"tagger-{variant}-{task}",
            task,
            variant,
            variant.upper(),
            f"{variant.upper()} tagger on {task}",
        )
        for task in TASKS
        for variant in VARIANTS
    ),
    _train,
    card_family="tagger",
    model_class="nlpviz.models.tagger:Tagger",
)


def _full(task: str) -> CheckpointSpec:
    return next(s for s in CHECKPOINTS if s.task == task and s.variant == FULL)


FAMILY = Family(
    key="tagger",
    papers=("mahovy",),
    pages=("pages/3_Tagger.py",),
    checkpoints=CHECKPOINTS,
    loader="nlpviz.ui.loaders:load_model",
    attribution=tuple(
        Explained(_full(task).name, "tagger", f"BLSTM-CNN-CRF tagger · {task} (per token)", task)
        for task in WORKBENCH_TASKS
    ),
)
