"""Training the mention finder (`task=mentions`): silver sentences of the configured corpora, a token
classifier fine-tuned on them and chosen on the builder's dev stories, saved as a finder folder.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset
from omegaconf import OmegaConf
from transformers import (
    AutoConfig,
    AutoModelForTokenClassification,
    AutoTokenizer,
    DataCollatorForTokenClassification,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Trainer,
    set_seed,
)

from stance.actors.finder import (
    IGNORE,
    MENTION_LABELS,
    MENTIONS_FILE,
    MENTIONS_FORMAT,
    OUTSIDE,
    MentionFinder,
    check_mention_folder,
    encode_mentions,
    span_scores,
)
from stance.actors.gazetteer import load_gazetteer
from stance.dataset.build import build_options, split_of
from stance.dataset.silver import NON_ACTOR_TYPES, silver_sentences
from stance.errors import Problem, StanceError
from stance.files import atomic_path
from stance.model import pick_device, resolve_pretrained
from stance.paths import file_sha256, resolve_path
from stance.readers import read_articles
from stance.training.saving import save_folder_atomically
from stance.training.trainer import training_arguments

log = logging.getLogger(__name__)


def build_mention_model(model_cfg: Any) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A token classifier over `MENTION_LABELS`: pretrained weights, or random ones from `init`."""
    source = model_cfg.tokenizer or model_cfg.pretrained
    if source is None:
        raise StanceError("model config needs `pretrained` or `tokenizer`")
    tokenizer = AutoTokenizer.from_pretrained(resolve_pretrained(source))
    labels = {
        "num_labels": len(MENTION_LABELS),
        "id2label": dict(enumerate(MENTION_LABELS)),
        "label2id": {name: i for i, name in enumerate(MENTION_LABELS)},
    }
    if model_cfg.pretrained is not None:
        model = AutoModelForTokenClassification.from_pretrained(resolve_pretrained(model_cfg.pretrained), **labels)
    else:
        init = dict(model_cfg.init)
        config = AutoConfig.for_model(init.pop("model_type"), vocab_size=len(tokenizer), **init, **labels)
        model = AutoModelForTokenClassification.from_config(config)
    return model, tokenizer


def silver_from_config(cfg: Any, skipped: list[Problem] | None = None) -> dict[str, list[dict[str, Any]]]:
    """The silver sentences of every corpus `cfg.mentions.corpora` names, by role: train and dev."""
    m = cfg.mentions
    gazetteer = load_gazetteer(str(m.gazetteer)) if m.get("gazetteer") else None
    train_rows: list[dict[str, Any]] = []
    dev_rows: list[dict[str, Any]] = []
    for name, data_cfg in m.corpora.items():
        articles = read_articles(data_cfg, gazetteer or load_gazetteer(), skipped)
        limit = int(m.get("max_sentences", {}).get(name, 0) or 0)
        # The stance builder's splits: `dev` is carved out of train by story, so a stance model's dev
        # articles are never the finder's training sentences, and the finder chooses on them, not on a
        # split that is reported.
        options = build_options(data_cfg, int(cfg.seed))
        splits = [split_of(a, options) for a in articles]
        train_part = [a for a, split in zip(articles, splits, strict=True) if split == "train"]
        rows = silver_sentences(train_part, gazetteer, name)
        if limit and len(rows) > limit:
            rng = np.random.default_rng(int(cfg.seed))
            rows = [rows[i] for i in sorted(rng.choice(len(rows), limit, replace=False))]
        train_rows.extend(rows)
        if name in m.dev_corpora:
            dev = [a for a, split in zip(articles, splits, strict=True) if split == str(m.dev_split)]
            dev_rows.extend(silver_sentences(dev, gazetteer, name))
        log.info("mention silver labels from %s: %d train sentences", name, len(rows))
    return {"train": train_rows, "dev": dev_rows}


