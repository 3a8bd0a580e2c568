"""Readers for new, unlabelled text: a folder of .txt files, a JSONL file, or labelled-article JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from stance.actors import Gazetteer
from stance.errors import InputFormatError, Problem, StanceError, display_path
from stance.paths import resolve_path
from stance.schema import Article
from stance.sentences import split_sentences

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
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == suffix) if path.is_dir() else [path]


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
                text = file.read_bytes().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                yield Problem(shown, f"not UTF-8 text (byte {exc.start})")
                continue
            except OSError as exc:
                yield Problem(shown, f"cannot read: {exc.strerror}")
                continue
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
    with file.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
            except UnicodeDecodeError as exc:
                yield Problem(shown, f"not UTF-8 text (byte {exc.start})", line=number)
                continue
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Problem(shown, f"invalid JSON: {exc.msg} (column {exc.colno})", line=number)
                continue
            if not isinstance(record, dict):
                yield Problem(shown, "each line must be a JSON object", line=number)
                continue
            aid, text = record.get("id"), record.get("text")
            if not isinstance(aid, (str, int)) or isinstance(aid, bool) or str(aid).strip() == "":
                yield Problem(shown, "missing or empty 'id'", line=number, field="id")
                continue
            if not isinstance(text, str):
                yield Problem(shown, "missing 'text' or not a string", line=number, article=str(aid), field="text")
                continue
            meta = {}
            for key in ("title", "date", "source", "url"):
                value = record.get(key)
                if value is not None and not isinstance(value, str):
                    yield Problem(shown, f"must be a string, not {type(value).__name__}", line=number, field=key)
                    meta = None
                    break
                meta[key] = value or ""
            if meta is None:
                continue
            yield article_from_text(str(aid), text, origin=f"{shown}:{number}", **meta)
