"""The actor gazetteer: canonical actors, their aliases, and detection of mentions in text.

Actors come from YAML files (data/actors.yaml: matched case-sensitively) and,
optionally, the Phoenix / CAMEO dictionaries (data/phoenix/phoenix.jsonl.gz:
matched case-insensitively under the case rules below, with dated CAMEO role
codes). `load_gazetteer("phoenix")` loads data/phoenix.yaml, which includes both.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import re
from collections import ChainMap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from stance.errors import InputFormatError, Problem, display_path
from stance.paths import file_sha256, resolve_path

ACTOR_TYPES = ("country", "person", "organization", "alliance", "agent", "other")
DEFAULT_GAZETTEER = "data/actors.yaml"
NAMED_GAZETTEERS = {"default": DEFAULT_GAZETTEER, "phoenix": "data/phoenix.yaml"}

# CAMEO sectors that speak for the state: a coded actor in one of these roles
# rolls up to its country; elites (ELI), opposition, rebels, business … do not.
STATE_ROLES = frozenset({"GOV", "MIL", "COP", "JUD", "LEG", "SPY"})

# An alias ends where a word ends. An apostrophe may follow only as a possessive
# ("China's", "US'"), so "Xi'an" is not Xi Jinping.
_WORD_END = r"(?=['’]s(?!\w)|['’](?!\w)|[^\w'’]|$)"
_END = re.compile(r"['’]s(?!\w)|['’](?!\w)|[^\w'’]|$")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_CODE = re.compile(r"^[A-Z0-9]{3,}~?$")

# How an alias's case must look in the text. YAML aliases match exactly.
EXACT, ANY_CASE, NOT_LOWER, UPPER = -1, 0, 1, 2


@dataclass(frozen=True)
class Role:
    """A CAMEO code an actor held from `start` to `end` (ISO dates, inclusive; None = open)."""

    code: str
    start: str | None = None
    end: str | None = None

    def holds(self, day: str) -> bool:
        """Whether the role is in force on `day` (ISO YYYY-MM-DD)."""
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class Actor:
    """A canonical actor."""

    name: str
    type: str
    aliases: tuple[str, ...]
    affiliation: str | None = None
    code: str | None = None  # CAMEO code (USA, IGOUNO, COP for an agent)
    roles: tuple[Role, ...] = ()
    source: str = "gazetteer"  # "gazetteer" (a YAML file) or "phoenix"


@dataclass(frozen=True)
class Mention:
    """One mention of an actor in a text: the character span [start, end) and the canonical name."""

    actor: str
    start: int
    end: int
    text: str
    given: bool = False  # a span the source marked itself (it wins over the matcher's)


class _Layer:
    """One table of aliases: exact (case-sensitive) and folded (with a case rule), indexed by first token."""

    __slots__ = ("exact", "folded", "lengths")

    def __init__(self) -> None:
        self.exact: dict[str, str | None] = {}
        self.folded: dict[str, tuple[str | None, int]] = {}
        self.lengths: dict[str, tuple[int, ...]] = {}

    def add(self, alias: str, actor: str | None, rule: int = EXACT, override: bool = False) -> None:
        """Index `alias` for `actor` (None: a phrase to ignore); the first owner wins unless `override`."""
        alias = " ".join(alias.split())
        tokens = _TOKEN.findall(alias)
        if not tokens:
            return
        if rule == EXACT:
            if override or alias not in self.exact:
                self.exact[alias] = actor
        else:
            key = alias.casefold()
            if override or key not in self.folded:
                self.folded[key] = (actor, rule)
        first, n = tokens[0].casefold(), len(tokens)
        have = self.lengths.get(first, ())
        if n not in have:
            self.lengths[first] = tuple(sorted((*have, n), reverse=True))

    def lookup(self, span: str) -> tuple[bool, str | None]:
        """(found, actor) for a text span, applying the case rule of a folded alias."""
        if span in self.exact:
            return True, self.exact[span]
        hit = self.folded.get(span.casefold())
        if hit is None:
            return False, None
        actor, rule = hit
        if rule == NOT_LOWER and span.islower():
            return False, None
        if rule == UPPER and not span.isupper():
            return False, None
        return True, actor


@dataclass
class _Part:
    """What one gazetteer file contributes: actors, aliases with their case rule, phrases to ignore."""

    actors: list[Actor] = field(default_factory=list)
    aliases: list[tuple[str, str, int]] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)


@dataclass
class Gazetteer:
    """Canonical actors and a matcher over their aliases (longest match first, on word boundaries).

    Matching is token based: at each token, the alias lengths (in tokens)
    indexed under that token are tried longest first, so the cost per sentence
    does not grow with the number of aliases. Article-local copies
    (`with_aliases`) put a small layer over the shared one instead of
    rebuilding it.
    """

    actors: Mapping[str, Actor]
    ignore: tuple[str, ...] = ()
    _layers: tuple[_Layer, ...] = field(init=False, repr=False)
    _codes: dict[str, str] = field(init=False, repr=False)
    _root: dict[str, Actor] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        layer = _Layer()
        for actor in self.actors.values():
            for alias in (actor.name, *actor.aliases):
                layer.add(alias, actor.name)
        for phrase in self.ignore:
            layer.add(phrase, None, override=True)
        self._layers = (layer,)
        self._codes = _code_index(self.actors.values())
        self._root = self.actors if isinstance(self.actors, dict) else dict(self.actors)

    @classmethod
    def _assemble(
        cls,
        actors: Mapping[str, Actor],
        ignore: tuple[str, ...],
        layers: tuple[_Layer, ...],
        codes: dict[str, str],
        root: dict[str, Actor],
    ) -> Gazetteer:
        g = cls.__new__(cls)
        g.actors, g.ignore, g._layers, g._codes, g._root = actors, ignore, layers, codes, root
        return g

    @property
    def _alias_to_actor(self) -> dict[str, str | None]:
        """Every exact (case-sensitive) alias and its actor, the top layer winning."""
        merged: dict[str, str | None] = {}
        for layer in reversed(self._layers):
            merged.update(layer.exact)
        return merged

    @classmethod
    def from_yaml(cls, path: str | Path = DEFAULT_GAZETTEER) -> Gazetteer:
        """Load and check a gazetteer file; every problem is reported with its place in the file.

        A file may `include:` other gazetteer files (YAML or the Phoenix
        `.jsonl.gz`), relative to itself; its own actors come first, then the
        included ones in order, and a later file never takes an earlier one's alias.
        """
        return _build(_collect(resolve_path(path), ()))

    @classmethod
    def from_dict(cls, raw: object, source: str = "<gazetteer>") -> Gazetteer:
        """Build a gazetteer from the parsed YAML structure."""
        return _build([_parse_yaml(raw, source)])

    @classmethod
    def from_phoenix(cls, path: str | Path = "data/phoenix/phoenix.jsonl.gz") -> Gazetteer:
        """The Phoenix dictionaries alone, from the compact file scripts/import_phoenix.py writes."""
        return _build([_read_phoenix_part(resolve_path(path))])

    def with_aliases(self, aliases: dict[str, list[str]]) -> Gazetteer:
        """A copy that also knows `aliases` (canonical name → surface forms), for article-local entity lists.

        Names not in the gazetteer become actors of type `other`; a surface form
        given here takes precedence over the gazetteer's reading of it. The copy
        shares the gazetteer's tables and adds one small layer on top.
        """
        local: dict[str, Actor] = {}
        layer = _Layer()
        for name, forms in aliases.items():
            base = self.actors.get(name)
            extra = tuple(f for f in forms if f)
            if base is None:
                local[name] = Actor(name=name, type="other", aliases=extra)
            else:
                local[name] = replace(base, aliases=(*extra, *base.aliases))
            for form in (name, *forms):
                if form:
                    layer.add(form, name, override=True)
        return Gazetteer._assemble(
            ChainMap(local, self.actors), self.ignore, (layer, *self._layers), self._codes, self._root
        )

    def restricted_to(self, names: Iterable[str], aliases: dict[str, list[str]] | None = None) -> Gazetteer:
        """A gazetteer of `names` only: their local `aliases` first, then the gazetteer's own for known names."""
        aliases = aliases or {}
        actors: dict[str, Actor] = {}
        layer = _Layer()
        for name in names:
            base = self.actors.get(name)
            local = [f for f in aliases.get(name, ()) if f]
            own = list(base.aliases) if base else []
            forms = tuple(dict.fromkeys((*local, *own)))
            actors[name] = Actor(
                name,
                base.type if base else "other",
                forms,
                None,
                base.code if base else None,
                base.roles if base else (),
                base.source if base else "gazetteer",
            )
            for form in (*local, name):
                layer.add(form, name)
            for form in own:
                layer.add(form, name, self._rule_of(form))
        for phrase in self.ignore:
            layer.add(phrase, None, override=True)
        return Gazetteer._assemble(actors, self.ignore, (layer,), {}, actors)

    def _rule_of(self, alias: str) -> int:
        """The case rule the shared tables give `alias` (exact for YAML aliases)."""
        alias = " ".join(alias.split())
        for layer in self._layers:
            if alias in layer.exact:
                return EXACT
            hit = layer.folded.get(alias.casefold())
            if hit is not None:
                return hit[1]
        return EXACT

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._actor(name) is not None

    def get(self, name: str) -> Actor | None:
        """The actor called `name`, composite agents ("China police") included; None when unknown."""
        return self._actor(name)

    def _actor(self, name: str) -> Actor | None:
        """The actor called `name`, composite agents ("China police") included."""
        actor = self.actors.get(name)
        if actor is None:
            actor = self._root.get(name)
        if actor is None and " " in name:
            # A composite seen in another process (a saved prediction): rebuild it from its parts.
            for cut in [i for i, ch in enumerate(name) if ch == " "]:
                country, agent = self.actors.get(name[:cut]), self.actors.get(name[cut + 1 :])
                if country is not None and agent is not None and _can_lead(country) and agent.type == "agent":
                    return self._composite(country, agent)
        return actor

    def canonical(self, alias: str) -> str | None:
        """The canonical actor an exact alias (or name) refers to, or None."""
        span = " ".join(alias.split())
        for layer in self._layers:
            found, actor = layer.lookup(span)
            if found:
                return actor
        return None

    def code(self, name: str, date: str | None = None) -> str | None:
        """The CAMEO code of `name` on `date` (ISO date or a timestamp starting with one).

        The first role in force on that day; else the default code; else the
        role held most recently before it. Without a date: the default code,
        else the latest role. None for an actor without codes or an unknown name.
        """
        actor = self._actor(name)
        if actor is None:
            return None
        day = _day(date)
        if day is None:
            if actor.code is not None or not actor.roles:
                return actor.code
            return max(actor.roles, key=lambda r: r.start or "").code
        for role in actor.roles:
            if role.holds(day):
                return role.code
        if actor.code is not None:
            return actor.code
        earlier = [r for r in actor.roles if (r.start or "") <= day]
        return max(earlier, key=lambda r: r.start or "").code if earlier else None

    def affiliation(self, name: str, date: str | None = None) -> str:
        """The top-level actor `name` stands for on `date` (the article's date; None: any time).

        Explicit `affiliation` links are followed first (Vedant Patel → United
        States). Otherwise a coded actor rolls up by its code on that date: a
        state role of a country (USAGOV, CHNCOP) to the country, an IGO code to
        that organisation. A person with no role on that date, or one in a
        non-state role (USAELI, CHNOPP), stands for itself.
        """
        actor = self._actor(name)
        if actor is None:
            raise KeyError(name)
        seen = {name}
        while actor.affiliation is not None and actor.affiliation not in seen:
            seen.add(actor.affiliation)
            parent = self._actor(actor.affiliation)
            if parent is None:
                break
            actor = parent
        if len(seen) > 1:
            return actor.name
        day = _day(date)
        # With a date only a role in force counts: no role that day, no roll-up.
        in_force = actor.code if day is None else next((r.code for r in actor.roles if r.holds(day)), actor.code)
        code = self.code(actor.name) if day is None else in_force
        target = self._rollup(code) if code else None
        return target if target is not None else actor.name

    def _rollup(self, code: str) -> str | None:
        """The actor a CAMEO code stands for: the country for its state roles, else the longest known prefix."""
        country = self._actor(self._codes.get(code[:3], ""))
        if country is not None and country.type == "country":
            return country.name if len(code) == 3 or code[3:6] in STATE_ROLES else None
        for n in range(len(code) - len(code) % 3, 2, -3):
            owner = self._codes.get(code[:n])
            if owner is not None:
                return owner
        return None

    def _composite(self, country: Actor, agent: Actor) -> Actor:
        """The agent of a country ("Chinese police" → China police, CHNCOP), registered once."""
        name = f"{country.name} {agent.name}"
        known = self._root.get(name)
        if known is not None:
            return known
        code = None
        if country.code and agent.code:
            code = agent.code[:-1] + country.code if agent.code.endswith("~") else country.code + agent.code
        state = agent.code is not None and agent.code[:3] in STATE_ROLES
        actor = Actor(
            name=name,
            type="agent",
            aliases=(),
            affiliation=country.name if state else None,
            code=code,
            source="phoenix",
        )
        return self._root.setdefault(name, actor)

    def find(self, text: str) -> list[Mention]:
        """Every actor mention in `text`, left to right, longest match first, without overlaps.

        An agent right after a country ("Chinese police") makes one mention of
        the composite actor ("China police").
        """
        tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
        layers = self._layers
        mentions: list[Mention] = []
        i, count = 0, len(tokens)
        while i < count:
            start = tokens[i][0]
            first = text[start : tokens[i][1]].casefold()
            if len(layers) == 1:
                lengths = layers[0].lengths.get(first, ())
            else:
                lengths = tuple(sorted({n for layer in layers for n in layer.lengths.get(first, ())}, reverse=True))
            step = 1
            for n in lengths:
                if i + n > count:
                    continue
                end = tokens[i + n - 1][1]
                if (start > 0 and _is_word(text[start - 1]) and _is_word(text[start])) or not _END.match(text, end):
                    continue
                span = text[start:end]
                if n > 1 and ("  " in span or "\n" in span or "\t" in span):
                    span = " ".join(span.split())
                for layer in layers:
                    found, actor = layer.lookup(span)
                    if found:
                        break
                if not found:
                    continue
                step = n
                if actor is not None:
                    mentions.append(Mention(actor=actor, start=start, end=end, text=text[start:end]))
                break
            i += step
        return self._compose(text, mentions) if len(mentions) > 1 else mentions

    def _compose(self, text: str, mentions: list[Mention]) -> list[Mention]:
        out: list[Mention] = []
        for m in mentions:
            if out and not text[out[-1].end : m.start].strip() and out[-1].end < m.start:
                agent = self.actors.get(m.actor)
                if agent is not None and agent.type == "agent":
                    lead = self._actor(out[-1].actor)
                    if lead is not None and _can_lead(lead):
                        composite = self._composite(lead, agent)
                        prev = out.pop()
                        out.append(Mention(composite.name, prev.start, m.end, text[prev.start : m.end]))
                        continue
            out.append(m)
        return out

    def is_generic(self, name: str) -> bool:
        """Whether `name` is an agent named without a country ("police", "people", "president").

        Such a mention is a role, not an actor to pair: "President" in "President
        Trump", "people" in most sentences. With a country before it ("Chinese
        police") it is one (a composite); on its own the mention finder may still
        take it in ("the police" in a story about a protest).
        """
        actor = self.actors.get(name)
        if actor is None or actor.type != "agent":
            return False
        # A composite's code leads with its country's ("CHNCOP"); a bare agent's is the role alone ("COP").
        return not (actor.code and actor.code[:3] in self._codes)

    def actor_mentions(self, text: str) -> list[Mention]:
        """`find` without generic agents: the mentions that name an actor to pair."""
        return [m for m in self.find(text) if not self.is_generic(m.actor)]

    def actors_in(self, text: str) -> list[str]:
        """The distinct actors mentioned in `text`, in order of first mention."""
        return mentioned_actors(self.actor_mentions(text))


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _can_lead(actor: Actor) -> bool:
    """Whether an agent right after this actor is that actor's agent: countries, CAMEO-style."""
    return actor.type == "country"


