"""data/roles.yaml: the role table (offices with dated holders, metonyms, descriptions) read and checked; every
problem is reported with its file and field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from stance.actors.offices import Description, Holder, Metonym, Office, RoleTable
from stance.errors import InputFormatError, Problem, display_path
from stance.paths import resolve_path

DEFAULT_ROLES = "data/roles.yaml"


_CODE = re.compile(r"^[A-Z]{3}(?:[A-Z]{3})*$")
_AGENT = re.compile(r"^[A-Z]{3}$")


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
def default_roles() -> RoleTable:
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
