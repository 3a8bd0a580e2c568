"""Names that stand for different actors in different news ("Georgia", "Brussels"), resolved per article.

`data/ambiguous.yaml` lists each name's readings with the cues that point to each. An article with cues
of exactly one reading gets it; otherwise the name is left unresolved in that article (matched and
dropped, as an ignored phrase is), never guessed. The one place it is applied is the article's matcher
(`stance.actors.pairs.article_gazetteer`), so the builder and prediction read the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from stance.actors.gazetteer import Gazetteer
from stance.errors import InputFormatError, Problem, display_path
from stance.paths import resolve_path

DEFAULT_AMBIGUOUS = "data/ambiguous.yaml"


@dataclass(frozen=True)
class Reading:
    """One actor an ambiguous name may stand for, and what in an article points to it."""

    actor: str
    cues: tuple[str, ...] = ()
    regions_of: str | None = None

    def cued(self, text: str, gazetteer: Gazetteer, form: str) -> bool:
        if any(_phrase(cue).search(text) for cue in self.cues):
            return True
        if self.regions_of is None:
            return False
        return any(
            m.actor != self.actor
            and text[m.start : m.end] != form
            and gazetteer.get(m.actor) is not None
            and gazetteer.get(m.actor).type == "region"
            and gazetteer.affiliation(m.actor) == self.regions_of
            for m in gazetteer.find(text)
        )


@lru_cache(maxsize=512)
def _phrase(text: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(text)}(?!\w)")


@lru_cache(maxsize=4)
def load_ambiguous(path: str = DEFAULT_AMBIGUOUS) -> dict[str, tuple[Reading, ...]]:
    """name → its readings, from the YAML file (every problem named with the file and field)."""
    file = resolve_path(path)
    shown = display_path(file)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputFormatError([Problem(shown, f"cannot read: {exc}")]) from None
    problems: list[Problem] = []
    table: dict[str, tuple[Reading, ...]] = {}
    for name, readings in raw.items() if isinstance(raw, dict) else ():
        if not isinstance(readings, dict) or len(readings) < 2:
            problems.append(Problem(shown, "give two or more readings, each {cues, regions_of}", field=str(name)))
            continue
        parsed = []
        for actor, spec in readings.items():
            spec = spec or {}
            cues = spec.get("cues") or []
            if not isinstance(cues, list) or not all(isinstance(c, str) and c.strip() for c in cues):
                problems.append(Problem(shown, "cues must be a list of phrases", field=f"{name}.{actor}.cues"))
                continue
            parsed.append(Reading(str(actor), tuple(cues), spec.get("regions_of")))
        table[str(name)] = tuple(parsed)
    if problems:
        raise InputFormatError(problems)
    return table


def resolve_ambiguous(text: str, gazetteer: Gazetteer, path: str = DEFAULT_AMBIGUOUS) -> Gazetteer:
    """`gazetteer` with each ambiguous name the text holds read as its one cued reading, or left unresolved.

    Names whose readings the gazetteer does not hold (a list without regions) are left to the gazetteer.
    """
    readings: dict[str, str | None] = {}
    for form, options in load_ambiguous(path).items():
        if not _phrase(form).search(text):
            continue
        known = [r for r in options if r.actor in gazetteer]
        if len(known) < 2:
            continue
        cued = [r.actor for r in known if r.cued(text, gazetteer, form)]
        readings[form] = cued[0] if len(cued) == 1 else None
    return gazetteer.with_readings(readings) if readings else gazetteer


def ambiguous_file(path: str | Path = DEFAULT_AMBIGUOUS) -> Path:
    """The file the readings come from (what a job's description hashes)."""
    return resolve_path(path)
