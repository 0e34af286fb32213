"""The pieces every trainer shares: scoring the weights as stored, and resuming a run."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from nlpviz.checkpoints import load_checkpoint, load_state_into, save_checkpoint
from nlpviz.train.common import as_stored, load_as_stored, resume, save_train_state, snapshot


@dataclass(frozen=True)
class Recipe:
    lr: float = 0.1
    steps: int = 4


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(5, 3)
        self.register_buffer("counts", torch.tensor([3001, 7]))  # not rounded: not floating


def _trained(seed: int = 0) -> tuple[Tiny, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = Tiny()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    model.linear(torch.randn(4, 5)).pow(2).sum().backward()
    optimizer.step()
    return model, optimizer


def test_the_scored_weights_are_the_ones_the_app_loads(tmp_path):
    model, _ = _trained()
    save_checkpoint("tiny", model.state_dict(), {"family": "test"}, root=tmp_path)
    loaded = load_state_into(Tiny(), load_checkpoint("tiny", root=tmp_path))
    scored = load_as_stored(model)
    for key, value in loaded.state_dict().items():
        assert torch.equal(scored.state_dict()[key], value), key
    assert not torch.equal(scored.linear.weight, _trained()[0].linear.weight)  # it did round


def test_as_stored_leaves_the_state_it_is_given_alone():
    model, _ = _trained()
    best = snapshot(model)
    before = {k: v.clone() for k, v in best.items()}
    rounded = as_stored(best)
    assert all(torch.equal(best[k], before[k]) for k in best)
    assert rounded["linear.weight"].dtype == torch.float32
    assert torch.equal(rounded["counts"], before["counts"])


def test_a_run_resumes_where_it_stopped_and_only_its_own(tmp_path):
    path = tmp_path / "state" / "run.pt"
    model, optimizer = _trained()
    generator = torch.Generator().manual_seed(5)
    history = [{"step": 3, "dev": 0.5}]
    save_train_state(
        path,
        model,
        optimizer,
        Recipe(),
        1,
        3,
        12.5,
        history,
        cpu=9.0,
        generator=generator.get_state(),
    )

    fresh, fresh_optimizer = _trained(seed=1)
    assert (
        resume(path, fresh, fresh_optimizer, Recipe(), seed=2, device=torch.device("cpu")) is None
    )
    assert resume(path, fresh, fresh_optimizer, Recipe(lr=0.2), 1, torch.device("cpu")) is None
    assert not torch.equal(fresh.linear.weight, model.linear.weight)  # refused: left alone

    state = resume(path, fresh, fresh_optimizer, Recipe(), 1, torch.device("cpu"))
    assert state is not None
    assert (state["step"], state["wall"], state["history"], state["cpu"]) == (3, 12.5, history, 9.0)
    assert torch.equal(state["generator"], generator.get_state())
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in fresh.state_dict().items())
    moments = fresh_optimizer.state_dict()["state"][0]["exp_avg"]
    assert torch.equal(moments, optimizer.state_dict()["state"][0]["exp_avg"])
    assert (
        resume(tmp_path / "none.pt", fresh, fresh_optimizer, Recipe(), 1, torch.device("cpu"))
        is None
    )
