"""CPU latency of the translators: a 20-word sentence, beam 1 and beam 5, each model.

Run from the repository root::

    .venv/bin/python benchmarks/bench_translation.py                  # 10 repeats
    .venv/bin/python benchmarks/bench_translation.py --repeats 30 --json artifacts/bench_tr.json

What is measured, per checkpoint (``translate-lstm``, ``-lstm-reversed``, ``-lstm-attention``,
``-transformer``), with the server's thread setting (``configure_serving_threads``: one torch
thread unless ``NLPVIZ_TORCH_THREADS`` says otherwise):

* search: ``beam_search`` alone (encoder once, one decoder step per output piece, the whole
  tree kept), beam 1 (greedy) and beam 5;
* view: what the page computes per model and beam (``analysis.translate``): source pieces, the
  beam search, the teacher-forced re-read that returns every attention map, the tree arrays.

The sentence has 20 words (a news-like sentence, inside the training range); its piece count
and each model's output length are reported, since decoding time grows with the output.
Target: beam 5 on the Transformer within 300 ms (the page's view, p50).

With ``--training``, also one training update (forward, backward, Adam) of each attention-free
LSTM's architecture on the trainer's first batches of 64 pairs (when ``nlpviz data
translation-pairs`` has built them; else random ids, source and target 16-40 pieces), with the
encoder reading the padded batch in dense segments (what the CPU does) and, for comparison, as
a packed sequence (PyTorch's own reading, one time step at a time on a CPU).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
for _path in (REPO_ROOT, BENCH_DIR):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench_kim_cnn import cpu_model, summary_ms, verdict  # noqa: E402

from nlpviz.analysis import translation as analysis  # noqa: E402
from nlpviz.checkpoints import load_checkpoint  # noqa: E402
from nlpviz.data.translation import PAD_ID  # noqa: E402
from nlpviz.device import configure_serving_threads  # noqa: E402
from nlpviz.models.beam import beam_search  # noqa: E402
from nlpviz.models.seq2seq import Seq2Seq  # noqa: E402

SENTENCE = (
    "The government said on Tuesday that it would spend more money on schools and roads in "
    "the north next year."
)
TARGET_MS = 300.0


def packed_reading(model: Seq2Seq, embedded: torch.Tensor, lengths: torch.Tensor):
    """The encoder's reading of a packed batch (what it does on a GPU), for comparison."""
    packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
    outputs, (hidden, cell) = model.encoder(packed)
    outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=embedded.shape[1])
    return outputs, hidden, cell


def trainer_batches(n: int) -> list[tuple[torch.Tensor, ...]]:
    """The trainer's first ``n`` batches (src, tgt_in, tgt_out), or [] without the pairs."""
    from nlpviz.data.sources import MissingTrainingData
    from nlpviz.data.translation import load_pairs
    from nlpviz.train import translation as trainer

    recipe = trainer.recipe_for("lstm")
    try:
        corpus = load_pairs(None, recipe.split_seed)
    except MissingTrainingData:
        return []
    checkpoint = load_checkpoint("translate-lstm", family="translation")
    src_tok, tgt_tok = analysis.tokenizers_from_checkpoint(checkpoint)
    train = trainer.encode_pairs(corpus.train, src_tok, tgt_tok, recipe.max_pieces)
    order = trainer.epoch_batches(train, recipe.batch_size, seed=1, epoch=0)[:n]
    return [trainer.collate(train, indices) for indices in order]


