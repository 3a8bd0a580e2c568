"""Which call and which edge rule, on the pairs the path finds: chosen on one half of the dev stories, scored on the other.

    python -m bench.rules --model models/pairs-seesaw --split dev --gazetteer phoenix

The model's path (as `stance-predict` runs it, references on) is run once over the split's articles. Then:

* sentence level, support/oppose macro-F1 over every pair found and every gold polar pair: the model's saved
  decision; a refitted threshold on P(neutral); that threshold with a weight on P(support) against P(oppose);
* article edges (F1, micro over articles): "any sentence" (the saved decision's calls), "net stance" with
  its margin refitted, and "strongest sentence" (an edge when some sentence gives P(support) or P(oppose) at
  least a refitted bar).

Each refitted rule is fitted on one half of the stories and scored on the other, both ways (2-fold by
story), beside the unrefitted rule on the same half, so a gain is one a new corpus would see. Writes
bench/rules/results.json and bench/rules/README.md.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bench.common import BENCH, ROOT, commit, date, hardware, offline, repo_relative, write_results

offline()

SUPPORT, OPPOSE, NEUTRAL = 0, 1, 2
NEUTRAL_BARS = tuple(round(float(t), 2) for t in np.arange(0.10, 0.90, 0.02))
SUPPORT_WEIGHTS = (0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0)
EDGE_BARS = tuple(round(float(t), 2) for t in np.arange(0.30, 0.99, 0.02))
MARGINS = tuple(round(float(t), 2) for t in np.arange(0.0, 0.8, 0.02))


class Pairs:
    """The path's found pairs of a split and its gold, as arrays: one row per found pair or missed gold polar pair."""

    def __init__(self, gold: Sequence[Any], found: Sequence[Any]) -> None:
        from stance.dataset.build import article_group
        from stance.evaluation.calibrate import path_rows
        from stance.evaluation.endtoend import gold_edges
        from stance.schema import STANCES

        self.found = list(found)
        self.keys, self.probs, self.y = path_rows(gold, self.found)
        missed = len(self.keys) - len(self.found)
        self.saved = np.array([STANCES.index(f.stance) for f in self.found] + [NEUTRAL] * missed, dtype=int)
        self.article_group = {a.id: article_group(a) for a in gold}
        self.group = np.array([self.article_group[k.article_id] for k in self.keys])
        self.edges = {a.id: gold_edges(a) for a in gold}


def sentence_f1(y: np.ndarray, pred: np.ndarray) -> float:
    """Support/oppose macro-F1."""
    from stance.metrics import macro_f1

    return macro_f1(y, pred, (SUPPORT, OPPOSE))


def call(probs: np.ndarray, bar: float, support_weight: float = 1.0) -> np.ndarray:
    """Neutral at P(neutral) ≥ `bar`, else support when `support_weight` × P(support) > P(oppose)."""
    polar = np.where(probs[:, SUPPORT] * support_weight > probs[:, OPPOSE], SUPPORT, OPPOSE)
    return np.where(probs[:, NEUTRAL] >= bar, NEUTRAL, polar)


def strongest_edges(found: Sequence[Any], bar: float) -> dict[str, set[tuple[str, str, str]]]:
    """An edge where some sentence gives P(support) or P(oppose) at least `bar`, with the stronger of the two."""
    best: dict[tuple[str, str, str], np.ndarray] = {}
    for f in found:
        k = (f.key.article_id, f.key.actor, f.key.target)
        best[k] = np.maximum(best.get(k, np.zeros(2)), f.probabilities[:2])
    out: dict[str, set[tuple[str, str, str]]] = {}
    for (article, actor, target), p in best.items():
        if p.max() >= bar:
            out.setdefault(article, set()).add((actor, target, ("support", "oppose")[int(p.argmax())]))
    return out


def edge_f1(pairs: Pairs, groups: set[str], rule: str, x: float | None) -> float:
    """Edge F1, micro over the articles of `groups`: `stance-evaluate`'s rules, or the strongest sentence."""
    from stance.evaluation.endtoend import predicted_edges

    found = [f for f in pairs.found if pairs.article_group[f.key.article_id] in groups]
    if rule == "strongest":
        predicted = strongest_edges(found, x)
    else:
        predicted = predicted_edges(found, rule) if x is None else predicted_edges(found, rule, x)
    tp = n = 0
    for article, truth in pairs.edges.items():
        if pairs.article_group[article] in groups:
            guess = predicted.get(article, set())
            tp, n = tp + len(guess & truth), n + len(guess) + len(truth)
    return 2 * tp / n if n else 0.0


