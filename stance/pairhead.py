"""The one-pass pair model (`model.head=pairs`): one encoder pass per sentence window scores every actor pair in it.

After ATLOP (Zhou et al., AAAI 2021), at the size of a sentence window:

* the window is read once, each actor's mentions and its listed name marked
  with [E] (`stance.windows.encode_windows`);
* an actor's embedding is the logsumexp of the hidden states at its [E] markers (with
  `model.markers=false`, at every token of its mentions in the plain, unmarked window);
* each ordered pair (a, b) gets a context vector: attention over the window's
  tokens with the query W·(a ⊙ b), so each pair reads the words between and
  around its own two actors;
* [a; b; context; a ⊙ b] → a two-layer head → support, oppose, neutral. The
  direction is in the order of the concatenation: (a, b) and (b, a) are scored apart.

The folder format: the encoder as plain `transformers` saves it (`config.json`
and `model.safetensors`, loadable with `AutoModel.from_pretrained`), the
tokenizer, and the head's tensors in `pair_head.safetensors` (safetensors
metadata `format: stance-pair-head`, `version: 1`; tensor names as in
`PairHead.state_dict()`). No pickles, no remote code.

With `model.mention_head=true` the same encoder also carries the mention finder: a token head that
tags actor spans (BIO, `stance.actors.finder.MENTION_LABELS`) in the plain, unmarked sentence, saved
in `mention_head.safetensors` (metadata `format: stance-mention-head`, `version: 1`, `labels`,
`max_length`; tensor names as in `MentionHead.state_dict()`). Prediction reads a sentence twice
with the one encoder: unmarked for its mentions, then marked for its pairs (`MentionTagger`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModel, PreTrainedModel, PreTrainedTokenizerBase
from transformers.modeling_outputs import SequenceClassifierOutput, TokenClassifierOutput

from stance.encoding import EncodingConfig
from stance.errors import StanceError
from stance.inference import check_precision, fixed_precision, length_batches, runner_at
from stance.progress import progress
from stance.schema import MENTION_LABELS, STANCES
from stance.windows import PAIR_VALUES, WINDOW_COLUMNS, encode_windows

HEAD_FILE = "pair_head.safetensors"
HEAD_FORMAT = {"format": "stance-pair-head", "version": "1"}
MENTION_HEAD_FILE = "mention_head.safetensors"
MENTION_HEAD_FORMAT = {"format": "stance-mention-head", "version": "1", "labels": ",".join(MENTION_LABELS)}
_MASKED = -1.0e4  # fits bf16 as well as fp32


class PairHead(nn.Module):
    """Scores ordered actor pairs from pooled actor embeddings and a pair-local context vector."""

    def __init__(self, hidden: int, labels: int = len(STANCES), dropout: float = 0.1) -> None:
        super().__init__()
        self.query = nn.Linear(hidden, hidden)
        self.dense = nn.Linear(4 * hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, labels)

    def forward(
        self,
        hidden: torch.Tensor,
        attention_mask: torch.Tensor,
        entity_index: torch.Tensor,
        entity_mask: torch.Tensor,
        pair_actor: torch.Tensor,
        pair_target: torch.Tensor,
        pair_window: torch.Tensor,
    ) -> torch.Tensor:
        width = hidden.size(-1)
        mentions = hidden.reshape(-1, width)[entity_index]  # actors × markers × hidden
        mentions = mentions.masked_fill(~entity_mask[..., None], _MASKED)
        entities = torch.logsumexp(mentions, dim=1)
        a, b = entities[pair_actor], entities[pair_target]
        tokens = hidden[pair_window]  # pairs × tokens × hidden
        scores = torch.einsum("pd,ptd->pt", self.query(a * b), tokens) / math.sqrt(width)
        scores = scores.masked_fill(attention_mask[pair_window] == 0, _MASKED)
        context = torch.einsum("pt,ptd->pd", scores.softmax(-1), tokens)
        features = torch.cat([a, b, context, a * b], dim=-1)
        return self.out(self.dropout(torch.tanh(self.dense(self.dropout(features)))))


class MentionHead(nn.Module):
    """Tags each token of an unmarked sentence O, B-ACTOR or I-ACTOR from the shared encoder's hidden states."""

    def __init__(self, hidden: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, len(MENTION_LABELS))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(hidden))


