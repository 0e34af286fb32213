"""Corpora, splits, tokenizers and vocabularies."""
