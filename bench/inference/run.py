"""Inference benchmark: stance's scoring paths against `transformers.pipeline`, same model, same inputs, one run.

    .venv/bin/python -m bench.inference                 # the model bench/quality/results.json reports, SEESAW valid
    .venv/bin/python -m bench.inference --seed          # models/minilm-seed on the seed articles
    .venv/bin/python -m bench.inference --pairs 200 --articles 5 --no-write   # a smoke run
    .venv/bin/python -m bench.inference --render-only   # bench/inference/README.md from its results.json

Systems, each in a fresh process (so peak memory is its own): `pipeline` and `pipeline-bf16`
(`transformers.pipeline("text-classification")` fed the text pairs `stance.encoding.format_inputs` makes), and
`StanceClassifier` at `fp32`, `bf16`, `int8` and `auto`. Per system: pairs/s on labelled pairs, articles/s end to
end from raw text, peak RSS and macro-F1. Results go to bench/inference/results.json; `render` makes its README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import BENCH, ROOT, commit, cpu, date, offline, peak_rss_bytes, repo_relative, write_results
from bench.inference.markdown import SYSTEMS, render

if TYPE_CHECKING:
    from stance.schema import Article

offline()
os.environ.setdefault("STANCE_PROGRESS", "0")

WARMUP_PAIRS = 8  # fewer than `auto` needs to decide, so its check is inside the timed run
PIPELINE_BATCH = 32
PAIRS_SEED, ARTICLES_SEED = 0, 1  # which labelled pairs and which raw articles are drawn
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "avx512_fp16")
FOLDER = BENCH / "inference"
JSON_PATH = FOLDER / "results.json"
MD_PATH = FOLDER / "README.md"


# -- the inputs ---------------------------------------------------------------


def load_inputs(args: argparse.Namespace) -> dict[str, Any]:
    """Labelled pairs (builder rows, formatted text pairs, labels) and raw articles, for every system alike."""

    from stance.actors.gazetteer import load_gazetteer
    from stance.dataset.build import article_examples, build_options
    from stance.encoding import format_inputs
    from stance.model import load_stance_model
    from stance.settings import load_data_config

    _, tokenizer, encoding, _ = load_stance_model(args.model, "cpu")
    if args.seed:
        from stance.readers.articles import load_articles

        data_cfg = load_data_config("seed")
        gazetteer = load_gazetteer(data_cfg.gazetteer)
        articles = load_articles([ROOT / "data" / "articles"], gazetteer)
        data_name = "seed articles (both)"
    else:
        from stance.readers.seesaw import load_seesaw

        data_cfg = load_data_config("seesaw")
        data_cfg.splits = ["valid"]
        gazetteer = load_gazetteer(data_cfg.gazetteer)
        articles = load_seesaw(data_cfg)
        data_name = "SEESAW valid stories"
    options = replace(build_options(data_cfg, 42), context_sentences=encoding.context_sentences)
    rows = [row for article in articles for row in article_examples(article, gazetteer, options)]
    total_pairs = len(rows)
    if args.pairs and len(rows) > args.pairs:
        rows = random.Random(PAIRS_SEED).sample(rows, args.pairs)
    columns = {k: [r[k] for r in rows] for k in rows[0]}
    heads, bodies = format_inputs(columns, tokenizer, encoding)
    chosen = (
        random.Random(ARTICLES_SEED).sample(articles, min(args.articles, len(articles))) if args.articles else articles
    )
    raw = [
        {"id": a.id, "text": " ".join(a.sentences), "actors": a.actors, "aliases": a.aliases, "title": a.title}
        for a in chosen
    ]
    return {
        "data": data_name,
        "articles_total": len(articles),
        "labelled_pairs_total": total_pairs,
        "rows": [{k: v for k, v in r.items() if k != "label"} for r in rows],
        "labels": [int(r["label"]) for r in rows],
        "heads": heads,
        "bodies": bodies,
        "raw_articles": raw,
        "gazetteer": str(data_cfg.gazetteer),
        "max_length": encoding.max_length,
        "context_sentences": encoding.context_sentences,
    }


# -- one system, in its own process ---------------------------------------------


def _articles_from_raw(raw: list[dict[str, Any]]) -> Iterator[Article]:
    """Articles from raw text: the project's sentence splitter, each source's closed actor list kept."""
    from stance.schema import Article
    from stance.sentences import split_sentences

    for r in raw:
        yield Article(
            id=r["id"], sentences=split_sentences(r["text"]), actors=r["actors"], aliases=r["aliases"], title=r["title"]
        )


def run_system(system: str, model: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Time one system on the labelled pairs and end to end; its probabilities; its peak memory."""
    import torch

    from stance.schema import STANCES

    rows, raw = inputs["rows"], inputs["raw_articles"]
    result: dict[str, Any] = {"system": system, "threads": torch.get_num_threads(), "load_before": machine_load()}
    started = time.perf_counter()
    if system.startswith("pipeline"):
        from transformers import pipeline

        from stance.actors.gazetteer import load_gazetteer
        from stance.actors.pairs import article_pairs
        from stance.encoding import EncodingConfig, format_inputs

        dtype = torch.bfloat16 if system == "pipeline-bf16" else torch.float32
        pipe = pipeline("text-classification", model=model, device="cpu", batch_size=PIPELINE_BATCH, dtype=dtype)
        result["precision"] = "bf16" if dtype == torch.bfloat16 else "fp32"
        gazetteer = load_gazetteer(inputs["gazetteer"])
        encoding = EncodingConfig(max_length=inputs["max_length"], context_sentences=inputs["context_sentences"])
        order = [pipe.model.config.id2label[i] for i in range(len(STANCES))]
        assert order == list(STANCES), order
        kwargs = {"top_k": None, "truncation": "only_second", "max_length": inputs["max_length"]}

        def score_text(heads: list[str], bodies: list[str]) -> torch.Tensor:
            outputs = pipe([{"text": h, "text_pair": b} for h, b in zip(heads, bodies, strict=True)], **kwargs)
            return torch.tensor([[float({o["label"]: o["score"] for o in out}[s]) for s in STANCES] for out in outputs])

        def score_articles() -> int:
            pairs = [
                row
                for article in _articles_from_raw(raw)
                for row in article_pairs(article, gazetteer, inputs["context_sentences"])
            ]
            if not pairs:
                return 0
            columns = {k: [r[k] for r in pairs] for k in pairs[0]}
            score_text(*format_inputs(columns, pipe.tokenizer, encoding))
            return len(pairs)

        result["load_s"] = time.perf_counter() - started
        score_text(inputs["heads"][:WARMUP_PAIRS], inputs["bodies"][:WARMUP_PAIRS])
        started = time.perf_counter()
        probs = score_text(inputs["heads"], inputs["bodies"])
        result["pairs_s"] = time.perf_counter() - started
        started = time.perf_counter()
        result["e2e_pairs"] = score_articles()
        result["e2e_s"] = time.perf_counter() - started
    else:
        from stance.predict.classifier import StanceClassifier

        def load() -> StanceClassifier:
            return StanceClassifier.from_pretrained(
                model, device="cpu", gazetteer=inputs["gazetteer"], precision=system
            )

        clf = load()
        result["load_s"] = time.perf_counter() - started
        clf.predict_proba(rows[:WARMUP_PAIRS])
        started = time.perf_counter()
        probs = clf.predict_proba(rows)
        result["pairs_s"] = time.perf_counter() - started
        result["precision"] = clf.precision
        result["auto_check"] = clf.scorer.check
        if system == "auto":  # a fresh classifier: end to end includes auto's own check
            del clf
            clf = load()
            clf.predict_proba(rows[:WARMUP_PAIRS])
        started = time.perf_counter()
        result["e2e_pairs"] = sum(1 for _ in clf.predict(_articles_from_raw(raw)))
        result["e2e_s"] = time.perf_counter() - started
        result["e2e_precision"] = clf.precision
    result["peak_rss_mb"] = peak_rss_bytes() / 1024**2
    result["load_after"] = machine_load()
    result["probs"] = probs.tolist()
    return result


