"""Progress bars for long work (tqdm), quiet when not attached to a terminal unless asked."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress(items: Iterable[T], desc: str, unit: str = "it", total: int | None = None) -> Iterator[T]:
    """Wrap `items` in a tqdm bar on stderr; STANCE_PROGRESS=0 turns bars off, =1 forces them on."""
    setting = os.environ.get("STANCE_PROGRESS")
    disable = (not sys.stderr.isatty()) if setting is None else setting == "0"
    yield from tqdm(items, desc=desc, unit=unit, total=total, disable=disable, dynamic_ncols=True)
