"""Inference benchmark: stance's scoring paths against `transformers.pipeline`, same model, same inputs, one run.

    .venv/bin/python scripts/bench_inference.py                 # models/recipe-seesaw on SEESAW valid
    .venv/bin/python scripts/bench_inference.py --seed          # models/minilm-seed on the seed articles
    .venv/bin/python scripts/bench_inference.py --pairs 200 --articles 5 --no-write   # a smoke run

Systems, each in a fresh process (so peak memory is its own) with the same
torch threads:

* `pipeline`: `transformers.pipeline("text-classification", model=<folder>,
  batch_size=32, top_k=None)` fed the text pairs `stance.encoding.format_inputs`
  makes (`{"text": header, "text_pair": body}`), so it sees the same token ids;
* `pipeline-bf16`: the same with `dtype=torch.bfloat16`, so the gain at equal
  precision shows beside the gain from precision;
* `stance before #5`: the scoring loop as it was (encode and pad each batch of 32
  in input order, fp32), for the accuracy and speed of the code this replaced;
* `stance fp32`, `bf16`, `int8`, `auto`: `StanceClassifier` at each precision.

Figures per system: pairs/s on the labelled pairs (stance from the builder's
rows, its encoding included; the pipeline from the already formatted text, so
its formatting is not counted against it), articles/s end to end from raw text
(sentence split, actor finding, scoring), peak RSS of the process
(`resource.getrusage`, imports and model included), and macro-F1 on the labelled
pairs (the builder's labelled examples of the same articles, every pair, as
evaluation scores them). The model defaults to the one `bench/quality.json`
reports, and its weights' sha256 is recorded. Writes `bench/inference.md` and
`bench/inference.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchkit import ROOT, commit, cpu, setup

setup()
os.environ.setdefault("STANCE_PROGRESS", "0")

SYSTEMS = ("pipeline", "pipeline-bf16", "before", "fp32", "bf16", "int8", "auto")
LABELS = {
    "pipeline": "transformers pipeline",
    "pipeline-bf16": "transformers pipeline bf16",
    "before": "stance before #5",
}
WARMUP_PAIRS = 8  # fewer than `auto` needs to decide, so its check is inside the timed run
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "avx512_fp16")


NOTES = """## How stance scores, and what was not built

- Each pair is encoded once (`format_inputs` then one tokenizer call for all pairs of up to 1024 pairs'
  worth of articles; contexts and headers shared by several pairs are tokenized once), pairs are sorted
  by token length into batches (little padding), padded with numpy, scored, and put back in input order.
  Mention finding and context joining happen once per sentence, the article's matcher once per article.
- `auto` on a CPU checks bf16 (when the CPU has AVX512-BF16 or AMX) and int8 (dynamic quantization of
  every `nn.Linear`) against fp32 on the first 96 pairs it is given: a path is kept only if it gives
  fp32's label on ≥ 98% of them, moves no probability by more than 0.1 and is ≥ 1.1× as fast (best of
  two timings); the fastest kept path is used and logged. Those 96 pairs are not scored again. On CUDA
  `auto` is bf16 where supported, else fp16 (autocast, pinned host memory, one copy back per call).
- "Encode the sentence once, classify every pair from span representations" was not built. Our models
  read the pair as a BERT sentence pair with the actor and target named up front and typed markers
  ([ACTOR]…[/ACTOR], [TARGET]…[/TARGET]) inline, so every ordered pair is a different token sequence and
  attention conditions on which two mentions are marked; a span-pooling head over one shared encoding
  would be a different model (no markers, no header), needing its own training and a new input-format
  version, and its accuracy would have to be re-established on SEESAW. What it would save is bounded by
  how many pairs share a sentence: a sentence with k actors has k(k-1) ordered pairs, so the win is
  large only for crowded sentences. Left as a modelling experiment, not an inference optimisation.
- The pipeline is given the already formatted text pairs, so its pairs/s excludes the formatting that
  stance's pairs/s includes; end to end, both use stance's sentence splitter and actor finding.
