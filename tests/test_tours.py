"""Guided tours: every step opens its page without error and the page shows what the step says.

The phrases in each step's ``expect`` come from the models nlpviz trained; if a retrained model
no longer shows them, this test fails and the tour must be rewritten.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import numpy as np
import pytest
from apptest_helpers import PAGES, messages, plotly_specs
from streamlit.testing.v1 import AppTest

from nlpviz.tours import TOURS

STEPS = [(page, number) for page, tour in TOURS.items() for number in range(len(tour.steps))]


def _shown(at: AppTest) -> str:
    metrics = " | ".join(f"{m.label} {m.value}" for m in at.metric)
    return f"{messages(at)} | {metrics}"


# ---- claims a step makes about a figure or a table, checked on the page's own data ----------


def _array(value) -> np.ndarray:
    """A plotly spec's array: a plain list, or plotly's typed binary ``{dtype, bdata, shape}``."""
    if isinstance(value, dict) and "bdata" in value:
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if shape:
            data = data.reshape([int(n) for n in str(shape).split(",")])
        return data
    return np.asarray(value)


def _figure(at: AppTest, title_start: str) -> dict:
    found = [spec for title, spec in plotly_specs(at).items() if title.startswith(title_start)]
    assert found, f"no figure titled {title_start!r}…"
    return found[0]


def _attention_row(at: AppTest, layer: int, head: int, word: str) -> dict[str, float]:
    """The big map's row of the query token ``word``: key label (no position) -> weight."""
    trace = _figure(at, f"Layer {layer}, head {head}")["data"][0]
    labels = [str(label).replace("<i>", "").replace("</i>", "") for label in trace["y"]]
    words = [label.split("·", 1)[1] for label in labels]
    row = _array(trace["z"]).reshape(len(words), len(words))[words.index(word)]
    weights: dict[str, float] = {}
    for key, weight in zip(words, row, strict=True):
        weights[key] = weights.get(key, 0.0) + float(weight)
    return weights


def _han_sentence_weights(at: AppTest) -> np.ndarray:
    return _array(_figure(at, "Sentence attention")["data"][0]["x"])


def _han_top_word(at: AppTest, sentence: int) -> tuple[str, float]:
    trace = _figure(at, "Word attention per sentence")["data"][0]
    words = [word for word in trace["customdata"][sentence] if word]  # rows are padded with ''
    weights = _array(trace["z"]).reshape(len(trace["customdata"]), -1)[sentence][: len(words)]
    return words[int(np.argmax(weights))], float(np.max(weights))


def _han_step_4_and_5(at: AppTest) -> None:
    from nlpviz.checkpoints import read_card

    assert read_card("han-drugs")["data"]["corpus"]["sizes"]["train"] == 540
    table = next(d.value for d in at.dataframe if "majority-class baseline" in d.value.columns)
    assert set(table["test documents"]) == {379}
    assert set(table["majority-class baseline"].round(1)) == {65.4}


def _tagger_table(at: AppTest):
    return next(d.value for d in at.dataframe if "token" in d.value.columns)


def _han_step_1(at: AppTest) -> None:
    word, weight = _han_top_word(at, 0)
    assert word == "works" and 0.45 < weight < 0.6


def _han_step_2(at: AppTest) -> None:
    assert _han_sentence_weights(at)[0] > 0.75


def _han_step_3(at: AppTest) -> None:
    weights = _han_sentence_weights(at)
    assert weights[0] > 0.7 and weights[2] < 0.2
    assert _han_top_word(at, 0)[0] == "works"


def _han_step_4(at: AppTest) -> None:
    _han_step_4_and_5(at)
    trace = _figure(at, "Attention vs attribution")["data"][0]
    words, ig = list(trace["customdata"]), _array(trace["y"])
    assert words[int(np.argmax(ig))] == "side" and ig[words.index("side")] > 0.3
    assert -0.1 < ig[words.index("terrible")] < 0


def _tagger_step_1(at: AppTest) -> None:
    changed = next(str(m.value) for m in at.markdown if "The CRF changed these tags" in m.value)
    assert changed.split("Viterbi):", 1)[1].count(" → ") == 5  # five tags changed
    tags = _tagger_table(at)["BLSTM-CNN-CRF"].tolist()
    assert tags[3:5] == ["B-geo-loc", "I-geo-loc"]
    assert tags[9:11] == ["B-person", "I-person"]
    assert tags[13:16] == ["B-geo-loc", "I-geo-loc", "I-geo-loc"]


def _tagger_step_2(at: AppTest) -> None:
    tags = _tagger_table(at)["BLSTM-CNN"].tolist()
    assert tags[3:5] == ["B-geo-loc", "I-facility"]
    assert tags[13:16] == ["B-geo-loc", "I-facility", "I-facility"]


def _tagger_step_3(at: AppTest) -> None:
    table = _tagger_table(at).set_index("token")
    assert table.loc["Brindlemoor"].tolist()[:3] == ["O", "O", "B-geo-loc"]
    assert (
        table.loc[["Zorblax", "Quintavian"], ["BLSTM", "BLSTM-CNN", "BLSTM-CNN-CRF"]] == "O"
    ).all(axis=None)


def _tagger_step_4(at: AppTest) -> None:
    table = _tagger_table(at).set_index("token")
    assert table.loc["Paris"].tolist()[:3] == ["O", "O", "B-geo-loc"]
    assert table.loc["Merkel"].tolist()[:3] == ["O", "O", "I-person"]


def _attention_step_2(at: AppTest) -> None:
    row = _attention_row(at, 4, 2, "it")
    assert max(row, key=row.get) == "animal" and 0.6 < row["animal"] < 0.75
    assert sorted(row, key=row.get)[-2] == "[CLS]" and round(row["[CLS]"], 2) == 0.10
    at.number_input(key="attn_layer").set_value(6)
    at.number_input(key="attn_head").set_value(12).run()
    row = _attention_row(at, 6, 12, "it")  # the step's "layer 6, head 12 does the same"
    assert max(row, key=row.get) == "animal" and 0.6 < row["animal"] < 0.75


def _attention_step_3(at: AppTest) -> None:
    row = _attention_row(at, 4, 2, "it")
    assert row["animal"] > 2 * row["street"] and row["[CLS]"] > row["animal"]
    for size in ("large", "small"):  # "it picks trophy in both"
        text = f"The trophy doesn't fit into the brown suitcase because it is too {size}."
        at.text_area(key="attn_text").set_value(text).run()
        row = _attention_row(at, 4, 2, "it")
        assert max(row, key=row.get) == "trophy" and row["trophy"] > row["suitcase"]


def _attention_step_5(at: AppTest) -> None:
    entropy = _array(_figure(at, "Per head: entropy")["data"][0]["z"]).reshape(4, 4)
    sharpest = sorted(entropy.ravel())[:2]
    assert {entropy[0, 0], entropy[0, 3]} == set(sharpest)  # layer 1, heads 1 and 4
    assert entropy[2:].min() > 1.8


