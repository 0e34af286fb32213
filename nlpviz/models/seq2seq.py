"""LSTM encoder-decoder of Sutskever, Vinyals & Le (2014), "Sequence to Sequence Learning with
Neural Networks" (NeurIPS), with the reversed-source trick (Section 3.3) and, as a third
variant, Luong et al.'s (2015) global attention ("general" score), the step the paper led to.

Section 2 of the paper: a multi-layer LSTM reads the source ``x_1 .. x_S`` into its final state
``(h_S, c_S)``; a second multi-layer LSTM starts from that state and models
``p(y_1 .. y_T | x) = prod_t p(y_t | v, y_1 .. y_{t-1})`` (Eq. 1), ``v`` being the fixed-size
summary. With ``reverse_source`` the encoder reads ``x_S .. x_1`` (the target is never reversed),
which puts the first source words next to the first target words.

Attention (Luong et al. 2015, Eqs. 5-8, without input feeding so that training runs over the
whole target at once): ``score(h_t, hbar_s) = h_t^T W_a hbar_s``,
``a_t = softmax_s(score)``, ``c_t = sum_s a_t(s) hbar_s``, ``htilde_t = tanh(W_c [c_t; h_t])``,
``p(y_t | ...) = softmax(W_s htilde_t)``.

Both the batch forward (teacher forcing) and the one-step decoder used by beam search return
plain frozen dataclasses; nothing is kept on the module.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from nlpviz.data.translation import PAD_ID

ATTENTION_KINDS = (None, "luong")


@dataclass(frozen=True)
class Seq2SeqConfig:
    src_vocab: int
    tgt_vocab: int
    d_embed: int = 256
    d_hidden: int = 256
    n_layers: int = 2
    dropout: float = 0.2
    reverse_source: bool = False
    attention: str | None = None  # None (the paper) or "luong"
    max_len: int = 128  # longest source the model is asked to read (in pieces)

    def __post_init__(self) -> None:
        if self.attention not in ATTENTION_KINDS:
            raise ValueError(f"attention must be one of {ATTENTION_KINDS}, got {self.attention!r}")


def reverse_padded(ids: Tensor, lengths: Tensor) -> Tensor:
    """Reverse the first ``lengths[b]`` entries of each row; padding stays at the end.

    Args:
        ids: (B, S, ...) padded along dim 1.
        lengths: (B,) real lengths.

    Returns:
        (B, S, ...) with row b's real part reversed. Applying it twice gives ``ids`` back.
    """
    batch, width = ids.shape[0], ids.shape[1]
    positions = torch.arange(width, device=ids.device).expand(batch, width)  # (B, S)
    flipped = lengths.unsqueeze(1) - 1 - positions  # (B, S)
    index = torch.where(positions < lengths.unsqueeze(1), flipped, positions)  # (B, S)
    if ids.dim() > 2:
        index = index.view(batch, width, *([1] * (ids.dim() - 2))).expand_as(ids)
    return ids.gather(1, index)


@dataclass(frozen=True)
class EncoderMemory:
    """What the decoder reads: the encoder's outputs (reading order) and final states."""

    outputs: Tensor  # (B, S, H) top-layer states in the order the encoder read the source
    mask: Tensor  # (B, S) bool, True on real tokens (reading order)
    hidden: Tensor  # (L, B, H) final hidden state of every layer
    cell: Tensor  # (L, B, H) final cell state of every layer
    lengths: Tensor  # (B,)


@dataclass(frozen=True)
class Seq2SeqOutput:
    logits: Tensor  # (B, T, V) next-token logits at every target position
    sentence: Tensor  # (B, H) the encoder's final top-layer hidden state: the paper's Figure 2
    encoder_hidden: Tensor  # (L, B, H) final hidden states of every encoder layer
    encoder_outputs: Tensor  # (B, S, H) top-layer states, in SOURCE order (un-reversed)
    decoder_states: Tensor  # (B, T, H) top-layer decoder states
    alignment: Tensor | None  # (B, T, S) attention over source positions (source order)
    read_order: Tensor  # (B, S) source position read at each encoder step


@dataclass(frozen=True)
class StepOutput:
    log_probs: Tensor  # (k, V) log p(next token | prefix, source)
    state: dict  # {"h": (k, L, H), "c": (k, L, H)} hypothesis-first, so beam search can reorder
    alignment: Tensor | None  # (k, S) attention of this step over source positions (source order)


