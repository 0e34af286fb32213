"""The registry is the one list of what exists: every checkpoint, page and paper is in it once,
and every command it prints is one the CLI accepts (parsed here, never run)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import replace

import pytest
import torch

from nlpviz import REPO_ROOT, registry
from nlpviz.checkpoints import CheckpointError, load_checkpoint
from nlpviz.families import lora as lora_family
from nlpviz.papers import PAPERS
from nlpviz.train import cli

COMMITTED = REPO_ROOT / "checkpoints"
ALL_SPECS = [spec for family in registry.FAMILIES for spec in family.checkpoints]


def accepted(command: str) -> list[str]:
    """The checkpoints ``command`` trains, as the CLI parses it; fails where it would refuse."""
    words = shlex.split(command)
    assert words[:2] == ["nlpviz", "train"], command
    args = cli._parser().parse_args(words[1:])
    names, unknown = cli.train_names(args)
    assert not unknown, f"`{command}`: the CLI does not know {unknown}"
    return names


def test_names_and_family_keys_are_unique():
    names = Counter(spec.name for spec in ALL_SPECS)
    assert [n for n, count in names.items() if count > 1] == []
    keys = Counter(family.key for family in registry.FAMILIES)
    assert [k for k, count in keys.items() if count > 1] == []
    assert len(registry.CHECKPOINTS) == len(ALL_SPECS)


def test_every_committed_checkpoint_belongs_to_exactly_one_spec():
    folders = sorted(p.name for p in COMMITTED.iterdir() if p.is_dir() and p.name[0] != ".")
    # every family that trains something has committed checkpoints (else this test is vacuous)
    assert {f.key for f in registry.FAMILIES if f.checkpoints} == {
        registry.family_of(n).key for n in folders if n in registry.CHECKPOINTS
    }
    owners = {name: [s for s in ALL_SPECS if s.name == name] for name in folders}
    assert {name: len(specs) for name, specs in owners.items() if len(specs) != 1} == {}
    # ... and the spec describes what the card says the folder holds
    for name in folders:
        card = json.loads((COMMITTED / name / "card.json").read_text(encoding="utf-8"))
        assert card["family"] == registry.CHECKPOINTS[name].card_family, name


def test_every_planned_lora_run_is_committed_and_registered_as_a_run_of_the_sweep():
    runs = [s for s in ALL_SPECS if s.sweep == lora_family.SWEEP and (COMMITTED / s.name).is_dir()]
    assert len(runs) == len(lora_family.planned_runs(lora_family.RANKS, lora_family.SEEDS))
    sweep_card = json.loads((COMMITTED / "lora-sweep" / "card.json").read_text(encoding="utf-8"))
    assert sorted(row["name"] for row in sweep_card["rows"]) == sorted(s.name for s in runs)


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda s: s.name)
def test_every_rebuild_command_is_accepted_by_the_cli(spec):
    assert accepted(spec.rebuild) == [spec.name]
    assert registry.rebuild_command(spec.name) == spec.rebuild


def test_a_corrupt_lora_run_names_a_command_the_cli_accepts(tmp_path):
    name = "lora-r8-s1"
    shutil.copytree(COMMITTED / name, tmp_path / name)
    weights = tmp_path / name / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(name, root=tmp_path, family="lora_run")
    commands = re.findall(r"`([^`]+)`", str(error.value))
    assert commands, str(error.value)
    assert accepted(commands[-1]) == [name]


def test_train_all_leaves_the_runs_to_their_sweep():
    names = accepted("nlpviz train all")
    assert "lora-sweep" in names and "kim-cnn-rand-mr" in names
    assert not any(registry.CHECKPOINTS[n].sweep for n in names)


def test_one_lora_run_trains_exactly_that_run_of_its_sweep(monkeypatch):
    """``nlpviz train lora-r8-s1`` reaches the sweep with a recipe planning that run alone."""
    from nlpviz.train import lora as train_lora

    calls = []
    monkeypatch.setattr(
        train_lora, "run_sweep", lambda *args, **kwargs: calls.append((args, kwargs)) or {}
    )
    runs = [s for s in ALL_SPECS if s.sweep is not None]
    assert len(runs) == len(lora_family.planned_runs(lora_family.RANKS, lora_family.SEEDS)) + 5
    for spec in runs:
        calls.clear()
        spec.train(spec, torch.device("cpu"), 1, spec.rebuild)
        (sweep, recipe, _, command), kwargs = calls[0]
        assert sweep == spec.sweep and command == spec.rebuild
        assert [s.name(recipe.prefix) for s in train_lora.planned_runs(recipe)] == [spec.name]
        # the sweep's card keeps the command that rebuilds the whole sweep
        assert accepted(kwargs["sweep_command"]) == [spec.sweep]


def test_the_cli_trains_a_run_with_the_seed_in_its_name(monkeypatch, capsys):
    seen = []
    spec = registry.CHECKPOINTS["lora-r8-s2"]
    fake = replace(spec, train=lambda s, device, seed, command: seen.append((seed, command)) or {})
    monkeypatch.setitem(cli.TRAINABLES, spec.name, fake)
    assert cli.main(["train", spec.name, "--device", "cpu"]) == 0
    assert seen == [(2, "nlpviz train lora-r8-s2 --device cpu")]
    assert cli.main(["train", spec.name, "--seed", "3"]) == 2
    assert "contradicts the seed" in capsys.readouterr().err
    assert len(seen) == 1


def test_every_page_is_registered_and_exists():
    pages = registry.pages()
    assert [p for p in pages if not (REPO_ROOT / p).is_file()] == []
    on_disk = sorted(f"pages/{p.name}" for p in (REPO_ROOT / "pages").glob("*.py"))
    assert sorted(pages) == on_disk


def test_the_registry_and_the_gallery_cover_the_same_papers():
    assert sorted(registry.paper_keys()) == sorted(p.key for p in PAPERS)
    gallery_pages = {path for paper in PAPERS for path, _ in paper.pages}
    for family in registry.FAMILIES:
        for key in family.papers:
            paper = next(p for p in PAPERS if p.key == key)
            assert {path for path, _ in paper.pages} & set(family.pages), (family.key, key)
    assert gallery_pages <= set(registry.pages())


def test_attribution_entries_name_checkpoints_of_their_own_family():
    for family in registry.FAMILIES:
        own = {spec.name for spec in family.checkpoints}
        assert [e.name for e in family.attribution if e.name not in own] == [], family.key
        assert {e.adapter for e in family.attribution} <= {
            "kim_cnn",
            "han",
            "flat",
            "minilm",
            "tagger",
        }


def test_loader_classes_and_functions_exist():
    import importlib

    for path in registry.model_classes().values():
        module, name = path.split(":")
        assert hasattr(getattr(importlib.import_module(module), name), "from_checkpoint"), path
    for family in registry.FAMILIES:
        if family.loader is not None:
            module, name = family.loader.split(":")
            assert callable(getattr(importlib.import_module(module), name)), family.loader


def test_reading_the_registry_imports_no_torch_and_no_streamlit():
    code = (
        "import sys; import nlpviz.registry; "
        "print(sorted(m for m in ('torch', 'streamlit') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert out.stdout.strip() == "[]"
