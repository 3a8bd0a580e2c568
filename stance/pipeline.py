"""Config-driven jobs: what each command does, callable from Python and tests."""

from __future__ import annotations

import logging
from typing import Any

from datasets import DatasetDict

from stance.actors import load_gazetteer
from stance.build import BuildOptions, build_dataset, format_table, save_dataset
from stance.paths import resolve_path
from stance.readers import read_articles

log = logging.getLogger(__name__)


def build_options(data_cfg: Any, seed: int) -> BuildOptions:
    """BuildOptions from a `data/` config."""
    return BuildOptions(
        context_sentences=int(data_cfg.context_sentences),
        neutral_pairs=bool(data_cfg.neutral_pairs),
        max_neutral_fraction=float(data_cfg.max_neutral_fraction),
        split_fractions=tuple(float(f) for f in data_cfg.split_fractions),  # type: ignore[arg-type]
        seed=seed,
    )


def dataset_from_config(cfg: Any) -> DatasetDict:
    """Read the configured data and build its DatasetDict in memory."""
    gazetteer = load_gazetteer(cfg.data.gazetteer)
    articles = read_articles(cfg.data, gazetteer)
    log.info("read %d articles (%s)", len(articles), cfg.data.name)
    return build_dataset(articles, gazetteer, build_options(cfg.data, int(cfg.seed)))


def build_from_config(cfg: Any) -> dict[str, dict[str, int]]:
    """stance-build: build the dataset, save it with its stats table, print the table."""
    dataset = dataset_from_config(cfg)
    output_dir = resolve_path(cfg.output_dir)
    table = save_dataset(dataset, output_dir)
    print(format_table(table))
    print(f"dataset written to {output_dir} (table in {output_dir / 'stats.json'})")
    return table
