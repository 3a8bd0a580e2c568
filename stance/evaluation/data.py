"""What an evaluation scores: the gold articles and their examples, and the training split for the baselines."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from datasets import Dataset
from omegaconf import OmegaConf

from stance.actors.gazetteer import load_gazetteer
from stance.actors.resolve import model_gazetteer
from stance.dataset.build import article_examples, article_group, build_dataset, build_options, split_of
from stance.errors import Problem, StanceError
from stance.predict.classifier import StanceClassifier
from stance.readers import read_articles
from stance.schema import Article


@dataclass
class EvaluationData:
    """What an evaluation scores: the gold articles, their examples (all pairs, uncapped), and train for baselines."""

    articles: list[Article]
    examples: Dataset
    train: Dataset
    name: str


def evaluation_data(cfg: Any, classifier: StanceClassifier, model: str | Path) -> EvaluationData:
    """The articles and examples to score and the training split for the baselines, per the config.

    `input=<path>` scores every example of that labelled data; otherwise the
    configured data's `split` (as the builder splits it: `dev` is carved out of
    train). Examples are made as the model's were: with its context window and
    the gazetteer it carries (the data's for a folder from before models did).
    """
    gazetteer = load_gazetteer(model_gazetteer(model) or cfg.data.gazetteer)
    skipped: list[Problem] = []
    articles = read_articles(cfg.data, gazetteer, skipped)
    options = replace(build_options(cfg.data, int(cfg.seed)), context_sentences=classifier.encoding.context_sentences)
    dataset = build_dataset(articles, gazetteer, options)
    if cfg.input:
        data_cfg = OmegaConf.merge(cfg.data, {"format": "articles", "paths": [str(cfg.input)]})
        chosen = read_articles(data_cfg, gazetteer)
        rows = []
        for article in chosen:
            for row in article_examples(article, gazetteer, options):
                rows.append({**row, "group": article_group(article)})
        if not rows:
            raise StanceError(f"input {cfg.input}: no labelled pairs to evaluate")
        examples = Dataset.from_list(rows, features=dataset["train"].features)
        return EvaluationData(chosen, examples, dataset["train"], str(cfg.input))
    split = str(cfg.split)
    if split not in dataset:
        raise StanceError(f"split={split!r} is not one of {', '.join(dataset)}")
    if len(dataset[split]) == 0:
        raise StanceError(f"data={cfg.data.name} has no {split} examples (choose another split=...)")
    chosen = [a for a in articles if split_of(a, options) == split]
    return EvaluationData(chosen, dataset[split], dataset["train"], f"{cfg.data.name}/{split}")
