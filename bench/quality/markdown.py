"""The classifier-first benchmark's README: its tables from results.json."""

from __future__ import annotations

import json
from typing import Any


def actor_markdown(section: dict[str, Any]) -> list[str]:
    """The table of `actor_sources`."""
    rows = section["rows"]
    lines = [
        "## Who the prediction path pairs: listed actors, the Phoenix dictionaries, the mention finder",
        "",
        f"`stance-evaluate pairs=found` with the reported model (`{section['model']}`) on the 105 SEESAW valid "
        f"articles' text, {section['date']}, commit `{section['commit']}`. Gold polar pairs between named entities: "
        "both ends typed People, Organization, GPE or Religion (not Topic, Event, Others). A pair counts as found "
        "when the path scores it in its sentence; a missed pair counts as neutral. Times include sentence splitting, "
        "actor finding and scoring (fp32, 2 cores).",
        "",
        "| actors from | recall, named polar pairs | recall, all polar pairs | support F1 | oppose F1 | "
        "macro-F1 s/o (95% CI) | pairs/article | articles with no pair | pairs/s | articles/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        v = r["validation"]
        lines.append(
            f"| {r['name']} | {v['finder_recall_polar_named']:.3f} ({v['gold_polar_named_found']}/"
            f"{v['gold_polar_named_pairs']}) | {v['finder_recall_polar']:.3f} | "
            f"{v['per_class']['support']['f1']:.3f} | {v['per_class']['oppose']['f1']:.3f} | "
            f"{v['macro_f1_support_oppose']:.3f} ({_ci(v['macro_f1_support_oppose_ci95'])}) | "
            f"{v['pairs_per_article']:.1f} | {v['articles_without_pairs_fraction']:.1%} | "
            f"{v['pairs_per_second']:.1f} | {v['articles_per_second']:.2f} |"
        )
    first = rows[0]["validation"]
    if "gold_polar_named_both_in_sentence" in first:
        n, total = first["gold_polar_named_both_in_sentence"], first["gold_polar_named_pairs"]
        lines += [
            "",
            f"Of the {total} gold polar pairs between named entities, {n} ({n / total:.1%}) have both ends named in "
            "their sentence by the corpus's own surface forms: the most a path that resolves no pronoun or "
            'description ("he said", "the senator") can find. The rest name one side only in another sentence.',
        ]
    finder = next((r["validation"]["mention_finder"] for r in rows if "mention_finder" in r["validation"]), None)
    if finder:
        lines += [
            "",
            f"Mention finder against SEESAW valid's entity lists ({finder['sentences']} sentences, topics, events and "
            f"others excluded): precision {finder['precision']:.3f}, recall {finder['recall']:.3f}, F1 "
            f"{finder['f1']:.3f} on exact spans; {finder['overlap_recall']:.3f} of listed mentions overlapped by a "
            "found span. Precision is a lower bound: the lists name the article's salient entities, not every actor. "
            f"The finder: the model's `mentions/`, weights sha256 `{finder.get('weights_sha256', '?')}`, trained by "
            "`stance-train task=mentions` (its `training_config.yaml` is in the folder).",
        ]
    listed, default = rows[0]["validation"], rows[-1]["validation"]
    recall, empty = default["finder_recall_polar_named"], default["articles_without_pairs_fraction"]
    gain = default["macro_f1_support_oppose"] - listed["macro_f1_support_oppose"]
    lines += [
        "",
        "Against the actor-finding targets (stance-predict's default, last row):",
        "",
        f"- ≥ 60% of gold polar pairs between named entities found in their sentence: {recall:.1%} — "
        f"{'met' if recall >= 0.60 else 'NOT met'}",
        f"- fewer than 5% of articles without an actor pair: {empty:.1%} — {'met' if empty < 0.05 else 'NOT met'}",
        f"- end-to-end support/oppose macro-F1 above the listed actors': {default['macro_f1_support_oppose']:.3f} vs "
        f"{listed['macro_f1_support_oppose']:.3f} ({gain:+.3f}) — {'met' if gain > 0 else 'NOT met'}",
        "- speed (≥ 70% of the articles/s before the mention finder and Phoenix): `bench/inference/README.md`",
    ]
    lines += [
        "",
        "Seed test article (`data/articles/seed_000.json`; its actors are countries):",
        "",
        "| actors from | recall of gold polar pairs | support F1 | oppose F1 | pairs |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        v = r["seed"]
        lines.append(
            f"| {r['name']} | {v['finder_recall_polar']:.3f} ({v['gold_polar_found']}/{v['gold_polar_pairs']}) | "
            f"{v['per_class']['support']['f1']:.3f} | {v['per_class']['oppose']['f1']:.3f} | {v['pairs_scored']} |"
        )
    return lines


def _pm(s: dict[str, float]) -> str:
    return f"{s['mean']:.3f} ± {s['sd']:.3f}"


def _ci(pair: list[float]) -> str:
    return f"{pair[0]:.3f}–{pair[1]:.3f}"


def markdown(report: dict[str, Any]) -> str:
    """bench/quality/README.md."""
    runs, over = report["runs"], report["summary"]["over_seeds"]
    chosen = next(r for r in runs if r["seed"] == report["reported_model"]["seed"])
    cm, cp = chosen["validation"]["systems"]["model"], chosen["validation"]["prediction_path"]
    tfidf = report["summary"]["baselines"]["tfidf_lr"]
    gap = over["macro_f1"]["mean"] - tfidf["macro_f1"]
    lines = [
        "# Quality benchmark: the recipe on SEESAW, held-out figures",
        "",
        f"- date: {report['date']}; commit: {report['commit']}; hardware: {report['hardware']}",
        f"- command: `{report['command']}` (whole run {report['wall_s'] / 60:.1f} min); training: "
        + ", ".join(
            f"{r['train_wall_s'] / 60:.1f} min (seed {r['seed']}{', reused' if r['reused'] else ''})" for r in runs
        )
        + f" on {runs[0]['device']}",
        f"- recipe: `stance-train experiment=recipe seed=<s>`, seeds {', '.join(str(r['seed']) for r in runs)}; "
        f"config: `{json.dumps(runs[0]['config'])}`",
        f"- reported model: `{chosen['folder']}` (seed {chosen['seed']}, best dev macro-F1), weights sha256 "
        f"`{report['reported_model']['weights_sha256']}`",
        "",
        "## Which split did what",
        "",
        "| split | what it did | examples (support / oppose / neutral) | articles |",
        "|---|---|---|---|",
    ]
    roles = {
        "train": "trained the model (co-mention neutrals capped at half)",
        "dev": "chose each run's checkpoint (best epoch by macro-F1) and the reported seed",
        "validation": "scored once per seed, at the end: the held-out figures below",
    }
    for split, role in roles.items():
        row = chosen["examples"][split]
        lines.append(
            f"| SEESAW {split} | {role} | {row['support']} / {row['oppose']} / {row['neutral']} | {row['articles']} |"
        )
    lines += [
        "",
        "Dev is about 15% of the train stories, chosen by a hash of the story id; evaluation splits keep every "
        "pair (none capped). Baselines are fit on train. Intervals are 95% bootstraps over whole stories.",
        "",
        "## Held out: SEESAW valid",
        "",
        "| figure | mean ± sd over seeds | per seed | reported model | its 95% CI (stories) |",
        "|---|---|---|---|---|",
    ]

    def line(name: str, key: str, value: float, ci: list[float] | None) -> str:
        per_seed = ", ".join(f"{v:.3f}" for v in over[key]["values"])
        return f"| {name} | {_pm(over[key])} | {per_seed} | {value:.3f} | {_ci(ci) if ci else '–'} |"

    lines += [
        line("dev macro-F1 (selection, not held out)", "dev_macro_f1", chosen["dev"]["macro_f1"], None),
        line("classifier only: macro-F1 (3-way)", "macro_f1", cm["macro_f1"], cm["macro_f1_ci95"]),
        line(
            "classifier only: polarity micro-F1, annotated pairs",
            "polarity",
            cm["polarity_annotated"]["micro_f1"],
            cm["polarity_annotated"].get("ci95"),
        ),
        line("prediction path: support F1", "path_support_f1", cp["per_class"]["support"]["f1"], None),
        line("prediction path: oppose F1", "path_oppose_f1", cp["per_class"]["oppose"]["f1"], None),
        line(
            "prediction path: macro-F1 support/oppose",
            "path_macro_f1_support_oppose",
            cp["macro_f1_support_oppose"],
            cp["macro_f1_support_oppose_ci95"],
        ),
        line(
            "prediction path: actor finder's recall of gold polar pairs",
            "finder_recall_polar",
            cp["finder_recall_polar"],
            None,
        ),
        "",
        "Baselines on the same valid examples (deterministic, the same for every seed):",
        "",
        "| system | macro-F1 (3-way) | 95% CI | polarity micro-F1 | 95% CI |",
        "|---|---|---|---|---|",
    ]
    for name, r in report["summary"]["baselines"].items():
        pol = r["polarity_annotated"]
        lines.append(
            f"| {name} | {r['macro_f1']:.3f} | {_ci(r['macro_f1_ci95'])} | {pol['micro_f1']:.3f} | "
            f"{_ci(pol['ci95']) if 'ci95' in pol else '–'} |"
        )
    lines += [
        "",
        "## The prediction path, reported model",
        "",
        f"What `stance-predict` does on the {cp['articles']} valid articles' text: {cp['pairs_scored']} pairs scored, "
        f"{cp['found_pairs']} placed in gold sentences, {cp['found_pairs_predicted_neutral']} called neutral. "
        f"Of the {cp['gold_polar_pairs']} gold support/oppose pairs the gazetteer (`data/actors.yaml`) reached "
        f"{cp['gold_polar_found']} ({cp['gold_polar_found_called_neutral']} of them called neutral); a pair never "
        "found counts as missed, a found pair without a gold label as neutral.",
        "",
        "| class | precision | recall | F1 | gold pairs |",
        "|---|---|---|---|---|",
    ]
    for label, c in cp["per_class"].items():
        lines.append(f"| {label} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |")
    agree = cp.get("agreement_with_classifier_only", {})
    if agree:
        lines += [
            "",
            f"Both paths gave the same label to {agree['same_label']} of the {agree['shared_pairs']} pairs they share "
            f"({agree['same_input_same_label']} of {agree['same_input_pairs']} where the sentence, context, names and marks are "
            "identical: the model read the same input on both paths).",
        ]
    seed_path = (report.get("seed_article") or {}).get("prediction_path")
    if seed_path:
        s, o = seed_path["per_class"]["support"], seed_path["per_class"]["oppose"]
        lines += [
            "",
            "Seed test article (`data/articles/seed_000.json`), reported model, prediction path: "
            f"finder recall {seed_path['finder_recall_polar']:.3f} ({seed_path['gold_polar_found']} of "
            f"{seed_path['gold_polar_pairs']}); support P/R/F1 {s['precision']:.3f}/{s['recall']:.3f}/{s['f1']:.3f}, "
            f"oppose P/R/F1 {o['precision']:.3f}/{o['recall']:.3f}/{o['f1']:.3f}; classifier only on its labelled "
            f"pairs: macro-F1 {report['seed_article']['systems']['model']['macro_f1']:.3f}.",
        ]
    lines += [
        "",
        "## Classifier only, by mention pattern (reported model)",
        "",
        "| actor and target mentions in the sentence | n | macro-F1 | polarity micro-F1 (n) |",
        "|---|---|---|---|",
    ]
    for pattern, r in cm["by_mention_pattern"].items():
        pol = r["polarity_annotated"]
        lines.append(f"| {pattern} | {r['n']} | {r['macro_f1']:.3f} | {pol['micro_f1']:.3f} ({pol['n']}) |")
    lines += [
        "",
        "## Against the targets",
        "",
        f"- held-out macro-F1 minus TF-IDF + LR in the same run: {gap:+.3f} (mean over seeds; target ≥ +0.10): "
        f"{'met' if gap >= 0.10 else 'NOT met'}",
        f"- seed-to-seed spread of held-out macro-F1: sd {over['macro_f1']['sd']:.3f}; a recipe change counts as "
        "better only when it beats this spread on dev.",
        "",
        "Per-epoch dev macro-F1: "
        + "; ".join(
            f"seed {r['seed']}: " + ", ".join(f"{e['macro_f1']:.3f}" for e in r["dev"]["epoch_scores"]) for r in runs
        ),
        "",
        "Recipe variants: `docs/experiments.md` (by hand; this file is the script's own).",
        "",
    ]
    if report.get("actors"):
        lines += [*actor_markdown(report["actors"]), ""]
    return "\n".join(lines)
