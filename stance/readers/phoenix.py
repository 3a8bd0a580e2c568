"""Reader of the Phoenix / CAMEO actor and agent dictionaries (PETRARCH2's TABARI-style text files).

The files are read as PETRARCH2 reads them (`PETRreader.read_actor_dictionary`
and `read_agent_dictionary`): a primary phrase, `+` synonyms, TAB-indented
`[CODE date]` restrictions; two-digit years 00–30 are 20YY, others 19YY. A
record that cannot be parsed (a date that is not a date, an agent without a
`[~CODE]`) is skipped, counted and reported with `file:line`, never fatal.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stance.errors import Problem, display_path
from stance.readers.common import tolerate
from stance.readers.phoenix_names import display_phrase, name_case, plural

PHOENIX_FILES = (
    "Phoenix.Countries.actors.txt",
    "Phoenix.International.actors.txt",
    "Phoenix.MilNonState.actors.txt",
    "Phoenix.agents.txt",
)

_BRACKET = re.compile(r"\[([^\]\[]*)\]")
_RESTRICTION = re.compile(r"^([A-Za-z0-9~-]+)\s*(?:([<>])\s*(\d+)|(\d+)\s*-\s*(\d+))?$")
_AGENT = re.compile(r"^(?P<phrase>[^{\[]+?)\s*(?:\{(?P<plural>[^}]*)\})?\s*\[(?P<code>[^\]]*)\]\s*$")
_SUBSET = re.compile(r"^!(\w+)!\s*=\s*(.+)$")
_STATE = re.compile(r"[A-Z]{3}(?:[A-Z]{3}){0,2}")  # a country code, or a former state's sub-code (USRUKR)


@dataclass
class PhoenixRecord:
    """One actor or agent of the dictionaries, in natural text."""

    name: str
    type: str
    code: str | None
    roles: list[tuple[str, str | None, str | None]]
    aliases: list[str]
    file: str
    line: int

    def to_json(self) -> dict[str, Any]:
        """The compact JSON form written by tools/import_phoenix.py."""
        return {
            "name": self.name,
            "type": self.type,
            "code": self.code,
            "roles": [list(r) for r in self.roles],
            "aliases": self.aliases,
            "file": self.file,
            "line": self.line,
        }


@dataclass
class _Pending:
    """A record being read: its phrases (primary last wins as name), default code, roles, first line."""

    line: int
    phrases: list[tuple[str, bool]] = field(default_factory=list)  # (phrase, is primary)
    code: str | None = None
    roles: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    bad: str | None = None
    bad_line: int | None = None


def parse_date(raw: str) -> str:
    """A dictionary date (YYMMDD or YYYYMMDD) as ISO; two-digit years 00–30 are 20YY, the rest 19YY."""
    if len(raw) == 8:
        year, rest = int(raw[:4]), raw[4:]
    elif len(raw) == 6:
        year, rest = int(raw[:2]), raw[2:]
        year += 2000 if year <= 30 else 1900
    else:
        raise ValueError(f"date {raw!r} is neither YYMMDD nor YYYYMMDD")
    try:
        return dt.date(year, int(rest[:2]), int(rest[2:])).isoformat()
    except ValueError:
        raise ValueError(f"date {raw!r} is not a calendar date") from None


def parse_restriction(text: str) -> tuple[str, str | None, str | None, bool] | None:
    """`CODE`, `CODE <date`, `CODE >date` or `CODE d1-d2` as (code, start, end, dated); None for a null code."""
    match = _RESTRICTION.match(text.strip())
    if match is None:
        raise ValueError(f"cannot read the code restriction [{text.strip()}]")
    code, op, when, first, last = match.groups()
    if set(code) <= {"-"}:
        return None  # `[---]`: an explicit null code
    if op == "<":
        return code, None, parse_date(when), True
    if op == ">":
        return code, parse_date(when), None, True
    if first is not None:
        start, end = parse_date(first), parse_date(last)
        if end < start:
            raise ValueError(f"interval {first}-{last} ends before it starts")
        return code, start, end, True
    return code, None, None, False


def _strip_comment(line: str) -> str:
    for mark in ("#", ";"):
        cut = line.find(mark)
        if cut >= 0:
            line = line[:cut]
    return line.rstrip()


def _agent_forms(phrase: str) -> list[str]:
    """An agent phrase in lower case and, unless it ends in `_`, its regular plural."""
    text = display_phrase(phrase).lower()
    if not text:
        return []
    return [text] if phrase.strip().endswith("_") else [text, plural(text)]


def _alias(phrase: str) -> str:
    """An actor phrase as an alias; PETRARCH2 forms no plurals of actors, only of agents."""
    text = display_phrase(phrase)
    return text.upper() if text.isalpha() and len(text) <= 3 else text  # US, UN, PRC


def read_actor_file(path: Path, problems: list[Problem]) -> tuple[list[PhoenixRecord], int]:
    """The actor records of one `.actors.txt` file and the number of records seen (bad ones included)."""
    shown = path.name
    kind = {"Countries": "country", "International": "organization", "MilNonState": "organization"}.get(
        path.name.split(".")[1], "organization"
    )
    records: list[PhoenixRecord] = []
    seen = 0
    current: _Pending | None = None

    def finish(pending: _Pending | None) -> None:
        nonlocal seen
        if pending is None:
            return
        seen += 1
        if pending.bad is not None:
            problems.append(Problem(shown, f"{pending.bad} (record from line {pending.line})", line=pending.bad_line))
            return
        if pending.code is None and not pending.roles:
            problems.append(Problem(shown, "record has no code", line=pending.line))
            return
        records.append(_actor_record(pending, kind, shown))

    for number, raw in enumerate(path.read_text(encoding="latin-1").splitlines(), start=1):
        if raw.startswith("<!") or "---STOP---" in raw:
            continue
        line = _strip_comment(raw)
        if not line.strip():
            continue
        stripped = line.strip()
        if raw.startswith("\t") or stripped.startswith("["):
            if current is None:
                problems.append(Problem(shown, "code restriction before any actor", line=number))
                seen += 1
                continue
            _add_restrictions(current, stripped, number)
        elif stripped.startswith("+"):
            if current is None:
                problems.append(Problem(shown, "synonym before any actor", line=number))
                seen += 1
                continue
            current.phrases.append((stripped[1:].strip(), False))
        else:
            phrase, _, rest = stripped.partition("[")
            if current is not None and current.code is None and not current.roles and current.bad is None:
                # PETRARCH: a primary phrase with no code shares the next record's codes.
                current.phrases.append((phrase.strip(), True))
            else:
                finish(current)
                current = _Pending(line=number, phrases=[(phrase.strip(), True)])
            if rest:
                _add_restrictions(current, "[" + rest, number)
    finish(current)
    return records, seen


def _add_restrictions(pending: _Pending, text: str, number: int) -> None:
    brackets = _BRACKET.findall(text)
    if not brackets or _BRACKET.sub("", text).strip():
        if pending.bad is None:
            pending.bad, pending.bad_line = f"cannot read {text!r}", number
        return
    for inner in brackets:
        try:
            parsed = parse_restriction(inner)
        except ValueError as exc:
            if pending.bad is None:
                pending.bad, pending.bad_line = str(exc), number
            return
        if parsed is None:
            continue
        code, start, end, dated = parsed
        if dated:
            pending.roles.append((code, start, end))
        elif pending.code is None:
            pending.code = code
        else:
            # A second undated code: PETRARCH replaces the default with it.
            pending.code = code


def _actor_record(pending: _Pending, kind: str, shown: str) -> PhoenixRecord:
    primaries = [p for p, primary in pending.phrases if primary]
    acronyms = kind != "country"
    # PETRARCH's root is the last primary phrase; a name keeps its acronyms ("US Intelligence Community").
    name = name_case(display_phrase(primaries[-1], acronyms=acronyms))
    aliases: list[str] = []
    for phrase, _primary in pending.phrases:
        aliases.append(_alias(phrase))
    code, roles = pending.code, pending.roles
    state = _state_code(code, roles) if kind == "country" else None
    if state is not None:
        # A country dated by its states ("UKRAINE [USRUKR <911218] [UKR >911221]"): the country of its
        # latest code, so that its people (UKRGOV) roll up to it as to any other country.
        code, roles = state, []
    elif roles or (kind == "country" and not (code and len(code) == 3 and code.isalpha())):
        kind = "person"
    return PhoenixRecord(
        name=name,
        type=kind,
        code=code,
        roles=roles,
        aliases=[a for a in dict.fromkeys(aliases) if a != name],
        file=shown,
        line=pending.line,
    )


def _state_code(code: str | None, roles: Sequence[tuple[str, str | None, str | None]]) -> str | None:
    """The country code of a Countries record whose codes are all states (3 letters, or a former state's
    6-letter sub-code such as USRUKR or ESTOCC) and whose latest one is a country's; None for anyone else."""
    if not roles or (code is not None and not _STATE.fullmatch(code)):
        return None
    if not all(_STATE.fullmatch(c) for c, _start, _end in roles):
        return None
    latest = code or max(roles, key=lambda r: (r[2] is None, r[2] or "", r[1] or ""))[0]
    return latest if len(latest) == 3 else None


