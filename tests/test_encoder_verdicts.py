"""The encoders' paper-ordering verdicts: judged at equal steps only, by the two-SE rule."""

from __future__ import annotations

from pytest import approx

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


def test_a_clear_win_at_equal_steps_is_reproduced_and_a_small_one_is_not():
    # 2 SE for 65% vs 60% on 1276: 2 sqrt((.65 * .35 + .6 * .4) / 1276) = 3.83 points < 5;
    # for 66% vs 65%: 3.76 points > 1
    cards = {
        "bert": _card(60.0, 1000),
        "roberta": _card(65.0, 1000),
        "deberta": _card(66.0, 1000),
        "debertav3": _card(60.0, 1000),
    }
    verdicts = {v.claim: v.reproduced for v in ordering_verdicts(cards)}
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
    verdicts = {v.claim: v for v in ordering_verdicts(cards)}
    assert verdicts["RoBERTa > BERT"].reproduced is True
    deberta = verdicts["DeBERTa > RoBERTa"]
    assert deberta.reproduced is None and "5,000 vs 10,000" in deberta.reason
    assert verdicts["DeBERTaV3 > DeBERTa"].reproduced is True


def test_a_gap_just_under_two_standard_errors_is_not_reproduced():
    # 2 SE for 63% vs 60% on 1276 sentences: 2 sqrt((.63 * .37 + .6 * .4) / 1276) = 3.85 points
    cards = {"bert": _card(60.0, 1000), "roberta": _card(63.0, 1000)}
    roberta = ordering_verdicts(cards)[0]
    assert roberta.reproduced is False
    assert roberta.comparisons[0].margin == approx(0.0385, abs=5e-5)


def test_comparison_rows_carry_the_cloze_scores_or_none():
    cloze = {"top1_accuracy": 10.0, "top5_accuracy": 30.0, "top1_content_word": 70.0}
    rows = comparison_rows({"bert": _card(60.0, 10, cloze), "roberta": _card(60.0, 10)})
    assert (rows[0]["cloze_top1"], rows[0]["cloze_top5"]) == (10.0, 30.0)
    assert rows[0]["cloze_top1_content_word"] == 70.0
    assert rows[1]["cloze_top5"] is None


def _continued(card: dict, after: int, *more: int) -> dict:
    stages, done = [], after
    for steps in more:
        stages.append({"after_steps": done, "recipe": {"steps": steps}})
        done += steps
    return {**card, "continued": stages}


def test_a_continued_pretraining_counts_every_stage_when_judging_equal_budgets():
    from nlpviz.analysis.encoders import continuation_note, pretraining_steps

    bert = _continued(_card(60.0, 10_000), 10_000, 4_000, 3_000)
    roberta = _continued(_card(65.0, 10_000), 10_000, 7_000)
    assert pretraining_steps(bert) == 17_000 and pretraining_steps(_card(60.0, 6_000)) == 6_000
    cards = {
        "bert": bert,
        "roberta": roberta,
        "deberta": _card(66.0, 17_000),
        "debertav3": _card(60.0, 6_000),
    }
    verdicts = {v.claim: v for v in ordering_verdicts(cards)}
    assert verdicts["RoBERTa > BERT"].reproduced is True  # 17,000 = 17,000: judged
    assert verdicts["DeBERTa > RoBERTa"].reproduced is False  # judged too, 1 point < 3.8
    v3 = verdicts["DeBERTaV3 > DeBERTa"]
    assert v3.reproduced is None and "(6,000 vs 17,000)" in v3.reason
    assert [r["steps"] for r in comparison_rows(cards)] == [17_000, 17_000, 17_000, 6_000]
    note = continuation_note(cards, {"bert": "BERT", "roberta": "RoBERTa"})
    assert note.startswith(
        "Pretrained in stages: BERT 10,000 + 4,000 + 3,000, RoBERTa 10,000 + 7,000 steps."
    )
    assert continuation_note({"deberta": _card(60.0, 6_000)}, {}) is None