def _mlm_top(at: AppTest) -> dict[str, list[str]]:
    """Each model's predicted tokens, best first (bar labels are '1. token')."""
    traces = _figure(at, "Top 10 predictions")["data"]
    return {t["name"]: [str(y).split(". ", 1)[1] for y in t["y"]] for t in traces}


def _mlm_table(at: AppTest):
    return next(d.value for d in at.dataframe if "mlm_accuracy" in d.value.columns).set_index(
        "design"
    )


def _mlm_step_1(at: AppTest) -> None:
    top = _mlm_top(at)
    assert all(words[0] == "on" for words in top.values()) and len(top) == 4
    assert top["BERT"][1] == "that"
    first = {t["name"]: t["x"][0] for t in _figure(at, "Top 10 predictions")["data"]}
    second = {t["name"]: t["x"][1] for t in _figure(at, "Top 10 predictions")["data"]}
    assert round(first["DeBERTa"], 2) == 0.81 and round(first["DeBERTaV3 (generator)"], 2) == 0.76
    assert round(first["BERT"], 2) == 0.41 and min(first, key=first.get) == "BERT"
    assert round(first["RoBERTa"], 3) == 0.766
    assert second["RoBERTa"] < first["RoBERTa"] / 10  # "far ahead of every other"


def _mlm_step_2(at: AppTest) -> None:
    assert _mlm_top(at)["BERT"][:2] == ["on", "that"]
    table = _mlm_table(at)
    assert round(table.loc["BERT", "mlm_accuracy"], 1) == 21.4
    assert table.loc["BERT", "steps"] == 21_000
    assert table.loc["BERT", "cloze_top5"] == 15.0 and table.loc["RoBERTa", "cloze_top5"] == 16.7
    assert table.loc["BERT", "cloze_top1_content_word"] == 75.0


def _mlm_step_4(at: AppTest) -> None:
    from nlpviz.analysis.encoders import encode_text
    from nlpviz.ui.encoders import require_encoder

    text = "We ate pizza 🍕 in a café."
    wordpiece = require_encoder("bert", "cpu")
    pieces = encode_text(wordpiece.tokenizer, text, wordpiece.max_len)
    unknown = [t for t, u in zip(pieces.tokens, pieces.unknown, strict=True) if u]
    assert unknown == ["[UNK]", "[UNK]"]  # the emoji and the é
    byte_level = require_encoder("roberta", "cpu")
    pieces = encode_text(byte_level.tokenizer, text, byte_level.max_len)
    assert ["<0xF0>", "<0x9F>", "<0x8D>", "<0x95>"] == [
        t for t in pieces.tokens if t.startswith("<0x")
    ] and "é" in pieces.tokens


def _mlm_step_5(at: AppTest) -> None:
    table = _mlm_table(at)
    probe = table["probe_mr_accuracy"]
    assert round(probe.min(), 1) == 61.7 and round(probe.max(), 1) == 64.2
    assert round(table.loc["BERT", "probe_mr_accuracy"], 1) == 64.2
    assert round(table.loc["RoBERTa", "probe_mr_accuracy"], 1) == 62.1
    assert round(table.loc["DeBERTa", "probe_mr_accuracy"], 1) == 62.3
    assert round(table.loc["DeBERTaV3", "probe_mr_accuracy"], 1) == 61.7
    assert table.loc["BERT", "steps"] == table.loc["RoBERTa", "steps"] == 21_000
    assert table.loc["DeBERTa", "steps"] == table.loc["DeBERTaV3", "steps"] == 10_500


def _map(at: AppTest, title_start: str, name: str | None = None) -> np.ndarray:
    """A square token map (or the trace called ``name`` of a multi-panel figure) as an array."""
    traces = _figure(at, title_start)["data"]
    trace = next(t for t in traces if name is None or t.get("name") == name)
    z = _array(trace["z"])
    n = int(round(np.sqrt(z.size))) if z.ndim == 1 else z.shape[0]
    return z.reshape(n, -1)


def _offset_rows(scores: np.ndarray, offset: int) -> int:
    """How many text rows (not [CLS], not the last two) peak at key ``row + offset``."""
    rows = range(1, scores.shape[0] - 2)
    return sum(int(np.argmax(scores[i])) == i + offset for i in rows)


def _deberta_step_1(at: AppTest) -> None:
    attention = _map(at, "Attention, layer 3, head 2")
    rows = range(1, attention.shape[0] - 2)
    assert len(rows) == 18 and _offset_rows(attention, -1) == 14
    assert round(float(np.mean([attention[i, i - 1] for i in rows])), 2) == 0.62
    terms = "Score terms, layer 3, head 2"
    position = _map(at, terms, "c2p") + _map(at, terms, "p2c")
    assert _offset_rows(position, -1) >= 10 and _offset_rows(_map(at, terms, "c2c"), -1) <= 3


def _deberta_step_2(at: AppTest) -> None:
    attention = _map(at, "Attention, layer 3, head 4")
    rows = range(1, attention.shape[0] - 2)
    assert len(rows) == 18 and _offset_rows(attention, 1) == 11
    assert round(float(np.mean([attention[i, i + 1] for i in rows])), 2) == 0.39
    shares = _array(
        next(t for t in _figure(at, "Share of each score term")["data"] if t["name"] == "c2c")["z"]
    )
    assert shares.size == 16 and round(float(shares.max()), 2) == 0.41


def _deberta_step_3(at: AppTest) -> None:
    first_row = _map(at, "Relative-position buckets")[0]  # [CLS] to every key
    assert len({int(first_row[d]) for d in range(17)}) == 17
    assert first_row[17] == first_row[18] != first_row[16]
    assert first_row[19] == first_row[20] != first_row[18]


def _deberta_step_4(at: AppTest) -> None:
    traces = _figure(at, "The masked word")["data"]
    tops = [[str(y).split(". ", 1)[1] for y in t["y"]] for t in traces]
    assert tops[0][:4] != tops[1][:4]  # "only reordered"
    assert set(tops[0][:4]) == set(tops[1][:4]) == {"order", "group", "government", "report"}
    assert "store" not in tops[0] and "store" not in tops[1]


def _deberta_step_5(at: AppTest) -> None:
    from nlpviz.analysis.encoders import pretraining_steps
    from nlpviz.checkpoints import read_card

    card = read_card("encoder-deberta")
    assert pretraining_steps(card) == 10_500 and card["continued"][-1]["recipe"]["steps"] == 4_500
    assert card["recipe"]["n_layers"] == 4


