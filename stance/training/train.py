"""Fine-tuning a stance model: `train(cfg)`, the library's and `stance-train`'s entry point."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset, DatasetDict
from transformers import EvalPrediction, PreTrainedTokenizerBase, Trainer, set_seed
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_callback import TrainerState
from transformers.trainer_utils import get_last_checkpoint

from stance.actors.finder import MentionFinder
from stance.dataset.build import dataset_from_config, label_table, sampling_weights
from stance.dataset.found import MISSED, mention_finder_folder, training_builder, uses_found_pairs
from stance.decision import NEUTRAL, fit_decision
from stance.encoding import HEAD_VERSIONS, EncodingConfig
from stance.errors import Problem, StanceError
from stance.metrics import classification_report
from stance.model import build_model, build_tokenizer, model_head, pick_device
from stance.pairhead import WindowCollator
from stance.schema import SPLITS, STANCES
from stance.training.distill import (
    GOLD,
    describe_teachers,
    distill_options,
    distillation_set,
    teacher_folders,
)
from stance.training.loss import LOSS_WEIGHT, class_weights, order_weights
from stance.training.mentions import dev_spans, mention_dataset, silver_counts, silver_from_config
from stance.training.pairs import (
    MentionBatches,
    PairTrainer,
    check_pairs_recipe,
    window_dataset,
    window_selection_set,
)
from stance.training.sampler import pair_groups
from stance.training.saving import save_model_folder
from stance.training.selection import (
    SELECTION_METRIC,
    chosen_predictions,
    metrics_by_corpus,
    selection_set,
    selection_split,
)
from stance.training.trainer import Collator, StanceTrainer, encode_dataset, training_arguments

log = logging.getLogger(__name__)


def train(cfg: Any, dataset: DatasetDict | None = None) -> dict[str, Any]:
    """Fine-tune a stance model as `cfg` says and save it to `cfg.output_dir`; returns its metrics.

    The mention finder has its own entry point (`stance.training.mentions.train_mentions`, `task=mentions`).
    """
    if cfg.get("task", "stance") == "mentions":
        raise StanceError("task=mentions trains the mention finder: call stance.training.mentions.train_mentions(cfg)")
    started = time.time()
    set_seed(int(cfg.seed))
    skipped: list[Problem] = []
    teachers = teacher_folders(cfg.teacher) if cfg.get("teacher") else []
    distill = distill_options(cfg) if teachers else None
    dataset = _training_data(cfg, dataset, skipped, bool(distill and distill.unlabelled))
    device = pick_device(str(cfg.train.device))
    head = model_head(cfg.model)
    encoding = EncodingConfig(
        version=HEAD_VERSIONS[head],
        max_length=int(cfg.model.max_length),
        context_sentences=int(cfg.data.context_sentences),
        markers=bool(cfg.model.markers),
        context_pairs=int(cfg.data.get("context_pairs", 0)),
        head=head,
    )
    if head == "pairs":
        check_pairs_recipe(cfg)
    elif cfg.model.get("mention_head", False):
        raise StanceError("model.mention_head=true needs model.head=pairs (experiment=joint)")
    tokenizer = build_tokenizer(cfg.model)
    mentions = joint_mentions(cfg, tokenizer, skipped) if cfg.model.get("mention_head", False) else None
    select_on = selection_split({name for name, split in dataset.items() if len(split) and name in SPLITS})
    if uses_found_pairs(cfg.data) and select_on != "dev":
        log.warning("data.pairs=found chooses on the path's dev pairs, but there is no dev split (data.dev_fraction)")
    train_set = _train_set(cfg, dataset, teachers)
    by_order = LOSS_WEIGHT in train_set.column_names
    # Held-out splits are not encoded: training neither scores nor looks at them.
    if head == "pairs":
        encoded = {"train": window_dataset(train_set, tokenizer, encoding)[0]}
        choose_set = window_selection_set
    else:
        encoded = {"train": encode_dataset(train_set, tokenizer, encoding)}
        choose_set = selection_set
    if select_on:
        dataset[select_on], encoded[select_on] = choose_set(dataset[select_on], tokenizer, encoding)
    args = training_arguments(
        cfg,
        select_on is not None,
        device,
        metric=SELECTION_METRIC,
        keep_columns=bool(teachers) or by_order or head == "pairs",
    )
    scored = metrics_by_corpus(
        list(dataset[select_on]["corpus"]) if select_on else None,
        list(dataset[select_on]["origin"]) if select_on else None,
        on_path=select_on == "dev" and uses_found_pairs(cfg.data),
    )
    model = build_model(cfg.model, tokenizer, encoding)
    joint = {}
    if mentions is not None:
        model.mention_max_length = int(cfg.mentions.max_length)
        joint = {"mentions": mentions["batches"], "mention_weight": float(cfg.mentions.get("loss_weight", 1.0))}
    trainer = (PairTrainer if head == "pairs" else StanceTrainer)(
        **_sampling(cfg, train_set, teachers, windows=len(encoded["train"]) if head == "pairs" else None),
        **joint,
        distill=distill,
        model=model,
        args=args,
        train_dataset=encoded["train"],
        eval_dataset=encoded.get(select_on) if select_on else None,
        processing_class=tokenizer,
        data_collator=WindowCollator(tokenizer) if head == "pairs" else Collator(tokenizer),
        compute_metrics=scored,
    )
    resume = None
    if bool(cfg.train.resume):
        resume = get_last_checkpoint(args.output_dir) if Path(args.output_dir).is_dir() else None
        log.info("resuming from %s", resume or "scratch (no checkpoint found)")
        if resume and mentions is not None:
            # The silver stream is rebuilt from its seed: skip what the checkpoint's steps already tagged.
            state = TrainerState.load_from_json(str(Path(resume) / TRAINER_STATE_NAME))
            mentions["batches"].skip(state.global_step * int(args.gradient_accumulation_steps))
    result = trainer.train(resume_from_checkpoint=resume)
    log.info("trained on %s in %.0f s", device, time.time() - started)
    metrics = _run_metrics(cfg, trainer, result, dataset, select_on, skipped, device)
    if distill is not None:
        metrics["distillation"] = describe_teachers(teachers, distill) | {
            "teacher_only_examples": len(train_set) - len(dataset["train"])
        }
    # Only the split that chose the checkpoint is scored here; held-out splits are stance-evaluate's, once.
    if select_on is not None:
        metrics.update(score_selection(trainer, scored, dataset[select_on], encoded[select_on], select_on))
    if mentions is not None:
        metrics["mentions"] = joint_mention_metrics(cfg, trainer, tokenizer, mentions)
    # Timed up to the save, so metrics.json and the model card carry it (the save itself takes seconds).
    metrics["wall_time_s"] = round(time.time() - started, 1)
    save_model_folder(trainer, cfg, metrics)
    return metrics


def joint_mentions(cfg: Any, tokenizer: PreTrainedTokenizerBase, skipped: list[Problem]) -> dict[str, Any]:
    """The mention head's silver sentences (`task=mentions`' corpora and settings) and its batch stream."""
    if cfg.get("mentions") is None:
        raise StanceError("model.mention_head=true needs the finder's settings under mentions: (experiment=joint)")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise StanceError("model.mention_head=true trains in one process; it is not supported under torchrun (DDP)")
    silver = silver_from_config(cfg, skipped)
    max_length = int(cfg.mentions.max_length)
    sentences = mention_dataset(silver["train"], tokenizer, max_length)
    batch = int(cfg.mentions.get("batch_size") or cfg.train.batch_size)
    return {"silver": silver, "batches": MentionBatches(sentences, tokenizer, batch, int(cfg.seed))}


def joint_mention_metrics(
    cfg: Any, trainer: Trainer, tokenizer: PreTrainedTokenizerBase, mentions: dict[str, Any]
) -> dict[str, Any]:
    """What the mention head learnt: its sentences, its loss, and the chosen checkpoint's spans on dev."""
    silver, batches = mentions["silver"], mentions["batches"]
    losses = batches.losses
    tenth = max(1, len(losses) // 10)
    out: dict[str, Any] = {
        "sentences": silver_counts(cfg, silver),
        # The token loss over the first and the last tenth of the steps: did the head learn.
        "train_loss_first_last": [float(np.mean(part)) for part in (losses[:tenth], losses[-tenth:])] if losses else [],
        "steps": len(losses),
    }
    if silver["dev"]:
        model = trainer.model.eval()
        device = next(model.parameters()).device
        finder = MentionFinder.of_pair_model(model, tokenizer, device, batch_size=int(cfg.train.eval_batch_size))
        out["dev"] = dev_spans(cfg, finder, silver["dev"])
    return out


def _training_data(cfg: Any, dataset: DatasetDict | None, skipped: list[Problem], keep_capped: bool) -> DatasetDict:
    """The dataset to train on, built from the config unless given; a wrong finder is named before any work."""
    if cfg.get("finder"):
        mention_finder_folder(cfg.finder)  # a wrong path is named now, not after the training
        if not uses_found_pairs(cfg.data):
            log.warning("finder=%s is used by data.pairs=found only; it is not copied into the model", cfg.finder)
    if dataset is None:
        dataset = dataset_from_config(cfg, skipped, keep_capped=keep_capped, builder=training_builder(cfg))
    if len(dataset["train"]) == 0:
        raise StanceError(f"data={cfg.data.name} has no training examples")
    return dataset


def _train_set(cfg: Any, dataset: DatasetDict, teachers: list[Any]) -> Dataset:
    """The examples trained on: the train split (with the teachers' columns when distilling), and the order weights."""
    train_set = distillation_set(cfg, dataset, teachers) if teachers else dataset["train"]
    if str(cfg.train.get("order_weights", "none")) != "balanced":
        return train_set
    if teachers:
        raise StanceError("train.order_weights=balanced is not supported with a teacher (distillation)")
    weights = order_weights(train_set["label"], train_set["actor_start"], train_set["target_start"])
    return train_set.add_column(LOSS_WEIGHT, weights)


def _sampling(cfg: Any, train_set: Dataset, teachers: list[Any], windows: int | None = None) -> dict[str, Any]:
    """The trainer's sampler and loss weights: pair groups, a mix's per-corpus draws, and the class weights.

    With `windows` (the pair model's window count) the examples drawn are sentence windows, each its
    own group, brought together by length so that less compute goes to padding; only the class
    weights apply.
    """
    corpus_weights = sampling_weights(cfg.data)
    if windows is not None:
        if corpus_weights:
            log.warning("model.head=pairs draws sentence windows: a mix's per-corpus weights are not applied")
        weights = class_weights(list(train_set["label"]), str(cfg.train.class_weights), None)
        return {"groups": list(range(windows)), "draws": None, "length_grouped": True, "class_weight": weights}
    draws = [corpus_weights.get(c, 1.0) for c in train_set["corpus"]] if corpus_weights else None
    gold = train_set[GOLD] if teachers else [1.0] * len(train_set)
    weights = class_weights(
        [k for k, g in zip(train_set["label"], gold, strict=True) if g],
        str(cfg.train.class_weights),
        [d for d, g in zip(draws, gold, strict=True) if g] if draws else None,
    )
    sampling = str(cfg.train.get("sampling", "random"))
    # Unpaired, every example is its own group: the sampler is then needed only to apply sampling weights.
    singletons = list(range(len(train_set))) if draws else None
    groups = pair_groups(train_set) if sampling == "paired" else singletons
    return {"groups": groups, "draws": draws, "length_grouped": sampling == "paired", "class_weight": weights}


def _run_metrics(
    cfg: Any,
    trainer: Trainer,
    result: Any,
    dataset: DatasetDict,
    select_on: str | None,
    skipped: list[Problem],
    device: torch.device,
) -> dict[str, Any]:
    """What the run did: its examples, losses, each epoch's selection figures and what it skipped."""
    metrics: dict[str, Any] = {
        "run_name": str(cfg.run_name),
        "device": str(device),
        "train_loss": float(result.training_loss),
        "train_runtime_s": float(result.metrics.get("train_runtime", 0.0)),
        "epochs": float(cfg.train.epochs),
        "examples": label_table(dataset),
        "loss_history": [e["loss"] for e in trainer.state.log_history if "loss" in e],
        "selected_on": select_on,
        "skipped_records": [str(p) for p in skipped],
        "epoch_scores": [
            {k.removeprefix("eval_"): v for k, v in e.items() if k == "epoch" or k.startswith("eval_macro_f1")}
            for e in trainer.state.log_history
            if "eval_macro_f1" in e
        ],
    }
    if corpus_weights := sampling_weights(cfg.data):
        metrics["sampling_weights"] = corpus_weights
    return metrics


def score_selection(
    trainer: Trainer,
    scored: Callable[[EvalPrediction], dict[str, float]],
    rows: Dataset,
    encoded: Dataset,
    split: str,
) -> dict[str, Any]:
    """The chosen checkpoint's figures on the split that chose it, and the neutral/polar decision fitted there."""
    out: dict[str, Any] = {}
    logits, label_ids = chosen_predictions(trainer, scored, encoded)
    probs = torch.softmax(torch.as_tensor(logits, dtype=torch.float), -1).numpy()
    missed = np.asarray(rows["origin"]) == MISSED
    probs[missed] = np.eye(len(STANCES))[NEUTRAL]  # the path never scores them: whatever the model says, missed
    if missed.any():
        out["selected_on_path"] = {"pairs_found": int((~missed).sum()), "gold_polar_missed": int(missed.sum())}
    out[split] = classification_report(label_ids, probs.argmax(-1), probs, bootstrap_resamples=0)
    corpora = np.asarray(rows["corpus"])
    if len(set(corpora)) > 1:  # a mix: each corpus's dev figures, side by side
        out[f"{split}_by_corpus"] = {
            str(c): classification_report(
                label_ids[corpora == c], probs[corpora == c].argmax(-1), probs[corpora == c], 0
            )
            for c in sorted(set(corpora))
        }
    # The neutral/polar call is fitted here, on the split that chose the checkpoint, never on held-out ones.
    _, out["decision"] = fit_decision(probs, label_ids, split)
    log.info("decision fitted on %s: %s", split, out["decision"])
    return out
