"""Where project files live, so commands work from the repository root or anywhere else."""

from __future__ import annotations

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
