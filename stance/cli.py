"""Command-line entry points: thin Hydra wrappers over the library functions."""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import re
import sys
from collections.abc import Callable

import hydra
from omegaconf import DictConfig, OmegaConf

from stance.errors import StanceError
from stance.paths import project_dir, resolve_path
from stance.settings import register, unknown_keys

# One config root for every command; the structured configs (stance.settings) are registered on import.
CONFIG_DIR = str(project_dir("configs"))
log = logging.getLogger("stance")
register()


def _check(cfg: DictConfig) -> None:
    """Refuse a config with a key no schema knows (a `+key=` typo) or a model folder that is not there, before
    anything is loaded: exit 2."""
    problems = unknown_keys(cfg)
    model_dir = cfg.get("model_dir") if "model_dir" in cfg and not OmegaConf.is_missing(cfg, "model_dir") else None
    folder = resolve_path(str(model_dir)) if model_dir else None
    if not problems and folder is not None and not folder.is_dir():
        problems.append(f"model folder {folder} does not exist (train one with stance-train)")
    if problems:
        print("error: " + "\n       ".join(problems), file=sys.stderr)
        sys.exit(2)


def _composes(config_name: str, argv: list[str]) -> None:
    """Exit 2 with Hydra's own message when the command line does not compose (`precison=bf16`, `data=nope`).

    Hydra alone exits 1 for these, the code a run that read only part of its input ends with; a mistake that
    stops a run before it starts is 2. Flags (`--help`, `-m`) and `hydra.*` overrides are left to Hydra.
    """
    if any(arg.startswith("-") for arg in argv):
        return
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    overrides = [arg for arg in argv if not arg.lstrip("+~").startswith("hydra.")]

    def problems(overrides: list[str]) -> list[str]:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            return unknown_keys(compose(config_name, overrides=overrides))

    try:
        message = problems(overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        message = [str(exc)]
        unknown = re.match(r"Could not override '([^']+)'", str(exc))
        if unknown:  # Hydra's hint is "use +key=…", which would be refused too: name the closest key instead
            key = unknown.group(1)
            with contextlib.suppress(HydraException, OmegaConfBaseException):
                message = problems(["+" + a if a.split("=", 1)[0] == key else a for a in overrides]) or message
    if message:
        print("error: " + "\n       ".join(message), file=sys.stderr)
        sys.exit(2)


def _command(config_name: str) -> Callable[[Callable[[DictConfig], None]], Callable[..., None]]:
    """`hydra.main` for a command, with a command line that does not compose refused first (exit 2)."""

    def wrap(job: Callable[[DictConfig], None]) -> Callable[..., None]:
        hydra_main = hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name=config_name)(job)

        @functools.wraps(job)
        def entry(*args: object) -> None:
            if not args:  # the console script: the command line is sys.argv
                _composes(config_name, sys.argv[1:])
            hydra_main(*args)

        return entry

    return wrap


def _run(job: Callable[[DictConfig], object], cfg: DictConfig) -> None:
    # Input and config mistakes are the user's to fix: a message, not a traceback.
    try:
        job(cfg)
    except StanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


@_command("build")
def build_main(cfg: DictConfig) -> None:
    """stance-build: labelled articles → DatasetDict on disk, with a table of counts."""
    _check(cfg)
    from stance.dataset.build import build_from_config
    from stance.dataset.found import training_builder

    _run(lambda c: build_from_config(c, training_builder(c)), cfg)


@_command("train")
def train_main(cfg: DictConfig) -> None:
    """stance-train: fine-tune a stance model and save it to models/<run_name>/."""
    _check(cfg)

    def job(c: DictConfig) -> None:
        # The command line chooses what is trained: a stance model, or with task=mentions the mention finder.
        if c.get("task", "stance") == "mentions":
            from stance.training.mentions import train_mentions as run
        else:
            from stance.training.train import train as run
        metrics = run(c)
        if int(os.environ.get("RANK", "0")) != 0:  # torchrun / accelerate: the first process speaks for all
            return
        print(f"model saved to {c.output_dir}")
        if metrics.get("task") == "mentions":
            if "dev" in metrics:
                d = metrics["dev"]
                print(
                    f"mention finder on {d['split']}: precision {d['precision']:.3f}, recall {d['recall']:.3f}, "
                    f"F1 {d['f1']:.3f} (exact spans; {d['overlap_recall']:.3f} of gold spans overlapped)"
                )
            return
        for split in ("dev", "validation", "test"):
            if split in metrics:
                m = metrics[split]
                print(f"{split}: macro-F1 {m['macro_f1']:.3f}, accuracy {m['accuracy']:.3f} (n={m['n']})")

    _run(job, cfg)


