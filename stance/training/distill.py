"""Distillation: a small student trained on a teacher's probabilities as well as the gold labels.

`stance-train experiment=distill teacher=<model folder>` scores the training
examples once with the teacher (or the mean of several teachers), plus the
co-mention pairs of the training articles that the neutral cap left out: they
cost nothing to label this way. The student then minimises

    alpha * T² * KL(teacher_T || student_T) + (1 - alpha) * CE(gold)

where `_T` is a softmax at temperature T (Hinton et al., 2015) and the cross
entropy, weighted by class as in plain training, counts only examples with a
gold label. The student keeps its own size, so prediction speed is the student's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset, DatasetDict, concatenate_datasets

from stance.dataset.build import UNLABELLED
from stance.errors import StanceError
from stance.model import weights_sha256
from stance.paths import resolve_path

log = logging.getLogger(__name__)

TEACHER, GOLD = "teacher", "gold"  # the columns distillation adds: teacher probabilities, has-a-gold-label


@dataclass(frozen=True)
class DistillOptions:
    """How the teacher's term and the gold term are mixed (`distill:` in the train config)."""

    temperature: float = 2.0
    alpha: float = 0.5
    unlabelled: bool = True

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise StanceError(f"distill.temperature={self.temperature} must be above 0")
        if not 0 <= self.alpha <= 1:
            raise StanceError(f"distill.alpha={self.alpha} must lie in [0, 1]")


def distill_options(cfg: Any) -> DistillOptions:
    """DistillOptions from the train config's `distill:` block."""
    d = cfg.get("distill") or {}
    return DistillOptions(
        temperature=float(d.get("temperature", 2.0)),
        alpha=float(d.get("alpha", 0.5)),
        unlabelled=bool(d.get("unlabelled", True)),
    )


def teacher_folders(teacher: Any) -> list[Path]:
    """The teacher model folder(s) named by `teacher=` (one path, or a list whose probabilities are averaged)."""
    names = [teacher] if isinstance(teacher, str | Path) else list(teacher)
    folders = [resolve_path(str(name)) for name in names]
    for folder in folders:
        if not (folder / "config.json").is_file():
            raise StanceError(f"teacher={folder}: not a model folder written by stance-train (no config.json)")
    return folders


def teacher_probabilities(
    folders: Sequence[Path], rows: Dataset, device: str = "auto", batch_size: int = 64, context_sentences: int = -1
) -> np.ndarray:
    """The mean of the teachers' probabilities (n × 3) for the builder's rows, each teacher with its own encoding.

    The rows' context was built with the student's window; a teacher trained
    with another window reads that one (logged), since the text is the same.
    """
    from stance.predict.classifier import StanceClassifier

    total = np.zeros((len(rows), 3), dtype=np.float64)
    examples = list(rows)
    for folder in folders:
        teacher = StanceClassifier.from_pretrained(folder, device=device, batch_size=batch_size)
        if context_sentences >= 0 and teacher.encoding.context_sentences != context_sentences:
            log.warning(
                "teacher %s was trained with %d context sentences; it reads the student's %d",
                folder.name,
                teacher.encoding.context_sentences,
                context_sentences,
            )
        log.info("teacher %s scores %d examples", folder.name, len(examples))
        total += teacher.predict_proba(examples, show_progress=True).double().numpy()
    return total / len(folders)


def distillation_set(cfg: Any, dataset: DatasetDict, folders: Sequence[Path]) -> Dataset:
    """The student's training set: train (gold labels) plus the capped-away co-mention pairs (teacher only).

    Adds the columns `teacher` (the teachers' mean probabilities) and `gold`
    (1 where the example's label is a gold one, 0 for the extra pairs).
    """
    options = distill_options(cfg)
    parts = [dataset["train"]]
    extra = dataset[UNLABELLED] if options.unlabelled and UNLABELLED in dataset else None
    if extra is not None and len(extra):
        parts.append(extra)
    rows = concatenate_datasets(parts) if len(parts) > 1 else parts[0]
    probs = teacher_probabilities(
        folders,
        rows,
        device=str(cfg.train.device),
        batch_size=int(cfg.train.eval_batch_size),
        context_sentences=int(cfg.data.context_sentences),
    )
    gold = [1.0] * len(dataset["train"]) + [0.0] * (len(rows) - len(dataset["train"]))
    log.info(
        "distilling on %d gold examples and %d teacher-only pairs",
        len(dataset["train"]),
        len(rows) - len(dataset["train"]),
    )
    return rows.add_column(TEACHER, probs.tolist()).add_column(GOLD, gold)


def describe_teachers(folders: Sequence[Path], options: DistillOptions) -> dict[str, Any]:
    """What the model card and metrics record about the teachers: which weights, and the loss's settings."""
    return {
        "teachers": [{"path": str(f), "weights_sha256": weights_sha256(f)} for f in folders],
        "temperature": options.temperature,
        "alpha": options.alpha,
        "unlabelled": options.unlabelled,
    }


def distillation_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    teacher: torch.Tensor,
    gold: torch.Tensor,
    options: DistillOptions,
    class_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """alpha·T²·KL(teacher_T ‖ student_T) over every example + (1 − alpha)·weighted CE over gold ones.

    Tempering probabilities p at T is a softmax of log(p)/T: the same as
    dividing the teacher's logits by T, and it also holds for a mean of teachers.
    """
    t = options.temperature
    logits = logits.float()
    target = torch.log_softmax(torch.log(teacher.float().clamp_min(1e-12)) / t, dim=-1)
    student = torch.log_softmax(logits / t, dim=-1)
    kl = torch.nn.functional.kl_div(student, target, reduction="batchmean", log_target=True) * t * t
    w = (
        class_weight.to(logits.device)
        if class_weight is not None
        else torch.ones(logits.size(-1), device=logits.device)
    )
    per_example = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    weight = w[labels] * gold.float()
    ce = (per_example * weight).sum() / weight.sum().clamp_min(1e-12)
    return options.alpha * kl + (1 - options.alpha) * ce