def _day(date: object) -> str | None:
    if date is None:
        return None
    text = str(date).strip()
    return text[:10] if text else None


def _code_index(actors: Iterable[Actor]) -> dict[str, str]:
    """Default code → actor, for the actors that codes roll up to (countries and organisations)."""
    codes: dict[str, str] = {}
    for actor in actors:
        if actor.code and actor.type in ("country", "organization", "alliance") and not actor.roles:
            codes.setdefault(actor.code, actor.name)
    return codes


def _phoenix_rule(alias: str, actor: Actor) -> int:
    """The case rule of a Phoenix alias: agents in any case, acronyms in capitals, the rest not all lower case."""
    if actor.type == "agent":
        return ANY_CASE
    if alias.isalpha() and (
        len(alias) <= 3
        or (
            len(alias) == 4 and sum(c in "aeiouAEIOU" for c in alias) <= 1 and alias.casefold() != actor.name.casefold()
        )
    ):
        return UPPER  # "US", "UN", "DPRK": "us" and "Us" are words, not actors
    return NOT_LOWER  # "Turkey", "TURKEY", not "turkey"


def _read_phoenix_part(path: Path) -> _Part:
    shown = display_path(path)
    part = _Part()
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    row = json.loads(line)
                    actor = Actor(
                        name=row["name"],
                        type=row["type"],
                        aliases=tuple(row.get("aliases") or ()),
                        code=row.get("code"),
                        roles=tuple(Role(*r) for r in row.get("roles") or ()),
                        source="phoenix",
                    )
                except (ValueError, KeyError, TypeError) as exc:
                    raise InputFormatError([Problem(shown, f"bad Phoenix record: {exc}", line=number)]) from None
                part.actors.append(actor)
                for alias in (actor.name, *actor.aliases):
                    part.aliases.append((alias, actor.name, _phoenix_rule(alias, actor)))
    except OSError as exc:
        raise InputFormatError([Problem(shown, f"cannot read: {exc}")]) from None
    return part


