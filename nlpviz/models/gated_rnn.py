"""Chung et al. (2014), "Empirical Evaluation of Gated Recurrent Neural Networks on Sequence
Modeling": a tanh RNN, a GRU and an LSTM, written out gate by gate (Section 3).

Every cell keeps PyTorch's parameter layout (``weight_ih`` (G*H, D), ``weight_hh`` (G*H, H),
``bias_ih``, ``bias_hh``, gates stacked in PyTorch's order) so the explicit step can be checked
against ``torch.nn.RNN`` / ``GRU`` / ``LSTM`` with the same tensors, and so training may run
the fused kernels on the very same parameters (:func:`fused_rnn`).

* tanh unit (Eq. 1 of the paper):  ``h_t = tanh(W x_t + U h_{t-1} + b)``.
* GRU (Eqs. 5-8, PyTorch/cuDNN variant of the reset gate)::

      r_t = sigma(W_r x_t + b_ir + U_r h_{t-1} + b_hr)          reset gate
      z_t = sigma(W_z x_t + b_iz + U_z h_{t-1} + b_hz)          update gate
      n_t = tanh(W_n x_t + b_in + r_t * (U_n h_{t-1} + b_hn))   candidate
      h_t = (1 - z_t) * n_t + z_t * h_{t-1}

  The paper applies the reset gate before the product, ``U (r_t * h_{t-1})``, and names the
  update gate the share of the *new* state; here ``z_t`` is the share of the *old* state kept.
* LSTM (Eqs. 2-4, without the paper's peephole connections)::

      i_t = sigma(W_i x_t + U_i h_{t-1} + b_i)   input gate
      f_t = sigma(W_f x_t + U_f h_{t-1} + b_f)   forget gate
      g_t = tanh(W_g x_t + U_g h_{t-1} + b_g)    candidate cell
      o_t = sigma(W_o x_t + U_o h_{t-1} + b_o)   output gate
      c_t = f_t * c_{t-1} + i_t * g_t
      h_t = o_t * tanh(c_t)

A :class:`SequenceModel` reads either piano-roll frames (binary vectors, the polyphonic music
task: independent sigmoid outputs, Section 4.1) or characters (an embedding, softmax outputs), and
``forward`` returns every gate and state at every step in a frozen :class:`RecurrentOutput`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from nlpviz.checkpoints import Checkpoint, model_from_card

CELLS = ("tanh", "gru", "lstm")
GATE_COUNT = {"tanh": 1, "gru": 3, "lstm": 4}
# Gate names in PyTorch's stacking order (rows of weight_ih / weight_hh).
GATE_NAMES = {
    "tanh": ("state",),
    "gru": ("reset", "update", "candidate"),
    "lstm": ("input", "forget", "candidate", "output"),
}
# What the page shows for each cell: the sigmoid gates first, then the states.
SHOWN = {
    "tanh": ("hidden",),
    "gru": ("update", "reset", "candidate", "hidden"),
    "lstm": ("input", "forget", "output", "candidate", "cell", "hidden"),
}
TASKS = ("music", "chars")
LSTM_FORGET_BIAS = 1.0  # initial b_if: without it an LSTM forgets everything while it starts


@dataclass(frozen=True)
class GatedRNNConfig:
    """One recurrent layer and a linear read-out.

    Attributes:
        cell: "tanh", "gru" or "lstm".
        task: "music" (inputs and outputs are ``n_inputs``-dim binary frames, sigmoid outputs)
            or "chars" (inputs are ids into an ``n_inputs``-symbol alphabet, softmax outputs).
        n_inputs: pitches of a piano-roll frame, or the alphabet size.
        hidden: recurrent units.
        embed_dim: character embedding size (task "chars" only).
    """

    cell: str
    task: str
    n_inputs: int
    hidden: int
    embed_dim: int = 0

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {self.cell!r}")
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if self.n_inputs < 1 or self.hidden < 1:
            raise ValueError(f"sizes must be positive: n_inputs={self.n_inputs}, {self.hidden=}")
        if self.task == "chars" and self.embed_dim < 1:
            raise ValueError("a character model needs embed_dim >= 1")

    @property
    def input_dim(self) -> int:
        return self.n_inputs if self.task == "music" else self.embed_dim

    def to_json(self) -> dict:
        return asdict(self)


def parameter_count(cell: str, task: str, n_inputs: int, hidden: int, embed_dim: int = 0) -> int:
    """Trainable parameters of a :class:`SequenceModel` (PyTorch keeps two bias vectors)."""
    gates = GATE_COUNT[cell]
    input_dim = n_inputs if task == "music" else embed_dim
    embedding = n_inputs * embed_dim if task == "chars" else 0
    recurrent = gates * hidden * (input_dim + hidden + 2)
    readout = (hidden + 1) * n_inputs
    return embedding + recurrent + readout


def units_for_budget(cell: str, task: str, n_inputs: int, budget: int, embed_dim: int = 0) -> int:
    """The number of units whose model has the parameter count closest to ``budget``.

    The paper sized its tanh, GRU and LSTM networks to roughly the same number of parameters;
    this solves for the units of each cell given one budget.
    """
    best = min(
        range(1, 4096),
        key=lambda h: abs(parameter_count(cell, task, n_inputs, h, embed_dim) - budget),
    )
    return best


@dataclass(frozen=True)
class RecurrentOutput:
    """Everything one forward pass computed; all tensors are (batch, time, ...) .

    Attributes:
        logits: (batch, time, n_inputs) note logits (music) or character logits (chars); step t
            predicts input t + 1.
        hidden: (batch, time, hidden) h_t.
        gates: name -> (batch, time, hidden): "reset"/"update"/"candidate" (GRU),
            "input"/"forget"/"output"/"candidate" (LSTM); empty for the tanh cell.
        cell: (batch, time, hidden) c_t of an LSTM, else None.
        final: the state after the last step, to continue from: (h,) or (h, c), each (batch, H).
    """

    logits: torch.Tensor
    hidden: torch.Tensor
    gates: dict[str, torch.Tensor]
    cell: torch.Tensor | None
    final: tuple[torch.Tensor, ...]

    def series(self, name: str) -> torch.Tensor:
        """(batch, time, hidden) of a gate or state named as in :data:`SHOWN`."""
        if name == "hidden":
            return self.hidden
        if name == "cell" and self.cell is not None:
            return self.cell
        if name in self.gates:
            return self.gates[name]
        raise KeyError(f"no series {name!r}; this output has hidden, {sorted(self.gates)}")


class RecurrentCell(nn.Module):
    """A tanh, GRU or LSTM cell stepped explicitly over time, with PyTorch's parameter layout."""

    def __init__(self, cell: str, input_dim: int, hidden: int) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
        self.kind = cell
        self.input_dim = input_dim
        self.hidden = hidden
        rows = GATE_COUNT[cell] * hidden
        self.weight_ih = nn.Parameter(torch.empty(rows, input_dim))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden))
        self.bias_ih = nn.Parameter(torch.empty(rows))
        self.bias_hh = nn.Parameter(torch.empty(rows))
        bound = 1.0 / math.sqrt(hidden)  # PyTorch's default for its recurrent layers
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)
        if cell == "lstm":  # forget gates start open (bias 1; Gers et al. 2000, Jozefowicz 2015)
            with torch.no_grad():
                self.bias_ih[hidden : 2 * hidden].fill_(LSTM_FORGET_BIAS)

    def initial_state(self, batch: int, device: torch.device) -> tuple[torch.Tensor, ...]:
        zeros = torch.zeros(batch, self.hidden, device=device)
        return (zeros, zeros.clone()) if self.kind == "lstm" else (zeros,)

    def forward(
        self, inputs: torch.Tensor, state: tuple[torch.Tensor, ...] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor | None, tuple]:
        """Run the cell over (batch, time, input_dim) inputs.

        Returns:
            hidden (batch, time, H); gates name -> (batch, time, H); cell (batch, time, H) or
            None; the final state.
        """
        if inputs.dim() != 3 or inputs.shape[-1] != self.input_dim:
            raise ValueError(
                f"inputs must be (batch, time, {self.input_dim}), got {tuple(inputs.shape)}"
            )
        batch, steps, _ = inputs.shape
        if state is None:
            state = self.initial_state(batch, inputs.device)
        projected = torch.addmm(  # (batch * time, G*H): the input part of every step at once
            self.bias_ih, inputs.reshape(-1, self.input_dim), self.weight_ih.T
        ).reshape(batch, steps, -1)
        weight_hh_t = self.weight_hh.T.contiguous()  # (H, G*H)
        if self.kind != "gru":  # both biases go in up front; the GRU needs U_n h + b_hn apart
            projected = projected + self.bias_hh
        h = state[0]
        c = state[1] if self.kind == "lstm" else None
        H = self.hidden
        hiddens: list[torch.Tensor] = []
        cells: list[torch.Tensor] = []
        squashed: list[torch.Tensor] = []  # per step: GRU r|z, LSTM sigmoid(i|f|g|o)
        candidates: list[torch.Tensor] = []  # per step: GRU n, LSTM g
        for t in range(steps):
            if self.kind == "tanh":
                h = torch.tanh(torch.addmm(projected[:, t], h, weight_hh_t))
            elif self.kind == "gru":
                x_t = projected[:, t]  # (batch, 3H)
                recurrent = torch.addmm(self.bias_hh, h, weight_hh_t)  # (batch, 3H)
                rz = torch.sigmoid(x_t[:, : 2 * H] + recurrent[:, : 2 * H])  # r | z
                n = torch.tanh(torch.addcmul(x_t[:, 2 * H :], rz[:, :H], recurrent[:, 2 * H :]))
                h = torch.lerp(n, h, rz[:, H:])  # (1 - z) * n + z * h
                squashed.append(rz)
                candidates.append(n)
            else:
                pre = torch.addmm(projected[:, t], h, weight_hh_t)  # (batch, 4H): i | f | g | o
                sig = torch.sigmoid(pre)  # i, f, o are read from here (g's slice is unused)
                g = torch.tanh(pre[:, 2 * H : 3 * H])
                c = torch.addcmul(sig[:, H : 2 * H] * c, sig[:, :H], g)  # f * c + i * g
                h = sig[:, 3 * H :] * torch.tanh(c)
                squashed.append(sig)
                candidates.append(g)
                cells.append(c)
            hiddens.append(h)
        empty = inputs.new_zeros(batch, 0, H)
        hidden_seq = torch.stack(hiddens, dim=1) if hiddens else empty
        gate_seq: dict[str, torch.Tensor] = {}
        if self.kind != "tanh":
            sig_seq = torch.stack(squashed, dim=1) if squashed else None  # (batch, time, 2H | 4H)
            for k, name in enumerate(GATE_NAMES[self.kind]):
                if name == "candidate":
                    gate_seq[name] = torch.stack(candidates, dim=1) if candidates else empty
                else:
                    gate_seq[name] = empty if sig_seq is None else sig_seq[..., k * H : (k + 1) * H]
        cell_seq = None
        if self.kind == "lstm":
            cell_seq = torch.stack(cells, dim=1) if cells else empty
        final = (h, c) if self.kind == "lstm" else (h,)
        return hidden_seq, gate_seq, cell_seq, final