def read_agent_file(path: Path, problems: list[Problem]) -> tuple[list[PhoenixRecord], int]:
    """The agents of `Phoenix.agents.txt`: substitution sets expanded, plurals generated, codes kept."""
    shown = path.name
    sets: dict[str, list[str]] = {}
    records: list[PhoenixRecord] = []
    seen = 0
    for number, raw in enumerate(path.read_text(encoding="latin-1").splitlines(), start=1):
        line = _strip_comment(raw).strip()
        if not line or line.startswith("<!"):
            continue
        subset = _SUBSET.match(line)
        if subset:
            sets[subset.group(1)] = [w.strip() for w in subset.group(2).split(",") if w.strip()]
            continue
        seen += 1
        match = _AGENT.match(line)
        code = match.group("code").strip() if match else ""
        if match is None or not re.fullmatch(r"~[A-Z]{3,}|[A-Z]{3,}~", code):
            problems.append(Problem(shown, f"agent needs 'PHRASE {{plural}} [~CODE]': {line!r}", line=number))
            continue
        phrase = match.group("phrase").strip()
        expanded = _expand(phrase, sets)
        if expanded is None:
            problems.append(Problem(shown, f"unknown substitution set in {phrase!r}", line=number))
            continue
        forms: list[str] = []
        if len(expanded) > 1:
            # The set lists the plurals itself (MAN, MEN, ...): no generated plural.
            forms = [display_phrase(p).lower() for p in expanded]
        elif match.group("plural") is not None:
            given = match.group("plural").strip()
            forms = [display_phrase(phrase).lower()] + ([display_phrase(given).lower()] if given else [])
        else:
            forms = _agent_forms(expanded[0])
        forms = [f for f in dict.fromkeys(forms) if f]
        if not forms:
            problems.append(Problem(shown, f"empty agent phrase {phrase!r}", line=number))
            continue
        # `~COP` appends the agent code to the actor's (CHN + COP); `IGO~` prepends it.
        records.append(
            PhoenixRecord(
                name=forms[0],
                type="agent",
                code=code[1:] if code.startswith("~") else code,
                roles=[],
                aliases=forms[1:],
                file=shown,
                line=number,
            )
        )
    return records, seen


