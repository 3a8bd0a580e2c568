"""Quality benchmark: train the recipe on SEESAW train, evaluate on SEESAW valid beside the baselines.

    .venv/bin/python scripts/bench_quality.py                       # the full run (CPU: under an hour)
    .venv/bin/python scripts/bench_quality.py train.max_steps=20    # a smoke run (not written to bench/)

Any further argument is a Hydra override of the training config; `--model DIR`
skips training and evaluates a model the recipe already trained (its training
time is then read from its metrics.json). In one run it
trains `experiment=recipe`, scores the model and the majority and TF-IDF + LR
baselines (fit on train) on the same validation examples, and reports 3-way
macro-F1 and polarity micro-F1 on the annotated pairs alone (direction given,
support versus oppose: the setting of the published SEESAW figures). The full
run writes `bench/quality.md` and `bench/quality.json`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchkit import ROOT, commit, cpu, setup

setup()


def hardware() -> str:
    """CPU model and cores, and the GPU when there is one."""
    import torch

    text = f"{cpu()[0]}, {os.cpu_count()} cores visible, torch {torch.__version__} ({torch.get_num_threads()} threads)"
    if torch.cuda.is_available():
        text += f", GPU {torch.cuda.get_device_name(0)}"
    return text


def run(overrides: list[str], model_dir: str | None = None) -> dict:
    """Train (unless `model_dir` is given), then evaluate on validation; every figure of the benchmark."""
    from hydra import compose, initialize_config_dir

    from stance.cli import APPLY_CONFIG_DIR, CONFIG_DIR
    from stance.evaluate import evaluate
    from stance.train import train

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        train_cfg = compose("train", overrides=["experiment=recipe", *overrides])
    started = time.time()
    if model_dir is None:
        trained = train(train_cfg)
        train_wall = time.time() - started
    else:
        train_cfg.output_dir = model_dir
        trained = json.loads((Path(model_dir) / "metrics.json").read_text(encoding="utf-8"))
        train_wall = trained["wall_time_s"] if "wall_time_s" in trained else trained["train_runtime_s"]
    with initialize_config_dir(config_dir=APPLY_CONFIG_DIR, version_base="1.3"):
        eval_cfg = compose(
            "evaluate",
            overrides=[
                f"model={train_cfg.output_dir}",
                f"data={train_cfg.data.name}",
                f"data.root={train_cfg.data.root}",
                "split=validation",
                f"output_dir=outputs/bench/quality/{train_cfg.run_name}",
            ],
        )
    results = evaluate(eval_cfg)
    return {
        "overrides": overrides,
        "run_name": str(train_cfg.run_name),
        "recipe": {k: v for k, v in dict(train_cfg.train).items() if k not in ("device", "num_workers")},
        "max_length": int(train_cfg.model.max_length),
        "context_sentences": int(train_cfg.data.context_sentences),
        "examples": trained["examples"],
        "train_wall_s": round(train_wall, 1),
        "eval_wall_s": results["wall_time_s"],
        "device": trained["device"],
        "systems": results["systems"],
        "evaluation_dir": results["output_dir"],
    }


def markdown(figures: dict) -> str:
    """bench/quality.md."""
    systems = figures["systems"]
    tfidf, model = systems["tfidf_lr"]["macro_f1"], systems["model"]["macro_f1"]
    polarity = systems["model"]["polarity_annotated"]["micro_f1"]
    lines = [
        "# Quality benchmark: SEESAW valid",
        "",
        f"- date: {figures['date']}",
        f"- commit: {figures['commit']}",
        f"- hardware: {figures['hardware']}",
        f"- command: `{figures['command']}`",
        f"- training: {figures['train_wall_s'] / 60:.1f} min on {figures['device']}; "
        f"evaluation: {figures['eval_wall_s'] / 60:.1f} min; whole run {figures['wall_s'] / 60:.1f} min",
        f"- recipe: `experiment=recipe` ({json.dumps(figures['recipe'])}), max length {figures['max_length']}, "
        f"context {figures['context_sentences']} sentences",
        "",
        "Examples (support / oppose / neutral):",
        "",
        "| split | support | oppose | neutral | total | articles |",
        "|---|---|---|---|---|---|",
    ]
    for split, row in figures["examples"].items():
        lines.append(
            f"| {split} | {row['support']} | {row['oppose']} | {row['neutral']} | {row['total']} | {row['articles']} |"
        )
    lines += [
        "",
        "All systems are scored on the same validation examples; the baselines are fit on SEESAW train.",
        "",
        "| system | macro-F1 (3-way) | 95% CI | macro-F1 support/oppose | accuracy | polarity micro-F1, annotated pairs | ECE |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in systems.items():
        low, high = r["macro_f1_ci95"]
        lines.append(
            f"| {name} | {r['macro_f1']:.3f} | {low:.3f}–{high:.3f} | {r['macro_f1_support_oppose']:.3f} "
            f"| {r['accuracy']:.3f} | {r['polarity_annotated']['micro_f1']:.3f} "
            f"(n={r['polarity_annotated']['n']}) | {r['ece']:.3f} |"
        )
    lines += [
        "",
        "## Against the targets",
        "",
        f"- macro-F1 minus TF-IDF + LR: {model - tfidf:+.3f} (target ≥ +0.10): "
        f"{'met' if model - tfidf >= 0.10 else 'NOT met'}",
        f"- polarity micro-F1 on annotated pairs: {polarity:.3f} (target ≥ 0.84): "
        f"{'met' if polarity >= 0.84 else 'NOT met'}",
        "",
        "Per class (model):",
        "",
        "| class | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for label, c in systems["model"]["per_class"].items():
        lines.append(f"| {label} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |")
    lines += [
        "",
        "Variants of the recipe that were measured, and why the polarity target is out of reach for this",
        "model: `bench/quality-experiments.md` (written by hand; this file is the script's).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    started = time.time()
    model_dir = None
    if "--model" in argv:
        at = argv.index("--model")
        model_dir = argv[at + 1]
        argv = argv[:at] + argv[at + 2 :]
    figures = run(argv, model_dir)
    figures |= {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "hardware": hardware(),
        "command": " ".join(["python scripts/bench_quality.py", *argv, *(["--model", model_dir] if model_dir else [])]),
        "wall_s": round(time.time() - started, 1),
    }
    smoke = any(a.startswith(("train.max_steps", "data.root")) for a in argv)
    out = ROOT / ("outputs/bench" if smoke else "bench")
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    (out / "quality.md").write_text(markdown(figures), encoding="utf-8")
    print(markdown(figures))
    print(f"written to {out / 'quality.md'}")


if __name__ == "__main__":
    main(sys.argv[1:])