"""


# -- the inputs ---------------------------------------------------------------


def load_inputs(args: argparse.Namespace) -> dict[str, Any]:
    """Labelled pairs (builder rows, formatted text pairs, labels) and raw articles, for every system alike."""
    from omegaconf import OmegaConf

    from stance.actors import load_gazetteer
    from stance.build import article_examples, build_options
    from stance.encoding import format_inputs
    from stance.model import load_stance_model

    _, tokenizer, encoding, _ = load_stance_model(args.model, "cpu")
    if args.seed:
        from stance.readers.articles import load_articles

        data_cfg = OmegaConf.load(ROOT / "configs/data/seed.yaml")
        gazetteer = load_gazetteer(data_cfg.gazetteer)
        articles = load_articles([ROOT / "data" / "articles"], gazetteer)
        data_name = "seed articles (both)"
    else:
        from stance.readers.seesaw import load_seesaw

        data_cfg = OmegaConf.load(ROOT / "configs/data/seesaw.yaml")
        data_cfg.splits = ["valid"]
        gazetteer = load_gazetteer(data_cfg.gazetteer)
        articles = load_seesaw(data_cfg)
        data_name = "SEESAW valid stories"
    options = replace(build_options(data_cfg, 42), context_sentences=encoding.context_sentences)
    rows = [row for article in articles for row in article_examples(article, gazetteer, options)]
    total_pairs = len(rows)
    if args.pairs and len(rows) > args.pairs:
        rows = random.Random(0).sample(rows, args.pairs)
    columns = {k: [r[k] for r in rows] for k in rows[0]}
    heads, bodies = format_inputs(columns, tokenizer, encoding)
    chosen = random.Random(1).sample(articles, min(args.articles, len(articles))) if args.articles else articles
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


def _articles_from_raw(raw: list[dict[str, Any]]):
    """Articles from raw text: the project's sentence splitter, each source's closed actor list kept."""
    from stance.schema import Article
    from stance.sentences import split_sentences

    for r in raw:
        yield Article(
            id=r["id"], sentences=split_sentences(r["text"]), actors=r["actors"], aliases=r["aliases"], title=r["title"]
        )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_system(system: str, model: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Time one system on the labelled pairs and end to end; its probabilities; its peak memory."""
    import torch

    from stance.schema import STANCES

    rows, raw = inputs["rows"], inputs["raw_articles"]
    result: dict[str, Any] = {"system": system, "threads": torch.get_num_threads(), "load_before": machine_load()}
    started = time.perf_counter()
    if system.startswith("pipeline"):
        from transformers import pipeline

        from stance.actors import load_gazetteer
        from stance.classifier import article_pairs
        from stance.encoding import EncodingConfig, format_inputs

        dtype = torch.bfloat16 if system == "pipeline-bf16" else torch.float32
        pipe = pipeline("text-classification", model=model, device="cpu", batch_size=32, dtype=dtype)
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
        from stance.classifier import StanceClassifier

        precision = "fp32" if system == "before" else system

        def load() -> StanceClassifier:
            return StanceClassifier.from_pretrained(
                model, device="cpu", gazetteer=inputs["gazetteer"], precision=precision
            )

        clf = load()
        result["load_s"] = time.perf_counter() - started
        score = _before(clf) if system == "before" else clf.predict_proba
        score(rows[:WARMUP_PAIRS])
        started = time.perf_counter()
        probs = score(rows)
        result["pairs_s"] = time.perf_counter() - started
        result["precision"] = clf.precision
        result["auto_check"] = clf.scorer.check
        if system == "auto":  # a fresh classifier: end to end includes auto's own check
            del clf
            clf = load()
            clf.predict_proba(rows[:WARMUP_PAIRS])
        started = time.perf_counter()
        if system == "before":
            n = 0
            for article in _articles_from_raw(raw):
                article_rows = clf.pairs_of(article)
                if article_rows:
                    score(article_rows)
                    n += len(article_rows)
            result["e2e_pairs"] = n
        else:
            result["e2e_pairs"] = sum(1 for _ in clf.predict_articles(_articles_from_raw(raw)))
        result["e2e_s"] = time.perf_counter() - started
        result["e2e_precision"] = clf.precision
    result["peak_rss_mb"] = _peak_rss_mb()
    result["load_after"] = machine_load()
    result["probs"] = probs.tolist()
    return result


# How stance-predict finds actors (#12), each timed end to end in a fresh process at precision=auto.
ACTOR_VARIANTS = {
    "lists": ("each source's closed actor list (the e2e rows above; how #5 measured)", "gazetteer", "data/actors.yaml"),
    "listed": ("data/actors.yaml only, open text (stance-predict before #12)", "gazetteer", "data/actors.yaml"),
    "phoenix": ("data/actors.yaml + Phoenix dictionaries", "gazetteer", "phoenix"),
    "both": ("Phoenix + mention finder (stance-predict's default)", "both", "phoenix"),
}