def _v3_bars(at: AppTest) -> dict[str, float]:
    """The discriminator's P(replaced) per token, keyed by the bar's label ('4·dr')."""
    trace = _figure(at, "P(replaced)")["data"][0]
    return dict(zip([str(x) for x in trace["x"]], _array(trace["y"]).tolist(), strict=True))


def _v3_step_1(at: AppTest) -> None:
    changes = next(d.value for d in at.dataframe if "generator wrote" in d.value.columns)
    wrote = dict(zip(changes["generator wrote"], changes["P(replaced)"], strict=True))
    assert set(wrote) == {"##tis", "moment"}
    assert abs(wrote["##tis"] - 0.61) <= 0.006 and abs(wrote["moment"] - 0.12) <= 0.006
    swaps = dict(zip(changes["original"], changes["generator wrote"], strict=True))
    assert swaps == {"##f": "##tis", "guests": "moment"}


def _v3_step_2(at: AppTest) -> None:
    changes = next(d.value for d in at.dataframe if "generator wrote" in d.value.columns)
    swaps = dict(zip(changes["original"], changes["generator wrote"], strict=True))
    assert swaps["announced"] == "made" and swaps["would"] == "will" and swaps["it"] == "says"
    wrote = dict(zip(changes["generator wrote"], changes["P(replaced)"], strict=True))
    assert (
        len(wrote) == 4 and round(wrote["says"], 2) == 0.24 and wrote["says"] == max(wrote.values())
    )
    bars = _v3_bars(at)
    assert round(bars["5·Tuesday"], 2) == round(wrote["made"], 2) == round(wrote["will"], 2) == 0.16


def _v3_step_3(at: AppTest) -> None:
    bars = _v3_bars(at)
    assert round(bars["4·dr"], 2) == 0.11 and round(bars["5·##ank"], 2) == 0.06
    assert round(bars["7·me"], 2) == 0.17 and bars["7·me"] == max(bars.values())


def _v3_step_4(at: AppTest) -> None:
    bars = _v3_bars(at)
    assert round(bars["4·at"], 2) == 0.18 and bars["4·at"] == max(bars.values())
    assert round(bars["4·at"], 2) > 0.11  # more than the swap 'dr' got in step 3


def _v3_step_5(at: AppTest) -> None:
    shown = messages(at)
    assert _metric(at, "RTD accuracy (held out)") == "88.9%"
    assert _metric(at, "share of tokens replaced") == "12.1%"
    assert "has length 1.025" in shown and "correction $E_\\Delta$ 0.478" in shown


def _gram(at: AppTest) -> np.ndarray:
    return _map(at, "Dot products PE(pos)")


def _pe_step_2(at: AppTest) -> None:
    gram = _gram(at)
    for k, value in ((0, 64.0), (1, 62.1), (10, 42.8)):
        band = np.diagonal(gram, offset=k)
        assert np.allclose(band, value, atol=0.05), (k, band.min(), band.max())


def _pe_step_3(at: AppTest) -> None:
    gram = _gram(at)
    assert np.allclose(np.diagonal(gram, offset=20), 5.8, atol=0.05)
    assert np.allclose(np.diagonal(gram, offset=10), 3.6, atol=0.05)


def _pe_metric(at: AppTest, label_start: str) -> float:
    return float(next(m.value for m in at.metric if m.label.startswith(label_start)))


def _pe_step_4(at: AppTest) -> None:
    assert _pe_metric(at, "max |M_8 PE(500) − PE(508)| (float64)") < 1e-12
    assert 1e-8 < _pe_metric(at, "… in float32") < 1e-6
    traces = _figure(at, "M_8 · PE(500) against PE(508)")["data"]
    assert np.allclose(_array(traces[0]["y"]), _array(traces[1]["y"]), atol=1e-9)


def _pe_step_5(at: AppTest) -> None:
    rows = _array(_figure(at, "What is added to your 5 words")["data"][0]["z"]).reshape(5, -1)
    assert np.allclose(rows[0], np.tile([0.0, 1.0], 64))
    assert np.abs(rows[0] - rows[3]).max() > 0.5


def _lora_summary(at: AppTest):
    return next(d.value for d in at.dataframe if "test_accuracy_mean" in d.value.columns).set_index(
        "configuration"
    )


def _lora_step_1(at: AppTest) -> None:
    table = _lora_summary(at)
    means = table.loc[["r=1", "r=8", "r=64"], "test_accuracy_mean"]
    assert [round(m, 3) for m in means] == [0.812, 0.822, 0.831]
    assert table.loc["r=1", "trainable_parameters"] == 9986
    assert round(table.loc["full fine-tuning", "test_accuracy_mean"], 3) == 0.844
    assert round(table.loc["linear probe", "test_accuracy_mean"], 3) == 0.743
    assert round(table.loc["full fine-tuning", "trainable_parameters"] / 1e6, 1) == 22.6
    assert (table["n"] == 2).all()


def _lora_step_2(at: AppTest) -> None:
    traces = {t["name"]: _array(t["y"]) for t in _figure(at, "Singular values of dW")["data"]}
    r64, full = traces["LoRA r=64"], traces["full fine-tuning"]
    assert r64[0] > 2 * r64[2] and full[9] > 0.4 * full[0]


def _lora_step_4(at: AppTest) -> None:
    bars = _figure(at, "How much dW amplifies")["data"][0]
    factors = dict(zip([str(x) for x in _array(bars["x"])], _array(bars["y"]), strict=True))
    assert factors["r=1"] > factors["r=8"] > 1 > factors["r=64"]
    assert round(factors["r=8"], 1) == 7.5
    projected = {
        t["name"]: dict(zip([str(x) for x in _array(t["x"])], _array(t["y"]), strict=True))
        for t in _figure(at, "How much dW amplifies")["data"][1:]
    }
    on_delta, on_random = projected["dW's top-r directions"]["r=1"], projected["random"]["r=1"]
    assert (round(on_delta, 3), round(on_random, 3)) == (0.066, 0.087)


def _grid_scores(at: AppTest, model_start: str) -> dict[str, dict[str, float]]:
    """The attribution grid's raw scores of one model: method -> token (no position) -> score."""
    trace = next(
        t for t in _figure(at, "Attribution grid")["data"] if t["name"].startswith(model_start)
    )
    tokens = [str(x).split("·", 1)[1] for x in trace["x"]]
    return {
        method: dict(zip(tokens, row, strict=True))
        for method, row in zip(trace["y"], trace["customdata"], strict=True)
    }


def _attribution_table(at: AppTest):
    return next(d.value for d in at.dataframe if "AOPC deletion" in d.value.columns)


def _attribution_step_1(at: AppTest) -> None:
    kim = _grid_scores(at, "Kim CNN")["Integrated Gradients"]
    lora = _grid_scores(at, "MiniLM")["Integrated Gradients"]
    assert 0.7 < kim["masterpiece"] < 0.8 and -0.25 < kim["not"] < -0.17
    assert 0.75 < lora["not"] < 0.83 and -0.5 < lora["masterpiece"] < -0.42
    assert "P = 0.778" in messages(at)


