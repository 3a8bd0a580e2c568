"""Fine-tuning with transformers `Trainer`, and writing a self-contained model folder."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset, DatasetDict
from omegaconf import OmegaConf
from transformers import (
    DataCollatorWithPadding,
    EvalPrediction,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
    set_seed,
)
from transformers.trainer_utils import get_last_checkpoint

from stance.actors.pairs import ORDERS, mention_order
from stance.actors.resolve import save_model_gazetteer
from stance.dataset.build import dataset_from_config, format_table, label_table, sampling_weights, training_gazetteer
from stance.dataset.found import MISSED, mention_finder_folder, training_builder, uses_found_pairs
from stance.decision import NEUTRAL, fit_decision, save_decision
from stance.encoding import EncodingConfig, encode_batch
from stance.errors import Problem, StanceError
from stance.files import atomic_path
from stance.inference import cpu_has_bf16
from stance.metrics import POLAR_IDS, classification_report, macro_f1
from stance.model import build_model, build_tokenizer, pick_device
from stance.paths import resolve_path
from stance.schema import SPLITS, STANCES
from stance.training.distill import (
    GOLD,
    TEACHER,
    DistillOptions,
    describe_teachers,
    distill_options,
    distillation_loss,
    distillation_set,
    teacher_folders,
)

log = logging.getLogger(__name__)
LOSS_WEIGHT = "loss_weight"  # the column `train.order_weights` adds: each training example's loss weight


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


def class_weights(labels: list[int], mode: str, draws: list[float] | None = None) -> torch.Tensor | None:
    """Inverse-frequency weights (`balanced`, as scikit-learn defines it) or None.

    `draws` gives how often each example is drawn per epoch (a mix's sampling
    weights): the classes are balanced as the model sees them, not as stored.
    """
    if mode == "none":  # the choices are checked when the config is composed (stance.settings)
        return None
    counts: Counter[int] = Counter()
    for i, label in enumerate(labels):
        counts[label] += draws[i] if draws is not None else 1.0
    n, k = sum(counts.values()), len(STANCES)
    return torch.tensor([n / (k * counts[i]) if counts[i] else 1.0 for i in range(k)], dtype=torch.float)


def order_weights(labels: Sequence[int], actor_starts: Sequence[int], target_starts: Sequence[int]) -> list[float]:
    """Per-example loss weights by mention order (`train.order_weights=balanced`).

    Within each polar class, the examples whose actor is named after the target
    weigh as much in total as those whose actor is named first, and the class
    keeps its total weight. Neutral examples and those without both ends marked
    weigh 1. Without it, "A criticised B" teaches mostly that the first-named
    entity is the one who acts.
    """
    orders = [mention_order(a, t) for a, t in zip(actor_starts, target_starts, strict=True)]
    named = ORDERS[:2]
    counts = Counter((label, order) for label, order in zip(labels, orders, strict=True) if order in named)
    weights = []
    for label, order in zip(labels, orders, strict=True):
        both = counts[(label, named[0])] + counts[(label, named[1])]
        balanced = label != NEUTRAL and order in named and all(counts[(label, o)] for o in named)
        weights.append(both / (2 * counts[(label, order)]) if balanced else 1.0)
    return weights


def stance_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    weights: torch.Tensor | None,
    example_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross entropy weighted by class (`train.class_weights`) and, when given, by example (`train.order_weights`).

    The weighted mean: Σ w·ce / Σ w, which is PyTorch's class-weighted cross entropy when every example weighs 1.
    """
    w = weights.to(logits.device, logits.dtype) if weights is not None else None
    if example_weights is None:
        return torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1), weight=w)
    per = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1), reduction="none")
    scale = example_weights.to(logits.device, logits.dtype).view(-1)
    if w is not None:
        scale = scale * w[labels.view(-1)]
    return (per * scale).sum() / scale.sum()


def pair_groups(dataset: Dataset) -> list[int]:
    """A group id per example: the two directions of a pair in a sentence share one."""
    ids: dict[tuple[str, int, frozenset[str]], int] = {}
    return [
        ids.setdefault((a, int(i), frozenset((x, y))), len(ids))
        for a, i, x, y in zip(
            dataset["article_id"], dataset["sentence_index"], dataset["actor"], dataset["target"], strict=True
        )
    ]


