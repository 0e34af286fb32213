"""Kim (2014): a CNN over word vectors, four variants on the MR-like and Subj-like tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nlpviz.families import CheckpointSpec, Explained, Family, specs

if TYPE_CHECKING:
    import torch

# variant as the recipe spells it -> as the checkpoint name spells it
VARIANTS = {
    "rand": "rand",
    "static": "static",
    "non-static": "nonstatic",
    "multichannel": "multichannel",
}
TASKS = {"mr": "sentiment (MR)", "subj": "subjectivity (Subj)"}  # task -> what the classes are


def _train(spec: CheckpointSpec, device: torch.device, seed: int, command: str) -> dict:
    from nlpviz.train.kim_cnn import KimRecipe, train_kim_cnn

    recipe = KimRecipe(variant=spec.variant, task=spec.task)
    return train_kim_cnn(spec.name, recipe, device, seed, command)


CHECKPOINTS = specs(
    (
        (
            f"kim-cnn-{short}-{task}",
            task,
            variant,
            f"CNN-{variant}",
            f"Kim CNN-{variant} on the {task.upper()}-like task",
        )
        for task in TASKS
        for variant, short in VARIANTS.items()
    ),
    _train,
    card_family="kim_cnn",
    model_class="nlpviz.models.kim_cnn:KimCNN",
)

FAMILY = Family(
    key="kim_cnn",
    papers=("kim",),
    pages=("pages/1_Kim_CNN.py",),
    checkpoints=CHECKPOINTS,
    loader="nlpviz.ui.loaders:load_model",
    attribution=tuple(
        Explained(s.name, "kim_cnn", f"Kim CNN-{s.variant} · {TASKS[s.task]}", TASKS[s.task])
        for s in CHECKPOINTS
    ),
)
