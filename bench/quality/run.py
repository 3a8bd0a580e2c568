"""Quality benchmark: the recipe trained with 3 seeds on SEESAW train, chosen on dev, scored once on SEESAW valid.

    .venv/bin/python -m bench.quality                          # the full run (2 CPU cores: about an hour)
    .venv/bin/python -m bench.quality --seeds 1 model=tiny train.max_steps=5
                                                               # a smoke run (written under outputs/bench/quality/)

The protocol, split by split:

* SEESAW train minus dev trains; `dev` (about 15% of the train stories, fixed by
  a hash of the story id) picks each run's checkpoint and the reported seed;
* SEESAW `valid` is scored once per seed, at the end, never used to choose;
* the seed test article is scored end to end with the reported model;
* the reported model's prediction path is measured with each way of finding
  actors (listed, Phoenix dictionaries, mention finder, both), on valid and the
  seed article (`--actors-only` redoes just this section, keeping the seed runs).

For each seed (`--seeds`, default 42,43,44) it trains `experiment=recipe
seed=<s> run_name=recipe-seesaw-s<s>`, unless `models/recipe-seesaw-s<s>/`
already holds a model trained with the same data, model, train and seed config
(then it is reused, and said so). Every model is scored on valid with both
paths (`stance-evaluate pairs=both`): the labelled pairs (classifier only,
beside the majority and TF-IDF + LR baselines fit on train) and the prediction
path on the articles' text. Intervals resample whole stories. The figures are
the mean ± sd over seeds; the reported model is the seed with the best dev
macro-F1, named by its weights' sha256. Extra arguments are Hydra overrides of
the training config. Writes `bench/quality/results.json` and its README.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

from bench.common import BENCH, ROOT, commit, date, evaluation, hardware, offline, write_results
from bench.quality.markdown import actor_markdown, markdown

offline()

# The config that decides the weights: a model trained with these equal is the same experiment.
TRAINING_KEYS = ("seed", "model", "train", "gazetteer", "finder", "references")
DATA_KEYS = (
    "name",
    "context_sentences",
    "neutral_pairs",
    "max_neutral_fraction",
    "balance_spans",
    "dev_fraction",
    "pairs",
)
IGNORED_TRAIN_KEYS = ("device", "num_workers", "logging_steps", "resume", "eval_batch_size")


def experiment(cfg: Any) -> dict[str, Any]:
    """The part of a training config that decides the weights."""
    from omegaconf import OmegaConf

    plain = OmegaConf.to_container(cfg, resolve=True)
    found = {key: plain.get(key) for key in TRAINING_KEYS}
    found["train"] = {k: v for k, v in found["train"].items() if k not in IGNORED_TRAIN_KEYS}
    found["data"] = {k: plain["data"].get(k) for k in DATA_KEYS}
    return found


def trained_model(cfg: Any) -> tuple[dict[str, Any], bool]:
    """Train `cfg` unless its model folder already holds the same experiment; its metrics and whether reused."""
    from omegaconf import OmegaConf

    from stance.paths import resolve_path
    from stance.training.train import train

    folder = resolve_path(cfg.output_dir)
    saved = folder / "training_config.yaml"
    if saved.exists() and experiment(OmegaConf.load(saved)) == experiment(cfg):
        print(f"reusing {folder}: trained with the same data, model, train and seed config", file=sys.stderr)
        return json.loads((folder / "metrics.json").read_text(encoding="utf-8")), True
    return train(cfg), False


def run_seed(seed: int, overrides: list[str], smoke: bool) -> dict[str, Any]:
    """Train (or reuse) one seed, then score it once on SEESAW valid."""
    from hydra import compose, initialize_config_dir

    from stance.cli import CONFIG_DIR

    run_name = f"recipe-{'smoke-' if smoke else ''}seesaw-s{seed}"
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=["experiment=recipe", f"seed={seed}", f"run_name={run_name}", *overrides])
    metrics, reused = trained_model(cfg)
    # A reused folder's metrics.json has the Trainer's own runtime (the folder is written before the wall clock stops).
    train_wall = metrics.get("wall_time_s", metrics.get("train_runtime_s", 0.0))
    data = [f"data={cfg.data.name}", f"data.root={cfg.data.root}"]
    # Classifier only beside the prediction path as it was before the mention finder and Phoenix (listed actors only), for every seed.
    held_out = evaluation(
        str(cfg.output_dir),
        data,
        "validation",
        f"outputs/bench/quality/{run_name}/validation",
        ("pairs=both", "actors=gazetteer", "gazetteer=data/actors.yaml"),
    )
    return {
        "seed": seed,
        "run_name": run_name,
        "folder": str(cfg.output_dir),
        "reused": reused,
        "train_wall_s": round(float(train_wall), 1),
        "device": metrics["device"],
        "examples": metrics["examples"],
        "dev": {
            "macro_f1": metrics["dev"]["macro_f1"],
            "epoch_scores": metrics.get("epoch_scores", []),
        },
        "validation": held_out,
        "config": experiment(cfg),
    }


# Who the prediction path pairs: each row is `stance-evaluate pairs=found` with these overrides.
ACTOR_ROWS = (
    (
        "listed actors (data/actors.yaml), before the mention finder and Phoenix",
        ("actors=gazetteer", "gazetteer=data/actors.yaml"),
    ),
    ("listed + Phoenix/CAMEO dictionaries", ("actors=gazetteer", "gazetteer=phoenix")),
    ("mention finder only", ("actors=found", "gazetteer=data/actors.yaml")),
    ("Phoenix + mention finder (stance-predict's default)", ("actors=both", "gazetteer=phoenix")),
)


def actor_sources(folder: str) -> dict[str, Any]:
    """The prediction path on SEESAW valid and on the seed test article for each way of finding actors."""
    rows = []
    for name, overrides in ACTOR_ROWS:
        tag = overrides[0].split("=")[1] + "-" + overrides[1].split("=")[1].replace("/", "_")
        out = f"outputs/bench/quality/actors/{tag}"
        valid = evaluation(folder, ["data=seesaw"], "validation", out, ("pairs=found", *overrides))
        seed = evaluation(folder, ["data=seed"], "test", out + "-seed", ("pairs=found", *overrides))
        rows.append(
            {
                "name": name,
                "overrides": list(overrides),
                "validation": valid["prediction_path"],
                "seed": seed["prediction_path"],
            }
        )
    return {"date": date(), "commit": commit(), "model": folder, "rows": rows}


def spread(values: list[float]) -> dict[str, float]:
    """Mean and sample standard deviation (0 for one value)."""
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean ± sd over seeds of each figure, and the baselines (the same for every seed)."""

    def model(run: dict[str, Any]) -> dict[str, Any]:
        return run["validation"]["systems"]["model"]

    def path(run: dict[str, Any]) -> dict[str, Any]:
        return run["validation"]["prediction_path"]

    figures = {
        "dev_macro_f1": [r["dev"]["macro_f1"] for r in runs],
        "macro_f1": [model(r)["macro_f1"] for r in runs],
        "polarity": [model(r)["polarity_annotated"]["micro_f1"] for r in runs],
        "path_support_f1": [path(r)["per_class"]["support"]["f1"] for r in runs],
        "path_oppose_f1": [path(r)["per_class"]["oppose"]["f1"] for r in runs],
        "path_macro_f1_support_oppose": [path(r)["macro_f1_support_oppose"] for r in runs],
        "finder_recall_polar": [path(r)["finder_recall_polar"] for r in runs],
    }
    systems = runs[0]["validation"]["systems"]
    return {
        "over_seeds": {name: {"values": v, **spread(v)} for name, v in figures.items()},
        "baselines": {name: systems[name] for name in ("majority", "tfidf_lr")},
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.quality", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="42,43,44", help="comma-separated training seeds")
    parser.add_argument(
        "--actors-only",
        action="store_true",
        help="keep bench/quality/results.json's seed runs and measure only the actor-finding section again",
    )
    args, overrides = parser.parse_known_args(argv)
    if args.actors_only:
        report = json.loads((BENCH / "quality" / "results.json").read_text(encoding="utf-8"))
        report["actors"] = actor_sources(report["reported_model"]["folder"])
        write_results(BENCH / "quality", report, markdown(report))
        print("\n".join(actor_markdown(report["actors"])))
        return
    from stance.model import weights_sha256

    started = time.time()
    smoke = any(a.startswith(("train.max_steps", "data.root")) for a in overrides)
    runs = [run_seed(int(seed), overrides, smoke) for seed in args.seeds.split(",")]
    chosen = max(runs, key=lambda r: r["dev"]["macro_f1"])
    seed_article = None
    if not smoke:
        seed_article = evaluation(
            chosen["folder"], ["data=seed"], "test", f"outputs/bench/quality/{chosen['run_name']}/seed"
        )
    report = {
        "date": date(),
        "commit": commit(),
        "hardware": hardware(),
        "command": " ".join(["python -m bench.quality", *argv]),
        "runs": runs,
        "summary": summarize(runs),
        "reported_model": {
            "seed": chosen["seed"],
            "folder": chosen["folder"],
            "weights_sha256": weights_sha256(ROOT / chosen["folder"]),
            "chosen_by": "best dev macro-F1 over seeds",
        },
        "seed_article": seed_article,
        "actors": None if smoke else actor_sources(chosen["folder"]),
        "wall_s": round(time.time() - started, 1),
    }
    out = ROOT / "outputs" / "bench" / "quality" if smoke else BENCH / "quality"
    write_results(out, report, markdown(report))
    print(markdown(report))
    print(f"written to {out / 'README.md'}")
