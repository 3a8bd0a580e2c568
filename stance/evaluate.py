"""Evaluation against held-out labels, side by side with majority and TF-IDF + LR baselines."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset
from omegaconf import OmegaConf, open_dict
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from stance.actors import load_gazetteer
from stance.build import article_examples, build_dataset, build_options
from stance.encoding import span_of, splice_mentions
from stance.errors import StanceError
from stance.metrics import classification_report
from stance.paths import resolve_path
from stance.predict import StanceClassifier
from stance.readers import read_articles
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


def evaluation_examples(cfg: Any, context_sentences: int) -> tuple[Dataset, Dataset, str]:
    """The examples to score and the training split for the baselines, per the config.

    `input=<path>` scores every example of that labelled data; otherwise the
    configured data's `split`. Contexts are rebuilt with the model's own window.
    """
    with open_dict(cfg):
        cfg.data.context_sentences = context_sentences
    gazetteer = load_gazetteer(cfg.data.gazetteer)
    articles = read_articles(cfg.data, gazetteer)
    options = build_options(cfg.data, int(cfg.seed))
    dataset = build_dataset(articles, gazetteer, options)
    if cfg.input:
        data_cfg = OmegaConf.merge(cfg.data, {"format": "articles", "paths": [str(cfg.input)]})
        rows = [r for a in read_articles(data_cfg, gazetteer) for r in article_examples(a, gazetteer, options)]
        if not rows:
            raise StanceError(f"input {cfg.input}: no labelled pairs to evaluate")
        return Dataset.from_list(rows, features=dataset["train"].features), dataset["train"], str(cfg.input)
    split = str(cfg.split)
    if split not in dataset:
        raise StanceError(f"split={split!r} is not one of {', '.join(dataset)}")
    if len(dataset[split]) == 0:
        raise StanceError(f"data={cfg.data.name} has no {split} examples (choose another split=...)")
    return dataset[split], dataset["train"], f"{cfg.data.name}/{split}"


def score_systems(cfg: Any, classifier: StanceClassifier) -> tuple[Dataset, dict[str, np.ndarray]]:
    """The examples `cfg` selects, and each system's probabilities on them (model, then baselines)."""
    examples, train, _ = evaluation_examples(cfg, classifier.encoding.context_sentences)
    rows = list(examples)
    probs = {"model": classifier.predict_proba(rows, show_progress=True).numpy()}
    if cfg.baselines and len(train):
        texts = [baseline_text(r) for r in rows]
        for system, baseline in fit_baselines(train, int(cfg.seed)).items():
            probs[system] = _proba(baseline, texts)
    elif cfg.baselines:
        log.warning("no training split to fit the baselines on; reporting the model only")
    return examples, probs


def polarity_micro_f1(y_true: Sequence[int], probs: np.ndarray, origin: Sequence[str]) -> dict[str, float]:
    """Support versus oppose on the annotated polar pairs alone, direction given (SEESAW's published setting).

    The prediction is whichever of support and oppose is more probable; with
    every example in one of the two classes, micro-F1 equals accuracy.
    """
    support, oppose = STANCES.index("support"), STANCES.index("oppose")
    y = np.asarray(y_true)
    keep = (np.asarray(origin) == "annotated") & np.isin(y, [support, oppose])
    if not keep.any():
        return {"n": 0, "micro_f1": float("nan")}
    predicted = np.where(probs[keep, support] >= probs[keep, oppose], support, oppose)
    return {"n": int(keep.sum()), "micro_f1": float((predicted == y[keep]).mean())}


def evaluate(cfg: Any) -> dict[str, Any]:
    """stance-evaluate: score a model on held-out labels, beside the baselines; write JSON, markdown, PNG."""
    started = time.time()
    classifier = StanceClassifier.from_pretrained(
        resolve_path(cfg.model), device=str(cfg.device), gazetteer=cfg.data.gazetteer, batch_size=int(cfg.batch_size)
    )
    examples, probs = score_systems(cfg, classifier)
    y_true = np.asarray(examples["label"])
    resamples, seed = int(cfg.bootstrap_resamples), int(cfg.seed)
    systems = {}
    for system, p in probs.items():
        systems[system] = classification_report(y_true, p.argmax(1), p, resamples, seed)
        systems[system]["polarity_annotated"] = polarity_micro_f1(y_true, p, examples["origin"])
    results: dict[str, Any] = {
        "model": classifier.name,
        "data": f"input {cfg.input}" if cfg.input else f"{cfg.data.name}/{cfg.split}",
        "systems": systems,
    }
    extra = corpus_report(cfg, list(examples), probs["model"])
    if extra:
        results["corpus_metrics"] = extra
    results["wall_time_s"] = round(time.time() - started, 1)
    out = write_evaluation(results, resolve_path(cfg.output_dir) if cfg.output_dir else default_output(cfg, classifier))
    results["output_dir"] = str(out)
    return results