def fused_rnn(cell: RecurrentCell) -> nn.RNNBase:
    """A ``torch.nn.RNN``/``GRU``/``LSTM`` whose parameters ARE ``cell``'s (shared, not copied).

    Training runs the fused kernel for speed; the page runs the explicit steps; the parity tests
    check both give the same states.
    """
    classes = {"tanh": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
    kwargs = {"nonlinearity": "tanh"} if cell.kind == "tanh" else {}
    # built on the meta device: its own parameters are never allocated, ours replace them
    rnn = classes[cell.kind](cell.input_dim, cell.hidden, batch_first=True, device="meta", **kwargs)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        setattr(rnn, f"{name}_l0", getattr(cell, name))  # RNNBase refreshes its flat weights
    return rnn


class SequenceModel(nn.Module):
    """Embedding (chars) or raw frames (music) -> one recurrent layer -> linear read-out."""

    def __init__(self, config: GatedRNNConfig) -> None:
        super().__init__()
        self.config = config
        if config.task == "chars":
            self.embedding = nn.Embedding(config.n_inputs, config.embed_dim)
        self.rnn = RecurrentCell(config.cell, config.input_dim, config.hidden)
        self.readout = nn.Linear(config.hidden, config.n_inputs)

    def embed(self, inputs: torch.Tensor) -> torch.Tensor:
        """(batch, time) ids or (batch, time, pitches) frames -> (batch, time, input_dim)."""
        if self.config.task == "chars":
            if inputs.dim() != 2:
                raise ValueError(f"character ids must be (batch, time), got {tuple(inputs.shape)}")
            return self.embedding(inputs.long())
        if inputs.dim() != 3 or inputs.shape[-1] != self.config.n_inputs:
            raise ValueError(
                f"frames must be (batch, time, {self.config.n_inputs}), got {tuple(inputs.shape)}"
            )
        return inputs.float()

    def forward(
        self, inputs: torch.Tensor, state: tuple[torch.Tensor, ...] | None = None
    ) -> RecurrentOutput:
        """Step the explicit cell over the inputs and return every gate and state."""
        hidden, gates, cell, final = self.rnn(self.embed(inputs), state)
        return RecurrentOutput(
            logits=self.readout(hidden), hidden=hidden, gates=gates, cell=cell, final=final
        )

    def fast_logits(
        self,
        inputs: torch.Tensor,
        rnn: nn.RNNBase,
        state: tuple[torch.Tensor, ...] | None = None,
        dropout: float = 0.0,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Logits through the fused kernel ``rnn = fused_rnn(self.rnn)`` (training only).

        ``dropout`` drops hidden units on their way to the read-out only (not along the
        recurrence, which keeps the cell's memory intact), in training mode.
        """
        embedded = self.embed(inputs)
        torch_state = None
        if state is not None:
            torch_state = (
                tuple(s.unsqueeze(0) for s in state)
                if self.config.cell == "lstm"
                else state[0].unsqueeze(0)
            )
        hidden, final = rnn(embedded, torch_state)
        final = tuple(s.squeeze(0) for s in final) if isinstance(final, tuple) else (final[0],)
        hidden = nn.functional.dropout(hidden, dropout, self.training)
        return self.readout(hidden), final

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint) -> SequenceModel:
        return model_from_card(cls, GatedRNNConfig, checkpoint, "gated-RNN")


def frame_nll(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood per frame (nats), notes independent given the past.

    ``-log p(x_t | x_<t) = -sum_k [x_tk log s_tk + (1 - x_tk) log(1 - s_tk)]``, s = sigmoid(logits),
    summed over the pitches k and averaged over the real frames (``mask``), as in the paper's
    Table 2 for the music data sets.

    Args:
        logits: (batch, time, pitches); targets: same shape, 0/1; mask: (batch, time) bool.
    """
    if logits.shape != targets.shape or logits.shape[:2] != mask.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)}, targets {tuple(targets.shape)} and mask "
            f"{tuple(mask.shape)} do not fit together"
        )
    per_note = nn.functional.binary_cross_entropy_with_logits(
        logits, targets.float(), reduction="none"
    )  # (batch, time, pitches)
    per_frame = per_note.sum(-1) * mask  # (batch, time)
    return per_frame.sum() / mask.sum().clamp(min=1)


def bits_per_char(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy in bits of (batch, time, vocab) logits against (batch, time) ids."""
    nats = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    return nats / math.log(2.0)
