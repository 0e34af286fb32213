"""Imports run one way, from the pages down to the data, and never in a circle.

The rule, lowest layer first (a module may import its own layer and the layers below it, never
one above; function-level imports count the same as module-level ones):

    base         nlpviz (REPO_ROOT), settings, checkpoints, device, sandbox, heavy, papers, tours,
                 claims, registry, families.*: helpers that import nothing but each other
                 (checkpoints and device read settings; data and models read checkpoints)
    data         nlpviz.data.*: corpora, tokenizers, vocabularies, the BIO tag scheme
    models       nlpviz.models.*: one nn.Module family per file and the dataclasses they return
                 (AttentionView lives here, in models.attention_view)
    attribution  nlpviz.attribution: Captum over the models, plain dataclasses out
    analysis     nlpviz.analysis.*: text -> model -> numpy readings for a page
    viz          nlpviz.viz.*: figures; besides the layer rule a figure imports neither torch nor
                 nlpviz.models: it draws arrays, and the model's numbers reach it through analysis
    ui           nlpviz.ui.*: the only package code that imports streamlit
    pages        pages/*.py and app.py

``nlpviz.train`` stands beside analysis: it may import base, data, models, attribution, analysis
and itself. Nothing imports it except

* ``nlpviz.train`` itself (``train.cli`` is the ``nlpviz`` command),
* ``nlpviz.families.*``, and only inside a function: the registry names each checkpoint's trainer
  without importing a trainer until ``nlpviz train`` runs it,
* ``nlpviz.ui.lora`` -> ``nlpviz.train.lora``: the LoRA page's live sweep trains on the server
  (behind the heavy-work line); the sweep library is the trainer's own code.

And no import cycle among the modules of nlpviz and the pages, counting function-level imports
too, except the registry's lazy trainer references (``nlpviz.families.*`` -> ``nlpviz.train.*``
inside a function): the trainers may read the registry, and the registry names their entry points.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from nlpviz import REPO_ROOT

BASE = {
    "nlpviz",
    "nlpviz.settings",
    "nlpviz.checkpoints",
    "nlpviz.device",
    "nlpviz.sandbox",
    "nlpviz.heavy",
    "nlpviz.papers",
    "nlpviz.tours",
    "nlpviz.claims",
    "nlpviz.registry",
}
LAYERS = ("base", "data", "models", "attribution", "analysis", "viz", "ui", "pages")
TRAIN_LEVEL = LAYERS.index("analysis")  # train stands beside analysis
ALLOWED_TRAIN_IMPORTERS = {("nlpviz.ui.lora", "nlpviz.train.lora")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@cache
def sources() -> dict[str, Path]:
    files = [REPO_ROOT / "app.py", *sorted((REPO_ROOT / "pages").glob("*.py"))]
    files += sorted((REPO_ROOT / "nlpviz").rglob("*.py"))
    return {module_name(path): path for path in files}


def layer_of(module: str) -> str | None:
    """The layer of a module of nlpviz or the pages; "train" for the trainer."""
    if module in BASE or module.startswith("nlpviz.families"):
        return "base"
    if module == "app" or module.startswith("pages."):
        return "pages"
    if module == "nlpviz.attribution":
        return "attribution"
    for layer in ("data", "models", "analysis", "viz", "ui", "train"):
        if module == f"nlpviz.{layer}" or module.startswith(f"nlpviz.{layer}."):
            return layer
    return None


def level(layer: str) -> float:
    return TRAIN_LEVEL + 0.5 if layer == "train" else LAYERS.index(layer)


def imports_of(module: str, source: str | None = None) -> list[tuple[str, bool, int]]:
    """(imported nlpviz module, inside a function, line) for every import in ``module``.

    ``from nlpviz.viz import common`` names the module ``nlpviz.viz.common``; ``from
    nlpviz.checkpoints import read_card`` names ``nlpviz.checkpoints``.
    """
    known = sources()
    path = known.get(module)
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    package = (
        module if path is not None and path.name == "__init__.py" else module.rpartition(".")[0]
    )
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] in ("nlpviz", "pages"):
                        found.append((alias.name, in_function, child.lineno))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    target = ".".join([*base, *([child.module] if child.module else [])])
                else:
                    target = child.module or ""
                if target.split(".")[0] not in ("nlpviz", "pages"):
                    continue
                for alias in child.names:
                    submodule = f"{target}.{alias.name}"
                    found.append(
                        (submodule if submodule in known else target, in_function, child.lineno)
                    )
            visit(child, nested)

    visit(tree, False)
    return found


def imports_torch(module: str) -> list[int]:
    tree = ast.parse(sources()[module].read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            lines += [node.lineno for a in node.names if a.name.split(".")[0] == "torch"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "torch":
            lines.append(node.lineno)
    return lines


def violations(module: str, imported: list[tuple[str, bool, int]]) -> list[str]:
    mine = layer_of(module)
    problems = []
    for target, in_function, line in imported:
        theirs = layer_of(target)
        if mine is None or theirs is None:
            continue
        where = f"{module}:{line} imports {target}"
        if theirs == "train":
            if mine == "train" or (mine == "base" and in_function):
                continue
            if (module, target) not in ALLOWED_TRAIN_IMPORTERS:
                problems.append(f"{where}: nothing but the CLI and the registry imports train")
        elif level(theirs) > level(mine):
            problems.append(f"{where}: {mine} sits below {theirs}")
        elif mine == "viz" and theirs == "models":
            problems.append(f"{where}: a figure draws arrays; it does not import a model")
    return problems


def test_every_module_has_a_layer():
    assert [m for m in sources() if layer_of(m) is None] == []


def test_no_module_imports_a_layer_above_its_own():
    problems = [p for module in sources() for p in violations(module, imports_of(module))]
    assert problems == []


def test_a_figure_never_imports_torch():
    offenders = [
        f"{module}:{line}"
        for module in sources()
        if layer_of(module) == "viz"
        for line in imports_torch(module)
    ]
    assert offenders == []


def test_only_ui_and_the_pages_import_streamlit():
    offenders = []
    for module, path in sources().items():
        if layer_of(module) in ("ui", "pages"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name.split(".")[0] == "streamlit" for name in names):
                offenders.append(f"{module}:{node.lineno}")
    assert offenders == []


def lazy_trainer_reference(module: str, target: str, in_function: bool) -> bool:
    """A family's trainer, imported when ``nlpviz train`` calls it: a name-to-code link, not
    something the registry is built from (the trainers may read the registry)."""
    return (
        module.startswith("nlpviz.families") and in_function and target.startswith("nlpviz.train")
    )


def test_no_import_cycle():
    graph = {
        module: {
            target
            for target, in_function, _ in imports_of(module)
            if target in sources() and not lazy_trainer_reference(module, target, in_function)
        }
        for module in sources()
    }
    cycles = strongly_connected(graph)
    assert [sorted(c) for c in cycles] == []


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's components of more than one module, and self-imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


# ---- the checks can fail ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "module, source, wanted",
    [
        ("nlpviz.models.kim_cnn", "from nlpviz.analysis import attention\n", "models sits below"),
        ("nlpviz.data.vocab", "def f():\n    from nlpviz.viz.common import FONT\n", "data sits"),
        ("nlpviz.viz.tagger", "from nlpviz.models.crf import IMPOSSIBLE\n", "does not import"),
        ("pages.1_Kim_CNN", "from nlpviz.train.kim_cnn import X\n", "imports train"),
        ("nlpviz.families.kim_cnn", "from nlpviz.train import kim_cnn\n", "imports train"),
        ("nlpviz.ui.kim_cnn", "from nlpviz.train import lora\n", "imports train"),
    ],
)
def test_a_wrong_import_is_caught(module, source, wanted):
    problems = violations(module, imports_of(module, source))
    assert len(problems) == 1 and wanted in problems[0]


def test_the_allowed_imports_pass():
    assert (
        violations(
            "nlpviz.families.kim_cnn",
            imports_of(
                "nlpviz.families.kim_cnn", "def f():\n    from nlpviz.train.kim_cnn import X\n"
            ),
        )
        == []
    )
    assert (
        violations(
            "nlpviz.ui.lora", imports_of("nlpviz.ui.lora", "from nlpviz.train import lora\n")
        )
        == []
    )
    assert (
        violations(
            "nlpviz.train.cli", imports_of("nlpviz.train.cli", "from nlpviz.registry import X\n")
        )
        == []
    )


def test_a_cycle_is_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [{"a", "b", "c"}]
