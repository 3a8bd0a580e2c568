"""`engine=ray`'s input shards and output folder, and the manifest by which a rerun skips completed shards.

How a run restarts is told in `stance.predict.ray`'s docstring.
"""

from __future__ import annotations

import glob
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stance.errors import StanceError, display_path
from stance.files import write_text_atomic
from stance.paths import resolve_path

log = logging.getLogger(__name__)

SHARD_SUFFIXES = (".jsonl", ".parquet")
MANIFEST = "manifest.jsonl"
ERRORS = "errors.jsonl"
MANIFEST_VERSION = 1


@dataclass
class Shard:
    """One input shard and the output file it becomes."""

    name: str  # the input file's name (unique within a job)
    path: str  # absolute path, as Ray reads it
    shown: str  # as the user typed it, for messages
    output: Path


def list_shards(source: str, output: Path) -> list[Shard]:
    """The shards named by `source` (a folder, a glob, or one file), each with its output file; names checked."""
    if any(ch in source for ch in "*?["):
        found = sorted(Path(p) for p in glob.glob(source, recursive=True))
        what = f"input {source}"
    else:
        path = resolve_path(source)
        if not path.exists():
            raise StanceError(f"input {display_path(path)} does not exist")
        found = sorted(p for p in path.iterdir() if not p.name.startswith(".")) if path.is_dir() else [path]
        what = f"input {display_path(path)}"
    inside = output.resolve()  # the output folder's own files (manifest.jsonl, shards) are never input
    files = [p for p in found if p.is_file() and p.suffix.lower() in SHARD_SUFFIXES and p.resolve().parent != inside]
    ignored = [p for p in found if p not in files]
    if ignored:
        log.warning("%s: %d files that are not .jsonl or .parquet shards are ignored", what, len(ignored))
    if not files:
        raise StanceError(f"{what}: no .jsonl or .parquet shards there (engine=ray reads a folder of shards)")
    shards: dict[str, Shard] = {}
    for file in files:
        target = output / f"{file.stem}.parquet"
        if target.resolve() == file.resolve():
            raise StanceError(f"output {display_path(output)}: would overwrite the input shard {display_path(file)}")
        twin = next((s for s in shards.values() if s.output == target), None)
        if twin is not None:
            raise StanceError(
                f"{what}: shards {twin.shown} and {display_path(file)} would both be written to {target.name}; "
                "rename one"
            )
        shards[file.name] = Shard(file.name, str(file.resolve()), display_path(file), target)
    return list(shards.values())


def read_manifest(output: Path) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """(the job line, the last line per completed shard) of `output`'s manifest; a torn last line is dropped."""
    path = output / MANIFEST
    if not path.exists():
        return None, {}
    job: dict[str, Any] | None = None
    done: dict[str, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a kill: its shard was not recorded, so it is done again
        if "job" in entry:
            job = entry["job"]
        elif "shard" in entry:
            done[entry["shard"]] = entry
    return job, done


def complete_shards(shards: Iterable[Shard], done: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The manifest lines of the shards whose output is there with the rows the manifest records."""
    import pyarrow.parquet as pq

    complete = {}
    for shard in shards:
        entry = done.get(shard.name)
        if entry is None or not shard.output.exists():
            continue
        try:
            rows = pq.read_metadata(shard.output).num_rows
        except (OSError, ValueError):  # pyarrow's ArrowInvalid is a ValueError
            continue
        if rows == entry.get("rows"):
            complete[shard.name] = entry
    return complete


def append_line(path: Path, record: dict[str, Any]) -> None:
    """Append `record` to `path` as one JSON line, fsynced before this returns."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def start_output(output: Path, job: dict[str, Any], overwrite: bool) -> dict[str, dict[str, Any]]:
    """Check (or start) the output folder's manifest for `job`; the shards an earlier run completed."""
    output.mkdir(parents=True, exist_ok=True)
    for stale in output.glob(".*.tmp-*"):  # a killed run's staging files
        stale.unlink(missing_ok=True)
    old_job, done = read_manifest(output)
    if old_job is not None and old_job != job and not overwrite:
        differs = sorted(k for k in set(job) | set(old_job) if job.get(k) != old_job.get(k))
        raise StanceError(
            f"output {display_path(output)} holds another job's shards ({', '.join(differs)} differ); "
            "use another output folder, or overwrite=true to start afresh"
        )
    if overwrite or old_job is None:
        for entry in done.values():
            (output / entry["output"]).unlink(missing_ok=True)
        write_text_atomic(output / MANIFEST, json.dumps({"job": job, "version": MANIFEST_VERSION}) + "\n")
        return {}
    return done
