"""Training the one-pass pair model (`model.head=pairs`): the builder's rows as sentence windows.

The rows are the same as the cross-encoder's (with `data.pairs=found`, every pair the path finds,
labelled from gold); those of one sentence become one window (`stance.windows.encode_windows`), and
each window's pairs are scored and learnt together. Evaluation flattens the windows' pairs in order,
so the selection split's rows are put in that order once, and the project's checkpoint metric and
neutral/polar decision read them unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from datasets import Dataset
from transformers import DataCollatorForTokenClassification, PreTrainedTokenizerBase

from stance.actors.finder import IGNORE
from stance.encoding import EncodingConfig
from stance.errors import StanceError
from stance.training.selection import IGNORED
from stance.training.trainer import StanceTrainer
from stance.windows import encode_windows

log = logging.getLogger(__name__)


def check_pairs_recipe(cfg: Any) -> None:
    """Refuse what the pair model does not support, and say what is ignored."""
    if str(cfg.train.get("order_weights", "none")) == "balanced":
        raise StanceError(
            "train.order_weights=balanced is a cross-encoder option; it does not apply to model.head=pairs"
        )
    if str(cfg.train.get("sampling", "random")) == "paired":
        log.info("model.head=pairs: both directions of a pair are in the same window; train.sampling=paired is moot")


def window_dataset(
    rows: Dataset, tokenizer: PreTrainedTokenizerBase, encoding: EncodingConfig
) -> tuple[Dataset, list[int]]:
    """The rows' windows as a dataset (with `labels`), and the row order their pairs come out in."""
    columns = rows.to_dict()
    if "context" not in columns:
        columns["context"] = [""] * len(rows)
    windows = encode_windows(columns, tokenizer, encoding)
    order = [k for index in windows["row_index"] for k in index]
    return Dataset.from_dict(windows), order


def window_selection_set(
    rows: Dataset, tokenizer: PreTrainedTokenizerBase, encoding: EncodingConfig
) -> tuple[Dataset, Dataset]:
    """The selection split's rows in the order evaluation flattens its windows' pairs, and the windows."""
    windows, order = window_dataset(rows, tokenizer, encoding)
    return rows.select(order), windows


class MentionBatches:
    """Endless shuffled batches of silver-labelled sentences for the mention head, one per training step."""

    def __init__(self, sentences: Dataset, tokenizer: PreTrainedTokenizerBase, batch_size: int, seed: int) -> None:
        if len(sentences) == 0:
            raise StanceError("model.mention_head=true: the mentions corpora gave no training sentences")
        self.rows = sentences.to_list()
        self.collate = DataCollatorForTokenClassification(tokenizer)
        self.batch_size = min(batch_size, len(self.rows))
        self.rng = np.random.default_rng(seed)
        self.order: list[int] = []
        self.losses: list[float] = []

    def _take(self) -> list[int]:
        if len(self.order) < self.batch_size:
            self.order += self.rng.permutation(len(self.rows)).tolist()
        take, self.order = self.order[: self.batch_size], self.order[self.batch_size :]
        return take

    def next(self, device: torch.device) -> dict[str, torch.Tensor]:
        """The next batch of silver sentences, on `device`."""
        batch = self.collate([self.rows[i] for i in self._take()])
        return {k: v.to(device) for k, v in batch.items()}

    def skip(self, batches: int) -> None:
        """Pass over `batches` batches unbuilt: a resumed run goes on with the sentences it had not yet tagged."""
        for _ in range(batches):
            self._take()


class PairTrainer(StanceTrainer):
    """`StanceTrainer` for sentence windows: evaluation returns each window's pairs, padded to one width.

    Trainer counts evaluated examples by the dataset's length (windows) and cuts the last batch's
    outputs to it, so the pairs' flat outputs are returned per window (windows × pairs × labels,
    padding -100); `stance.training.selection.flat_predictions` flattens them back, in order.

    With `mentions` (a model with a mention head) every training step also tags one batch of silver
    sentences, and `mention_weight` × its token cross entropy joins the pair loss: both heads learn
    from one encoder, step by step.
    """

    def __init__(self, *args: Any, mentions: MentionBatches | None = None, mention_weight: float = 1.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.mentions, self.mention_weight = mentions, mention_weight

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        out = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if self.mentions is None or not model.training:
            return out
        batch = self.mentions.next(inputs["input_ids"].device)
        labels = batch.pop("labels")
        logits = self.accelerator.unwrap_model(model).tag(**batch)
        tagged = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)).float(), labels.reshape(-1), ignore_index=IGNORE
        )
        self.mentions.losses.append(float(tagged.detach()))
        loss = (out[0] if return_outputs else out) + self.mention_weight * tagged
        return (loss, out[1]) if return_outputs else loss

    def prediction_step(
        self, model: torch.nn.Module, inputs: dict[str, Any], prediction_loss_only: bool, ignore_keys: Any = None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        windows = inputs["input_ids"].size(0)
        pair_window = inputs["pair_window"]
        loss, logits, labels = super().prediction_step(model, inputs, prediction_loss_only, ignore_keys)
        if logits is None:
            return loss, logits, labels
        counts = torch.bincount(pair_window, minlength=windows)
        starts = torch.cumsum(counts, 0) - counts
        slot = torch.arange(pair_window.numel(), device=pair_window.device) - starts[pair_window]
        width = int(counts.max()) if counts.numel() else 0
        padded = torch.full((windows, width, logits.size(-1)), float(IGNORED), dtype=logits.dtype, device=logits.device)
        padded[pair_window, slot] = logits
        if labels is not None:
            flat = labels
            labels = torch.full((windows, width), IGNORED, dtype=flat.dtype, device=flat.device)
            labels[pair_window, slot] = flat
        return loss, padded, labels
