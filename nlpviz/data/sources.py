"""Where the bundled training corpora live (training time only; the app never imports these).

Each source is an installed package that ships a data file; ``provenance`` records package,
version, file and sha256 so a checkpoint's card says exactly what it was trained on.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

TRAIN_SETUP = "bash scripts/setup-train.sh"


class MissingTrainingData(RuntimeError):
    """A training-only package is not installed."""


def package_dir(module: str, distribution: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MissingTrainingData(
            f"The training data package '{distribution}' is not installed. Run `{TRAIN_SETUP}` "
            "(training needs it; the app and the tests do not)."
        )
    return Path(list(spec.submodule_search_locations)[0])


def provenance(distribution: str, path: Path, package_root: Path) -> dict[str, str]:
    # imported here: upload parsers import this module in a small worker process without torch
    from nlpviz.checkpoints import sha256_file

    return {
        "package": distribution,
        "version": importlib.metadata.version(distribution),
        "file": str(path.relative_to(package_root.parent)),
        "sha256": sha256_file(path),
    }