# How stance-predict finds actors (#12), each timed end to end in a fresh process at precision=auto.
ACTOR_VARIANTS = {
    "lists": (
        "each source's closed actor list (the e2e rows above; as first measured)",
        "gazetteer",
        "data/actors.yaml",
    ),
    "listed": (
        "data/actors.yaml only, open text (stance-predict before the mention finder and Phoenix)",
        "gazetteer",
        "data/actors.yaml",
    ),
    "phoenix": ("data/actors.yaml + Phoenix dictionaries", "gazetteer", "phoenix"),
    "both": ("Phoenix + mention finder (stance-predict's default)", "both", "phoenix"),
}


def run_actor_variant(variant: str, model: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """`predict` over the raw articles as stance-predict runs it, with one way of finding actors."""
    from stance.predict.classifier import StanceClassifier
    from stance.schema import Article
    from stance.sentences import split_sentences

    _, actors, gazetteer = ACTOR_VARIANTS[variant]
    started = time.perf_counter()
    clf = StanceClassifier.from_pretrained(model, device="cpu", gazetteer=gazetteer, precision="auto", actors=actors)
    load_s = time.perf_counter() - started
    raw = inputs["raw_articles"]
    closed = variant == "lists"
    started = time.perf_counter()
    articles = [
        Article(
            id=r["id"],
            sentences=split_sentences(r["text"]),
            actors=r["actors"] if closed else [],
            aliases=r["aliases"] if closed else {},
            title=r["title"],
        )
        for r in raw
    ]
    predictions = list(clf.predict(articles))
    seconds = time.perf_counter() - started
    finder = clf.mention_finder.seconds if clf.mention_finder is not None else 0.0
    return {
        "variant": variant,
        "label": ACTOR_VARIANTS[variant][0],
        "load_s": load_s,
        "seconds": seconds,
        "pairs": len(predictions),
        "articles_with_pairs": len({p.article_id for p in predictions}),
        "articles": len(raw),
        "finder_seconds": finder,
        "precision": clf.precision,
        "peak_rss_mb": peak_rss_bytes() / 1024**2,
    }


# -- the report -----------------------------------------------------------------


def machine_load() -> dict[str, Any]:
    """The 1-minute load average and any other heavy job (training, tests) running beside the benchmark."""
    others = subprocess.run(["pgrep", "-f", "bench.quality|pytest|stance-train"], capture_output=True, text=True)
    return {"loadavg_1m": os.getloadavg()[0], "other_jobs": len(others.stdout.split())}


def hardware() -> dict[str, Any]:
    """CPU, its relevant flags, library versions, threads and GPU."""
    import torch
    import transformers

    name, flags = cpu()
    return {
        "cpu": name,
        "cores": os.cpu_count(),
        "cpu_flags": {f: f in flags for f in CPU_FLAGS},
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def summarize(results: list[dict[str, Any]], inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """Per system: speeds, ratios to the pipeline, macro-F1, agreement with stance fp32, machine load."""
    import numpy as np
    from sklearn.metrics import f1_score

    y = np.asarray(inputs["labels"])
    n_pairs, n_articles = len(inputs["rows"]), len(inputs["raw_articles"])
    by_name = {r["system"]: r for r in results}
    reference = np.asarray(by_name["fp32"]["probs"]) if "fp32" in by_name else None
    base = by_name.get("pipeline")
    table = []
    for r in results:
        probs = np.asarray(r["probs"])
        row = {
            "system": r["system"],
            "precision": r.get("e2e_precision", r.get("precision", "fp32")),
            "pairs_per_s": n_pairs / r["pairs_s"],
            "articles_per_s": n_articles / r["e2e_s"],
            "e2e_pairs_per_s": r["e2e_pairs"] / r["e2e_s"],
            "peak_rss_mb": r["peak_rss_mb"],
            "macro_f1": float(f1_score(y, probs.argmax(1), average="macro", labels=[0, 1, 2])),
            "load_s": r["load_s"],
            "load_before": r["load_before"],
            "load_after": r["load_after"],
        }
        if base is not None:
            row["pairs_x_pipeline"] = base["pairs_s"] / r["pairs_s"]
            row["articles_x_pipeline"] = base["e2e_s"] / r["e2e_s"]
        if reference is not None:
            row["agreement_vs_fp32"] = float((probs.argmax(1) == reference.argmax(1)).mean())
            row["max_prob_diff_vs_fp32"] = float(np.abs(probs - reference).max())
        if r.get("auto_check"):
            row["auto_check"] = r["auto_check"]
        table.append(row)
    return table


def quality_model() -> str:
    """The model folder `bench/quality/results.json` reports, checked by its weights' sha256."""
    from stance.model import weights_sha256

    report = json.loads((BENCH / "quality" / "results.json").read_text())
    folder, expected = report["reported_model"]["folder"], report["reported_model"]["weights_sha256"]
    if weights_sha256(ROOT / folder) != expected:
        sys.exit(
            f"{folder} is not the model bench/quality/results.json reports (sha256 differs): "
            "rerun python -m bench.quality"
        )
    return folder


def model_run(folder: str) -> str:
    """The training run that made a model folder: its run name and the overrides that matter."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(Path(folder) / "training_config.yaml")
    return f"stance-train run_name={cfg.run_name} seed={cfg.seed} (data={cfg.data.name}, model={cfg.model.name})"


def _in_fresh_process(worker: str, args: argparse.Namespace, inputs_path: Path, tmp: str) -> dict[str, Any]:
    """One system or actor variant, run by this benchmark in a new Python process; its result."""
    result_path = Path(tmp) / f"{worker}.json"
    print(f"== {worker}", file=sys.stderr, flush=True)
    cmd = [sys.executable, "-m", "bench.inference", "--model", args.model, "--worker", worker]
    cmd += ["--inputs", str(inputs_path), "--result", str(result_path)]
    subprocess.run(cmd, check=True, cwd=ROOT)
    return json.loads(result_path.read_text())


def actor_section(args: argparse.Namespace) -> dict[str, Any]:
    """Every way of finding actors, timed end to end on the same raw articles."""
    from stance.predict.classifier import FIND_SENTENCES

    inputs = load_inputs(args)
    with tempfile.TemporaryDirectory() as tmp:
        inputs_path = Path(tmp) / "inputs.json"
        inputs_path.write_text(json.dumps(inputs))
        variants = [_in_fresh_process(v, args, inputs_path, tmp) for v in ACTOR_VARIANTS]
    return {
        "date": date(),
        "commit": commit(),
        "load": machine_load(),
        "find_sentences": FIND_SENTENCES,
        "variants": variants,
    }


def publish(report: dict[str, Any], write: bool) -> None:
    """Print the rendered report; unless told not to, write it to bench/inference/results.json and README.md."""
    text = render(report)
    print(text)
    if write:
        write_results(FOLDER, report, text)
        print(f"written to {MD_PATH} and {JSON_PATH}", file=sys.stderr)


def main() -> None:
    """Parse the command line; run the systems (or the actor variants, or one worker), or only re-render."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.inference", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", action="store_true", help="models/minilm-seed on the seed articles")
    parser.add_argument(
        "--model", help="model folder (default: the one bench/quality/results.json reports, or models/minilm-seed)"
    )
    parser.add_argument("--pairs", type=int, default=2000, help="labelled pairs to score (0: all)")
    parser.add_argument("--articles", type=int, default=24, help="articles end to end (0: all)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated, of {', '.join(SYSTEMS)}")
    parser.add_argument("--no-write", action="store_true", help="print the report, write nothing to bench/")
    parser.add_argument(
        "--actors-only",
        action="store_true",
        help="time only the ways of finding actors and add them to bench/inference/results.json and README.md",
    )
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite bench/inference/README.md from its results.json; run nothing",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--inputs", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.render_only:
        text = render(json.loads(JSON_PATH.read_text()))
        if args.no_write:
            print(text)
        else:
            MD_PATH.write_text(text)
            print(f"written to {MD_PATH}", file=sys.stderr)
        return
    args.model = str(ROOT / (args.model or ("models/minilm-seed" if args.seed else quality_model())))

    if args.worker:
        inputs = json.loads(Path(args.inputs).read_text())
        run = run_actor_variant if args.worker in ACTOR_VARIANTS else run_system
        Path(args.result).write_text(json.dumps(run(args.worker, args.model, inputs)))
        return
    if args.actors_only:
        report = json.loads(JSON_PATH.read_text())
        report["actors"] = actor_section(args)
        publish(report, not args.no_write)
        return

    from stance.model import weights_sha256

    systems = [s for s in args.systems.split(",") if s]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems {sorted(unknown)}")
    started = time.time()
    inputs = load_inputs(args)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        inputs_path = Path(tmp) / "inputs.json"
        inputs_path.write_text(json.dumps(inputs))
        for system in systems:
            results.append(_in_fresh_process(system, args, inputs_path, tmp))
            r = results[-1]
            print(
                f"   {len(inputs['rows']) / r['pairs_s']:.1f} pairs/s, {len(inputs['raw_articles']) / r['e2e_s']:.2f} "
                f"articles/s, peak RSS {r['peak_rss_mb']:.0f} MB",
                file=sys.stderr,
                flush=True,
            )
    report = {
        "command": repo_relative("python -m bench.inference " + " ".join(sys.argv[1:])),
        "date": date(),
        "commit": commit(),
        "hardware": hardware(),
        "model": repo_relative(args.model),
        "weights_sha256": weights_sha256(args.model),
        "model_run": model_run(args.model),
        "config": {
            "pairs": args.pairs,
            "pairs_seed": PAIRS_SEED,
            "articles": args.articles,
            "articles_seed": ARTICLES_SEED,
            "warmup_pairs": WARMUP_PAIRS,
            "pipeline_batch": PIPELINE_BATCH,
            "systems": systems,
        },
        "inputs": {
            "data": inputs["data"],
            "articles_total": inputs["articles_total"],
            "labelled_pairs_total": inputs["labelled_pairs_total"],
            "pairs": len(inputs["rows"]),
            "articles": len(inputs["raw_articles"]),
            "e2e_pairs": results[0]["e2e_pairs"],
            "max_length": inputs["max_length"],
            "context_sentences": inputs["context_sentences"],
        },
        "systems": summarize(results, inputs),
        "wall_s": time.time() - started,
    }
    publish(report, not args.no_write)
