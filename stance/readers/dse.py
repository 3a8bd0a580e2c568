"""Reader for the DSE corpus (Park, Pan and Joo, Findings of ACL 2021).

"Who Blames or Endorses Whom? Entity-to-Entity Directed Sentiment Extraction
in News Text". The corpus is three files under one root directory,
`train.txt`, `valid.txt` and `test.txt`; each line is

    sentence<TAB>p<TAB>q<TAB>label

where the sentence marks the two entities with square brackets
(`[Trump] blamed [China] for ...`) and the label is one of

    0  neutral                  3  p negative toward q
    1  p positive toward q      4  q negative toward p
    2  q positive toward p

Each line becomes one `Article` with one sentence (the brackets around the two
marked mentions removed, everything else verbatim), the closed actor list
`[p, q]` and two directed labels, p→q first and then q→p, so the builder emits
the p→q example of a line before its q→p example (`stance.evaluation.dse`
folds the two back into the corpus's label to score them).

Reading rules:

* Records are read as the corpus authors read them, with
  `pandas.read_csv(path, sep="\t", header=None)`: tab-separated with CSV
  quoting, so a field that begins with `"` is quoted and `""` inside it is one
  `"` (`"NHL.""Youve"` is the entity `NHL."Youve`, bracketed `[NHL."Youve]`).
* Only the bracketed spans whose text equals p or q (ignoring case and spaces
  just inside the brackets) are entity markers; any other bracket in the
  sentence (`[sic]`, `[the trade deal]`) is kept as text.
* A first line whose label field is not an integer and whose sentence marks
  neither entity is taken to be a column header and skipped. Blank lines are
  skipped. Line numbers are physical line numbers in the file.
* A malformed record is skipped and reported with file and line; the run
  stops only when more than `data.max_bad_fraction` (default 0.01) of the
  records are bad (`stance.readers.common.tolerate`).

Spans: the bracketed mentions are given to the builder as the article's
`spans`, so the example marks the bracketed mention even when the entity (or
a gazetteer alias of it) occurs earlier in the sentence (`Trump's aide said
[Trump] ...`).
"""

from __future__ import annotations

import csv
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stance.errors import Problem, StanceError, display_path
from stance.progress import progress
from stance.readers.common import config_value, corpus_root, tolerate
from stance.schema import Article, StanceLabel

log = logging.getLogger(__name__)

# Split name (as given in `data.splits`) → (file name, the split its articles belong to).
SPLIT_FILES: dict[str, tuple[str, str]] = {
    "train": ("train.txt", "train"),
    "valid": ("valid.txt", "validation"),
    "validation": ("valid.txt", "validation"),
    "test": ("test.txt", "test"),
}
DEFAULT_SPLITS = ("train", "valid", "test")

# Label id → (stance of p toward q, stance of q toward p).
DIRECTIONS: dict[int, tuple[str, str]] = {
    0: ("neutral", "neutral"),
    1: ("support", "neutral"),
    2: ("neutral", "support"),
    3: ("oppose", "neutral"),
    4: ("neutral", "oppose"),
}
_N_FIELDS = 4


@dataclass(frozen=True)
class Marked:
    """A DSE sentence with its entity brackets removed.

    `p_span` and `q_span` are the [start, end) character offsets in `text` of
    the first bracketed mention of each entity; `p_forms` and `q_forms` the
    surface forms the brackets held (the entity itself, or a case variant).
    """

    text: str
    p_span: tuple[int, int]
    q_span: tuple[int, int]
    p_forms: tuple[str, ...]
    q_forms: tuple[str, ...]


def _marker(entity: str) -> str:
    """A regex for `[entity]`: exact text inside the brackets, up to case and surrounding spaces."""
    return r"\[\s*(" + re.escape(entity) + r")\s*\]"


def unbracket(sentence: str, p: str, q: str) -> Marked | str:
    """Remove the brackets that mark `p` and `q` in `sentence`; a message saying why not, if they are not there.

    Only bracketed spans whose text is p or q are markers; other brackets stay.
    """
    pattern = re.compile(f"(?P<p>{_marker(p)})|(?P<q>{_marker(q)})", re.IGNORECASE)
    pieces: list[str] = []
    spans: dict[str, tuple[int, int]] = {}
    forms: dict[str, list[str]] = {"p": [], "q": []}
    length, last = 0, 0
    for match in pattern.finditer(sentence):
        which = "p" if match.group("p") is not None else "q"
        surface = match.group(2) if which == "p" else match.group(4)
        pieces.append(sentence[last : match.start()])
        length += match.start() - last
        spans.setdefault(which, (length, length + len(surface)))
        if surface not in forms[which]:
            forms[which].append(surface)
        pieces.append(surface)
        length += len(surface)
        last = match.end()
    pieces.append(sentence[last:])
    missing = [(name, entity) for name, entity in (("p", p), ("q", q)) if name not in spans]
    if missing:
        found = re.findall(r"\[([^\[\]]*)\]", sentence)
        seen = f"the bracketed spans are {', '.join(repr(f) for f in found)}" if found else "it has no bracketed span"
        what = " and ".join(f"{name}={entity!r}" for name, entity in missing)
        return f"{what} not found in square brackets in the sentence ({seen})"
    return Marked("".join(pieces), spans["p"], spans["q"], tuple(forms["p"]), tuple(forms["q"]))