def cross_fit(halves: list[set[str]], grid: Sequence[Any], score: Callable[[set[str], Any], float]) -> dict[str, Any]:
    """Fit on each half (the grid point with the best score), score on the other; the fitted points and scores."""
    out = []
    for fit, held in ((halves[0], halves[1]), (halves[1], halves[0])):
        best = max(grid, key=lambda g: score(fit, g))
        out.append({"fitted": best, "held_out": score(held, best)})
    return {"folds": out, "held_out_mean": float(np.mean([f["held_out"] for f in out]))}


def measure(pairs: Pairs, seed: int) -> dict[str, Any]:
    """Every rule, refitted by story halves, beside the saved one on the same halves."""
    groups = sorted(set(pairs.article_group.values()))
    order = np.random.default_rng(seed).permutation(len(groups))
    halves = [{groups[i] for i in order[::2]}, {groups[i] for i in order[1::2]}]

    def rows(g: set[str]) -> np.ndarray:
        return np.isin(pairs.group, list(g))

    def sentence(g: set[str], rule: Any) -> float:
        r = rows(g)
        return sentence_f1(pairs.y[r], call(pairs.probs[r], *rule))

    saved = [sentence_f1(pairs.y[rows(h)], pairs.saved[rows(h)]) for h in halves[::-1]]
    any_sentence = [edge_f1(pairs, h, "any sentence", None) for h in halves[::-1]]
    return {
        "halves": [len(h) for h in halves],
        "sentence": {
            "saved decision": {"held_out_mean": float(np.mean(saved)), "per_half": saved},
            "neutral bar": cross_fit(halves, [(t, 1.0) for t in NEUTRAL_BARS], sentence),
            "neutral bar + support weight": cross_fit(
                halves, list(itertools.product(NEUTRAL_BARS, SUPPORT_WEIGHTS)), sentence
            ),
        },
        "edges": {
            "any sentence": {"held_out_mean": float(np.mean(any_sentence)), "per_half": any_sentence},
            "net stance": cross_fit(halves, MARGINS, lambda g, x: edge_f1(pairs, g, "net stance", x)),
            "strongest sentence": cross_fit(halves, EDGE_BARS, lambda g, x: edge_f1(pairs, g, "strongest", x)),
        },
    }


def markdown(report: dict[str, Any]) -> str:
    """The README: one table per level."""
    lines = [
        "# The call and the edge rule, refitted on half the dev stories and scored on the other half",
        "",
        f"- {report['date']}, commit {report['commit']}; {report['hardware']}",
        f"- `{report['command']}`",
        f"- model `{report['model']}`, weights sha256 `{report['weights_sha256'][:12]}…`; {report['split']}, "
        f"{report['articles']} articles, story halves of {' and '.join(map(str, report['halves']))}",
        "",
        "| level | rule | held-out F1 (mean of the two halves) | fitted on each half |",
        "|---|---|---|---|",
    ]
    for level in ("sentence", "edges"):
        for rule, r in report[level].items():
            fitted = " / ".join(str(f["fitted"]) for f in r.get("folds", [])) or "as saved"
            lines.append(f"| {level} | {rule} | {r['held_out_mean']:.3f} | {fitted} |")
    lines += [
        "",
        "Sentence F1 is support/oppose macro-F1 over found and missed pairs; edge F1 is micro over articles.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    from hydra import compose, initialize_config_dir

    from stance.actors.resolve import choose_gazetteer
    from stance.cli import CONFIG_DIR
    from stance.evaluation.data import evaluation_data
    from stance.evaluation.endtoend import found_pairs
    from stance.model import weights_sha256
    from stance.paths import resolve_path
    from stance.predict.classifier import StanceClassifier

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/pairs-seesaw")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--gazetteer", default="phoenix")
    parser.add_argument("--seed", type=int, default=0, help="which stories fall in which half")
    args = parser.parse_args(argv)
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            "evaluate",
            overrides=[f"model_dir={args.model}", "data=seesaw", f"split={args.split}", f"gazetteer={args.gazetteer}"],
        )
    folder = resolve_path(cfg.model_dir)
    classifier = StanceClassifier.from_pretrained(
        folder, gazetteer=choose_gazetteer(cfg.gazetteer, folder), actors="auto", references=True
    )
    gold = evaluation_data(cfg, classifier, folder).articles
    found, _ = found_pairs(classifier, gold)
    report = {
        "date": date(),
        "commit": commit(),
        "hardware": hardware(),
        "command": "python -m bench.rules " + " ".join(argv if argv is not None else sys.argv[1:]),
        "model": repo_relative(str(ROOT / args.model)),
        "weights_sha256": weights_sha256(folder),
        "split": f"seesaw/{args.split}",
        "articles": len(gold),
        **measure(Pairs(gold, found), args.seed),
    }
    write_results(BENCH / "rules", report, markdown(report))
    print(markdown(report))
