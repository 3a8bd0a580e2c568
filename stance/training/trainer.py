"""transformers `Trainer` with the project's loss, sampler and collator, and its arguments from the config."""

from __future__ import annotations

import logging
import os
from typing import Any

import torch
from datasets import Dataset
from transformers import (
    DataCollatorWithPadding,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
)

from stance.encoding import EncodingConfig, encode_batch
from stance.inference import cpu_has_bf16
from stance.paths import resolve_path
from stance.training.distill import (
    GOLD,
    TEACHER,
    DistillOptions,
    distillation_loss,
)
from stance.training.loss import LOSS_WEIGHT, stance_loss
from stance.training.sampler import PairedSampler

log = logging.getLogger(__name__)


class StanceTrainer(Trainer):
    """`Trainer` with the project's loss and sampler.

    - `groups`: the paired sampler (`train.sampling=paired`), or, with `draws`,
      per-example sampling weights (a mix's per-corpus weights).
    - `class_weight`: the weighted cross entropy (`train.class_weights`).
    - `distill`: with a `teacher` and `gold` column in the batch, the distillation loss.

    Runs unchanged under torchrun and accelerate launch (DDP): see `PairedSampler`
    for how batches are dealt, and `_ddp_share` for the loss.
    """

    def __init__(
        self,
        *args: Any,
        groups: list[int] | None = None,
        draws: list[float] | None = None,
        length_grouped: bool = True,
        class_weight: torch.Tensor | None = None,
        distill: DistillOptions | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.groups, self.draws, self.length_grouped = groups, draws, length_grouped
        self.class_weight, self.distill = class_weight, distill

    def _get_train_sampler(self, train_dataset: Any = None) -> torch.utils.data.Sampler | None:
        if self.groups is not None:
            lengths = [len(ids) for ids in self.train_dataset["input_ids"]] if self.length_grouped else None
            # Every process builds the whole epoch and accelerate deals its batches: megabatches of global batches.
            global_batch = self.args.train_batch_size * self.args.world_size
            return PairedSampler(self.groups, self.args.seed, lengths, global_batch, self.draws)
        return super()._get_train_sampler(train_dataset)

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        teacher, gold = inputs.pop(TEACHER, None), inputs.pop(GOLD, None)
        example_weights = inputs.pop(LOSS_WEIGHT, None)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        if teacher is not None and self.distill is not None:
            loss = distillation_loss(outputs.logits, labels, teacher, gold, self.distill, self.class_weight)
        else:
            loss = stance_loss(outputs.logits, labels, self.class_weight, example_weights)
            if model.training and self.args.world_size > 1:
                loss = loss * self._ddp_share(labels, example_weights)
        return (loss, outputs) if return_outputs else loss

    def _ddp_share(self, labels: torch.Tensor, example_weights: torch.Tensor | None = None) -> torch.Tensor:
        """N × this process's part of the global batch's loss weight (the class weights of its labels).

        DDP averages the N processes' gradients. Each process's loss is a weighted
        mean over its own batch, so with class weights the plain average would
        differ from the weighted mean over the global batch that one process with
        that batch takes; scaled by this factor it is the same. Without class
        weights and with equal batches the factor is exactly 1.
        """
        per = (
            self.class_weight.to(labels.device)[labels].float()
            if self.class_weight is not None
            else torch.ones(labels.numel(), device=labels.device)
        )
        if example_weights is not None:
            per = per * example_weights.to(labels.device).view(-1)
        weight = per.sum()
        total = self.accelerator.reduce(weight.detach().clone(), reduction="sum")
        return self.args.world_size * weight / total


class Collator:
    """Pads the model inputs; carries a distillation's and the order weights' float columns through as tensors."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase) -> None:
        self.pad = DataCollatorWithPadding(tokenizer)

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        features = [dict(f) for f in features]
        extra = {
            key: torch.tensor([f.pop(key) for f in features], dtype=torch.float)
            for key in (TEACHER, GOLD, LOSS_WEIGHT)
            if key in features[0]
        }
        return {**self.pad(features), **extra}


def _precision_flags(precision: str, device: torch.device) -> dict[str, bool]:
    """Trainer's bf16/fp16 flags for `train.precision`.

    CUDA: `auto` is bf16 where supported, else fp16. CPU: `bf16`, and `auto`, run
    autocast bf16 on a CPU with AVX512-BF16 or AMX, where it trains about 1.7×
    faster at the same dev figures (bench/training/README.md); elsewhere `auto` is
    fp32 and `bf16` falls back to fp32 with a warning (emulated bf16 is slower).
    """
    if device.type != "cuda":
        if precision in ("bf16", "auto") and cpu_has_bf16():
            log.info("training in bf16 on the CPU (AVX512-BF16 or AMX)")
            return {"bf16": True, "fp16": False}
        if precision in ("bf16", "fp16"):
            log.warning("train.precision=%s needs CUDA or a CPU with bf16; training in fp32 on %s", precision, device)
        return {"bf16": False, "fp16": False}
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def training_arguments(
    cfg: Any, has_validation: bool, device: torch.device, metric: str = "macro_f1", keep_columns: bool = False
) -> TrainingArguments:
    """TrainingArguments from the config, so transformers validates them itself; `metric` picks the checkpoint.

    `keep_columns` passes columns the model does not take (a distillation's teacher) on to the collator.
    """
    t = cfg.train
    return TrainingArguments(
        output_dir=str(resolve_path(cfg.work_dir)),
        num_train_epochs=float(t.epochs),
        max_steps=int(t.max_steps),
        learning_rate=float(t.learning_rate),
        per_device_train_batch_size=int(t.batch_size),
        per_device_eval_batch_size=int(t.eval_batch_size),
        weight_decay=float(t.weight_decay),
        warmup_steps=float(t.warmup_ratio),
        lr_scheduler_type=str(t.lr_scheduler),
        eval_strategy="epoch" if has_validation else "no",
        save_strategy="epoch",
        save_total_limit=2,
        load_best_model_at_end=has_validation,
        metric_for_best_model=metric if has_validation else None,
        greater_is_better=True,
        logging_steps=int(t.logging_steps),
        report_to=[],
        seed=int(cfg.seed),
        data_seed=int(cfg.seed),
        use_cpu=device.type == "cpu",
        dataloader_num_workers=int(t.num_workers),
        dataloader_pin_memory=device.type == "cuda",
        disable_tqdm=os.environ.get("STANCE_PROGRESS") == "0",
        remove_unused_columns=not keep_columns,
        **_precision_flags(str(t.precision), device),
    )


def encode_dataset(dataset: Dataset, tokenizer: PreTrainedTokenizerBase, encoding: EncodingConfig) -> Dataset:
    """Model inputs for every example, plus `labels` (and a distillation's `teacher`, `gold`).

    The same `encode_batch` that prediction uses.
    """
    keep = {"label", TEACHER, GOLD, LOSS_WEIGHT}
    encoded = dataset.map(
        encode_batch,
        batched=True,
        fn_kwargs={"tokenizer": tokenizer, "config": encoding},
        remove_columns=[c for c in dataset.column_names if c not in keep],
        desc="encoding",
    )
    return encoded.rename_column("label", "labels") if "label" in encoded.column_names else encoded
