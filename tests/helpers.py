"""Shared by the test modules: configs for the tiny random model, composed as the commands compose them."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from stance.cli import CONFIG_DIR

# A learning rate a randomly initialised 2-layer model learns from in a few epochs.
TINY = ["model=tiny", "train.epochs=8", "train.learning_rate=3e-3", "train.warmup_ratio=0", "train.logging_steps=5"]


def train_config(tmp: Path, *overrides: str) -> DictConfig:
    """The train config for the tiny model, writing its model and checkpoints under `tmp`."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=[*TINY, *overrides])
    cfg.output_dir = str(tmp / "model")
    cfg.work_dir = str(tmp / "checkpoints")
    return cfg


def apply_config(name: str, *overrides: str) -> DictConfig:
    """The evaluate, calibrate or predict config, as the command composes it."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(name, overrides=list(overrides))