def _expand(phrase: str, sets: dict[str, list[str]]) -> list[str] | None:
    match = re.search(r"!(\w+)!", phrase)
    if match is None:
        return [phrase]
    if match.group(1) not in sets:
        return None
    out: list[str] = []
    for word in sets[match.group(1)]:
        rest = _expand(phrase[: match.start()] + word + phrase[match.end() :], sets)
        if rest is None:
            return None
        out.extend(rest)
    return out


def read_phoenix(root: str | Path, data_cfg: Any = None, skipped: list[Problem] | None = None) -> list[PhoenixRecord]:
    """Every record of the four Phoenix files under `root`, actors first, names made unique.

    Records that cannot be parsed are skipped and reported (`tolerate`); two
    records with the same display name and code are one actor, otherwise the
    later one's name is suffixed with its code ("Abdul Qadir (AFGELI)").
    """
    root = Path(root)
    problems: list[Problem] = []
    records: list[PhoenixRecord] = []
    total = 0
    for name in PHOENIX_FILES:
        path = root / name
        if not path.is_file():
            problems.append(Problem(display_path(path), "missing Phoenix dictionary file"))
            continue
        reader = read_agent_file if name == "Phoenix.agents.txt" else read_actor_file
        found, seen = reader(path, problems)
        records.extend(found)
        total += seen
    tolerate("Phoenix dictionaries", problems, total, data_cfg, skipped)
    return list(_unique(records))


def _unique(records: Iterable[PhoenixRecord]) -> Iterator[PhoenixRecord]:
    by_name: dict[str, PhoenixRecord] = {}
    for record in records:
        key = record.name.casefold()
        first = by_name.get(key)
        if first is not None and (first.code, first.type) == (record.code, record.type):
            first.aliases = [
                a for a in dict.fromkeys([*first.aliases, record.name, *record.aliases]) if a != first.name
            ]
            first.roles.extend(r for r in record.roles if r not in first.roles)
            continue
        if first is not None:
            tag = record.code or (record.roles[0][0] if record.roles else record.file)
            record.aliases = [record.name, *record.aliases]
            record.name = f"{record.name} ({tag})"
            key = record.name.casefold()
            if key in by_name:  # same name and code twice more: fold into that one
                again = by_name[key]
                again.aliases = list(dict.fromkeys([*again.aliases, *record.aliases]))
                again.roles.extend(r for r in record.roles if r not in again.roles)
                continue
        by_name[key] = record
    yield from by_name.values()
