"""Attribution: IG's completeness and a Riemann-sum oracle on the Kim CNN; the workbench's
adapters for every family, every Captum method against a hand-computed oracle, thread safety."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
import transformers
from helpers import tiny_kim

from nlpviz import attribution as lib
from nlpviz.analysis.kim_cnn import attribute, tokenize
from nlpviz.data.vocab import Vocab
from nlpviz.models.han import (
    HAN,
    FlatAttentionGRU,
    FlatAttentionGRUConfig,
    HANConfig,
    pad_documents,
)
from nlpviz.models.kim_cnn import pad_ids
from nlpviz.models.lora import MiniLMClassifier
from nlpviz.models.tagger import Tagger, TaggerConfig
from nlpviz.models.tagger import encode_sentences as tagger_encode
from nlpviz.viz import attribution as figures

TEXT = "the film is not very great !"


def _oracle_ig(model, vocab, text, target, steps=2000):
    """Midpoint Riemann sum of the path integral, written without Captum."""
    ids = pad_ids([tokenize(text, vocab).ids], 5)
    lengths = torch.tensor([int((ids != 0).sum())])
    with torch.no_grad():
        x = model.embed(ids)
    alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps
    path = (alphas[:, None, None] * x).requires_grad_(True)  # (steps, seq, dim)
    probs = torch.softmax(model.forward_embedded(path, lengths.expand(steps)).logits, -1)
    (grads,) = torch.autograd.grad(probs[:, target].sum(), path)
    return (x[0] * grads.mean(dim=0)).sum(-1).numpy()[: lengths.item()]


@pytest.mark.parametrize("variant", ["rand", "multichannel"])
def test_attributions_sum_to_the_output_difference_within_delta(variant):
    model, vocab = tiny_kim(variant, seed=3)
    result = attribute(model, vocab, TEXT, target=1, device=torch.device("cpu"), n_steps=50)
    difference = result.output_at_input - result.output_at_baseline
    # Captum's delta is exactly this gap, and with 50 steps the gap is small.
    assert result.scores.sum() - difference == pytest.approx(result.delta, abs=1e-5)
    assert abs(result.delta) < 0.01
    assert abs(difference) > 1e-4  # the check above would be vacuous on a constant model


def test_attributions_match_an_independent_riemann_sum():
    model, vocab = tiny_kim("non-static", seed=5)
    result = attribute(model, vocab, TEXT, target=0, device=torch.device("cpu"), n_steps=200)
    oracle = _oracle_ig(model, vocab, TEXT, target=0)
    np.testing.assert_allclose(result.scores, oracle, atol=2e-3)
    assert result.tokens == tuple(TEXT.split())


def test_internal_batching_does_not_change_the_result():
    model, vocab = tiny_kim("static", seed=7)
    a = attribute(model, vocab, TEXT, 1, torch.device("cpu"), n_steps=40, internal_batch_size=7)
    b = attribute(model, vocab, TEXT, 1, torch.device("cpu"), n_steps=40, internal_batch_size=40)
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-6)


def test_attribution_leaves_no_gradient_on_the_shared_model():
    model, vocab = tiny_kim("non-static", seed=1)
    attribute(model, vocab, TEXT, 1, torch.device("cpu"), n_steps=20)
    assert all(p.grad is None for p in model.parameters())
    assert not model._forward_hooks and not model._backward_hooks


def test_empty_text_has_no_attribution():
    model, vocab = tiny_kim("rand")
    assert attribute(model, vocab, "   ", 0, torch.device("cpu")) is None


# ---- the workbench: every family adapted, every method, thread safety ----------------------------

CPU = torch.device("cpu")
DOCUMENT = "The film is great. It is not very dull! A plot, the film."
NAMES2 = ("neg", "pos")


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_han(seed: int = 0) -> tuple[HAN, Vocab]:
    torch.manual_seed(seed)
    vocab = Vocab.build([["the", "film", "is", "great", ".", "it", "not", "very", "dull", "!"]])
    config = HANConfig(
        len(vocab), 3, embed_dim=6, word_hidden=4, sentence_hidden=4, attention_dim=5
    )
    return HAN(config).eval(), vocab


def tiny_flat(seed: int = 0) -> tuple[FlatAttentionGRU, Vocab]:
    torch.manual_seed(seed)
    vocab = Vocab.build([["the", "film", "is", "great", ".", "it", "not", "very", "dull"]])
    config = FlatAttentionGRUConfig(len(vocab), 2, embed_dim=6, hidden=4, attention_dim=5)
    return FlatAttentionGRU(config).eval(), vocab


def tiny_tagger(seed: int = 0) -> tuple[Tagger, Vocab, Vocab]:
    torch.manual_seed(seed)
    vocab = Vocab.build([["the", "film", "is", "great", "in", "paris"]])
    chars = Vocab.build([list("thefilmsgreatinparisTP")])
    config = TaggerConfig(
        vocab_size=len(vocab),
        char_vocab_size=len(chars),
        tags=("O", "B-LOC", "I-LOC"),
        word_dim=6,
        char_dim=4,
        char_filters=3,
        hidden=5,
    )
    return Tagger(config).eval(), vocab, chars


def tiny_minilm(tmp_path, seed: int = 0):
    torch.manual_seed(seed)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "film", "is", "great", "dull"]
    (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n")
    tokenizer = transformers.BertTokenizerFast(vocab=str(tmp_path / "vocab.txt"))
    config = transformers.BertConfig(
        vocab_size=len(words),
        hidden_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=32,
        attn_implementation="eager",
    )
    encoder = transformers.BertModel(config, add_pooling_layer=False).eval()
    return MiniLMClassifier(encoder).eval(), tokenizer


def test_han_adapter_reproduces_the_model_and_its_attention():
    model, vocab = tiny_han()
    embedded = lib.prepare_han(model, vocab, DOCUMENT, ("a", "b", "c"), CPU)
    ids = [vocab.encode(s) for s in (["the", "film", "is", "great", "."],)]
    assert embedded.tokens[:5] == ("the", "film", "is", "great", ".")
    from nlpviz.data.documents import tokenize_document

    document = tokenize_document(DOCUMENT)
    ids = [vocab.encode(s) for s in document.sentences]
    with torch.no_grad():
        out = model(pad_documents([ids]))
    expected = torch.softmax(out.logits, -1)[0].numpy()
    np.testing.assert_allclose(embedded.probabilities(), expected, atol=1e-6)
    assert embedded.attention.sum() == pytest.approx(1.0, abs=1e-5)


def test_flat_adapter_reproduces_the_model():
    model, vocab = tiny_flat()
    embedded = lib.prepare_flat(model, vocab, DOCUMENT, NAMES2, CPU)
    ids = torch.tensor([vocab.encode(list(embedded.tokens))])
    with torch.no_grad():
        expected = torch.softmax(model(ids).logits, -1)[0].numpy()
    np.testing.assert_allclose(embedded.probabilities(), expected, atol=1e-6)


def test_tagger_adapter_is_the_softmax_of_the_emissions_at_the_position():
    model, vocab, chars = tiny_tagger()
    tokens = ("The", "film", "is", "great", "in", "Paris")
    embedded = lib.prepare_tagger(model, vocab, chars, tokens, 5, CPU)
    words, char_ids = tagger_encode(vocab, chars, [list(tokens)], model.config.char_window)
    with torch.no_grad():
        emissions, _, _ = model.emissions(words, char_ids)
    np.testing.assert_allclose(
        embedded.probabilities(), torch.softmax(emissions[0, 5], -1).numpy(), atol=1e-6
    )
    with pytest.raises(ValueError, match="outside"):
        lib.prepare_tagger(model, vocab, chars, tokens, 6, CPU)


def test_minilm_adapter_reproduces_the_classifier_and_keeps_specials_fixed(tmp_path):
    model, tokenizer = tiny_minilm(tmp_path)
    embedded = lib.prepare_minilm(model, tokenizer, "the film is dull", NAMES2, CPU, max_len=16)
    encoded = tokenizer(["the film is dull"], return_tensors="pt")
    with torch.no_grad():
        out = model(encoded["input_ids"], encoded["attention_mask"])
    np.testing.assert_allclose(embedded.probabilities(), out.logits.softmax(-1)[0], atol=1e-5)
    assert embedded.tokens == ("the", "film", "is", "dull")
    assert set(embedded.baselines) == {"pad", "zero", "mask", "unk"}
    cut = lib.prepare_minilm(model, tokenizer, "the film " * 20, NAMES2, CPU, max_len=10)
    assert len(cut.tokens) == 8 and cut.dropped == 32


@pytest.mark.parametrize("family", ["kim", "han", "flat", "tagger", "minilm"])
def test_ig_completeness_within_delta_on_every_family(family, tmp_path):
    if family == "kim":
        model, vocab = tiny_kim("multichannel", seed=2)
        embedded = lib.prepare_kim(model, vocab, TEXT, NAMES2, CPU)
    elif family == "han":
        model, vocab = tiny_han(seed=2)
        embedded = lib.prepare_han(model, vocab, DOCUMENT, ("a", "b", "c"), CPU)
    elif family == "flat":
        model, vocab = tiny_flat(seed=2)
        embedded = lib.prepare_flat(model, vocab, DOCUMENT, NAMES2, CPU)
    elif family == "tagger":
        model, vocab, chars = tiny_tagger(seed=2)
        embedded = lib.prepare_tagger(model, vocab, chars, ("the", "film", "in", "Paris"), 3, CPU)
    else:
        model, tokenizer = tiny_minilm(tmp_path, seed=2)
        embedded = lib.prepare_minilm(model, tokenizer, "the film is great", NAMES2, CPU)
    options = lib.AttributionOptions(baseline="zero", n_steps=64, internal_batch_size=13)
    result = lib.attribute(embedded, "Integrated Gradients", 1, options)
    gap = result.probability - result.output_at_baseline
    assert result.scores.sum() - gap == pytest.approx(result.delta, abs=1e-5)
    assert abs(result.delta) < 0.01
    assert abs(gap) > 1e-4  # a constant model would make the check vacuous
    assert result.scores.shape == (len(embedded.tokens),)


def test_occlusion_with_a_one_token_window_is_the_hand_computed_drop():
    model, vocab = tiny_kim("non-static", seed=4)
    embedded = lib.prepare_kim(model, vocab, TEXT, NAMES2, CPU)
    options = lib.AttributionOptions(window=1, baseline="unk", internal_batch_size=3)
    occlusion = lib.attribute(embedded, "Occlusion", 0, options)
    ablation = lib.attribute(embedded, "Feature Ablation", 0, options)
    with torch.no_grad():
        full = embedded.forward(embedded.inputs)[0, 0]
        drops = []
        for i in range(len(embedded.tokens)):
            x = embedded.inputs.clone()
            x[0, i] = embedded.baselines["unk"][0, i]
            drops.append(float(full - embedded.forward(x)[0, 0]))
    np.testing.assert_allclose(occlusion.scores, drops, atol=1e-6)
    np.testing.assert_allclose(ablation.scores, drops, atol=1e-6)
    assert max(abs(d) for d in drops) > 1e-4


def test_occlusion_with_a_wider_window_averages_the_windows_that_cover_a_token():
    model, vocab = tiny_kim("rand", seed=6)
    embedded = lib.prepare_kim(model, vocab, TEXT, NAMES2, CPU)
    result = lib.attribute(embedded, "Occlusion", 1, lib.AttributionOptions(window=2))
    n = len(embedded.tokens)
    with torch.no_grad():
        full = embedded.forward(embedded.inputs)[0, 1]
        window_drop = []
        for start in range(n - 1):
            x = embedded.inputs.clone()
            x[0, start : start + 2] = 0.0  # pad vectors are zero in the Kim CNN
            window_drop.append(float(full - embedded.forward(x)[0, 1]))
    expected = [np.mean([window_drop[s] for s in (i - 1, i) if 0 <= s < n - 1]) for i in range(n)]
    np.testing.assert_allclose(result.scores, expected, atol=1e-6)


def test_input_x_gradient_and_saliency_agree_with_autograd():
    model, vocab = tiny_kim("static", seed=8)
    embedded = lib.prepare_kim(model, vocab, TEXT, NAMES2, CPU)
    x = embedded.inputs.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(embedded.forward(x)[0, 1], x)
    options = lib.AttributionOptions(baseline="zero")
    ixg = lib.attribute(embedded, "Input x Gradient", 1, options)
    saliency = lib.attribute(embedded, "Saliency", 1, options)
    np.testing.assert_allclose(ixg.scores, (x * grad).sum(-1)[0].detach(), atol=1e-6)
    np.testing.assert_allclose(saliency.scores, grad.abs().sum(-1)[0], atol=1e-6)
    assert (saliency.scores >= 0).all()


def test_deeplift_is_not_offered_under_a_name_it_does_not_earn():
    """With functional non-linearities and no hooks on the shared model, Captum's DeepLift is
    Input x Gradient from the baseline; the workbench leaves it out rather than mislabel it."""
    assert "DeepLift" not in lib.METHODS
    model, vocab = tiny_kim("static", seed=8)
    embedded = lib.prepare_kim(model, vocab, TEXT, NAMES2, CPU)
    with pytest.raises(ValueError):
        lib.attribute(embedded, "DeepLift", 1)


def test_gradient_shap_is_reproducible_and_leaves_the_global_generator_alone():
    model, vocab = tiny_kim("rand", seed=9)
    embedded = lib.prepare_kim(model, vocab, TEXT, NAMES2, CPU)
    torch.manual_seed(123)
    np.random.seed(123)
    before = torch.rand(1), np.random.rand()
    torch.manual_seed(123)
    np.random.seed(123)
    a = lib.attribute(embedded, "GradientSHAP", 1)
    after = torch.rand(1), np.random.rand()
    b = lib.attribute(embedded, "GradientSHAP", 1)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert torch.equal(before[0], after[0]) and before[1] == after[1]
    other = lib.attribute(embedded, "GradientSHAP", 1, lib.AttributionOptions(seed=1))
    assert not np.array_equal(a.scores, other.scores)


def test_every_method_leaves_no_hook_and_no_gradient_on_the_model():
    model, vocab = tiny_han(seed=3)
    for parameter in model.parameters():
        parameter.requires_grad_(False)  # as the serving loader freezes it
    embedded = lib.prepare_han(model, vocab, DOCUMENT, ("a", "b", "c"), CPU)
    for method in lib.METHODS:
        result = lib.attribute(embedded, method, 2)
        assert np.isfinite(result.scores).all(), method
    for module in model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks, module
        assert not module._backward_hooks, module
    assert all(p.grad is None for p in model.parameters())


def test_bad_requests_are_clear_errors():
    model, vocab = tiny_kim("rand")
    embedded = lib.prepare_kim(model, vocab, TEXT, NAMES2, CPU)
    with pytest.raises(ValueError, match="unknown method"):
        lib.attribute(embedded, "LRP", 0)
    with pytest.raises(ValueError, match="not a class index"):
        lib.attribute(embedded, "Saliency", 5)
    with pytest.raises(ValueError, match="baseline 'mask' is not available"):
        lib.attribute(embedded, "Saliency", 0, lib.AttributionOptions(baseline="mask"))
    with pytest.raises(ValueError, match="n_steps"):
        lib.AttributionOptions(n_steps=1)
    assert lib.prepare_kim(model, vocab, " \n ", NAMES2, CPU) is None
    assert lib.prepare_han(*tiny_han(), " \t\n ", ("a", "b", "c"), CPU) is None
    long = lib.prepare_kim(model, vocab, "the film " * 100, NAMES2, CPU, max_units=50)
    assert len(long.tokens) == 50 and long.dropped == 150


def test_two_threads_attributing_and_predicting_at_once_match_running_alone():
    model, vocab = tiny_han(seed=11)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    lock = threading.Lock()  # what the cached loader hands out with the model
    ids = pad_documents([[vocab.encode(["the", "film", "is", "great"]), vocab.encode(["dull"])]])
    methods = ("Integrated Gradients", "Input x Gradient", "GradientSHAP", "Occlusion")

    def attribute_all():
        embedded = lib.prepare_han(model, vocab, DOCUMENT, ("a", "b", "c"), CPU)
        with lock:
            return [lib.attribute(embedded, m, 1).scores for m in methods]

    def predict():
        with torch.no_grad():
            return model(ids).logits.clone()

    alone_scores, alone_logits = attribute_all(), predict()
    results: dict[str, list] = {"scores": [], "logits": []}
    errors: list[BaseException] = []

    def run(kind: str) -> None:
        try:
            for _ in range(6):
                results[kind].append(attribute_all() if kind == "scores" else predict())
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(k,)) for k in ("scores", "logits", "scores", "logits")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results["scores"]) == 12 and len(results["logits"]) == 12
    for scores in results["scores"]:
        for got, want in zip(scores, alone_scores, strict=True):
            np.testing.assert_allclose(got, want, atol=1e-6)
    for logits in results["logits"]:
        torch.testing.assert_close(logits, alone_logits)
    assert not any(m._forward_hooks or m._backward_hooks for m in model.modules())


class _SumOfWeights(torch.nn.Module):
    """P(class 1) = sum of each present token's first vector entry; removed tokens are zeros."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x[..., 0].sum(dim=1)  # (b,)
        return torch.stack([1 - s, s], dim=-1)


