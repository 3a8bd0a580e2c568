"""Reader for stance's own labelled-article JSON format (documented in data/README.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from json.decoder import JSONObject  # type: ignore[attr-defined]
from json.scanner import py_make_scanner  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any, Protocol

from stance.actors.gazetteer import Gazetteer, load_gazetteer
from stance.errors import InputFormatError, Problem, display_path
from stance.paths import resolve_path
from stance.schema import SPLITS, STANCES, Article, StanceLabel, iso_day

_OPTIONAL_TEXT = ("title", "source", "date", "url")
_KNOWN_KEYS = {"id", "sentences", "labels", "split", "furniture", *_OPTIONAL_TEXT}
_LABEL_KEYS = ("sentence", "actor", "target", "stance")


class _LineTrackingDecoder(json.JSONDecoder):
    """A JSON decoder that remembers the line on which each object starts, for error messages."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[int, int] = {}
        self._text = ""

        def parse_object(s_and_end: tuple[str, int], *args: Any) -> tuple[Any, int]:
            s, end = s_and_end
            obj, new_end = JSONObject(s_and_end, *args)
            self.lines[id(obj)] = s.count("\n", 0, end) + 1
            return obj, new_end

        self.parse_object = parse_object
        self.scan_once = py_make_scanner(self)

    def line_of(self, obj: object) -> int | None:
        return self.lines.get(id(obj))


def _json_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = resolve_path(raw)
        if path.is_dir():
            files.extend(sorted(path.glob("*.json")))
        else:
            files.append(path)
    return files


def load_articles(paths: Iterable[str | Path] | str | Path, gazetteer: Gazetteer | None = None) -> list[Article]:
    """Load labelled articles from JSON files or folders of them, checking everything.

    A file holds one article object or a list of them. All problems across all
    files are collected and raised together as one `InputFormatError`, each
    naming the file, line, article and field.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    gazetteer = gazetteer or load_gazetteer()
    problems: list[Problem] = []
    articles: list[Article] = []
    first_seen: dict[str, str] = {}
    for path in _json_files(paths):
        shown = display_path(path)
        for article in _read_file(path, shown, gazetteer, problems):
            if article.id in first_seen:
                problems.append(
                    Problem(
                        shown,
                        f"duplicate article id (first in {first_seen[article.id]})",
                        article=article.id,
                        field="id",
                    )
                )
                continue
            first_seen[article.id] = shown
            articles.append(article)
    if problems:
        raise InputFormatError(problems)
    return articles


def _read_file(path: Path, shown: str, gazetteer: Gazetteer, problems: list[Problem]) -> list[Article]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        problems.append(Problem(shown, "no such file"))
        return []
    except UnicodeDecodeError as exc:
        problems.append(Problem(shown, f"not UTF-8 text (byte {exc.start})"))
        return []
    decoder = _LineTrackingDecoder()
    try:
        data = decoder.decode(text)
    except json.JSONDecodeError as exc:
        problems.append(Problem(shown, f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno))
        return []
    items = data if isinstance(data, list) else [data]
    articles = []
    for i, item in enumerate(items):
        article = _parse_article(item, i, shown, decoder, gazetteer, problems)
        if article is not None:
            articles.append(article)
    return articles


class _Report(Protocol):
    """Records one problem of the article being parsed: message, field, and the JSON value whose line to name."""

    def __call__(self, message: str, field: str, at: object = ...) -> None: ...


def _parse_article(
    item: object, index: int, shown: str, decoder: _LineTrackingDecoder, gazetteer: Gazetteer, problems: list[Problem]
) -> Article | None:
    line = decoder.line_of(item)
    if not isinstance(item, dict):
        problems.append(Problem(shown, f"article #{index} must be a JSON object, not {type(item).__name__}", line=line))
        return None
    aid = item.get("id")
    if not isinstance(aid, str) or not aid.strip():
        problems.append(Problem(shown, "an article needs a non-empty string 'id'", line=line, field="id"))
        return None
    before = len(problems)

    def bad(message: str, field: str, at: object = item) -> None:
        problems.append(Problem(shown, message, line=decoder.line_of(at) or line, article=aid, field=field))

    split, sentences, furniture, raw_labels = _article_fields(item, bad)
    labels = _parse_labels(raw_labels, len(sentences), gazetteer, bad)
    date = item.get("date")
    if isinstance(date, str) and date.strip() and iso_day(date) is None:
        bad(f"{date!r} is not a date (YYYY-MM-DD, or ISO 8601 with a time)", "date", date)
    if len(problems) > before:
        return None
    return Article(
        id=aid,
        sentences=list(sentences),
        labels=labels,
        title=item.get("title") or "",
        source=item.get("source") or "",
        date=item.get("date") or "",
        url=item.get("url") or "",
        split=split,
        furniture=list(furniture),
        origin=shown,
    )


def _article_fields(item: dict[str, Any], bad: _Report) -> tuple[Any, list[Any], list[Any], list[Any]]:
    """The article's split, sentences, furniture and raw labels, each checked (a bad list reads as empty)."""
    for key in sorted(set(item) - _KNOWN_KEYS):
        bad(f"unknown field (expected one of {', '.join(sorted(_KNOWN_KEYS))})", key)
    for key in _OPTIONAL_TEXT:
        if item.get(key) is not None and not isinstance(item[key], str):
            bad(f"must be a string, not {type(item[key]).__name__}", key)
    split = item.get("split")
    if split is not None and split not in SPLITS:
        bad(f"split {split!r} is not one of {', '.join(SPLITS)} (or null)", "split")
    sentences = item.get("sentences")
    if not isinstance(sentences, list) or not sentences or not all(isinstance(s, str) for s in sentences):
        bad("must be a non-empty list of strings", "sentences")
        sentences = []
    furniture = item.get("furniture", [])
    if not isinstance(furniture, list) or not all(isinstance(s, str) for s in furniture):
        bad("must be a list of strings", "furniture")
        furniture = []
    raw_labels = item.get("labels", [])
    if not isinstance(raw_labels, list):
        bad("must be a list", "labels")
        raw_labels = []
    return split, sentences, furniture, raw_labels


