"""References to actors not named in their sentence: role nouns by date, descriptions and pronoun subjects.

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
* **pronoun**: "He"/"She" as a sentence's first word or in a reporting clause
  (", he said", "she added"): the most recent person mentioned before it in
  this or the two previous sentences. Gender is not checked (the gazetteer
  has none). "It" and "They" are not resolved: too often they are not actors
  at all, or a group no single mention names.

A reference never overlaps a mention already there and never repeats an actor
its sentence already mentions, so a pair never joins an entity to itself.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from stance.actors.entities import _person_like, clean_form
from stance.actors.gazetteer import Gazetteer, Mention
from stance.errors import InputFormatError, Problem, display_path
from stance.paths import resolve_path
from stance.schema import Article

DEFAULT_ROLES = "data/roles.yaml"
RULES = ("role", "pronoun", "description")
WINDOW = 2  # previous sentences a reference may reach back to
_CODE = re.compile(r"^[A-Z]{3}(?:[A-Z]{3})*$")
_AGENT = re.compile(r"^[A-Z]{3}$")

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
_GENERIC_BEFORE = frozenset(
    {
        "a", "an", "any", "every", "each", "no", "another", "sitting", "future", "next", "new", "former",
        "late", "become", "becomes", "became", "becoming", "elect", "elected",
    }
)  # fmt: skip
_FUNCTION_WORDS = frozenset({"of", "the", "and", "for", "on", "in", "to", "&"})
# Nouns that are also modifiers ("the official visit", "the general election", "the justice system"): they
# count only before punctuation, a verb ("the general agreed") or a relative pronoun.
_MODIFIER_PRONE = frozenset({"the official", "the general", "the justice"})
_VERB_AFTER = re.compile(
    r"\s*(?:[^\w\s]|$|(?:said|says|say|told|tells|adds|has|had|have|is|was|were|will|would|could|can|may|"
    r"might|must|should|did|does|also|then|later|spoke|speaks|who|which|and|or|but)\b|[a-z]+ed\b)"
)
# An institution before one of these is a modifier: "a Downing Street spokesman" is not the prime minister.
_STAFF_AFTER = re.compile(
    r"\s+(?:spokes\w*|officials?|aides?|staff(?:ers?)?|press|sources?|chief|advis[eo]rs?|insiders?|"
    r"correspondents?|lawn|briefings?|counsel|lawyers?|team|grounds|residence)\b",
    re.IGNORECASE,
)
_NAME_AFTER = re.compile(r"\s+[A-Z]")
_OF_AFTER = re.compile(r"\s+of\s+(?:the\s+)?", re.IGNORECASE)
_SAYING = (
    "said|says|added|adds|told|noted|wrote|argued|warned|insisted|stressed|explained|continued|replied|asked|"
    "declared|recalled|acknowledged|conceded|suggested|maintained|contended|insists|argues|warns"
)
# Not after an opening quote: a quoted "He" is the speaker's, and often someone the story has not named.
_PRONOUN_FIRST = re.compile(r"^[\s(\[—–-]*(He|She)(?![\w-])")
_PRONOUN_SAID = re.compile(rf"(?<![\w'’-])([Hh]e|[Ss]he)\s+(?:{_SAYING})(?!\w)")


@dataclass(frozen=True)
class Holder:
    """One term of an office: `start` the first day, `end` the last (the successor's first day; None = open)."""

    name: str
    start: str
    end: str | None = None

    def holds(self, day: str) -> bool:
        """Whether this term covers `day` (ISO YYYY-MM-DD)."""
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class Office:
    """An office ("president"), the words that name it, and its holders per jurisdiction (a CAMEO code)."""

    name: str
    forms: tuple[str, ...]
    titles: tuple[str, ...] = ()
    bare: tuple[str, ...] = ()
    holders: Mapping[str, tuple[Holder, ...]] = field(default_factory=dict)

    def holder(self, jurisdiction: str, day: str | None) -> str | None:
        """Who held the office in `jurisdiction` on `day`; on a handover day, the successor."""
        if day is None:
            return None
        live = [h for h in self.holders.get(jurisdiction, ()) if h.holds(day)]
        return max(live, key=lambda h: h.start).name if live else None


@dataclass(frozen=True)
class Description:
    """A description ("the senator") and what marks a named person as its referent: titles, CAMEO agents."""

    name: str
    forms: tuple[str, ...]
    titles: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Metonym:
    """An institution that speaks for an office holder ("the Kremlin" → the Russian president)."""

    form: str
    office: str
    jurisdiction: str


@dataclass(frozen=True)
class _Ref:
    """A span that may refer to an actor: its rule, and the office or description it names."""

    start: int
    end: int
    rule: str
    key: str = ""
    jurisdiction: str | None = None  # fixed by a metonym


def _alternation(phrases: Iterable[str]) -> str:
    """A regex alternation of phrases, longest first, any run of white space between words."""
    ordered = sorted(set(phrases), key=lambda p: (-len(p), p))
    return "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in ordered)


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


class RoleTable:
    """Offices with dated holders, institution metonyms and descriptions, and the patterns that find them."""

    def __init__(
        self,
        offices: Mapping[str, Office],
        metonyms: Sequence[Metonym] = (),
        descriptions: Mapping[str, Description] | None = None,
        source: str = "<roles>",
    ) -> None:
        self.offices, self.metonyms, self.source = dict(offices), tuple(metonyms), source
        self.descriptions = dict(descriptions or {})
        self._forms: dict[str, tuple[str, str]] = {}
        for office in self.offices.values():
            self._forms.update({_norm(f): ("role", office.name) for f in office.forms})
        for desc in self.descriptions.values():
            self._forms.update({_norm(f): ("description", desc.name) for f in desc.forms})
        self._bare = {b: o.name for o in self.offices.values() for b in o.bare}
        self._metonym = {_norm(m.form.removeprefix("the ")): m for m in self.metonyms}
        self._titles: dict[str, set[str]] = {}
        for item in (*self.offices.values(), *self.descriptions.values()):
            for title in item.titles:
                self._titles.setdefault(_norm(title), set()).add(item.name)
        words = r"(?<![\w-])(?:{})(?![\w-])"
        self._forms_re = _compiled(words, self._forms, re.IGNORECASE)
        self._bare_re = _compiled(words, self._bare, 0)
        metonyms_re = "|".join(
            (r"[Tt]he\s+" if m.form.startswith("the ") else "") + _alternation([m.form.removeprefix("the ")])
            for m in sorted(self.metonyms, key=lambda m: -len(m.form))
        )
        self._metonym_re = re.compile(words.format(metonyms_re)) if self.metonyms else None
        titles = _alternation(self._titles)
        self._title_end = _compiled(r"(?<![\w.])(?:{})\s+$", self._titles, re.IGNORECASE)
        self._title_in = re.compile(rf"(?<![\w.])({titles})\s+(?=[A-Z])", re.IGNORECASE) if titles else None

    def references(self, text: str) -> list[_Ref]:
        """The role and description spans of a sentence, longest first where they overlap, in text order."""
        found: list[_Ref] = []
        for match in _matches(self._forms_re, text):
            rule, key = self._forms[_norm(match.group())]
            found.append(_Ref(match.start(), match.end(), rule, key))
        for match in _matches(self._metonym_re, text):
            metonym = self._metonym[_norm(re.sub(r"^[Tt]he\s+", "", match.group()))]
            found.append(_Ref(match.start(), match.end(), "role", metonym.office, metonym.jurisdiction))
        for match in _matches(self._bare_re, text):
            if _bare_stands_for_holder(text[: match.start()]):
                found.append(_Ref(match.start(), match.end(), "role", self._bare[match.group()]))
        kept: list[_Ref] = []
        for ref in sorted(found, key=lambda r: (r.start - r.end, r.start)):
            if all(ref.end <= k.start or k.end <= ref.start for k in kept) and _stands_alone(text, ref):
                kept.append(ref)
        return sorted(kept, key=lambda r: r.start)

    def titles_of(self, text: str, mention: Mention) -> set[str]:
        """The offices and descriptions whose title the text gives a mention ("Sen. Mitch McConnell" → senator)."""
        match = self._title_in.search(mention.text) if self._title_in else None
        if match is None and self._title_end is not None:
            match = self._title_end.search(text[: mention.start])
        if match is None:
            return set()
        return self._titles.get(_norm(match.group().strip()), set())


def _compiled(template: str, phrases: Iterable[str], flags: int) -> re.Pattern[str] | None:
    alternation = _alternation(phrases)
    return re.compile(template.format(alternation), flags) if alternation else None


def _matches(pattern: re.Pattern[str] | None, text: str) -> Iterator[re.Match[str]]:
    return pattern.finditer(text) if pattern is not None else iter(())


def _bare_stands_for_holder(before: str) -> bool:
    """Whether a bare title ("President") after this text names the holder: "this President", "Mr. President".

    A capitalised word before it qualifies it ("Vice President", "Russian President"), and a determiner or
    a word of time makes it generic or someone else ("a sitting President", "the former President").
    """
    words = before.split()
    if not words:
        return True
    last = words[-1].strip("“‘\"'(")
    if last.casefold() in _GENERIC_BEFORE:
        return False
    return not last[:1].isupper() or last in ("Mr.", "Madam") or before.rstrip()[-1] in '.!?"“'


def _stands_alone(text: str, ref: _Ref) -> bool:
    """Whether a span is a reference, not part of a name ("the President Xi") or a modifier ("the official visit")."""
    after = text[ref.end :]
    if _NAME_AFTER.match(after):
        return False
    if ref.jurisdiction is not None:
        return _STAFF_AFTER.match(after) is None
    if _norm(text[ref.start : ref.end]) in _MODIFIER_PRONE:
        return _VERB_AFTER.match(after) is not None
    return True


# --------------------------------------------------------------------------- loading


class _Loader(yaml.SafeLoader):
    """YAML with dates left as strings: a bad date is then a problem with its field, not a parse failure."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_roles(path: str | Path = DEFAULT_ROLES) -> RoleTable:
    """Load and check a roles file (data/roles.yaml); every problem is reported with the file and field."""
    file = resolve_path(path)
    shown = display_path(file)
    try:
        raw = yaml.load(file.read_text(encoding="utf-8"), Loader=_Loader)  # a SafeLoader
    except OSError as exc:
        raise InputFormatError([Problem(shown, f"cannot read: {exc.strerror}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputFormatError([Problem(shown, f"invalid YAML: {exc}", line=mark.line + 1 if mark else None)]) from None
    return roles_from_dict(raw, shown)


@lru_cache(maxsize=1)
def _default_roles() -> RoleTable:
    """data/roles.yaml, read once per process."""
    return load_roles(DEFAULT_ROLES)


def roles_from_dict(raw: object, source: str = "<roles>") -> RoleTable:
    """A role table from the parsed YAML structure (`offices`, `metonyms`, `descriptions`)."""
    problems: list[Problem] = []
    if not isinstance(raw, dict) or not isinstance(raw.get("offices"), dict):
        raise InputFormatError([Problem(source, "expected a mapping with an 'offices' mapping", field="offices")])
    unknown = set(raw) - {"offices", "metonyms", "descriptions"}
    if unknown:
        problems.append(Problem(source, f"unknown keys {sorted(unknown)}", field=sorted(unknown)[0]))
    offices = {}
    for name, entry in raw["offices"].items():
        office = _parse_office(str(name), entry, source, problems)
        if office is not None:
            offices[office.name] = office
    metonyms = _parse_metonyms(raw.get("metonyms"), offices, source, problems)
    descriptions = _parse_descriptions(raw.get("descriptions"), source, problems)
    if problems:
        raise InputFormatError(problems)
    return RoleTable(offices, metonyms, descriptions, source)


def _strings(value: Any, where: str, source: str, problems: list[Problem], required: bool = False) -> tuple[str, ...]:
    """A list of non-empty strings, or a problem."""
    if (value is None or value == []) and not required:
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(Problem(source, "must be a non-empty list of non-empty strings", field=where))
        return ()
    return tuple(" ".join(v.split()) for v in value)


def _keys(entry: Any, allowed: set[str], where: str, source: str, problems: list[Problem]) -> bool:
    """Whether `entry` is a mapping of allowed keys; a problem otherwise."""
    if not isinstance(entry, dict):
        problems.append(Problem(source, f"must be a mapping with {', '.join(sorted(allowed))}", field=where))
        return False
    unknown = set(entry) - allowed
    if unknown:
        problems.append(
            Problem(source, f"unknown keys {sorted(unknown)}; use {', '.join(sorted(allowed))}", field=where)
        )
    return True


def _parse_office(name: str, entry: Any, source: str, problems: list[Problem]) -> Office | None:
    where = f"offices.{name}"
    if not _keys(entry, {"forms", "titles", "bare", "holders"}, where, source, problems):
        return None
    forms = _strings(entry.get("forms"), f"{where}.forms", source, problems, required=True)
    titles = _strings(entry.get("titles"), f"{where}.titles", source, problems)
    bare = _strings(entry.get("bare"), f"{where}.bare", source, problems)
    raw = entry.get("holders")
    if not isinstance(raw, dict) or not raw:
        problems.append(
            Problem(source, "must map jurisdiction codes (USA, IGOUNO) to holders", field=f"{where}.holders")
        )
        raw = {}
    holders = {}
    for code, terms in raw.items():
        here = f"{where}.holders.{code}"
        if not (isinstance(code, str) and _CODE.match(code)):
            problems.append(Problem(source, f"{code!r} is not a CAMEO code (USA, IGOUNO)", field=here))
            continue
        holders[code] = _parse_holders(terms, here, source, problems)
    return Office(name, forms, titles, bare, holders)


def _parse_holders(raw: Any, where: str, source: str, problems: list[Problem]) -> tuple[Holder, ...]:
    """`[{name, from, to}]` in date order, terms not overlapping (one may start the day the last ends)."""
    if not isinstance(raw, list) or not raw:
        problems.append(Problem(source, "must be a non-empty list of {name, from, to}", field=where))
        return ()
    holders: list[Holder] = []
    for j, item in enumerate(raw):
        here = f"{where}[{j}]"
        if not _keys(item, {"name", "from", "to"}, here, source, problems):
            continue
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(source, "each holder needs a non-empty 'name'", field=f"{here}.name"))
            continue
        start, end = _date(item.get("from"), f"{here}.from", source, problems), None
        if item.get("to") is not None:
            end = _date(item["to"], f"{here}.to", source, problems)
        if start is None:
            continue
        if end is not None and end < start:
            problems.append(Problem(source, f"term ends ({end}) before it starts ({start})", field=f"{here}.to"))
        previous = holders[-1] if holders else None
        if previous is not None and (previous.end is None or start < previous.end):
            problems.append(
                Problem(source, f"term starts before the previous one ends ({previous.name})", field=f"{here}.from")
            )
        holders.append(Holder(" ".join(name.split()), start, end))
    return tuple(holders)


def _date(value: Any, where: str, source: str, problems: list[Problem]) -> str | None:
    """An ISO date (YAML reads `2017-01-20` as a date already), or a problem."""
    if isinstance(value, dt.date):
        return value.isoformat()[:10]
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        problems.append(Problem(source, f"{value!r} is not a date (YYYY-MM-DD)", field=where))
        return None


def _parse_metonyms(raw: Any, offices: Mapping[str, Office], source: str, problems: list[Problem]) -> list[Metonym]:
    """`{the Kremlin: {office: president, jurisdiction: RUS}}`: an office and one of its jurisdictions."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        problems.append(Problem(source, "must map phrases to {office, jurisdiction}", field="metonyms"))
        return []
    metonyms = []
    for form, entry in raw.items():
        where = f"metonyms.{form}"
        if not isinstance(form, str) or not form.strip():
            problems.append(Problem(source, "a metonym must be a non-empty phrase", field=where))
            continue
        if not _keys(entry, {"office", "jurisdiction"}, where, source, problems):
            continue
        office = offices.get(str(entry.get("office")))
        if office is None:
            problems.append(
                Problem(source, f"office {entry.get('office')!r} is not in offices", field=f"{where}.office")
            )
        elif entry.get("jurisdiction") not in office.holders:
            shown = ", ".join(office.holders)
            problems.append(
                Problem(
                    source,
                    f"jurisdiction {entry.get('jurisdiction')!r} is not one of {shown}",
                    field=f"{where}.jurisdiction",
                )
            )
        else:
            metonyms.append(Metonym(" ".join(str(form).split()), office.name, entry["jurisdiction"]))
    return metonyms


def _parse_descriptions(raw: Any, source: str, problems: list[Problem]) -> dict[str, Description]:
    """`{senator: {forms, titles, agents}}`, agents being CAMEO sector codes (LEG, GOV, MIL, JUD)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(Problem(source, "must map nouns to {forms, titles, agents}", field="descriptions"))
        return {}
    descriptions = {}
    for name, entry in raw.items():
        where = f"descriptions.{name}"
        if not _keys(entry, {"forms", "titles", "agents"}, where, source, problems):
            continue
        forms = _strings(entry.get("forms"), f"{where}.forms", source, problems, required=True)
        titles = _strings(entry.get("titles"), f"{where}.titles", source, problems)
        agents = _strings(entry.get("agents"), f"{where}.agents", source, problems)
        bad = [a for a in agents if not _AGENT.match(a)]
        if bad:
            problems.append(
                Problem(source, f"agents {bad} are not CAMEO sector codes (LEG, GOV)", field=f"{where}.agents")
            )
        descriptions[str(name)] = Description(str(name), forms, titles, agents)
    return descriptions


# --------------------------------------------------------------------------- resolving


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
    table = roles if roles is not None else _default_roles()
    state = _ArticleState(article, mentions, gazetteer, table)
    counts: Counter[str] = Counter()
    for i, text in enumerate(article.sentences):
        for ref in sorted([*table.references(text), *_pronouns(text)], key=lambda r: r.start):
            if state.taken(i, ref.start, ref.end):
                continue
            actor = state.resolve(i, ref)
            if actor is None or actor in {m.actor for m in state.row(i)}:
                continue
            state.add(i, Mention(actor, ref.start, ref.end, text[ref.start : ref.end]), ref.rule)
            counts[ref.rule] += 1
    return state.rows(), counts


def _pronouns(text: str) -> list[_Ref]:
    """The "He"/"She" subjects: a sentence's first word, or in a reporting clause (", he said")."""
    spans = {m.span(1) for m in _PRONOUN_FIRST.finditer(text)} | {m.span(1) for m in _PRONOUN_SAID.finditer(text)}
    return [_Ref(start, end, "pronoun") for start, end in sorted(spans)]


def _day(date: str | None) -> str | None:
    """The article's ISO day, or None when it has no (valid) date."""
    text = (date or "").strip()[:10]
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return None


class _ArticleState:
    """One article's mentions as references are added, and what the rules look up in them."""

    def __init__(
        self, article: Article, mentions: Sequence[Sequence[Mention]], gazetteer: Gazetteer, table: RoleTable
    ) -> None:
        n = len(article.sentences)
        self.sentences, self.gazetteer, self.table = article.sentences, gazetteer, table
        self.day = _day(article.date)
        self.given = [list(mentions[i]) if i < len(mentions) else [] for i in range(n)]
        self.added: list[list[tuple[Mention, str]]] = [[] for _ in range(n)]
        self.names = list(dict.fromkeys(m.actor for row in self.given for m in row))
        self.ranking = _ranking(self.given, gazetteer, self.day)
        self._person: dict[str, bool] = {}
        self._named: dict[str, str] = {}

    def row(self, i: int) -> list[Mention]:
        return [*self.given[i], *(m for m, _ in self.added[i])]

    def rows(self) -> list[list[Mention]]:
        return [sorted(self.row(i), key=lambda m: (not m.given, m.start)) for i in range(len(self.sentences))]

    def add(self, i: int, mention: Mention, rule: str) -> None:
        self.added[i].append((mention, rule))

    def taken(self, i: int, start: int, end: int) -> bool:
        return any(m.start < end and start < m.end for m in self.row(i))

    def resolve(self, i: int, ref: _Ref) -> str | None:
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
            person = actor.type == "person" if known and actor is not None else _person_like(form)
            # Phoenix types some bodies as persons ("Federal Bureau of Investigation", "Free Syrian Army").
            words = form.replace(".", "").split()
            self._person[name] = person and not any(w in _BODY_WORDS or w in _FUNCTION_WORDS for w in words)
        return self._person[name]

    def _described(self, i: int, ref: _Ref) -> str | None:
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

    def _office_holder(self, i: int, ref: _Ref) -> str | None:
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
