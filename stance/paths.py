"""Where project files live, so commands work from the repository root or anywhere else."""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
# An installed wheel carries the repository's configs/ and default data/ inside the package
# (pyproject.toml maps them to stance/_configs and stance/_data); a checkout reads them in place.
BUNDLED = {"configs": PACKAGE_DIR / "_configs", "data": PACKAGE_DIR / "_data"}


def project_dir(name: str) -> Path:
    """`configs` or `data`: the packaged copy in an installed wheel, else the checkout's own folder."""
    bundled = BUNDLED[name]
    return bundled if bundled.is_dir() else PROJECT_ROOT / name


def resolve_path(path: str | Path) -> Path:
    """Resolve a user path: as given if it exists, else relative to the project (checkout or package).

    Configs name project files relative to the repository (`data/actors.yaml`),
    and users run commands from wherever they are, with a checkout or an
    installed wheel.
    """
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    candidates = [PROJECT_ROOT / p]
    if p.parts and p.parts[0] in BUNDLED:
        candidates.append(project_dir(p.parts[0]).joinpath(*p.parts[1:]))
    return next((c for c in candidates if c.exists()), p)


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, read in chunks (weights files are hundreds of MB)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
