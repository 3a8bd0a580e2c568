"""Gazetteer files: YAML files read and checked (every problem names its file, line and field), their includes,
the Phoenix dictionaries, how the files' actors combine, and a gazetteer's files and content hash.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from stance.actors.actor import Actor, Role
from stance.actors.aliases import ANY_CASE, EXACT, NOT_LOWER, UPPER, Layer, same_name_key
from stance.actors.user_actors import by_line, csv_entries
from stance.errors import InputFormatError, Problem, display_path
from stance.paths import file_sha256, resolve_path

ACTOR_TYPES = ("country", "person", "organization", "alliance", "agent", "region", "other")
DEFAULT_GAZETTEER = "data/actors.yaml"
NAMED_GAZETTEERS = {"default": DEFAULT_GAZETTEER, "phoenix": "data/phoenix.yaml"}
_CODE = re.compile(r"^[A-Z0-9]{3,}~?$")


@dataclass
class GazetteerPart:
    """What one gazetteer file contributes: actors, aliases with their case rule, phrases to ignore."""

    actors: list[Actor] = field(default_factory=list)
    aliases: list[tuple[str, str, int]] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    # actor → (file, line or None): where an affiliation left to check after merging is (a CSV's line)
    lines: dict[str, tuple[str, int | None]] = field(default_factory=dict)


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


def read_phoenix_part(path: Path) -> GazetteerPart:
    shown = display_path(path)
    part = GazetteerPart()
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


def collect_parts(path: Path, chain: tuple[Path, ...]) -> list[GazetteerPart]:
    """The parts of a gazetteer file, its own first, then those of its includes (depth first)."""
    shown = display_path(path)
    if path in chain:
        raise InputFormatError([Problem(shown, "includes itself", field="include")])
    if path.name.endswith((".jsonl.gz", ".jsonl")):
        return [read_phoenix_part(path)]
    if path.suffix.lower() == ".csv":
        return [read_csv_part(path)]
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFormatError([Problem(shown, f"cannot read: {exc.strerror}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputFormatError([Problem(shown, f"invalid YAML: {exc}", line=line)]) from None
    includes = raw.get("include") if isinstance(raw, dict) else None
    if includes is None:  # an included file's affiliations may be actors of the files beside it
        return [parse_yaml(raw, shown, local_affiliations=not chain)]
    if not isinstance(includes, list) or not all(isinstance(i, str) and i.strip() for i in includes):
        raise InputFormatError([Problem(shown, "include must be a list of file paths", field="include")])
    parts = (
        [parse_yaml(raw, shown, local_affiliations=False)] if raw.get("actors") is not None or raw.get("ignore") else []
    )
    for name in includes:
        target = (path.parent / name).resolve()
        if not target.is_file():
            raise InputFormatError([Problem(shown, f"included file {name!r} does not exist", field="include")])
        parts.extend(collect_parts(target, (*chain, path)))
    return parts


def read_csv_part(path: Path) -> GazetteerPart:
    """A user's CSV of actors (`stance.actors.user_actors`), checked as a YAML file is, problems named by line.

    Its affiliations may be actors of the files it is layered over: those are checked once all are merged.
    """
    entries, lines = csv_entries(path)
    try:
        part = parse_yaml({"actors": entries}, display_path(path), local_affiliations=False)
    except InputFormatError as exc:
        raise InputFormatError(by_line(exc.problems, lines, entries)) from None
    part.lines = {name: (display_path(path), line) for name, line in lines.items()}
    return part


def parse_yaml(raw: object, source: str, local_affiliations: bool = True) -> GazetteerPart:
    """Check the parsed YAML of one gazetteer file; every problem is reported.

    `local_affiliations`: each affiliation must be an actor of this file (a layered CSV's may be elsewhere).
    """
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
    for actor in actors.values() if local_affiliations else ():
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
    part = GazetteerPart(actors=list(actors.values()), ignore=list(ignore))
    if not local_affiliations:  # checked once the files are merged (`merge_parts`)
        part.lines = {a.name: (source, None) for a in part.actors if a.affiliation is not None}
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


def merge_parts(parts: list[GazetteerPart]) -> tuple[dict[str, Actor], list[str], Layer]:
    """The actors, phrases to ignore and alias table of one gazetteer from file parts in priority order.

    A later actor is the same actor as an earlier one when it has the same name
    (any case, the US spelt either way: "US Congress" and Phoenix's "United
    States Congress"), when its name is a multi-word alias of an earlier file's
    actor (actors.yaml's Pentagon lists "United States Military"), or when it
    is a country or organisation with the code of an earlier YAML actor
    (Phoenix's USA ↔ "United States"). Then the earlier name, type and
    affiliation win, aliases are united, and the later roles are kept for the
    codes the earlier actor does not date itself.
    """
    actors: dict[str, Actor] = {}
    by_name: dict[str, str] = {}
    by_alias: dict[str, str] = {}
    by_code: dict[str, str] = {}
    layer = Layer()
    ignore: list[str] = []
    for part in parts:
        renamed: dict[str, str] = {}
        for actor in part.actors:
            key = same_name_key(actor.name)
            target = by_name.get(key)
            if target is None and actor.type != "agent" and not actor.roles:
                owner = by_alias.get(key)
                if owner is not None and actors[owner].source != actor.source:
                    target = owner
            if target is None and actor.code and not actor.roles and actor.type in ("country", "organization"):
                owner = by_code.get(actor.code)
                if owner is not None and (actors[owner].source != actor.source or actor.type == "country"):
                    target = owner
            if target is None:
                actors[actor.name] = actor
                by_name.setdefault(key, actor.name)
                for alias in actor.aliases:
                    if " " in alias.strip():
                        by_alias.setdefault(same_name_key(alias), actor.name)
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
    _check_affiliations(actors, parts)
    return actors, ignore, layer


def _check_affiliations(actors: dict[str, Actor], parts: list[GazetteerPart]) -> None:
    """Affiliations left to check after merging (included files', a CSV's) that name no actor, by file and line."""
    where = {name: place for part in parts for name, place in part.lines.items()}
    known = {name.casefold() for name in actors}
    problems = [
        Problem(
            where[name][0], f"affiliation {a.affiliation!r} is not an actor", line=where[name][1], field="affiliation"
        )
        for name, a in actors.items()
        if name in where and a.affiliation is not None and a.affiliation.casefold() not in known
    ]
    if problems:
        raise InputFormatError(problems)


def gazetteer_path(path: str | Path) -> Path:
    """The file a gazetteer name ("default", "phoenix") or path stands for."""
    return resolve_path(NAMED_GAZETTEERS.get(str(path), path))


def gazetteer_files(path: str | Path) -> list[Path]:
    """A gazetteer's file and every file it includes, depth first, each once (resolved paths)."""
    entry = gazetteer_path(path).resolve()
    files = [entry]
    if not entry.name.endswith((".jsonl.gz", ".jsonl", ".csv")):
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
