"""Where project files live, so commands work from the repository root or anywhere else."""

from __future__ import annotations

import hashlib
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def resolve_path(path: str | Path) -> Path:
    """Resolve a user path: as given if it exists, else relative to the project root.

    Configs name project files relative to the repository (`data/actors.yaml`),
    and users run commands from wherever they are.
    """
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    candidate = PROJECT_ROOT / p
    return candidate if candidate.exists() else p


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, read in chunks (weights files are hundreds of MB)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
