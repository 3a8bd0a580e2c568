"""What users get, model beside model: the prediction path end to end, article edges, and classifier-only figures.

Each model folder is scored with `stance-evaluate pairs=both` on one split, its
path as `stance-predict` runs it by default (the model's gazetteer unless
`--gazetteer`, its mention finder when it carries one). Rows: sentence-level
support/oppose macro-F1 over every pair the path finds (missed gold pairs
count as missed), article-level edge F1 under both rules, reach of named gold
polar pairs, the same by mention order, classifier-only polarity, and
articles/s. Choosing is done on `dev`; `validation` is scored once, at the end.

    python -m bench.endtoend --split dev --gazetteer phoenix \
        recipe=models/recipe-seesaw-s42 news=models/news-seesaw-s42

Writes bench/endtoend/results-<split>.json (rows are added to, keyed by label) and bench/endtoend/README.md
(the tables of every split measured).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.common import BENCH, ROOT, commit, date, evaluation, hardware, offline, repo_relative

offline()


def row(
    label: str,
    folder: str,
    split: str,
    gazetteer: str | None,
    references: bool = False,
    context_pairs: int | None = None,
    data: tuple[str, ...] = ("data=seesaw",),
) -> dict[str, Any]:
    """One model's figures on `split` (`context_pairs` None: as the model was trained; `data`: the corpus)."""
    from omegaconf import OmegaConf

    extra = ["pairs=both", "actors=auto", "bootstrap_resamples=1000", f"references={str(references).lower()}"]
    if context_pairs is not None:
        extra.append(f"context_pairs={context_pairs}")
    if gazetteer:
        extra.append(f"gazetteer={gazetteer}")
    r = evaluation(folder, list(data), split, f"outputs/bench/endtoend/{label}-{split}", tuple(extra))
    path, model = r["prediction_path"], r["systems"]["model"]
    config = ROOT / folder / "training_config.yaml"
    trained = OmegaConf.load(config) if config.exists() else {}
    return {
        "label": label,
        "model": repo_relative(str(ROOT / folder)),
        "weights_sha256": r["weights_sha256"],
        "finder_sha256": path.get("mention_finder", {}).get("weights_sha256", ""),
        # Its spans against the split's entity lists (a lower bound on precision: see score_mentions).
        "finder_spans": {k: path["mention_finder"][k] for k in ("precision", "recall", "f1")}
        if "mention_finder" in path
        else {},
        "config": {
            "data.pairs": str(OmegaConf.select(trained, "data.pairs") or "labelled") if trained else "",
            "gazetteer": str(OmegaConf.select(trained, "gazetteer", default="")) if trained else "",
            "seed": OmegaConf.select(trained, "seed", default=None) if trained else None,
            "train.order_weights": str(OmegaConf.select(trained, "train.order_weights", default="none"))
            if trained
            else "",
            "data.context_pairs": int(OmegaConf.select(trained, "data.context_pairs", default=0) or 0)
            if trained
            else 0,
            "references": bool(OmegaConf.select(trained, "references", default=False)) if trained else False,
        },
        "path": {
            "actors": path["actors"],
            "references": path.get("references", False),
            "context_pairs": path.get("context_pairs", 0),
            "gazetteer": repo_relative(str(path["gazetteer"])),
            "macro_f1_support_oppose": path["macro_f1_support_oppose"],
            "ci95": path["macro_f1_support_oppose_ci95"],
            "support": path["per_class"]["support"],
            "oppose": path["per_class"]["oppose"],
            "reach_named": path["finder_recall_polar_named"],
            "named_pairs": path["gold_polar_named_pairs"],
            # Both ends named in the sentence by the corpus's own forms: the most a path without references reaches.
            "reach_bound_without_references": path["gold_polar_named_both_in_sentence"]
            / max(path["gold_polar_named_pairs"], 1),
            "reached_called_neutral": path["gold_polar_found_called_neutral"],
            "gold_polar_found": path["gold_polar_found"],
            "pairs_per_article": path["pairs_per_article"],
            "articles_per_second": path["articles_per_second"],
            "by_direction": path["by_direction"],
            "edges": path["edges"],
        },
        "classifier_only": {
            "macro_f1": model["macro_f1"],
            "polarity": model["polarity_annotated"]["micro_f1"],
            "by_direction": model["by_direction"],
        },
        "decision": model["decision"],
    }


def _finder(r: dict[str, Any]) -> str:
    """The mention finder a row was measured with: its sha256, or what is known of an older row's."""
    sha = r.get("finder_sha256", "")
    if sha and sha == r.get("weights_sha256"):
        return "its own mention head"
    return f"`{sha[:12]}…`" if len(sha) == 64 else (sha or "–")


def runs_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The distinct runs the report's rows were measured in, in first-row order."""
    runs: list[dict[str, Any]] = []
    for r in report["rows"].values():
        if "run" in r and r["run"] not in runs:
            runs.append(r["run"])
    return runs