def time_training_updates(repeats: int, warmup: int) -> dict:
    """p50 of one training update of each attention-free LSTM, segmented vs packed reading."""
    batches = trainer_batches(warmup + repeats)
    source = "the trainer's first" if batches else "random"
    rng = torch.Generator().manual_seed(0)
    for _ in range(warmup + repeats - len(batches)):
        lengths = torch.randint(16, 41, (2, 64), generator=rng)  # (2, B): source, target
        src = torch.randint(4, 3000, (64, int(lengths[0].max())), generator=rng)
        tgt = torch.randint(4, 3000, (64, int(lengths[1].max()) + 1), generator=rng)
        for row, (s_len, t_len) in enumerate(lengths.T.tolist()):
            src[row, s_len:] = PAD_ID
            tgt[row, t_len + 1 :] = PAD_ID
        batches.append((src, tgt[:, :-1], tgt[:, 1:]))
    print(f"training updates on {source} batches of 64 pairs")
    results = {}
    for name in ("translate-lstm", "translate-lstm-reversed"):
        checkpoint = load_checkpoint(name, family="translation")
        config = analysis.model_from_checkpoint(checkpoint).config
        for reading in ("segments", "packed"):
            torch.manual_seed(0)
            model = Seq2Seq(config).train()
            if reading == "packed":
                model._read_in_segments = lambda x, n, m=model: packed_reading(m, x, n.cpu())
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
            seconds = []
            for i, (src, tgt_in, tgt_out) in enumerate(batches):
                start = time.perf_counter()
                logits = model(src, tgt_in).logits  # (B, T, V)
                loss = F.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1), ignore_index=PAD_ID
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if i >= warmup:
                    seconds.append(time.perf_counter() - start)
            results.setdefault(name, {"layers": config.n_layers, "hidden": config.d_hidden})
            results[name][reading] = summary_ms(seconds)
        row = results[name]
        print(
            f"{name:26s} training update ({row['layers']} x {row['hidden']}): "
            f"p50 {row['segments']['p50_ms']:.0f} ms in segments, "
            f"{row['packed']['p50_ms']:.0f} ms packed"
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", default=None, help="write the numbers here")
    parser.add_argument("--training", action="store_true", help="also time training updates")
    args = parser.parse_args(argv)
    threads = configure_serving_threads()
    assert len(SENTENCE.split()) == 20, len(SENTENCE.split())
    device = torch.device("cpu")
    report = {
        "cpu": cpu_model(),
        "torch_threads": threads,
        "torch": torch.__version__,
        "sentence": SENTENCE,
        "models": {},
    }
    print(f"CPU: {report['cpu']} · torch threads {threads} · {args.repeats} repeats")
    for name in analysis.CHECKPOINTS:
        checkpoint = load_checkpoint(name, family="translation")
        model = analysis.model_from_checkpoint(checkpoint).eval()
        src_tok, tgt_tok = analysis.tokenizers_from_checkpoint(checkpoint)
        source = analysis.prepare_source(src_tok, SENTENCE)
        src = torch.tensor([source.ids])
        entry = {"source_pieces": len(source.ids)}
        for beam in (1, 5):
            search, view, out_len = [], [], 0
            with torch.no_grad():
                for i in range(args.warmup + args.repeats):
                    start = time.perf_counter()
                    result = beam_search(model, src, beam)
                    middle = time.perf_counter()
                    analysis.translate(model, src_tok, tgt_tok, SENTENCE, beam, device)
                    end = time.perf_counter()
                    if i >= args.warmup:
                        search.append(middle - start)
                        view.append(end - middle)
                    out_len = len(result.tokens)
            entry[f"beam{beam}"] = {
                "search": summary_ms(search),
                "view": summary_ms(view),
                "output_pieces": out_len,
                "tree_nodes": len(result.nodes),
            }
            row = entry[f"beam{beam}"]
            print(
                f"{name:26s} beam {beam}: search p50 {row['search']['p50_ms']:7.1f} ms, "
                f"view p50 {row['view']['p50_ms']:7.1f} ms "
                f"({len(source.ids)} source pieces -> {out_len} output pieces, "
                f"{len(result.nodes)} tree nodes)"
            )
        report["models"][name] = entry
    transformer = report["models"]["translate-transformer"]["beam5"]["view"]["p50_ms"]
    ok = transformer <= TARGET_MS
    report["target"] = {
        "transformer_beam5_view_p50_ms": transformer,
        "limit_ms": TARGET_MS,
        "pass": ok,
    }
    print(f"Transformer beam 5 view p50 {transformer:.1f} ms <= {TARGET_MS:.0f} ms: {verdict(ok)}")
    if args.training:
        report["training_update"] = time_training_updates(args.repeats, args.warmup)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
