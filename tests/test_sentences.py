"""Sentence splitting with pysbd: abbreviations survive, line breaks are boundaries."""

from stance.sentences import split_sentences


def test_abbreviations_do_not_end_sentences() -> None:
    text = "The U.S. and Mr. Smith met Dr. Lee on May 16. They talked."
    assert split_sentences(text) == ["The U.S. and Mr. Smith met Dr. Lee on May 16.", "They talked."]


def test_line_breaks_are_paragraph_boundaries_and_blank_lines_vanish() -> None:
    text = "\ufeffHeadline without a period\r\n\r\nFirst sentence. Second one!\n\n  \n"
    assert split_sentences(text) == ["Headline without a period", "First sentence.", "Second one!"]


def test_quotes_stay_with_their_sentence() -> None:
    text = 'He said, "We oppose it." Then he left.'
    assert split_sentences(text) == ['He said, "We oppose it."', "Then he left."]


def test_empty_text_has_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\t ") == []
