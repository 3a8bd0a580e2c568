"""The baselines the model is scored beside (majority class, TF-IDF + LR), and every system's probabilities."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from datasets import Dataset
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from stance.encoding import span_of, splice_mentions
from stance.evaluation.data import EvaluationData
from stance.predict.classifier import StanceClassifier
from stance.schema import STANCES

log = logging.getLogger(__name__)
ACTOR_SLOT, TARGET_SLOT = "ACTORSLOT", "TARGETSLOT"


def baseline_text(row: dict[str, Any]) -> str:
    """The bag-of-words view of an example: the sentence with the actor and target mentions as placeholders.

    Placeholders let a linear model learn "ACTORSLOT criticised TARGETSLOT" rather
    than which names tend to co-occur; without spans, the names lead the text.
    """
    slots = {"actor": ACTOR_SLOT, "target": TARGET_SLOT}
    body, replaced = splice_mentions(
        row["text"], span_of(row, "actor"), span_of(row, "target"), lambda role, _: f" {slots[role]} "
    )
    prefix = " ".join(f"{slots[role]} {row[role]}" for role in ("actor", "target") if role not in replaced)
    return f"{prefix} {body}".strip()


def fit_baselines(train: Dataset, seed: int = 42) -> dict[str, Pipeline | DummyClassifier]:
    """A majority-class baseline and a TF-IDF + logistic-regression baseline, fit on `train`."""
    texts = [baseline_text(r) for r in train]
    labels = list(train["label"])
    majority = DummyClassifier(strategy="most_frequent").fit(texts, labels)
    tfidf = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, lowercase=True),
        LogisticRegression(max_iter=2000, class_weight="balanced", C=1.0, random_state=seed),
    ).fit(texts, labels)
    return {"majority": majority, "tfidf_lr": tfidf}


def _proba(model: Any, texts: list[str]) -> np.ndarray:
    # A baseline fit on data lacking a class has fewer columns; put them back in STANCES order.
    probs = np.zeros((len(texts), len(STANCES)))
    probs[:, [int(c) for c in model.classes_]] = model.predict_proba(texts)
    return probs


def score_systems(data: EvaluationData, classifier: StanceClassifier, cfg: Any) -> dict[str, np.ndarray]:
    """Each system's probabilities on the evaluation examples (model, then baselines fit on train)."""
    rows = list(data.examples)
    probs = {"model": classifier.predict_proba(rows, show_progress=True).numpy()}
    if cfg.baselines and len(data.train):
        texts = [baseline_text(r) for r in rows]
        for system, baseline in fit_baselines(data.train, int(cfg.seed)).items():
            probs[system] = _proba(baseline, texts)
    elif cfg.baselines:
        log.warning("no training split to fit the baselines on; reporting the model only")
    return probs
