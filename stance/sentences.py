"""Sentence splitting: one splitter for labelled data and for new text at inference."""

from __future__ import annotations

import re
from functools import lru_cache

import pysbd

_PARAGRAPH_BREAK = re.compile(r"\s*\n\s*")


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    # clean=False keeps the text byte-for-byte; pysbd's cleaning rewrites it.
    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(text: str) -> list[str]:
    """Split raw article text into sentences.

    Line breaks are paragraph boundaries (news text puts one paragraph, heading
    or caption per line), and pysbd splits each paragraph. Sentences come back
    stripped of surrounding whitespace; empty ones are dropped.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    sentences: list[str] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        for sentence in _segmenter().segment(paragraph):
            sentence = sentence.strip()
            if sentence:
                sentences.append(sentence)
    return sentences
