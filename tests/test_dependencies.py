"""pyproject.toml is the one list of what nlpviz installs, and it names what the code imports.

The scripts install from it (``pip install -e .``, ``.[dev]``, ``.[train]``); there is no
requirements file to drift from it. Every third-party package the app, the trainer or a page
imports is declared: a module-level import in ``dependencies``, a training-only import (inside a
function, in the data builders and trainers) in ``dependencies`` or the ``train`` extra.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from nlpviz import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
INSTALLERS = sorted((REPO_ROOT / "scripts").glob("*.sh")) + [REPO_ROOT / ".ci" / "run"]


def canonical(requirement: str) -> str:
    name = re.split(r"[=<>!~\[; ]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(*groups: str) -> set[str]:
    names = {canonical(r) for r in PROJECT["dependencies"]}
    for group in groups:
        names |= {canonical(r) for r in PROJECT["optional-dependencies"][group]}
    return names


def test_no_requirements_file_and_every_script_installs_from_pyproject():
    assert sorted(p.name for p in REPO_ROOT.glob("requirements*.txt")) == []
    for script in INSTALLERS:
        text = script.read_text(encoding="utf-8")
        assert not re.search(r"pip install[^\n]*\s-r\s", text), script.name
        assert "requirements.txt" not in text, script.name
    venv = (REPO_ROOT / "scripts" / "_venv.sh").read_text(encoding="utf-8")
    assert 'pip install --quiet --disable-pip-version-check -e "$target"' in venv
    assert "install_project dev" in (REPO_ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert "install_project train" in (REPO_ROOT / "scripts" / "setup-train.sh").read_text(
        encoding="utf-8"
    )


def test_the_app_and_test_pins_are_exact():
    for requirement in PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"]:
        assert "==" in requirement, f"{requirement}: pin it exactly, as the app was tested"
    assert "torch==2.13.0" in PROJECT["dependencies"]


def third_party_imports(path: Path) -> list[tuple[str, bool]]:
    """(top-level package, imported at module level) for each non-stdlib import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top not in sys.stdlib_module_names and top != "nlpviz":
                found.append((top, id(node) in module_level))
    return found


def test_every_import_of_the_app_and_the_trainer_is_declared():
    distributions = importlib.metadata.packages_distributions()
    files = [REPO_ROOT / "app.py", *sorted((REPO_ROOT / "pages").glob("*.py"))]
    files += sorted((REPO_ROOT / "nlpviz").rglob("*.py"))
    app, training = (
        declared(),
        declared("train")
        | {canonical(r) for r in PYPROJECT["tool"]["nlpviz"]["train-data-no-deps"]},
    )
    missing = []
    for path in files:
        for top, at_module_level in third_party_imports(path):
            names = {canonical(d) for d in distributions.get(top, [top])}
            allowed = app if at_module_level else training
            if not names & allowed:
                missing.append(f"{path.relative_to(REPO_ROOT)}: {top}")
    assert missing == []


def test_the_import_scan_sees_a_missing_package(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nimport numpy\n\ndef f():\n    import spacy\n")
    assert third_party_imports(sample) == [("numpy", True), ("spacy", False)]