def _split_files(data_cfg: Any) -> list[tuple[Path, str]]:
    """The (file, split) pairs the config asks for, checked to exist (a withheld test.txt may be missing)."""
    root = corpus_root(data_cfg, "DSE", "train.txt, valid.txt and test.txt")
    splits = config_value(data_cfg, "splits", DEFAULT_SPLITS)
    if isinstance(splits, str):
        splits = [splits]
    files: list[tuple[Path, str]] = []
    for name in splits:
        if str(name) not in SPLIT_FILES:
            raise StanceError(f"data.splits: {name!r} is not a DSE split (choose from {', '.join(DEFAULT_SPLITS)})")
        filename, split = SPLIT_FILES[str(name)]
        path = root / filename
        if not path.is_file() and split == "test" and len(splits) > 1:
            # The corpus withholds test.txt; it is read (and reported) when it is there.
            log.info("DSE: no %s under %s; reading the other splits", filename, display_path(root))
            continue
        if not path.is_file():
            raise StanceError(
                f"DSE split {name!r}: {display_path(path)} does not exist; set data.root=... to the directory "
                f"holding train.txt, valid.txt and test.txt, or data.splits=[...] to read fewer splits"
            )
        if (path, split) not in files:
            files.append((path, split))
    return files


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _parse_record(fields: list[str], split: str, number: int, shown: str, problems: list[Problem]) -> Article | None:
    """One corpus record (its CSV fields) → an Article, or None with its problems recorded."""
    if len(fields) != _N_FIELDS:
        problems.append(
            Problem(
                shown,
                f"expected 4 tab-separated fields (sentence, p, q, label), found {len(fields)}",
                line=number,
            )
        )
        return None
    sentence, p, q, label = fields[0].strip(), fields[1].strip(), fields[2].strip(), fields[3].strip()
    before = len(problems)
    for name, value in (("sentence", sentence), ("p", p), ("q", q)):
        if not value:
            problems.append(Problem(shown, f"{name} is empty", line=number, field=name))
    if p and p == q:
        problems.append(Problem(shown, f"p and q are the same entity ({p!r})", line=number, field="q"))
    if not _is_int(label) or int(label) not in DIRECTIONS:
        problems.append(Problem(shown, f"label {label!r} is not one of 0, 1, 2, 3, 4", line=number, field="label"))
    if len(problems) > before:
        return None
    marked = unbracket(sentence, p, q)
    if isinstance(marked, str):
        problems.append(Problem(shown, marked, line=number, field="sentence"))
        return None
    p_to_q, q_to_p = DIRECTIONS[int(label)]
    return Article(
        id=f"dse-{split}-{number}",
        sentences=[marked.text],
        labels=[StanceLabel(0, p, q, p_to_q), StanceLabel(0, q, p, q_to_p)],
        split=split,
        origin=f"{shown}:{number}",
        actors=[p, q],
        aliases={p: list(dict.fromkeys((p, *marked.p_forms))), q: list(dict.fromkeys((q, *marked.q_forms)))},
        spans={0: {p: marked.p_span, q: marked.q_span}},
        group=marked.text,
    )


def _looks_like_header(fields: list[str]) -> bool:
    """Line 1 is a header when its label field is not an integer and its sentence brackets neither entity."""
    if len(fields) != _N_FIELDS or _is_int(fields[3].strip()):
        return False
    p, q = fields[1].strip(), fields[2].strip()
    return not any(e and re.search(_marker(e), fields[0], re.IGNORECASE) for e in (p, q))


def _records(
    path: Path, shown: str, problems: list[Problem], undecodable: list[int]
) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, fields) of each record, parsed as the authors' `pandas.read_csv(sep="\\t")` parses.

    Tab-separated with CSV quoting: a field that begins with `"` is quoted and
    `""` inside it is one `"`. Lines that are not UTF-8 are reported, left out,
    and their numbers added to `undecodable`.
    """
    physical: list[int] = []

    def lines() -> Iterator[str]:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    problems.append(Problem(shown, f"not valid UTF-8 (byte {exc.start + 1} of the line)", line=number))
                    undecodable.append(number)
                    continue
                physical.append(number)
                yield text

    reader = csv.reader(lines(), delimiter="\t", quotechar='"', doublequote=True, strict=False)
    consumed = 0
    for fields in reader:
        start = physical[consumed]
        consumed = reader.line_num
        if fields and any(f.strip() for f in fields):
            yield start, fields


def _read_file(path: Path, split: str, problems: list[Problem]) -> tuple[list[Article], int]:
    """The articles of one split file, and how many records it holds (good and bad)."""
    shown = display_path(path)
    parsed: list[Article] = []
    records = 0
    undecodable: list[int] = []
    try:
        lines = _records(path, shown, problems, undecodable)
        for number, fields in progress(lines, desc=f"reading {path.name}", unit="line"):
            if number == 1 and _looks_like_header(fields):
                log.info("%s: skipping header line %r", shown, "\t".join(fields))
                continue
            records += 1
            article = _parse_record(fields, split, number, shown, problems)
            if article is not None:
                parsed.append(article)
    except OSError as exc:
        problems.append(Problem(shown, f"cannot read: {exc.strerror}"))
    except csv.Error as exc:
        problems.append(Problem(shown, f"not tab-separated CSV: {exc}"))
    return parsed, records + len(undecodable)


def load_dse(data_cfg: Any, skipped: list[Problem] | None = None) -> list[Article]:
    """Read the DSE splits `data_cfg` names (`root`, `splits`) into one Article per record.

    Malformed records are skipped and reported (into `skipped` too); more than
    `data.max_bad_fraction` of them stops the run.
    """
    files = _split_files(data_cfg)
    problems: list[Problem] = []
    parsed: list[Article] = []
    records = 0
    for path, split in files:
        articles, n = _read_file(path, split, problems)
        parsed.extend(articles)
        records += n
    tolerate("DSE", problems, records, data_cfg, skipped)
    per_split = Counter(article.split for article in parsed)
    log.info("DSE: %d lines read (%s)", len(parsed), ", ".join(f"{s} {n}" for s, n in per_split.items()))
    return parsed