class PairedSampler(torch.utils.data.Sampler[int]):
    """Shuffles pairs, not examples: both directions of a pair come one after the other, so in the same batch.

    Seeing "A criticised B" as A → B oppose and B → A neutral side by side
    teaches direction. The order is reshuffled every epoch from the seed and
    the epoch number alone. Groups of one (a pair seen in one direction only)
    are placed two by two, so that every pair starts at an even position: with
    an even batch size no pair is ever cut by the end of a batch. With
    `lengths`, pairs of similar length are brought together within megabatches
    of 50 batches, as transformers' LengthGroupedSampler does, so that less
    compute goes to padding.

    Under DDP (torchrun, accelerate launch) every process builds the same
    order, the whole epoch, from the shared seed and the epoch number that
    Trainer sets (`set_epoch`); accelerate's `BatchSamplerShard` then deals
    the batches round-robin, batch k to process k mod N. So an optimiser step
    sees the N×batch_size consecutive examples that one process with the global
    batch would, with an even batch_size a pair stays within one process's
    batch, and this class does not shard itself. `batch_size` here is that
    global batch (it sizes the megabatches).
    """

    def __init__(
        self,
        groups: list[int],
        seed: int,
        lengths: list[int] | None = None,
        batch_size: int = 32,
        draws: list[float] | None = None,
    ) -> None:
        members: dict[int, list[int]] = {}
        for index, group in enumerate(groups):
            members.setdefault(group, []).append(index)
        self.members = list(members.values())
        self.size = [max(lengths[i] for i in m) for m in self.members] if lengths is not None else None
        self.megabatch = 50 * batch_size
        self.seed = seed
        self.epoch = 0
        # With `draws` (per example; a group takes its first member's), a group is drawn floor(w) times
        # per epoch plus once more with probability frac(w): a mix's per-corpus sampling weights.
        self.draws = [float(draws[m[0]]) for m in self.members] if draws is not None else None
        self.n = (
            len(groups)
            if draws is None
            else round(sum(w * len(m) for w, m in zip(self.draws, self.members, strict=True)))
        )
        if self.n == 0 and groups:
            raise StanceError("every sampling weight is 0: nothing to train on")

    def __len__(self) -> int:
        return self.n

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order the next iteration gives (Trainer calls it before each epoch, resuming too)."""
        self.epoch = epoch

    def _drawn(self, generator: torch.Generator) -> list[int]:
        """This epoch's groups, in random order, each as often as its weight says."""
        order = torch.randperm(len(self.members), generator=generator).tolist()
        if self.draws is None:
            return order
        chance = torch.rand(len(self.members), generator=generator).tolist()
        drawn = [g for g in order for _ in range(int(self.draws[g]) + (chance[g] < self.draws[g] % 1))]
        return [drawn[i] for i in torch.randperm(len(drawn), generator=generator).tolist()]

    def _even_starts(self, order: list[int]) -> list[int]:
        """`order` with odd-sized groups two by two (each held back until the next), so every group starts even."""
        out: list[int] = []
        held: int | None = None
        for g in order:
            if len(self.members[g]) % 2 == 0:
                out.append(g)
            elif held is None:
                held = g
            else:
                out += [held, g]
                held = None
        return out if held is None else [*out, held]

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        self.epoch += 1  # iterated again without set_epoch (outside Trainer), the next epoch's order
        order = self._drawn(generator)
        if self.size is not None:
            chunks, chunk, count = [], [], 0
            for g in order:
                chunk.append(g)
                count += len(self.members[g])
                if count >= self.megabatch:
                    chunks.append(chunk)
                    chunk, count = [], 0
            chunks.append(chunk)
            order = [g for c in chunks for g in sorted(c, key=lambda g: -self.size[g])]
        if self.draws is not None and order:
            # Random draws vary a little in size: whole groups from the start again until the epoch is len(self).
            total, drawn = sum(len(self.members[g]) for g in order), len(order)
            while total < self.n:
                order.append(order[(len(order) - drawn) % drawn])
                total += len(self.members[order[-1]])
        indices = [i for g in self._even_starts(order) for i in self.members[g]]
        yield from indices[: self.n]


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