def markdown(report: dict[str, Any]) -> str:
    """The side-by-side table (each row numbered by the run it was measured in), then the split by mention order."""
    runs = runs_of(report)
    lines = [
        f"# End to end on SEESAW {report['split']}: what `stance-predict` gives, model beside model",
        "",
        "Rows come from several runs, on several machines: articles/s compare only between rows of one run.",
        "",
        *(
            f"- run {i}: {r['date']}, commit {r['commit']}; {r['hardware']}; `{r['command']}`"
            for i, r in enumerate(runs, 1)
        ),
        *(
            ["- run –: measured before each row recorded its run (their dates and machines: docs/experiments.md)"]
            if any("run" not in r for r in report["rows"].values())
            else []
        ),
        "",
        "| run | model (path options) | trained: data.pairs, train.order_weights, data.context_pairs, references, seed | weights sha256 | finder sha256 | path s/o macro-F1 (95% CI) | support F1 | oppose F1 | edge F1, "
        "any sentence | edge F1, net stance | named gold polar reached (bound without references) "
        "| reached, called neutral | pairs/article | articles/s | classifier-only polarity | classifier-only macro-F1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"].values():
        p, c = r["path"], r["classifier_only"]
        e = p["edges"]
        how = [
            *(["references"] if p.get("references") else []),
            *([f"context_pairs={k}"] if (k := p.get("context_pairs")) else []),
        ]
        options = f" ({', '.join(how)})" if how else ""
        cfg = r["config"]
        # Rows measured before a key was recorded show "–" for it.
        refs = {True: "true", False: "false"}.get(cfg.get("references"), "–")
        trained = (
            f"{cfg['data.pairs']}, {cfg.get('train.order_weights') or 'none'}, {cfg.get('data.context_pairs', 0)}, "
            f"{refs}, {cfg.get('seed') if cfg.get('seed') is not None else '–'}"
        )
        number = runs.index(r["run"]) + 1 if "run" in r else "–"
        lines.append(
            f"| {number} | {r['label']}{options} | {trained} | `{r['weights_sha256'][:12]}…` | {_finder(r)} "
            f"| {p['macro_f1_support_oppose']:.3f} ({p['ci95'][0]:.3f}–{p['ci95'][1]:.3f}) "
            f"| {p['support']['f1']:.3f} | {p['oppose']['f1']:.3f} "
            f"| {e['any sentence']['f1']:.3f} | {e['net stance']['f1']:.3f} "
            f"| {p['reach_named']:.3f} ({p['reach_bound_without_references']:.3f}) "
            f"| {p['reached_called_neutral']} of {p['gold_polar_found']} | {p['pairs_per_article']:.1f} "
            f"| {p['articles_per_second']:.2f} | {c['polarity']:.3f} | {c['macro_f1']:.3f} |"
        )
    lines += [
        "",
        "By mention order (actor named before the target, after it, or not both named in the sentence):",
        "",
        "| model | figure | actor first | target first | not both named |",
        "|---|---|---|---|---|",
    ]
    for r in report["rows"].values():
        for name, table in (
            ("path s/o macro-F1", r["path"]["by_direction"]),
            ("classifier-only s/o macro-F1", r["classifier_only"]["by_direction"]),
        ):
            cells = [
                f"{table[o]['macro_f1_support_oppose']:.3f} (n {table[o]['gold_polar']})" if o in table else "–"
                for o in ("actor first", "target first", "not both named")
            ]
            lines.append(f"| {r['label']} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def readme(folder: Path) -> str:
    """README.md: the tables of every split measured, one results-<split>.json each, in name order."""
    reports = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("results-*.json"))]
    return "\n".join(markdown(r) for r in reports)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.endtoend", description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="dev")
    parser.add_argument("--gazetteer", default=None)
    parser.add_argument("--references", action="store_true", help="resolve role nouns, descriptions and pronouns")
    parser.add_argument("--context-pairs", type=int, default=None, help="pair with actors named k sentences before")
    parser.add_argument("models", nargs="+", help="label=model folder")
    args = parser.parse_args(argv)
    folder = BENCH / "endtoend"
    results = folder / f"results-{args.split}.json"
    report = json.loads(results.read_text()) if results.exists() else {"rows": {}}
    run = {
        "date": date(),
        "commit": commit(),
        "hardware": hardware(),
        "command": repo_relative(" ".join(["python", "-m", "bench.endtoend", *argv])),
    }
    for item in args.models:
        label, _, model = item.partition("=")
        report["rows"][label] = row(label, model, args.split, args.gazetteer, args.references, args.context_pairs)
        report["rows"][label]["run"] = run  # rows of one run share a machine: only their speeds compare
        print(json.dumps(report["rows"][label]["path"]["edges"]), file=sys.stderr)
    report = {"split": args.split, "rows": report["rows"]}  # each row carries its run; no copy of the last one
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(readme(folder), encoding="utf-8")
    print(markdown(report))
