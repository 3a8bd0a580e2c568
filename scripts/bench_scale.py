"""Scale-out benchmark (#16): pairs/s of `engine=local` against `engine=ray` with 1 and 2 scoring actors.

    .venv/bin/python scripts/bench_scale.py --model models/minilm-seed --articles news.jsonl           # 200 articles
    .venv/bin/python scripts/bench_scale.py --model <tiny model> --articles a.jsonl --n 5 --shards 2  # a smoke run

Every system scores the same first `n` articles of a JSONL file, cut into `--shards` JSONL shards, at fp32:
`engine=local` with 2 torch threads, then `engine=ray` with 1 and with 2 scoring actors of 1 thread each, on one
local Ray started once. `ray.init` is timed apart (a cluster pays it once); each Ray run's time includes starting
its actors and loading the model in each (what one `stance-predict engine=ray` run pays). Each run writes into a
fresh folder, so nothing is skipped as done. Prints the result as JSON (`--out` also writes it to a file).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchkit import commit, cpu, setup

setup()
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

    from stance.batch import predict_files
    from stance.engine_ray import predict_shards

    with tempfile.TemporaryDirectory(dir=work) as tmp:
        folder = Path(tmp)
        n = _write_shards(Path(articles_jsonl), n_articles, shards, folder / "input")
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
                began = time.perf_counter()
                result = predict_shards(_config(**common, **options, output=folder / f"ray-{actors}"))
                runs[f"ray-{actors}-actors"] = _speed(result["pairs"], time.perf_counter() - began)
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


def _speed(pairs: int, seconds: float) -> dict[str, Any]:
    return {"pairs": pairs, "seconds": round(seconds, 2), "pairs_per_s": round(pairs / seconds, 1) if seconds else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a model folder written by stance-train")
    parser.add_argument("--articles", required=True, help='a JSONL file of {"id", "text", ...} articles')
    parser.add_argument("--n", type=int, default=200, help="articles to score (default 200)")
    parser.add_argument("--shards", type=int, default=4, help="JSONL shards to cut them into (default 4)")
    parser.add_argument("--out", help="also write the result (JSON) here")
    args = parser.parse_args()
    result = bench_ray(args.model, args.articles, args.n, args.shards)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