class _Collator:
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


SELECTION_METRIC = "corpus_mean_macro_f1"


def metrics_by_corpus(
    corpora: list[str] | None = None, origins: list[str] | None = None, on_path: bool = False
) -> Callable[[EvalPrediction], dict[str, float]]:
    """Trainer's `compute_metrics`: overall figures, each corpus's macro-F1, and their mean (what selects).

    `corpora` tags the evaluated examples in order (Trainer evaluates in order).
    With one corpus the selection metric is its macro-F1; with a mix, the mean
    over corpora, so that the larger dev split does not choose alone. When the
    dev split is the prediction path's (`on_path`, or `origins` holds `missed`
    rows, see `stance.dataset.found`), what selects is what a user gets: support/oppose macro-F1
    over every pair the path finds, each missed gold pair counted as called neutral.
    """
    names = sorted(set(corpora or []))
    missed = np.asarray([o == MISSED for o in origins or []], dtype=bool)
    on_path = on_path or bool(missed.any())

    def compute(prediction: EvalPrediction) -> dict[str, float]:
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        y_true = np.asarray(prediction.label_ids)
        compute.scored.append((np.asarray(logits), y_true))  # type: ignore[attr-defined]
        y_pred = np.asarray(logits).argmax(-1)
        if on_path:
            y_pred = np.where(missed, NEUTRAL, y_pred)
        out = {
            "macro_f1": macro_f1(y_true, y_pred),
            "macro_f1_support_oppose": macro_f1(y_true, y_pred, POLAR_IDS),
            "accuracy": float((y_true == y_pred).mean()) if len(y_true) else float("nan"),
        }
        metric = "macro_f1_support_oppose" if on_path else "macro_f1"
        if len(names) > 1:
            tags = np.asarray(corpora)
            for name in names:
                out[f"macro_f1_{name}"] = macro_f1(y_true[tags == name], y_pred[tags == name])
                out[f"macro_f1_support_oppose_{name}"] = macro_f1(y_true[tags == name], y_pred[tags == name], POLAR_IDS)
            out[SELECTION_METRIC] = float(np.mean([out[f"{metric}_{name}"] for name in names]))
        else:
            out[SELECTION_METRIC] = out[metric]
        return out

    compute.scored = []  # type: ignore[attr-defined]  # each evaluation's (logits, labels), in order
    return compute


def selection_set(
    rows: Dataset, tokenizer: PreTrainedTokenizerBase, encoding: EncodingConfig
) -> tuple[Dataset, Dataset]:
    """The split that chooses the checkpoint, and its encoding, ordered by length; missed gold pairs cut short.

    Evaluated in this order, batches hold inputs of similar length and little
    compute goes to padding; a missed gold pair (`data.pairs=found`) is never
    scored by the path, its call is neutral whatever the model says, so it is
    encoded as its first and last token only. The figures are those of the
    split in any order.
    """
    encoded = encode_dataset(rows, tokenizer, encoding)
    missed = (
        set(np.flatnonzero(np.asarray(rows["origin"]) == MISSED).tolist()) if "origin" in rows.column_names else set()
    )
    if missed:
        columns = [c for c in ("input_ids", "attention_mask", "token_type_ids") if c in encoded.column_names]
        encoded = encoded.map(
            lambda row, i: {c: [row[c][0], row[c][-1]] for c in columns} if i in missed else {},
            with_indices=True,
            desc="cutting missed pairs",
        )
    order = np.argsort([-len(ids) for ids in encoded["input_ids"]], kind="stable").tolist()
    return rows.select(order), encoded.select(order)


