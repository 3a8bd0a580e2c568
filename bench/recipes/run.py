"""Recipe rows: each trained model scored once on SEESAW valid and DSE valid, with its cost.

    python -m bench.recipes name=models/folder [name=models/folder ...]
    python -m bench.recipes --no-speed name=…   # evaluations only (cached in outputs/bench/recipes/)

For each model: SEESAW held-out (valid stories) macro-F1 with the model's saved
decision, polarity micro-F1 on annotated pairs, support/oppose precision and
recall; DSE valid 5-class macro- and micro-F1 with the reverse-direction classes
(q toward p); training wall time from its `metrics.json`; and prediction pairs
per second, timed in this run on the same 2,000 SEESAW valid examples for every
model (so the speeds are ratios within one run). Every row names the weights by
sha256 and the training config. Results: `bench/recipes/results.json` and its README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from bench.common import BENCH, ROOT, commit, date, evaluation, hardware, offline, write_results

SPEED_EXAMPLES = 2000


def cached_evaluation(model: str, data: str, out: str) -> dict[str, Any]:
    """`stance-evaluate model_dir=<model> data=<data> split=validation pairs=labelled baselines=false`.

    An evaluation already in `out` of the same weights (by sha256) is reused: the
    figures are deterministic, and the speeds are timed afresh in every run.
    """
    from stance.model import weights_sha256

    saved = ROOT / out / "metrics.json"
    if saved.is_file():
        previous = json.loads(saved.read_text(encoding="utf-8"))
        if previous.get("weights_sha256") == weights_sha256(ROOT / model):
            print(f"reusing {saved} (same weights)", file=sys.stderr)
            return previous
    return evaluation(model, [f"data={data}"], "validation", out, ("pairs=labelled", "baselines=false"))


def pairs_per_second(folder: str, rows: list[dict[str, Any]]) -> float:
    """Scoring throughput (fp32, batch 64) on `rows`, after one warm-up batch."""
    from stance.predict.classifier import StanceClassifier

    classifier = StanceClassifier.from_pretrained(folder, batch_size=64)
    classifier.predict_proba(rows[:64])
    started = time.perf_counter()
    classifier.predict_proba(rows)
    return len(rows) / (time.perf_counter() - started)


def row(name: str, folder: str, speed_rows: list[dict[str, Any]] | None) -> dict[str, Any]:
    """One model's figures."""
    from omegaconf import OmegaConf

    from stance.model import weights_sha256

    path = ROOT / folder
    metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
    config = OmegaConf.to_container(OmegaConf.load(path / "training_config.yaml"), resolve=True)
    seesaw = cached_evaluation(folder, "seesaw", f"outputs/bench/recipes/{name}/seesaw")["systems"]["model"]
    dse = cached_evaluation(folder, "dse", f"outputs/bench/recipes/{name}/dse")
    five = dse["corpus_metrics"]["dse_5class"]
    return {
        "name": name,
        "folder": folder,
        "weights_sha256": weights_sha256(path),
        "config": {k: config.get(k) for k in ("seed", "model", "train", "data", "teacher", "distill")},
        "train_wall_s": metrics.get("wall_time_s", metrics.get("train_runtime_s")),
        "device": metrics.get("device"),
        "dev": {k: v for k, v in metrics.items() if k.startswith("dev")},
        "seesaw": {
            "macro_f1": seesaw["macro_f1"],
            "macro_f1_ci95": seesaw.get("macro_f1_ci95"),
            "polarity_micro_f1": seesaw["polarity_annotated"]["micro_f1"],
            "per_class": seesaw["per_class"],
            "decision": seesaw.get("decision"),
        },
        "dse": {
            "macro_f1_5class": five["macro_f1"],
            "micro_f1_5class": five["micro_f1"],
            "per_class_f1": five["per_class_f1"],
            "directed": {k: dse["systems"]["model"][k] for k in ("macro_f1", "macro_f1_support_oppose", "per_class")},
        },
        "pairs_per_second": pairs_per_second(folder, speed_rows) if speed_rows else float("nan"),
    }


def markdown(report: dict[str, Any]) -> str:
    """The rows as a table, with what each model is."""
    lines = [
        "# Recipes side by side",
        "",
        f"- date: {report['date']}; commit: {report['commit']}; hardware: {report['hardware']}",
        f"- command: `python -m bench.recipes {' '.join(r['name'] + '=' + r['folder'] for r in report['rows'])}`",
        "- SEESAW: valid stories (held out; scored once per model). DSE: `valid.txt` (its test split is withheld).",
        f"- pairs/s: the same {SPEED_EXAMPLES} SEESAW valid examples for every model, fp32, batch 64, in this run.",
        "",
        "| recipe | SEESAW macro-F1 (95% CI) | SEESAW polarity micro-F1 | support P / R | oppose P / R "
        "| DSE 5-class macro-F1 | DSE micro-F1 | DSE q→p pos / neg F1 | training | pairs/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        s, d = r["seesaw"], r["dse"]
        ci = s.get("macro_f1_ci95") or [float("nan")] * 2
        sup, opp = s["per_class"]["support"], s["per_class"]["oppose"]
        lines.append(
            f"| {r['name']} | {s['macro_f1']:.3f} ({ci[0]:.3f}–{ci[1]:.3f}) | {s['polarity_micro_f1']:.3f} "
            f"| {sup['precision']:.2f} / {sup['recall']:.2f} | {opp['precision']:.2f} / {opp['recall']:.2f} "
            f"| {d['macro_f1_5class']:.3f} | {d['micro_f1_5class']:.3f} "
            f"| {d['per_class_f1']['q_positive_p']:.2f} / {d['per_class_f1']['q_negative_p']:.2f} "
            f"| {r['train_wall_s'] / 60:.0f} min on {r['device']} | {r['pairs_per_second']:.0f} |"
        )
    lines += ["", "Models (weights sha256, training config in `bench/recipes/results.json`):", ""]
    lines += [f"- {r['name']}: `{r['folder']}`, sha256 `{r['weights_sha256']}`" for r in report["rows"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    offline()
    parser = argparse.ArgumentParser(
        prog="python -m bench.recipes", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-speed", action="store_true", help="evaluations only: print the table, write nothing")
    parser.add_argument("models", nargs="+", help="name=model folder")
    args = parser.parse_args(argv)
    models = [arg.split("=", 1) for arg in args.models]
    if any(len(m) != 2 for m in models):
        parser.error("give each model as name=folder")
    speed = not args.no_speed

    from hydra import compose, initialize_config_dir

    from stance.cli import CONFIG_DIR
    from stance.dataset.build import dataset_from_config

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=["experiment=recipe"])
    speed_rows = list(dataset_from_config(cfg)["validation"].select(range(SPEED_EXAMPLES))) if speed else None
    rows = [row(name, folder, speed_rows) for name, folder in models]
    report = {
        "date": date(),
        "commit": commit(),
        "hardware": hardware(),
        "rows": rows,
    }
    if not speed:
        print(markdown(report))
        return
    write_results(BENCH / "recipes", report, markdown(report))
    print(markdown(report))
