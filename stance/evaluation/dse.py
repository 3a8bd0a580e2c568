"""The DSE corpus's own metric: two directed stances folded back into its 5-class label, and its scores.

The reader (`stance.readers.dse`) turns each line into two directed labels,
p→q and q→p. `five_class` and `five_class_from_rows` fold two directed
predictions back into the corpus's label, and `dse_report` scores them the way
the corpus is scored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from stance.errors import StanceError
from stance.schema import STANCES, Article

# The corpus's five classes, by label id.
DSE_CLASSES: tuple[str, ...] = (
    "neutral",
    "p_positive_q",
    "q_positive_p",
    "p_negative_q",
    "q_negative_p",
)
DSE_LABEL_IDS = list(range(len(DSE_CLASSES)))

_SUPPORT, _OPPOSE, _NEUTRAL = (STANCES.index(s) for s in ("support", "oppose", "neutral"))


def five_class(
    p_to_q: str,
    q_to_p: str,
    p_to_q_probs: Sequence[float] | None = None,
    q_to_p_probs: Sequence[float] | None = None,
) -> int:
    """Fold the stances p→q and q→p back into the corpus's 5-class label.

    * both neutral → 0;
    * exactly one non-neutral → that direction's class: support p→q → 1,
      support q→p → 2, oppose p→q → 3, oppose q→p → 4;
    * both non-neutral (which a DSE label never is, but two independent
      predictions can be) → the direction with the higher non-neutral
      probability, max(P(support), P(oppose)), when both probability rows
      (in STANCES order) are given; p→q on a tie or without probabilities.
    """
    for name, stance in (("p_to_q", p_to_q), ("q_to_p", q_to_p)):
        if stance not in STANCES:
            raise ValueError(f"{name}={stance!r} is not one of {', '.join(STANCES)}")
    pq = {"support": 1, "oppose": 3}
    qp = {"support": 2, "oppose": 4}
    if p_to_q == "neutral" and q_to_p == "neutral":
        return 0
    if q_to_p == "neutral":
        return pq[p_to_q]
    if p_to_q == "neutral":
        return qp[q_to_p]
    if p_to_q_probs is not None and q_to_p_probs is not None:
        strength_pq = max(float(p_to_q_probs[_SUPPORT]), float(p_to_q_probs[_OPPOSE]))
        strength_qp = max(float(q_to_p_probs[_SUPPORT]), float(q_to_p_probs[_OPPOSE]))
        if strength_qp > strength_pq:
            return qp[q_to_p]
    return pq[p_to_q]


def five_class_from_rows(
    rows: Sequence[Mapping[str, Any]],
    probs: np.ndarray,
    articles: Sequence[Article] | None = None,
    decided: Sequence[int] | None = None,
) -> tuple[list[int], list[int]]:
    """Gold and predicted 5-class labels, one per DSE line, from the builder's directed rows.

    `rows` are the builder's examples (`article_id`, `actor`, `target`, `label`
    as an index into STANCES) and `probs` their n×3 probabilities in STANCES
    order, row for row. Each line must have exactly its two rows, p→q and
    q→p. Which one is p→q: with `articles` (the `load_dse` output), p is the
    article's first actor, whatever the row order; without, the first of the
    two rows in `rows` is p→q, which holds for rows in builder order (the
    builder emits a line's labels in order, p→q first). Lines come out in the
    order their first row appears. `decided` are the model's calls per row
    (its saved neutral/polar decision); without them, each row's argmax.
    """
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2 or probs.shape != (len(rows), len(STANCES)):
        raise StanceError(f"expected {len(rows)}×{len(STANCES)} probabilities for {len(rows)} rows, got {probs.shape}")
    p_of = {a.id: a.actors[0] for a in articles if a.actors} if articles is not None else {}
    calls = decided if decided is not None else probs.argmax(1)
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(str(row["article_id"]), []).append(i)
    gold: list[int] = []
    predicted: list[int] = []
    for article_id, indices in groups.items():
        pair = [(rows[i]["actor"], rows[i]["target"]) for i in indices]
        if len(indices) != 2 or pair[0] != pair[1][::-1]:
            raise StanceError(
                f"DSE line {article_id}: expected two rows p->q and q->p, found "
                f"{', '.join(f'{a}->{t}' for a, t in pair)} (build with neutral_pairs=false)"
            )
        first, second = indices
        if article_id in p_of and rows[first]["actor"] != p_of[article_id]:
            first, second = second, first
        gold.append(five_class(STANCES[int(rows[first]["label"])], STANCES[int(rows[second]["label"])]))
        predicted.append(
            five_class(
                STANCES[int(calls[first])],
                STANCES[int(calls[second])],
                probs[first],
                probs[second],
            )
        )
    return gold, predicted


def dse_report(y_true_5: Sequence[int], y_pred_5: Sequence[int]) -> dict[str, Any]:
    """The corpus's scores over its five classes: micro- and macro-F1, accuracy, per-class F1, confusion."""
    y_true, y_pred = [int(y) for y in y_true_5], [int(y) for y in y_pred_5]
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} gold labels but {len(y_pred)} predictions")
    per_class = f1_score(y_true, y_pred, labels=DSE_LABEL_IDS, average=None, zero_division=0)
    return {
        "n": len(y_true),
        "micro_f1": float(f1_score(y_true, y_pred, labels=DSE_LABEL_IDS, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=DSE_LABEL_IDS, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)) if y_true else float("nan"),
        "per_class_f1": {name: float(per_class[i]) for i, name in enumerate(DSE_CLASSES)},
        "confusion_matrix": {
            "labels": list(DSE_CLASSES),
            "rows_true_cols_pred": confusion_matrix(y_true, y_pred, labels=DSE_LABEL_IDS).tolist(),
        },
    }
