"""Evaluation against held-out labels, side by side with majority and TF-IDF + LR baselines."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset
from omegaconf import OmegaConf
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from stance.actors.gazetteer import load_gazetteer
from stance.actors.pairs import NO_SPAN, ORDERS, mention_order
from stance.actors.resolve import choose_gazetteer, model_gazetteer
from stance.dataset.build import article_examples, article_group, build_dataset, build_options, split_of
from stance.dataset.match import gold_labels
from stance.decision import describe, fit_decision, save_decision
from stance.encoding import span_of, splice_mentions
from stance.errors import Problem, StanceError
from stance.evaluation.endtoend import (
    EDGE_RULES,
    agreement,
    found_pairs,
    model_input,
    polar_scores,
    score_found,
    score_mentions,
)
from stance.metrics import POLAR_IDS, classification_report, cluster_interval, macro_f1
from stance.model import weights_sha256
from stance.paths import resolve_path
from stance.predict.classifier import StanceClassifier
from stance.readers import read_articles
from stance.schema import STANCES, Article, PairKey

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


@dataclass
class EvaluationData:
    """What an evaluation scores: the gold articles, their examples (all pairs, uncapped), and train for baselines."""

    articles: list[Article]
    examples: Dataset
    train: Dataset
    name: str


def evaluation_data(cfg: Any, classifier: StanceClassifier, model: str | Path) -> EvaluationData:
    """The articles and examples to score and the training split for the baselines, per the config.

    `input=<path>` scores every example of that labelled data; otherwise the
    configured data's `split` (as the builder splits it: `dev` is carved out of
    train). Examples are made as the model's were: with its context window and
    the gazetteer it carries (the data's for a folder from before models did).
    """
    gazetteer = load_gazetteer(model_gazetteer(model) or cfg.data.gazetteer)
    skipped: list[Problem] = []
    articles = read_articles(cfg.data, gazetteer, skipped)
    options = replace(build_options(cfg.data, int(cfg.seed)), context_sentences=classifier.encoding.context_sentences)
    dataset = build_dataset(articles, gazetteer, options)
    if cfg.input:
        data_cfg = OmegaConf.merge(cfg.data, {"format": "articles", "paths": [str(cfg.input)]})
        chosen = read_articles(data_cfg, gazetteer)
        rows = []
        for article in chosen:
            for row in article_examples(article, gazetteer, options):
                rows.append({**row, "group": article_group(article)})
        if not rows:
            raise StanceError(f"input {cfg.input}: no labelled pairs to evaluate")
        examples = Dataset.from_list(rows, features=dataset["train"].features)
        return EvaluationData(chosen, examples, dataset["train"], str(cfg.input))
    split = str(cfg.split)
    if split not in dataset:
        raise StanceError(f"split={split!r} is not one of {', '.join(dataset)}")
    if len(dataset[split]) == 0:
        raise StanceError(f"data={cfg.data.name} has no {split} examples (choose another split=...)")
    chosen = [a for a in articles if split_of(a, options) == split]
    return EvaluationData(chosen, dataset[split], dataset["train"], f"{cfg.data.name}/{split}")


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


def evaluate(cfg: Any) -> dict[str, Any]:
    """stance-evaluate: score a model on held-out labels, beside the baselines; write JSON, markdown, PNG.

    `pairs=labelled` scores the labelled examples (classifier only), `pairs=found`
    runs the prediction path on the articles' text and scores what it finds
    (`stance.evaluation.endtoend`), and `pairs=both` (the default) reports the two side by side.
    """
    started = time.time()
    pairs = str(cfg.get("pairs", "both"))
    model = resolve_path(cfg.model_dir)
    gazetteer = choose_gazetteer(cfg.get("gazetteer"), model, cfg.data.gazetteer)
    classifier = StanceClassifier.from_pretrained(
        model,
        device=str(cfg.device),
        gazetteer=gazetteer,
        batch_size=int(cfg.batch_size),
        actors=str(cfg.get("actors", "gazetteer")) if pairs != "labelled" else "gazetteer",
        references=bool(cfg.get("references", False)),
    )
    data = evaluation_data(cfg, classifier, model)
    resamples, seed = int(cfg.bootstrap_resamples), int(cfg.seed)
    results: dict[str, Any] = {
        "model": classifier.name,
        "weights_sha256": weights_sha256(model),
        "data": f"input {cfg.input}" if cfg.input else f"{cfg.data.name}/{cfg.split}",
        "pairs": pairs,
    }
    rows = list(data.examples)
    groups = list(data.examples["group"])
    labelled: dict[PairKey, tuple[str, tuple[Any, ...]]] = {}
    if pairs in ("labelled", "both"):
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
        results["systems"] = systems
        labelled = {
            PairKey(r["article_id"], r["sentence_index"], r["actor"], r["target"]): (STANCES[int(k)], model_input(r))
            for r, k in zip(rows, decided["model"], strict=True)
        }
        extra = corpus_report(cfg, rows, probs["model"], decided["model"])
        if extra:
            results["corpus_metrics"] = extra
    if pairs in ("found", "both"):
        found, counts = found_pairs(classifier, data.articles)
        path = score_found(data.articles, found, resamples, seed) | counts
        n = max(len(data.articles), 1)
        path |= {
            "actors": classifier.actors,
            "references": classifier.references,
            "gazetteer": gazetteer,
            "pairs_per_article": counts["pairs_scored"] / n,
            "articles_without_pairs_fraction": counts["articles_without_pairs"] / n,
            "pairs_per_second": counts["pairs_scored"] / counts["seconds"] if counts["seconds"] else float("nan"),
            "articles_per_second": n / counts["seconds"] if counts["seconds"] else float("nan"),
        }
        if classifier.mention_finder is not None:
            path["mention_finder"] = score_mentions(classifier.mention_finder, data.articles)
            path["mention_finder"]["weights_sha256"] = classifier.mention_finder.weights_sha256
        results["prediction_path"] = path
        if labelled:
            results["prediction_path"]["agreement_with_classifier_only"] = agreement(found, labelled)
    results["wall_time_s"] = round(time.time() - started, 1)
    out = write_evaluation(results, resolve_path(cfg.output_dir) if cfg.output_dir else default_output(cfg, classifier))
    results["output_dir"] = str(out)
    return results


def corpus_report(
    cfg: Any, rows: Sequence[dict[str, Any]], probs: np.ndarray, decided: np.ndarray | None = None
) -> dict[str, Any] | None:
    """A corpus's own metric, when it has one (DSE's 5-class F1, recombined from both directions).

    `decided` are the model's calls (its saved neutral/polar decision); without, the argmax.
    """
    if cfg.data.format == "dse" and not cfg.input:
        from stance.readers.dse import dse_report, five_class_from_rows

        gold, predicted = five_class_from_rows(rows, probs, decided=decided)
        return {"dse_5class": dse_report(gold, predicted)}
    return None


def default_output(cfg: Any, classifier: StanceClassifier) -> Path:
    """outputs/evaluate/<model>/<data>-<split or input name>."""
    what = Path(str(cfg.input)).stem if cfg.input else f"{cfg.data.name}-{cfg.split}"
    if cfg.get("references"):
        what += "-references"  # another path: its figures must not overwrite the plain path's
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


def _ci(pair: Sequence[float] | None) -> str:
    if not pair or any(np.isnan(x) for x in pair):
        return "n/a (needs two or more stories or articles)"
    return f"{_fmt(pair[0])}–{_fmt(pair[1])}"


def _classifier_section(results: dict[str, Any]) -> list[str]:
    model = results["systems"]["model"]
    lines = [
        "## Classifier only: the labelled pairs",
        "",
        f"{model['n']} examples, every pair of the split (none capped). Baselines are fit on the training "
        f"split and scored on the same examples. Intervals resample {model.get('ci_resamples', 'examples')} whole.",
        "",
        "| system | accuracy | macro-F1 | 95% CI | macro-F1 support/oppose | polarity micro-F1 (annotated) "
        "| 95% CI | ECE |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["systems"].items():
        polarity = r["polarity_annotated"]
        lines.append(
            f"| {name} | {_fmt(r['accuracy'])} | {_fmt(r['macro_f1'])} | {_ci(r.get('macro_f1_ci95'))} "
            f"| {_fmt(r['macro_f1_support_oppose'])} | {_fmt(polarity['micro_f1'])} | {_ci(polarity.get('ci95'))} "
            f"| {_fmt(r.get('ece'))} |"
        )
    lines += ["", "### Model, per class", "", "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for label, c in model["per_class"].items():
        lines.append(f"| {label} | {_fmt(c['precision'])} | {_fmt(c['recall'])} | {_fmt(c['f1'])} | {c['support']} |")
    lines += [
        "",
        "### Model, by mention pattern",
        "",
        "| actor and target mentions in the sentence | n | macro-F1 | polarity micro-F1 (annotated, n) |",
        "|---|---|---|---|",
    ]
    for pattern, r in model.get("by_mention_pattern", {}).items():
        polarity = r["polarity_annotated"]
        lines.append(
            f"| {pattern} | {r['n']} | {_fmt(r['macro_f1'])} | {_fmt(polarity['micro_f1'])} ({polarity['n']}) |"
        )
    lines += [*_direction_table(model.get("by_direction", {}), "Model, by mention order"), ""]
    lines += [
        "",
        "### Model, confusion matrix",
        "",
        "```",
        confusion_text(model),
        "```",
        "",
        "![confusion](confusion.png)",
    ]
    for name, extra in results.get("corpus_metrics", {}).items():
        lines += ["", f"### {name}", "", "```", json.dumps(extra, indent=1), "```"]
    return lines


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
        gazetteer=choose_gazetteer(cfg.get("gazetteer") if on_path else None, folder, cfg.data.gazetteer),
        batch_size=int(cfg.batch_size),
        actors=str(cfg.get("actors", "auto")) if on_path else "gazetteer",
        references=bool(cfg.get("references", False)),
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
    labels = gold_labels(gold)
    reached = {f.key for f in found}
    missed = [k for k, s in labels.items() if s != "neutral" and k not in reached]
    probs = np.array([f.probabilities for f in found] + [np.eye(len(STANCES))[STANCES.index("neutral")]] * len(missed))
    y = np.array(
        [STANCES.index(labels.get(f.key, "neutral")) for f in found] + [STANCES.index(labels[k]) for k in missed]
    )
    return probs.reshape(-1, len(STANCES)), y


def _path_section(path: dict[str, Any]) -> list[str]:
    lines = [
        "## The prediction path: what `stance-predict` finds and says",
        "",
        f"The articles' text re-split into sentences, actors found (`actors={path.get('actors', 'gazetteer')}`, "
        f"gazetteer `{path.get('gazetteer', '')}`), every co-mentioned pair scored: {path['pairs_scored']} pairs "
        f"scored in {path['articles']} articles, {path['found_pairs']} after matching to gold sentences and "
        f"entities ({path['found_pairs_predicted_neutral']} of them called neutral).",
        "",
        f"- actor finder's recall of gold polar pairs: {_fmt(path['finder_recall_polar'])} "
        f"({path['gold_polar_found']} of {path['gold_polar_pairs']}); of those found, "
        f"{path['gold_polar_found_called_neutral']} were called neutral",
        f"- recall of gold polar pairs between named entities (people, organisations, places; not topics or "
        f"events): {_fmt(path['finder_recall_polar_named'])} ({path['gold_polar_named_found']} of "
        f"{path['gold_polar_named_pairs']})",
        f"- {path['pairs_per_article']:.1f} pairs per article; {path['articles_without_pairs']} articles without "
        f"a pair; {path['pairs_per_second']:.1f} pairs/s and {path['articles_per_second']:.2f} articles/s "
        "(split, find, score)",
        f"- macro-F1 over support and oppose: {_fmt(path['macro_f1_support_oppose'])} "
        f"(95% CI {_ci(path['macro_f1_support_oppose_ci95'])})",
    ]
    if "mention_finder" in path:
        m = path["mention_finder"]
        lines.append(
            f"- mention finder against the entity lists ({m['sentences']} sentences): precision "
            f"{_fmt(m['precision'])}, recall {_fmt(m['recall'])}, F1 {_fmt(m['f1'])} (exact spans); "
            f"{_fmt(m['overlap_recall'])} of listed mentions overlapped"
        )
    if "agreement_with_classifier_only" in path:
        a = path["agreement_with_classifier_only"]
        lines.append(
            f"- same label as classifier-only scoring on {a['same_label']} of the {a['shared_pairs']} shared pairs"
        )
    lines += ["", "| class | precision | recall | F1 | gold pairs |", "|---|---|---|---|---|"]
    for label, c in path["per_class"].items():
        lines.append(f"| {label} | {_fmt(c['precision'])} | {_fmt(c['recall'])} | {_fmt(c['f1'])} | {c['support']} |")
    lines += ["", *_direction_table(path.get("by_direction", {}), "By mention order (in the gold sentence)")]
    edges = path.get("edges")
    if edges:
        lines += [
            "",
            f"### Article-level edges ({edges['gold_edges']} gold edges: each article's sentence-level stances, "
            "united)",
            "",
            "| rule | predicted edges | correct | precision | recall | F1 | 95% CI (stories) |",
            "|---|---|---|---|---|---|---|",
        ]
        for rule in EDGE_RULES:
            e = edges[rule]
            lines.append(
                f"| {rule} | {e['predicted_edges']} | {e['correct']} | {_fmt(e['precision'])} | {_fmt(e['recall'])} "
                f"| {_fmt(e['f1'])} | {_ci(e['f1_ci95'])} |"
            )
        lines += [
            "",
            f"Net stance: mean P(support) − mean P(oppose) over the pair's sentences in the article, an edge beyond "
            f"±{edges['net_margin']}.",
        ]
    return lines


def _direction_table(table: dict[str, dict[str, Any]], title: str) -> list[str]:
    if not table:
        return []
    lines = [
        f"### {title}",
        "",
        "| actor named | n | gold polar | support F1 | oppose F1 | macro-F1 s/o | polarity (annotated, n) |",
        "|---|---|---|---|---|---|---|",
    ]
    for order, r in table.items():
        polarity = r.get("polarity_annotated")
        shown = f"{_fmt(polarity['micro_f1'])} ({polarity['n']})" if polarity else "–"
        lines.append(
            f"| {order} | {r['n']} | {r['gold_polar']} | {_fmt(r['f1_support'])} | {_fmt(r['f1_oppose'])} "
            f"| {_fmt(r['macro_f1_support_oppose'])} | {shown} |"
        )
    return lines


def _decision_line(results: dict[str, Any]) -> list[str]:
    model = results.get("systems", {}).get("model", {})
    decision = model.get("decision")
    if not decision:
        return []
    if decision["neutral_threshold"] is None:
        return ["The model's calls are the argmax of its probabilities (no fitted decision in the folder).", ""]
    return [
        f"The model's calls use its fitted decision: neutral when P(neutral) ≥ {decision['neutral_threshold']:.2f} "
        f"(fitted on {decision['fitted_on']}), else the more probable of support and oppose; with the plain "
        f"argmax its macro-F1 here would be {_fmt(model.get('macro_f1_argmax', float('nan')))}.",
        "",
    ]


def markdown_report(results: dict[str, Any]) -> str:
    """A short markdown report: classifier-only figures beside the baselines, and the prediction path's."""
    lines = [
        f"# Evaluation of `{results['model']}` on {results['data']}",
        "",
        f"Weights sha256 `{results.get('weights_sha256', 'unknown')}`.",
        "",
    ]
    if "systems" in results:
        lines += [*_classifier_section(results), "", *_decision_line(results)]
    if "prediction_path" in results:
        lines += [*_path_section(results["prediction_path"]), ""]
    return "\n".join(lines)


def write_evaluation(results: dict[str, Any], output_dir: Path) -> Path:
    """metrics.json, report.md and confusion.png in `output_dir`."""
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "metrics.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (output_dir / "report.md").write_text(markdown_report(results), encoding="utf-8")
    if "systems" in results:
        save_confusion_png(
            results["systems"]["model"], output_dir / "confusion.png", f"{results['model']}\n{results['data']}"
        )
    return output_dir