def _attribution_step_2(at: AppTest) -> None:
    table = _attribution_table(at).set_index("method")
    ixg = table.loc["Input x Gradient"]
    assert round(ixg["AOPC deletion"], 2) == -0.10
    sufficiency = next(c for c in table.columns if c.startswith("sufficiency"))
    assert round(ixg[sufficiency], 2) == 0.49
    assert round(table.loc["Integrated Gradients", "delta"], 2) == 0.07  # step 3 quotes it


def _attribution_step_3(at: AppTest) -> None:
    delta = float(_attribution_table(at)["delta"].iloc[0])
    assert -0.7 < delta < -0.6


def _attribution_step_4(at: AppTest) -> None:
    for model in ("HAN", "flat BiGRU"):
        ig = _grid_scores(at, model)["Integrated Gradients"]
        ranked = sorted(ig.values(), reverse=True)
        assert max(ig, key=ig.get) == "moscow" and ranked[0] > 2 * ranked[1]
    agreement = _figure(at, "Agreement (Spearman ρ of |score|): HAN")["data"][0]
    labels = list(agreement["x"])
    rho = _array(agreement["z"]).reshape(len(labels), -1)
    value = rho[labels.index("Integrated Gradients"), labels.index("attention")]
    assert 0.5 < value < 0.6


def _attribution_step_5(at: AppTest) -> None:
    scores = _grid_scores(at, "Kim CNN")
    assert -0.025 < scores["Integrated Gradients"]["."] < -0.015
    assert 0.8 < scores["Occlusion"]["."] < 0.88
    at.text_area(key="attr_text").set_value("The movie is not a masterpiece").run()
    assert "explains its class: **rotten** (P = 0.508)" in messages(at)


def _gate_means(at: AppTest, title_start: str) -> np.ndarray:
    """Each unit's mean over the piece of a (units x frames) gate map."""
    return _array(_figure(at, title_start)["data"][0]["z"]).mean(axis=1)


def _grnn_step_1(at: AppTest) -> None:
    frame = next(
        d.value for d in at.dataframe if "test NLL per frame (nats)" in d.value.columns
    ).set_index("cell")
    table = frame["test NLL per frame (nats)"]
    assert [round(table[c], 2) for c in ("LSTM", "tanh RNN", "GRU")] == [9.09, 9.16, 9.20]
    assert (frame["parameters"].round(-3) == 20_000).all()  # "about 20,000 parameters"


def _grnn_step_3(at: AppTest) -> None:
    wins = {"tanh RNN": 0, "GRU": 0, "LSTM": 0}
    piece = at.selectbox(key="grnn_piece")
    for name in piece.options:
        piece.set_value(name)
        at.run()
        line = next(str(m.value) for m in at.markdown if "Per-frame" in str(m.value))
        losses = {c: float(line.split(f"**{c}** ")[1].split()[0]) for c in wins}
        wins[min(losses, key=losses.get)] += 1
        piece = at.selectbox(key="grnn_piece")
    assert len(piece.options) == 6 and wins == {"tanh RNN": 1, "GRU": 2, "LSTM": 3}


def _grnn_step_4(at: AppTest) -> None:
    gru = _gate_means(at, "GRU: update gate z")
    lstm = _gate_means(at, "LSTM: forget gate f")
    assert gru.size == 53 and (gru < 0.05).sum() > 26
    assert (gru > 0.9).sum() == 1 and 0.9 < gru.max() < 0.97
    assert (lstm > 0.5).mean() > 0.9


def _grnn_step_5(at: AppTest) -> None:
    trace = _figure(at, "unit 17 of the forget gate f, drawn over the text")["data"][0]
    chars = np.array([c for row in trace["text"] for c in row])
    gate = _array(trace["z"]).reshape(-1)[: len(chars)]
    read = chars != ""  # the last row is padded
    space, closed = (chars == "␣") & read, (gate < 0.1) & read
    assert space.sum() == 26 and (closed & space).sum() == 26
    assert 0.65 < gate[read & ~space].mean() < 0.75  # "about 0.7 inside words"
    others = chars[closed & ~space]
    punctuation = [",", "(", ")", "."]
    assert len(others) == 17
    for mark in punctuation:  # every one of them in the text is closed on
        assert (others == mark).sum() == (chars[read] == mark).sum() > 0
    assert (chars[read] == ",").sum() == 2 and (chars[read] == ".").sum() == 1
    letters = others[~np.isin(others, punctuation)]
    assert len(letters) == 12 and all(c.isalpha() for c in letters)


def _translation_table(at: AppTest):
    # a wrapping st.table indexed by model (a dataframe cut long translations off)
    return next(t.value for t in at.table if "translation" in t.value.columns)


def _tr_step_1(at: AppTest) -> None:
    table = _translation_table(at)["translation"]
    assert table["Transformer"] == table["LSTM + attention"] == "Quiero esta película."
    assert table["LSTM, reversed source"] == "Quiero esta película."
    assert table["LSTM"] == "Quiero mi familia."
    bleu = next(d.value for d in at.dataframe if "test BLEU (beam)" in d.value.columns)
    bleu = bleu.set_index("model")["test BLEU (beam)"].round(1)
    assert (bleu["Transformer"], bleu["LSTM + attention"]) == (39.8, 34.0)
    assert bleu["LSTM"] < 4 and bleu["LSTM, reversed source"] < 4  # "under BLEU 4"
    from nlpviz.checkpoints import read_card

    card = read_card("translate-transformer")
    assert card["data"]["test_pairs_in_range"] == 807 and card["recipe"]["max_pieces"] == 48


def _tr_step_2(at: AppTest) -> None:
    shown = messages(at)
    assert "Le dio el hombre viejo un libro sobre la guerra." in shown
    assert "Dar dio el hombre viejo un libro sobre la guerra." in shown


def _alignment(at: AppTest, title: str) -> dict[str, str]:
    """Each target piece -> the source word it attends to most (positions and ▁ dropped)."""
    trace = _figure(at, title)["data"][0]
    source = [str(x).split("·", 1)[1].lstrip("▁") for x in trace["x"]]
    target = [str(y).split("·", 1)[1].lstrip("▁") for y in trace["y"]]
    z = _array(trace["z"]).reshape(len(target), len(source))
    return {t: source[int(np.argmax(row))] for t, row in zip(target, z, strict=True)}


def _tr_step_3(at: AppTest) -> None:
    transformer = _alignment(at, "Transformer cross attention, layer 2, head 2")
    assert transformer["hombre"] == "man" and transformer["viejo"] == "old"
    lstm = _alignment(at, "LSTM attention alignment")
    assert lstm["hombre"] == "man" and lstm["viejo"] == "old"
    assert "Decho el hombre viejo un libro sobre la guerra." in messages(at)


