"""Classifier-only evaluation: the labelled pairs scored, model beside baselines, overall and broken down."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from stance.actors.pairs import NO_SPAN, ORDERS, mention_order
from stance.decision import describe
from stance.evaluation.baselines import score_systems
from stance.evaluation.data import EvaluationData
from stance.evaluation.endtoend import model_input, polar_scores
from stance.metrics import POLAR_IDS, classification_report, cluster_interval, macro_f1
from stance.predict.classifier import StanceClassifier
from stance.schema import STANCES, PairKey


def polarity_micro_f1(
    y_true: Sequence[int],
    probs: np.ndarray,
    origin: Sequence[str],
    groups: Sequence[str] | None = None,
    resamples: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Support versus oppose on the annotated polar pairs alone, direction given (SEESAW's published setting).

    The prediction is whichever of support and oppose is more probable; with
    every example in one of the two classes, micro-F1 equals accuracy. With
    `groups` and `resamples`, a 95% interval resampling groups whole.
    """
    support, oppose = STANCES.index("support"), STANCES.index("oppose")
    y = np.asarray(y_true)
    keep = (np.asarray(origin) == "annotated") & np.isin(y, [support, oppose])
    if not keep.any():
        return {"n": 0, "micro_f1": float("nan")}
    predicted = np.where(probs[keep, support] >= probs[keep, oppose], support, oppose)
    correct = predicted == y[keep]
    result: dict[str, Any] = {"n": int(keep.sum()), "micro_f1": float(correct.mean())}
    if groups is not None and resamples > 0:
        kept_groups = list(np.asarray(groups)[keep])
        result["ci95"] = list(cluster_interval(lambda idx: float(correct[idx].mean()), kept_groups, resamples, seed))
    return result


MENTION_PATTERNS = ("both marked", "one marked", "neither marked")


def mention_pattern(row: dict[str, Any]) -> str:
    """Whether the example marks both mentions, one, or neither (the actor only named in context, say)."""
    marked = (row["actor_start"] != NO_SPAN) + (row["target_start"] != NO_SPAN)
    return MENTION_PATTERNS[2 - marked]


def by_mention_pattern(
    rows: Sequence[dict[str, Any]], probs: np.ndarray, labels: np.ndarray | None = None
) -> dict[str, dict[str, Any]]:
    """Macro-F1 and polarity of one system for each mention pattern: where the model is strong and where not.

    `labels` are the system's calls (default: the argmax of `probs`).
    """
    labels = probs.argmax(1) if labels is None else np.asarray(labels)
    y = np.asarray([r["label"] for r in rows])
    patterns = np.asarray([mention_pattern(r) for r in rows])
    origin = np.asarray([r["origin"] for r in rows])
    table = {}
    for pattern in MENTION_PATTERNS:
        keep = patterns == pattern
        if not keep.any():
            continue
        table[pattern] = {
            "n": int(keep.sum()),
            "macro_f1": macro_f1(y[keep], labels[keep]),
            "polarity_annotated": polarity_micro_f1(y[keep], probs[keep], origin[keep]),
        }
    return table


def by_direction(rows: Sequence[dict[str, Any]], probs: np.ndarray, labels: np.ndarray) -> dict[str, dict[str, Any]]:
    """Support/oppose F1 and polarity by whether the actor is named before the target in the sentence."""
    y = np.asarray([r["label"] for r in rows])
    orders = np.asarray([mention_order(r["actor_start"], r["target_start"]) for r in rows])
    origin = np.asarray([r["origin"] for r in rows])
    labels = np.asarray(labels)
    table = {}
    for order in ORDERS:
        keep = orders == order
        if keep.any():
            table[order] = polar_scores(y[keep], labels[keep]) | {
                "polarity_annotated": polarity_micro_f1(y[keep], probs[keep], origin[keep])
            }
    return table


def corpus_report(
    cfg: Any, rows: Sequence[dict[str, Any]], probs: np.ndarray, decided: np.ndarray | None = None
) -> dict[str, Any] | None:
    """A corpus's own metric, when it has one (DSE's 5-class F1, recombined from both directions).

    `decided` are the model's calls (its saved neutral/polar decision); without, the argmax.
    """
    if cfg.data.format == "dse" and not cfg.input:
        from stance.evaluation.dse import dse_report, five_class_from_rows

        gold, predicted = five_class_from_rows(rows, probs, decided=decided)
        return {"dse_5class": dse_report(gold, predicted)}
    return None


def score_labelled(
    cfg: Any, data: EvaluationData, classifier: StanceClassifier, resamples: int, seed: int
) -> tuple[dict[str, Any], dict[str, Any] | None, dict[PairKey, tuple[str, tuple[Any, ...]]]]:
    """Classifier-only scores of the labelled pairs: each system's report, the corpus's own metric, the model's calls.

    The calls, by pair, are what the prediction path's agreement is measured against.
    """
    rows = list(data.examples)
    groups = list(data.examples["group"])
    probs = score_systems(data, classifier, cfg)
    y_true = np.asarray(data.examples["label"])
    systems = {}
    decided = {
        system: classifier.decision.labels(p) if system == "model" else p.argmax(1) for system, p in probs.items()
    }
    for system, p in probs.items():
        systems[system] = classification_report(y_true, decided[system], p, resamples, seed, groups)
        systems[system]["polarity_annotated"] = polarity_micro_f1(
            y_true, p, data.examples["origin"], groups, resamples, seed
        )
    systems["model"]["by_mention_pattern"] = by_mention_pattern(rows, probs["model"], decided["model"])
    systems["model"]["by_direction"] = by_direction(rows, probs["model"], decided["model"])
    systems["model"]["decision"] = describe(classifier.decision)
    if classifier.decision.neutral_threshold is not None:  # beside it, what the plain argmax would give
        argmax = probs["model"].argmax(1)
        systems["model"]["macro_f1_argmax"] = macro_f1(y_true, argmax)
        systems["model"]["macro_f1_support_oppose_argmax"] = macro_f1(y_true, argmax, POLAR_IDS)
    labelled = {
        PairKey(r["article_id"], r["sentence_index"], r["actor"], r["target"]): (STANCES[int(k)], model_input(r))
        for r, k in zip(rows, decided["model"], strict=True)
    }
    return systems, corpus_report(cfg, rows, probs["model"], decided["model"]), labelled
