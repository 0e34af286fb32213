"""The ``nlpviz`` command: ``nlpviz train NAME [--device cuda] [--seed N]`` and ``nlpviz list``."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Callable

from nlpviz import registry
from nlpviz.checkpoints import CheckpointError, read_card
from nlpviz.data.sources import MissingTrainingData
from nlpviz.device import pick_device
from nlpviz.families import CheckpointSpec

log = logging.getLogger("nlpviz")


# Every checkpoint the registry names, in its order: ``nlpviz train NAME`` rebuilds each one.
TRAINABLES: dict[str, CheckpointSpec] = dict(registry.CHECKPOINTS)
DEFAULT_SEED = 1


def _silver_news(out: str | None, max_articles: int | None) -> dict:
    from nlpviz.data.conll import build_silver_news

    return build_silver_news(out, max_articles)


def _translation_pairs(out: str | None, max_articles: int | None) -> dict:
    from nlpviz.data.translation import build_pairs

    return build_pairs(out, max_articles)


# ``nlpviz data NAME``: (what it builds, builder(out or None, max_articles or None) -> record).
DATA_BUILDERS: dict[str, tuple[str, Callable[[str | None, int | None], dict]]] = {
    "silver-news": ("spaCy-tagged news", _silver_news),
    # --- translation data ---
    "translation-pairs": ("English->Spanish pairs via apertium", _translation_pairs),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nlpviz", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a checkpoint from the bundled data")
    train.add_argument("names", nargs="+", metavar="NAME", help="checkpoint name(s), or 'all'")
    train.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    train.add_argument("--seed", type=int, default=DEFAULT_SEED)
    data = sub.add_parser("data", help="build a derived training corpus (training only)")
    data.add_argument(
        "corpus",
        choices=sorted(DATA_BUILDERS),
        help="; ".join(f"{name}: {what}" for name, (what, _) in sorted(DATA_BUILDERS.items())),
    )
    data.add_argument("--max-articles", type=int, default=None, help="a seeded sample")
    data.add_argument("--out", default=None, help="where to write it (default: NLPVIZ_CACHE)")
    listing = sub.add_parser("list", help="list the checkpoints nlpviz can train and their state")
    listing.add_argument(
        "--markdown", action="store_true", help="print the README's table of trained checkpoints"
    )
    return parser


def _score(metrics: dict) -> str:
    """A card's held-out score in the unit its task uses."""
    if "test_f1" in metrics:
        return f"F1 {metrics['test_f1']:.1%}"
    if "mlm_accuracy" in metrics:
        score = f"MLM {metrics['mlm_accuracy']:.1f}%"
        if "rtd_auc" in metrics:
            score += f", RTD AUC {metrics['rtd_auc']:.3f}"
        return score + f"; MR probe {metrics['probe_mr_accuracy']:.1f}%"
    if "test_bleu" in metrics:
        return f"BLEU {metrics['test_bleu']:.1f}, perplexity {metrics['test_perplexity']:.1f}"
    if "test_nll" in metrics:
        return f"NLL {metrics['test_nll']:.2f} nats/frame"
    if "test_bpc" in metrics:
        return f"{metrics['test_bpc']:.3f} bits/char"
    if "test_accuracy" in metrics:
        return f"{metrics['test_accuracy']:.1%}"
    return "—"


def _quoted(paper: dict, metrics: dict) -> str:
    """The paper's figure as the card quotes it: percentages for accuracy-like metrics only."""
    value = paper.get("value")
    if value is None:
        return "—"
    metric = str(paper.get("metric", ""))
    if "accuracy" in metric.lower() or "f1" in metric.lower():
        # fractions for the classifiers and taggers, percentages for the encoders' papers
        quoted = f"{(value / 100 if value > 1 else value):.1%} ({paper['source']})"
        return f"{metric}: {quoted}" if "mlm_accuracy" in metrics else quoted
    return f"{metric}: {value:g} ({paper['source']})"


def _markdown_table() -> int:
    print("| checkpoint | command | wall time | device | held-out score | paper |")
    print("|---|---|---|---|---|---|")
    for name, spec in TRAINABLES.items():
        if spec.sweep is not None:  # its row is in the sweep's card, not in this table
            continue
        try:
            card = read_card(name)
        except CheckpointError:
            print(f"| {name} | `{TRAINABLES[name].description}` | not trained | | | |")
            continue
        run, paper, metrics = card["run"], card["paper_figure"], card["metrics"]
        print(
            f"| {name} | `{run['command']}` | {run['wall_time_s']:.0f} s | {run['device']} | "
            f"{_score(metrics)} | {_quoted(paper, metrics)} |"
        )
    return 0


def _list(markdown: bool = False) -> int:
    if markdown:
        return _markdown_table()
    for name, trainable in TRAINABLES.items():
        try:
            card = read_card(name)
            state = f"trained, {_score(card.get('metrics', {}))}"
        except CheckpointError:
            state = "not trained"
        print(f"{name:28s} {trainable.description:45s} {state}")
    return 0


def train_names(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """(the checkpoints ``nlpviz train`` would build, the names it does not know)."""
    if args.names == ["all"]:  # a sweep trains its own runs
        return [n for n, s in TRAINABLES.items() if s.sweep is None], []
    return list(args.names), [n for n in args.names if n not in TRAINABLES]


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    if args.command == "data":
        _, build = DATA_BUILDERS[args.corpus]
        try:
            record = build(args.out, args.max_articles)
        except MissingTrainingData as error:
            print(error, file=sys.stderr)
            return 3
        log.info("%s corpus written: %s", args.corpus, {k: record[k] for k in list(record)[:6]})
        return 0
    if args.command == "list":
        return _list(args.markdown)
    names, unknown = train_names(args)
    if unknown:
        print(
            f"unknown checkpoint(s): {', '.join(unknown)}; known: {', '.join(TRAINABLES)}",
            file=sys.stderr,
        )
        return 2
    fixed = [n for n in names if TRAINABLES[n].seed not in (None, args.seed)]
    if args.seed != DEFAULT_SEED and fixed:
        print(
            f"--seed {args.seed} contradicts the seed in the name of {', '.join(fixed)}",
            file=sys.stderr,
        )
        return 2
    try:
        device = pick_device(requested=args.device)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 2
    for name in names:
        command = " ".join(
            ["nlpviz", "train", name]
            + (["--device", args.device] if args.device else [])
            + (["--seed", str(args.seed)] if args.seed != DEFAULT_SEED else [])
        )
        try:
            spec = TRAINABLES[name]
            seed = args.seed if spec.seed is None else spec.seed
            card = spec.train(spec, device, seed, shlex.join(shlex.split(command)))
        except MissingTrainingData as error:
            print(error, file=sys.stderr)
            return 3
        log.info("%s written: %s", name, card.get("metrics"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
