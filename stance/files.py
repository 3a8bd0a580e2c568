"""Atomic writes: a reader sees the old file (or folder) or the whole new one, never half of it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A staging path beside `path` to build a file or a folder at; on success it takes `path`'s place.

    The staging name starts with a dot and carries the process id, so two
    writers never share one. A file is renamed over the old one in one step; a
    folder replaces the old one by two renames (the old one is deleted after).
    On an exception the staging path is removed and `path` is left as it was.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    _remove(staging)
    try:
        yield staging
    except BaseException:
        _remove(staging)
        raise
    if staging.is_dir() and final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        final.rename(old)
        staging.rename(final)
        _remove(old)
    else:
        os.replace(staging, final)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically, fsynced before the rename."""
    with atomic_path(path) as staging, staging.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
