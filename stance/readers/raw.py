"""Readers for new, unlabelled text: a folder of .txt files, a JSONL file, or labelled-article JSON."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from stance.actors.gazetteer import Gazetteer
from stance.errors import InputFormatError, Problem, StanceError, display_path
from stance.paths import resolve_path
from stance.schema import Article, iso_day
from stance.sentences import split_sentences

log = logging.getLogger(__name__)

INPUT_KINDS = ("txt", "jsonl", "json")


def input_kind(path: Path) -> str:
    """Which reader a path needs: `txt` (file or folder of .txt), `jsonl`, or `json` (labelled articles)."""
    if path.is_dir():
        kinds = {p.suffix.lower() for p in path.iterdir() if p.is_file()}
        if ".txt" in kinds:
            return "txt"
        if ".jsonl" in kinds:
            return "jsonl"
        if ".json" in kinds:
            return "json"
        raise StanceError(f"{display_path(path)}: no .txt, .jsonl or .json files in this folder")
    suffix = path.suffix.lower()
    if suffix in (".txt", ".text"):
        return "txt"
    if suffix == ".jsonl":
        return "jsonl"
    if suffix == ".json":
        return "json"
    raise StanceError(f"{display_path(path)}: unknown input type {suffix!r} (expected .txt, .jsonl, .json or a folder)")


def article_from_text(article_id: str, text: str, **meta: str) -> Article:
    """An unlabelled article from raw text, split into sentences by the project's splitter."""
    return Article(id=article_id, sentences=split_sentences(text), **meta)


def _files(path: Path, suffix: str) -> list[Path]:
    if not path.is_dir():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file())
    chosen = [p for p in files if p.suffix.lower() == suffix]
    others = len(files) - len(chosen)
    if others:
        log.warning("%s: %d files that are not %s are ignored", display_path(path), others, suffix)
    return chosen


def _decode(data: bytes) -> tuple[str | None, str]:
    """(UTF-8 text with a leading BOM dropped, "") or (None, why not): binary data and invalid UTF-8 are named."""
    nul = data.find(b"\0")
    if nul >= 0:
        return None, f"binary data, not text (NUL byte at offset {nul})"
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte {exc.start})"


def iter_inputs(path: str | Path, gazetteer: Gazetteer) -> Iterator[Article | Problem]:
    """Stream articles from `path`, one at a time; a bad record yields a `Problem` instead of stopping."""
    path = resolve_path(path)
    if not path.exists():
        raise StanceError(f"input {display_path(path)} does not exist")
    kind = input_kind(path)
    if kind == "txt":
        for file in _files(path, ".txt"):
            shown = display_path(file)
            try:
                data = file.read_bytes()
            except OSError as exc:
                yield Problem(shown, f"cannot read: {exc.strerror}")
                continue
            text, why = _decode(data)
            if text is None:
                yield Problem(shown, why)
            elif not text.strip():
                yield Problem(shown, "empty file: no text to score")
            else:
                yield article_from_text(file.stem, text, origin=shown)
    elif kind == "jsonl":
        for file in _files(path, ".jsonl"):
            yield from _iter_jsonl(file)
    else:
        from stance.readers.articles import load_articles

        for file in _files(path, ".json"):
            try:
                yield from load_articles([file], gazetteer)
            except InputFormatError as exc:
                yield from exc.problems


def _iter_jsonl(file: Path) -> Iterator[Article | Problem]:
    shown = display_path(file)
    try:
        handle = file.open("rb")
    except OSError as exc:
        yield Problem(shown, f"cannot read: {exc.strerror}")
        return
    with handle:
        yield from jsonl_records(handle, shown)


def jsonl_records(lines: Iterable[bytes], shown: str) -> Iterator[Article | Problem]:
    """The articles of JSONL lines (bytes, as a binary file yields them), or the Problem with each bad one.

    A NUL byte is binary data, not text: the file is named once there, with the line and offset, and
    read no further (the records before it are kept), wherever it starts and whichever engine reads it.
    """
    records = offset = 0
    for number, raw in enumerate(lines, start=1):
        nul = raw.find(b"\0")
        if nul >= 0:
            yield Problem(
                shown,
                f"binary data, not JSONL text (NUL byte at offset {offset + nul}); not read from here",
                line=number,
            )
            return
        offset += len(raw)
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
        except UnicodeDecodeError as exc:
            records += 1
            yield Problem(shown, f"not UTF-8 text (byte {exc.start})", line=number)
            continue
        if line:
            records += 1
            yield jsonl_record(line, shown, number)
    if records == 0:
        yield Problem(shown, "empty file: no records")


def jsonl_record(line: str, shown: str, number: int) -> Article | Problem:
    """One JSONL line → an Article, or the Problem with it (every field checked)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return Problem(shown, f"invalid JSON: {exc.msg} (column {exc.colno})", line=number)
    except (ValueError, RecursionError) as exc:  # e.g. nesting too deep, an integer too long
        return Problem(shown, f"invalid JSON: {type(exc).__name__}", line=number)
    if not isinstance(record, dict):
        return Problem(shown, "each line must be a JSON object", line=number)
    aid, text = record.get("id"), record.get("text")
    if not isinstance(aid, (str, int)) or isinstance(aid, bool) or str(aid).strip() == "":
        return Problem(shown, "missing or empty 'id'", line=number, field="id")
    aid = str(aid)
    if not _encodable(aid):
        return Problem(shown, "'id' is not valid Unicode (lone surrogate escape)", line=number, field="id")
    if not isinstance(text, str):
        return Problem(shown, "missing 'text' or not a string", line=number, article=aid, field="text")
    if not text.strip():
        return Problem(shown, "'text' is empty: nothing to score", line=number, article=aid, field="text")
    meta: dict[str, str] = {}
    for key in ("title", "date", "source", "url", "text"):
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            return Problem(shown, f"must be a string, not {type(value).__name__}", line=number, article=aid, field=key)
        if value is not None and not _encodable(value):
            return Problem(shown, "not valid Unicode (lone surrogate escape)", line=number, article=aid, field=key)
        if key != "text":
            meta[key] = value or ""
    if meta["date"] and iso_day(meta["date"]) is None:
        # Kept as given in the output, read as undated (no office or roll-up by date), and said where.
        log.warning(
            "%s:%d: article %s: field 'date': %r is not a date (YYYY-MM-DD, or ISO 8601 with a time); "
            "the article is read as undated",
            shown,
            number,
            aid,
            meta["date"],
        )
    return article_from_text(aid, text, origin=f"{shown}:{number}", **meta)


def _encodable(text: str) -> bool:
    # JSON may escape lone surrogates ("\ud800"), which no UTF-8 file can hold.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