def chosen_predictions(
    trainer: Trainer, scored: Callable[[EvalPrediction], dict[str, float]], encoded: Dataset
) -> tuple[np.ndarray, np.ndarray]:
    """The chosen checkpoint's logits and labels on the selection split.

    They are the ones recorded when that checkpoint was evaluated (the first
    best epoch, as Trainer keeps it), so the split is not scored a second time;
    after a resume, or without one evaluation per epoch, it is scored again.
    """
    recorded = getattr(scored, "scored", [])
    evals = [e for e in trainer.state.log_history if f"eval_{SELECTION_METRIC}" in e]
    values = [e[f"eval_{SELECTION_METRIC}"] for e in evals]
    if recorded and len(recorded) == len(evals) and trainer.state.best_metric in values:
        return recorded[values.index(trainer.state.best_metric)]
    output = trainer.predict(encoded)
    logits = output.predictions[0] if isinstance(output.predictions, tuple) else output.predictions
    return np.asarray(logits), np.asarray(output.label_ids)


def _precision_flags(precision: str, device: torch.device) -> dict[str, bool]:
    """Trainer's bf16/fp16 flags for `train.precision`.

    CUDA: `auto` is bf16 where supported, else fp16. CPU: `bf16` runs autocast
    bf16 on a CPU with AVX512-BF16 or AMX (elsewhere it falls back to fp32 with a
    warning); `auto` stays fp32 on a CPU until bf16's dev quality is shown to hold
    for the recipe (see bench/training.md).
    """
    if device.type != "cuda":
        if precision == "bf16" and cpu_has_bf16():
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


def selection_split(available: set[str]) -> str | None:
    """The split that chooses the checkpoint: `dev`, else `validation` (with a warning: it is no longer held out)."""
    if "dev" in available:
        return "dev"
    if "validation" in available:
        log.warning(
            "no dev split (data.dev_fraction=0): choosing the checkpoint on validation, "
            "so figures on validation are not held out"
        )
        return "validation"
    log.warning("no dev or validation examples: keeping the last epoch's model instead of the best one")
    return None


