"""Linear-chain CRF of Ma & Hovy (2016), "End-to-end Sequence Labeling via Bi-directional
LSTM-CNNs-CRF" (ACL), Section 2.3.

For emissions ``P`` (one score per position and tag, from the BiLSTM) and a tag path
``y = (y_1, ..., y_n)`` the score is

``score(x, y) = start[y_1] + sum_i P[i, y_i] + sum_{i>1} A[y_{i-1}, y_i] + end[y_n]``

with the transition matrix ``A`` indexed (from tag, to tag) and learned start/end transitions
(the paper's special start and end tags). ``p(y | x) = exp(score(x, y)) / Z(x)`` where the
partition function ``Z(x)`` sums over every path; training minimises ``-log p(y | x)``, decoding
takes the highest-scoring path (Viterbi).

Everything is computed in log space: the forward algorithm gives ``log Z`` (``logsumexp`` where
Viterbi takes ``max``), forward-backward gives per-position tag marginals, and a list-Viterbi
that keeps the k best partial paths per tag gives the exact k best paths.

Optional hard constraints (e.g. BIO: no ``O -> I-X``, no ``B-X -> I-Y``, no start at ``I-X``)
are masks applied when scoring, not edits of the parameters: a forbidden move scores
:data:`IMPOSSIBLE` instead of its learned value, so the learned matrix stays readable and the
page can show it next to :meth:`CRF.effective_transitions`. The masks are construction
arguments (non-persistent buffers): a checkpoint holds the three parameters only, and the
tagger rebuilds the masks from its tag list with :func:`bio_constraints`.

The end of the file has the span-level metric a BIO tagger needs: :func:`entity_f1` (exact span
match, micro-averaged) over :func:`nlpviz.data.tags.bio_to_spans` (conlleval's chunking).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from nlpviz.data.tags import IMPOSSIBLE, bio_to_spans, split_tag

REDUCTIONS = ("mean", "sum", "token_mean", "none")


@dataclass(frozen=True)
class ViterbiResult:
    """The best path of each sequence and its unnormalised score."""

    paths: list[list[int]]  # per sequence: one tag index per real position
    scores: torch.Tensor  # (batch,) score(x, y*) of each best path


def bio_constraints(tags: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Allowed moves of the BIO scheme for a tag list such as ``["O", "B-PER", "I-PER"]``.

    ``I-X`` may only follow ``B-X`` or ``I-X`` and may not open a sentence; every other move
    is allowed, and any tag may end a sentence. Tags without a ``B-``/``I-`` prefix (``O``,
    padding labels) are treated as outside.

    Args:
        tags: the tag names, in tag-index order.

    Returns:
        ``(allowed, allowed_start, allowed_end)``: bool tensors of shapes (tags, tags) indexed
        (from, to), (tags,) and (tags,).
    """
    parsed = [split_tag(tag) for tag in tags]
    size = len(tags)
    allowed = torch.ones(size, size, dtype=torch.bool)  # (from, to)
    allowed_start = torch.ones(size, dtype=torch.bool)  # (tags,)
    allowed_end = torch.ones(size, dtype=torch.bool)  # (tags,)
    for to, (to_prefix, to_type) in enumerate(parsed):
        if to_prefix != "I":
            continue
        allowed_start[to] = False
        for source, (from_prefix, from_type) in enumerate(parsed):
            allowed[source, to] = from_prefix in ("B", "I") and from_type == to_type
    return allowed, allowed_start, allowed_end


