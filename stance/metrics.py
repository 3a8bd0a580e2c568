"""Classification metrics for stance, computed with scikit-learn and SciPy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.stats import bootstrap
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from stance.schema import STANCES

LABEL_IDS = list(range(len(STANCES)))
POLAR_IDS = [STANCES.index("support"), STANCES.index("oppose")]


def macro_f1(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[int] = LABEL_IDS) -> float:
    """Macro-F1 over `labels` (all three stances by default), 0 for classes never seen nor predicted."""
    return float(f1_score(y_true, y_pred, labels=list(labels), average="macro", zero_division=0))


def expected_calibration_error(y_true: Sequence[int], probs: np.ndarray, bins: int = 10) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width confidence bins."""
    probs = np.asarray(probs, dtype=float)
    if len(probs) == 0:
        return float("nan")
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(y_true)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def cluster_interval(
    statistic: Callable[[np.ndarray], float],
    groups: Sequence[Any],
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """A 95% percentile bootstrap interval of `statistic(indices)`, resampling whole groups.

    Examples of one group (a story, an article, both directions of a pair) are
    not independent, so the bootstrap draws groups with replacement and scores
    all their examples together; resampling single examples would make the
    interval too narrow.
    """
    members: dict[Any, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    blocks = [np.asarray(m) for m in members.values()]
    if len(blocks) < 2:
        return (float("nan"), float("nan"))
    result = bootstrap(
        (np.arange(len(blocks)),),
        lambda chosen: statistic(np.concatenate([blocks[int(b)] for b in chosen])),
        vectorized=False,
        n_resamples=resamples,
        confidence_level=0.95,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return (float(result.confidence_interval.low), float(result.confidence_interval.high))


def bootstrap_macro_f1(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    resamples: int = 1000,
    seed: int = 0,
    groups: Sequence[Any] | None = None,
    labels: Sequence[int] = LABEL_IDS,
) -> tuple[float, float]:
    """A 95% bootstrap interval on macro-F1, resampling `groups` whole (each example its own group if None)."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    groups = groups if groups is not None else range(len(t))
    return cluster_interval(lambda idx: macro_f1(t[idx], p[idx], labels), list(groups), resamples, seed)


def classification_report(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    probs: np.ndarray | None = None,
    bootstrap_resamples: int = 1000,
    seed: int = 0,
    groups: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Every stance metric: accuracy, macro-F1 (3-way and support/oppose), per class, confusion, ECE, CI.

    The interval resamples `groups` (stories, articles) whole when given.
    """
    y_true, y_pred = list(map(int, y_true)), list(map(int, y_pred))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=LABEL_IDS, zero_division=0)
    report: dict[str, Any] = {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)) if y_true else float("nan"),
        "macro_f1": macro_f1(y_true, y_pred),
        "macro_f1_support_oppose": macro_f1(y_true, y_pred, POLAR_IDS),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(STANCES)
        },
        "confusion_matrix": {
            "labels": list(STANCES),
            "rows_true_cols_pred": confusion_matrix(y_true, y_pred, labels=LABEL_IDS).tolist(),
        },
    }
    if probs is not None:
        report["ece"] = expected_calibration_error(y_true, probs)
    if bootstrap_resamples > 0:
        low, high = bootstrap_macro_f1(y_true, y_pred, bootstrap_resamples, seed, groups)
        report["macro_f1_ci95"] = [low, high]
        report["ci_resamples"] = "groups" if groups is not None else "examples"
    return report