def _tr_step_4(at: AppTest) -> None:
    shown = messages(at)
    assert "gap \\+8\\.73, 2 standard errors = 2\\.28" in shown  # perplexity: past the bar
    assert "gap \\+1\\.26, 2 standard errors = 0\\.66" in shown  # BLEU: past it too


def _tr_step_5(at: AppTest) -> None:
    distances = next(d.value for d in at.dataframe if list(d.value.columns[:2]) == ["1", "2"])
    d = distances.to_numpy(dtype=float)
    assert round(d[0, 3], 3) == 0.032 and d[0, 3] == min(d[0, 1:])  # John admires Mary
    assert round(d[4, 5], 3) == 0.208 and round(d[4, 3], 3) == 0.174  # the taxes pair
    assert d[1, 2] == min(d[1, j] for j in range(len(d)) if j != 1)  # Mary is admired by John


def _metric(at: AppTest, label: str) -> str:
    return next(str(m.value) for m in at.metric if m.label == label)


def _attention_step_4(at: AppTest) -> None:
    at.number_input(key="attn_layer").set_value(4).run()  # "in layer 4, head 3 all of it"
    at.number_input(key="attn_head").set_value(3).run()
    assert _metric(at, "previous") == "100%"


def _attention_step_5_previous(at: AppTest) -> None:
    _attention_step_5(at)
    at.selectbox(key="attn_metric").set_value("previous").run()
    previous = _array(_figure(at, "Per head: previous")["data"][0]["z"]).reshape(4, 4)
    assert previous[0, 0] == previous.max() and round(previous[0, 0], 2) == 0.94
    at.selectbox(key="attn_metric").set_value("next").run()
    following = _array(_figure(at, "Per head: next")["data"][0]["z"]).reshape(4, 4)
    assert following[0, 3] == following.max() and round(following[0, 3], 2) == 0.93


def _lora_step_5(at: AppTest) -> None:
    assert _metric(at, "P(fresh) with the adapter") == "14.1%"
    bars = _figure(at, "The adapted model and the frozen base, on your text")["data"]
    fresh = next(t for t in bars if t["name"] == "fresh")
    by_model = dict(zip(fresh["y"], _array(fresh["x"]), strict=True))
    assert round(by_model["Frozen MiniLM + probe (seed 1)"], 3) == 0.481


def _lora_step_3(at: AppTest) -> None:
    assert _metric(at, "phi(1, 1): the two top directions") == "0.25"


STEP_CHECKS: dict[tuple[str, int], Callable[[AppTest], None]] = {
    ("2_HAN.py", 1): _han_step_1,
    ("2_HAN.py", 2): _han_step_2,
    ("2_HAN.py", 3): _han_step_3,
    ("2_HAN.py", 4): _han_step_4,
    ("2_HAN.py", 5): _han_step_4_and_5,
    ("3_Tagger.py", 1): _tagger_step_1,
    ("3_Tagger.py", 2): _tagger_step_2,
    ("3_Tagger.py", 3): _tagger_step_3,
    ("3_Tagger.py", 4): _tagger_step_4,
    ("4_Attention.py", 2): _attention_step_2,
    ("4_Attention.py", 3): _attention_step_3,
    ("4_Attention.py", 4): _attention_step_4,
    ("4_Attention.py", 5): _attention_step_5_previous,
    ("5_Masked_LM.py", 1): _mlm_step_1,
    ("5_Masked_LM.py", 2): _mlm_step_2,
    ("5_Masked_LM.py", 4): _mlm_step_4,
    ("5_Masked_LM.py", 5): _mlm_step_5,
    ("6_DeBERTa.py", 1): _deberta_step_1,
    ("6_DeBERTa.py", 2): _deberta_step_2,
    ("6_DeBERTa.py", 3): _deberta_step_3,
    ("6_DeBERTa.py", 4): _deberta_step_4,
    ("6_DeBERTa.py", 5): _deberta_step_5,
    ("7_DeBERTaV3.py", 1): _v3_step_1,
    ("7_DeBERTaV3.py", 2): _v3_step_2,
    ("7_DeBERTaV3.py", 3): _v3_step_3,
    ("7_DeBERTaV3.py", 4): _v3_step_4,
    ("7_DeBERTaV3.py", 5): _v3_step_5,
    ("8_Positional_Encoding.py", 2): _pe_step_2,
    ("8_Positional_Encoding.py", 3): _pe_step_3,
    ("8_Positional_Encoding.py", 4): _pe_step_4,
    ("8_Positional_Encoding.py", 5): _pe_step_5,
    ("9_LoRA.py", 1): _lora_step_1,
    ("9_LoRA.py", 2): _lora_step_2,
    ("9_LoRA.py", 3): _lora_step_3,
    ("9_LoRA.py", 4): _lora_step_4,
    ("9_LoRA.py", 5): _lora_step_5,
    ("10_Translation.py", 1): _tr_step_1,
    ("10_Translation.py", 2): _tr_step_2,
    ("10_Translation.py", 3): _tr_step_3,
    ("10_Translation.py", 4): _tr_step_4,
    ("10_Translation.py", 5): _tr_step_5,
    ("11_Gated_RNN.py", 1): _grnn_step_1,
    ("11_Gated_RNN.py", 3): _grnn_step_3,
    ("11_Gated_RNN.py", 4): _grnn_step_4,
    ("11_Gated_RNN.py", 5): _grnn_step_5,
    ("12_Attribution.py", 1): _attribution_step_1,
    ("12_Attribution.py", 2): _attribution_step_2,
    ("12_Attribution.py", 3): _attribution_step_3,
    ("12_Attribution.py", 4): _attribution_step_4,
    ("12_Attribution.py", 5): _attribution_step_5,
}
"""Steps whose text quotes a figure or a table: (page, 1-based step) -> a check of that data."""


def test_every_tour_is_on_a_real_page_with_three_to_five_steps() -> None:
    assert TOURS, "no tours"
    for page, tour in TOURS.items():
        assert (PAGES / page).exists(), page
        assert 3 <= len(tour.steps) <= 5


