"""Pair finding: the one way actors are found in an article's sentences and paired, for the builder and for
prediction alike (`article_mentions`, `find_pairs`), and the one way an example's fields are filled
(`pair_examples`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from stance.actors.actor import Mention
from stance.actors.choice import mentioned_actors, pair_mentions
from stance.actors.coref import resolve_references, settle_office_actors
from stance.actors.entities import FOUND, merge_mentions
from stance.actors.finder import MentionFinder
from stance.actors.gazetteer import Gazetteer
from stance.actors.places import resolve_ambiguous
from stance.schema import Article

NO_SPAN = -1


def context_before(sentences: Sequence[str], index: int, n: int) -> str:
    """The `n` sentences before `index`, joined by spaces (the model's view of what came before)."""
    if n <= 0:
        return ""
    return " ".join(sentences[max(0, index - n) : index])


def pair_examples(
    article_id: str,
    sentences: Sequence[str],
    index: int,
    mentions: Sequence[Mention],
    pairs: Iterable[tuple[str, str]],
    context_sentences: int,
) -> list[dict[str, Any]]:
    """One unlabelled example per ordered (actor, target) pair in sentence `index`.

    The single place where an example's fields are filled, used both by the
    builder and by prediction, so training and inference see the same inputs.
    """
    context = context_before(sentences, index, context_sentences)
    rows = []
    for actor, target in pairs:
        a, t = pair_mentions(mentions, actor, target)
        rows.append(
            {
                "id": f"{article_id}:{index}:{actor}->{target}",
                "article_id": article_id,
                "sentence_index": index,
                "text": sentences[index],
                "context": context,
                "actor": actor,
                "target": target,
                "actor_start": a.start if a else NO_SPAN,
                "actor_end": a.end if a else NO_SPAN,
                "target_start": t.start if t else NO_SPAN,
                "target_end": t.end if t else NO_SPAN,
            }
        )
    return rows


def ordered_pairs(actors: Sequence[str]) -> list[tuple[str, str]]:
    """Every ordered pair of distinct actors, in mention order."""
    return [(a, t) for a in actors for t in actors if a != t]


def article_gazetteer(article: Article, gazetteer: Gazetteer) -> Gazetteer:
    """The matcher for one article, shared by the builder and prediction.

    An article with its own closed actor list (`article.actors`, as corpora
    that annotate a fixed entity list per article have) is matched against
    those actors only, with their article-local surface forms first and the
    gazetteer's aliases for any of them it knows. Otherwise: the gazetteer,
    plus any article-local aliases.
    """
    if article.actors:
        return gazetteer.restricted_to(article.actors, article.aliases)
    # "Georgia", "Brussels": read by the article's own context, or left unresolved (stance.actors.places).
    local = resolve_ambiguous(" ".join(article.sentences), gazetteer)
    return local.with_aliases(article.aliases) if article.aliases else local


def given_mentions(article: Article, index: int) -> list[Mention]:
    """The mentions the source marked itself in sentence `index` (DSE's brackets)."""
    text = article.sentences[index]
    return [Mention(actor, s, e, text[s:e], given=True) for actor, (s, e) in article.spans.get(index, {}).items()]


def sentence_mentions(article: Article, index: int, local: Gazetteer) -> list[Mention]:
    """Actor mentions in sentence `index`: the source's own spans first (they win), then the matcher's."""
    return [*given_mentions(article, index), *local.actor_mentions(article.sentences[index])]


def article_mentions(
    article: Article,
    local: Gazetteer,
    found: Sequence[Sequence[tuple[int, int]]] | None = None,
    actors: str = "gazetteer",
    references: bool = False,
) -> tuple[list[list[Mention]], dict[str, str]]:
    """Each sentence's actor mentions, and where each actor came from when a mention finder took part.

    The one way pairs are found, by the builder and by prediction alike.
    `local` is the article's matcher (`article_gazetteer`); `found` the mention
    finder's spans per sentence, merged with the matcher's into one actor per
    entity of the article (`stance.actors.entities`); `actors="found"` keeps only the
    source's own marked mentions besides them. With `references`, role nouns,
    descriptions and pronouns ("the president", "the senator", "He
    said") become mentions of the actor they refer to (`stance.actors.coref`).
    """
    n = len(article.sentences)
    listed = [
        sentence_mentions(article, i, local) if actors != "found" else given_mentions(article, i) for i in range(n)
    ]
    sources: dict[str, str] = {}
    if found is not None:
        listed, entities = merge_mentions(article.sentences, listed, found, local)
        sources = {name: entity.source for name, entity in entities.items()}
    listed = settle_office_actors(article, listed, local)
    if references:
        listed, _ = resolve_references(article, listed, local)
    return listed, sources


def co_mentioned_pairs(mentions: Sequence[Mention]) -> list[tuple[str, str]]:
    """Every ordered pair of the distinct actors mentioned in one sentence, in mention order."""
    return ordered_pairs(mentioned_actors(mentions))


def sentence_pairs(listed: Sequence[Sequence[Mention]], index: int, context_pairs: int = 0) -> list[tuple[str, str]]:
    """The ordered pairs scored in sentence `index`: its co-mentioned actors, then, with `context_pairs` = k,
    each of them with each actor named in the k sentences before and not in this one, both ways.

    A stance is often stated in a sentence that names only one end ("He rejected the plan", where the
    plan's author was named just before); the pair keeps the sentence that states it, and the end named
    earlier is unmarked there (the model sees it in the header and in the context).
    """
    here = mentioned_actors(listed[index])
    pairs = ordered_pairs(here)
    if context_pairs <= 0 or not here:
        return pairs
    named = set(here)
    before: list[str] = []
    for j in range(index - 1, max(-1, index - 1 - context_pairs), -1):  # the most recent first
        for actor in mentioned_actors(listed[j]):
            if actor not in named:
                named.add(actor)
                before.append(actor)
    for actor in here:
        for other in before:
            pairs += [(actor, other), (other, actor)]
    return pairs


def find_pairs(
    articles: Sequence[Article],
    gazetteer: Gazetteer,
    context_sentences: int,
    finder: MentionFinder | None = None,
    actors: str = "gazetteer",
    show_progress: bool = False,
    references: bool = False,
    context_pairs: int = 0,
    spans: Sequence[Sequence[Sequence[tuple[int, int]]]] | None = None,
) -> list[list[dict[str, Any]]]:
    """Every article's actor pairs as model inputs, the finder run over all their sentences in one batched call.

    What `stance-predict` pairs, and what training on the path's pairs (`data.pairs=found`) is built from.
    `context_pairs` is how many sentences back an actor may be named and still be paired (`sentence_pairs`).
    `spans` (per article, per sentence) stand in for the finder's (`finder=silver` at training).
    """
    found: list[Sequence[Sequence[tuple[int, int]]] | None] = (
        list(spans) if spans is not None else [None] * len(articles)
    )
    if spans is None and finder is not None and actors != "gazetteer":
        spans = finder.find([s for a in articles for s in a.sentences], show_progress=show_progress)
        at = 0
        for k, article in enumerate(articles):
            found[k] = spans[at : at + len(article.sentences)]
            at += len(article.sentences)
    return [
        article_pairs(a, gazetteer, context_sentences, f, actors, references, context_pairs)
        for a, f in zip(articles, found, strict=True)
    ]


def article_pairs(
    article: Article,
    gazetteer: Gazetteer,
    context_sentences: int,
    found: Sequence[Sequence[tuple[int, int]]] | None = None,
    actors: str = "gazetteer",
    references: bool = False,
    context_pairs: int = 0,
) -> list[dict[str, Any]]:
    """Every ordered pair of actors of a sentence of `article` (`sentence_pairs`), as the builder's rows.

    `found` are the mention finder's spans per sentence; with them, the
    gazetteer's mentions (unless `actors="found"`) and the found ones are
    merged into one actor per entity of the article (`stance.actors.entities`). Each
    row says where its actors came from, their CAMEO codes and what they roll
    up to at the article's date.
    """
    local = article_gazetteer(article, gazetteer)
    listed, sources = article_mentions(article, local, found, actors, references)
    rows: list[dict[str, Any]] = []
    described: dict[str, tuple[str, str, str, str]] = {}
    for i, mentions in enumerate(listed):
        pairs = sentence_pairs(listed, i, context_pairs)
        if not pairs:
            continue
        for row in pair_examples(article.id, article.sentences, i, mentions, pairs, context_sentences):
            for role in ("actor", "target"):
                name = row[role]
                if name not in described:
                    described[name] = _describe(name, local, sources.get(name), article.date)
                for field, value in zip(_DESCRIBED, described[name], strict=True):
                    row[f"{role}_{field}"] = value
            rows.append(row)
    return rows


_DESCRIBED = ("source", "code", "affiliation", "type")  # what `_describe` gives, in order: the rows' columns


def _describe(name: str, gazetteer: Gazetteer, source: str | None, date: str) -> tuple[str, str, str, str]:
    """(source, CAMEO code, affiliation at `date`, type) of an actor of an article."""
    # A name only the finder gave is not the dictionary actor of that name: "Georgia" left unresolved in
    # an article (data/ambiguous.yaml) is not the country GEO.
    actor = gazetteer.get(name) if source != FOUND else None
    if actor is None:
        return source or FOUND, "", name, ""
    return (
        source or actor.source,
        gazetteer.code(name, date or None) or "",
        gazetteer.affiliation(name, date or None),
        actor.type,
    )


# Where the actor is named in the sentence relative to the target: direction is read, not guessed from order.
ORDERS = ("actor first", "target first", "not both named")


def mention_order(actor_start: int, target_start: int) -> str:
    """Whether the actor's mention comes before the target's; "not both named" when one is not marked."""
    if actor_start < 0 or target_start < 0:
        return ORDERS[2]
    return ORDERS[0] if actor_start < target_start else ORDERS[1]
