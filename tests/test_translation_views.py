"""Translation data helpers, the page's analysis functions and figures, on tiny models.

Tokenizers are trained in the test on a few sentences (sentencepiece, well under a second);
models are random and tiny. Oracles: the returned score equals the sum of the re-read
log-probabilities, PCA of collinear points, a saved-and-loaded checkpoint gives the same output.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nlpviz.analysis import translation as analysis
from nlpviz.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from nlpviz.data import translation as data
from nlpviz.data.sources import MissingTrainingData
from nlpviz.models.seq2seq import Seq2Seq, Seq2SeqConfig
from nlpviz.models.transformer import Transformer, TransformerConfig
from nlpviz.viz import translation as figures

WORDS = (
    "the a government film president minister week trade schools money spend announced "
    "tuesday would funny warm beautifully acted gave old man book about war met discuss"
).split()


@pytest.fixture(scope="module")
def tokenizers():
    rng = np.random.default_rng(0)
    sentences = [" ".join(rng.choice(WORDS, size=8)) + "." for _ in range(300)]
    proto = data.train_piece_model(sentences, vocab_size=120)
    return data.PieceTokenizer(proto), data.PieceTokenizer(proto)


def tiny(kind: str, vocab: int):
    torch.manual_seed(0)
    if kind == "transformer":
        config = TransformerConfig(
            vocab, vocab, d_model=16, n_heads=2, d_ff=32, n_encoder_layers=2, n_decoder_layers=2
        )
        return Transformer(config).eval()
    config = Seq2SeqConfig(
        vocab,
        vocab,
        d_embed=16,
        d_hidden=16,
        attention="luong" if kind == "lstm-attention" else None,
        reverse_source=kind == "lstm-reversed",
    )
    return Seq2Seq(config).eval()


# ---- data -----------------------------------------------------------------------------------


def test_usable_sentences_are_bounded_ascii_and_wordy():
    assert data.usable("The government announced a new plan today.")
    assert not data.usable("Too short.")
    assert not data.usable(" ".join(["word"] * (data.MAX_WORDS + 1)))
    assert not data.usable("Le café était très bon ce matin là.")  # not ASCII
    assert not data.usable("1 2 3 4 5 6 7 8")


def test_missing_apertium_is_a_clear_training_data_error(monkeypatch):
    monkeypatch.setattr(data.shutil, "which", lambda _: None)
    with pytest.raises(MissingTrainingData, match="apt-get install apertium apertium-eng-spa"):
        data.build_pairs(out="/nonexistent/never-written")


def test_missing_pairs_name_the_data_command(tmp_path):
    with pytest.raises(MissingTrainingData, match="nlpviz data translation-pairs"):
        data.load_pairs(tmp_path)


def test_split_is_seeded_and_disjoint(tmp_path):
    rows = [(f"English sentence number {i}.", f"Frase {i}.") for i in range(50)]
    (tmp_path / data.PAIRS_FILE).write_text("".join(f"{e}\t{s}\n" for e, s in rows))
    (tmp_path / data.RECORD_FILE).write_text(json.dumps({"pairs": 50, "sha256": "x"}))
    one = data.load_pairs(tmp_path, split_seed=3, n_dev=5, n_test=10)
    two = data.load_pairs(tmp_path, split_seed=3, n_dev=5, n_test=10)
    assert one.test == two.test and len(one.train) == 35
    assert not set(one.test) & set(one.train) and not set(one.dev) & set(one.train)
    assert sorted(one.train + one.dev + one.test) == sorted(rows)


# ---- source preparation and bad input -------------------------------------------------------


def test_prepare_source_notes(tokenizers):
    src_tok, _ = tokenizers
    assert analysis.prepare_source(src_tok, "   ").is_empty
    long = analysis.prepare_source(src_tok, " ".join(["the film"] * 20))
    assert any("longer than the training range" in n for n in long.notes)
    short = analysis.prepare_source(src_tok, "the old man gave a book about the war", 3)
    assert any("at most 3 pieces" in n for n in short.notes)
    huge = analysis.prepare_source(src_tok, " ".join(["government"] * 500))
    assert len(huge.ids) == analysis.MAX_SOURCE_PIECES
    assert any("only the first" in n for n in huge.notes)
    odd = analysis.prepare_source(src_tok, "the film 🙂 ж")
    assert any("<unk>" in n for n in odd.notes) and data.UNK_ID in odd.ids


@pytest.mark.parametrize("kind", ["lstm", "lstm-reversed", "lstm-attention", "transformer"])
def test_translate_returns_consistent_maps_and_scores(tokenizers, kind):
    src_tok, tgt_tok = tokenizers
    model = tiny(kind, src_tok.vocab_size)
    result = analysis.translate(
        model, src_tok, tgt_tok, "the old man gave a book", 3, torch.device("cpu")
    )
    n_out, n_src = len(result.output_pieces), len(result.source.ids)
    assert len(result.input_pieces) == n_out and result.input_pieces[0] == "<s>"
    # oracle: the beam's score is the sum of the re-read log-probabilities of the output
    assert result.score == pytest.approx(float(result.token_log_probs.sum()), abs=1e-4)
    assert result.tree.chosen[result.tree.best_leaf] and result.tree.chosen[0]
    assert int(result.tree.chosen.sum()) == n_out + 1
    if kind == "transformer":
        assert result.cross_attention.shape == (2, 2, n_out, n_src)
        assert result.encoder_attention.shape == (2, 2, n_src, n_src)
        upper = np.triu(np.ones((n_out, n_out), dtype=bool), k=1)
        assert np.all(result.decoder_attention[:, :, upper] == 0.0)
        np.testing.assert_allclose(result.cross_attention.sum(-1), 1.0, atol=1e-5)
    elif kind == "lstm-attention":
        assert result.alignment.shape == (n_out, n_src)
        np.testing.assert_allclose(result.alignment.sum(-1), 1.0, atol=1e-5)
    else:
        assert result.alignment is None
    expected = list(range(n_src))[::-1] if kind == "lstm-reversed" else list(range(n_src))
    assert list(result.read_order) == expected
    assert analysis.translate(model, src_tok, tgt_tok, "", 3, torch.device("cpu")) is None


def test_checkpoint_round_trip_and_bad_card(tmp_path, tokenizers):
    src_tok, tgt_tok = tokenizers
    from dataclasses import asdict

    for kind in ("lstm-attention", "transformer"):
        model = tiny(kind, src_tok.vocab_size)
        card = {
            "family": "translation",
            "architecture": "transformer" if kind == "transformer" else "seq2seq",
            "config": asdict(model.config),
        }
        name = f"translate-{kind}"
        save_checkpoint(
            name,
            dict(model.state_dict()),
            card,
            root=tmp_path,
            half=False,
            side_files={
                data.SOURCE_TOKENIZER_FILE: src_tok.proto,
                data.TARGET_TOKENIZER_FILE: tgt_tok.proto,
            },
        )
        checkpoint = load_checkpoint(name, root=tmp_path, family="translation")
        again = analysis.model_from_checkpoint(checkpoint).eval()
        src, tgt = torch.tensor([[5, 6, 7]]), torch.tensor([[data.BOS_ID, 8]])
        torch.testing.assert_close(again(src, tgt).logits, model(src, tgt).logits)
        s, t = analysis.tokenizers_from_checkpoint(checkpoint)
        assert s.encode("the film") == src_tok.encode("the film")
    broken = dict(checkpoint.card, config={"nonsense": 1})
    with pytest.raises(CheckpointError, match="nlpviz train translate-transformer"):
        analysis.model_from_checkpoint(
            type(checkpoint)(checkpoint.name, checkpoint.directory, broken, checkpoint.tensors)
        )


# ---- sentence space -------------------------------------------------------------------------


def test_pca_of_collinear_points_is_one_component():
    direction = np.array([1.0, 2.0, -1.0, 0.5])
    vectors = np.outer(np.arange(5.0), direction) + 3.0
    projection = analysis.pca_2d(vectors)
    assert projection.explained[0] == pytest.approx(1.0)
    assert projection.explained[1] == pytest.approx(0.0, abs=1e-12)
    gaps = np.diff(projection.coords[:, 0])
    np.testing.assert_allclose(np.abs(gaps), np.linalg.norm(direction))
    with pytest.raises(ValueError):
        analysis.pca_2d(np.ones((1, 4)))


def test_sentence_vectors_are_the_encoder_final_state(tokenizers):
    src_tok, _ = tokenizers
    model = tiny("lstm", src_tok.vocab_size)
    sentences = ["the film", "the old man gave a book about the war"]
    vectors = analysis.sentence_vectors(model, src_tok, sentences, torch.device("cpu"))
    for i, sentence in enumerate(sentences):
        memory = model.encode(torch.tensor([src_tok.encode(sentence)]))
        np.testing.assert_allclose(vectors[i], memory.hidden[-1, 0].detach().numpy(), atol=1e-6)


# ---- claims ---------------------------------------------------------------------------------


def card(bleu, ppl, seconds, curve=(50.0, 20.0)):
    history = [
        {"step": 50 * (i + 1), "wall_s": seconds * (i + 1) / len(curve), "dev_perplexity": p}
        for i, p in enumerate(curve)
    ]
    return {
        "metrics": {"test_bleu": bleu, "test_perplexity": ppl},
        "run": {"wall_time_s": seconds},
        "recipe": {"steps": 100},
        "history": history,
    }


def test_claim_checks_judge_the_direction_and_a_lead_without_an_se_is_not_judged():
    cards = {
        "translate-lstm": card(10.0, 9.0, 100, (90.0, 40.0)),
        "translate-lstm-reversed": card(14.0, 7.0, 100, (80.0, 30.0)),
        "translate-lstm-attention": card(20.0, 5.0, 110, (70.0, 25.0)),
        "translate-transformer": card(18.0, 5.5, 150, (60.0, 24.0, 10.0)),
    }
    checks = {c.claim: c for c in analysis.claim_checks(cards)}
    assert {k: c.reproduced for k, c in checks.items()} == {
        # BLEU and seconds come without a standard error: a lead cannot be told from noise,
        # but a gap the wrong way fails the two-SE rule whatever the SE
        "Reversing the source helps the LSTM a lot": None,
        "The Transformer beats recurrent models": False,  # 18 vs 20 BLEU
        "The Transformer trains faster": None,  # perplexity 25 after 100 s, vs 110 s
    }
    assert "bootstrap" in checks["Reversing the source helps the LSTM a lot"].reason
    assert "after 100 s" in checks["The Transformer trains faster"].ours
    slow = dict(cards, **{"translate-transformer": card(18.0, 5.5, 300, (60.0, 30.0, 26.0))})
    faster = next(c for c in analysis.claim_checks(slow) if c.claim.endswith("faster"))
    assert faster.reproduced is False and "never reached" in faster.ours
    assert (
        analysis.time_to_perplexity(
            [{"wall_s": 5, "dev_perplexity": 9}, {"wall_s": 9, "dev_perplexity": 4}], 5
        )
        == 9
    )
    assert analysis.claim_checks({}) == []


# ---- figures --------------------------------------------------------------------------------


def test_tree_layout_puts_leaves_in_order_and_parents_between_children():
    parent = np.array([-1, 0, 0, 1, 1, 2])
    rank = np.array([0, 0, 1, 0, 1, 0])
    y = figures.tree_layout(parent, rank)
    assert list(y[[3, 4, 5]]) == [0.0, 1.0, 2.0]
    assert y[1] == 0.5 and y[2] == 2.0 and y[0] == 1.25


def test_beam_tree_figure_draws_every_node_and_escapes_pieces(tokenizers):
    src_tok, tgt_tok = tokenizers
    model = tiny("lstm", src_tok.vocab_size)
    t = analysis.translate(model, src_tok, tgt_tok, "the film", 3, torch.device("cpu")).tree
    pieces = list(t.piece)
    pieces[1] = "<b>x</b>"
    figure = figures.beam_tree_figure(
        t.parent, t.step, t.rank, pieces, t.token_log_prob, t.score, t.status, t.chosen, "tree"
    )
    markers = [tr for tr in figure.data if "markers" in tr.mode]
    assert sum(len(tr.x) for tr in markers) == len(t.parent)
    chosen = next(tr for tr in markers if tr.name == "chosen translation")
    assert len(chosen.x) == int(t.chosen.sum())
    hover = [row[0] for tr in markers for row in tr.customdata]
    assert "&lt;b&gt;x&lt;/b&gt;" in hover and "<b>x</b>" not in hover
    frame = figures.tree_frame(
        t.parent, t.step, t.rank, t.piece, t.token_log_prob, t.score, t.status, t.chosen
    )
    assert len(frame) == len(t.parent)
    with pytest.raises(ValueError, match="score"):
        figures.beam_tree_figure(
            t.parent,
            t.step,
            t.rank,
            t.piece,
            t.token_log_prob,
            t.score[:-1],
            t.status,
            t.chosen,
            "tree",
        )


def test_attention_heatmap_keeps_the_weights_and_checks_shapes():
    weights = np.array([[0.25, 0.75], [1.0, 0.0], [0.5, 0.5]])
    figure = figures.attention_heatmap(weights, ["a", "b", "<c>"], ["x", "y"], "t", "r", "c")
    np.testing.assert_allclose(np.asarray(figure.data[0].z), weights)
    assert figure.data[0].y[2] == "2·&lt;c&gt;"
    assert len(figures.attention_frame(weights, ["a", "b", "c"], ["x", "y"])) == 6
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        figures.attention_heatmap(weights, ["a", "b"], ["x", "y"], "t", "r", "c")


def test_a_bootstrap_se_in_the_cards_lets_a_lead_be_judged_both_ways():
    def with_se(bleu, ppl, bleu_se, ppl_se):
        out = card(bleu, ppl, 100)
        out["metrics"].update(test_bleu_se=bleu_se, test_perplexity_se=ppl_se)
        return out

    reversal = "Reversing the source helps the LSTM a lot"
    # gaps 4 BLEU and 2 perplexity; SE of each difference hypot(1, 1) = 1.41, so 2 SE = 2.83
    clear = {
        "translate-lstm": with_se(10, 9, 1, 0.1),
        "translate-lstm-reversed": with_se(14, 7, 1, 0.1),
    }
    assert {c.claim: c.reproduced for c in analysis.claim_checks(clear)}[reversal] is True
    # the same BLEU gap under SEs of 2 (2 SE of the difference = 5.66) is noise
    noisy = {
        "translate-lstm": with_se(10, 9, 2, 0.1),
        "translate-lstm-reversed": with_se(14, 7, 2, 0.1),
    }
    assert {c.claim: c.reproduced for c in analysis.claim_checks(noisy)}[reversal] is False
    # one card without an SE leaves the lead unjudged
    mixed = {"translate-lstm": card(10, 9, 100), "translate-lstm-reversed": with_se(14, 7, 1, 0.1)}
    assert {c.claim: c.reproduced for c in analysis.claim_checks(mixed)}[reversal] is None
    assert analysis.difference_se(
        clear["translate-lstm"], clear["translate-lstm-reversed"], "test_bleu"
    ) == pytest.approx(2**0.5)


def test_the_bootstrap_se_matches_the_binomial_se_of_a_mean():
    from nlpviz.train.translation import bootstrap_se

    values = np.array([0.0] * 300 + [1.0] * 700)
    se = bootstrap_se(lambda rows: values[rows].mean(), len(values), rounds=400)
    assert se == pytest.approx(np.sqrt(0.3 * 0.7 / 1000), rel=0.15)
    # the resamples depend only on n and the seed: two statistics see the same rows
    seen = []
    bootstrap_se(lambda rows: seen.append(rows.copy()) or 0.0, 50, rounds=3)
    again = []
    bootstrap_se(lambda rows: again.append(rows.copy()) or 0.0, 50, rounds=3)
    assert all((a == b).all() for a, b in zip(seen, again, strict=True))


def test_sentence_nll_sums_to_the_perplexity_it_reports():
    from nlpviz.train import translation as trainer

    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(40, 40, d_embed=8, d_hidden=8))
    rng = np.random.default_rng(0)
    pairs = trainer.Encoded(
        [rng.integers(5, 40, rng.integers(2, 7)) for _ in range(9)],
        [np.append(rng.integers(5, 40, rng.integers(1, 6)), data.EOS_ID) for _ in range(9)],
    )
    nll = trainer.sentence_nll(model, pairs, torch.device("cpu"), batch_size=4)
    assert nll[:, 1].tolist() == [len(t) for t in pairs.tgt]
    # one pair alone: the same summed NLL as scored in a padded batch
    alone = trainer.sentence_nll(
        model, trainer.Encoded(pairs.src[3:4], pairs.tgt[3:4]), torch.device("cpu")
    )
    assert alone[0, 0] == pytest.approx(nll[3, 0], rel=1e-5)
    assert trainer.perplexity(model, pairs, torch.device("cpu")) == pytest.approx(
        np.exp(nll[:, 0].sum() / nll[:, 1].sum())
    )


def test_update_budget_names_one_length_or_the_span() -> None:
    def card(steps, batch=64):
        return {"recipe": {"steps": steps, "batch_size": batch}}

    same = {"a": card(6000), "b": card(6000)}
    assert analysis.update_budget(same) == "6,000 updates of 64 pairs"
    mixed = {"a": card(10000), "b": card(6000), "c": card(6000)}
    assert analysis.update_budget(mixed) == "6,000 to 10,000 updates of 64 pairs"
    assert analysis.update_budget({"a": card(6000, 32), "b": card(6000)}) == "6,000 updates"
    assert analysis.update_budget({"a": {"recipe": {}}}) == "an unrecorded number of updates"