@pytest.mark.parametrize(("page", "number"), STEPS)
def test_a_tour_step_shows_what_it_says(
    page: str, number: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the attribution grid waits for a button when one timed forward pass predicts more than
    # this many seconds; on a loaded test machine that estimate is noisy, and the steps are
    # about the grid's content, not the button
    monkeypatch.setenv("NLPVIZ_ATTRIBUTION_AUTORUN_S", "600")
    tour = TOURS[page]
    step = tour.steps[number]
    at = AppTest.from_file(str(PAGES / page), default_timeout=180)
    for key, value in {**step.params, "tour": str(number + 1)}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    shown = _shown(at)
    assert f"step {number + 1} of {len(tour.steps)}" in shown, "the step's banner is missing"
    page_itself = shown.replace(step.say, "")  # the banner quoting the step proves nothing
    for phrase in step.expect:
        assert phrase in page_itself, f"{page} step {number + 1}: {phrase!r} is not on the page"
    check = STEP_CHECKS.get((page, number + 1))
    if check is not None:
        check(at)


def test_every_tour_uses_its_pages_widget_prefix() -> None:
    """The tour drops the page's own widget state by this prefix when it moves to a step."""
    for page, tour in TOURS.items():
        source = (PAGES / page).read_text(encoding="utf-8")
        assert f'P = "{tour.prefix}"' in source, f"{page}: prefix {tour.prefix!r} is not the page's"


def test_every_step_sets_only_parameters_its_page_reads() -> None:
    """A misspelt link parameter would be ignored silently and the step would show defaults."""
    for page, tour in TOURS.items():
        source = (PAGES / page).read_text(encoding="utf-8")
        for step in tour.steps:
            for key in step.params:
                assert f'"{key}"' in source, f"{page} ({step.title}): {key!r} is not read there"


def test_step_checks_name_real_steps() -> None:
    for page, number in STEP_CHECKS:
        assert page in TOURS and 1 <= number <= len(TOURS[page].steps), (page, number)


def test_next_step_sets_the_pages_inputs() -> None:
    page, tour = next(iter(TOURS.items()))
    at = AppTest.from_file(str(PAGES / page), default_timeout=180)
    at.query_params["tour"] = "1"
    for key, value in tour.steps[0].params.items():
        at.query_params[key] = value
    at.run()
    at.button(key="global_tour_next").click().run()
    assert not at.exception
    second = tour.steps[1]
    assert "step 2 of" in _shown(at)
    for key, value in second.params.items():
        assert at.session_state[f"{tour.prefix}_{key}"] == value
    at.sidebar.selectbox(key=f"global_tour_{tour.prefix}").set_value(0).run()
    assert "step 2 of" not in _shown(at)


@pytest.mark.parametrize(("page", "number"), [("6_DeBERTa.py", 1), ("4_Attention.py", 4)])
def test_a_bare_tour_link_opens_the_steps_view(page: str, number: int) -> None:
    """``?tour=N`` alone (a link typed from a worksheet) sets the step's inputs, as Next does."""
    tour = TOURS[page]
    step = tour.steps[number - 1]
    at = AppTest.from_file(str(PAGES / page), default_timeout=180)
    at.query_params["tour"] = str(number)
    at.run()
    assert not at.exception
    for key, value in step.params.items():
        assert str(at.session_state[f"{tour.prefix}_{key}"]) == value, key
    shown = _shown(at)
    for phrase in step.expect:
        assert phrase in shown.replace(step.say, ""), phrase
    # a link that carries its own inputs keeps them
    at = AppTest.from_file(str(PAGES / page), default_timeout=180)
    at.query_params.update(tour=str(number), text="A different sentence about a river.")
    at.run()
    assert at.session_state[f"{tour.prefix}_text"] == "A different sentence about a river."


@pytest.mark.parametrize("page", list(TOURS))
def test_a_tour_can_be_walked_with_its_next_button(
    page: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The student's path: open step 1, then press Next; each step shows what it says."""
    monkeypatch.setenv("NLPVIZ_ATTRIBUTION_AUTORUN_S", "600")
    tour = TOURS[page]
    at = AppTest.from_file(str(PAGES / page), default_timeout=180)
    at.query_params["tour"] = "1"
    for key, value in tour.steps[0].params.items():
        at.query_params[key] = value
    at.run()
    for number, step in enumerate(tour.steps[1:], start=2):
        at.button(key="global_tour_next").click().run()
        assert not at.exception, (number, at.exception)
        shown = _shown(at)
        assert f"step {number} of {len(tour.steps)}" in shown
        for phrase in step.expect:
            assert phrase in shown.replace(step.say, ""), f"{page} step {number}: {phrase!r}"
    at.button(key="global_tour_end").click().run()
    assert not at.exception and "Tour, step" not in _shown(at)


# ---- every number a step quotes is checked somewhere ----------------------------------------

NUMBER = re.compile(
    r"(?<![\w.,])-?(?:\d+(?:\.\d+)?e-?\d+|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?!\d)"
)


def _numbers(text: str) -> list[str]:
    """The numbers in a step's text or phrases (markdown escapes dropped, − read as -)."""
    return NUMBER.findall(text.replace("−", "-").replace("\\", ""))


def _in_expect(number: str, expect: tuple[str, ...]) -> bool:
    """The page must show ``number``: as written, or as a more precise figure rounding to it."""
    found = _numbers(" ".join(expect))
    if number in found:
        return True
    if "e" in number or "," in number:
        return False
    decimals = len(number.split(".")[1]) if "." in number else 0
    return any(
        "e" not in f
        and len(f.replace(",", "").partition(".")[2]) > decimals
        and round(float(f.replace(",", "")), decimals) == float(number)
        for f in found
    )


NUMBERS_CHECKED_ELSEWHERE: dict[tuple[str, int], dict[str, str]] = {
    ("1_Kim_CNN.py", 3): {"68": "the multichannel model's count: expect of step 1 of this tour"},
    ("2_HAN.py", 1): {
        "1": "a definition: one sentence's attention is 1",
        "0.53": "_han_step_1: top word 'works', 0.45 < weight < 0.6",
    },
    ("2_HAN.py", 2): {
        "0.80": "_han_step_2: the first sentence's weight > 0.75",
        "0.20": "the rest of 0.80 (two weights sum to 1); _han_step_2",
    },
    ("2_HAN.py", 3): {
        "0.76": "_han_step_3: first sentence > 0.7",
        "0.14": "_han_step_3: third sentence < 0.2",
    },
    ("2_HAN.py", 4): {
        "0.39": "_han_step_4: IG of 'side' is the largest and > 0.3",
        "-0.06": "_han_step_4: -0.1 < IG of 'terrible' < 0",
        "540": "_han_step_4_and_5: the card's training size",
    },
    ("2_HAN.py", 5): {
        "379": "_han_step_4_and_5: 'test documents' column",
        "65.4": "_han_step_4_and_5: 'majority-class baseline' column",
        "2": "the paper's Table 2: a reference, not a reading",
    },
    ("3_Tagger.py", 4): {
        "16": "the data set's name (WNUT-16)",
        "2003": "the data set's name (CoNLL-2003)",
        "1.85": "the paper's figure, not a reading of our models",
    },
    ("4_Attention.py", 2): {
        "10": "the position label of 'it' in the step's own text",
        "0.68": "_attention_step_2: 0.6 < weight on 'animal' < 0.75",
        "0.10": "_attention_step_2: [CLS] second, rounds to 0.10",
        "6": "_attention_step_2 opens layer 6, head 12",
        "12": "_attention_step_2 opens layer 6, head 12",
        "0.67": "_attention_step_2: 0.6 < weight on 'animal' < 0.75 at layer 6, head 12",
    },
    ("4_Attention.py", 3): {
        "0.28": "_attention_step_3 checks animal > 2 x street and [CLS] > animal, not the values",
        "0.12": "_attention_step_3 checks animal > 2 x street and [CLS] > animal, not the values",
    },
    ("4_Attention.py", 4): {
        "3": "_attention_step_4: layer 4, head 3 puts 100% on the previous token"
    },
    ("4_Attention.py", 5): {
        "21,000": "BERT's steps: _mlm_step_2 and _mlm_step_5 of the Masked LM tour",
        "93": "_attention_step_5_previous: head 4's next-token share rounds to 0.93",
        "4": "_attention_step_5_previous: head 4 of layer 1 (and layers 3 and 4)",
        "3": "_attention_step_5: layers 3 and 4 have entropy > 1.8",
        "1.8": "_attention_step_5: layers 3 and 4 have entropy > 1.8",
    },
    ("5_Masked_LM.py", 1): {
        "81": "_mlm_step_1: DeBERTa's P(on) rounds to 0.81",
        "76": "_mlm_step_1: the V3 generator's P(on) rounds to 0.76",
        "41": "_mlm_step_1: BERT's P(on) rounds to 0.41, the lowest of the four",
    },
    ("5_Masked_LM.py", 2): {
        "21,000": "_mlm_step_2: BERT's steps",
        "60": "the size of the bundled cloze probe set, not a reading of a model",
        "15.0": "_mlm_step_2: BERT's cloze_top5",
        "16.7": "_mlm_step_2: RoBERTa's cloze_top5",
        "75": "_mlm_step_2: BERT's cloze_top1_content_word",
        "21.4": "_mlm_step_2: BERT's mlm_accuracy",
    },
    ("5_Masked_LM.py", 5): {
        "61.7": "_mlm_step_5: lowest probe accuracy, DeBERTaV3's",
        "64.2": "_mlm_step_5: highest probe accuracy, BERT's",
        "62.1": "_mlm_step_5: RoBERTa's probe accuracy",
        "21,000": "_mlm_step_5: BERT's and RoBERTa's steps",
        "10,500": "_mlm_step_5: the DeBERTas' steps",
        "62.3": "_mlm_step_5: DeBERTa's probe accuracy",
    },
    ("6_DeBERTa.py", 1): {
        "14": "_deberta_step_1: 14 rows peak at the previous token",
        "18": "_deberta_step_1: 18 word rows",
        "0.62": "_deberta_step_1: mean previous-token weight rounds to 0.62",
    },
    ("6_DeBERTa.py", 2): {
        "11": "_deberta_step_2: 11 rows peak at the next token",
        "18": "_deberta_step_2: 18 word rows",
        "0.39": "_deberta_step_2: mean next-token weight rounds to 0.39",
        "16": "_deberta_step_2: 16 shares",
        "41": "_deberta_step_2: the largest c2c share rounds to 0.41",
    },
    ("6_DeBERTa.py", 3): {
        "17": "_deberta_step_3: buckets 17 and 18 are one",
        "18": "_deberta_step_3: buckets 17 and 18 are one",
        "19": "_deberta_step_3: buckets 19 and 20 are one",
        "21": "not checked: _deberta_step_3 stops at distance 20",
    },
    ("6_DeBERTa.py", 5): {
        "10,500": "_deberta_step_5: the card's training steps, both stages",
        "4": "the miniature's depth (its configuration), not a reading",
    },
    ("7_DeBERTaV3.py", 1): {
        "0.61": "_v3_step_1: P(replaced) of '##tis' within 0.006",
        "0.12": "_v3_step_1: P(replaced) of 'moment' within 0.006",
    },
    ("7_DeBERTaV3.py", 2): {
        "0.24": "_v3_step_2: P(replaced) of 'says', the highest of a replaced piece",
        "0.16": "_v3_step_2: P(replaced) of the untouched 'Tuesday', of 'made' and of 'will'",
    },
    ("7_DeBERTaV3.py", 3): {
        "0.11": "_v3_step_3: P(dr)",
        "0.06": "_v3_step_3: P(##ank)",
        "0.17": "_v3_step_3: P(me), the highest bar",
    },
    ("7_DeBERTaV3.py", 4): {"0.18": "_v3_step_4: P(at), the highest bar"},
    ("7_DeBERTaV3.py", 5): {
        "88.9": "_v3_step_5: 'RTD accuracy (held out)' metric",
        "12.1": "_v3_step_5: 'share of tokens replaced' metric",
        "0.73": "the AUC of the expect phrase 'RTD AUC (held out) 0.731', rounded",
        "0.48": "_v3_step_5: 'correction E_Δ 0.478'",
        "1.02": "_v3_step_5: 'has length 1.025'",
    },
    ("8_Positional_Encoding.py", 1): {"6.3": "2π, the shortest wavelength: the formula's"},
    ("8_Positional_Encoding.py", 2): {
        "64": "_pe_step_2: the k = 0 band",
        "0": "_pe_step_2: the k = 0 band",
        "62.1": "_pe_step_2: the k = 1 band",
        "1": "_pe_step_2: the k = 1 band",
        "42.8": "_pe_step_2: the k = 10 band",
    },
    ("8_Positional_Encoding.py", 3): {
        "8": "d_model / 2 frequencies: the formula's",
        "20": "_pe_step_3: the k = 20 band",
        "5.8": "_pe_step_3: the k = 20 band",
        "3.6": "_pe_step_3: the k = 10 band",
    },
    ("8_Positional_Encoding.py", 4): {
        "508": "pos + k of the step's link (500 + 8)",
        "1e-12": "_pe_step_4: float64 error < 1e-12",
        "1e-7": "_pe_step_4: 1e-8 < float32 error < 1e-6",
        "2": "the form of M_k (2 x 2 rotations); expect counts its 1,024 nonzero entries",
    },
    ("8_Positional_Encoding.py", 5): {
        "0": "positions of 'the' in the step's text; _pe_step_5 checks row 0",
        "3": "positions of 'the' in the step's text; _pe_step_5 compares rows 0 and 3",
        "1": "_pe_step_5: row 0 is [0, 1, 0, 1, ...]",
    },
    ("9_LoRA.py", 1): {
        "81.2": "_lora_step_1: the r=1 mean",
        "83.1": "_lora_step_1: the r=64 mean",
        "8": "_lora_step_1 reads r=8; the verdict names it",
        "64": "_lora_step_1 reads r=64",
        "9,986": "_lora_step_1: r=1 trainable parameters",
        "22.6": "_lora_step_1: full fine-tuning's trainable parameters",
        "74.3": "_lora_step_1: linear probe mean",
    },
    ("9_LoRA.py", 2): {
        "10": "_lora_step_2: full fine-tuning's 10th value > 0.4 x its first",
        "40": "_lora_step_2: full fine-tuning's 10th value > 0.4 x its first",
    },
    ("9_LoRA.py", 3): {
        "3": "the paper's Figure 3",
        "57": "expect shows it as 0.57",
        "17": "the random-subspace expectation 64 / 384 (a formula), not a reading",
        "0.25": "_lora_step_3: 'phi(1, 1)' metric",
    },
    ("9_LoRA.py", 4): {
        "7.3": "the paper's Section 7.3",
        "7.5": "_lora_step_4: the r=8 bar",
        "8": "_lora_step_4 reads the r=8 bar",
        "64": "_lora_step_4: the r=64 bar is below 1",
        "0.066": "_lora_step_4: W projected on dW's direction at r=1",
        "0.087": "_lora_step_4: W projected on a random direction at r=1",
    },
    ("9_LoRA.py", 5): {
        "9,986": "r=1's trainable parameters: _lora_step_1",
        "14.1": "_lora_step_5: 'P(fresh) with the adapter' metric",
        "48.1": "_lora_step_5: the probe's P(fresh) bar",
    },
    ("12_Attribution.py", 1): {
        "8": "the rank of the step's adapter (lora-r8-s1)",
        "0.74": "_attribution_step_1: 0.7 < IG(masterpiece) < 0.8 in the CNN",
        "-0.21": "_attribution_step_1: -0.25 < IG(not) < -0.17 in the CNN",
        "0.79": "_attribution_step_1: 0.75 < IG(not) < 0.83 in MiniLM",
        "-0.46": "_attribution_step_1: -0.5 < IG(masterpiece) < -0.42 in MiniLM",
    },
    ("12_Attribution.py", 2): {
        "-0.10": "_attribution_step_2: Input x Gradient's AOPC deletion",
        "0.49": "_attribution_step_2: Input x Gradient's sufficiency@2",
    },
    ("12_Attribution.py", 3): {
        "0.67": "_attribution_step_3: -0.7 < delta < -0.6; expect 'IG error (Δ) -6.7e-01'",
        "0.07": "_attribution_step_2: IG's delta at the default steps rounds to 0.07",
        "20": "the default number of IG steps (AttributionOptions)",
    },
    ("12_Attribution.py", 4): {"0.55": "_attribution_step_4: 0.5 < Spearman ρ < 0.6"},
    ("12_Attribution.py", 5): {
        "-0.02": "_attribution_step_5: -0.025 < IG of '.' < -0.015",
        "0.84": "_attribution_step_5: 0.8 < Occlusion of '.' < 0.88",
        "0.51": "_attribution_step_5: '(P = 0.508)' after the edit",
    },
    ("11_Gated_RNN.py", 1): {
        "20,000": "_grnn_step_1: every cell's parameters round to 20,000",
        "8.54": "the paper's figure (the card's paper_figure)",
        "2": "the paper's Table 2",
    },
    ("11_Gated_RNN.py", 2): {"289": "the step's piece (bach/bwv289)"},
    ("11_Gated_RNN.py", 3): {"184.5": "the step's piece (bach/bwv184.5)"},
    ("11_Gated_RNN.py", 4): {
        "289": "the step's piece (bach/bwv289)",
        "53": "_grnn_step_4: 53 GRU units",
        "0": "_grnn_step_4: more than half the units have z < 0.05",
        "94": "_grnn_step_4: one unit with 0.9 < z < 0.97",
    },
    ("11_Gated_RNN.py", 5): {
        "0.7": "_grnn_step_5: 0.65 < mean gate inside words < 0.75",
        "0": "_grnn_step_5: closed means gate < 0.1",
        "26": "_grnn_step_5: all 26 spaces closed",
        "17": "_grnn_step_5: the step's unit, and 17 other characters closed",
        "12": "_grnn_step_5: 12 of them letters",
    },
    ("10_Translation.py", 1): {
        "4": "_tr_step_1: both LSTMs without attention score under BLEU 4",
        "48": "_tr_step_1: the card's max_pieces",
        "807": "_tr_step_1: the card's test pairs in range",
    },
    ("10_Translation.py", 4): {
        "2.3": "the forward BLEU of the expect phrase 'vs forward 2\\.32'",
        "3.6": "the reversed BLEU of the expect phrase 'reversed BLEU 3\\.58'",
        "41.0": "the forward perplexity of the expect phrase 'vs forward 40\\.99'",
        "32.3": "the reversed perplexity of the expect phrase 'reversed perplexity 32\\.25'",
    },
    ("10_Translation.py", 5): {
        "2": "the paper's Figure 2",
        "0.032": "_tr_step_5: distance rounds to 0.032",
        "0.208": "_tr_step_5: the taxes pair",
        "0.174": "_tr_step_5: the taxes sentence to John is admired by Mary",
    },
}
"""Numbers a step quotes that its ``expect`` does not show: (page, step) -> number -> where it
is checked instead, or why it needs no check (a definition, a paper's figure, the step's link)."""


@pytest.mark.parametrize(("page", "number"), STEPS)
def test_every_number_a_step_quotes_is_checked(page: str, number: int) -> None:
    step = TOURS[page].steps[number]
    explained = NUMBERS_CHECKED_ELSEWHERE.get((page, number + 1), {})
    link = set(step.params.values())  # the step sets these itself
    quoted = _numbers(step.say)
    unchecked = [
        n for n in quoted if not _in_expect(n, step.expect) and n not in link and n not in explained
    ]
    assert not unchecked, (
        f"{page} step {number + 1} quotes {unchecked}: add them to its expect phrases or say in "
        "NUMBERS_CHECKED_ELSEWHERE which check covers them"
    )
    stale = set(explained) - set(quoted)
    assert not stale, f"{page} step {number + 1}: {stale} are no longer in the text"


def test_the_number_check_reads_numbers_and_their_rounding() -> None:
    assert _numbers("0.68 of 10·it, −0.06, 21,735 pairs, 1e-12, W_q, M_8, 2×2, 64%") == [
        "0.68", "10", "-0.06", "21,735", "1e-12", "2", "2", "64"
    ]  # fmt: skip
    assert _in_expect("9.16", ("GRU 9\\.202 vs tanh RNN 9\\.161",))
    assert not _in_expect("9.17", ("tanh RNN 9\\.161",))
    assert _in_expect("64", ("P(rotten) = 63\\.7%",))  # "about 64%"
    assert not _in_expect("10", ("tanh RNN 9\\.161",))
    assert not _in_expect("2", ("12 pieces",))
