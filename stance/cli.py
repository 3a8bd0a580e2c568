"""Command-line entry points: thin Hydra wrappers over the library functions."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import hydra
from omegaconf import DictConfig

from stance.errors import StanceError

CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "configs")
log = logging.getLogger("stance")


def _run(job: Callable[[DictConfig], object], cfg: DictConfig) -> None:
    # Input and config mistakes are the user's to fix: a message, not a traceback.
    try:
        job(cfg)
    except StanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="build")
def build_main(cfg: DictConfig) -> None:
    """stance-build: labelled articles → DatasetDict on disk, with a table of counts."""
    from stance.pipeline import build_from_config

    _run(build_from_config, cfg)
