"""One actor per entity within an article: the mentions a reader would take for the same person or body, merged.

Mentions come from two places: the gazetteer (named by its canonical actor)
and the mention finder (bare spans). Within one article they are merged the
way a reader would:

* the same name up to case, a leading "the", a possessive and political titles
  ("President Trump", "Mr. Trump" → "Trump");
* a last name and the full name of one person ("Trump" → "Donald Trump"), when
  the article names only one person with that last name;
* an acronym and the name it abbreviates ("DHS" → "Department of Homeland Security");
* a party's noun and adjective forms ("Democrats" → "the Democratic Party");
* a found span that the gazetteer knows as a whole ("Barack Obama" → its actor).

An entity is named by the gazetteer's canonical name when any of its mentions
matched the gazetteer, otherwise by its fullest form in the article (titles
and a leading "the" dropped). Pronouns and descriptions ("the senator") are
not resolved. Where a found span and a gazetteer mention overlap, the longer one is kept
(the gazetteer's on a tie), so a group the finder sees whole ("House
Democrats") is not cut into the parts the gazetteer knows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from stance.actors.actor import Mention
from stance.actors.aliases import same_name_key
from stance.actors.gazetteer import Gazetteer

PERSON_TITLES = (
    "Mr.",
    "Mrs.",
    "Ms.",
    "Mr",  # British style, no full stop: "Mr Trump"
    "Mrs",
    "Ms",
    "Miss",
    "Dr.",
    "Dr",
    "President",
    "Vice President",
    "Sen.",
    "Senator",
    "Rep.",
    "Representative",
    "Congressman",
    "Congresswoman",
    "Gov.",
    "Governor",
    "Lt. Gov.",
    "Secretary",
    "Speaker",
    "Leader",
    "Attorney General",
    "Judge",
    "Justice",
    "Chief Justice",
    "Mayor",
    "Gen.",
    "General",
    "Ambassador",
    "Prime Minister",
    "Chancellor",
)
FOUND = "found"
# One mention of an article, as `_article_mentions` lists them.
_Item = tuple[int, int, int, str, str | None]
_TITLE = re.compile(
    r"^(?:(?:former|then-|late|U\.S\.|US|Senate|House|Majority|Minority)\s+)*(?:"
    + "|".join(re.escape(t) for t in sorted(PERSON_TITLES, key=len, reverse=True))
    + r")\s+(?=[A-Z])"
)
# A span that is a title alone ("Mr" of "Mr Trump", where the name is matched on its own) is no actor.
_TITLE_ALONE = frozenset(t.casefold().rstrip(".") for t in PERSON_TITLES) | {"lt", "prof"}
_LEAD = re.compile(r"^(?:the|The)\s+")
_POSSESSIVE = re.compile(r"['’]s?$")
_FUNCTION_WORDS = frozenset({"of", "the", "and", "for", "on", "in", "to", "a", "an", "&"})
_PRONOUNS = frozenset(
    [
        "i",
        "me",
        "my",
        "we",
        "us",
        "our",
        "you",
        "your",
        "he",
        "him",
        "his",
        "she",
        "her",
        "it",
        "its",
        "they",
        "them",
        "their",
        "this",
        "that",
        "these",
        "those",
        "who",
    ]
)


@dataclass(frozen=True)
class Entity:
    """An actor of one article: its name, where it came from, and the forms the article used."""

    name: str
    source: str  # gazetteer | phoenix | found
    forms: tuple[str, ...]


def clean_form(text: str) -> str:
    """A mention without a leading "the", a possessive or political titles: "President Trump's" → "Trump"."""
    form = _POSSESSIVE.sub("", text.strip().strip(".,;:\"“”'‘’()")).strip()
    form = _LEAD.sub("", form)
    previous = None
    while previous != form:
        previous, form = form, _TITLE.sub("", form)
    return form.strip()


def _stem(form: str) -> str:
    # "Democrats", "Democratic Party", "Democrat" → "democrat"; "Republicans", "Republican Party" → "republican".
    words = [w for w in form.casefold().split() if w != "party"]
    out = []
    for w in words:
        for suffix in ("ic", "s"):
            if w.endswith(suffix) and len(w) > len(suffix) + 3:
                w = w[: -len(suffix)]
                break
        out.append(w)
    return " ".join(out)


def _initials(form: str) -> str:
    words = [w for w in re.split(r"[\s-]+", form) if w and w.casefold() not in _FUNCTION_WORDS]
    return "".join(w[0] for w in words if w[0].isupper())


def _is_acronym(form: str) -> bool:
    return 2 <= len(form) <= 6 and form.isalpha() and form.isupper()


def person_like(form: str) -> bool:
    words = form.split()
    return 2 <= len(words) <= 4 and all(w[0].isupper() for w in words)


class _Union:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def merge_mentions(
    sentences: Sequence[str],
    listed: Sequence[Sequence[Mention]],
    found: Sequence[Sequence[tuple[int, int]]],
    gazetteer: Gazetteer,
) -> tuple[list[list[Mention]], dict[str, Entity]]:
    """Each sentence's mentions named by their article entity, and the entities by name.

    `listed` are the gazetteer's (and the source's own) mentions per sentence,
    `found` the mention finder's spans per sentence.
    """
    items, given = _article_mentions(sentences, listed, found, gazetteer)
    union = _Union(len(items))
    forms = [clean_form(text) for _, _, _, text, _ in items]
    _join_same_names(union, items, forms)
    _join_short_forms(union, items, forms)
    name_of, entities = _name_entities(union, items, forms, gazetteer)
    mentions: list[list[Mention]] = [[] for _ in sentences]
    for k, (i, start, end, text, _) in enumerate(items):
        mentions[i].append(Mention(name_of[union.find(k)], start, end, text, given=given[k]))
    for row in mentions:
        row.sort(key=lambda m: (not m.given, m.start))
    return mentions, entities


def _article_mentions(
    sentences: Sequence[str],
    listed: Sequence[Sequence[Mention]],
    found: Sequence[Sequence[tuple[int, int]]],
    gazetteer: Gazetteer,
) -> tuple[list[_Item], list[bool]]:
    """Every mention of the article in order, and for each whether the source marked it itself."""
    # Every mention of the article, in order: (sentence, start, end, text, gazetteer actor or None).
    items: list[tuple[int, int, int, str, str | None]] = []
    given: list[bool] = []  # a span the source marked itself (it stays first among the sentence's mentions)
    for i, text in enumerate(sentences):
        known = list(listed[i]) if i < len(listed) else []
        spans = list(found[i]) if i < len(found) else []
        # On overlap the longer reading wins, the gazetteer's on a tie: "House Democrats" found is a group
        # of its own, not "House" and "Democrats"; "Chinese police" matched stays the gazetteer's composite.
        spans = [(s, e) for s, e in spans if all(e - s > m.end - m.start for m in known if s < m.end and m.start < e)]
        known = [m for m in known if m.given or not any(s < m.end and m.start < e for s, e in spans)]
        for m in known:
            items.append((i, m.start, m.end, m.text, m.actor))
            given.append(m.given)
        for start, end in spans:
            span_text = text[start:end]
            form = clean_form(span_text)
            if (
                not form
                or form.casefold() in _PRONOUNS
                or form.casefold() in _TITLE_ALONE  # clean_form has stripped the full stop
                or not any(c.isalpha() for c in form)
            ):
                continue
            whole = gazetteer.find(form)
            actor = whole[0].actor if len(whole) == 1 and whole[0].end - whole[0].start == len(form) else None
            items.append((i, start, end, span_text, actor))
            given.append(False)
    return items, given


# "US Congress", "U.S. Congress", "United States Congress": one body, however the country is spelt.
def _join_same_names(union: _Union, items: Sequence[_Item], forms: Sequence[str]) -> None:
    """Join the mentions of one gazetteer actor, of one form up to case (and the US's spelling), and found forms
    of one stem."""
    by_actor: dict[str, int] = {}
    by_key: dict[str, int] = {}
    by_stem: dict[str, int] = {}
    for k, ((_, _, _, _, actor), form) in enumerate(zip(items, forms, strict=True)):
        if actor is not None:
            union.join(by_actor.setdefault(actor, k), k)
            key = same_name_key(actor)
        else:
            key = same_name_key(form)
        union.join(by_key.setdefault(key, k), k)
        if actor is None:
            union.join(by_stem.setdefault(_stem(form), k), k)


def _join_short_forms(union: _Union, items: Sequence[_Item], forms: Sequence[str]) -> None:
    """Join a bare last name or acronym to the one person or name of the article it can stand for."""
    # Full forms seen in the article, for last names and acronyms (a gazetteer actor's name counts).
    full: list[tuple[str, int]] = []
    for k, ((_, _, _, _, actor), form) in enumerate(zip(items, forms, strict=True)):
        full.append((actor if actor is not None else form, k))
    last_names: dict[str, set[int]] = {}
    acronyms: dict[str, set[int]] = {}
    for name, k in full:
        if person_like(name):
            last_names.setdefault(name.split()[-1].casefold(), set()).add(union.find(k))
        initials = _initials(name)
        if len(initials) >= 2 and len(name.split()) >= 2:
            acronyms.setdefault(initials, set()).add(union.find(k))
    for k, ((_, _, _, _, actor), form) in enumerate(zip(items, forms, strict=True)):
        if actor is not None or " " in form:
            continue
        if _is_acronym(form) and len(acronyms.get(form, ())) == 1:
            union.join(next(iter(acronyms[form])), k)
        elif len(last_names.get(form.casefold(), ())) == 1:
            union.join(next(iter(last_names[form.casefold()])), k)


def _name_entities(
    union: _Union, items: Sequence[_Item], forms: Sequence[str], gazetteer: Gazetteer
) -> tuple[dict[int, str], dict[str, Entity]]:
    """Each entity's name by the root of its mentions, and the entities by name."""
    # Name each entity.
    members: dict[int, list[int]] = {}
    for k in range(len(items)):
        members.setdefault(union.find(k), []).append(k)
    name_of: dict[int, str] = {}
    entities: dict[str, Entity] = {}
    for root, ks in members.items():
        actors = [items[k][4] for k in ks if items[k][4] is not None]
        if actors:
            name = max(set(actors), key=actors.count)
            known = gazetteer.get(name)
            source = known.source if known is not None else "gazetteer"
        else:
            name = max((forms[k] for k in ks), key=lambda f: (len(f.split()), len(f), f))
            source = FOUND
        if name in entities and entities[name].source != source:  # a found name equal to another's
            name = f"{name} ({source})"
        name_of[root] = name
        entities[name] = Entity(name, source, tuple(dict.fromkeys(items[k][3] for k in ks)))
    return name_of, entities