def silver_counts(cfg: Any, silver: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """How many silver sentences each corpus gave to train, and how many dev has."""
    return {
        "train": {c: sum(1 for r in silver["train"] if r["corpus"] == c) for c in cfg.mentions.corpora},
        "dev": len(silver["dev"]),
    }


def mention_dataset(rows: Sequence[dict[str, Any]], tokenizer: PreTrainedTokenizerBase, max_length: int) -> Dataset:
    """Silver sentences as token-classification inputs with their BIO labels."""
    enc = encode_mentions([r["text"] for r in rows], tokenizer, max_length, [r["spans"] for r in rows])
    return Dataset.from_dict(
        {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "labels": enc["labels"]}
    )


def token_f1(prediction: Any) -> dict[str, float]:
    """Trainer's `compute_metrics` for the finder: F1 over actor tokens."""
    logits, labels = prediction.predictions, prediction.label_ids
    tags = np.asarray(logits).argmax(-1)
    labels = np.asarray(labels)
    keep = labels != IGNORE
    gold_in, pred_in = labels[keep] != OUTSIDE, tags[keep] != OUTSIDE
    tp = float((gold_in & pred_in & (labels[keep] == tags[keep])).sum())
    precision = tp / max(pred_in.sum(), 1)
    recall = tp / max(gold_in.sum(), 1)
    return {"token_f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0}


def attach_to(finder_dir: str | Path, stance_model: str | Path) -> Path:
    """Copy a mention finder into a stance model folder (as `mentions/`), where `stance-predict` looks for it."""

    source = check_mention_folder(finder_dir)
    target_model = resolve_path(stance_model)
    if not (target_model / "config.json").exists():
        raise StanceError(f"mentions.attach_to={stance_model}: {target_model} is not a model folder")
    final = target_model / "mentions"
    with atomic_path(final) as staging:
        shutil.copytree(source, staging)
    log.info("mention finder attached to %s", final)
    return final


def dev_spans(cfg: Any, finder: MentionFinder, dev: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The chosen finder's span precision, recall and F1 on the dev sentences, found as prediction finds them."""
    predicted = finder.find([r["text"] for r in dev], show_progress=True)
    scores = span_scores([[tuple(s) for s in r["spans"]] for r in dev], predicted)
    scores["split"] = f"{', '.join(cfg.mentions.dev_corpora)} {cfg.mentions.dev_split}"
    log.info("mention finder on dev: %s", scores)
    return scores


def train_mentions(cfg: Any) -> dict[str, Any]:
    """Train the mention finder as `cfg` says and save it to `cfg.output_dir`; returns its metrics."""
    started = time.time()
    set_seed(int(cfg.seed))
    skipped: list[Problem] = []
    silver = silver_from_config(cfg, skipped)
    if not silver["train"]:
        raise StanceError("task=mentions: the corpora gave no training sentences")
    device = pick_device(str(cfg.train.device))
    model, tokenizer = build_mention_model(cfg.model)
    max_length = int(cfg.mentions.max_length)
    train_set = mention_dataset(silver["train"], tokenizer, max_length)
    dev_set = mention_dataset(silver["dev"], tokenizer, max_length) if silver["dev"] else None
    args = training_arguments(cfg, dev_set is not None, device, metric="token_f1")
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=dev_set,
        processing_class=tokenizer,
        data_collator=DataCollatorForTokenClassification(tokenizer),
        compute_metrics=token_f1,
    )
    result = trainer.train()
    metrics: dict[str, Any] = {
        "run_name": str(cfg.run_name),
        "task": "mentions",
        "device": str(device),
        "train_loss": float(result.training_loss),
        "train_runtime_s": float(result.metrics.get("train_runtime", 0.0)),
        "sentences": silver_counts(cfg, silver),
        "skipped_records": [str(p) for p in skipped],
        "epoch_scores": [
            {"epoch": e["epoch"], "token_f1": e["eval_token_f1"]}
            for e in trainer.state.log_history
            if "eval_token_f1" in e
        ],
    }
    if silver["dev"]:
        model = trainer.model.eval()
        device = next(model.parameters()).device
        finder = MentionFinder(model, tokenizer, max_length, device, int(cfg.train.eval_batch_size))
        metrics["dev"] = dev_spans(cfg, finder, silver["dev"])

    metrics["wall_time_s"] = round(time.time() - started, 1)  # up to the save, so mentions.json carries it

    def extra(staging: Path) -> None:
        meta = {
            "format": MENTIONS_FORMAT,
            "labels": list(MENTION_LABELS),
            "max_length": max_length,
            "non_actor_types": sorted(NON_ACTOR_TYPES),
            "metrics": metrics,
        }
        (staging / MENTIONS_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        (staging / "training_config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True), encoding="utf-8")

    final = save_folder_atomically(trainer, cfg.output_dir, extra)
    metrics["weights_sha256"] = file_sha256(final / "model.safetensors")
    attach = cfg.mentions.get("attach_to")
    if attach:
        attach_to(final, attach)
    return metrics
