"""Choosing the checkpoint: the selection split, its metric (what a user gets when training on the path's
pairs), and the chosen epoch's predictions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from datasets import Dataset
from transformers import (
    EvalPrediction,
    PreTrainedTokenizerBase,
    Trainer,
)

from stance.dataset.found import MISSED
from stance.decision import NEUTRAL
from stance.encoding import EncodingConfig
from stance.metrics import POLAR_IDS, macro_f1
from stance.training.trainer import encode_dataset

log = logging.getLogger(__name__)

SELECTION_METRIC = "corpus_mean_macro_f1"
IGNORED = -100  # the padding of per-window predictions


def metrics_by_corpus(
    corpora: list[str] | None = None, origins: list[str] | None = None, on_path: bool = False
) -> Callable[[EvalPrediction], dict[str, float]]:
    """Trainer's `compute_metrics`: overall figures, each corpus's macro-F1, and their mean (what selects).

    `corpora` tags the evaluated examples in order (Trainer evaluates in order).
    With one corpus the selection metric is its macro-F1; with a mix, the mean
    over corpora, so that the larger dev split does not choose alone. When the
    dev split is the prediction path's (`on_path`, or `origins` holds `missed`
    rows, see `stance.dataset.found`), what selects is what a user gets: support/oppose macro-F1
    over every pair the path finds, each missed gold pair counted as called neutral.
    """
    names = sorted(set(corpora or []))
    missed = np.asarray([o == MISSED for o in origins or []], dtype=bool)
    on_path = on_path or bool(missed.any())

    def compute(prediction: EvalPrediction) -> dict[str, float]:
        logits, y_true = flat_predictions(prediction.predictions, prediction.label_ids)
        compute.scored.append((logits, y_true))  # type: ignore[attr-defined]
        y_pred = np.asarray(logits).argmax(-1)
        if on_path:
            y_pred = np.where(missed, NEUTRAL, y_pred)
        out = {
            "macro_f1": macro_f1(y_true, y_pred),
            "macro_f1_support_oppose": macro_f1(y_true, y_pred, POLAR_IDS),
            "accuracy": float((y_true == y_pred).mean()) if len(y_true) else float("nan"),
        }
        metric = "macro_f1_support_oppose" if on_path else "macro_f1"
        if len(names) > 1:
            tags = np.asarray(corpora)
            for name in names:
                out[f"macro_f1_{name}"] = macro_f1(y_true[tags == name], y_pred[tags == name])
                out[f"macro_f1_support_oppose_{name}"] = macro_f1(y_true[tags == name], y_pred[tags == name], POLAR_IDS)
            out[SELECTION_METRIC] = float(np.mean([out[f"{metric}_{name}"] for name in names]))
        else:
            out[SELECTION_METRIC] = out[metric]
        return out

    compute.scored = []  # type: ignore[attr-defined]  # each evaluation's (logits, labels), in order
    return compute


def selection_set(
    rows: Dataset, tokenizer: PreTrainedTokenizerBase, encoding: EncodingConfig
) -> tuple[Dataset, Dataset]:
    """The split that chooses the checkpoint, and its encoding, ordered by length; missed gold pairs cut short.

    Evaluated in this order, batches hold inputs of similar length and little
    compute goes to padding; a missed gold pair (`data.pairs=found`) is never
    scored by the path, its call is neutral whatever the model says, so it is
    encoded as its first and last token only. The figures are those of the
    split in any order.
    """
    encoded = encode_dataset(rows, tokenizer, encoding)
    missed = (
        set(np.flatnonzero(np.asarray(rows["origin"]) == MISSED).tolist()) if "origin" in rows.column_names else set()
    )
    if missed:
        columns = [c for c in ("input_ids", "attention_mask", "token_type_ids") if c in encoded.column_names]
        encoded = encoded.map(
            lambda row, i: {c: [row[c][0], row[c][-1]] for c in columns} if i in missed else {},
            with_indices=True,
            desc="cutting missed pairs",
        )
    order = np.argsort([-len(ids) for ids in encoded["input_ids"]], kind="stable").tolist()
    return rows.select(order), encoded.select(order)


def chosen_predictions(
    trainer: Trainer, scored: Callable[[EvalPrediction], dict[str, float]], encoded: Dataset
) -> tuple[np.ndarray, np.ndarray]:
    """The chosen checkpoint's logits and labels on the selection split.

    They are the ones recorded when that checkpoint was evaluated (the first
    best epoch, as Trainer keeps it), so the split is not scored a second time;
    after a resume, or without one evaluation per epoch, it is scored again.
    """
    recorded = getattr(scored, "scored", [])
    evals = [e for e in trainer.state.log_history if f"eval_{SELECTION_METRIC}" in e]
    values = [e[f"eval_{SELECTION_METRIC}"] for e in evals]
    if recorded and len(recorded) == len(evals) and trainer.state.best_metric in values:
        return recorded[values.index(trainer.state.best_metric)]
    output = trainer.predict(encoded)
    return flat_predictions(output.predictions, output.label_ids)


def flat_predictions(predictions: Any, label_ids: Any) -> tuple[np.ndarray, np.ndarray]:
    """An evaluation's logits (n × labels) and labels (n), in order.

    The pair model's come per window (windows × pairs × labels, padded with -100,
    `stance.training.pairs.PairTrainer`): they are flattened, padding dropped, in window order.
    """
    logits = np.asarray(predictions[0] if isinstance(predictions, tuple) else predictions)
    labels = np.asarray(label_ids)
    if labels.ndim == 2:
        keep = labels != IGNORED
        return logits[keep], labels[keep]
    return logits, labels


def selection_split(available: set[str]) -> str | None:
    """The split that chooses the checkpoint: `dev`, else `validation` (with a warning: it is no longer held out)."""
    if "dev" in available:
        return "dev"
    if "validation" in available:
        log.warning(
            "no dev split (data.dev_fraction=0): choosing the checkpoint on validation, "
            "so figures on validation are not held out"
        )
        return "validation"
    log.warning("no dev or validation examples: keeping the last epoch's model instead of the best one")
    return None