def run_actor_variant(variant: str, model: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """`predict_articles` over the raw articles as stance-predict runs it, with one way of finding actors."""
    from stance.classifier import StanceClassifier
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
    predictions = list(clf.predict_articles(articles))
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
        "peak_rss_mb": _peak_rss_mb(),
    }


def actor_markdown(section: dict[str, Any]) -> list[str]:
    """The actor-finding table (#12)."""
    rows = section["variants"]
    base = next((r for r in rows if r["variant"] == "lists"), rows[0])
    lines = [
        "## Finding actors: what it costs end to end (#12)",
        "",
        f"{section['date']}, commit `{section['commit']}`, the same {base['articles']} articles as raw text, "
        "`StanceClassifier.predict_articles` at `precision=auto` (stance-predict's path), each in a fresh process, "
        "one after another. The mention finder runs batched (256 sentences per call) before pairs are scored.",
        "",
        "| actors from | pairs | articles with a pair | articles/s | × closed lists | mention finder's share "
        "of the time | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        rate = r["articles"] / r["seconds"]
        lines.append(
            f"| {r['label']} | {r['pairs']} | {r['articles_with_pairs']} | {rate:.2f} | "
            f"{base['seconds'] / r['seconds']:.2f} | {r['finder_seconds'] / r['seconds']:.1%} | {r['peak_rss_mb']:.0f} |"
        )
    by = {r["variant"]: r for r in rows}
    if "listed" in by and "both" in by:
        ratio = by["listed"]["seconds"] / by["both"]["seconds"]
        pairs = by["both"]["pairs"] / max(by["listed"]["pairs"], 1)
        lines += [
            "",
            f"Target (#12), the default at ≥ 70% of the articles/s before #12: {ratio:.0%} — "
            f"{'met' if ratio >= 0.7 else 'NOT met'}. It scores {pairs:.1f}× the pairs; the finder itself takes "
            f"{by['both']['finder_seconds'] / by['both']['seconds']:.0%} of the time, the rest is scoring the pairs.",
        ]
    return lines


def _before(clf: Any):
    """The scoring loop before #5: encode and pad each batch of 32 in input order, fp32, one batch at a time."""
    import torch

    from stance.encoding import encode_batch

    @torch.inference_mode()
    def score(rows: list[dict[str, Any]]) -> torch.Tensor:
        out = torch.empty((len(rows), 3))
        for start in range(0, len(rows), 32):
            chunk = rows[start : start + 32]
            columns = {key: [r.get(key) for r in chunk] for key in chunk[0]}
            columns.setdefault("context", [""] * len(chunk))
            batch = clf.tokenizer.pad(encode_batch(columns, clf.tokenizer, clf.encoding), return_tensors="pt")
            out[start : start + len(chunk)] = torch.softmax(clf.model(**batch).logits.float(), dim=-1)
        return out

    return score


# -- the report -----------------------------------------------------------------


def machine_load() -> dict[str, Any]:
    """The 1-minute load average and any other heavy job (training, tests) running beside the benchmark."""
    others = subprocess.run(["pgrep", "-f", "bench_quality|pytest|stance-train"], capture_output=True, text=True)
    return {"loadavg_1m": os.getloadavg()[0], "other_jobs": len(others.stdout.split())}


def hardware() -> dict[str, Any]:
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
    """Per system: speeds, ratios to the pipeline, macro-F1, and agreement with stance fp32."""
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
            "system": LABELS.get(r["system"], f"stance {r['system']}"),
            "precision": r.get("e2e_precision", r.get("precision", "fp32")),
            "pairs_per_s": n_pairs / r["pairs_s"],
            "articles_per_s": n_articles / r["e2e_s"],
            "e2e_pairs_per_s": r["e2e_pairs"] / r["e2e_s"],
            "peak_rss_mb": r["peak_rss_mb"],
            "macro_f1": float(f1_score(y, probs.argmax(1), average="macro", labels=[0, 1, 2])),
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


def markdown(report: dict[str, Any]) -> str:
    hw, inp = report["hardware"], report["inputs"]
    flags = ", ".join(f"{f} {'yes' if v else 'no'}" for f, v in hw["cpu_flags"].items())
    lines = [
        "# Inference benchmark",
        "",
        f"`{report['command']}` — {report['date']}, commit `{report['commit']}`.",
        "",
        f"- Hardware: {hw['cpu']}, {hw['cores']} cores, torch {hw['torch']} ({hw['torch_threads']} threads), "
        f"transformers {hw['transformers']}; GPU: {hw['gpu'] or 'none'}.",
        f"- CPU flags: {flags}.",
        f"- Model: `{report['model']}`, weights sha256 `{report['weights_sha256']}`, trained by "
        f"`{report['model_run']}` (max_length {inp['max_length']}, {inp['context_sentences']} context sentence(s)).",
        f"- Labelled pairs: {inp['pairs']} drawn at random (seed 0) from the {inp['labelled_pairs_total']} builder "
        f"examples of the {inp['articles_total']} {inp['data']} articles (every pair, as evaluation scores them).",
        f"- End to end: {inp['articles']} of those articles as raw text (sentences joined; each source's actor list "
        f"kept), split, actor pairs found and scored: {inp['e2e_pairs']} pairs.",
        "- Every system runs in a fresh process, one after another; peak memory is the process's peak RSS "
        "(`resource.getrusage`: imports, model and scoring).",
        f"- Machine load: {report['load']}",
        "",
        "| system | path | pairs/s | × pipeline | articles/s (e2e) | × pipeline | peak RSS MB | macro-F1 "
        "| labels = fp32 | max abs Δp vs fp32 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["systems"]:
        lines.append(
            f"| {r['system']} | {r['precision']} | {r['pairs_per_s']:.1f} | {r.get('pairs_x_pipeline', 1):.2f} "
            f"| {r['articles_per_s']:.2f} | {r.get('articles_x_pipeline', 1):.2f} | {r['peak_rss_mb']:.0f} "
            f"| {r['macro_f1']:.4f} | {r.get('agreement_vs_fp32', float('nan')):.4f} "
            f"| {r.get('max_prob_diff_vs_fp32', float('nan')):.4f} |"
        )
    lines += ["", *targets(report), "", NOTES]
    if report.get("actors"):
        lines += ["", *actor_markdown(report["actors"])]
    return "\n".join(lines) + "\n"


def load_statement(results: list[dict[str, Any]]) -> str:
    """Whether the timings were taken on an idle machine: they compare only if so."""
    busy = [r["system"] for r in results if r["load_before"]["other_jobs"] or r["load_after"]["other_jobs"]]
    loads = ", ".join(f"{r['system']} {r['load_before']['loadavg_1m']:.1f}" for r in results)
    if busy:
        return (
            f"**NOT idle**: other heavy jobs (training or tests) ran during {', '.join(busy)}; the speeds "
            f"and ratios of this run are not comparable (1-minute load average at each start: {loads})."
        )
    return (
        f"idle apart from the benchmark (no training or tests running; 1-minute load average at each start: {loads})."
    )


def targets(report: dict[str, Any]) -> list[str]:
    """The issue's targets, checked against this run's figures."""
    systems = {r["system"]: r for r in report["systems"]}
    auto, fp32, before = systems.get("stance auto"), systems.get("stance fp32"), systems.get("stance before #5")
    lines = ["## Targets (#5)", ""]
    if auto and "pairs_x_pipeline" in auto and fp32:
        speed_ok = auto["pairs_x_pipeline"] >= 3
        f1_gap = abs(auto["macro_f1"] - fp32["macro_f1"])
        lines.append(
            f"- Default path (`precision=auto`, chose {auto['precision']}) ≥ 3× the pipeline's pairs/s: "
            f"{auto['pairs_x_pipeline']:.2f}× — {'met' if speed_ok else 'NOT met'}; end to end "
            f"{auto['articles_x_pipeline']:.2f}×."
        )
        lines.append(
            f"- Its macro-F1 within 0.01 of fp32: {auto['macro_f1']:.4f} vs {fp32['macro_f1']:.4f} "
            f"(gap {f1_gap:.4f}) — {'met' if f1_gap <= 0.01 else 'NOT met'}."
        )
    if fp32 and before:
        same = before.get("agreement_vs_fp32") == 1
        lines.append(
            f"- fp32 loses no accuracy against the code before #5: macro-F1 {fp32['macro_f1']:.4f} vs "
            f"{before['macro_f1']:.4f}, labels equal on {before.get('agreement_vs_fp32', float('nan')):.4f} of pairs, "
            f"max abs Δp {before.get('max_prob_diff_vs_fp32', float('nan')):.2g} (padding only) — "
            f"{'met' if before['macro_f1'] <= fp32['macro_f1'] + 1e-9 or same else 'check'}."
        )
    return lines


def quality_model() -> str:
    """The model folder `bench/quality.json` reports, checked by its weights' sha256."""
    from stance.model import weights_sha256

    report = json.loads((ROOT / "bench" / "quality.json").read_text())
    folder, expected = report["reported_model"]["folder"], report["reported_model"]["weights_sha256"]
    if weights_sha256(ROOT / folder) != expected:
        sys.exit(f"{folder} is not the model bench/quality.json reports (sha256 differs): rerun bench_quality.py")
    return folder


def model_run(folder: str) -> str:
    """The training run that made a model folder: its run name and the overrides that matter."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(Path(folder) / "training_config.yaml")
    return f"stance-train run_name={cfg.run_name} seed={cfg.seed} (data={cfg.data.name}, model={cfg.model.name})"


def _in_fresh_process(worker: str, args: argparse.Namespace, inputs_path: Path, tmp: str) -> dict[str, Any]:
    result_path = Path(tmp) / f"{worker}.json"
    print(f"== {worker}", file=sys.stderr, flush=True)
    cmd = [sys.executable, __file__, "--model", args.model, "--worker", worker]
    cmd += ["--inputs", str(inputs_path), "--result", str(result_path)]
    subprocess.run(cmd, check=True, cwd=ROOT)
    return json.loads(result_path.read_text())


def actor_section(args: argparse.Namespace) -> dict[str, Any]:
    """Every way of finding actors, timed end to end on the same raw articles."""
    inputs = load_inputs(args)
    with tempfile.TemporaryDirectory() as tmp:
        inputs_path = Path(tmp) / "inputs.json"
        inputs_path.write_text(json.dumps(inputs))
        variants = [_in_fresh_process(v, args, inputs_path, tmp) for v in ACTOR_VARIANTS]
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "load": machine_load(),
        "variants": variants,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", action="store_true", help="models/minilm-seed on the seed articles")
    parser.add_argument(
        "--model", help="model folder (default: the one bench/quality.json reports, or models/minilm-seed)"
    )
    parser.add_argument("--pairs", type=int, default=2000, help="labelled pairs to score (0: all)")
    parser.add_argument("--articles", type=int, default=24, help="articles end to end (0: all)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated, of {', '.join(SYSTEMS)}")
    parser.add_argument("--no-write", action="store_true", help="print the table, write nothing to bench/")
    parser.add_argument(
        "--actors-only",
        action="store_true",
        help="time only the ways of finding actors (#12) and add them to bench/inference.json and .md",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--inputs", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.model = str(ROOT / (args.model or ("models/minilm-seed" if args.seed else quality_model())))

    if args.worker:
        inputs = json.loads(Path(args.inputs).read_text())
        run = run_actor_variant if args.worker in ACTOR_VARIANTS else run_system
        Path(args.result).write_text(json.dumps(run(args.worker, args.model, inputs)))
        return
    if args.actors_only:
        section = actor_section(args)
        print("\n".join(actor_markdown(section)))
        if not args.no_write:
            report = json.loads((ROOT / "bench" / "inference.json").read_text())
            report["actors"] = section
            (ROOT / "bench" / "inference.json").write_text(json.dumps(report, indent=2) + "\n")
            (ROOT / "bench" / "inference.md").write_text(markdown(report))
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
    e2e_pairs = results[0]["e2e_pairs"]
    report = {
        "command": "python scripts/bench_inference.py " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "hardware": hardware(),
        "model": str(Path(args.model).relative_to(ROOT)) if args.model.startswith(str(ROOT)) else args.model,
        "weights_sha256": weights_sha256(args.model),
        "model_run": model_run(args.model),
        "inputs": {
            "data": inputs["data"],
            "articles_total": inputs["articles_total"],
            "labelled_pairs_total": inputs["labelled_pairs_total"],
            "pairs": len(inputs["rows"]),
            "articles": len(inputs["raw_articles"]),
            "e2e_pairs": e2e_pairs,
            "max_length": inputs["max_length"],
            "context_sentences": inputs["context_sentences"],
        },
        "systems": summarize(results, inputs),
        "load": load_statement(results),
        "wall_s": time.time() - started,
    }
    text = markdown(report)
    print(text)
    if not args.no_write:
        out = ROOT / "bench"
        out.mkdir(exist_ok=True)
        (out / "inference.json").write_text(json.dumps(report, indent=2) + "\n")
        (out / "inference.md").write_text(text)
        print(f"written to {out / 'inference.md'} and {out / 'inference.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
