"""The ``nlpviz`` command: ``nlpviz train NAME [--device cuda] [--seed N]`` and ``nlpviz list``."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch

from nlpviz.checkpoints import CheckpointError, read_card
from nlpviz.data.sources import MissingTrainingData
from nlpviz.device import pick_device

log = logging.getLogger("nlpviz")


@dataclass(frozen=True)
class Trainable:
    description: str
    train: Callable[[str, torch.device, int, str], dict]


def _kim(variant: str, task: str) -> Trainable:
    def run(name: str, device: torch.device, seed: int, command: str) -> dict:
        from nlpviz.train.kim_cnn import KimRecipe, train_kim_cnn

        return train_kim_cnn(name, KimRecipe(variant=variant, task=task), device, seed, command)

    return Trainable(f"Kim CNN-{variant} on the {task.upper()}-like task", run)


def _han(model: str, task: str) -> Trainable:
    def run(name: str, device: torch.device, seed: int, command: str) -> dict:
        from nlpviz.train.han import recipe_for, train_han

        return train_han(name, recipe_for(model, task), device, seed, command)

    titles = {"han": "HAN", "flat_gru": "Flat attention BiGRU", "mean_embedding": "Mean-vector"}
    data = {"news": "news outlets (9)", "drugs": "drug reviews (3)"}
    return Trainable(f"{titles[model]} on {data[task]}", run)


def _tagger(variant: str, task: str) -> Trainable:
    def run(name: str, device: torch.device, seed: int, command: str) -> dict:
        from nlpviz.train.tagger import TaggerRecipe, train_tagger

        # The silver news corpus is ten times WNUT's size: fewer epochs fit the same budget.
        epochs = 12 if task.startswith("wnut") else 5
        recipe = TaggerRecipe(variant=variant, task=task, epochs=epochs)
        return train_tagger(name, recipe, device, seed, command)

    return Trainable(f"{variant.upper()} tagger on {task}", run)


def _encoder(design: str) -> Trainable:
    def run(name: str, device: torch.device, seed: int, command: str) -> dict:
        from nlpviz.train.encoders import recipe_for, train_encoder

        return train_encoder(name, recipe_for(design), device, seed, command)

    titles = {"bert": "BERT", "roberta": "RoBERTa", "deberta": "DeBERTa", "debertav3": "DeBERTaV3"}
    return Trainable(f"{titles[design]} miniature encoder (pretrained on news+plays+reviews)", run)


def _lora(quick: bool) -> Trainable:
    def run(name: str, device: torch.device, seed: int, command: str) -> dict:
        from nlpviz.train.lora import train_lora_sweep

        return train_lora_sweep(name, device, seed, command, quick=quick)

    size = "small check (3 ranks, 800 sentences)" if quick else "ranks 1-64, full FT, probe"
    return Trainable(f"LoRA sweep on MiniLM, MR-like: {size}", run)


TRAINABLES: dict[str, Trainable] = {
    "kim-cnn-rand-mr": _kim("rand", "mr"),
    "kim-cnn-static-mr": _kim("static", "mr"),
    "kim-cnn-nonstatic-mr": _kim("non-static", "mr"),
    "kim-cnn-multichannel-mr": _kim("multichannel", "mr"),
    "kim-cnn-rand-subj": _kim("rand", "subj"),
    "kim-cnn-static-subj": _kim("static", "subj"),
    "kim-cnn-nonstatic-subj": _kim("non-static", "subj"),
    "kim-cnn-multichannel-subj": _kim("multichannel", "subj"),
    "han-news": _han("han", "news"),
    "flat-gru-news": _han("flat_gru", "news"),
    "mean-emb-news": _han("mean_embedding", "news"),
    "han-drugs": _han("han", "drugs"),
    "flat-gru-drugs": _han("flat_gru", "drugs"),
    "mean-emb-drugs": _han("mean_embedding", "drugs"),
    "tagger-blstm-wnut-ner": _tagger("blstm", "wnut-ner"),
    "tagger-blstm-cnn-wnut-ner": _tagger("blstm-cnn", "wnut-ner"),
    "tagger-blstm-cnn-crf-wnut-ner": _tagger("blstm-cnn-crf", "wnut-ner"),
    "tagger-blstm-news-ner": _tagger("blstm", "news-ner"),
    "tagger-blstm-cnn-news-ner": _tagger("blstm-cnn", "news-ner"),
    "tagger-blstm-cnn-crf-news-ner": _tagger("blstm-cnn-crf", "news-ner"),
    "tagger-blstm-news-pos": _tagger("blstm", "news-pos"),
    "tagger-blstm-cnn-news-pos": _tagger("blstm-cnn", "news-pos"),
    "tagger-blstm-cnn-crf-news-pos": _tagger("blstm-cnn-crf", "news-pos"),
    "encoder-bert": _encoder("bert"),
    "encoder-roberta": _encoder("roberta"),
    "encoder-deberta": _encoder("deberta"),
    "encoder-debertav3": _encoder("debertav3"),
    "lora-sweep": _lora(quick=False),
    "lora-sweep-quick": _lora(quick=True),
}


# Families in their own modules add their checkpoints here (each module keeps its own recipes).
# --- translation checkpoints ---
def _translation(model: str) -> Trainable:
    def run(name: str, device: torch.device, seed: int, command: str) -> dict:
        from nlpviz.train.translation import TranslationRecipe, train_translation

        return train_translation(name, TranslationRecipe(model=model), device, seed, command)

    titles = {
        "lstm": "LSTM seq2seq (Sutskever 2014), source in order",
        "lstm-reversed": "LSTM seq2seq (Sutskever 2014), source reversed",
        "lstm-attention": "LSTM seq2seq + Luong attention",
        "transformer": "Transformer encoder-decoder (Vaswani 2017)",
    }
    return Trainable(f"{titles[model]}, English->Spanish (apertium pairs)", run)


for _model in ("lstm", "lstm-reversed", "lstm-attention", "transformer"):
    TRAINABLES[f"translate-{_model}"] = _translation(_model)


# --- gated RNN checkpoints ---
def _gated_rnn(name: str, device: torch.device, seed: int, command: str) -> dict:
    from nlpviz.train.gated_rnn import train_by_name

    return train_by_name(name, device, seed, command)


TRAINABLES["chorales-tanh"] = Trainable("tanh RNN on the Bach chorales (music21)", _gated_rnn)
TRAINABLES["chorales-gru"] = Trainable("GRU on the Bach chorales (music21)", _gated_rnn)
TRAINABLES["chorales-lstm"] = Trainable("LSTM on the Bach chorales (music21)", _gated_rnn)
TRAINABLES["chars-tanh"] = Trainable("tanh RNN character LM on news", _gated_rnn)
TRAINABLES["chars-gru"] = Trainable("GRU character LM on news", _gated_rnn)
TRAINABLES["chars-lstm"] = Trainable("LSTM character LM on news", _gated_rnn)
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
    for name in TRAINABLES:
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
    names = list(TRAINABLES) if args.names == ["all"] else args.names
    unknown = [n for n in names if n not in TRAINABLES]
    if unknown:
        print(
            f"unknown checkpoint(s): {', '.join(unknown)}; known: {', '.join(TRAINABLES)}",
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
            card = TRAINABLES[name].train(name, device, args.seed, shlex.join(shlex.split(command)))
        except MissingTrainingData as error:
            print(error, file=sys.stderr)
            return 3
        log.info("%s written: %s", name, card.get("metrics"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
