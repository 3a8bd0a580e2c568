"""Writing a self-contained model folder atomically: weights, tokenizer, decision, gazetteer snapshot, the
mention finder for found pairs, the resolved config, metrics and a model card.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from transformers import (
    Trainer,
)

from stance.actors.resolve import save_model_gazetteer
from stance.dataset.build import format_table, training_gazetteer
from stance.dataset.found import mention_finder_folder, uses_found_pairs
from stance.decision import save_decision
from stance.files import atomic_path
from stance.pairhead import MENTION_HEAD_FILE, PairStanceModel
from stance.paths import resolve_path
from stance.schema import STANCES

log = logging.getLogger(__name__)


def save_model_folder(trainer: Trainer, cfg: Any, metrics: dict[str, Any]) -> Path:
    """Write the stance model folder: the weights, the resolved config, the metrics and a model card."""

    def extra(staging: Path) -> None:
        (staging / "training_config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True), encoding="utf-8")
        (staging / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        (staging / "README.md").write_text(model_card(cfg, metrics), encoding="utf-8")
        if "decision" in metrics:
            save_decision(staging, metrics["decision"])
        save_model_gazetteer(staging, training_gazetteer(cfg))
        # It learnt pairs as this finder finds them; a model with its own mention head finds with that instead.
        finder = mention_finder_folder(cfg.finder) if cfg.get("finder") and uses_found_pairs(cfg.data) else None
        if finder is not None and not (staging / MENTION_HEAD_FILE).is_file():
            shutil.copytree(finder, staging / "mentions")

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
            if isinstance(trainer.model, PairStanceModel):  # the encoder as transformers saves it, the head beside
                trainer.model.save_pretrained(staging)
                trainer.processing_class.save_pretrained(str(staging))
            else:
                trainer.save_model(str(staging))
            # Trainer pickles its arguments; the folder carries the resolved config as YAML instead.
            (staging / "training_args.bin").unlink(missing_ok=True)
            extra(staging)
            # A finder attached inside a stance model folder survives retraining the stance model.
            own = (staging / MENTION_HEAD_FILE).is_file()  # a model with its own mention head needs no other finder
            if (final / "mentions").is_dir() and not (staging / "mentions").exists() and not own:
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