class PairStanceModel(nn.Module):
    """An encoder and a `PairHead`: logits for every pair of a batch of windows (`collate_windows`'s batch).

    With a `MentionHead` (`mentions`) the encoder is also the mention finder (`tag`, `MentionTagger`);
    `mention_max_length` is the tokens per sentence it tags, as `task=mentions`' `max_length`.
    """

    def __init__(
        self,
        encoder: PreTrainedModel,
        head: PairHead | None = None,
        mentions: MentionHead | None = None,
        mention_max_length: int = 128,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head or PairHead(int(encoder.config.hidden_size))
        self.mentions = mentions
        self.mention_max_length = mention_max_length
        self.config = encoder.config  # id2label, label2id and the input format live here, as for the cross-encoder

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        entity_index: torch.Tensor,
        entity_mask: torch.Tensor,
        pair_actor: torch.Tensor,
        pair_target: torch.Tensor,
        pair_window: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> SequenceClassifierOutput:
        extra = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
        logits = self.head(hidden, attention_mask, entity_index, entity_mask, pair_actor, pair_target, pair_window)
        return SequenceClassifierOutput(logits=logits)

    def tag(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """BIO logits (sentences × tokens × 3) of unmarked sentences, from the mention head."""
        if self.mentions is None:
            raise StanceError("this pair model has no mention head (train it with model.mention_head=true)")
        extra = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
        return self.mentions(hidden)

    def save_pretrained(self, path: str | Path, safe_serialization: bool = True, **kwargs: Any) -> None:
        """The encoder as `transformers` saves it, the pair head in `pair_head.safetensors`, the mention head beside."""
        self.encoder.save_pretrained(str(path), safe_serialization=True, **kwargs)
        save_file(_tensors(self.head), str(Path(path) / HEAD_FILE), metadata=HEAD_FORMAT)
        if self.mentions is not None:
            meta = {**MENTION_HEAD_FORMAT, "max_length": str(self.mention_max_length)}
            save_file(_tensors(self.mentions), str(Path(path) / MENTION_HEAD_FILE), metadata=meta)

    def resize_token_embeddings(self, size: int) -> Any:
        return self.encoder.resize_token_embeddings(size)


def _tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().float().contiguous().cpu() for k, v in module.state_dict().items()}


def load_pair_model(folder: Path) -> PairStanceModel:
    """A pair model folder's encoder and heads; a missing or foreign head file is named."""
    head_file = folder / HEAD_FILE
    if not head_file.is_file():
        raise StanceError(f"{folder} is a pair model (model.head=pairs) but has no {HEAD_FILE}")
    encoder = AutoModel.from_pretrained(str(folder), add_pooling_layer=False)
    hidden = int(encoder.config.hidden_size)
    head = _load_head(PairHead(hidden), head_file, "pair head")
    mention_file = folder / MENTION_HEAD_FILE
    if not mention_file.is_file():
        return PairStanceModel(encoder, head)
    with safe_open(str(mention_file), framework="pt") as f:
        meta = f.metadata() or {}
    expected = dict(MENTION_HEAD_FORMAT)
    if {k: meta.get(k) for k in expected} != expected or not str(meta.get("max_length", "")).isdigit():
        raise StanceError(
            f"{mention_file} is not a mention head this stance reads: its metadata is {meta}, "
            f"expected {expected} and a max_length"
        )
    mentions = _load_head(MentionHead(hidden), mention_file, "mention head")
    return PairStanceModel(encoder, head, mentions, int(meta["max_length"]))


def _load_head(module: nn.Module, path: Path, what: str) -> Any:
    try:
        module.load_state_dict(load_file(str(path)))
    except (RuntimeError, OSError) as exc:
        raise StanceError(f"{path} does not hold this encoder's {what}: {str(exc).splitlines()[0]}") from None
    return module


class MentionTagger(nn.Module):
    """A pair model's encoder and mention head as a token classifier (`.logits`), for `MentionFinder`."""

    def __init__(self, model: PairStanceModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> TokenClassifierOutput:
        return TokenClassifierOutput(logits=self.model.tag(input_ids, attention_mask, token_type_ids))


def collate_windows(
    features: Mapping[str, Sequence[Any]], idx: Sequence[int], pad_token_id: int, device: torch.device
) -> dict[str, torch.Tensor]:
    """Windows `idx` of `encode_windows`' columns as one padded batch, the pairs' indices made batch-wide.

    The one collation of training (`WindowCollator`) and prediction (`WindowScorer`).
    """
    idx = list(idx)
    width = max(len(features["input_ids"][i]) for i in idx)
    ids = np.full((len(idx), width), int(pad_token_id or 0), dtype=np.int64)
    mask = np.zeros((len(idx), width), dtype=np.int64)
    types = np.zeros((len(idx), width), dtype=np.int64) if "token_type_ids" in features else None
    positions: list[list[int]] = []
    actors: list[int] = []
    targets: list[int] = []
    windows: list[int] = []
    labels: list[int] = []
    values: dict[str, list[Any]] = {c: [] for c in PAIR_VALUES if c in features}
    for b, i in enumerate(idx):
        n = len(features["input_ids"][i])
        ids[b, :n] = features["input_ids"][i]
        mask[b, :n] = 1
        if types is not None:
            types[b, :n] = features["token_type_ids"][i]
        base = len(positions)
        positions += [[b * width + p for p in entity] for entity in features["entity_positions"][i]]
        actors += [base + a for a in features["pair_actor"][i]]
        targets += [base + t for t in features["pair_target"][i]]
        windows += [b] * len(features["pair_actor"][i])
        if "labels" in features:
            labels += list(features["labels"][i])
        for column, kept in values.items():
            kept += list(features[column][i])
    most = max(len(p) for p in positions)
    entity_index = np.zeros((len(positions), most), dtype=np.int64)
    entity_mask = np.zeros((len(positions), most), dtype=bool)
    for e, places in enumerate(positions):
        entity_index[e, : len(places)] = places
        entity_mask[e, : len(places)] = True
    batch = {
        "input_ids": ids,
        "attention_mask": mask,
        "entity_index": entity_index,
        "entity_mask": entity_mask,
        "pair_actor": np.asarray(actors, dtype=np.int64),
        "pair_target": np.asarray(targets, dtype=np.int64),
        "pair_window": np.asarray(windows, dtype=np.int64),
    }
    if types is not None:
        batch["token_type_ids"] = types
    if "labels" in features:
        batch["labels"] = np.asarray(labels, dtype=np.int64)
    for column, kept in values.items():
        batch[column] = np.asarray(kept, dtype=np.float32)
    return {key: torch.from_numpy(value).to(device) for key, value in batch.items()}


class WindowCollator:
    """Trainer's collator for window examples (a list of `encode_windows` rows)."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase) -> None:
        self.pad_token_id = int(tokenizer.pad_token_id or 0)

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        keys = [k for k in features[0] if k in ("input_ids", "token_type_ids", "labels", *WINDOW_COLUMNS, *PAIR_VALUES)]
        columns = {k: [f[k] for f in features] for k in keys}
        return collate_windows(columns, range(len(features)), self.pad_token_id, torch.device("cpu"))


class WindowScorer:
    """A pair model ready to score the pair finder's rows at one precision, a window per sentence.

    The counterpart of `stance.inference.Scorer` for `model.head=pairs`: `batch_size` windows go
    through the encoder at a time, in batches of similar length. `auto` is settled without measuring
    (`stance.inference.fixed_precision`).
    """

    def __init__(
        self,
        model: PairStanceModel,
        device: torch.device,
        tokenizer: PreTrainedTokenizerBase,
        encoding: EncodingConfig,
        precision: str = "fp32",
        batch_size: int = 32,
    ) -> None:
        self.requested = check_precision(precision, device)
        self.precision = fixed_precision(precision, device)
        self.device, self.tokenizer, self.encoding, self.batch_size = device, tokenizer, encoding, batch_size
        self.check: dict[str, Any] = {}
        inplace = self.precision in ("int8", "bf16")
        runner = runner_at(model, self.precision, device, inplace) if self.precision != "fp32" else model
        self._runners = {self.precision: runner}
        if not (inplace and device.type == "cpu"):
            self._runners["fp32"] = model

    @property
    def runners(self) -> dict[str, torch.nn.Module]:
        return self._runners

    @torch.inference_mode()
    def score_rows(self, rows: Mapping[str, Sequence[Any]], show_progress: bool = False) -> torch.Tensor:
        """Probabilities (rows × 3, in `STANCES` order) of the rows' pairs, in the rows' order."""
        n = len(rows["actor"])
        out = torch.empty((n, len(STANCES)))
        if n == 0:
            return out
        features = encode_windows(rows, self.tokenizer, self.encoding)
        runner = self._runners[self.precision]
        batches = length_batches([len(ids) for ids in features["input_ids"]], self.batch_size)
        if show_progress:
            batches = progress(batches, desc="scoring windows", unit="batch")
        pad = int(self.tokenizer.pad_token_id or 0)
        for idx in batches:
            batch = collate_windows(features, idx.tolist(), pad, self.device)
            if self.precision in ("bf16", "fp16") and self.device.type == "cuda":
                dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
                with torch.autocast(device_type="cuda", dtype=dtype):
                    logits = runner(**batch).logits.float()
            else:
                logits = runner(**batch).logits.float()
            where = [k for i in idx for k in features["row_index"][i]]
            out[torch.as_tensor(where)] = torch.softmax(logits, dim=-1).cpu()
        return out
