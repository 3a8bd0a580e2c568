"""The actor gazetteer: canonical actors, their aliases, and detection of mentions in text.

Actors come from YAML files (data/actors.yaml: matched case-sensitively) and,
optionally, the Phoenix / CAMEO dictionaries (data/phoenix/phoenix.jsonl.gz:
matched case-insensitively under the case rules of `stance.actors.aliases`, with
dated CAMEO role codes). `load_gazetteer("phoenix")` loads data/phoenix.yaml, which
includes both; `stance.actors.dictionaries` reads and checks the files.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from stance.actors.actor import Actor, Mention
from stance.actors.aliases import END, EXACT, TOKEN, Layer, is_word
from stance.actors.choice import mentioned_actors
from stance.actors.dictionaries import (
    DEFAULT_GAZETTEER,
    GazetteerPart,
    collect_parts,
    gazetteer_path,
    merge_parts,
    parse_yaml,
    read_phoenix_part,
)
from stance.paths import resolve_path
from stance.schema import iso_day

# CAMEO sectors that speak for the state: a coded actor in one of these roles
# rolls up to its country; elites (ELI), opposition, rebels, business … do not.
STATE_ROLES = frozenset({"GOV", "MIL", "COP", "JUD", "LEG", "SPY"})


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
    _layers: tuple[Layer, ...] = field(init=False, repr=False)
    _codes: dict[str, str] = field(init=False, repr=False)
    _root: dict[str, Actor] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        layer = Layer()
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
        layers: tuple[Layer, ...],
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
        return _build(collect_parts(resolve_path(path), ()))

    @classmethod
    def from_dict(cls, raw: object, source: str = "<gazetteer>") -> Gazetteer:
        """Build a gazetteer from the parsed YAML structure."""
        return _build([parse_yaml(raw, source)])

    @classmethod
    def from_phoenix(cls, path: str | Path = "data/phoenix/phoenix.jsonl.gz") -> Gazetteer:
        """The Phoenix dictionaries alone, from the compact file tools/import_phoenix.py writes."""
        return _build([read_phoenix_part(resolve_path(path))])

    def with_aliases(self, aliases: dict[str, list[str]]) -> Gazetteer:
        """A copy that also knows `aliases` (canonical name → surface forms), for article-local entity lists.

        Names not in the gazetteer become actors of type `other`; a surface form
        given here takes precedence over the gazetteer's reading of it. The copy
        shares the gazetteer's tables and adds one small layer on top.
        """
        local: dict[str, Actor] = {}
        layer = Layer()
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

    def with_readings(self, readings: dict[str, str | None]) -> Gazetteer:
        """A copy that reads each surface form as the given actor, or (None) as no actor, over its own tables."""
        layer = Layer()
        for form, actor in readings.items():
            layer.add(form, actor, override=True)
        return Gazetteer._assemble(self.actors, self.ignore, (layer, *self._layers), self._codes, self._root)

    def restricted_to(self, names: Iterable[str], aliases: dict[str, list[str]] | None = None) -> Gazetteer:
        """A gazetteer of `names` only: their local `aliases` first, then the gazetteer's own for known names."""
        aliases = aliases or {}
        actors: dict[str, Actor] = {}
        layer = Layer()
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
        day = iso_day(date)
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
        day = iso_day(date)
        # With a date only a role in force counts: no role that day, no roll-up.
        in_force = actor.code if day is None else next((r.code for r in actor.roles if r.holds(day)), actor.code)
        code = self.code(actor.name) if day is None else in_force
        target = self._rollup(code) if code else None
        if target is not None and actor.type in _CODE_OWNERS:
            owner = self._actor(target)
            if owner is not None and owner.code == code:  # another body of the same code is a sibling, not a parent
                target = None
        return target if target is not None else actor.name

    def _rollup(self, code: str) -> str | None:
        """The actor a CAMEO code stands for: the country for its state roles, else the longest known prefix."""
        country = self._actor(self._codes.get(code[:3], ""))
        if country is not None and country.type == "country":
            return country.name if len(code) == 3 or code[3:6] in STATE_ROLES else None
        # Down to 6 letters: a bare 3-letter sector code (MED, BUS) names no body, whoever was coded with it first.
        for n in range(len(code) - len(code) % 3, 5, -3):
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
        tokens = [(m.start(), m.end()) for m in TOKEN.finditer(text)]
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
                if (start > 0 and is_word(text[start - 1]) and is_word(text[start])) or not END.match(text, end):
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


def _can_lead(actor: Actor) -> bool:
    """Whether an agent right after this actor is that actor's agent: countries, CAMEO-style."""
    return actor.type == "country"


_CODE_OWNERS = ("country", "organization", "alliance")


def _code_index(actors: Iterable[Actor]) -> dict[str, str]:
    """Default code → actor, for the actors that codes roll up to (countries and organisations)."""
    codes: dict[str, str] = {}
    for actor in actors:
        if actor.code and actor.type in _CODE_OWNERS and not actor.roles:
            codes.setdefault(actor.code, actor.name)
    return codes


def _build(parts: list[GazetteerPart]) -> Gazetteer:
    """One gazetteer from file parts in priority order (`merge_parts` says how they combine)."""
    actors, ignore, layer = merge_parts(parts)
    return Gazetteer._assemble(actors, tuple(ignore), (layer,), _code_index(actors.values()), actors)


@lru_cache(maxsize=8)
def _load_cached(path: str) -> Gazetteer:
    return Gazetteer.from_yaml(path)


def load_gazetteer(path: str | Path = DEFAULT_GAZETTEER) -> Gazetteer:
    """Load a gazetteer by name ("default", "phoenix") or file (YAML, or a Phoenix .jsonl.gz), cached."""
    return _load_cached(str(gazetteer_path(path)))
