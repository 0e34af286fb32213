"""Settings: one module reads the environment, the README lists the same names, no machine paths.

``nlpviz/settings.py`` is the only module of the app, the trainer, the benchmarks and the scripts
that reads the process environment; nothing writes it (a write would leak into every session of
a server). ``settings.process_environment()`` is the one door for code that must hand an
environment to a child process (``nlpviz.sandbox``'s worker, the benchmarks' servers): it returns
a copy.
"""

from __future__ import annotations

import ast
import json
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from nlpviz import REPO_ROOT, settings

README = REPO_ROOT / "README.md"
SOURCE_DIRS = ("nlpviz", "pages", "benchmarks", "scripts")


def python_sources() -> list[Path]:
    files = [REPO_ROOT / "app.py"]
    for folder in SOURCE_DIRS:
        files += sorted((REPO_ROOT / folder).rglob("*.py"))
    return files


def readme_table() -> dict[str, str]:
    """Setting name -> default, from the README's table under '## Settings'."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1].strip("`")
    return rows


def test_the_readme_table_lists_every_setting_with_its_default():
    table = readme_table()
    assert len(table) >= 10, "the README's settings table was not found or lost rows"
    assert sorted(table) == sorted(s.name for s in settings.SETTINGS)
    for setting in settings.SETTINGS:
        assert table[setting.name] == setting.default, setting.name


def test_every_setting_has_a_meaning_and_a_unique_name():
    names = [s.name for s in settings.SETTINGS]
    assert len(names) == len(set(names))
    assert all(s.meaning and s.default for s in settings.SETTINGS)


ENVIRONMENT_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def environment_uses(source: str, label: str) -> list[str]:
    """Every place a module touches the environment: ``os.environ``, ``os.getenv``, ``os.putenv``
    and ``from os import environ``-style imports."""
    found = []
    for node in ast.walk(ast.parse(source, filename=label)):
        if isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT_NAMES:
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                found.append(f"{label}:{node.lineno} os.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            for alias in node.names:
                if alias.name in ENVIRONMENT_NAMES:
                    found.append(f"{label}:{node.lineno} from os import {alias.name}")
    return found


def test_only_settings_reads_the_environment():
    offenders = [
        use
        for path in python_sources()
        if path != REPO_ROOT / "nlpviz" / "settings.py"
        for use in environment_uses(
            path.read_text(encoding="utf-8"), str(path.relative_to(REPO_ROOT))
        )
    ]
    assert offenders == [], "read the environment through nlpviz.settings: " + ", ".join(offenders)


def test_the_scan_sees_an_environment_read():
    sample = "import os\nfrom os import getenv\nx = os.environ.get('A')\ny = dict(os.environ)\n"
    assert len(environment_uses(sample, "sample.py")) == 3


WRITES = re.compile(
    r"os\.environ\s*\[[^\]]*\]\s*=|os\.environ\.(setdefault|update|pop|popitem|clear)\b"
    r"|del\s+os\.environ|os\.(putenv|unsetenv)\b"
)


def test_no_module_writes_the_environment():
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{number}"
        for path in python_sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if WRITES.search(line)
    ]
    assert offenders == []
    assert WRITES.search('os.environ["HF_HUB_OFFLINE"] = "1"')
    assert WRITES.search('os.environ.setdefault("SE_OFFLINE", "true")')


def test_settings_reads_only_through_get_and_a_copy():
    tree = ast.parse((REPO_ROOT / "nlpviz" / "settings.py").read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "environ":
            parent = parents[node]
            is_get = isinstance(parent, ast.Attribute) and parent.attr == "get"
            is_copy = isinstance(parent, ast.Call) and getattr(parent.func, "id", "") == "dict"
            assert is_get or is_copy, f"settings.py:{node.lineno} does more than read"


def test_the_scripts_settings_are_listed():
    listed = {s.name: s for s in settings.SETTINGS}
    for script in sorted((REPO_ROOT / "scripts").glob("*.sh")):
        for name in re.findall(r"\$\{([A-Z_][A-Z0-9_]*):-", script.read_text(encoding="utf-8")):
            assert name in listed, f"{script.name} reads {name}, which settings.py does not list"
            if listed[name].read_by != "nlpviz":
                assert listed[name].read_by == f"scripts/{script.name}", name


# ---- read when asked -------------------------------------------------------------------------


def test_settings_are_read_when_asked(monkeypatch, tmp_path):
    monkeypatch.delenv("NLPVIZ_TORCH_THREADS", raising=False)
    assert settings.torch_threads() == 1
    monkeypatch.setenv("NLPVIZ_TORCH_THREADS", "3")
    assert settings.torch_threads() == 3
    monkeypatch.setenv("NLPVIZ_CONCURRENT_RUNS", "many")
    assert settings.concurrent_runs() == 1
    monkeypatch.setenv("NLPVIZ_CONCURRENT_RUNS", "0")
    assert settings.concurrent_runs() == 0
    monkeypatch.setenv("NLPVIZ_CHECKPOINTS", str(tmp_path))
    assert settings.checkpoints_dir() == tmp_path
    monkeypatch.delenv("NLPVIZ_CHECKPOINTS")
    assert settings.checkpoints_dir() == REPO_ROOT / "checkpoints"
    monkeypatch.setenv("NLPVIZ_HUB_DOWNLOADS", "1")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert settings.hub_downloads_allowed()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not settings.hub_downloads_allowed()
    monkeypatch.setenv("NLPVIZ_ATTRIBUTION_AUTORUN_S", "2.5")
    assert settings.attribution_autorun_seconds() == 2.5


def test_every_cache_folder_follows_nlpviz_cache(monkeypatch, tmp_path):
    """NLPVIZ_CACHE moves every cache folder: the chorale rolls, the silver corpus, the
    translation pairs and tokenizers, the encoders' tokenizers and both trainers' state."""
    from nlpviz.data import chorales, conll, translation

    monkeypatch.setenv("NLPVIZ_CACHE", str(tmp_path))
    assert settings.cache_dir() == tmp_path
    assert chorales._cache_path().parent == tmp_path
    assert conll.default_silver_path().parent == tmp_path
    assert translation.default_dir().parent == tmp_path
    with pytest.raises(Exception, match=str(tmp_path)):
        translation.load_pairs()
    monkeypatch.delenv("NLPVIZ_CACHE")
    assert settings.cache_dir() == Path.home() / ".cache" / "nlpviz"


def test_the_trainers_keep_their_state_in_the_cache(monkeypatch, tmp_path):
    pytest.importorskip("sentencepiece", reason="the trainers' modules import sentencepiece")
    from nlpviz.train import encoders, translation

    monkeypatch.setenv("NLPVIZ_CACHE", str(tmp_path))
    assert translation._state_path("x").is_relative_to(tmp_path)
    assert encoders._state_path("x").is_relative_to(tmp_path)


def test_a_card_names_a_cached_file_relative_to_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("NLPVIZ_CACHE", str(tmp_path))
    assert settings.cache_relative(tmp_path / "a" / "b.conll") == "$NLPVIZ_CACHE/a/b.conll"
    assert settings.cache_relative(Path("/elsewhere/b.conll")) == "b.conll"


def test_process_environment_is_a_copy(monkeypatch):
    monkeypatch.setenv("NLPVIZ_SETTINGS_PROBE", "1")
    copy = settings.process_environment()
    assert copy["NLPVIZ_SETTINGS_PROBE"] == "1"
    copy["NLPVIZ_SETTINGS_PROBE"] = "2"
    assert settings.process_environment()["NLPVIZ_SETTINGS_PROBE"] == "1"


# ---- no machine paths --------------------------------------------------------------------------

MACHINE_PATH = re.compile(
    r"(?<![\w.~$])/(?:root|home/\w+|Users/\w+|work|tmp|mnt|scratch)(?:/|\b)|[A-Za-z]:\\Users\\"
)
TEXT_SUFFIXES = {".json", ".md", ".py", ".txt", ".tsv", ".csv", ".toml", ".in", ".cfg", ".html"}
SCANNED = ("checkpoints", "docs", "benchmarks", "nlpviz")


def scanned_texts() -> list[tuple[Path, str]]:
    texts = [(README, README.read_text(encoding="utf-8"))]
    for folder in SCANNED:
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            if path.suffix in TEXT_SUFFIXES:
                texts.append((path, path.read_text(encoding="utf-8", errors="replace")))
            elif path.suffix == ".safetensors":  # its JSON header carries the metadata
                with open(path, "rb") as handle:
                    (size,) = struct.unpack("<Q", handle.read(8))
                    texts.append((path, handle.read(size).decode("utf-8", errors="replace")))
    return texts


def test_no_file_names_a_home_or_machine_path():
    texts = scanned_texts()
    assert len(texts) > 100
    offenders = [
        f"{path.relative_to(REPO_ROOT)}: {match.group(0)}"
        for path, text in texts
        for match in MACHINE_PATH.finditer(text)
    ]
    assert offenders == []


# The detector's positive examples are built from parts, so that this file holds no machine
# path itself (the repository's own path check must not have to exempt its test).
HOME_PATH = "/".join(["", "home", "ada", "data.tsv"])
ROOT_CACHE = "/".join(["", "root", ".cache", "nlpviz", "silver-news.conll"])


@pytest.mark.parametrize(
    "text, machine",
    [
        (f'"file": "{ROOT_CACHE}"', True),
        (HOME_PATH, True),
        ("written to /tmp/ckpt", True),
        ("C:\\Users\\ada\\x", True),
        ('"file": "$NLPVIZ_CACHE/silver-news.conll"', False),
        ("`~/.cache/nlpviz`", False),
        ("/usr/bin/chromium and deploy/nginx.conf.in", False),
        ("http://localhost:8501/work", False),
    ],
)
def test_the_machine_path_pattern(text, machine):
    assert bool(MACHINE_PATH.search(text)) is machine


def test_the_tagger_cards_name_their_corpus_in_the_cache():
    cards = sorted((REPO_ROOT / "checkpoints").glob("tagger-*news*/card.json"))
    assert len(cards) == 6
    for card in cards:
        source = json.loads(card.read_text(encoding="utf-8"))["data"]["corpus"]
        assert source["file"] == "$NLPVIZ_CACHE/silver-news.conll", card


def test_importing_the_ui_applies_no_setting():
    """The thread count and the run slots are applied when a page draws its sidebar, not when a
    module is imported (a test or a script importing nlpviz.ui keeps its own torch threads)."""
    script = (
        "import torch; torch.set_num_threads(2)\n"
        "import nlpviz.ui.sidebar, nlpviz.ui.loaders, nlpviz.ui.gated_rnn, nlpviz.ui.lora\n"
        "from nlpviz.ui import script_slots\n"
        "print(torch.get_num_threads(), script_slots._slots is None)\n"
    )
    env = {**settings.process_environment(), "NLPVIZ_TORCH_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["2", "True"]
