"""The commit log of a restartable batch job: what is durably done, so a killed run resumes where it stopped.

A job writes its output article by article. After each article it flushes and
fsyncs the output, then appends `{"article_id", "offset", "pairs", "precision"}`
to `<output>.progress.jsonl` and fsyncs that too: the byte offset just after
that article's rows, and the numeric path that scored it (`auto` before `auto`
has chosen: such articles ran at fp32). A resumed `precision=auto` job keeps
the path the first run chose instead of measuring again. The log's first line describes the job (model,
input, format, …); its last line, once the job has finished, is
`{"complete": true, …}`.

On restart, `CommitLog.resume` reads the log back: the output is cut to the last
committed offset (which drops a half-written article or a torn line), and the
committed article ids are skipped. A torn last line of the log itself is
dropped; an output shorter than a commit says (a crash that lost data the disk
had not kept) falls back to the last commit it still holds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stance.errors import StanceError, display_path
from stance.files import write_text_atomic

LOG_VERSION = 1


@dataclass
class Resumed:
    """What an earlier run of the same job had committed."""

    offset: int  # the output's committed length in bytes
    done: set[str] = field(default_factory=set)
    articles: int = 0
    no_pairs: list[str] = field(default_factory=list)  # the articles without an actor pair, in commit order
    was_complete: bool = False
    precision: str | None = None  # the precision the first run scored at (what `auto` chose)


def progress_path(output: Path) -> Path:
    """`<output>.progress.jsonl`, beside the output."""
    return output.with_name(output.name + ".progress.jsonl")


class CommitLog:
    """An append-only JSONL log of committed articles, each line fsynced."""

    def __init__(self, path: Path, lines: list[dict[str, Any]]) -> None:
        self.path = path
        write_text_atomic(path, "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
        self.handle = path.open("a", encoding="utf-8")

    @classmethod
    def start(cls, path: Path, job: dict[str, Any], offset: int) -> CommitLog:
        """A new log for `job`, whose output starts with `offset` bytes (a CSV header)."""
        return cls(path, [{"version": LOG_VERSION, "job": job, "offset": offset}])

    @classmethod
    def resume(cls, path: Path, output: Path, job: dict[str, Any]) -> tuple[CommitLog, Resumed] | None:
        """Reopen the log of an earlier run of `job` and cut `output` to its last commit.

        None when there is nothing to resume (no log, no output, or a finished
        run of another job: it is replaced). An unfinished run of another job is
        refused, so that two jobs never mix in one output.
        """
        if not path.exists() or not output.exists():
            return None
        lines = _read_lines(path)
        head = lines[0] if lines else {}
        if head.get("version") != LOG_VERSION or not isinstance(head.get("job"), dict):
            raise StanceError(f"{display_path(path)} is not a progress log of this version; rerun with overwrite=true")
        complete = bool(lines) and bool(lines[-1].get("complete"))
        changed = [key for key in sorted(set(job) | set(head["job"])) if job.get(key) != head["job"].get(key)]
        if changed:
            if complete:
                return None
            what = "; ".join(f"{k}: {head['job'].get(k)!r} then, {job.get(k)!r} now" for k in changed)
            raise StanceError(
                f"{display_path(output)} holds an unfinished run of another job ({what}). Rerun with the same "
                "arguments to resume it, or add overwrite=true to start afresh"
            )
        size = output.stat().st_size
        commits = [line for line in lines[1:] if "article_id" in line]
        while commits and int(commits[-1]["offset"]) > size:
            commits.pop()
        offset = int(commits[-1]["offset"]) if commits else int(head.get("offset", 0))
        if offset > size:  # not even the CSV header survived
            return None
        os.truncate(output, offset)
        chosen = next(
            (str(c["precision"]) for c in reversed(commits) if c.get("precision") not in (None, "auto")), None
        )
        state = Resumed(offset=offset, was_complete=complete, precision=chosen)
        for c in commits:
            state.done.add(str(c["article_id"]))
            state.articles += 1
            if int(c.get("pairs", 0)) == 0:
                state.no_pairs.append(str(c["article_id"]))
        return cls(path, [head, *commits]), state

    @staticmethod
    def finished(path: Path, job: dict[str, Any]) -> dict[str, Any] | None:
        """The closing entry of a finished run of `job` logged at `path`, or None."""
        if not path.exists():
            return None
        lines = _read_lines(path)
        if not lines or lines[0].get("job") != job or not lines[-1].get("complete"):
            return None
        return lines[-1]

    def commit(self, entry: dict[str, Any]) -> None:
        """Append one entry and make it durable."""
        self.handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def close(self) -> None:
        self.handle.close()


def _read_lines(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes().split(b"\n")
    lines: list[dict[str, Any]] = []
    for number, line in enumerate(raw, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            if number >= len(raw) - 1:  # a torn last line: the run was killed while writing it
                break
            raise StanceError(
                f"{display_path(path)}:{number} is not a progress entry; rerun with overwrite=true to start afresh"
            )
        lines.append(record)
    return lines