class Seq2Seq(nn.Module):
    """Deep LSTM encoder-decoder; ``config.attention`` adds Luong attention."""

    family = "seq2seq"

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.src_embed = nn.Embedding(c.src_vocab, c.d_embed, padding_idx=PAD_ID)
        self.tgt_embed = nn.Embedding(c.tgt_vocab, c.d_embed, padding_idx=PAD_ID)
        drop = c.dropout if c.n_layers > 1 else 0.0
        self.encoder = nn.LSTM(c.d_embed, c.d_hidden, c.n_layers, batch_first=True, dropout=drop)
        self.decoder = nn.LSTM(c.d_embed, c.d_hidden, c.n_layers, batch_first=True, dropout=drop)
        self.dropout = nn.Dropout(c.dropout)
        if c.attention == "luong":
            self.attn_w = nn.Linear(c.d_hidden, c.d_hidden, bias=False)  # W_a
            self.attn_combine = nn.Linear(2 * c.d_hidden, c.d_hidden, bias=False)  # W_c
        self.out = nn.Linear(c.d_hidden, c.tgt_vocab)  # W_s
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The paper's initialisation: every parameter uniform in [-0.08, 0.08]."""
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -0.08, 0.08)
        with torch.no_grad():
            self.src_embed.weight[PAD_ID].zero_()
            self.tgt_embed.weight[PAD_ID].zero_()

    # ---- encoder ----------------------------------------------------------------------------

    def read_order(self, src: Tensor, lengths: Tensor) -> Tensor:
        """(B, S) source position read at each encoder step (reversed only with the option)."""
        positions = torch.arange(src.shape[1], device=src.device).expand_as(src)
        return reverse_padded(positions, lengths) if self.config.reverse_source else positions

    def encode(self, src: Tensor) -> EncoderMemory:
        """Read a padded source batch.

        Args:
            src: (B, S) source piece ids, padded with PAD_ID at the end; no start/end marks.
        """
        lengths = (src != PAD_ID).sum(1).clamp(min=1)  # (B,)
        if self.config.reverse_source:
            src = reverse_padded(src, lengths)  # the source only: the target is never reversed
        embedded = self.dropout(self.src_embed(src))  # (B, S, E)
        if embedded.device.type == "cpu":
            outputs, hidden, cell = self._read_in_segments(embedded, lengths)
        else:  # cuDNN reads a packed batch natively
            packed = pack_padded_sequence(
                embedded, lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            outputs, (hidden, cell) = self.encoder(packed)  # hidden, cell: (L, B, H)
            outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=src.shape[1])
        mask = torch.arange(src.shape[1], device=src.device)[None, :] < lengths[:, None]
        return EncoderMemory(outputs, mask, hidden, cell, lengths)

    def _read_in_segments(self, embedded: Tensor, lengths: Tensor) -> tuple[Tensor, ...]:
        """What reading the packed batch gives (outputs (B, S, H), zero past each row's end;
        final hidden and cell (L, B, H) at each row's last token), computed faster on a CPU.

        PyTorch reads a packed batch on the CPU one time step at a time (most of a training
        update's time); here the rows, longest first, are read in segments that end where some
        row ends, each segment one dense LSTM call over the rows still running.
        """
        batch, width = embedded.shape[:2]
        order = torch.argsort(lengths, descending=True, stable=True)  # (B,) longest first
        sorted_lengths = lengths[order].tolist()
        rows = embedded[order]  # (B, S, E)
        layers, size = self.config.n_layers, self.config.d_hidden
        hidden = embedded.new_zeros(layers, batch, size)  # (L, running, H)
        cell = embedded.new_zeros(layers, batch, size)
        pieces, final_hidden, final_cell = [], [], []  # per segment: (B, end - start, H), (L, n, H)
        start, running = 0, batch
        for end in sorted(set(sorted_lengths)):
            segment, (hidden, cell) = self.encoder(rows[:running, start:end], (hidden, cell))
            pieces.append(F.pad(segment, (0, 0, 0, 0, 0, batch - running)))  # zero rows that ended
            still = sum(length > end for length in sorted_lengths)
            final_hidden.append(hidden[:, still:])  # (L, running - still, H): the rows ending here
            final_cell.append(cell[:, still:])
            hidden, cell = hidden[:, :still], cell[:, :still]
            start, running = end, still
        outputs = F.pad(torch.cat(pieces, dim=1), (0, 0, 0, width - start))  # (B, S, H) sorted
        restore = torch.argsort(order)  # (B,) sorted position of each original row
        # the segments' finishers come shortest first; reversed they are in sorted (longest) order
        final_hidden = torch.cat(final_hidden[::-1], dim=1)[:, restore]  # (L, B, H)
        final_cell = torch.cat(final_cell[::-1], dim=1)[:, restore]
        return outputs[restore], final_hidden, final_cell

    # ---- decoder ----------------------------------------------------------------------------

    def _attend(self, states: Tensor, memory: EncoderMemory) -> tuple[Tensor, Tensor]:
        """Luong's general attention. states (B, T, H) -> (htilde (B, T, H), probs (B, T, S))."""
        scores = torch.einsum("bth,bsh->bts", self.attn_w(states), memory.outputs)  # (B, T, S)
        scores = scores.masked_fill(~memory.mask[:, None, :], float("-inf"))
        probs = torch.softmax(scores, dim=-1)  # (B, T, S), reading order
        context = torch.einsum("bts,bsh->bth", probs, memory.outputs)  # (B, T, H)
        combined = torch.tanh(self.attn_combine(torch.cat([context, states], dim=-1)))
        return combined, probs

    def _to_source_order(self, per_read: Tensor, memory: EncoderMemory) -> Tensor:
        """Move the last axis of ``per_read`` (..., S) from reading order to source order."""
        if not self.config.reverse_source:
            return per_read
        moved = per_read.movedim(-1, 1)  # (B, S, ...)
        return reverse_padded(moved, memory.lengths).movedim(1, -1)

    def forward(self, src: Tensor, tgt_in: Tensor) -> Seq2SeqOutput:
        """Teacher-forced pass.

        Args:
            src: (B, S) source ids (padded).
            tgt_in: (B, T) target ids shifted right: ``<s> y_1 .. y_{T-1}`` (padded).
        """
        memory = self.encode(src)
        embedded = self.dropout(self.tgt_embed(tgt_in))  # (B, T, E)
        states, _ = self.decoder(embedded, (memory.hidden, memory.cell))  # (B, T, H)
        alignment = None
        top = states
        if self.config.attention == "luong":
            top, probs = self._attend(states, memory)
            alignment = self._to_source_order(probs, memory)  # (B, T, S)
        logits = self.out(self.dropout(top))  # (B, T, V)
        return Seq2SeqOutput(
            logits=logits,
            sentence=memory.hidden[-1],
            encoder_hidden=memory.hidden,
            encoder_outputs=self._to_source_order(memory.outputs.transpose(1, 2), memory)
            .transpose(1, 2)
            .contiguous(),
            decoder_states=states,
            alignment=alignment,
            read_order=self.read_order(src, memory.lengths),
        )

    def start_state(self, memory: EncoderMemory) -> dict:
        """Decoder state before the first step, hypothesis-first: {"h", "c"}: (B, L, H)."""
        return {"h": memory.hidden.transpose(0, 1), "c": memory.cell.transpose(0, 1)}

    def step(self, memory: EncoderMemory, prefixes: Tensor, state: dict) -> StepOutput:
        """One decoding step for ``k`` hypotheses of ONE source sentence.

        Args:
            memory: the encoding of one sentence (batch 1); it is broadcast to the k hypotheses.
            prefixes: (k, t) tokens so far (``<s>`` first); only the last one is read here.
            state: {"h", "c"}: (k, L, H) for the same hypotheses.
        """
        k = prefixes.shape[0]
        last = self.tgt_embed(prefixes[:, -1:])  # (k, 1, E)
        hidden = state["h"].transpose(0, 1).contiguous()  # (L, k, H)
        cell = state["c"].transpose(0, 1).contiguous()
        out, (hidden, cell) = self.decoder(last, (hidden, cell))  # out (k, 1, H)
        alignment = None
        top = out
        if self.config.attention == "luong":
            wide = EncoderMemory(
                memory.outputs.expand(k, -1, -1),
                memory.mask.expand(k, -1),
                memory.hidden,
                memory.cell,
                memory.lengths.expand(k),
            )
            top, probs = self._attend(out, wide)  # probs (k, 1, S)
            alignment = self._to_source_order(probs, wide)[:, 0]  # (k, S)
        log_probs = F.log_softmax(self.out(top[:, 0]).float(), dim=-1)  # (k, V)
        new_state = {"h": hidden.transpose(0, 1), "c": cell.transpose(0, 1)}
        return StepOutput(log_probs, new_state, alignment)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
