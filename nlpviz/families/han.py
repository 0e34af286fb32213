"""Yang et al. (2016): hierarchical attention, with a flat attention BiGRU and mean vectors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nlpviz.families import CheckpointSpec, Explained, Family

if TYPE_CHECKING:
    import torch

# model -> (name prefix, the page's role label, nlpviz list's title, "module:Class")
MODELS = {
    "han": ("han", "HAN", "HAN", "nlpviz.models.han:HAN"),
    "flat_gru": (
        "flat-gru",
        "flat BiGRU + attention",
        "Flat attention BiGRU",
        "nlpviz.models.han:FlatAttentionGRU",
    ),
    "mean_embedding": (
        "mean-emb",
        "averaged embeddings",
        "Mean-vector",
        "nlpviz.models.han:MeanEmbeddingClassifier",
    ),
}
TASKS = {"news": "news outlets (9)", "drugs": "drug reviews (3)"}
TASK_CLASSES = {"news": "news outlet", "drugs": "drug review"}  # what the classes are
# the workbench's reader per model; the mean of vectors has no word order to explain
ADAPTERS = {"han": "han", "flat_gru": "flat"}


def _train(spec: CheckpointSpec, device: torch.device, seed: int, command: str) -> dict:
    from nlpviz.train.han import recipe_for, train_han

    return train_han(spec.name, recipe_for(spec.variant, spec.task), device, seed, command)


CHECKPOINTS = tuple(
    CheckpointSpec(
        name=f"{prefix}-{task}",
        task=task,
        variant=model,
        label=role,
        description=f"{title} on {data}",
        train=_train,
        card_family=model,
        model_class=model_class,
    )
    for task, data in TASKS.items()
    for model, (prefix, role, title, model_class) in MODELS.items()
)

FAMILY = Family(
    key="han",
    papers=("han",),
    pages=("pages/2_HAN.py",),
    checkpoints=CHECKPOINTS,
    loader="nlpviz.ui.loaders:load_model",
    attribution=tuple(
        Explained(
            s.name, ADAPTERS[s.variant], f"{s.label} · {TASK_CLASSES[s.task]}", TASK_CLASSES[s.task]
        )
        for s in CHECKPOINTS
        if s.variant in ADAPTERS
    ),
)