def _collect(path: Path, chain: tuple[Path, ...]) -> list[_Part]:
    """The parts of a gazetteer file, its own first, then those of its includes (depth first)."""
    shown = display_path(path)
    if path in chain:
        raise InputFormatError([Problem(shown, "includes itself", field="include")])
    if path.name.endswith((".jsonl.gz", ".jsonl")):
        return [_read_phoenix_part(path)]
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFormatError([Problem(shown, f"cannot read: {exc.strerror}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputFormatError([Problem(shown, f"invalid YAML: {exc}", line=line)]) from None
    includes = raw.get("include") if isinstance(raw, dict) else None
    if includes is None:
        return [_parse_yaml(raw, shown)]
    if not isinstance(includes, list) or not all(isinstance(i, str) and i.strip() for i in includes):
        raise InputFormatError([Problem(shown, "include must be a list of file paths", field="include")])
    parts = [_parse_yaml(raw, shown)] if raw.get("actors") is not None or raw.get("ignore") else []
    for name in includes:
        target = (path.parent / name).resolve()
        if not target.is_file():
            raise InputFormatError([Problem(shown, f"included file {name!r} does not exist", field="include")])
        parts.extend(_collect(target, (*chain, path)))
    return parts


def _parse_yaml(raw: object, source: str) -> _Part:
    """Check the parsed YAML of one gazetteer file; every problem is reported."""
    problems: list[Problem] = []
    if not isinstance(raw, dict) or not isinstance(raw.get("actors"), list):
        raise InputFormatError([Problem(source, "expected a mapping with an 'actors' list", field="actors")])
    actors: dict[str, Actor] = {}
    owner: dict[str, str] = {}
    for i, entry in enumerate(raw["actors"]):
        where = f"actors[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            problems.append(Problem(source, "each actor needs a non-empty 'name'", field=f"{where}.name"))
            continue
        name = entry["name"].strip()
        kind = entry.get("type")
        if kind not in ACTOR_TYPES:
            problems.append(
                Problem(source, f"type {kind!r} is not one of {', '.join(ACTOR_TYPES)}", field=f"{where}.type")
            )
        aliases = entry.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            problems.append(Problem(source, "aliases must be a list of non-empty strings", field=f"{where}.aliases"))
            aliases = []
        if name in actors:
            problems.append(Problem(source, f"actor {name!r} is defined twice", field=f"{where}.name"))
        for alias in (name, *aliases):
            if alias in owner and owner[alias] != name:
                problems.append(
                    Problem(source, f"alias {alias!r} belongs to both {owner[alias]!r} and {name!r}", field=where)
                )
            owner.setdefault(alias, name)
        code = entry.get("code")
        if code is not None and not (isinstance(code, str) and _CODE.match(code)):
            problems.append(Problem(source, f"code {code!r} is not a CAMEO code (USA, IGOUNO)", field=f"{where}.code"))
            code = None
        affiliation = entry.get("affiliation")
        actors[name] = Actor(
            name=name,
            type=str(kind),
            aliases=tuple(a.strip() for a in aliases),
            affiliation=affiliation if isinstance(affiliation, str) else None,
            code=code,
            roles=_parse_roles(entry.get("roles"), source, f"{where}.roles", problems),
        )
    for actor in actors.values():
        if actor.affiliation is not None and actor.affiliation not in actors:
            problems.append(
                Problem(source, f"affiliation {actor.affiliation!r} is not an actor", field=f"{actor.name}.affiliation")
            )
    ignore = raw.get("ignore") or []
    if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
        problems.append(Problem(source, "ignore must be a list of strings", field="ignore"))
        ignore = []
    if problems:
        raise InputFormatError(problems)
    part = _Part(actors=list(actors.values()), ignore=list(ignore))
    for actor in part.actors:
        part.aliases.extend((alias, actor.name, EXACT) for alias in (actor.name, *actor.aliases))
    return part


def _parse_roles(raw: Any, source: str, where: str, problems: list[Problem]) -> tuple[Role, ...]:
    """`roles: [{code: USAGOV, from: 2009-01-20, to: 2017-01-20}]`, dates optional."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(Problem(source, "roles must be a list of {code, from, to}", field=where))
        return ()
    roles = []
    for j, item in enumerate(raw):
        here = f"{where}[{j}]"
        if not isinstance(item, dict) or not isinstance(item.get("code"), str) or not _CODE.match(item["code"]):
            problems.append(Problem(source, "each role needs a CAMEO 'code' (USAGOV)", field=here))
            continue
        unknown = set(item) - {"code", "from", "to"}
        if unknown:
            problems.append(Problem(source, f"unknown role keys {sorted(unknown)}; use code, from, to", field=here))
        dates = []
        for key in ("from", "to"):
            value = item.get(key)
            if value is None:
                dates.append(None)
                continue
            try:
                dates.append(dt.date.fromisoformat(str(value)[:10]).isoformat())
            except ValueError:
                problems.append(Problem(source, f"{key} {value!r} is not a date (YYYY-MM-DD)", field=f"{here}.{key}"))
                dates.append(None)
        if dates[0] and dates[1] and dates[1] < dates[0]:
            problems.append(Problem(source, "role ends before it starts", field=here))
        roles.append(Role(item["code"], dates[0], dates[1]))
    return tuple(roles)


def _build(parts: list[_Part]) -> Gazetteer:
    """One gazetteer from file parts in priority order.

    A later actor with the same name (any case) as an earlier one, or a later
    country or organisation with the code of an earlier YAML actor (Phoenix's
    USA ↔ "United States"), is the same actor: the earlier name, type and
    affiliation win, aliases are united, and the later roles are kept for the
    codes the earlier actor does not date itself.
    """
    actors: dict[str, Actor] = {}
    by_name: dict[str, str] = {}
    by_code: dict[str, str] = {}
    layer = _Layer()
    ignore: list[str] = []
    for part in parts:
        renamed: dict[str, str] = {}
        for actor in part.actors:
            target = by_name.get(actor.name.casefold())
            if target is None and actor.code and not actor.roles and actor.type in ("country", "organization"):
                owner = by_code.get(actor.code)
                if owner is not None and (actors[owner].source != actor.source or actor.type == "country"):
                    target = owner
            if target is None:
                actors[actor.name] = actor
                by_name.setdefault(actor.name.casefold(), actor.name)
                if actor.code and not actor.roles and actor.type in ("country", "organization", "alliance"):
                    by_code.setdefault(actor.code, actor.name)
                continue
            old = actors[target]
            dated = {r.code for r in old.roles}
            actors[target] = replace(
                old,
                aliases=tuple(dict.fromkeys((*old.aliases, actor.name, *actor.aliases))),
                affiliation=old.affiliation or actor.affiliation,
                code=old.code or actor.code,
                roles=(*old.roles, *(r for r in actor.roles if r.code not in dated)),
            )
            renamed[actor.name] = target
        for alias, name, rule in part.aliases:
            layer.add(alias, renamed.get(name, name), rule)
        ignore.extend(p for p in part.ignore if p not in ignore)
    for phrase in ignore:
        layer.add(phrase, None, override=True)
        layer.add(phrase, None, NOT_LOWER, override=True)
    return Gazetteer._assemble(actors, tuple(ignore), (layer,), _code_index(actors.values()), actors)


@lru_cache(maxsize=8)
def _load_cached(path: str) -> Gazetteer:
    return Gazetteer.from_yaml(path)


def load_gazetteer(path: str | Path = DEFAULT_GAZETTEER) -> Gazetteer:
    """Load a gazetteer by name ("default", "phoenix") or file (YAML, or a Phoenix .jsonl.gz), cached."""
    return _load_cached(str(gazetteer_path(path)))


def gazetteer_path(path: str | Path) -> Path:
    """The file a gazetteer name ("default", "phoenix") or path stands for."""
    return resolve_path(NAMED_GAZETTEERS.get(str(path), path))


def gazetteer_files(path: str | Path) -> list[Path]:
    """A gazetteer's file and every file it includes, depth first, each once (resolved paths)."""
    entry = gazetteer_path(path).resolve()
    files = [entry]
    if not entry.name.endswith((".jsonl.gz", ".jsonl")):
        raw = yaml.safe_load(entry.read_text(encoding="utf-8"))
        for name in (raw.get("include") or []) if isinstance(raw, dict) else []:
            files += [f for f in gazetteer_files(entry.parent / name) if f not in files]
    return files


def gazetteer_sha256(path: str | Path, files: Sequence[Path] | None = None) -> str:
    """A content hash of a gazetteer: its files' bytes and their names relative to the first, in order.

    It changes whenever any included file does, and not when the files move together.
    `files` is `gazetteer_files(path)` when the caller has it already.
    """
    files = list(files) if files is not None else gazetteer_files(path)
    root = files[0].parent
    digest = hashlib.sha256()
    for file in files:
        digest.update(os.path.relpath(file, root).encode() + b"\0")
        digest.update(file_sha256(file).encode() + b"\n")
    return digest.hexdigest()


def mentioned_actors(mentions: Iterable[Mention]) -> list[str]:
    """The distinct actors of `mentions`, in order of first mention."""
    return list(dict.fromkeys(m.actor for m in mentions))


def pair_mentions(mentions: Sequence[Mention], actor: str, target: str) -> tuple[Mention | None, Mention | None]:
    """The mentions to mark for the pair (actor, target): the closest two, one of each.

    A stance is usually expressed between nearby mentions ("Chinese cars …, a
    move Beijing condemned": Beijing, not "Chinese", is the one that acts), so
    when an actor is named more than once the mention nearest the other actor
    is marked. An actor with a span the source marked itself keeps it. Ties go
    to the earlier mention; an actor with no mention gets None.
    """
    a_all, t_all = _candidates(mentions, actor), _candidates(mentions, target)
    if not a_all or not t_all:
        return (a_all[0] if a_all else None), (t_all[0] if t_all else None)
    return min(((a, t) for a in a_all for t in t_all), key=_apart)


def _apart(pair: tuple[Mention, Mention]) -> tuple[bool, int, int, int]:
    """Sort key of a candidate pair of mentions: overlapping last, then nearest first, then earliest."""
    a, t = pair
    gap = max(a.start, t.start) - min(a.end, t.end)
    return gap < 0, max(gap, 0), a.start, t.start


def _candidates(mentions: Sequence[Mention], actor: str) -> list[Mention]:
    """The actor's mentions to choose from: the source's own span if it has one, else all."""
    own = [m for m in mentions if m.actor == actor]
    given = [m for m in own if m.given]
    return given[:1] or own
