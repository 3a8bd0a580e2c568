"""Roll pair predictions up into actor → target stance pictures, per article and per corpus."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from stance.actors import Gazetteer
from stance.schema import STANCES


class _Scored(Protocol):
    article_id: str
    actor: str
    target: str
    stance: str
    p_support: float
    p_oppose: float
    p_neutral: float


def _edges(predictions: Iterable[_Scored], key: Any) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[_Scored]] = defaultdict(list)
    for p in predictions:
        a, t = key(p.actor), key(p.target)
        if a != t:
            groups[(a, t)].append(p)
    edges = []
    for (actor, target), items in groups.items():
        counts = {s: sum(p.stance == s for p in items) for s in STANCES}
        n = len(items)
        mean = {
            "support": sum(p.p_support for p in items) / n,
            "oppose": sum(p.p_oppose for p in items) / n,
            "neutral": sum(p.p_neutral for p in items) / n,
        }
        edges.append(
            {
                "actor": actor,
                "target": target,
                "n": n,
                "counts": counts,
                "mean_probability": {k: round(v, 4) for k, v in mean.items()},
                "net": round(mean["support"] - mean["oppose"], 4),
            }
        )
    edges.sort(key=lambda e: (-e["n"], e["actor"], e["target"]))
    return edges


def summarize(predictions: Iterable[_Scored], gazetteer: Gazetteer | None = None) -> dict[str, Any]:
    """Per article and per corpus: for each actor → target, stance counts and mean probabilities.

    With a gazetteer, the corpus picture is also given at the level of affiliations
    (persons and bodies rolled up to the country or organisation they stand for).
    """
    predictions = list(predictions)
    by_article: dict[str, list[_Scored]] = defaultdict(list)
    for p in predictions:
        by_article[p.article_id].append(p)
    summary: dict[str, Any] = {
        "articles": {aid: _edges(items, lambda x: x) for aid, items in by_article.items()},
        "corpus": _edges(predictions, lambda x: x),
    }
    if gazetteer is not None:

        def affiliation(name: str) -> str:
            return gazetteer.affiliation(name) if name in gazetteer else name

        summary["corpus_by_affiliation"] = _edges(predictions, affiliation)
    return summary


def write_summary(summary: dict[str, Any], path: str | Path) -> None:
    """Write a summary as JSON."""
    Path(path).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
