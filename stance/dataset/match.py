"""The prediction path's rows in gold terms: the gold articles re-split as a user hands them in
(`path_articles`), and the matcher from a path row to its gold (article, sentence, actor, target).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from stance.actors.gazetteer import Gazetteer
from stance.actors.pairs import article_gazetteer, sentence_mentions
from stance.readers.raw import article_from_text
from stance.schema import Article, PairKey


def article_text(article: Article) -> tuple[str, list[int]]:
    """The text a user would hand in (the sentences joined by spaces) and where each sentence starts in it."""
    starts, pieces, at = [], [], 0
    for sentence in article.sentences:
        starts.append(at)
        pieces.append(sentence)
        at += len(sentence) + 1
    return " ".join(pieces), starts


def _locate(text: str, sentences: Sequence[str]) -> list[int | None]:
    """The start of each split sentence in `text`, searching forward (the splitter keeps text verbatim)."""
    cursor, starts = 0, []
    for sentence in sentences:
        at = text.find(sentence, cursor)
        starts.append(None if at < 0 else at)
        if at >= 0:
            cursor = at + len(sentence)
    return starts


def _gold_sentence(start: int, end: int, gold_starts: Sequence[int], gold: Sequence[str]) -> int:
    """The gold sentence that [start, end) overlaps most."""
    best, best_overlap = 0, -1
    for i, (s, sentence) in enumerate(zip(gold_starts, gold, strict=True)):
        overlap = min(end, s + len(sentence)) - max(start, s)
        if overlap > best_overlap:
            best, best_overlap = i, overlap
        if s > end:
            break
    return best


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


class _EntityMap:
    """Predicted actor → gold entity, sentence by sentence, for one gold article."""

    def __init__(self, gold: Article, gazetteer: Gazetteer, starts: Sequence[int]) -> None:
        self.gold = gold
        self.local = article_gazetteer(gold, gazetteer)
        self.starts = starts
        self.names = {name.casefold(): name for name in gold.actors}
        self._mentions: dict[int, list[tuple[str, tuple[int, int]]]] = {}

    def gold_mentions(self, index: int) -> list[tuple[str, tuple[int, int]]]:
        if index not in self._mentions:
            offset = self.starts[index]
            self._mentions[index] = [
                (m.actor, (offset + m.start, offset + m.end)) for m in sentence_mentions(self.gold, index, self.local)
            ]
        return self._mentions[index]

    def entity(self, actor: str, spans: Sequence[tuple[int, int]], index: int, named_only: bool = False) -> str | None:
        """The gold entity of a predicted actor marked at `spans` in gold sentence `index`.

        By name first, then by the gold mention the spans overlap most. Unplaced: the actor's own name, or
        None with `named_only` (an unmarked end, which the caller places from the actor's other rows).
        """
        if not self.gold.actors or actor in self.gold.actors:
            return actor
        if actor.casefold() in self.names:
            return self.names[actor.casefold()]
        if named_only:
            return None
        best, best_overlap = actor, 0
        for entity, span in self.gold_mentions(index):
            overlap = max((_overlap(span, s) for s in spans), default=0)
            if overlap > best_overlap:
                best, best_overlap = entity, overlap
        return best


def path_articles(gold: Sequence[Article]) -> list[Article]:
    """The gold articles as a user hands them in: their text re-split by the project's splitter, with their date."""
    raw = [article_from_text(a.id, article_text(a)[0]) for a in gold]
    for article, original in zip(raw, gold, strict=True):
        article.date = original.date  # roles and roll-ups follow the article's date, as in stance-predict
    return raw


class GoldMatcher:
    """Puts the prediction path's rows in gold terms: (gold article, gold sentence, gold actor, gold target).

    The one matcher for scoring the path (`found_pairs`) and for training on what it finds
    (`stance.dataset.found`): sentences by overlap, actors by name or by overlapping the gold entity's mention.
    """

    def __init__(self, gold: Sequence[Article], raw: Sequence[Article], gazetteer: Gazetteer) -> None:
        self.texts = {a.id: article_text(a) for a in gold}
        self.gold = {a.id: a for a in gold}
        self.raw = {a.id: a for a in raw}
        self.maps = {a.id: _EntityMap(a, gazetteer, self.texts[a.id][1]) for a in gold}
        self.located = {a.id: _locate(self.texts[a.id][0], a.sentences) for a in raw}

    def keys(self, rows: Sequence[dict[str, Any]]) -> list[PairKey | None]:
        """The gold key of each path row; None where it cannot be placed or names one entity at both ends.

        An end the row does not mark (named in an earlier sentence, `data.context_pairs`) is placed by
        what the same predicted actor's marked mentions in the article were matched to, most often.
        """
        placed = [self._place(row) for row in rows]
        votes: dict[tuple[str, str], Counter[str]] = {}
        for row, ends in zip(rows, placed, strict=True):
            if ends is None:
                continue
            for role, end in zip(("actor", "target"), ends[1], strict=True):
                if end is not None:
                    votes.setdefault((row["article_id"], row[role]), Counter())[end] += 1
        out: list[PairKey | None] = []
        for row, ends in zip(rows, placed, strict=True):
            if ends is None:
                out.append(None)
                continue
            index, (actor, target) = ends
            article_id = row["article_id"]
            actor = actor or _most(votes.get((article_id, row["actor"])), row["actor"])
            target = target or _most(votes.get((article_id, row["target"])), row["target"])
            out.append(None if actor == target else PairKey(article_id, index, actor, target))
        return out

    def _place(self, row: dict[str, Any]) -> tuple[int, tuple[str | None, str | None]] | None:
        """(gold sentence, (actor, target) in gold terms, None for an end without a mark or a gold name)."""
        article_id, i = row["article_id"], row["sentence_index"]
        start = self.located[article_id][i]
        if start is None:  # the splitter changed the text: cannot place it, so it matches no gold label
            return None
        sentence = self.raw[article_id].sentences[i]
        starts = self.texts[article_id][1]
        index = _gold_sentence(start, start + len(sentence), starts, self.gold[article_id].sentences)
        entities: list[str | None] = []
        for role in ("actor", "target"):
            # The mention the model marked for this actor (the path's own finding, gazetteer or found).
            marked = row[f"{role}_start"] >= 0
            spans = [(start + row[f"{role}_start"], start + row[f"{role}_end"])] if marked else []
            entities.append(self.maps[article_id].entity(row[role], spans, index, named_only=not marked))
        return index, (entities[0], entities[1])


def _most(votes: Counter[str] | None, name: str) -> str:
    """The gold entity a predicted actor was matched to most often; its own name when never matched."""
    return votes.most_common(1)[0][0] if votes else name


def gold_labels(articles: Sequence[Article]) -> dict[PairKey, str]:
    """Every gold label, keyed by (article, sentence, actor, target)."""
    return {PairKey(a.id, x.sentence, x.actor, x.target): x.stance for a in articles for x in a.labels}
