"""Every setting nlpviz reads from the process environment, in one place.

A server's owner (or a developer) sets these as environment variables; the README's table lists
the same names, and ``tests/test_settings.py`` checks both lists and that no other module reads
or writes the environment. Each accessor reads the variable when it is called, never at import,
so a test can ``monkeypatch.setenv`` one and see the effect without reloading a module. Nothing
here writes to the environment.

A few settings are read by the shell scripts only (``read_by`` names the script); they are listed
here so that the README's table and this module stay one list.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from nlpviz import REPO_ROOT

log = logging.getLogger(__name__)

_ON = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, its default (as the README shows it) and meaning."""

    name: str
    default: str
    meaning: str
    read_by: str = "nlpviz"


CACHE = Setting(
    "NLPVIZ_CACHE",
    "~/.cache/nlpviz",
    "folder for training data, tokenizers and resumable training state (never the app's models)",
)
CHECKPOINTS = Setting("NLPVIZ_CHECKPOINTS", "checkpoints/", "the folder the app loads models from")
TORCH_THREADS = Setting(
    "NLPVIZ_TORCH_THREADS", "1", "PyTorch intra-op threads in a serving process"
)
CONCURRENT_RUNS = Setting(
    "NLPVIZ_CONCURRENT_RUNS", "1", "page runs computing at once per process; 0 = no limit"
)
DISABLE_HEAVY_WORK = Setting(
    "NLPVIZ_DISABLE_HEAVY_WORK", "0", "1: no live LoRA sweep, no data-set attribution"
)
DISABLE_LIVE_TRAINING = Setting(
    "NLPVIZ_DISABLE_LIVE_TRAINING", "0", "older name of NLPVIZ_DISABLE_HEAVY_WORK; same effect"
)
LOCAL_MODELS = Setting(
    "NLPVIZ_LOCAL_MODELS",
    "0",
    "1: the attention page lets a visitor name a model folder on the server or a hub name",
)
HUB_DOWNLOADS = Setting(
    "NLPVIZ_HUB_DOWNLOADS",
    "0",
    "1: that box may download a hub name not yet in the Hugging Face cache (safetensors only)",
)
HF_HUB_OFFLINE = Setting(
    "HF_HUB_OFFLINE", "0", "Hugging Face's own switch; 1 keeps NLPVIZ_HUB_DOWNLOADS off"
)
LORA_SWEEP = Setting(
    "NLPVIZ_LORA_SWEEP", "lora-sweep", "the sweep checkpoint the LoRA page shows (development)"
)
ATTRIBUTION_AUTORUN_S = Setting(
    "NLPVIZ_ATTRIBUTION_AUTORUN_S",
    "10",
    "an attribution grid estimated to take longer (seconds) waits for the Run button",
)
FIRST_APP_PORT = Setting(
    "NLPVIZ_FIRST_APP_PORT",
    "8511",
    "loopback port of the first app process behind nginx",
    read_by="scripts/serve-many.sh",
)
PROXY_DIR = Setting(
    "NLPVIZ_PROXY_DIR",
    "$NLPVIZ_CACHE/proxy",
    "nginx's configuration, logs and the app processes' logs",
    read_by="scripts/serve-many.sh",
)
PYTHON = Setting(
    "PYTHON",
    "python3.11",
    "the Python 3.11 that creates .venv",
    read_by="scripts/_venv.sh",
)

SETTINGS: tuple[Setting, ...] = (
    CACHE,
    CHECKPOINTS,
    TORCH_THREADS,
    CONCURRENT_RUNS,
    DISABLE_HEAVY_WORK,
    DISABLE_LIVE_TRAINING,
    LOCAL_MODELS,
    HUB_DOWNLOADS,
    HF_HUB_OFFLINE,
    LORA_SWEEP,
    ATTRIBUTION_AUTORUN_S,
    FIRST_APP_PORT,
    PROXY_DIR,
    PYTHON,
)


def _raw(setting: Setting) -> str:
    return os.environ.get(setting.name, "").strip()


def _flag(setting: Setting) -> bool:
    return _raw(setting).lower() in _ON


def _number(setting: Setting, default: float, minimum: float, kind: type) -> float:
    raw = _raw(setting)
    if not raw:
        return default
    try:
        return max(minimum, kind(raw))
    except ValueError:
        log.warning("%s=%r is not a number; using %s", setting.name, raw, default)
        return default


def cache_dir() -> Path:
    """The folder for training data, tokenizers and training state (``NLPVIZ_CACHE``)."""
    raw = _raw(CACHE)
    return Path(raw).expanduser() if raw else Path.home() / ".cache" / "nlpviz"


def cache_relative(path: Path | str) -> str:
    """How a card names a data file: ``$NLPVIZ_CACHE/<relative path>`` when it lies in the cache,
    else its bare file name; never this machine's absolute path."""
    path = Path(path).expanduser()
    try:
        return f"${CACHE.name}/{path.resolve().relative_to(cache_dir().resolve()).as_posix()}"
    except ValueError:
        return path.name


def checkpoints_dir() -> Path:
    """The folder the app loads checkpoints from (``NLPVIZ_CHECKPOINTS``; default the repo's)."""
    raw = _raw(CHECKPOINTS)
    return Path(raw).expanduser() if raw else REPO_ROOT / "checkpoints"


def torch_threads() -> int:
    """PyTorch intra-op threads for a serving process (``NLPVIZ_TORCH_THREADS``, at least 1)."""
    return int(_number(TORCH_THREADS, 1, 1, int))


def concurrent_runs() -> int:
    """Page runs computing at once per process (``NLPVIZ_CONCURRENT_RUNS``; 0 = no limit)."""
    return int(_number(CONCURRENT_RUNS, 1, 0, int))


def heavy_work_disabled() -> bool:
    """True when the owner turned heavy work off (either name of the switch, any truthy value)."""
    return any(
        _raw(setting).lower() not in ("", "0", "false", "no", "off")
        for setting in (DISABLE_HEAVY_WORK, DISABLE_LIVE_TRAINING)
    )


def local_models_allowed() -> bool:
    """Whether visitors may name a model folder or hub name (``NLPVIZ_LOCAL_MODELS=1``)."""
    return _flag(LOCAL_MODELS)


def hub_downloads_allowed() -> bool:
    """A hub name may be downloaded only with ``NLPVIZ_HUB_DOWNLOADS=1`` and not
    ``HF_HUB_OFFLINE=1``."""
    return _flag(HUB_DOWNLOADS) and not _flag(HF_HUB_OFFLINE)


def lora_sweep_name() -> str:
    """The sweep checkpoint the LoRA page shows (``NLPVIZ_LORA_SWEEP``)."""
    return _raw(LORA_SWEEP) or LORA_SWEEP.default


def attribution_autorun_seconds() -> float:
    """Attribution grids estimated to take longer than this wait for the Run button."""
    return float(_number(ATTRIBUTION_AUTORUN_S, 10.0, 0.0, float))


def process_environment() -> dict[str, str]:
    """A copy of the whole environment, only to build a child process's environment from.

    ``nlpviz.sandbox`` picks the few variables its worker needs (``PATH``, ``HOME``,
    ``PYTHONPATH``, ...) out of it; benchmarks pass it on to the servers they start. The copy
    keeps the caller from writing to ``os.environ``.
    """
    return dict(os.environ)