def train(cfg: Any, dataset: DatasetDict | None = None) -> dict[str, Any]:
    """Fine-tune a stance model as `cfg` says and save it to `cfg.output_dir`; returns its metrics.

    The mention finder has its own entry point (`stance.training.mentions.train_mentions`, `task=mentions`).
    """
    started = time.time()
    set_seed(int(cfg.seed))
    if cfg.get("finder"):
        mention_finder_folder(cfg.finder)  # a wrong path is named now, not after the training
        if not uses_found_pairs(cfg.data):
            log.warning("finder=%s is used by data.pairs=found only; it is not copied into the model", cfg.finder)
    skipped: list[Problem] = []
    teachers = teacher_folders(cfg.teacher) if cfg.get("teacher") else []
    distill = distill_options(cfg) if teachers else None
    if dataset is None:
        dataset = dataset_from_config(
            cfg, skipped, keep_capped=bool(distill and distill.unlabelled), builder=training_builder(cfg)
        )
    if len(dataset["train"]) == 0:
        raise StanceError(f"data={cfg.data.name} has no training examples")
    device = pick_device(str(cfg.train.device))
    encoding = EncodingConfig(
        max_length=int(cfg.model.max_length),
        context_sentences=int(cfg.data.context_sentences),
        markers=bool(cfg.model.markers),
    )
    tokenizer = build_tokenizer(cfg.model)
    model = build_model(cfg.model, tokenizer, encoding)
    select_on = selection_split({name for name, split in dataset.items() if len(split) and name in SPLITS})
    if uses_found_pairs(cfg.data) and select_on != "dev":
        log.warning("data.pairs=found chooses on the path's dev pairs, but there is no dev split (data.dev_fraction)")
    train_set = distillation_set(cfg, dataset, teachers) if teachers else dataset["train"]
    by_order = str(cfg.train.get("order_weights", "none")) == "balanced"
    if by_order:
        if teachers:
            raise StanceError("train.order_weights=balanced is not supported with a teacher (distillation)")
        train_set = train_set.add_column(
            LOSS_WEIGHT, order_weights(train_set["label"], train_set["actor_start"], train_set["target_start"])
        )
    # Held-out splits are not encoded: training neither scores nor looks at them.
    encoded = {"train": encode_dataset(train_set, tokenizer, encoding)}
    if select_on:
        dataset[select_on], encoded[select_on] = selection_set(dataset[select_on], tokenizer, encoding)
    has_validation = select_on is not None
    corpus_weights = sampling_weights(cfg.data)
    draws = [corpus_weights.get(c, 1.0) for c in train_set["corpus"]] if corpus_weights else None
    gold = train_set[GOLD] if teachers else [1.0] * len(train_set)
    weights = class_weights(
        [k for k, g in zip(train_set["label"], gold, strict=True) if g],
        str(cfg.train.class_weights),
        [d for d, g in zip(draws, gold, strict=True) if g] if draws else None,
    )
    args = training_arguments(
        cfg, has_validation, device, metric=SELECTION_METRIC, keep_columns=bool(teachers) or by_order
    )
    sampling = str(cfg.train.get("sampling", "random"))
    # Unpaired, every example is its own group: the sampler is then needed only to apply sampling weights.
    singletons = list(range(len(train_set))) if draws else None
    groups = pair_groups(train_set) if sampling == "paired" else singletons
    trainer = StanceTrainer(
        groups=groups,
        draws=draws,
        length_grouped=sampling == "paired",
        class_weight=weights,
        distill=distill,
        model=model,
        args=args,
        train_dataset=encoded["train"],
        eval_dataset=encoded.get(select_on) if select_on else None,
        processing_class=tokenizer,
        data_collator=_Collator(tokenizer),
        compute_metrics=(
            scored := metrics_by_corpus(
                list(dataset[select_on]["corpus"]) if select_on else None,
                list(dataset[select_on]["origin"]) if select_on else None,
                on_path=select_on == "dev" and uses_found_pairs(cfg.data),
            )
        ),
    )
    resume = None
    if bool(cfg.train.resume):
        resume = get_last_checkpoint(args.output_dir) if Path(args.output_dir).is_dir() else None
        log.info("resuming from %s", resume or "scratch (no checkpoint found)")
    result = trainer.train(resume_from_checkpoint=resume)
    log.info("trained on %s in %.0f s", device, time.time() - started)

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
    if corpus_weights:
        metrics["sampling_weights"] = corpus_weights
    if distill is not None:
        metrics["distillation"] = describe_teachers(teachers, distill) | {
            "teacher_only_examples": len(train_set) - len(dataset["train"])
        }
    # Only the split that chose the checkpoint is scored here; held-out splits are stance-evaluate's, once.
    if select_on is not None:
        logits, label_ids = chosen_predictions(trainer, scored, encoded[select_on])
        probs = torch.softmax(torch.as_tensor(logits, dtype=torch.float), -1).numpy()
        missed = np.asarray(dataset[select_on]["origin"]) == MISSED
        probs[missed] = np.eye(len(STANCES))[NEUTRAL]  # the path never scores them: whatever the model says, missed
        if missed.any():
            metrics["selected_on_path"] = {"pairs_found": int((~missed).sum()), "gold_polar_missed": int(missed.sum())}
        metrics[select_on] = classification_report(label_ids, probs.argmax(-1), probs, bootstrap_resamples=0)
        corpora = np.asarray(dataset[select_on]["corpus"])
        if len(set(corpora)) > 1:  # a mix: each corpus's dev figures, side by side
            metrics[f"{select_on}_by_corpus"] = {
                str(c): classification_report(
                    label_ids[corpora == c], probs[corpora == c].argmax(-1), probs[corpora == c], 0
                )
                for c in sorted(set(corpora))
            }
        # The neutral/polar call is fitted here, on the split that chose the checkpoint, never on held-out ones.
        _, metrics["decision"] = fit_decision(probs, label_ids, select_on)
        log.info("decision fitted on %s: %s", select_on, metrics["decision"])
    save_model_folder(trainer, cfg, metrics)
    metrics["wall_time_s"] = time.time() - started
    return metrics


