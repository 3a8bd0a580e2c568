"""What an evaluation writes: metrics.json, a markdown report of its tables, and the confusion matrix as a PNG."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stance.evaluation.endtoend import EDGE_RULES
from stance.paths import resolve_path
from stance.predict.classifier import StanceClassifier
from stance.settings import references_on


def default_output(cfg: Any, classifier: StanceClassifier) -> Path:
    """outputs/evaluate/<model>/<data>-<split or input name>."""
    what = Path(str(cfg.input)).stem if cfg.input else f"{cfg.data.name}-{cfg.split}"
    if not references_on(cfg):
        what += "-noreferences"  # another path: its figures must not overwrite the default path's
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
