"""The prediction files a report reads, as one DuckDB view `rows`.

Prediction files (JSONL, CSV or Parquet; one or many) are read by DuckDB, out of
core: memory is bounded by `report.memory_limit` whatever the number of rows,
and DuckDB spills to a folder beside the output beyond it.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stance.errors import StanceError, display_path
from stance.paths import resolve_path
from stance.schema import OUTPUT_FIELDS, SPAN_FIELDS

KINDS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
NUMERIC = {"sentence_index": "BIGINT", "p_support": "DOUBLE", "p_oppose": "DOUBLE", "p_neutral": "DOUBLE"}
NUMERIC |= {name: "BIGINT" for name in SPAN_FIELDS}  # blank (CSV) or absent (older files): NULL, unknown
REQUIRED = ("article_id", "actor", "target", "stance", "p_support", "p_oppose", "p_neutral")
# One column the predictions never carry but a report can group by: an outlet's group, when the input has it.
EXTRA = ("source_group",)


def prediction_files(spec: str | Path) -> list[Path]:
    """The prediction files named by `spec`: a file, a folder (its .jsonl, .csv and .parquet files) or a glob."""
    text = str(spec)
    if any(ch in text for ch in "*?["):
        found = sorted(Path(p) for p in glob.glob(text, recursive=True))
    else:
        path = resolve_path(text)
        if not path.exists():
            raise StanceError(f"predictions {display_path(path)} do not exist")
        found = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    files = [p for p in found if p.suffix.lower() in KINDS and not _is_sidecar(p)]
    if not files:
        raise StanceError(f"predictions {text}: no .jsonl, .csv or .parquet prediction files there")
    return files


def _is_sidecar(path: Path) -> bool:
    """The files stance-predict writes beside its output, which are not predictions."""
    name = path.name
    return (
        name.startswith(".")
        or name in ("manifest.jsonl", "errors.jsonl")  # engine=ray's output folder
        or any(name.endswith(s) for s in (".summary.json", ".errors.jsonl", ".progress.jsonl", ".staging.jsonl"))
    )


def _blank(file: Path) -> bool:
    """Whether a JSONL or CSV file holds no row: nothing but whitespace (or a header line alone, for CSV)."""
    with file.open("rb") as handle:
        lines = [line for line in itertools.islice(handle, 3) if line.strip()]
    return not lines or (file.suffix.lower() == ".csv" and len(lines) == 1)


def _sql_list(paths: Sequence[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def _reader(kind: str, files: Sequence[Path]) -> str:
    listed = _sql_list(files)
    if kind == "parquet":
        return f"read_parquet({listed}, union_by_name = true)"
    if kind == "csv":
        return f"read_csv({listed}, header = true, all_varchar = true, union_by_name = true)"
    # Every column as text first, so a file whose first rows lack a field reads like the others.
    return f"read_json({listed}, format = 'newline_delimited', union_by_name = true, maximum_object_size = 67108864)"


def _normalised(con: Any, kind: str, files: Sequence[Path]) -> str:
    """A SELECT over `files` with the prediction columns, typed, and '' for optional columns they lack."""
    source = _reader(kind, files)
    have = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    missing = [c for c in REQUIRED if c not in have]
    if missing:
        raise StanceError(
            f"{display_path(files[0])}{' and others' if len(files) > 1 else ''}: not prediction files "
            f"(no column {', '.join(missing)}); give files written by stance-predict"
        )
    columns = []
    for name in (*OUTPUT_FIELDS, *EXTRA):
        if name in NUMERIC:
            value = f"TRY_CAST(nullif(CAST({_q(name)} AS VARCHAR), '') AS {NUMERIC[name]})" if name in have else "NULL"
        else:
            value = f"coalesce(CAST({_q(name)} AS VARCHAR), '')" if name in have else "''"
        columns.append(f"{value} AS {_q(name)}")
    return f"SELECT {', '.join(columns)} FROM {source}"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def articles_without_pairs(files: Sequence[Path]) -> list[str]:
    """The ids of articles `stance-predict` read but found no actor pair in: they have no row in any prediction
    file, so they are read from what it wrote beside them (`<name>.summary.json`, or engine=ray's
    `manifest.jsonl`). Sorted; empty when neither is there."""
    ids: set[str] = set()
    for file in files:
        summary = file.with_name(file.stem + ".summary.json")
        if summary.is_file():
            # A summary that cannot be read names nothing; the predictions still stand.
            with contextlib.suppress(OSError, ValueError, AttributeError):
                run = json.loads(summary.read_text(encoding="utf-8")).get("run", {})
                ids.update(run.get("articles_without_pairs_ids", []))
        manifest = file.parent / "manifest.jsonl"
        if manifest.is_file():
            for line in manifest.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("output") == file.name:
                    ids.update(entry.get("articles_without_pairs_ids", []))
    return sorted(ids)


def load_source_groups(path: str | Path) -> dict[str, str]:
    """outlet → group from a CSV (`source,group`), JSON or YAML file."""
    file = resolve_path(path)
    if not file.exists():
        raise StanceError(f"report.source_groups: {display_path(file)} does not exist")
    shown = display_path(file)
    if file.suffix.lower() == ".csv":
        import csv

        with file.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"source", "group"} <= set(reader.fieldnames):
                raise StanceError(f"{shown}: a CSV of outlet groups needs the columns source and group")
            groups = {}
            for number, row in enumerate(reader, start=2):
                if not row["source"] or not row["group"]:
                    raise StanceError(f"{shown}:{number}: empty source or group")
                groups[row["source"]] = row["group"]
            return groups
    import yaml

    data = yaml.safe_load(file.read_text(encoding="utf-8"))  # JSON is YAML
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise StanceError(f"{shown}: expected a mapping of outlet → group")
    return {str(k): v for k, v in data.items()}


def connect(options: Any, spill: Path) -> Any:
    """A DuckDB connection with `report.threads`, `report.memory_limit` and its spill folder."""
    import duckdb

    con = duckdb.connect()
    threads = options.threads or os.cpu_count() or 1
    con.execute(f"SET threads = {int(threads)}")
    con.execute(f"SET memory_limit = '{options.memory_limit}'")
    con.execute(f"SET temp_directory = '{spill}'")
    return con


def open_predictions(con: Any, files: Sequence[Path], groups: dict[str, str] | None) -> dict[str, Any]:
    """Create the view `rows` over every prediction file (any mix of kinds); what it holds."""
    by_kind: dict[str, list[Path]] = {}
    empty = [f for f in files if KINDS[f.suffix.lower()] != "parquet" and _blank(f)]
    if len(empty) == len(files):
        shown = display_path(files[0]) + (f" and {len(files) - 1} more" if len(files) > 1 else "")
        raise StanceError(
            f"{shown}: no predictions in {'it' if len(files) == 1 else 'them'} (empty: stance-predict found no actor "
            "pair in its input; its .summary.json and .errors.jsonl say why)"
        )
    for f in files:
        if f not in empty:  # a text file with no rows has no columns either: it adds nothing
            by_kind.setdefault(KINDS[f.suffix.lower()], []).append(f)
    selects = [_normalised(con, kind, fs) for kind, fs in sorted(by_kind.items())]
    con.execute(f"CREATE VIEW raw_rows AS {' UNION ALL '.join(selects)}")
    group_expr = "r.source_group"
    if groups:
        con.execute("CREATE TABLE outlet_groups (source VARCHAR, grp VARCHAR)")
        con.executemany("INSERT INTO outlet_groups VALUES (?, ?)", sorted(groups.items()))
        group_expr = "coalesce(nullif(r.source_group, ''), g.grp, '')"
    # Dates as the input spells them (2024-05-17, 2024-05-17T09:30:00Z, …): a day, or NULL when unreadable.
    day = (
        "coalesce(TRY_CAST(r.date AS DATE), TRY_CAST(TRY_CAST(r.date AS TIMESTAMP) AS DATE), "
        "TRY_CAST(TRY_CAST(r.date AS TIMESTAMPTZ) AS DATE))"
    )
    join = "LEFT JOIN outlet_groups g ON g.source = r.source" if groups else ""
    con.execute(
        f"""CREATE VIEW rows AS SELECT r.article_id, r.sentence_index, r.sentence, r.actor, r.target, r.stance,
            r.p_support, r.p_oppose, r.p_neutral, r.date AS date_text, {day} AS day, r.source, r.url,
            r.actor_start, r.actor_end, r.target_start, r.target_end, {group_expr} AS source_group,
            coalesce(nullif(r.actor_affiliation, ''), r.actor) AS actor_aff,
            coalesce(nullif(r.target_affiliation, ''), r.target) AS target_aff
        FROM raw_rows r {join}"""
    )
    total, self_rows, undated, dated_text, bad_stance = con.execute(
        """SELECT count(*), count(*) FILTER (actor = target), count(*) FILTER (day IS NULL),
                  count(*) FILTER (day IS NULL AND date_text <> ''),
                  count(*) FILTER (stance NOT IN ('support', 'oppose', 'neutral'))
           FROM rows"""
    ).fetchone()
    if bad_stance:
        raise StanceError(f"{bad_stance} rows have a stance other than support, oppose or neutral")
    return {
        "files": len(files),
        "rows": int(total),
        "self_rows": int(self_rows),
        "undated_rows": int(undated),
        "unreadable_dates": int(dated_text),
    }