class CRF(nn.Module):
    """Linear-chain CRF over ``num_tags`` tags (Ma & Hovy 2016, Section 2.3).

    Args:
        num_tags: number of tags T.
        allowed: optional (T, T) bool mask, (from, to); False marks a forbidden transition.
        allowed_start: optional (T,) bool mask of tags a sequence may start with.
        allowed_end: optional (T,) bool mask of tags a sequence may end with.

    All methods take ``emissions`` (batch, seq, T) and an optional ``mask`` (batch, seq) bool,
    True on real positions; the mask must be a prefix mask whose first column is all True
    (every sequence has at least one token). ``None`` means every position is real.
    """

    def __init__(
        self,
        num_tags: int,
        allowed: torch.Tensor | None = None,
        allowed_start: torch.Tensor | None = None,
        allowed_end: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        if num_tags < 1:
            raise ValueError(f"num_tags must be >= 1, got {num_tags}")
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))  # (from, to)
        self.start_transitions = nn.Parameter(torch.empty(num_tags))  # (tags,)
        self.end_transitions = nn.Parameter(torch.empty(num_tags))  # (tags,)
        nn.init.uniform_(self.transitions, -0.1, 0.1)
        nn.init.uniform_(self.start_transitions, -0.1, 0.1)
        nn.init.uniform_(self.end_transitions, -0.1, 0.1)
        masks = {
            "allowed": (allowed, (num_tags, num_tags)),
            "allowed_start": (allowed_start, (num_tags,)),
            "allowed_end": (allowed_end, (num_tags,)),
        }
        for name, (value, shape) in masks.items():
            if value is None:
                value = torch.ones(shape, dtype=torch.bool)
            if tuple(value.shape) != shape:
                raise ValueError(f"{name} has shape {tuple(value.shape)}, expected {shape}")
            self.register_buffer(name, value.to(torch.bool).clone(), persistent=False)

    @property
    def constrained(self) -> bool:
        """Whether any move is forbidden."""
        return not bool(self.allowed.all() & self.allowed_start.all() & self.allowed_end.all())

    def effective_transitions(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The transition scores actually used: learned values, :data:`IMPOSSIBLE` where forbidden.

        Returns:
            ``(transitions (T, T) indexed (from, to), start (T,), end (T,))``.
        """
        transitions = self.transitions.masked_fill(~self.allowed, IMPOSSIBLE)  # (from, to)
        start = self.start_transitions.masked_fill(~self.allowed_start, IMPOSSIBLE)  # (T,)
        end = self.end_transitions.masked_fill(~self.allowed_end, IMPOSSIBLE)  # (T,)
        return transitions, start, end

    # ------------------------------------------------------------------ checks

    def _check(self, emissions: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Validate shapes and the prefix mask; return the mask as bool (batch, seq)."""
        if emissions.dim() != 3 or emissions.shape[-1] != self.num_tags:
            raise ValueError(
                f"emissions must be (batch, seq, {self.num_tags}), got {tuple(emissions.shape)}"
            )
        batch, seq, _ = emissions.shape
        if seq < 1:
            raise ValueError("emissions need at least one position")
        if mask is None:
            return torch.ones(batch, seq, dtype=torch.bool, device=emissions.device)
        if tuple(mask.shape) != (batch, seq):
            raise ValueError(f"mask has shape {tuple(mask.shape)}, emissions need {(batch, seq)}")
        mask = mask.to(torch.bool)
        if not bool(mask[:, 0].all()):
            raise ValueError("mask[:, 0] must be True: every sequence needs a first token")
        if bool((mask[:, 1:] & ~mask[:, :-1]).any()):
            raise ValueError("mask must be a prefix mask (True then False along each row)")
        return mask

    def _check_tags(self, emissions: torch.Tensor, tags: torch.Tensor) -> None:
        if tuple(tags.shape) != tuple(emissions.shape[:2]):
            raise ValueError(
                f"tags have shape {tuple(tags.shape)}, emissions need {tuple(emissions.shape[:2])}"
            )

    # ------------------------------------------------------------------ training

    def score(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Unnormalised score(x, y) of the given paths.

        Args:
            emissions: (batch, seq, T).
            tags: (batch, seq) long tag indices; padded positions are ignored.
            mask: (batch, seq) bool prefix mask.

        Returns:
            (batch,) scores.
        """
        mask = self._check(emissions, mask)
        self._check_tags(emissions, tags)
        tags = tags.long().masked_fill(~mask, 0)  # (batch, seq), padding -> any valid index
        transitions, start, end = self.effective_transitions()
        weights = mask.to(emissions.dtype)  # (batch, seq)
        emitted = emissions.gather(2, tags.unsqueeze(-1)).squeeze(-1)  # (batch, seq)
        total = (emitted * weights).sum(dim=1)  # (batch,)
        total = total + start[tags[:, 0]]  # (batch,)
        moves = transitions[tags[:, :-1], tags[:, 1:]]  # (batch, seq - 1)
        total = total + (moves * weights[:, 1:]).sum(dim=1)  # (batch,)
        last = mask.sum(dim=1) - 1  # (batch,) index of each last real position
        last_tags = tags.gather(1, last.unsqueeze(1)).squeeze(1)  # (batch,)
        return total + end[last_tags]  # (batch,)

    def log_partition(
        self, emissions: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """log Z(x) by the forward algorithm in log space.

        Args:
            emissions: (batch, seq, T).
            mask: (batch, seq) bool prefix mask.

        Returns:
            (batch,) log partition functions.
        """
        alphas = self._forward_alphas(emissions, self._check(emissions, mask))  # (B, seq, T)
        _, _, end = self.effective_transitions()
        return torch.logsumexp(alphas[:, -1] + end, dim=-1)  # (batch,)

    def _forward_alphas(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """alpha[b, i, t] = log-sum of the scores of all prefixes ending in tag t at position i.

        At padded positions alpha repeats the last real position's value, so ``alphas[:, -1]``
        is each sequence's final alpha.
        """
        transitions, start, _ = self.effective_transitions()
        alpha = start + emissions[:, 0]  # (batch, T)
        alphas = [alpha]
        for i in range(1, emissions.shape[1]):
            # (batch, from, 1) + (from, to) + (batch, 1, to) -> (batch, from, to)
            step = alpha.unsqueeze(2) + transitions + emissions[:, i].unsqueeze(1)
            alpha = torch.where(mask[:, i, None], torch.logsumexp(step, dim=1), alpha)  # (B, T)
            alphas.append(alpha)
        return torch.stack(alphas, dim=1)  # (batch, seq, T)

    def _backward_betas(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """beta[b, i, t] = log-sum of the scores of all suffixes after tag t at position i.

        On each sequence's last real position beta is the end transition; padding holds it too.
        """
        transitions, _, end = self.effective_transitions()
        batch, seq, num_tags = emissions.shape
        beta = end.expand(batch, num_tags)  # (batch, T)
        betas = [beta]
        for i in range(seq - 2, -1, -1):
            # (from, to) + (batch, 1, to) + (batch, 1, to) -> (batch, from, to)
            step = transitions + (emissions[:, i + 1] + beta).unsqueeze(1)
            beta = torch.where(mask[:, i + 1, None], torch.logsumexp(step, dim=2), end)  # (B, T)
            betas.append(beta)
        return torch.stack(betas[::-1], dim=1)  # (batch, seq, T)

    def neg_log_likelihood(
        self,
        emissions: torch.Tensor,
        tags: torch.Tensor,
        mask: torch.Tensor | None = None,
        reduction: str = "mean",
    ) -> torch.Tensor:
        """``-log p(y | x) = log Z(x) - score(x, y)``.

        Args:
            emissions: (batch, seq, T).
            tags: (batch, seq) gold tag indices.
            mask: (batch, seq) bool prefix mask.
            reduction: "mean" (over the batch), "sum", "token_mean" (sum / real tokens) or
                "none" (the (batch,) vector).

        Returns:
            A scalar, or (batch,) for ``reduction="none"``.
        """
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        mask = self._check(emissions, mask)
        nll = self.log_partition(emissions, mask) - self.score(emissions, tags, mask)  # (B,)
        if reduction == "mean":
            return nll.mean()
        if reduction == "sum":
            return nll.sum()
        if reduction == "token_mean":
            return nll.sum() / mask.sum()
        return nll

    # Calling the module is the training loss: one definition, so the two cannot disagree.
    forward = neg_log_likelihood

    # ------------------------------------------------------------------ inference

    def marginals(self, emissions: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Per-position tag marginals p(y_i = t | x) by forward-backward.

        Args:
            emissions: (batch, seq, T).
            mask: (batch, seq) bool prefix mask.

        Returns:
            (batch, seq, T): rows sum to 1 on real positions and are 0 on padding.
        """
        mask = self._check(emissions, mask)
        alphas = self._forward_alphas(emissions, mask)  # (batch, seq, T)
        betas = self._backward_betas(emissions, mask)  # (batch, seq, T)
        _, _, end = self.effective_transitions()
        log_z = torch.logsumexp(alphas[:, -1] + end, dim=-1)  # (batch,)
        probs = torch.exp(alphas + betas - log_z[:, None, None])  # (batch, seq, T)
        return probs * mask.unsqueeze(-1).to(probs.dtype)  # (batch, seq, T)

    @torch.no_grad()
    def viterbi(self, emissions: torch.Tensor, mask: torch.Tensor | None = None) -> ViterbiResult:
        """The highest-scoring path of each sequence (Viterbi: the forward algorithm with max).

        Args:
            emissions: (batch, seq, T).
            mask: (batch, seq) bool prefix mask.

        Returns:
            :class:`ViterbiResult` with one path per sequence (its real length) and (batch,) scores.
        """
        mask = self._check(emissions, mask)
        transitions, start, end = self.effective_transitions()
        batch, seq, num_tags = emissions.shape
        keep = torch.arange(num_tags, device=emissions.device).expand(batch, num_tags)  # (B, T)
        delta = start + emissions[:, 0]  # (batch, T)
        pointers = []
        for i in range(1, seq):
            step = delta.unsqueeze(2) + transitions + emissions[:, i].unsqueeze(1)  # (B, from, to)
            best, where = step.max(dim=1)  # (batch, to) each
            delta = torch.where(mask[:, i, None], best, delta)  # (batch, T)
            pointers.append(torch.where(mask[:, i, None], where, keep))  # (batch, T)
        final = delta + end  # (batch, T)
        scores, last = final.max(dim=-1)  # (batch,) each
        lengths = mask.sum(dim=1).tolist()
        last_tags = last.tolist()
        pointer_rows = [p.tolist() for p in pointers]  # seq - 1 lists of (batch, T)
        paths = []
        for b in range(batch):
            tag = last_tags[b]
            path = [tag]
            for i in range(lengths[b] - 2, -1, -1):
                tag = pointer_rows[i][b][tag]  # pointer into position i from position i + 1
                path.append(tag)
            paths.append(path[::-1])
        return ViterbiResult(paths=paths, scores=scores)

    @torch.no_grad()
    def k_best(self, emissions: torch.Tensor, k: int) -> list[tuple[list[int], float]]:
        """The k highest-scoring paths of one sequence, best first (exact list-Viterbi).

        Each (position, tag) keeps its k best partial paths; the k best complete paths are
        among the extensions of those, so the result is exact. Fewer than k paths come back
        when the sequence has fewer than k paths.

        Args:
            emissions: (seq, T) or (1, seq, T) for one unpadded sequence.
            k: number of paths, >= 1.

        Returns:
            ``[(path, score), ...]`` in descending order of score.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if emissions.dim() == 3:
            if emissions.shape[0] != 1:
                raise ValueError(f"k_best takes one sequence, got batch {emissions.shape[0]}")
            emissions = emissions[0]
        self._check(emissions.unsqueeze(0), None)
        transitions, start, end = self.effective_transitions()
        seq, num_tags = emissions.shape
        # scores[t, r]: r-th best prefix ending in tag t; -inf where fewer than r + 1 exist.
        scores = emissions.new_full((num_tags, k), float("-inf"))  # (T, k)
        scores[:, 0] = start + emissions[0]
        pointers = []  # per step: (k, T) flat indices into (from, rank)
        for i in range(1, seq):
            # (from, k, 1) + (from, 1, to) + (1, 1, to) -> (from, k, to)
            step = scores.unsqueeze(2) + transitions.unsqueeze(1) + emissions[i]
            best, where = step.reshape(num_tags * k, num_tags).topk(k, dim=0)  # (k, to) each
            scores = best.T  # (T, k)
            pointers.append(where)  # (k, to)
        final = (scores + end.unsqueeze(1)).reshape(-1)  # (T * k,) index = tag * k + rank
        top, flat = final.topk(min(k, final.numel()))  # (k,) each
        results = []
        for value, index in zip(top.tolist(), flat.tolist(), strict=True):
            if value == float("-inf"):
                break
            tag, rank = divmod(index, k)
            path = [tag]
            for where in reversed(pointers):
                tag, rank = divmod(int(where[rank, tag]), k)
                path.append(tag)
            results.append((path[::-1], value))
        return results


# ---------------------------------------------------------------------- span metrics (BIO)


def entity_f1(gold: list[list[str]], pred: list[list[str]]) -> dict:
    """Micro-averaged entity precision, recall and F1 with exact span match (type and bounds).

    Args:
        gold: gold BIO tags, one list per sentence.
        pred: predicted BIO tags, same sentences and lengths.

    Returns:
        ``{"precision", "recall", "f1"}`` as floats (0.0 when undefined) and
        ``{"tp", "fp", "fn"}`` as ints.
    """
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} sentences, pred has {len(pred)}")
    tp = fp = fn = 0
    for n, (gold_tags, pred_tags) in enumerate(zip(gold, pred, strict=True)):
        if len(gold_tags) != len(pred_tags):
            raise ValueError(
                f"sentence {n}: gold has {len(gold_tags)} tags, pred has {len(pred_tags)}"
            )
        gold_spans = set(bio_to_spans(gold_tags))
        pred_spans = set(bio_to_spans(pred_tags))
        tp += len(gold_spans & pred_spans)
        fp += len(pred_spans - gold_spans)
        fn += len(gold_spans - pred_spans)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}
