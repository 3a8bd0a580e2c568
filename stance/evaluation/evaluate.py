"""Evaluation against held-out labels, side by side with majority and TF-IDF + LR baselines.

`evaluate(cfg)` is the stance-evaluate entry point: the data (`evaluation.data`),
classifier-only scores (`evaluation.classifier_only`, beside `evaluation.baselines`),
the prediction path end to end (`evaluation.endtoend`), and the files it writes
(`evaluation.output`).
"""

from __future__ import annotations

import time
from typing import Any

from stance.actors.resolve import choose_gazetteer
from stance.evaluation.classifier_only import score_labelled
from stance.evaluation.data import EvaluationData, evaluation_data
from stance.evaluation.endtoend import agreement, found_pairs, score_found, score_mentions
from stance.evaluation.output import default_output, write_evaluation
from stance.model import weights_sha256
from stance.paths import resolve_path
from stance.predict.classifier import StanceClassifier
from stance.schema import PairKey
from stance.settings import references_on


def evaluate(cfg: Any) -> dict[str, Any]:
    """stance-evaluate: score a model on held-out labels, beside the baselines; write JSON, markdown, PNG.

    `pairs=labelled` scores the labelled examples (classifier only), `pairs=found`
    runs the prediction path on the articles' text and scores what it finds
    (`stance.evaluation.endtoend`), and `pairs=both` (the default) reports the two side by side.
    """
    started = time.time()
    pairs = str(cfg.get("pairs", "both"))
    model = resolve_path(cfg.model_dir)
    gazetteer = choose_gazetteer(cfg.get("gazetteer"), model)
    classifier = StanceClassifier.from_pretrained(
        model,
        device=str(cfg.device),
        gazetteer=gazetteer,
        batch_size=int(cfg.batch_size),
        actors=str(cfg.actors) if pairs != "labelled" else "gazetteer",
        references=references_on(cfg),
        context_pairs=cfg.get("context_pairs"),
    )
    data = evaluation_data(cfg, classifier, model)
    resamples, seed = int(cfg.bootstrap_resamples), int(cfg.seed)
    results: dict[str, Any] = {
        "model": classifier.name,
        "weights_sha256": weights_sha256(model),
        "data": f"input {cfg.input}" if cfg.input else f"{cfg.data.name}/{cfg.split}",
        "pairs": pairs,
    }
    labelled: dict[PairKey, tuple[str, tuple[Any, ...]]] = {}
    if pairs in ("labelled", "both"):
        results["systems"], extra, labelled = score_labelled(cfg, data, classifier, resamples, seed)
        if extra:
            results["corpus_metrics"] = extra
    if pairs in ("found", "both"):
        results["prediction_path"] = _prediction_path(classifier, data, gazetteer, labelled, resamples, seed)
    results["wall_time_s"] = round(time.time() - started, 1)
    out = write_evaluation(results, resolve_path(cfg.output_dir) if cfg.output_dir else default_output(cfg, classifier))
    results["output_dir"] = str(out)
    return results


def _prediction_path(
    classifier: StanceClassifier,
    data: EvaluationData,
    gazetteer: str,
    labelled: dict[PairKey, tuple[str, tuple[Any, ...]]],
    resamples: int,
    seed: int,
) -> dict[str, Any]:
    """The prediction path's scores on the articles' text, with its speed and, given `labelled`, its agreement."""
    found, counts = found_pairs(classifier, data.articles)
    path = score_found(data.articles, found, resamples, seed) | counts
    n = max(len(data.articles), 1)
    path |= {
        "actors": classifier.actors,
        "references": classifier.references,
        "context_pairs": classifier.encoding.context_pairs,
        "gazetteer": gazetteer,
        "pairs_per_article": counts["pairs_scored"] / n,
        "articles_without_pairs_fraction": counts["articles_without_pairs"] / n,
        "pairs_per_second": counts["pairs_scored"] / counts["seconds"] if counts["seconds"] else float("nan"),
        "articles_per_second": n / counts["seconds"] if counts["seconds"] else float("nan"),
    }
    if classifier.mention_finder is not None:
        path["mention_finder"] = score_mentions(classifier.mention_finder, data.articles)
        path["mention_finder"]["weights_sha256"] = classifier.mention_finder.weights_sha256
    if labelled:
        path["agreement_with_classifier_only"] = agreement(found, labelled)
    return path
