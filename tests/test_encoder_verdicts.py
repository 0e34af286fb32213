"""The encoders' paper-ordering verdicts: judged at equal steps only, ties within one SE."""

from __future__ import annotations

from nlpviz.analysis.encoders import comparison_rows, ordering_verdicts


def _card(probe: float, steps: int, cloze: dict | None = None) -> dict:
    metrics = {
        "mlm_loss": 5.0,
        "mlm_accuracy": 20.0,
        "probe_mr_accuracy": probe,
        "probe": {"test_sentences": 1276},
    }
    if cloze:
        metrics["cloze"] = cloze
    return {
        "metrics": metrics,
        "recipe": {"steps": steps},
        "run": {"wall_time_s": 1.0},
        "tokenizer": {"kind": "wordpiece"},
    }


def test_a_clear_win_at_equal_steps_is_reproduced_and_a_small_one_is_a_tie():
    # one SE at p = 0.6, n = 1276: 100 * sqrt(2 * 0.24 / 1276) = 1.94 points
    cards = {
        "bert": _card(60.0, 1000),
        "roberta": _card(63.0, 1000),
        "deberta": _card(64.0, 1000),
        "debertav3": _card(60.0, 1000),
    }
    verdicts = {claim: ok for claim, ok, _ in ordering_verdicts(cards)}
    assert verdicts == {
        "RoBERTa > BERT": True,
        "DeBERTa > RoBERTa": False,
        "DeBERTaV3 > DeBERTa": False,
    }


def test_designs_trained_for_different_steps_are_not_judged():
    cards = {
        "bert": _card(60.0, 10_000),
        "roberta": _card(70.0, 10_000),
        "deberta": _card(75.0, 5_000),
        "debertav3": _card(80.0, 5_000),
    }
    verdicts = {claim: (ok, text) for claim, ok, text in ordering_verdicts(cards)}
    assert verdicts["RoBERTa > BERT"][0] is True
    ok, text = verdicts["DeBERTa > RoBERTa"]
    assert ok is None and "5,000 vs 10,000" in text
    assert verdicts["DeBERTaV3 > DeBERTa"][0] is True


def test_comparison_rows_carry_the_cloze_scores_or_none():
    cloze = {"top1_accuracy": 10.0, "top5_accuracy": 30.0, "top1_content_word": 70.0}
    rows = comparison_rows({"bert": _card(60.0, 10, cloze), "roberta": _card(60.0, 10)})
    assert (rows[0]["cloze_top1"], rows[0]["cloze_top5"]) == (10.0, 30.0)
    assert rows[0]["cloze_top1_content_word"] == 70.0
    assert rows[1]["cloze_top5"] is None