def _parse_labels(raw_labels: list[Any], n_sentences: int, gazetteer: Gazetteer, bad: _Report) -> list[StanceLabel]:
    """The article's labels, each checked; an exact repeat is dropped, a conflicting one reported."""
    labels: list[StanceLabel] = []
    seen: dict[tuple[int, str, str], tuple[str, int]] = {}
    for j, raw in enumerate(raw_labels):
        field = f"labels[{j}]"
        if not isinstance(raw, dict):
            bad("must be an object with sentence, actor, target, stance", field)
            continue
        missing = [k for k in _LABEL_KEYS if k not in raw]
        if missing:
            bad(f"missing {', '.join(missing)}", field, raw)
            continue
        if not _label_ok(raw, field, n_sentences, gazetteer, bad):
            continue
        sent = raw["sentence"]
        key = (sent, raw["actor"], raw["target"])
        if key in seen:
            prev_stance, prev_j = seen[key]
            if prev_stance != raw["stance"]:
                bad(
                    f"conflicts with labels[{prev_j}]: {raw['actor']} → {raw['target']} in sentence {sent} "
                    f"is both {prev_stance!r} and {raw['stance']!r}",
                    field,
                    raw,
                )
            continue  # an exact repeat adds nothing
        seen[key] = (raw["stance"], j)
        labels.append(StanceLabel(sentence=sent, actor=raw["actor"], target=raw["target"], stance=raw["stance"]))
    return labels


def _label_ok(raw: dict[str, Any], field: str, n_sentences: int, gazetteer: Gazetteer, bad: _Report) -> bool:
    """Whether one label's sentence, actor, target and stance are all valid; every problem is reported."""
    ok = True
    sent = raw["sentence"]
    if not isinstance(sent, int) or isinstance(sent, bool) or not 0 <= sent < n_sentences:
        bad(
            f"sentence index {sent!r} is out of range (the article has {n_sentences} sentences)",
            f"{field}.sentence",
            raw,
        )
        ok = False
    for role in ("actor", "target"):
        name = raw[role]
        if not isinstance(name, str) or name not in gazetteer:
            hint = ""
            canonical = gazetteer.canonical(name) if isinstance(name, str) else None
            if canonical is not None:
                hint = f"; it is an alias of {canonical!r}, use the canonical name"
            bad(f"unknown {role} {name!r} (not a canonical actor in the gazetteer{hint})", f"{field}.{role}", raw)
            ok = False
    if raw["actor"] == raw["target"]:
        bad(f"actor {raw['actor']!r} is labelled toward itself", f"{field}.target", raw)
        ok = False
    if raw["stance"] not in STANCES:
        bad(f"unknown stance {raw['stance']!r} (expected one of {', '.join(STANCES)})", f"{field}.stance", raw)
        ok = False
    return ok


def article_to_dict(article: Article) -> dict[str, Any]:
    """The JSON form of an article, as `load_articles` reads it."""
    return {
        "id": article.id,
        "title": article.title,
        "source": article.source,
        "date": article.date,
        "url": article.url,
        "split": article.split,
        "sentences": article.sentences,
        "furniture": article.furniture,
        "labels": [
            {"sentence": lab.sentence, "actor": lab.actor, "target": lab.target, "stance": lab.stance}
            for lab in article.labels
        ],
    }
