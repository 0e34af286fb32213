"""The cloze probe answered by word counts alone, over the masked LMs' own training documents.

    .venv/bin/python benchmarks/cloze_count_baseline.py            # needs the training extras

A yardstick for the encoders' cloze scores (issue 15): the count model of
``nlpviz.analysis.cloze_counts`` is built from the training split of the pretraining corpus (the
documents the encoders learn from; held-out documents left out) and scored on
``tests/data/cloze.tsv`` exactly like the cards' cloze figures (the hidden word among the top 5).

With ``--held-out N`` it also cuts up to N gaps from the held-out documents (one content word of a
sentence hidden, ``analysis.encoders.held_out_gaps``), keeps those whose word every committed
encoder's tokenizer holds as one piece (so that each can find it at all), and scores the count
model and the four encoders on the same gaps: a larger sample than the 60 sentences (one of
them is 1.7 points), drawn from text none of them learnt from.
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
from nlpviz.analysis.encoders import held_out_gaps, load_cloze  # noqa: E402
from nlpviz.data.pretrain import load_pretraining_corpus  # noqa: E402


def encoders_on(gaps) -> tuple[list, dict[str, dict]]:
    """The gaps every committed encoder can fill with one piece, and each encoder's scores."""
    import torch

    from nlpviz.analysis.encoders import cloze_scores, tokenizer_from_checkpoint
    from nlpviz.checkpoints import CheckpointError, load_checkpoint
    from nlpviz.families.encoders import FAMILY
    from nlpviz.models.encoders import model_from_checkpoint

    loaded = {}
    for spec in FAMILY.checkpoints:
        try:
            checkpoint = load_checkpoint(spec.name, family="encoder")
        except CheckpointError as error:
            print(f"  {spec.label}: not scored ({error})")
            continue
        model = model_from_checkpoint(checkpoint).eval()
        loaded[spec.label] = (model, tokenizer_from_checkpoint(checkpoint))
    common = [
        g for g in gaps if all(len(tok.encode(" " + g.answer)) == 1 for _, tok in loaded.values())
    ]
    cpu = torch.device("cpu")
    return common, {
        label: cloze_scores(model, tok, common, cpu) for label, (model, tok) in loaded.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split-seed", type=int, default=13, help="the encoders' split seed")
    parser.add_argument("--show", action="store_true", help="print every sentence's top 5")
    parser.add_argument(
        "--held-out",
        type=int,
        default=0,
        metavar="N",
        help="also score the count model and the encoders on up to N held-out gaps",
    )
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
    if args.held_out:
        cut = held_out_gaps(corpus.held_out, args.held_out)
        gaps, by_encoder = encoders_on(cut)
        counts = count_cloze_scores(model, gaps)
        print(
            f"Held-out gaps ({len(gaps)} of the {len(cut)} cut, the hidden word one piece for "
            "every encoder): top-1 / top-5 / top-1 is a content word"
        )
        top1, top5 = counts["top1_accuracy"], counts["top5_accuracy"]
        print(f"  {'count model':12s} {top1:5.1f}% / {top5:5.1f}%")
        for label, got in by_encoder.items():
            print(
                f"  {label:12s} {got['top1_accuracy']:5.1f}% / {got['top5_accuracy']:5.1f}% / "
                f"{got['top1_content_word']:5.1f}%"
            )
        print(f"({time.perf_counter() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
