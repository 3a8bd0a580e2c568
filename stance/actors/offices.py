"""Offices and who held them by date, descriptions ("the senator") and institution metonyms ("the Kremlin"), and
the role table that finds them in a sentence. data/roles.yaml is read and checked by `stance.actors.roles`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from stance.actors.actor import Mention

_GENERIC_BEFORE = frozenset(
    {
        "a", "an", "any", "every", "each", "no", "another", "sitting", "future", "next", "new", "former",
        "late", "become", "becomes", "became", "becoming", "elect", "elected",
    }
)  # fmt: skip


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
class Reference:
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

    def references(self, text: str) -> list[Reference]:
        """The role and description spans of a sentence, longest first where they overlap, in text order."""
        found: list[Reference] = []
        for match in _matches(self._forms_re, text):
            rule, key = self._forms[_norm(match.group())]
            found.append(Reference(match.start(), match.end(), rule, key))
        for match in _matches(self._metonym_re, text):
            metonym = self._metonym[_norm(re.sub(r"^[Tt]he\s+", "", match.group()))]
            found.append(Reference(match.start(), match.end(), "role", metonym.office, metonym.jurisdiction))
        for match in _matches(self._bare_re, text):
            if _bare_stands_for_holder(text[: match.start()]):
                found.append(Reference(match.start(), match.end(), "role", self._bare[match.group()]))
        kept: list[Reference] = []
        for ref in sorted(found, key=lambda r: (r.start - r.end, r.start)):
            if all(ref.end <= k.start or k.end <= ref.start for k in kept) and _stands_alone(text, ref):
                kept.append(ref)
        return sorted(kept, key=lambda r: r.start)

    def names_office(self, form: str) -> bool:
        """Whether a phrase is an office's own name or title ("Secretary of State", "the secretary of state")."""
        norm = _norm(form)
        bare = norm.removeprefix("the ")
        return (
            norm in self._titles
            or bare in self._titles
            or self._forms.get(norm, ("",))[0] == "role"
            or (self._forms.get(f"the {bare}", ("",))[0] == "role")
        )

    def office_of(self, form: str) -> str | None:
        """The office a phrase names ("Secretary of State", "the president"), None if none or several."""
        norm = _norm(form)
        bare = norm.removeprefix("the ")
        for key in (norm, f"the {bare}", bare):
            rule, name = self._forms.get(key, ("", ""))
            if rule == "role":
                return name
        named = sorted(n for n in self._titles.get(bare, ()) if n in self.offices)
        return named[0] if len(named) == 1 else None

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


def _stands_alone(text: str, ref: Reference) -> bool:
    """Whether a span is a reference, not part of a name ("the President Xi") or a modifier ("the official visit")."""
    after = text[ref.end :]
    if _NAME_AFTER.match(after):
        return False
    if ref.jurisdiction is not None:
        return _STAFF_AFTER.match(after) is None
    if _norm(text[ref.start : ref.end]) in _MODIFIER_PRONE:
        return _VERB_AFTER.match(after) is not None
    return True