def _sum_text(words: list[str], weights: dict[str, float]) -> lib.EmbeddedText:
    inputs = torch.zeros(1, len(words), 3)
    inputs[0, :, 0] = torch.tensor([weights[w] for w in words])
    inputs[0, :, 1] = 5.0  # ignored by the model, so it must not move the scores
    return lib.EmbeddedText(
        tokens=tuple(words),
        inputs=inputs,
        baselines={"pad": torch.zeros_like(inputs)},
        forward=_SumOfWeights(),
        class_names=NAMES2,
    )


def test_dataset_view_averages_each_words_scores_over_its_occurrences():
    weights = {"good": 0.3, "bad": -0.2, "film": 0.05, "a": 0.0}
    texts = ["good film", "a bad film", "", "good good bad", "   "]
    seen = []
    result = lib.attribute_dataset(
        lambda t: _sum_text(t.split(), weights),
        texts,
        "Feature Ablation",
        1,
        progress=seen.append,
    )
    assert result.rows_read == 3 and result.rows_skipped == 2
    means = dict(zip(result.words, result.mean, strict=True))
    counts = dict(zip(result.words, result.count, strict=True))
    for word, weight in weights.items():
        assert means[word] == pytest.approx(weight, abs=1e-6)
    assert counts == {"good": 3, "film": 2, "a": 1, "bad": 2}
    assert seen == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert [w for w, _, _ in result.top(5, min_count=1)] == ["good", "film"]
    assert [w for w, _, _ in result.top(5, min_count=1, positive=False)] == ["bad"]
    assert result.top(5, min_count=3) == [("good", pytest.approx(0.3), 3)]


