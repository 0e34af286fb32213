"""Left-to-right beam search that keeps its whole search tree (Sutskever et al. 2014, Section 3.2).

The decoder keeps the ``B`` most likely partial translations. At each step every live
hypothesis proposes its ``B`` best next tokens; of the ``B x live`` candidates the ``B`` with the
highest score ``log p(y_1 .. y_t | x) = sum_i log p(y_i | y_<i, x)`` survive. A survivor ending
in ``</s>`` is finished and leaves the beam. The search stops when the beam is empty, when no
live hypothesis can still beat the best finished one (scores only fall as tokens are added), or
at ``max_len`` steps, so it always terminates. With ``B = 1`` this is greedy decoding.

With a length penalty ``alpha > 0`` (Wu et al. 2016's ``lp(Y) = ((5 + |Y|) / 6)^alpha``, which
Vaswani et al. 2017 used with ``alpha = 0.6``, Section 6.1) finished hypotheses are ranked by
``score / lp(Y)``, so a short output no longer wins just by having fewer negative terms; the
search then stops only when no live hypothesis can still beat the best finished one even at the
longest length. ``alpha = 0`` ranks by the raw score, as Sutskever et al. did.

Every candidate ever scored is a :class:`BeamNode` with its status:
``root``; ``kept`` (survived the step); ``pruned`` (fell out of the beam at that step);
``finished`` (survived and ended with ``</s>``); ``cut`` (alive at ``max_len``);
``stopped`` (alive when a finished hypothesis could no longer be beaten).

The model only needs ``encode(src)``, ``start_state(memory)`` and
``step(memory, prefixes, state) -> (log_probs, state, alignment)`` with hypothesis-first state
tensors (``nlpviz.models.seq2seq`` and ``nlpviz.models.transformer`` both provide them).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from nlpviz.data.translation import BOS_ID, EOS_ID

MAX_BEAM = 10
MAX_OUTPUT_LEN = 100


@dataclass(frozen=True)
class BeamNode:
    id: int
    parent: int  # -1 for the root
    token: int  # BOS_ID for the root
    step: int  # 0 for the root; the token's position in the output otherwise
    token_log_prob: float
    score: float  # sum of token_log_prob along the path from the root
    status: str
    rank: int  # 0 = best candidate of its step


@dataclass(frozen=True)
class BeamResult:
    tokens: tuple[int, ...]  # the chosen translation, without <s> and </s>
    score: float  # sum of the chosen tokens' log-probabilities (never length-normalised)
    normalized_score: float  # score / lp(length): what chose the translation (alpha 0: score)
    length_penalty: float  # alpha
    token_log_probs: tuple[float, ...]  # of every chosen token, </s> included when finished
    finished: bool  # ended with </s> (False: cut at max_len)
    best_leaf: int
    nodes: tuple[BeamNode, ...]
    beam_size: int
    max_len: int
    steps: int

    def path(self, node_id: int) -> list[BeamNode]:
        """Nodes from the root to ``node_id`` (root included)."""
        chain = []
        while node_id >= 0:
            chain.append(self.nodes[node_id])
            node_id = self.nodes[node_id].parent
        return chain[::-1]


def clamp_beam(beam_size: int) -> int:
    """A beam size the search accepts: 1 .. MAX_BEAM."""
    return int(min(max(int(beam_size), 1), MAX_BEAM))


def default_max_len(source_length: int) -> int:
    return int(min(MAX_OUTPUT_LEN, 2 * source_length + 10))


def length_norm(length: int, alpha: float) -> float:
    """``lp(Y) = ((5 + |Y|) / 6)^alpha`` (Wu et al. 2016, Eq. 14); 1 when alpha is 0."""
    return ((5.0 + length) / 6.0) ** alpha if alpha else 1.0


def _reorder(state: dict, parents: Tensor) -> dict:
    return {key: value[parents] for key, value in state.items()}


@torch.no_grad()
def beam_search(
    model, src: Tensor, beam_size: int, max_len: int | None = None, length_penalty: float = 0.0
) -> BeamResult:
    """Translate ONE sentence with beam search and return the whole tree.

    Args:
        model: a ``Seq2Seq`` or ``Transformer`` in eval mode.
        src: (1, S) source ids.
        beam_size: clamped to 1 .. MAX_BEAM.
        max_len: most output tokens (``</s>`` included); default ``2 S + 10``, at most 100.
        length_penalty: alpha of ``lp``; 0 ranks finished hypotheses by their raw score.
    """
    if src.dim() != 2 or src.shape[0] != 1:
        raise ValueError(f"src must have shape (1, S), got {tuple(src.shape)}")
    beam = clamp_beam(beam_size)
    alpha = float(min(max(length_penalty, 0.0), 2.0))
    max_len = default_max_len(src.shape[1]) if max_len is None else max(1, min(max_len, 1000))
    memory = model.encode(src)
    state = model.start_state(memory)
    nodes = [BeamNode(0, -1, BOS_ID, 0, 0.0, 0.0, "root", 0)]
    status: list[str] = ["root"]
    live = [0]
    prefixes = torch.full((1, 1), BOS_ID, dtype=torch.long, device=src.device)
    finished: list[int] = []
    leftovers: list[int] = []
    steps = 0
    for step in range(1, max_len + 1):
        steps = step
        out = model.step(memory, prefixes, state)
        width = min(beam, out.log_probs.shape[-1])
        top_values, top_ids = out.log_probs.topk(width, dim=-1)  # (k, width)
        top_values, top_ids = top_values.cpu().tolist(), top_ids.cpu().tolist()
        candidates = []  # (score, row, token, log_prob)
        for row, parent in enumerate(live):
            for value, token in zip(top_values[row], top_ids[row], strict=True):
                candidates.append((nodes[parent].score + value, row, token, value))
        order = sorted(range(len(candidates)), key=lambda i: -candidates[i][0])
        survivors, rows = [], []
        for rank, index in enumerate(order):
            score, row, token, value = candidates[index]
            node_id = len(nodes)
            kept = rank < beam
            label = ("finished" if token == EOS_ID else "kept") if kept else "pruned"
            nodes.append(BeamNode(node_id, live[row], token, step, value, score, label, rank))
            status.append(label)
            if label == "finished":
                finished.append(node_id)
            elif label == "kept":
                survivors.append(node_id)
                rows.append(row)
        if not survivors:
            break
        best_done = max(
            (nodes[i].score / length_norm(nodes[i].step, alpha) for i in finished),
            default=float("-inf"),
        )
        # the best any live hypothesis can still reach: scores only fall, lp only grows
        reachable = max(nodes[i].score for i in survivors) / length_norm(max_len, alpha)
        if step == max_len or best_done >= reachable:
            label = "cut" if step == max_len else "stopped"
            for node_id in survivors:
                status[node_id] = label
            leftovers = survivors
            break
        parents = torch.tensor(rows, dtype=torch.long, device=src.device)
        state = _reorder(out.state, parents)
        new_tokens = torch.tensor(
            [[nodes[i].token] for i in survivors], dtype=torch.long, device=src.device
        )
        prefixes = torch.cat([prefixes[parents], new_tokens], dim=1)
        live = survivors
    nodes = [
        BeamNode(n.id, n.parent, n.token, n.step, n.token_log_prob, n.score, status[n.id], n.rank)
        for n in nodes
    ]
    pool = finished or leftovers
    best = max(pool, key=lambda i: nodes[i].score / length_norm(nodes[i].step, alpha))
    chain = []
    node_id = best
    while node_id > 0:
        chain.append(nodes[node_id])
        node_id = nodes[node_id].parent
    chain = chain[::-1]
    done = nodes[best].token == EOS_ID
    tokens = tuple(n.token for n in chain if not (done and n is chain[-1]))
    return BeamResult(
        tokens=tokens,
        score=nodes[best].score,
        normalized_score=nodes[best].score / length_norm(nodes[best].step, alpha),
        length_penalty=alpha,
        token_log_probs=tuple(n.token_log_prob for n in chain),
        finished=done,
        best_leaf=best,
        nodes=tuple(nodes),
        beam_size=beam,
        max_len=max_len,
        steps=steps,
    )


@torch.no_grad()
def greedy_decode(model, src: Tensor, max_len: int | None = None) -> list[list[int]]:
    """Greedy decoding of a batch: at each step the most likely token (no tree kept).

    Args:
        src: (B, S) padded source ids.

    Returns:
        B token lists without <s> and </s>.
    """
    max_len = default_max_len(src.shape[1]) if max_len is None else max_len
    memory = model.encode(src)
    state = model.start_state(memory)
    batch = src.shape[0]
    prefixes = torch.full((batch, 1), BOS_ID, dtype=torch.long, device=src.device)
    done = torch.zeros(batch, dtype=torch.bool, device=src.device)
    for _ in range(max_len):
        out = model.step(memory, prefixes, state)
        state = out.state
        token = out.log_probs.argmax(-1)  # (B,)
        token = torch.where(done, torch.full_like(token, EOS_ID), token)
        prefixes = torch.cat([prefixes, token[:, None]], dim=1)
        done = done | (token == EOS_ID)
        if bool(done.all()):
            break
    outputs = []
    for row in prefixes[:, 1:].cpu().tolist():
        outputs.append(row[: row.index(EOS_ID)] if EOS_ID in row else row)
    return outputs
