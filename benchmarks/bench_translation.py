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
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
for _path in (REPO_ROOT, BENCH_DIR):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench_kim_cnn import cpu_model, summary_ms, verdict  # noqa: E402

from nlpviz.analysis import translation as analysis  # noqa: E402
from nlpviz.checkpoints import load_checkpoint  # noqa: E402
from nlpviz.device import configure_serving_threads  # noqa: E402
from nlpviz.models.beam import beam_search  # noqa: E402

SENTENCE = (
    "The government said on Tuesday that it would spend more money on schools and roads in "
    "the north next year."
)
TARGET_MS = 300.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", default=None, help="write the numbers here")
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
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
