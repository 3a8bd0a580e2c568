"""Errors a user can fix: raised with enough context to fix them, printed without a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input: where it is and what is wrong."""

    file: str
    message: str
    line: int | None = None
    article: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = [where]
        if self.article is not None:
            parts.append(f"article {self.article!r}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return ": ".join(parts) + f": {self.message}"


class StanceError(Exception):
    """Base class for errors caused by the user's input or configuration."""


class InputFormatError(StanceError):
    """One or more input files are malformed; carries every problem found."""

    def __init__(self, problems: list[Problem], summary: str | None = None) -> None:
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{summary or f'{len(problems)} {noun} in the input'}:\n{shown}")


def display_path(path: str | Path) -> str:
    """A path as the user most likely typed it (relative to the working directory when possible)."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def write_problems(problems: Iterable[Problem], path: Path) -> None:
    """One JSON object per problem (`file`, `line`, `article`, `field`, `message`); an empty file when none."""
    path.write_text("".join(json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in problems), encoding="utf-8")