def corpus_report(cfg: Any, rows: Sequence[dict[str, Any]], probs: np.ndarray) -> dict[str, Any] | None:
    """A corpus's own metric, when it has one (DSE's 5-class F1, recombined from both directions)."""
    if cfg.data.format == "dse" and not cfg.input:
        from stance.readers.dse import dse_report, five_class_from_rows

        gold, predicted = five_class_from_rows(rows, probs)
        return {"dse_5class": dse_report(gold, predicted)}
    return None


def default_output(cfg: Any, classifier: StanceClassifier) -> Path:
    """outputs/evaluate/<model>/<data>-<split or input name>."""
    what = Path(str(cfg.input)).stem if cfg.input else f"{cfg.data.name}-{cfg.split}"
    return resolve_path(Path("outputs") / "evaluate" / classifier.name / what)


def confusion_text(report: dict[str, Any]) -> str:
    """The confusion matrix as a plain-text table (rows: gold, columns: predicted)."""
    labels = report["confusion_matrix"]["labels"]
    matrix = report["confusion_matrix"]["rows_true_cols_pred"]
    width = max(len(x) for x in labels) + 2
    lines = ["gold \\ pred".ljust(width + 2) + "".join(x.rjust(width) for x in labels)]
    for label, row in zip(labels, matrix, strict=True):
        lines.append(label.ljust(width + 2) + "".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def save_confusion_png(report: dict[str, Any], path: Path, title: str) -> None:
    """The confusion matrix as a PNG, drawn by scikit-learn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    display = ConfusionMatrixDisplay(
        np.asarray(report["confusion_matrix"]["rows_true_cols_pred"]),
        display_labels=report["confusion_matrix"]["labels"],
    )
    fig, ax = plt.subplots(figsize=(4.5, 4))
    display.plot(ax=ax, colorbar=False, cmap="Blues")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _fmt(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.3f}"


def markdown_report(results: dict[str, Any]) -> str:
    """A short markdown report: the systems side by side, per-class scores, and the confusion matrix."""
    model = results["systems"]["model"]
    lines = [
        f"# Evaluation of `{results['model']}` on {results['data']}",
        "",
        f"{model['n']} examples. Baselines are fit on the training split and scored on the same examples.",
        "",
        "| system | accuracy | macro-F1 | 95% CI | macro-F1 support/oppose | polarity micro-F1 (annotated) | ECE |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results["systems"].items():
        ci = r.get("macro_f1_ci95", [float("nan")] * 2)
        lines.append(
            f"| {name} | {_fmt(r['accuracy'])} | {_fmt(r['macro_f1'])} | {_fmt(ci[0])}–{_fmt(ci[1])} "
            f"| {_fmt(r['macro_f1_support_oppose'])} | {_fmt(r['polarity_annotated']['micro_f1'])} "
            f"| {_fmt(r.get('ece'))} |"
        )
    lines += ["", "## Model, per class", "", "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for label, c in model["per_class"].items():
        lines.append(f"| {label} | {_fmt(c['precision'])} | {_fmt(c['recall'])} | {_fmt(c['f1'])} | {c['support']} |")
    lines += [
        "",
        "## Model, confusion matrix",
        "",
        "```",
        confusion_text(model),
        "```",
        "",
        "![confusion](confusion.png)",
    ]
    for name, extra in results.get("corpus_metrics", {}).items():
        lines += ["", f"## {name}", "", "```", json.dumps(extra, indent=1), "```"]
    return "\n".join(lines) + "\n"


def write_evaluation(results: dict[str, Any], output_dir: Path) -> Path:
    """metrics.json, report.md and confusion.png in `output_dir`."""
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "metrics.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (output_dir / "report.md").write_text(markdown_report(results), encoding="utf-8")
    save_confusion_png(
        results["systems"]["model"], output_dir / "confusion.png", f"{results['model']}\n{results['data']}"
    )
    return output_dir