def save_model_folder(trainer: Trainer, cfg: Any, metrics: dict[str, Any]) -> Path:
    """Write the stance model folder: the weights, the resolved config, the metrics and a model card."""

    def extra(staging: Path) -> None:
        (staging / "training_config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True), encoding="utf-8")
        (staging / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        (staging / "README.md").write_text(model_card(cfg, metrics), encoding="utf-8")
        if "decision" in metrics:
            save_decision(staging, metrics["decision"])
        save_model_gazetteer(staging, training_gazetteer(cfg))
        if cfg.get("finder") and uses_found_pairs(cfg.data):  # it learnt pairs as this finder finds them
            shutil.copytree(mention_finder_folder(cfg.finder), staging / "mentions")

    return save_folder_atomically(trainer, cfg.output_dir, extra)


def save_folder_atomically(trainer: Trainer, output_dir: str | Path, extra: Callable[[Path], None]) -> Path:
    """Save the trainer's model, then `extra(folder)`, atomically (`stance.files.atomic_path`).

    A reader never sees a half-written model: until the rename, the folder has a
    different name and carries an `.incomplete` marker. Under DDP only the first
    process (rank 0 of all nodes) writes; every process waits at a barrier until
    the folder is there, so none returns before it.
    """
    final = resolve_path(output_dir).absolute()
    if trainer.is_world_process_zero():
        with atomic_path(final) as staging:
            staging.mkdir(parents=True)
            (staging / ".incomplete").touch()
            trainer.save_model(str(staging))
            # Trainer pickles its arguments; the folder carries the resolved config as YAML instead.
            (staging / "training_args.bin").unlink(missing_ok=True)
            extra(staging)
            # A finder attached inside a stance model folder survives retraining the stance model.
            if (final / "mentions").is_dir() and not (staging / "mentions").exists():
                shutil.copytree(final / "mentions", staging / "mentions")
            (staging / ".incomplete").unlink()
        log.info("model saved to %s", final)
    trainer.accelerator.wait_for_everyone()
    return final


def model_card(cfg: Any, metrics: dict[str, Any]) -> str:
    """A short model card: what it was trained on, how, and how well it did."""
    t = cfg.train
    lines = [
        f"# stance model `{cfg.run_name}`",
        "",
        "Predicts the stance of an actor toward a target in a news sentence: "
        f"{', '.join(STANCES)}. Load it with `stance.StanceClassifier.from_pretrained(path)` or plain "
        "`transformers.AutoModelForSequenceClassification.from_pretrained(path)` (inputs must be encoded "
        "with `stance.encoding.encode_batch`; the format version is in `config.json`).",
        "",
        "## Data",
        f"`data={cfg.data.name}`, context of {cfg.data.context_sentences} preceding sentences.",
        "",
        "```",
        format_table(metrics["examples"]),
        "```",
        "",
        "## Recipe",
        f"- base model: `{cfg.model.pretrained or 'random init (' + str(cfg.model.name) + ')'}`",
        f"- {t.epochs} epochs, learning rate {t.learning_rate}, batch {t.batch_size}, warmup {t.warmup_ratio}, "
        f"{t.lr_scheduler} schedule, weight decay {t.weight_decay}",
        f"- class weights: {t.class_weights}; max length {cfg.model.max_length}; entity markers: {cfg.model.markers}",
        f"- seed {cfg.seed}; trained on {metrics['device']} in {metrics['train_runtime_s']:.0f} s",
    ]
    if "sampling_weights" in metrics:
        lines.append(f"- corpora mixed, drawn per epoch with weights {metrics['sampling_weights']}")
    if "distillation" in metrics:
        d = metrics["distillation"]
        named = ", ".join(f"`{Path(t['path']).name}` (sha256 {t['weights_sha256'][:12]}…)" for t in d["teachers"])
        lines.append(
            f"- distilled from {named}: alpha {d['alpha']}, temperature {d['temperature']}, "
            f"{d['teacher_only_examples']} teacher-only pairs"
        )
    lines += [
        "",
        "## Metrics",
        "| split | n | accuracy | macro-F1 | macro-F1 (support/oppose) |",
        "|---|---|---|---|---|",
    ]
    for split in ("dev", "validation", "test"):
        if split in metrics:
            m = metrics[split]
            lines.append(
                f"| {split} | {m['n']} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | {m['macro_f1_support_oppose']:.3f} |"
            )
    lines += [
        "",
        "## Limits",
        "Trained on news text in English. Stances are read from single sentences with a short context; "
        "irony, long-range coreference and unnamed actors are often missed. Check a sample before drawing conclusions.",
        "",
    ]
    return "\n".join(lines)
