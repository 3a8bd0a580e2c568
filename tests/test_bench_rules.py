"""bench.rules: the refitted calls and the story-half cross-fit score what they say."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from bench.rules.run import NEUTRAL, OPPOSE, SUPPORT, call, cross_fit, sentence_f1


def test_call_is_neutral_at_the_bar_and_weighs_support_against_oppose() -> None:
    probs = np.array([[0.5, 0.2, 0.3], [0.2, 0.3, 0.5], [0.3, 0.4, 0.3]])
    assert call(probs, 0.5).tolist() == [SUPPORT, NEUTRAL, OPPOSE]
    assert call(probs, 0.5, support_weight=2.0).tolist() == [SUPPORT, NEUTRAL, SUPPORT]
    assert call(probs, 0.3).tolist() == [NEUTRAL, NEUTRAL, NEUTRAL]


def test_sentence_f1_is_scikit_learns_support_oppose_macro_f1() -> None:
    rng = np.random.default_rng(1)
    y, pred = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    assert sentence_f1(y, pred) == pytest.approx(f1_score(y, pred, labels=[SUPPORT, OPPOSE], average="macro"))


def test_cross_fit_fits_on_one_half_and_scores_on_the_other() -> None:
    best = {"a": 1, "b": 2}  # each half's best grid point; a point scores 1 on its own half, 0.5 elsewhere
    result = cross_fit([{"a"}, {"b"}], [1, 2, 3], lambda half, g: 1.0 if best[next(iter(half))] == g else 0.5)
    assert [f["fitted"] for f in result["folds"]] == [1, 2]
    assert [f["held_out"] for f in result["folds"]] == [0.5, 0.5] and result["held_out_mean"] == 0.5
