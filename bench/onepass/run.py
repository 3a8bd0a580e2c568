"""The cross-encoder beside the one-pass pair model (`model.head=pairs`), measured in one run on 2 cores.

For each model folder: `bench.endtoend`'s row (the prediction path end to end on the split: support/oppose
macro-F1, article-level edge F1, classifier-only polarity, articles/s), pairs/s, and the training wall
time its folder records (the stance model's, and its mention finder's). Beside them, in the same run, the
physical limit the issue names: one plain encoder forward pass per window (the sentence plus the one
before), batched by length, over the same articles, with no pair finding at all.

    python -m bench.onepass --split dev --gazetteer phoenix cross=models/news-seesaw pairs=models/pairs-seesaw

Writes bench/onepass/results-<split>.json and bench/onepass/README.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench.common import BENCH, ROOT, commit, date, hardware, offline, repo_relative
from bench.endtoend.run import row

offline()
BATCH = 32


def dev_articles(split: str, data: tuple[str, ...]) -> list[Any]:
    """The split's SEESAW articles as a user hands them in (text re-split), as `stance-evaluate` reads them."""
    from hydra import compose, initialize_config_dir

    from stance.actors.gazetteer import load_gazetteer
    from stance.cli import CONFIG_DIR
    from stance.dataset.build import build_options, split_of
    from stance.dataset.match import path_articles
    from stance.readers import read_articles

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("evaluate", overrides=["model_dir=unused", *data, f"split={split}"])
    options = build_options(cfg.data, int(cfg.seed))
    articles = read_articles(cfg.data, load_gazetteer(cfg.data.gazetteer))
    return path_articles([a for a in articles if split_of(a, options) == split])


def plain_pass_limit(folder: str, articles: list[Any]) -> dict[str, Any]:
    """Articles/s of one plain encoder pass per window (sentence + the one before), batched by length."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from stance.inference import length_batches

    tokenizer = AutoTokenizer.from_pretrained(str(ROOT / folder))
    encoder = AutoModel.from_pretrained(str(ROOT / folder), add_pooling_layer=False).eval()
    before = [a.sentences[i - 1] if i else "" for a in articles for i in range(len(a.sentences))]
    sentences = [s for a in articles for s in a.sentences]
    started = time.perf_counter()
    encoded = tokenizer(before, sentences, truncation=True, max_length=160)
    with torch.inference_mode():
        for idx in length_batches([len(ids) for ids in encoded["input_ids"]], BATCH):
            batch = tokenizer.pad({k: [encoded[k][i] for i in idx] for k in encoded}, return_tensors="pt")
            encoder(**batch)
    seconds = time.perf_counter() - started
    return {"windows": len(sentences), "seconds": seconds, "articles_per_second": len(articles) / seconds}


def training_minutes(folder: str) -> dict[str, float | None]:
    """The training time a model folder's metrics record (Trainer's train_runtime: the optimiser steps and the
    per-epoch dev scoring, not building the examples), for the stance model and its mention finder, in minutes."""
    out: dict[str, float | None] = {}
    for part, path in (
        ("stance", ROOT / folder / "metrics.json"),
        ("finder", ROOT / folder / "mentions" / "mentions.json"),
    ):
        metrics = json.loads(path.read_text()) if path.exists() else {}
        metrics = metrics.get("metrics", metrics)  # the finder's mentions.json keeps them under `metrics`
        seconds = metrics.get("wall_time_s") or metrics.get("train_runtime_s")
        out[part] = round(seconds / 60, 1) if seconds else None
    if (ROOT / folder / "mention_head.safetensors").is_file():  # experiment=joint: the finder trained in the same run
        out["finder"] = 0.0
    return out


def markdown(report: dict[str, Any]) -> str:
    """The side-by-side table."""
    limit = report["limit"]
    lines = [
        f"# Cross-encoder beside the one-pass pair model, SEESAW {report['split']}, one run",
        "",
        f"- {report['date']}, commit {report['commit']}; {report['hardware']}",
        f"- `{report['command']}`",
        f"- {report['articles']} articles. The limit, in the same run: one plain encoder pass per window "
        f"(sentence + the one before, {limit['windows']} windows, batches of {BATCH} by length, no pair "
        f"finding): **{limit['articles_per_second']:.2f} articles/s**.",
        "",
        "| model | head | weights sha256 | path s/o macro-F1 (95% CI) | edge F1, any sentence | edge F1, net stance "
        "| classifier-only polarity | pairs/article | articles/s | pairs/s | share of the limit "
        "| training (stance + finder, min) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"].values():
        p, e = r["path"], r["path"]["edges"]
        t = r["training_minutes"]
        wall = " + ".join(f"{t[k]:.1f}" if t[k] is not None else "?" for k in ("stance", "finder"))
        lines.append(
            f"| {r['label']} | {r['head']} | `{r['weights_sha256'][:12]}…` "
            f"| {p['macro_f1_support_oppose']:.3f} ({p['ci95'][0]:.3f}–{p['ci95'][1]:.3f}) "
            f"| {e['any sentence']['f1']:.3f} | {e['net stance']['f1']:.3f} "
            f"| {r['classifier_only']['polarity']:.3f} | {p['pairs_per_article']:.1f} "
            f"| {p['articles_per_second']:.2f} | {p['pairs_per_article'] * p['articles_per_second']:.0f} "
            f"| {p['articles_per_second'] / limit['articles_per_second']:.2f} | {wall} |"
        )
    rows = list(report["rows"].values())
    if len(rows) == 2:
        a, b = rows
        ratio = b["path"]["articles_per_second"] / a["path"]["articles_per_second"]
        delta = b["path"]["macro_f1_support_oppose"] - a["path"]["macro_f1_support_oppose"]
        lines += [
            "",
            f"{b['label']} reads {ratio:.2f}× the articles/s of {a['label']}, with path s/o macro-F1 "
            f"{delta:+.3f} beside it (one seed each).",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.onepass", description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="dev")
    parser.add_argument("--gazetteer", default=None)
    parser.add_argument(
        "--data", action="append", default=[], help="a data override, after data=seesaw unless one names data="
    )
    parser.add_argument("--limit-model", default=None, help="the encoder of the plain-pass limit (default: the first)")
    parser.add_argument("--out", default=str(BENCH / "onepass"), help="where results and README.md go")
    parser.add_argument("models", nargs="+", help="label=model folder (the cross-encoder first)")
    args = parser.parse_args(argv)
    from stance.encoding import EncodingConfig

    data = tuple(args.data) if any(d.startswith("data=") for d in args.data) else ("data=seesaw", *args.data)
    articles = dev_articles(args.split, data)
    if not articles:
        raise SystemExit(f"no {args.split} articles in {' '.join(data)}")
    report: dict[str, Any] = {"split": args.split, "articles": len(articles), "rows": {}}
    report["limit"] = plain_pass_limit(args.limit_model or args.models[0].partition("=")[2], articles)
    for item in args.models:
        label, _, folder = item.partition("=")
        measured = row(label, folder, args.split, args.gazetteer, data=data)
        config = json.loads((ROOT / folder / "config.json").read_text())
        measured["head"] = EncodingConfig.from_dict(config["stance_encoding"]).head
        measured["training_minutes"] = training_minutes(folder)
        report["rows"][label] = measured
    report |= {
        "date": date(),
        "commit": commit(),
        "hardware": hardware(),
        "command": repo_relative(" ".join(["python", "-m", "bench.onepass", *argv])),
    }
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"results-{args.split}.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