@_command("evaluate")
def evaluate_main(cfg: DictConfig) -> None:
    """stance-evaluate: metrics of a model on held-out labels, beside the baselines."""
    _check(cfg)
    from stance.evaluation.evaluate import evaluate
    from stance.evaluation.output import confusion_text

    def job(c: DictConfig) -> None:
        results = evaluate(c)
        if "systems" in results:
            print(f"{results['data']}: {results['systems']['model']['n']} labelled examples (classifier only)")
            print(
                f"{'system':<10}{'accuracy':>10}{'macro-F1':>10}{'95% CI':>15}{'F1 s/o':>8}{'polarity':>10}{'ECE':>7}"
            )
            for name, r in results["systems"].items():
                low, high = r.get("macro_f1_ci95", [float("nan")] * 2)
                # One story or article cannot be resampled: no interval rather than a false one.
                interval = "n/a" if math.isnan(low) or math.isnan(high) else f"{low:.3f}–{high:.3f}"
                print(
                    f"{name:<10}{r['accuracy']:>10.3f}{r['macro_f1']:>10.3f}{interval:>15}"
                    f"{r['macro_f1_support_oppose']:>8.3f}{r['polarity_annotated']['micro_f1']:>10.3f}"
                    f"{r.get('ece', float('nan')):>7.3f}"
                )
            print(confusion_text(results["systems"]["model"]))
            for name, extra in results.get("corpus_metrics", {}).items():
                print(f"{name}: micro-F1 {extra['micro_f1']:.3f}, macro-F1 {extra['macro_f1']:.3f}")
        if "prediction_path" in results:
            path = results["prediction_path"]
            support, oppose = path["per_class"]["support"], path["per_class"]["oppose"]
            print(
                f"prediction path (actors={path['actors']}): {path['found_pairs']} pairs found, recall of gold "
                f"polar pairs {path['finder_recall_polar']:.3f} ({path['gold_polar_found']}/{path['gold_polar_pairs']}), "
                f"between named entities {path['finder_recall_polar_named']:.3f}; "
                f"{path['pairs_per_article']:.1f} pairs/article, {path['pairs_per_second']:.1f} pairs/s; "
                f"support P/R/F1 {support['precision']:.3f}/{support['recall']:.3f}/{support['f1']:.3f}, "
                f"oppose P/R/F1 {oppose['precision']:.3f}/{oppose['recall']:.3f}/{oppose['f1']:.3f}"
            )
            edges = path["edges"]
            print(
                "article edges: "
                + "; ".join(
                    f"{rule} P/R/F1 {edges[rule]['precision']:.3f}/{edges[rule]['recall']:.3f}/{edges[rule]['f1']:.3f}"
                    for rule in ("any sentence", "net stance")
                )
                + f" ({edges['gold_edges']} gold edges)"
            )
        print(f"report and metrics written to {results['output_dir']}")

    _run(job, cfg)


@_command("calibrate")
def calibrate_main(cfg: DictConfig) -> None:
    """stance-calibrate: fit a model's neutral/polar decision on a development split and save it with the model."""
    _check(cfg)
    from stance.evaluation.calibrate import calibrate

    def job(c: DictConfig) -> None:
        r = calibrate(c)
        rule = (
            "argmax" if r["neutral_threshold"] is None else f"neutral when P(neutral) >= {r['neutral_threshold']:.2f}"
        )
        print(
            f"{r['fitted_on']} ({r['n']} examples): {rule}; support/oppose macro-F1 "
            f"{r['macro_f1_support_oppose_argmax']:.3f} with argmax, {r['macro_f1_support_oppose_fitted']:.3f} fitted "
            f"(3-way {r['macro_f1_argmax']:.3f} → {r['macro_f1_fitted']:.3f}); saved to {c.model_dir}/decision.json"
        )

    _run(job, cfg)


@_command("predict")
def predict_main(cfg: DictConfig) -> None:
    """stance-predict: stance of every co-mentioned actor pair in new articles."""
    _check(cfg)
    from stance.predict.batch import predict_files

    def job(c: DictConfig) -> None:
        if str(c.get("engine", "local")) == "ray":
            from stance.predict.ray import predict_shards, summary_text

            result = predict_shards(c)
            print(summary_text(result))
        else:
            result = predict_files(c)
            print(
                f"{result['articles']} articles ({result['articles_without_pairs']} without actor pairs), "
                f"{result['pairs']} pairs scored"
            )
            print(f"predictions: {result['output']}\nsummary:     {result['summary']}")
        if result["failed_inputs"]:
            print(f"{result['failed_inputs']} inputs could not be read; see {result['errors']}", file=sys.stderr)
            sys.exit(1)

    _run(job, cfg)


@_command("report")
def report_main(cfg: DictConfig) -> None:
    """stance-report: the stance network over time and by outlet, with its evidence, from prediction files."""
    _check(cfg)
    from stance.report.build import build_report

    def job(c: DictConfig) -> None:
        r = build_report(c)
        print(
            f"{r['rows']:,} rows from {r['files']} file(s): {r['articles']:,} articles, {r['edges_entity']:,} edges "
            f"({r['edges_affiliation']:,} between affiliations), {r['evidence_lines']:,} evidence sentences"
        )
        print(f"report: {r['output']}/index.html")

    _run(job, cfg)
