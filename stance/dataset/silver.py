"""Silver mention labels from what the project already reads: SEESAW's entity lists (topics, events and
"others" taught as not actors), DSE's bracketed entities, and the gazetteer's matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from stance.actors.actor import Mention
from stance.actors.finder import Span, overlaps, settle
from stance.actors.gazetteer import Gazetteer
from stance.actors.pairs import article_gazetteer, sentence_mentions
from stance.schema import Article

# SEESAW entity types that name a thing talked about, not someone who takes a stance.
NON_ACTOR_TYPES = frozenset({"Topic", "Event", "Others"})


def non_actors(article: Article) -> set[str]:
    """The article's listed entities that are not actors (topics, events, others)."""
    return {name for name, types in article.actor_types.items() if types and set(types) <= NON_ACTOR_TYPES}


def silver_spans(article: Article, index: int, local: Gazetteer, gazetteer: Gazetteer | None) -> list[Span]:
    """The actor spans of sentence `index`: listed actors and given spans first, then gazetteer matches."""
    return _silver(article.sentences[index], sentence_mentions(article, index, local), non_actors(article), gazetteer)


def silver_found(gold: Article, sentences: Sequence[str], gazetteer: Gazetteer | None = None) -> list[list[Span]]:
    """The spans a finder is taught, in `sentences` (the gold article's text re-split as the path splits it).

    What `finder=silver` hands the path in place of a finder's spans: the article's listed actors found
    by their surface forms (and the gazetteer's matches, when given), topics left out, as `silver_spans`.
    """
    local = article_gazetteer(gold, gazetteer if gazetteer is not None else Gazetteer(actors={}))
    skip = non_actors(gold)
    return [_silver(text, local.actor_mentions(text), skip, gazetteer) for text in sentences]


def _silver(text: str, listed: Sequence[Mention], skip: set[str], gazetteer: Gazetteer | None) -> list[Span]:
    actors = [(m.start, m.end) for m in listed if m.actor not in skip]
    topics = [(m.start, m.end) for m in listed if m.actor in skip]
    first = settle(actors, topics)
    extra = [(m.start, m.end) for m in gazetteer.actor_mentions(text)] if gazetteer is not None else []
    return settle([*first, *(s for s in extra if not any(overlaps(s, t) for t in topics))], ())


def silver_sentences(articles: Iterable[Article], gazetteer: Gazetteer | None, corpus: str) -> list[dict[str, Any]]:
    """One silver example per distinct sentence text: {text, spans, corpus, split, group}."""
    by_text: dict[str, dict[str, Any]] = {}
    for article in articles:
        local = (
            article_gazetteer(article, gazetteer)
            if gazetteer is not None
            else article_gazetteer(article, Gazetteer(actors={}))
        )
        for i, text in enumerate(article.sentences):
            spans = silver_spans(article, i, local, gazetteer)
            row = by_text.get(text)
            if row is None:
                by_text[text] = {
                    "text": text,
                    "spans": spans,
                    "corpus": corpus,
                    "split": article.split or "train",
                    "group": article.group or article.id,
                }
            else:  # the same sentence on several DSE lines: every line's brackets are actors
                row["spans"] = settle([*row["spans"], *spans])
    return [{**row, "spans": [list(s) for s in row["spans"]]} for row in by_text.values()]
