"""The two seed articles end to end at country level: the edges a reader of the report sees, against the
articles' own labels rolled up the same way.

Each model reads the seed articles' text as `stance-predict` does (sentence split, its gazetteer and
mention finder). Predicted pairs and gold labels are both rolled up to what their actors stand for at the
article's date (the model's gazetteer: Xi Jinping → China), self-edges dropped, then scored with the
article-level edge rules of `stance-evaluate pairs=found` (any sentence, net stance). Neither seed
article is in SEESAW, so a model trained on SEESAW has never seen them.

    python -m bench.seeds news=models/news-seesaw
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from typing import Any

from bench.common import BENCH, ROOT, commit, date, hardware, offline, repo_relative

offline()


def rolled_up(classifier: Any, articles: list[Any]) -> tuple[list[Any], list[Any]]:
    """(gold articles, found pairs), both with actors rolled up to their affiliation at the article's date."""
    from stance.evaluation.endtoend import found_pairs
    from stance.schema import PairKey

    found, _ = found_pairs(classifier, articles)
    g = classifier.gazetteer
    dates = {a.id: a.date or None for a in articles}

    def up(name: str, article_id: str) -> str:
        return g.affiliation(name, dates[article_id]) if name in g else name

    gold = []
    for a in articles:
        labels = [replace(x, actor=up(x.actor, a.id), target=up(x.target, a.id)) for x in a.labels]
        gold.append(replace(a, labels=[x for x in labels if x.actor != x.target]))
    pairs = []
    for f in found:
        k = f.key
        key = PairKey(k.article_id, k.sentence, up(k.actor, k.article_id), up(k.target, k.article_id))
        if key.actor != key.target:
            pairs.append(replace(f, key=key))
    return gold, pairs


def row(folder: str) -> dict[str, Any]:
    """One model's country-level edges on the seed articles."""
    from stance.evaluation.endtoend import EDGE_RULES, gold_edges, predicted_edges, score_edges
    from stance.model import weights_sha256
    from stance.predict.classifier import StanceClassifier
    from stance.readers import read_articles
    from stance.settings import load_data_config

    classifier = StanceClassifier.from_pretrained(ROOT / folder, device="cpu", actors="auto")
    articles = read_articles(load_data_config("seed"), classifier.gazetteer)
    gold, pairs = rolled_up(classifier, articles)
    truth = {a.id: gold_edges(a) for a in gold}
    edges = {}
    for rule in EDGE_RULES:
        held = predicted_edges(pairs, rule)
        edges[rule] = {
            a.id: sorted([[*e, e in truth[a.id]] for e in held.get(a.id, set())], key=lambda e: (not e[3], e[0], e[1]))
            for a in gold
        }
    return {
        "model": repo_relative(str(ROOT / folder)),
        "weights_sha256": weights_sha256(ROOT / folder),
        "scores": score_edges(gold, pairs, resamples=0, seed=0),
        "gold_edges": {a.id: sorted(map(list, truth[a.id])) for a in gold},
        "predicted_edges": edges,
    }


def markdown(report: dict[str, Any]) -> str:
    """The scores per model, then each model's edges by the net-stance rule (✓: a gold edge)."""
    lines = [
        "# The seed articles end to end, at country level",
        "",
        f"- {report['date']}, commit {report['commit']}; {report['hardware']}",
        f"- `{report['command']}`",
        "",
        "| model | weights sha256 | gold edges | rule | predicted | correct | precision | recall | F1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in report["rows"].items():
        s = r["scores"]
        for rule in ("any sentence", "net stance"):
            e = s[rule]
            lines.append(
                f"| {label} | `{r['weights_sha256'][:12]}…` | {s['gold_edges']} | {rule} | {e['predicted_edges']} "
                f"| {e['correct']} | {e['precision']:.3f} | {e['recall']:.3f} | {e['f1']:.3f} |"
            )
    for label, r in report["rows"].items():
        lines += ["", f"## {label}: edges by the net-stance rule", ""]
        for article, held in r["predicted_edges"]["net stance"].items():
            shown = ", ".join(f"{a} → {t} {s}{' ✓' if hit else ''}" for a, t, s, hit in held) or "none"
            lines.append(f"- {article}: {shown}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.seeds", description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", help="label=model folder")
    args = parser.parse_args(argv)
    folder = BENCH / "seeds"
    results = folder / "results.json"
    report = json.loads(results.read_text()) if results.exists() else {"rows": {}}
    for item in args.models:
        label, _, model = item.partition("=")
        report["rows"][label] = row(model)
    report |= {
        "date": date(),
        "commit": commit(),
        "hardware": hardware(),
        "command": repo_relative(" ".join(["python", "-m", "bench.seeds", *argv])),
    }
    results.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
