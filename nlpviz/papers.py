"""The papers nlpviz covers: the landing page's gallery (plain data, no streamlit).

Every paper here is reproduced by some family in :mod:`nlpviz.registry` (tests/test_registry.py
holds the two lists to each other).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Paper:
    key: str
    title: str
    authors: str
    year: int
    idea: str
    pages: tuple[tuple[str, str], ...] = ()  # (path under pages/, link label); empty: coming


PAPERS: tuple[Paper, ...] = (
    Paper(
        "kim",
        "Convolutional Neural Networks for Sentence Classification",
        "Kim",
        2014,
        "Filters of width 3-5 slide over word vectors; max-pooling keeps each filter's best "
        "n-gram.",
        (("pages/1_Kim_CNN.py", "Filters and n-grams"),),
    ),
    Paper(
        "chung",
        "Empirical Evaluation of Gated Recurrent Neural Networks on Sequence Modeling",
        "Chung, Gulcehre, Cho, Bengio",
        2014,
        "GRU and LSTM gates decide, step by step, what to keep and what to forget.",
        (("pages/11_Gated_RNN.py", "Gates over time: GRU vs LSTM"),),
    ),
    Paper(
        "mahovy",
        "End-to-end Sequence Labeling via Bi-directional LSTM-CNNs-CRF",
        "Ma & Hovy",
        2016,
        "Character CNN + BiLSTM emissions + CRF transitions; Viterbi picks the tag path.",
        (("pages/3_Tagger.py", "Emissions, transitions, Viterbi"),),
    ),
    Paper(
        "sutskever",
        "Sequence to Sequence Learning with Neural Networks",
        "Sutskever, Vinyals, Le",
        2014,
        "An encoder LSTM reads the reversed source; a decoder LSTM writes the translation.",
        (("pages/10_Translation.py", "Beam search, sentence space, reversed source"),),
    ),
    Paper(
        "han",
        "Hierarchical Attention Networks for Document Classification",
        "Yang et al.",
        2016,
        "Attention over words builds sentences; attention over sentences builds the document.",
        (("pages/2_HAN.py", "Word and sentence attention"),),
    ),
    Paper(
        "vaswani",
        "Attention Is All You Need",
        "Vaswani et al.",
        2017,
        "Self-attention heads replace recurrence; every token looks at every other.",
        (
            ("pages/4_Attention.py", "Attention explorer"),
            ("pages/10_Translation.py", "Encoder-decoder translation, cross-attention"),
            ("pages/8_Positional_Encoding.py", "Positional encodings"),
        ),
    ),
    Paper(
        "bert",
        "BERT: Pre-training of Deep Bidirectional Transformers",
        "Devlin et al.",
        2019,
        "Masked-language-model pretraining of a bidirectional Transformer encoder.",
        (
            ("pages/5_Masked_LM.py", "Masked-LM predictions"),
            ("pages/4_Attention.py", "Attention explorer"),
        ),
    ),
    Paper(
        "roberta",
        "RoBERTa: A Robustly Optimized BERT Pretraining Approach",
        "Liu et al.",
        2019,
        "Dynamic masking, no next-sentence prediction, byte-level BPE, more data.",
        (("pages/5_Masked_LM.py", "Dynamic vs static masks"),),
    ),
    Paper(
        "deberta",
        "DeBERTa: Decoding-enhanced BERT with Disentangled Attention",
        "He et al.",
        2021,
        "Attention split into content-to-content, content-to-position and "
        "position-to-content terms.",
        (("pages/6_DeBERTa.py", "Content and position attention"),),
    ),
    Paper(
        "debertav3",
        "DeBERTaV3: Improving DeBERTa using ELECTRA-Style Pre-Training",
        "He, Gao, Chen",
        2023,
        "A discriminator learns to spot the tokens a small generator replaced.",
        (("pages/7_DeBERTaV3.py", "Replaced-token detection"),),
    ),
    Paper(
        "lora",
        "LoRA: Low-Rank Adaptation of Large Language Models",
        "Hu et al.",
        2022,
        "Freeze the weights; learn a low-rank update B A beside them.",
        (("pages/9_LoRA.py", "Rank sweeps and subspaces"),),
    ),
)