def test_a_cancelled_dataset_run_stops_at_once_and_releases_the_lock():
    lock = threading.Lock()
    calls = []

    def cancel(fraction: float) -> None:
        calls.append(fraction)
        if len(calls) == 2:
            raise KeyboardInterrupt("stopped by the user")  # Streamlit raises from st calls

    with pytest.raises(KeyboardInterrupt):
        with lock:
            lib.attribute_dataset(
                lambda t: _sum_text(t.split(), {"a": 0.1}), ["a"] * 10, "Saliency", 1, None, cancel
            )
    assert len(calls) == 2
    assert lock.acquire(blocking=False)


# ---- the figures -----------------------------------------------------------------------------


def test_grid_figure_puts_every_cell_on_one_scale_and_escapes_tokens():
    rows = [
        figures.GridRow(
            "m1 <i>", ("<b>", "ok"), ("Saliency", "Occlusion"), np.array([[1, 3], [-2, 2]])
        ),
        figures.GridRow("m2", ("a",), ("Saliency",), np.array([[0.5]])),
    ]
    spec = figures.grid_figure(rows).to_plotly_json()
    z = [np.array(t["z"]) for t in spec["data"]]
    np.testing.assert_allclose(z[0], [[0.25, 0.75], [-0.5, 0.5]])
    np.testing.assert_allclose(z[1], [[1.0]])
    assert spec["layout"]["coloraxis"]["cmax"] == 1.0 == -spec["layout"]["coloraxis"]["cmin"]
    assert spec["data"][0]["x"] == ["0·&lt;b&gt;", "1·ok"]
    assert "&lt;i&gt;" in spec["layout"]["annotations"][0]["text"]
    with pytest.raises(ValueError, match="scores of m2"):
        figures.grid_figure([figures.GridRow("m2", ("a", "b"), ("Saliency",), np.array([[1.0]]))])


def test_token_html_escapes_text_and_attributes():
    html = figures.token_html(['"><script>', "fine"], np.array([0.2, -0.1]), bound=1.0)
    assert "<script>" not in html and '">' not in html.split("title=", 1)[1][:12]
    assert html.count("<span") == 2 and "&lt;script&gt;" in html
    assert figures.shares(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]


def test_curves_and_agreement_figures_check_their_shapes():
    with pytest.raises(ValueError, match="deletion"):
        figures.curves_figure(np.array([0, 0.5, 1]), np.array([1, 0]), np.array([0, 1, 1]), 1, "t")
    figure = figures.agreement_figure(["a", "b"], np.array([[1, np.nan], [np.nan, 1]]), "t")
    assert figure.to_plotly_json()["data"][0]["text"] == [["+1.00", "—"], ["—", "+1.00"]]
