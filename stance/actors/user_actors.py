"""Actors a user lists in a CSV, layered over a gazetteer (`actors=my_actors.csv`, or `gazetteer=` a CSV).

One actor per row, with a header naming the columns (only `name` and `type` are required):

    name,aliases,type,code,affiliation,from,to
    Mitch McConnell,McConnell|Sen. McConnell,person,USALEG,United States Congress,2007-01-03,2025-01-03

`aliases` are separated by `|` (or `;`), matched case-sensitively like `data/actors.yaml`'s; `code` is a
CAMEO code, dated by `from`/`to` (inclusive, either open) when given; `affiliation` is the actor it rolls
up to, which may be defined in the gazetteer underneath. An actor of the same name as one underneath
takes its place in front (its aliases first, its dated code over the other's of the same code).

`layered_gazetteer_file` writes the small YAML file that includes the CSV and then the base gazetteer,
so every part of the product (loading, its content hash, resume, Ray workers, the model folder's copy)
reads a layered gazetteer as it reads any other.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import yaml

from stance.errors import InputFormatError, Problem, display_path
from stance.files import write_text_atomic

COLUMNS = ("name", "aliases", "type", "code", "affiliation", "from", "to")
REQUIRED = ("name", "type")
USER_FILES = (".csv", ".yaml", ".yml")  # what `actors=` takes as a file to layer, beside its pairing modes


def csv_entries(path: Path) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The CSV's rows as gazetteer YAML entries, and each actor's line (for problems named by line)."""
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFormatError([Problem(shown, f"not UTF-8 text (byte {exc.start}); save the CSV as UTF-8")]) from None
    except OSError as exc:
        raise InputFormatError([Problem(shown, f"cannot read: {exc.strerror}")]) from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    problems = []
    if missing:
        problems.append(Problem(shown, f"the header lacks the column(s) {', '.join(missing)}", line=1))
    if unknown:
        problems.append(Problem(shown, f"unknown column(s) {', '.join(unknown)}; use {', '.join(COLUMNS)}", line=1))
    if problems:
        raise InputFormatError(problems)
    reader.fieldnames = header
    entries: list[dict[str, Any]] = []
    lines: dict[str, int] = {}
    for number, row in enumerate(reader, start=2):
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if not any(values.values()):
            continue  # a blank line
        entry: dict[str, Any] = {"name": values.get("name", ""), "type": values.get("type", "")}
        aliases = [a.strip() for a in values.get("aliases", "").replace(";", "|").split("|") if a.strip()]
        if aliases:
            entry["aliases"] = aliases
        if values.get("affiliation"):
            entry["affiliation"] = values["affiliation"]
        code, start, end = values.get("code"), values.get("from"), values.get("to")
        if code and (start or end):
            entry["roles"] = [{"code": code, **({"from": start} if start else {}), **({"to": end} if end else {})}]
        elif code:
            entry["code"] = code
        elif start or end:
            problems.append(Problem(shown, "from/to date a code: give the code too", line=number, field="code"))
        lines[entry["name"]] = number
        entries.append(entry)
    if problems:
        raise InputFormatError(problems)
    if not entries:
        raise InputFormatError([Problem(shown, "no actors (one row per actor under the header)")])
    return entries, lines


def by_line(problems: list[Problem], lines: dict[str, int], entries: list[dict[str, Any]]) -> list[Problem]:
    """Problems of the YAML checks (fields `actors[i].x`, or `<name>.affiliation`) named by the CSV's line."""
    out = []
    for p in problems:
        name, column = None, p.field
        if p.field and p.field.startswith("actors["):
            index, _, rest = p.field[len("actors[") :].partition("]")
            if index.isdigit() and int(index) < len(entries):
                name, column = entries[int(index)]["name"], rest.lstrip(".").split(".")[0].split("[")[0] or None
        elif p.field and p.field.endswith(".affiliation"):
            name, column = p.field.removesuffix(".affiliation"), "affiliation"
        column = {"roles": "code"}.get(column or "", column)
        out.append(Problem(p.file, p.message, line=lines.get(name or ""), field=column))
    return out


def layered_gazetteer_file(extra: str | Path, base: Path, folder: Path) -> Path:
    """A gazetteer YAML in `folder` that layers `extra` (a CSV or YAML of actors) over the file `base`."""
    extra_path, base_path = Path(extra).resolve(), base.resolve()
    if not extra_path.is_file():
        raise InputFormatError([Problem(display_path(extra_path), "the actors file does not exist")])
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{extra_path.stem}.gazetteer.yaml"
    header = f"# Written by stance: {extra_path.name} layered over {base_path.name} (its actors first).\n"
    write_text_atomic(target, header + yaml.safe_dump({"include": [str(extra_path), str(base_path)]}))
    return target
