"""The cloze probe answered by word counts alone, over the masked LMs' own training documents.

    .venv/bin/python benchmarks/cloze_count_baseline.py            # needs the training extras

A yardstick for the encoders' cloze scores (issue 15): the count model of
``nlpviz.analysis.cloze_counts`` is built from the training split of the pretraining corpus (the
documents the encoders learn from; held-out documents left out) and scored on
``tests/data/cloze.tsv`` exactly like the cards' cloze figures (the hidden word among the top 5).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from nlpviz.analysis.cloze_counts import CountModel, count_cloze_scores  # noqa: E402
from nlpviz.analysis.encoders import load_cloze  # noqa: E402
from nlpviz.data.pretrain import load_pretraining_corpus  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split-seed", type=int, default=13, help="the encoders' split seed")
    parser.add_argument("--show", action="store_true", help="print every sentence's top 5")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    corpus = load_pretraining_corpus(args.split_seed)
    model = CountModel.from_sentences(s for document in corpus.train for s in document)
    scores = count_cloze_scores(model, load_cloze())
    if args.show:
        for row in scores["predictions"]:
            print(f"  {row['answer']:16s} {' '.join(row['top5'])}")
    print(
        f"Count model over {model.total:,} training words ({len(model.candidates):,} candidate "
        f"words): cloze top-1 {scores['top1_accuracy']:.1f}%, top-5 {scores['top5_accuracy']:.1f}% "
        f"of {scores['sentences']} sentences ({time.perf_counter() - started:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
