"""What the benchmark scripts share: running offline against this checkout, and the commit they ran on."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def repo_relative(text: str) -> str:
    """`text` with this checkout's absolute path taken out, so results name no one machine's folders."""
    return text.replace(str(ROOT) + "/", "")


def setup() -> None:
    """Import `stance` from this checkout and never reach for a model hub (set before transformers loads)."""
    sys.path.insert(0, str(ROOT))
    for name, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("HF_DATASETS_OFFLINE", "1"),
        ("TOKENIZERS_PARALLELISM", "false"),
    ):
        os.environ.setdefault(name, value)


def commit() -> str:
    """The checked-out commit, marked dirty when tracked files have changes."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True)
        return sha.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


def cpu() -> tuple[str, set[str]]:
    """The CPU's model name and feature flags, from /proc/cpuinfo where there is one."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return name, flags
