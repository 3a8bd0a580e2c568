"""Why the prediction path calls reached gold polar pairs neutral: its input beside the labelled path's.

For every gold support/oppose pair of SEESAW dev that the prediction path
reaches (the pair it scores, matched to gold by `endtoend.GoldMatcher`), the
model input the path builds is put beside the one the labelled builder builds
for the same gold pair: actor and target strings, marked spans, sentence and
context, and the probabilities and calls of both. Then, for each pair the
labelled input calls polar and the path calls neutral, each difference is
undone on its own (the path's input with the labelled names, spans, sentence
or context) and rescored: the count of calls that come back polar is what that
difference costs.

    python -m bench.diagnosis --model models/recipe-seesaw-s42 [--gazetteer phoenix] [--split dev]

Writes bench/diagnosis/results.json and its README.md (`--out` another folder).
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from bench.common import ROOT, commit, cpu, date, offline, repo_relative, write_results

offline()

SPANS = ("actor_start", "actor_end", "target_start", "target_end")
# What is undone together: spans are offsets into their own sentence, so a different sentence brings its spans.
FIELDS = {
    "names": ("actor", "target"),
    "spans": SPANS,
    "sentence": ("text", *SPANS),
    "context": ("context",),
}


def _marked(row: dict[str, Any], role: str) -> str:
    start, end = row[f"{role}_start"], row[f"{role}_end"]
    return row["text"][start:end] if start >= 0 else ""


def _side(row: dict[str, Any], probs: Any, call: str) -> dict[str, Any]:
    """One input of a pair for the table: names, marked words, probabilities and the call."""
    return {
        "actor": row["actor"],
        "target": row["target"],
        "actor_marked": _marked(row, "actor"),
        "target_marked": _marked(row, "target"),
        "p": [round(float(x), 3) for x in probs],
        "call": call,
    }


def differences(path: dict[str, Any], labelled: dict[str, Any]) -> list[str]:
    """Which input groups differ between the two rows, finer for spans (marked or not, which words)."""
    out = []
    for role in ("actor", "target"):
        if path[role] != labelled[role]:
            out.append(f"{role} name")
        p, g = _marked(path, role), _marked(labelled, role)
        if bool(p) != bool(g):
            out.append(f"{role} {'marked only on the path' if p else 'unmarked on the path'}")
        elif p != g:
            out.append(f"{role} marks other words")
    if path["text"] != labelled["text"]:
        out.append("sentence")
    if path["context"] != labelled["context"]:
        out.append("context")
    return out


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.diagnosis", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--gazetteer", default="phoenix")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--out", default="bench/diagnosis", help="folder for results.json and README.md")
    args = parser.parse_args(argv)

    from hydra import compose, initialize_config_dir

    from stance.dataset.match import GoldMatcher, gold_labels, path_articles
    from stance.evaluation.data import evaluation_data
    from stance.model import weights_sha256
    from stance.paths import resolve_path
    from stance.predict.classifier import StanceClassifier
    from stance.schema import STANCES, PairKey

    model = resolve_path(args.model)
    clf = StanceClassifier.from_pretrained(model, device="cpu", gazetteer=args.gazetteer, actors="auto")
    from stance.cli import CONFIG_DIR

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("evaluate", overrides=[f"model_dir={model}", "data=seesaw", f"split={args.split}"])
    data = evaluation_data(cfg, clf, model)
    labels = gold_labels(data.articles)
    labelled = {
        PairKey(r["article_id"], r["sentence_index"], r["actor"], r["target"]): r
        for r in data.examples
        if labels.get(PairKey(r["article_id"], r["sentence_index"], r["actor"], r["target"]), "neutral") != "neutral"
    }
    raw = path_articles(data.articles)
    matcher = GoldMatcher(data.articles, raw, clf.gazetteer)
    reached: dict[PairKey, dict[str, Any]] = {}
    for article_rows in clf.pairs_of_many(raw):
        for row, key in zip(article_rows, matcher.keys(article_rows), strict=True):
            if key in labelled and key not in reached:
                reached[key] = row
    keys = sorted(reached)
    pairs = [(reached[k], labelled[k]) for k in keys]
    path_p = clf.predict_proba([p for p, _ in pairs]).double().numpy()
    gold_p = clf.predict_proba([g for _, g in pairs]).double().numpy()
    path_call, gold_call = clf.decision.labels(path_p), clf.decision.labels(gold_p)
    neutral = STANCES.index("neutral")
    moved = [i for i in range(len(keys)) if gold_call[i] != neutral and path_call[i] == neutral]
    # Undo one difference at a time on the pairs moved to neutral: which brings the polar call back.
    restored: Counter[str] = Counter()
    tried: Counter[str] = Counter()
    for group, fields in FIELDS.items():
        # Spans alone only where the sentence is the same; a different sentence is undone with its spans.
        chosen = [i for i in moved if group != "spans" or pairs[i][0]["text"] == pairs[i][1]["text"]]
        chosen = [i for i in chosen if any(pairs[i][0][f] != pairs[i][1][f] for f in fields)]
        variants = [{**pairs[i][0], **{f: pairs[i][1][f] for f in fields}} for i in chosen]
        tried[group] = len(variants)
        if variants:
            calls = clf.decision.labels(clf.predict_proba(variants).double().numpy())
            restored[group] = int(sum(c != neutral for c in calls))
    diffs = [differences(p, g) for p, g in pairs]
    table = []
    for i, key in enumerate(keys):
        p, g = pairs[i]
        table.append(
            {
                "article": key.article_id,
                "sentence": key.sentence,
                "gold": labels[key],
                "labelled": _side(g, gold_p[i], STANCES[gold_call[i]]),
                "path": _side(p, path_p[i], STANCES[path_call[i]])
                | {"same_sentence": p["text"] == g["text"], "same_context": p["context"] == g["context"]},
                "differences": diffs[i],
            }
        )
    in_moved = Counter(d for i in moved for d in diffs[i])
    overall = Counter(d for ds in diffs for d in ds)
    result = {
        "date": date(),
        "commit": commit(),
        "hardware": f"{cpu()[0]}",
        "command": repo_relative(" ".join(["python", "-m", "bench.diagnosis", *argv])),
        "model": repo_relative(str(model)),
        "weights_sha256": weights_sha256(model),
        "gazetteer": args.gazetteer,
        "actors": clf.actors,
        "decision": {"neutral_threshold": clf.decision.neutral_threshold, "fitted_on": clf.decision.fitted_on},
        "split": args.split,
        "gold_polar_pairs": sum(1 for s in labels.values() if s != "neutral"),
        "reached": len(keys),
        "labelled_polar_path_neutral": len(moved),
        "path_polar_labelled_neutral": int(sum(1 for i in range(len(keys)) if gold_call[i] == neutral != path_call[i])),
        "both_neutral": int(sum(1 for i in range(len(keys)) if gold_call[i] == neutral == path_call[i])),
        "identical_input": sum(1 for ds in diffs if not ds),
        "differences_all": dict(overall.most_common()),
        "differences_moved": dict(in_moved.most_common()),
        "undone_restores_polar": dict(restored),
        "undone_tried": dict(tried),
        "pairs": table,
    }
    write_results(ROOT / args.out, result, markdown(result), indent=1)
    print(markdown(result).split("\n## Every pair")[0])


def markdown(r: dict[str, Any]) -> str:
    """The counts, then every reached pair side by side."""
    lines = [
        f"# The prediction path's input beside the labelled input, SEESAW {r['split']}",
        "",
        f"- {r['date']}, commit {r['commit']}, {r['hardware']}; `{r['command']}`",
        f"- model `{r['model']}`, weights sha256 `{r['weights_sha256']}`; path: gazetteer `{r['gazetteer']}`, "
        f"actors `{r['actors']}`; decision {r['decision']}",
        "",
        f"Of {r['gold_polar_pairs']} gold polar pairs the path reaches {r['reached']}; {r['identical_input']} of "
        f"them with an input identical to the labelled one. Labelled polar but path neutral: "
        f"{r['labelled_polar_path_neutral']}; path polar but labelled neutral: {r['path_polar_labelled_neutral']}; "
        f"both neutral: {r['both_neutral']}.",
        "",
        "| difference | reached pairs with it | of them moved to neutral |",
        "|---|---|---|",
    ]
    for name, n in r["differences_all"].items():
        lines.append(f"| {name} | {n} | {r['differences_moved'].get(name, 0)} |")
    lines += [
        "",
        f"Each group undone alone on the {r['labelled_polar_path_neutral']} pairs moved to neutral (where it "
        "differs; spans alone only where the sentence is the same, a different sentence undone with its spans), "
        "pairs called polar again of those tried: "
        + ", ".join(f"{g} {r['undone_restores_polar'].get(g, 0)} of {n}" for g, n in r["undone_tried"].items()),
        "",
        "## Every pair",
        "",
        "| article:sentence | gold | labelled actor → target [marked] | p (s/o/n) | call | path actor → target "
        "[marked] | p (s/o/n) | call | differences |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in r["pairs"]:
        g, p = row["labelled"], row["path"]
        lines.append(
            f"| {row['article']}:{row['sentence']} | {row['gold']} | {g['actor']} → {g['target']} "
            f"[{g['actor_marked']} / {g['target_marked']}] | {'/'.join(f'{x:.2f}' for x in g['p'])} | {g['call']} "
            f"| {p['actor']} → {p['target']} [{p['actor_marked']} / {p['target_marked']}] "
            f"| {'/'.join(f'{x:.2f}' for x in p['p'])} | {p['call']} | {', '.join(row['differences']) or '–'} |"
        )
    return "\n".join(lines) + "\n"
