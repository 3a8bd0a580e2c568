"""What the benchmarks share: running offline, the commit, date, hardware and memory they ran with, where
their results go, and `stance-evaluate` as a library call.

Run a benchmark from the repository root as `python -m bench.<name>`: `stance` is the installed package and
`bench` is importable from the working directory, so nothing here touches `sys.path`.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def offline() -> None:
    """Never reach for a model hub (set before transformers loads)."""
    for name, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("HF_DATASETS_OFFLINE", "1"),
        ("TOKENIZERS_PARALLELISM", "false"),
    ):
        os.environ.setdefault(name, value)


def repo_relative(text: str) -> str:
    """`text` with this checkout's absolute path taken out, so results name no one machine's folders."""
    return text.replace(str(ROOT) + "/", "")


def commit() -> str:
    """The checked-out commit, marked dirty when tracked files have changes."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True)
        return sha.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


def date() -> str:
    """Now, to the minute, in UTC: `2026-12-02 14:05 UTC`."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def timestamp() -> str:
    """Now, to the second, in UTC, as ISO 8601: `2026-12-02T14:05:09+00:00`."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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


def hardware() -> str:
    """CPU model and cores, and the GPU when there is one."""
    import torch

    text = f"{cpu()[0]}, {os.cpu_count()} cores visible, torch {torch.__version__} ({torch.get_num_threads()} threads)"
    if torch.cuda.is_available():
        text += f", GPU {torch.cuda.get_device_name(0)}"
    return text


def peak_rss_bytes(children: bool = False) -> int:
    """Peak resident memory so far of this process, or of its largest waited-for child, in bytes."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss * 1024  # KiB on Linux


def write_results(folder: Path, report: dict[str, Any], readme: str, indent: int = 2, name: str = "results") -> None:
    """`folder/<name>.json` (the figures) and `folder/README.md` (made from them)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(report, indent=indent) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(readme, encoding="utf-8")


def evaluation(
    model: str, data_overrides: list[str], split: str, out: str, extra: tuple[str, ...] = ("pairs=both",)
) -> dict[str, Any]:
    """`stance-evaluate model_dir=<model> split=<split> pairs=both` (or `extra` overrides), as a library call."""
    from hydra import compose, initialize_config_dir

    from stance.cli import CONFIG_DIR
    from stance.evaluation.evaluate import evaluate

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            "evaluate",
            overrides=[f"model_dir={model}", *data_overrides, f"split={split}", *extra, f"output_dir={out}"],
        )
    return evaluate(cfg)
