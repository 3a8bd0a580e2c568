"""Scale-out benchmark: pairs/s of `engine=local` against `engine=ray` with 1 and 2 scoring actors.

    .venv/bin/python -m bench.scale --model models/minilm-seed --articles news.jsonl           # 200 articles
    .venv/bin/python -m bench.scale --model <tiny model> --articles a.jsonl --n 5 --shards 2  # a smoke run

Every system scores the same first `n` articles of a JSONL file, cut into `--shards` JSONL shards, at fp32:
`engine=local` with 2 torch threads, then `engine=ray` with 1 and with 2 scoring actors of 1 thread each, on one
local Ray started once. `ray.init` is timed apart (a cluster pays it once); each Ray run's time includes starting
its actors and loading the model in each (what one `stance-predict engine=ray` run pays). Each run writes into a
fresh folder, so nothing is skipped as done. Prints the result as JSON (`--out` also writes it to a file) and
writes bench/scale/results.json and its README.md (`--results` another folder).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, commit, cpu, offline, timestamp, write_results

offline()
os.environ.setdefault("STANCE_PROGRESS", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def _config(**values: Any) -> Any:
    from hydra import compose, initialize_config_dir

    from stance.cli import CONFIG_DIR

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("predict", overrides=[f"{k}={v}" for k, v in values.items()])


def _write_shards(articles_jsonl: Path, n_articles: int, shards: int, folder: Path) -> int:
    """The first `n_articles` non-empty lines of `articles_jsonl`, dealt into `shards` JSONL files; how many."""
    lines = []
    with articles_jsonl.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                lines.append(line.rstrip("\n"))
            if len(lines) == n_articles:
                break
    folder.mkdir(parents=True)
    size = -(-len(lines) // shards)
    for k in range(0, len(lines), size):
        (folder / f"part-{k // size:03d}.jsonl").write_text("\n".join(lines[k : k + size]) + "\n", encoding="utf-8")
    return len(lines)


def bench_ray(
    model_dir: str | Path, articles_jsonl: str | Path, n_articles: int = 200, shards: int = 4, work: Path | None = None
) -> dict[str, Any]:
    """Pairs/s of engine=local (2 threads) and engine=ray (1 and 2 actors × 1 thread) on the same articles."""
    import ray

    from stance.predict.batch import predict_files
    from stance.predict.ray import predict_shards

    with tempfile.TemporaryDirectory(dir=work) as tmp:
        folder = Path(tmp)
        n = _write_shards(Path(articles_jsonl), n_articles, shards, folder / "input")
        _write_shards(Path(articles_jsonl), OVERHEAD_ARTICLES, shards, folder / "small")
        common = {"model_dir": Path(model_dir).resolve(), "input": folder / "input", "precision": "fp32"}
        common |= {"device": "cpu", "hydra.run.dir": folder / "h"}

        began = time.perf_counter()
        local = predict_files(_config(**common, output=folder / "local" / "rows.jsonl", threads=2))
        runs: dict[str, Any] = {"local-2-threads": _speed(local["pairs"], time.perf_counter() - began)}

        # Logical CPUs for 2 one-CPU actors besides the light parse and pair stages, even on a 2-core machine.
        ray_cpus = max(os.cpu_count() or 1, 3)
        began = time.perf_counter()
        ray.init(num_cpus=ray_cpus, include_dashboard=False, log_to_driver=False)
        ray_init_s = time.perf_counter() - began
        try:
            for actors in (1, 2):
                options = {"engine": "ray", "ray.concurrency": actors, "ray.num_cpus": 1, "threads": 1}
                # A run on `OVERHEAD_ARTICLES` articles measures what every run pays besides scoring: starting
                # the actors, loading the model in each, and Ray Data's planning and hand-offs.
                began = time.perf_counter()
                small = predict_shards(
                    _config(**{**common, "input": folder / "small"}, **options, output=folder / f"s{actors}")
                )
                small_s = time.perf_counter() - began
                began = time.perf_counter()
                result = predict_shards(_config(**common, **options, output=folder / f"ray-{actors}"))
                run = _speed(result["pairs"], time.perf_counter() - began)
                # The small run's scoring, at the big run's rate, is taken out of its time: what is left is fixed.
                fixed = max(0.0, small_s - small["pairs"] / max(run["pairs_per_s"], 1e-9))
                run["fixed_s"] = round(fixed, 2)
                run["steady_pairs_per_s"] = round(run["pairs"] / max(run["seconds"] - fixed, 1e-9), 1)
                runs[f"ray-{actors}-actors"] = run
        finally:
            ray.shutdown()
    pairs = {run["pairs"] for run in runs.values()}
    if len(pairs) != 1:
        raise RuntimeError(f"the systems scored different numbers of pairs: {runs}")
    return {
        "articles": n,
        "shards": shards,
        "pairs": pairs.pop(),
        "ray_init_s": round(ray_init_s, 2),
        "ray_cpus": ray_cpus,
        "runs": runs,
        "cpu": cpu()[0],
        "cores": os.cpu_count(),
        "commit": commit(),
    }


OVERHEAD_ARTICLES = 4


def bench_training(model: str = "minilm", steps: tuple[int, int] = (4, 16), global_batch: int = 16) -> dict[str, Any]:
    """Seconds per optimiser step of `stance-train` on the seed data: 1 process (2 threads) against 2 processes
    (torchrun, gloo, 1 thread each) at the same global batch; each from two runs of `steps` steps (the difference
    leaves out start-up and the evaluation at the end)."""
    import subprocess
    import sys
    from socket import socket

    bin_dir = Path(sys.executable).parent
    results: dict[str, Any] = {"model": model, "global_batch": global_batch, "steps": list(steps)}
    for procs in (1, 2):
        runtimes = []
        for n_steps in steps:
            with socket() as sock:  # a free port, let go before torchrun binds it
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            with tempfile.TemporaryDirectory() as tmp:
                args = [
                    f"model={model}",
                    f"train.batch_size={global_batch // procs}",
                    f"train.max_steps={n_steps}",
                    "train.precision=fp32",
                    f"output_dir={tmp}/model",
                    f"work_dir={tmp}/checkpoints",
                    f"hydra.run.dir={tmp}/hydra",
                ]
                launcher = (
                    [str(bin_dir / "stance-train")]
                    if procs == 1
                    else [
                        sys.executable,
                        "-m",
                        "torch.distributed.run",
                        "--nproc_per_node=2",
                        "--master_addr=127.0.0.1",
                        f"--master_port={port}",
                        "--no-python",
                        str(bin_dir / "stance-train"),
                    ]
                )
                threads = "2" if procs == 1 else "1"
                env = {**os.environ, "OMP_NUM_THREADS": threads, "STANCE_PROGRESS": "0"}
                subprocess.run([*launcher, *args], check=True, capture_output=True, cwd=ROOT, env=env)
                metrics = json.loads((Path(tmp) / "model" / "metrics.json").read_text(encoding="utf-8"))
                runtimes.append(float(metrics["train_runtime_s"]))
        per_step = (runtimes[1] - runtimes[0]) / (steps[1] - steps[0])
        results[f"{procs}-process"] = {"runtimes_s": runtimes, "s_per_step": round(per_step, 3)}
    results["speedup_2_over_1"] = round(results["1-process"]["s_per_step"] / results["2-process"]["s_per_step"], 2)
    return results


def render(result: dict[str, Any]) -> str:
    """README.md from the result."""
    inf, train = result["inference"], result.get("training")
    local = inf["runs"]["local-2-threads"]
    lines = [
        "# Scale-out benchmark",
        "",
        f"`python -m bench.scale` — {result['date']}, commit `{inf['commit']}`; {inf['cpu']}, "
        f"{inf['cores']} cores, idle; model `{result['model']}` (weights sha256 `{result['model_sha256'][:16]}…`), fp32.",
        "",
        f"## Inference: {inf['articles']} SEESAW articles ({inf['pairs']:,} pairs) in {inf['shards']} JSONL shards",
        "",
        "| system | seconds | pairs/s | × local | fixed cost per run | pairs/s without it | × local |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, run in inf["runs"].items():
        ratio = run["pairs_per_s"] / local["pairs_per_s"]
        steady = run.get("steady_pairs_per_s", run["pairs_per_s"])
        fixed = f"{run['fixed_s']:.1f} s" if "fixed_s" in run else "—"
        lines.append(
            f"| {name} | {run['seconds']:.1f} | {run['pairs_per_s']:.1f} | {ratio:.2f} | {fixed} | {steady:.1f} | "
            f"{steady / local['pairs_per_s']:.2f} |"
        )
    lines += [
        "",
        f"`ray.init` of a local Ray ({inf['ray_cpus']} logical CPUs): {inf['ray_init_s']:.1f} s, paid once per "
        "cluster, not per run. The fixed cost per run (actors started, the model loaded in each, Ray Data's "
        f"planning) is measured by a run on {OVERHEAD_ARTICLES} articles, less their scoring at the big run's rate.",
    ]
    if train:
        lines += [
            "",
            f"## Training: seconds per optimiser step, `model={train['model']}`, global batch {train['global_batch']}",
            "",
            "| processes | threads each | per-device batch | s/step | runtimes at "
            f"{train['steps'][0]} and {train['steps'][1]} steps |",
            "|---|---:|---:|---:|---|",
            f"| 1 | 2 | {train['global_batch']} | {train['1-process']['s_per_step']:.3f} | "
            f"{', '.join(f'{r:.1f} s' for r in train['1-process']['runtimes_s'])} |",
            f"| 2 (torchrun, gloo) | 1 | {train['global_batch'] // 2} | {train['2-process']['s_per_step']:.3f} | "
            f"{', '.join(f'{r:.1f} s' for r in train['2-process']['runtimes_s'])} |",
            "",
            f"2 processes against 1 on the same 2 cores: {train['speedup_2_over_1']:.2f}×. DDP buys nothing on one "
            "2-core machine: it is for several GPUs or machines, where each process brings its own device.",
        ]
    lines += ["", "## Capacity model", "", *result["capacity"], ""]
    return "\n".join(lines)


def capacity(inference: dict[str, Any]) -> list[str]:
    """Articles a day per node and the cost of a 100-million-article backfill, from the measured rates."""
    local = inference["runs"]["local-2-threads"]
    per_article = inference["pairs"] / inference["articles"]
    cpu_articles_s = local["pairs_per_s"] / per_article  # one 2-core node, fp32
    rows = [
        f"- Measured: {per_article:.1f} scored pairs per SEESAW article (Phoenix gazetteer), "
        f"{local['pairs_per_s']:.1f} pairs/s on 2 cores at fp32, so {cpu_articles_s:.2f} articles/s or "
        f"{cpu_articles_s * 86400:,.0f} articles a day per 2-core node. bf16 on an AVX512-BF16 or AMX CPU scores "
        "1.7× faster (`bench/inference/README.md`), and scoring scales with cores (one scoring actor per core).",
        "- A GPU node: not measured here (no GPU was lent). Assumed 3,000 pairs/s for MiniLM-L6 at bf16 on one "
        f"modern GPU, so {3000 / per_article:.0f} articles/s or {3000 / per_article * 86400:,.0f} a day, provided "
        "pair finding keeps up (it runs on CPU actors; give the node ≥ 8 cores).",
    ]
    for label, rate_per_node in (
        ("2-core CPU nodes", cpu_articles_s),
        ("16-core CPU nodes", cpu_articles_s * 8),
        ("1-GPU nodes (assumed rate)", 3000 / per_article),
    ):
        days = {n: 1e8 / (rate_per_node * n) / 86400 for n in (10, 100)}
        rows.append(
            f"- 100 million articles on {label}: {days[10]:,.1f} days on 10 nodes, {days[100]:,.1f} days on 100 "
            f"({1e8 / rate_per_node / 3600:,.0f} node-hours)."
        )
    rows.append(
        "- Rates assume the engine's fixed cost per run is small beside the run (hours, not minutes) "
        "and that the input is read from shared storage at this speed."
    )
    return rows


def _speed(pairs: int, seconds: float) -> dict[str, Any]:
    return {"pairs": pairs, "seconds": round(seconds, 2), "pairs_per_s": round(pairs / seconds, 1) if seconds else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a model folder written by stance-train")
    parser.add_argument("--articles", required=True, help='a JSONL file of {"id", "text", ...} articles')
    parser.add_argument("--n", type=int, default=200, help="articles to score (default 200)")
    parser.add_argument("--shards", type=int, default=4, help="JSONL shards to cut them into (default 4)")
    parser.add_argument("--out", help="also write the result (JSON) here")
    parser.add_argument("--no-training", action="store_true", help="leave out the training step timing")
    parser.add_argument("--results", default="bench/scale", help="folder for results.json and README.md")
    args = parser.parse_args()
    weights = Path(args.model) / "model.safetensors"
    result: dict[str, Any] = {
        "date": timestamp(),
        "model": Path(args.model).name,
        "model_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "inference": bench_ray(args.model, args.articles, args.n, args.shards),
    }
    # The inference figures are kept even if the training part fails.
    folder = Path(args.results)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if not args.no_training:
        result["training"] = bench_training()
    result["capacity"] = capacity(result["inference"])
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    write_results(folder, result, render(result))
