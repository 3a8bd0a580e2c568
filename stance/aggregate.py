"""Roll pair predictions up into actor → target stance pictures, per article and per corpus.

`StanceAggregator` keeps running counts and probability sums, so a batch job
adds rows as it writes them and never holds the predictions themselves;
`summarize` is the same over a finished list of predictions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from stance.actors import Gazetteer
from stance.files import write_text_atomic
from stance.schema import STANCES, PairPrediction

_STANCE_INDEX = {s: i for i, s in enumerate(STANCES)}


class _Edges:
    """Running stance counts and probability sums per (actor, target)."""

    def __init__(self) -> None:
        # (actor, target) → [n, count per stance (3), probability sums support/oppose/neutral (3)]
        self.totals: dict[tuple[str, str], list[float]] = {}

    def add(self, actor: str, target: str, p: PairPrediction) -> None:
        if actor == target:
            return
        t = self.totals.get((actor, target))
        if t is None:
            t = self.totals[(actor, target)] = [0, 0, 0, 0, 0.0, 0.0, 0.0]
        t[0] += 1
        t[1 + _STANCE_INDEX[p.stance]] += 1
        t[4] += p.p_support
        t[5] += p.p_oppose
        t[6] += p.p_neutral

    def merge(self, other: _Edges) -> None:
        for key, t in other.totals.items():
            mine = self.totals.get(key)
            if mine is None:
                self.totals[key] = list(t)
            else:
                for i, value in enumerate(t):
                    mine[i] += value

    def edges(self) -> list[dict[str, Any]]:
        out = []
        for (actor, target), t in self.totals.items():
            n = t[0]
            mean = {"support": t[4] / n, "oppose": t[5] / n, "neutral": t[6] / n}
            out.append(
                {
                    "actor": actor,
                    "target": target,
                    "n": n,
                    "counts": {s: t[1 + i] for i, s in enumerate(STANCES)},
                    "mean_probability": {k: round(v, 4) for k, v in mean.items()},
                    "net": round(mean["support"] - mean["oppose"], 4),
                }
            )
        out.sort(key=lambda e: (-e["n"], e["actor"], e["target"]))
        return out


class StanceAggregator:
    """Per article and per corpus, for each actor → target: stance counts and mean probabilities, added row by row.

    With a gazetteer, the corpus picture is also kept at the level of
    affiliations (persons and bodies rolled up to the country or organisation
    they stand for). Memory grows with the number of distinct (article, actor,
    target) edges, not with the number of rows.
    """

    def __init__(self, gazetteer: Gazetteer | None = None) -> None:
        self.gazetteer = gazetteer
        self.articles: dict[str, _Edges] = {}
        self.corpus = _Edges()
        self.by_affiliation = _Edges() if gazetteer is not None else None
        self._affiliation: dict[str, str] = {}
        self.rows = 0

    def _affiliation_of(self, name: str) -> str:
        found = self._affiliation.get(name)
        if found is None:
            g = self.gazetteer
            found = g.affiliation(name) if g is not None and name in g else name
            self._affiliation[name] = found
        return found

    def add(self, p: PairPrediction) -> None:
        """Count one scored pair."""
        self.rows += 1
        article = self.articles.get(p.article_id)
        if article is None:
            article = self.articles[p.article_id] = _Edges()
        article.add(p.actor, p.target, p)
        self.corpus.add(p.actor, p.target, p)
        if self.by_affiliation is not None:
            # A row carries its actors' roll-up at the article's date; older rows are rolled up here, undated.
            actor = p.actor_affiliation or self._affiliation_of(p.actor)
            target = p.target_affiliation or self._affiliation_of(p.target)
            self.by_affiliation.add(actor, target, p)

    def update(self, predictions: Iterable[PairPrediction]) -> StanceAggregator:
        """Count many scored pairs; returns self."""
        for p in predictions:
            self.add(p)
        return self

    def merge(self, other: StanceAggregator) -> None:
        """Add the counts of `other` (an article's rows, kept apart until the article is committed)."""
        self.rows += other.rows
        for aid, edges in other.articles.items():
            mine = self.articles.get(aid)
            if mine is None:
                self.articles[aid] = edges
            else:
                mine.merge(edges)
        self.corpus.merge(other.corpus)
        if self.by_affiliation is not None and other.by_affiliation is not None:
            self.by_affiliation.merge(other.by_affiliation)

    def update_by_article(self, predictions: Iterable[PairPrediction]) -> StanceAggregator:
        """Count rows that come article by article, one article at a time, as a batch job adds them.

        The sums are then added in the very order of the job that wrote the rows,
        so a resumed job's summary equals an uninterrupted one's to the last bit.
        """
        pending, current = StanceAggregator(self.gazetteer), None
        for p in predictions:
            if p.article_id != current and pending.rows:
                self.merge(pending)
                pending = StanceAggregator(self.gazetteer)
            current = p.article_id
            pending.add(p)
        if pending.rows:
            self.merge(pending)
        return self

    def summary(self) -> dict[str, Any]:
        """The summary as `summarize` returns it."""
        summary: dict[str, Any] = {
            "articles": {aid: edges.edges() for aid, edges in self.articles.items()},
            "corpus": self.corpus.edges(),
        }
        if self.by_affiliation is not None:
            summary["corpus_by_affiliation"] = self.by_affiliation.edges()
        return summary


def summarize(predictions: Iterable[PairPrediction], gazetteer: Gazetteer | None = None) -> dict[str, Any]:
    """Per article and per corpus: for each actor → target, stance counts and mean probabilities.

    With a gazetteer, the corpus picture is also given at the level of affiliations
    (persons and bodies rolled up to the country or organisation they stand for).
    """
    return StanceAggregator(gazetteer).update(predictions).summary()


def write_summary(summary: dict[str, Any], path: str | Path) -> None:
    """Write a summary as JSON, atomically: a reader sees the old file or the whole new one."""
    write_text_atomic(Path(path), json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
