"""The decision between neutral and polar, fitted on the development split and saved with the model.

Class weights are a training choice; they shift every probability toward the
rare polar classes, and by how much depends on the corpus. So the call is not
a fixed argmax: a threshold on P(neutral), chosen for the best macro-F1 over
support and oppose, is fitted on the development split of
the corpus the model was trained on (the one that chose its checkpoint), and
saved in the model folder (`decision.json`). Evaluate and predict read it
alike: a pair is neutral when P(neutral) reaches the threshold, otherwise the
more probable of support and oppose. A model folder without the file (older
models) keeps the argmax.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stance.metrics import macro_f1
from stance.schema import STANCES

DECISION_FILE = "decision.json"
NEUTRAL = STANCES.index("neutral")
POLAR = [STANCES.index("support"), STANCES.index("oppose")]
THRESHOLDS = tuple(round(t, 3) for t in np.linspace(0.05, 0.95, 91))


@dataclass(frozen=True)
class Decision:
    """How probabilities become a stance: argmax, or neutral at P(neutral) ≥ `neutral_threshold`."""

    neutral_threshold: float | None = None
    fitted_on: str = ""

    def labels(self, probs: Any) -> np.ndarray:
        """The stance index of each row of `probs` (n × 3, in `STANCES` order)."""
        p = np.asarray(probs, dtype=np.float64)
        if p.ndim == 1:
            p = p[None, :]
        if self.neutral_threshold is None:
            return p.argmax(1)
        polar = np.asarray(POLAR)[p[:, POLAR].argmax(1)]
        return np.where(p[:, NEUTRAL] >= self.neutral_threshold, NEUTRAL, polar)


ARGMAX = Decision()


def fit_decision(probs: np.ndarray, y_true: Sequence[int], split: str) -> tuple[Decision, dict[str, Any]]:
    """The threshold on P(neutral) with the best support/oppose macro-F1 on `split`; argmax when none beats it.

    The objective is the F1 of the two classes a user is told about, which
    weighs polar precision (neutral pairs called polar) against polar recall
    (polar pairs called neutral); neutral is what is left. Ties go to the
    threshold nearest 0.5, so a flat optimum does not pick an extreme.
    """
    y = np.asarray(y_true, dtype=int)
    base = macro_f1(y, ARGMAX.labels(probs), POLAR)
    scores = {t: macro_f1(y, Decision(t).labels(probs), POLAR) for t in THRESHOLDS}
    best = max(scores, key=lambda t: (round(scores[t], 6), -abs(t - 0.5)))
    decision = Decision(best, split) if scores[best] > base else Decision(None, split)
    report = {
        "rule": "argmax" if decision.neutral_threshold is None else "neutral_threshold",
        "neutral_threshold": decision.neutral_threshold,
        "fitted_on": split,
        "n": len(y),
        "objective": "macro-F1 over support and oppose",
        "macro_f1_support_oppose_argmax": base,
        "macro_f1_support_oppose_fitted": max(scores[best], base),
        "macro_f1_argmax": macro_f1(y, ARGMAX.labels(probs)),
        "macro_f1_fitted": macro_f1(y, decision.labels(probs)),
    }
    return decision, report


def save_decision(folder: str | Path, report: dict[str, Any]) -> None:
    """Write the fitted decision (the report of `fit_decision`) into a model folder."""
    (Path(folder) / DECISION_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def load_decision(folder: str | Path) -> Decision:
    """The decision a model folder carries; argmax when it has none."""
    path = Path(folder) / DECISION_FILE
    if not path.exists():
        return ARGMAX
    raw = json.loads(path.read_text(encoding="utf-8"))
    threshold = raw.get("neutral_threshold")
    return Decision(float(threshold) if threshold is not None else None, str(raw.get("fitted_on", "")))


def describe(decision: Decision) -> dict[str, Any]:
    """The decision as a plain dict, for metrics and reports."""
    return asdict(decision)
