"""References to actors not named in their sentence: role nouns by date, descriptions and pronouns.

Pairs are found between the actors mentioned in one sentence, and news names
an actor once and then refers to them ("the president", "the Kremlin", "the
senator", "He said"). `resolve_references` adds a mention for each such
reference it can resolve, by three rules, each counted:

* **role**: an office noun or an institution metonym (data/roles.yaml). The
  person named with that office's title ("President Xi Jinping … the
  president") or known to hold it on the article's date, in this or the two
  previous sentences; else the office holder on the article's date in the
  article's country (the country most mentioned). Without a date, or without
  a holder on that date, a bare office noun stays unresolved.
* **description**: "the senator", "the governor", "the minister" … the most
  recent person in this or the two previous sentences named with a matching
  title ("Sen. Mitch McConnell"), else one whose CAMEO code carries the
  matching agent (LEG, GOV, MIL, JUD).
* **pronoun**: "he", "she", "him", "her" and "his", wherever they stand (a
  subject, an object, a possessive, inside a quote): the most recent person
  mentioned before it in this or the two previous sentences. Where that is
  someone the sentence already names ("Obama said his bill …") the pronoun adds
  nothing. Gender is not checked (the gazetteer has none). "It" and "they" are
  not resolved: too often they are not actors at all, or a group no single
  mention names. Resolving every form, not only "He said" subjects, raised
  reach and both end-to-end figures on SEESAW dev (docs/experiments.md).

A reference never overlaps a mention already there and never repeats an actor
its sentence already mentions, so a pair never joins an entity to itself. The
one exception is a dictionary's actor for an office itself (Phoenix's "The US
Secretary of State"): where a role noun resolves to its holder, the holder
replaces it (also where the office is named with its country: "the US
Secretary of State"), and as the title before a person's name ("Secretary of
State Antony Blinken", "US Secretary of State Antony Blinken") it is dropped,
so one person is not two actors.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections import Counter
from collections.abc import Sequence

from stance.actors.actor import Mention
from stance.actors.entities import clean_form, person_like
from stance.actors.gazetteer import Gazetteer
from stance.actors.offices import Office, Reference, RoleTable
from stance.actors.roles import default_roles
from stance.schema import Article, iso_day

RULES = ("role", "pronoun", "description")
WINDOW = 2  # previous sentences a reference may reach back to


# Words of a body's name, not a person's: found names that look like persons (capitalised words) and
# Phoenix bodies typed as persons.
_BODY_WORDS = frozenset(
    {
        "House", "Court", "Department", "Ministry", "Party", "Council", "Committee", "Senate", "Congress",
        "Office", "Agency", "Union", "Bank", "Commission", "Administration", "Government", "Army", "Forces",
        "Republic", "States", "Nations", "Times", "Post", "News", "Street", "Group", "Company", "Corp", "Inc",
        "Institute", "University", "Foundation", "Association", "Organization", "Assembly", "Parliament",
        "Service", "Command", "Bureau", "Directorate", "Headquarters", "Liberation", "Security",
    }
)  # fmt: skip


_FUNCTION_WORDS = frozenset({"of", "the", "and", "for", "on", "in", "to", "&"})


_OF_AFTER = re.compile(r"\s+of\s+(?:the\s+)?", re.IGNORECASE)
_PRONOUN = re.compile(r"(?<![\w'’-])([Hh]e|[Ss]he|[Hh]im|[Hh]er|[Hh]is)(?![\w'’-])")


def resolve_references(
    article: Article,
    mentions: Sequence[Sequence[Mention]],
    gazetteer: Gazetteer,
    roles: RoleTable | None = None,
) -> tuple[list[list[Mention]], Counter[str]]:
    """Each sentence's mentions plus resolved references; counts per rule ("role", "pronoun", "description").

    `mentions` are each sentence's mentions, already merged into one actor name
    per entity (`stance.actors.entities.merge_mentions`); they come back unchanged,
    with a mention per resolved reference (its text the reference's words, its
    actor the name the article uses for that entity, else the role table's),
    given mentions first, then by start. `roles`: data/roles.yaml when None.
    """
    table = roles if roles is not None else default_roles()
    state = _ArticleState(article, mentions, gazetteer, table)
    counts: Counter[str] = Counter()
    for i, text in enumerate(article.sentences):
        state.drop_titles(i)
        state.settle_qualified(i)
        for ref in sorted([*table.references(text), *_pronouns(text)], key=lambda r: r.start):
            state.settle(i, ref, counts)
    return state.rows(), counts


def settle_office_actors(
    article: Article, mentions: Sequence[Sequence[Mention]], gazetteer: Gazetteer, roles: RoleTable | None = None
) -> list[list[Mention]]:
    """Each sentence's mentions, a dictionary's actor for an office itself settled (with or without references).

    "Secretary of State Antony Blinken" is one person: Phoenix's "The US Secretary of State" matched on
    the title ("US Secretary of State Antony Blinken" too) is dropped, not paired with him. Matched as a
    role noun ("the Secretary of State said") or with its country ("the US Secretary of State said",
    "the American secretary of state"), it becomes the holder of that country's office on the article's
    date, as `resolve_references` would make it; with no holder known it stays.
    """
    table = roles if roles is not None else default_roles()
    state = _ArticleState(article, mentions, gazetteer, table)
    for i, text in enumerate(article.sentences):
        state.drop_titles(i)
        state.settle_qualified(i)
        for ref in table.references(text):
            if ref.rule == "role" and state.office_mentions(i, ref):
                state.settle(i, ref, Counter())
    return state.rows()


def _pronouns(text: str) -> list[Reference]:
    """Every "he", "she", "him", "her" and "his" of the sentence, in text order."""
    return [Reference(m.start(1), m.end(1), "pronoun") for m in _PRONOUN.finditer(text)]


class _ArticleState:
    """One article's mentions as references are added, and what the rules look up in them."""

    def __init__(
        self, article: Article, mentions: Sequence[Sequence[Mention]], gazetteer: Gazetteer, table: RoleTable
    ) -> None:
        n = len(article.sentences)
        self.sentences, self.gazetteer, self.table = article.sentences, gazetteer, table
        self.day = iso_day(article.date)
        self.given = [list(mentions[i]) if i < len(mentions) else [] for i in range(n)]
        self.added: list[list[tuple[Mention, str]]] = [[] for _ in range(n)]
        self.names = list(dict.fromkeys(m.actor for row in self.given for m in row))
        self.ranking = _ranking(self.given, gazetteer, self.day)
        self._person: dict[str, bool] = {}
        self._named: dict[str, str] = {}
        self._qualified: dict[str, tuple[str, str] | None] = {}

    def row(self, i: int) -> list[Mention]:
        return [*self.given[i], *(m for m, _ in self.added[i])]

    def rows(self) -> list[list[Mention]]:
        return [sorted(self.row(i), key=lambda m: (not m.given, m.start)) for i in range(len(self.sentences))]

    def add(self, i: int, mention: Mention, rule: str) -> None:
        self.added[i].append((mention, rule))

    def settle(self, i: int, ref: Reference, counts: Counter[str]) -> None:
        """Add the actor a reference resolves to (in place of the office actors it covers), counted by rule."""
        offices = self.office_mentions(i, ref)
        if offices is None:
            return
        actor = self.resolve(i, ref)
        if actor is None:
            return
        self.drop(i, offices)
        if actor in {m.actor for m in self.row(i)}:
            return
        text = self.sentences[i]
        self.add(i, Mention(actor, ref.start, ref.end, text[ref.start : ref.end]), ref.rule)
        counts[ref.rule] += 1

    def drop(self, i: int, mentions: Sequence[Mention]) -> None:
        self.given[i] = [m for m in self.given[i] if m not in mentions]

    def office_mentions(self, i: int, ref: Reference) -> list[Mention] | None:
        """The mentions within a role noun that name the office itself (it may replace them); None: span taken."""
        inside: list[Mention] = []
        for m in self.row(i):
            if m.start < ref.end and ref.start < m.end:
                if ref.rule != "role" or ref.jurisdiction is not None or m.given:
                    return None
                if not (ref.start <= m.start and m.end <= ref.end and self.table.names_office(m.text)):
                    return None
                inside.append(m)
        return inside

    def drop_titles(self, i: int) -> None:
        """Drop an office's actor read from the title before a person's name ("Secretary of State Antony Blinken")."""
        row = sorted(self.given[i], key=lambda m: m.start)
        titles = [
            m
            for m, after in itertools.pairwise(row)
            if not m.given
            and not self.sentences[i][m.end : after.start].strip()
            and m.end < after.start
            and (self.table.names_office(m.text) or self.qualified_office(m.text) is not None)
            and self.is_person(after.actor)
        ]
        if titles:
            self.drop(i, titles)

    def settle_qualified(self, i: int) -> None:
        """A dictionary's actor for a country's office ("The US Secretary of State") becomes its holder on the date.

        Where the holder is already a mention of the sentence, the office's mention is dropped instead.
        """
        kept: list[Mention] = []
        present = {m.actor for m in self.given[i]}
        for m in self.given[i]:
            office = None if m.given else self.qualified_office(m.text)
            holder = self.article_name(self.table.offices[office[0]].holder(office[1], self.day)) if office else None
            if holder is None:
                kept.append(m)
            elif holder not in present:
                kept.append(dataclasses.replace(m, actor=holder))
                present.add(holder)
        self.given[i] = kept

    def qualified_office(self, form: str) -> tuple[str, str] | None:
        """(office, jurisdiction) of an office named with its country ("the US president", "Russia's president")."""
        if form not in self._qualified:
            self._qualified[form] = self._read_qualified(form)
        return self._qualified[form]

    def _read_qualified(self, form: str) -> tuple[str, str] | None:
        words = form.split()
        if words and words[0].casefold() == "the":
            words = words[1:]
        for k in range(1, min(3, len(words) - 1) + 1):
            office = self.table.office_of(" ".join(words[k:]))
            if office is None:
                continue
            country = re.sub(r"['’]s$", "", " ".join(words[:k]))
            found = self.gazetteer.find(country)
            if len(found) != 1 or (found[0].start, found[0].end) != (0, len(country)):
                continue
            actor = self.gazetteer.get(found[0].actor)
            where = _jurisdiction(self.gazetteer, found[0].actor, self.day)
            if actor is not None and actor.type == "country" and where is not None:
                return office, where
        return None

    def resolve(self, i: int, ref: Reference) -> str | None:
        if ref.rule == "pronoun":
            before = self.persons_before(i, ref.start)
            return before[0][0] if before else None
        if ref.rule == "description":
            return self._described(i, ref)
        return self._office_holder(i, ref)

    def persons_before(self, i: int, start: int) -> list[tuple[str, int, Mention]]:
        """(actor, sentence, mention) of the persons before `start`, nearest first, back WINDOW sentences.

        Named mentions and resolved role or description references count; resolved pronouns do not,
        so "He" never reaches further back than the last sentence that names someone.
        """
        out = []
        for k in range(i, max(-1, i - WINDOW - 1), -1):
            row = [*self.given[k], *(m for m, rule in self.added[k] if rule != "pronoun")]
            for m in sorted(row, key=lambda m: -m.start):
                if (k < i or m.end <= start) and self.is_person(m.actor):
                    out.append((m.actor, k, m))
        return out

    def is_person(self, name: str) -> bool:
        """A gazetteer person, or a found name that looks like one; never a name that looks like a body."""
        if name not in self._person:
            actor = self.gazetteer.get(name)
            form = clean_form(name)
            known = actor is not None and actor.type != "other"
            person = actor.type == "person" if known and actor is not None else person_like(form)
            # Phoenix types some bodies as persons ("Federal Bureau of Investigation", "Free Syrian Army").
            words = form.replace(".", "").split()
            self._person[name] = person and not any(w in _BODY_WORDS or w in _FUNCTION_WORDS for w in words)
        return self._person[name]

    def _described(self, i: int, ref: Reference) -> str | None:
        """The most recent person titled like the description; else one whose code carries its agent."""
        desc = self.table.descriptions[ref.key]
        candidates = self.persons_before(i, ref.start)
        for actor, k, m in candidates:
            if desc.name in self.table.titles_of(self.sentences[k], m):
                return actor
        for actor, _, _ in candidates:
            code = self.gazetteer.code(actor, self.day) or ""
            if any(code[j : j + 3] in desc.agents for j in range(3, len(code), 3)):
                return actor
        return None

    def _office_holder(self, i: int, ref: Reference) -> str | None:
        """A role noun's referent: its own jurisdiction, a titled or known holder nearby, else the article's country."""
        office = self.table.offices[ref.key]
        if ref.jurisdiction is not None:
            return self.article_name(office.holder(ref.jurisdiction, self.day))
        text = self.sentences[i]
        of = _OF_AFTER.match(text, ref.end)
        if of is not None:  # "the president of France": that country's, or not a holder we know
            after = min((m for m in self.row(i) if ref.end < m.start <= of.end()), key=lambda m: m.start, default=None)
            where = _jurisdiction(self.gazetteer, after.actor, self.day) if after else None
            return self.article_name(office.holder(where, self.day)) if where else None
        candidates = self.persons_before(i, ref.start)
        for actor, k, m in candidates:
            if office.name in self.table.titles_of(self.sentences[k], m):
                return actor
        holding = {self.article_name(office.holder(j, self.day)) for j in office.holders} - {None}
        for actor, _, _ in candidates:
            if actor in holding:
                return actor
        where = _jurisdiction_for(office, self.ranking)
        return self.article_name(office.holder(where, self.day)) if where else None

    def article_name(self, holder: str | None) -> str | None:
        """The name the article uses for a holder (same name, the gazetteer's, or the last name), else the holder's."""
        if holder is None:
            return None
        if holder not in self._named:
            self._named[holder] = self._match_name(holder)
        return self._named[holder]

    def _match_name(self, holder: str) -> str:
        by_case = {n.casefold(): n for n in reversed(self.names)}
        if holder.casefold() in by_case:
            return by_case[holder.casefold()]
        canonical = self.gazetteer.canonical(holder)
        if canonical is None:
            whole = self.gazetteer.find(holder)
            if len(whole) == 1 and whole[0].start == 0 and whole[0].end == len(holder):
                canonical = whole[0].actor
        if canonical is not None and canonical.casefold() in by_case:
            return by_case[canonical.casefold()]
        same = [n for n in self.names if self._same_surname(n, holder)]
        if len(same) == 1:
            return same[0]
        return canonical or holder

    def _same_surname(self, name: str, holder: str) -> bool:
        """Whether an article's person is the holder by last name: "Biden", or "Joseph Biden" for Joe Biden."""
        words, theirs = clean_form(name).split(), holder.split()
        if not words or words[-1].casefold() != theirs[-1].casefold():
            return False
        if len(words) == 1:  # a bare last name, unless the gazetteer knows it as something else
            return self.gazetteer.get(name) is None or self.is_person(name)
        # Same first initial: "Melania Trump" is not Donald Trump, "Hillary Clinton" not Bill Clinton.
        return self.is_person(name) and words[0][0].casefold() == theirs[0][0].casefold()


def _jurisdiction(gazetteer: Gazetteer, name: str, day: str | None) -> str | None:
    """The country (CAMEO code, 3 letters) or organisation (its code) an actor stands for on `day`."""
    if gazetteer.get(name) is None:
        return None
    top = gazetteer.get(gazetteer.affiliation(name, day))
    if top is not None and top.code:
        if top.type == "country":
            return top.code[:3]
        if top.type in ("organization", "alliance"):
            return top.code
    code = gazetteer.code(name, day) or ""
    # A person in a non-state role (USAELI) is still of that country. The gazetteer's code index is the only
    # table from a code to its country; an article-restricted gazetteer has none, and then this step is skipped.
    owner = gazetteer.get(getattr(gazetteer, "_codes", {}).get(code[:3], "")) if code else None
    return code[:3] if owner is not None and owner.type == "country" else None


def _ranking(rows: Sequence[Sequence[Mention]], gazetteer: Gazetteer, day: str | None) -> list[str]:
    """The jurisdictions an article mentions, most mentioned first (ties: the first mentioned)."""
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    for row in rows:
        for m in sorted(row, key=lambda m: m.start):  # "first mentioned" by place in the text, not list order
            where = _jurisdiction(gazetteer, m.actor, day)
            if where is not None:
                counts[where] += 1
                first.setdefault(where, len(first))
    return sorted(counts, key=lambda j: (-counts[j], first[j]))


def _jurisdiction_for(office: Office, ranking: Sequence[str]) -> str | None:
    """Whose office a bare role noun names, from the article's country context.

    An international organisation's office (the secretary-general): the one the
    article mentions most. A country's: the most mentioned country's, when it
    has that office; the USA's when the article mentions no country; the USA's
    also when only the USA has the office (the secretary of state) and the
    article mentions it. Otherwise none: "the president" in a story about Iran
    is not the US president just because Washington is mentioned too.
    """
    codes = set(office.holders)
    if all(len(c) != 3 for c in codes):
        return next((j for j in ranking if j in codes), None)
    countries = [j for j in ranking if len(j) == 3]
    if not countries:
        return "USA" if "USA" in codes else None
    if countries[0] in codes:
        return countries[0]
    return "USA" if codes == {"USA"} and "USA" in countries else None
