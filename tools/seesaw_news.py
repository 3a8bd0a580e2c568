"""SEESAW stories as news to predict on: JSONL articles with date, outlet and url, and the outlets' bias groups.

    python -m tools.seesaw_news --split valid --out outputs/seesaw-news

writes `<out>/articles.jsonl` ({"id", "title", "date", "source", "url", "text"} per
article; the text is the article's sentences joined, so stance-predict splits
it again as it would any news) and `<out>/outlets.csv` (source,group: SEESAW's
bias_label 0–1 → left, 2 → centre, 3–4 → right; an outlet labelled differently
across stories takes its most frequent group). The corpus is read in place by
the project's reader and never copied into the repository: `<out>` is under the
git-ignored `outputs/` by default.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

from omegaconf import OmegaConf

from stance.paths import resolve_path
from stance.readers.seesaw import read_seesaw

GROUPS = {0: "left", 1: "left", 2: "centre", 3: "right", 4: "right"}


def outlet_groups(root: Path, split: str) -> dict[str, str]:
    """outlet → left / centre / right from the stories' meta files (`bias_label`)."""
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for meta_path in sorted((root / "meta").glob("TRIPLET_*.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("Split") != split:
            continue
        for key, info in meta.items():
            if key.startswith("Meta info for article") and isinstance(info, dict):
                label = info.get("bias_label")
                if info.get("source") and label in GROUPS:
                    votes[info["source"]][GROUPS[label]] += 1
    return {source: counts.most_common(1)[0][0] for source, counts in sorted(votes.items())}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.seesaw_news", description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="../shared/datasets/seesaw")
    parser.add_argument("--split", default="valid", choices=["train", "valid"])
    parser.add_argument("--out", default="outputs/seesaw-news")
    args = parser.parse_args()
    root = resolve_path(args.root)
    data = OmegaConf.create({"root": str(root), "splits": [args.split], "max_bad_fraction": 0.01})
    articles, stats = read_seesaw(data)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "articles.jsonl").open("w", encoding="utf-8") as handle:
        for a in sorted(articles, key=lambda a: (a.date, a.id)):
            record = {"id": a.id, "title": a.title, "date": a.date, "source": a.source, "url": a.url}
            handle.write(json.dumps({**record, "text": " ".join(a.sentences)}, ensure_ascii=False) + "\n")
    groups = outlet_groups(root, args.split)
    with (out / "outlets.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "group"])
        writer.writerows(sorted(groups.items()))
    dates = sorted(a.date for a in articles if a.date)
    print(
        f"{len(articles)} articles from {stats.stories} {args.split} stories, {dates[0]} to {dates[-1]}, "
        f"{len(groups)} outlets ({dict(Counter(groups.values()))}) → {out}/articles.jsonl, {out}/outlets.csv"
    )


if __name__ == "__main__":
    main()
