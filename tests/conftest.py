"""Shared fixtures: paths, the project gazetteer, and offline settings for every test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("STANCE_PROGRESS", "0")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def gazetteer():
    from stance.actors.gazetteer import load_gazetteer

    return load_gazetteer(ROOT / "data" / "actors.yaml")


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> tuple[Path, dict]:
    """The tiny random-initialised model trained once per test session on the seed data: (folder, metrics)."""
    from helpers import train_config

    from stance.training.train import train

    tmp = tmp_path_factory.mktemp("tiny")
    return tmp / "model", train(train_config(tmp))


@pytest.fixture(scope="session")
def tiny_model(trained) -> Path:
    """The folder of the session's tiny model."""
    return trained[0]


@pytest.fixture(scope="session")
def tiny_finder(tmp_path_factory) -> tuple[Path, dict]:
    """A tiny mention finder trained once per test session on the fixture corpora: (folder, metrics)."""
    from helpers import train_config

    from stance.training.mentions import train_mentions

    tmp = tmp_path_factory.mktemp("finder")
    cfg = train_config(
        tmp,
        "task=mentions",
        "model=tiny",
        "mentions.gazetteer=data/actors.yaml",
        f"mentions.corpora.seesaw.root={FIXTURES / 'seesaw'}",
        f"mentions.corpora.dse.root={FIXTURES / 'dse'}",
        "mentions.corpora.seesaw.max_bad_fraction=0.5",
        "mentions.dev_split=validation",  # the fixture has one train story: nothing to carve a dev out of
        "train.epochs=2",
        "train.learning_rate=0.01",
    )
    return Path(cfg.output_dir), train_mentions(cfg)
