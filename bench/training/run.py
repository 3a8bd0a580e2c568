"""Training speed by encoder and precision on this machine: optimiser steps per second, fp32 against bf16.

    .venv/bin/python -m bench.training                       # minilm and mpnet, fp32 and bf16, 30 steps
    .venv/bin/python -m bench.training --models minilm --steps 10

Each run is `stance-train experiment=recipe model=<m> train.precision=<p> train.max_steps=<n>` in its own
process, one after another, on SEESAW train (the recipe's batches of 32 pairs, max length from the model
config capped at the recipe's 160). Steps/s is Trainer's own `train_runtime` over the steps (the first
steps included). Only speed is measured here: whether bf16 keeps dev quality needs full training runs,
recorded in `docs/experiments.md` when made. Writes `bench/training/results.json` and its README.md.
`model=mpnet` needs `make model-mpnet` first.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import BENCH, ROOT, commit, cpu, date, offline, write_results

offline()


def run(model: str, precision: str, steps: int, tmp: Path) -> dict:
    """One short training run in a fresh process; its steps/s from the saved metrics."""
    out = tmp / f"{model}-{precision}"
    cmd = [
        str(ROOT / ".venv" / "bin" / "stance-train"),
        "experiment=recipe",
        f"model={model}",
        "model.max_length=160",
        f"train.precision={precision}",
        f"train.max_steps={steps}",
        "train.logging_steps=1000",
        f"output_dir={out}",
        f"work_dir={tmp / 'work' / f'{model}-{precision}'}",
    ]
    print("==", model, precision, file=sys.stderr, flush=True)
    env = {**os.environ, "STANCE_PROGRESS": "0"}
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    metrics = json.loads((out / "metrics.json").read_text())
    seconds = metrics["train_runtime_s"]
    return {"model": model, "precision": precision, "steps": steps, "seconds": seconds, "steps_per_s": steps / seconds}


def markdown(report: dict) -> str:
    lines = [
        "# Training speed",
        "",
        f"`{report['command']}` — {report['date']}, commit `{report['commit']}`.",
        "",
        f"- Hardware: {report['cpu']}, {report['cores']} cores; CPU flags: {report['flags']}.",
        "- Runs one after another, each in its own process, on an otherwise idle machine; batches of 32 "
        "SEESAW pairs (the recipe), max length 160.",
        "",
        "| model | precision | steps | seconds | steps/s | × fp32 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    fp32 = {r["model"]: r["steps_per_s"] for r in report["runs"] if r["precision"] == "fp32"}
    for r in report["runs"]:
        ratio = r["steps_per_s"] / fp32[r["model"]] if r["model"] in fp32 else float("nan")
        lines.append(
            f"| {r['model']} | {r['precision']} | {r['steps']} | {r['seconds']:.1f} | {r['steps_per_s']:.3f} | "
            f"{ratio:.2f} |"
        )
    lines += [
        "",
        "Speed only. Dev quality in full runs (2026-12-02, `make model` in bf16 against the same recipes in "
        "fp32): mention finder span F1 0.730 both; news model end-to-end dev s/o macro-F1 within its interval "
        "(docs/news.md). So `train.precision=auto` trains in bf16 on a CPU with AVX512-BF16 or AMX, fp32 elsewhere.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.training", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default="minilm,mpnet")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    name, flags = cpu()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [run(m, p, args.steps, Path(tmp)) for m in args.models.split(",") for p in args.precisions.split(",")]
    report = {
        "command": "python -m bench.training " + " ".join(sys.argv[1:]),
        "date": date(),
        "commit": commit(),
        "cpu": name,
        "cores": os.cpu_count(),
        "flags": ", ".join(f for f in ("avx512_bf16", "amx_bf16") if f in flags) or "no bf16",
        "runs": runs,
    }
    write_results(BENCH / "training", report, markdown(report))
    print(markdown(report))
