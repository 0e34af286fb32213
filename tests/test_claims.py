"""The one rule for a paper's claim: oracles computed by hand, and the one renderer."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from nlpviz.claims import (
    CANNOT_BE_JUDGED,
    NOT_REPRODUCED,
    REPRODUCED,
    Comparison,
    Verdict,
    binomial_se,
    cannot_judge,
    judge,
    matches,
    seed_se,
)
from nlpviz.ui.claims import verdict_markdown


def test_binomial_se_by_hand():
    # 0.8 and 0.7 on 100 items each: sqrt(.8*.2/100 + .7*.3/100) = sqrt(.0037) = 0.0608276
    assert binomial_se(0.8, 100, 0.7, 100) == pytest.approx(0.0608276, abs=1e-7)
    # unequal sizes: sqrt(.5*.5/400 + .9*.1/900) = sqrt(.000625 + .0001) = 0.0269258
    assert binomial_se(0.5, 400, 0.9, 900) == pytest.approx(0.0269258, abs=1e-7)
    assert binomial_se(1.0, 10, 0.0, 10) == 0.0
    with pytest.raises(ValueError):
        binomial_se(0.5, 0, 0.5, 10)
    with pytest.raises(ValueError):
        binomial_se(60.0, 100, 0.5, 100)  # a percentage where a fraction belongs


def test_seed_se_by_hand():
    # stds 0.02 over 4 seeds and 0.01 over 2: sqrt(.0004/4 + .0001/2) = sqrt(.00015) = 0.0122474
    assert seed_se(0.02, 4, 0.01, 2) == pytest.approx(0.0122474, abs=1e-7)
    assert seed_se(0.02, 1, 0.01, 2) is None  # one seed has no spread
    assert seed_se(None, 3, 0.01, 3) is None


def test_a_gap_must_exceed_two_standard_errors():
    se = 0.0608276  # the first oracle above: 2 SE = 12.17 points
    assert Comparison("A", "B", 0.8, 0.7, se).outcome == NOT_REPRODUCED  # 10 points
    assert Comparison("A", "B", 0.83, 0.7, se).outcome == REPRODUCED  # 13 points
    assert Comparison("A", "B", 0.7, 0.8, se).outcome == NOT_REPRODUCED
    # exactly on the bar is not beyond it
    assert Comparison("A", "B", 0.9, 0.5, 0.2).outcome == NOT_REPRODUCED
    assert Comparison("A", "B", 0.9, 0.5, 0.199).outcome == REPRODUCED


def test_lower_is_better_turns_the_gap_round():
    ahead = Comparison("LSTM", "tanh", 9.0, 9.5, 0.1, lower_is_better=True)
    assert ahead.difference == pytest.approx(0.5) and ahead.outcome == REPRODUCED
    behind = Comparison("GRU", "tanh", 9.6, 9.5, 0.1, lower_is_better=True)
    assert behind.difference == pytest.approx(-0.1) and behind.outcome == NOT_REPRODUCED


def test_without_a_standard_error_only_a_gap_the_wrong_way_is_judged():
    assert Comparison("A", "B", 30.0, 10.0, None).outcome == CANNOT_BE_JUDGED
    assert Comparison("A", "B", 10.0, 10.0, None).outcome == NOT_REPRODUCED  # a tie fails
    assert Comparison("A", "B", 9.0, 10.0, None).outcome == NOT_REPRODUCED


def test_a_claim_of_several_gaps_needs_every_one():
    win = Comparison("A", "B", 0.9, 0.5, 0.01)
    lose = Comparison("A", "C", 0.5, 0.9, 0.01)
    unknown = Comparison("A", "D", 0.9, 0.5, None)
    assert judge("A beats all", [win, win]).outcome == REPRODUCED
    assert judge("A beats all", [win, lose, unknown]).outcome == NOT_REPRODUCED
    unjudged = judge("A beats all", [win, unknown], unjudged="no SE for D")
    assert unjudged.outcome == CANNOT_BE_JUDGED and unjudged.reproduced is None
    assert unjudged.reason == "no SE for D"
    with pytest.raises(ValueError):
        judge("A beats nothing", [])


def test_matches_is_the_rule_turned_round():
    # "A matches B" holds when "B beats A" fails the rule
    assert matches("A ~ B", Comparison("B", "A", 0.80, 0.79, 0.01)).outcome == REPRODUCED
    assert matches("A ~ B", Comparison("B", "A", 0.85, 0.79, 0.01)).outcome == NOT_REPRODUCED
    unjudged = matches("A ~ B", Comparison("B", "A", 0.85, 0.79, None), note="1 seed")
    assert unjudged.outcome == CANNOT_BE_JUDGED
    assert unjudged.reason.startswith("B is ahead") and unjudged.reason.endswith("; 1 seed")


def test_a_verdict_names_one_of_three_outcomes():
    with pytest.raises(ValueError):
        Verdict("claim", "", "", "holds")
    assert cannot_judge("c", "not trained").reproduced is None


def test_the_description_states_the_gap_and_the_bar():
    comparison = Comparison("A", "B", 0.83, 0.70, 0.0608276, percent=True)
    assert comparison.describe() == (
        "A 83.0% vs B 70.0%: gap +13.0 points, 2 standard errors = 12.2 points"
    )


def test_the_renderer_escapes_every_value_and_keeps_the_quoted_wording():
    hostile = "<img src=x onerror=alert(1)> [link](javascript:x) **bold**"
    verdict = judge(
        "RoBERTa > BERT",
        [Comparison(hostile, "B", 0.9, 0.5, 0.01, percent=True)],
        paper=hostile,
        note=hostile,
    )
    text = verdict_markdown(verdict)
    assert text.startswith("**RoBERTa \\> BERT: reproduced**.")
    for raw in ("<img", "[link", "(javascript", "**bold"):
        assert not re.search(r"(?<!\\)" + re.escape(raw), text), raw  # only escaped copies
    assert "\\<img src=x onerror=alert\\(1\\)\\>" in text
    unjudged = verdict_markdown(cannot_judge("DeBERTa > RoBERTa", "steps (1,500 vs 10,000)"))
    assert unjudged == (
        "**DeBERTa \\> RoBERTa:** cannot be judged here (steps \\(1,500 vs 10,000\\))."
    )


def test_claims_sits_low_in_the_import_order():
    """nlpviz.claims may import only the standard library and numpy."""
    source = Path(__file__).parents[1] / "nlpviz" / "claims.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= {"__future__", "collections", "dataclasses", "math", "numpy"}, imported
