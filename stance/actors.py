"""The actor gazetteer: canonical actors, their aliases, and detection of mentions in text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from stance.errors import InputFormatError, Problem, display_path
from stance.paths import resolve_path

ACTOR_TYPES = ("country", "person", "organization", "alliance", "other")
DEFAULT_GAZETTEER = "data/actors.yaml"

# An alias ends where a word ends. An apostrophe may follow only as a possessive
# ("China's", "US'"), so "Xi'an" is not Xi Jinping.
_WORD_END = r"(?=['’]s(?!\w)|['’](?!\w)|[^\w'’]|$)"


@dataclass(frozen=True)
class Actor:
    """A canonical actor."""

    name: str
    type: str
    aliases: tuple[str, ...]
    affiliation: str | None = None


@dataclass(frozen=True)
class Mention:
    """One mention of an actor in a text: the character span [start, end) and the canonical name."""

    actor: str
    start: int
    end: int
    text: str
    given: bool = False  # a span the source marked itself (it wins over the matcher's)


@dataclass
class Gazetteer:
    """Canonical actors and a matcher over their aliases (longest match first, on word boundaries)."""

    actors: dict[str, Actor]
    ignore: tuple[str, ...] = ()
    _alias_to_actor: dict[str, str | None] = field(init=False, repr=False)
    _pattern: re.Pattern[str] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._alias_to_actor = {}
        for actor in self.actors.values():
            for alias in (actor.name, *actor.aliases):
                self._alias_to_actor.setdefault(alias, actor.name)
        for phrase in self.ignore:
            self._alias_to_actor[phrase] = None
        aliases = sorted(self._alias_to_actor, key=lambda a: (-len(a), a))
        if aliases:
            alternation = "|".join(re.escape(a) for a in aliases)
            self._pattern = re.compile(rf"(?<!\w)(?:{alternation}){_WORD_END}")
        else:
            self._pattern = None

    @classmethod
    def from_yaml(cls, path: str | Path = DEFAULT_GAZETTEER) -> Gazetteer:
        """Load and check a gazetteer file; every problem is reported with its place in the file."""
        path = resolve_path(path)
        shown = display_path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputFormatError([Problem(shown, f"cannot read: {exc.strerror}")]) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            raise InputFormatError([Problem(shown, f"invalid YAML: {exc}", line=line)]) from None
        return cls.from_dict(raw, source=shown)

    @classmethod
    def from_dict(cls, raw: object, source: str = "<gazetteer>") -> Gazetteer:
        """Build a gazetteer from the parsed YAML structure."""
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
                problems.append(
                    Problem(source, "aliases must be a list of non-empty strings", field=f"{where}.aliases")
                )
                aliases = []
            if name in actors:
                problems.append(Problem(source, f"actor {name!r} is defined twice", field=f"{where}.name"))
            for alias in (name, *aliases):
                if alias in owner and owner[alias] != name:
                    problems.append(
                        Problem(source, f"alias {alias!r} belongs to both {owner[alias]!r} and {name!r}", field=where)
                    )
                owner.setdefault(alias, name)
            affiliation = entry.get("affiliation")
            actors[name] = Actor(
                name=name,
                type=str(kind),
                aliases=tuple(a.strip() for a in aliases),
                affiliation=affiliation if isinstance(affiliation, str) else None,
            )
        for actor in actors.values():
            if actor.affiliation is not None and actor.affiliation not in actors:
                problems.append(
                    Problem(
                        source, f"affiliation {actor.affiliation!r} is not an actor", field=f"{actor.name}.affiliation"
                    )
                )
        ignore = raw.get("ignore") or []
        if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
            problems.append(Problem(source, "ignore must be a list of strings", field="ignore"))
            ignore = []
        if problems:
            raise InputFormatError(problems)
        return cls(actors=actors, ignore=tuple(ignore))

    def with_aliases(self, aliases: dict[str, list[str]]) -> Gazetteer:
        """A copy that also knows `aliases` (canonical name → surface forms), for article-local entity lists.

        Names not in the gazetteer become actors of type `other`; a surface form
        given here takes precedence over the gazetteer's reading of it.
        """
        actors = dict(self.actors)
        for name, forms in aliases.items():
            base = actors.get(name)
            extra = tuple(f for f in forms if f)
            if base is None:
                actors[name] = Actor(name=name, type="other", aliases=extra)
            else:
                actors[name] = Actor(base.name, base.type, (*extra, *base.aliases), base.affiliation)
        local = Gazetteer(actors=actors, ignore=self.ignore)
        for name, forms in aliases.items():
            for form in (name, *forms):
                if form:
                    local._alias_to_actor[form] = name
        return local

    def restricted_to(self, names: Iterable[str], aliases: dict[str, list[str]] | None = None) -> Gazetteer:
        """A gazetteer of `names` only: their local `aliases` first, then the gazetteer's own for known names."""
        aliases = aliases or {}
        actors = {}
        for name in names:
            base = self.actors.get(name)
            forms = tuple(dict.fromkeys(f for f in (*aliases.get(name, ()), *(base.aliases if base else ())) if f))
            actors[name] = Actor(name, base.type if base else "other", forms, None)
        return Gazetteer(actors=actors, ignore=self.ignore)

    def __contains__(self, name: object) -> bool:
        return name in self.actors

    def canonical(self, alias: str) -> str | None:
        """The canonical actor an exact alias (or name) refers to, or None."""
        return self._alias_to_actor.get(alias)

    def affiliation(self, name: str) -> str:
        """The top-level actor `name` stands for: follows affiliations (Vedant Patel → United States)."""
        seen = {name}
        actor = self.actors[name]
        while actor.affiliation is not None and actor.affiliation not in seen:
            seen.add(actor.affiliation)
            actor = self.actors[actor.affiliation]
        return actor.name

    def find(self, text: str) -> list[Mention]:
        """Every actor mention in `text`, left to right, longest match first, without overlaps."""
        if self._pattern is None:
            return []
        mentions = []
        for match in self._pattern.finditer(text):
            actor = self._alias_to_actor[match.group(0)]
            if actor is not None:
                mentions.append(Mention(actor=actor, start=match.start(), end=match.end(), text=match.group(0)))
        return mentions

    def actors_in(self, text: str) -> list[str]:
        """The distinct actors mentioned in `text`, in order of first mention."""
        return mentioned_actors(self.find(text))


@lru_cache(maxsize=8)
def _load_cached(path: str) -> Gazetteer:
    return Gazetteer.from_yaml(path)


def load_gazetteer(path: str | Path = DEFAULT_GAZETTEER) -> Gazetteer:
    """Load a gazetteer file, cached per resolved path."""
    return _load_cached(str(resolve_path(path)))


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
