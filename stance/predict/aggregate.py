"""Roll pair predictions up into actor → target stance pictures, per article and per corpus.

`StanceAggregator` keeps running counts and probability sums; `summarize` is
the same over a finished list of predictions. A batch job's summary is
`write_summary_stream` over its predictions file: articles are written out one
by one as they are read, so memory grows with the corpus's distinct edges, not
with its articles.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from stance.actors.gazetteer import Gazetteer
from stance.files import atomic_path, write_text_atomic
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

    def __init__(self, gazetteer: Gazetteer | None = None, keep_articles: bool = True) -> None:
        self.gazetteer = gazetteer
        self.keep_articles = keep_articles
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
        if self.keep_articles:
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


def write_summary_stream(
    predictions: Iterable[PairPrediction],
    path: str | Path,
    gazetteer: Gazetteer | None = None,
    run: dict[str, Any] | None = None,
) -> int:
    """Write the summary of rows that come article by article (a prediction file), atomically; the row count.

    Each article's edges are written as soon as its rows end, so only the corpus
    totals are held. `run`, when given, is written as the summary's `run` entry
    with `pairs` set to the number of rows read.
    """
    corpus = StanceAggregator(gazetteer, keep_articles=False)
    with atomic_path(path) as staging, staging.open("w", encoding="utf-8") as out:
        out.write('{\n  "articles": {')
        separator = "\n"
        for article_id, rows in itertools.groupby(predictions, key=lambda p: p.article_id):
            edges = _Edges()
            for p in rows:
                edges.add(p.actor, p.target, p)
                corpus.add(p)
            out.write(f"{separator}    {json.dumps(article_id, ensure_ascii=False)}: ")
            out.write(json.dumps(edges.edges(), ensure_ascii=False))
            separator = ",\n"
        rest = corpus.summary()
        del rest["articles"]
        if run is not None:
            rest["run"] = {**run, "pairs": corpus.rows}
        out.write("\n  },\n" + json.dumps(rest, indent=2, ensure_ascii=False)[2:] + "\n")
        out.flush()
        os.fsync(out.fileno())
    return corpus.rows
