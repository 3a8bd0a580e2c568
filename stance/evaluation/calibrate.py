"""stance-calibrate: fit a trained model's neutral/polar decision on a dev split, on labelled pairs or the path."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from stance.actors.resolve import choose_gazetteer
from stance.dataset.match import gold_labels
from stance.decision import fit_decision, save_decision
from stance.errors import StanceError
from stance.evaluation.data import evaluation_data
from stance.evaluation.endtoend import FoundPair, found_pairs
from stance.paths import resolve_path
from stance.predict.classifier import StanceClassifier
from stance.schema import STANCES, Article, PairKey
from stance.settings import references_on

log = logging.getLogger(__name__)


def calibrate(cfg: Any) -> dict[str, Any]:
    """stance-calibrate: fit a trained model's neutral/polar decision on the data's `dev` split; save it in the folder.

    `stance-train` does this itself; this is for a model trained before, or on
    another corpus's dev split. A held-out split (`test`, or `validation` when a
    dev split exists) is refused: figures on it would no longer be held out.
    """
    split = str(cfg.split)
    if split == "test":
        raise StanceError("split=test is held out: fit the decision on dev (or validation when there is no dev)")
    if split == "validation" and float(cfg.data.get("dev_fraction", 0) or 0) > 0:
        raise StanceError(
            f"data={cfg.data.name} has a dev split: fit the decision there (split=dev), not on validation"
        )
    folder = resolve_path(cfg.model_dir)
    on_path = str(cfg.get("pairs", "labelled")) == "found"
    classifier = StanceClassifier.from_pretrained(
        folder,
        device=str(cfg.device),
        gazetteer=choose_gazetteer(cfg.get("gazetteer") if on_path else None, folder),
        batch_size=int(cfg.batch_size),
        actors=str(cfg.get("actors", "auto")) if on_path else "gazetteer",
        references=references_on(cfg),
        context_pairs=cfg.get("context_pairs"),
    )
    data = evaluation_data(cfg, classifier, folder)
    if on_path:
        probs, labels = path_probabilities(classifier, data.articles)
        where = f"{cfg.data.name}/{split} (prediction path)"
    else:
        probs = classifier.predict_proba(list(data.examples), show_progress=True).double().numpy()
        labels, where = np.asarray(data.examples["label"]), f"{cfg.data.name}/{split}"
    _, report = fit_decision(probs, labels, where)
    save_decision(folder, report)
    log.info("decision saved to %s: %s", folder, report)
    return report


def path_probabilities(classifier: StanceClassifier, gold: Sequence[Article]) -> tuple[np.ndarray, np.ndarray]:
    """The path's probabilities and gold labels over every pair it finds, plus each missed gold polar pair.

    A missed pair has probability 1 of neutral: no threshold can make the path call a pair it never scores.
    """
    found, _ = found_pairs(classifier, gold)
    _, probs, y = path_rows(gold, found)
    return probs, y


def path_rows(gold: Sequence[Article], found: Sequence[FoundPair]) -> tuple[list[PairKey], np.ndarray, np.ndarray]:
    """Keys, probabilities and gold labels of the found pairs, then of each gold polar pair never found.

    A missed pair has probability 1 of neutral.
    """
    labels = gold_labels(gold)
    reached = {f.key for f in found}
    missed = [k for k, s in labels.items() if s != "neutral" and k not in reached]
    keys = [f.key for f in found] + missed
    probs = np.array([f.probabilities for f in found] + [np.eye(len(STANCES))[STANCES.index("neutral")]] * len(missed))
    y = np.array([STANCES.index(labels.get(k, "neutral")) for k in keys])
    return keys, probs.reshape(-1, len(STANCES)), y
