"""The learned mention finder: a token classifier that tags the spans of a sentence that name a political actor.

A gazetteer knows only the actors it lists. The finder takes in the others
("Adam Schiff", "House Republicans", "black Americans", "the CDC") as BIO tags
over the small encoder's tokens, so it runs at the speed of one encoder pass per
sentence.

It is trained (`stance.training.mentions`) on silver labels from what the project already reads
(`stance.dataset.silver.silver_sentences`):

* SEESAW articles: the article's entity list matched to the text with the
  reader's surface forms. Entities typed `Topic`, `Event` or `Others`
  ("filibuster", "mask-wearing", "the Good Friday agreements") are not actors:
  their mentions are taught as outside (`O`), and no other source may tag over
  them. People, Organization, GPE and Religion entities are actors.
* DSE sentences: the two bracketed entities (a sentence that occurs on several
  lines gathers all its brackets).
* the gazetteer: every match, where it does not overlap a span above.

Overlaps are settled longest span first. One function (`encode_mentions`)
turns text into model inputs for training and for prediction alike.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForTokenClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from stance.inference import check_precision, fixed_precision, length_batches, logits_at, pad_batch, runner_at
from stance.model import ModelFolderError, pick_device
from stance.pairhead import MentionTagger, PairStanceModel
from stance.paths import file_sha256, resolve_path
from stance.progress import progress
from stance.schema import MENTION_LABELS

log = logging.getLogger(__name__)

OUTSIDE, BEGIN, INSIDE = 0, 1, 2
IGNORE = -100
MENTIONS_FILE = "mentions.json"
MENTIONS_FORMAT = 1

Span = tuple[int, int]


# -- silver labels ------------------------------------------------------------


def settle(spans: Iterable[Span], blocked: Sequence[Span] = ()) -> list[Span]:
    """Non-overlapping spans, longest first, none overlapping `blocked`; in text order."""
    kept: list[Span] = []
    for span in sorted(set(spans), key=lambda s: (s[0] - s[1], s[0])):
        if span[1] <= span[0] or any(overlaps(span, other) for other in (*kept, *blocked)):
            continue
        kept.append(span)
    return sorted(kept)


def overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


# -- encoding -----------------------------------------------------------------


def encode_mentions(
    texts: Sequence[str],
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
    spans: Sequence[Sequence[Span]] | None = None,
) -> dict[str, list[list[int]]]:
    """Model inputs for sentences (and BIO labels when `spans` are given); the one encoder of train and predict.

    `offset_mapping` is kept so that predicted tags map back to characters.
    """
    enc = tokenizer(
        list(texts), truncation=True, max_length=max_length, return_offsets_mapping=True, return_attention_mask=True
    )
    out: dict[str, list[list[int]]] = {
        "input_ids": enc["input_ids"],
        "attention_mask": enc["attention_mask"],
        "offset_mapping": [[tuple(o) for o in offsets] for offsets in enc["offset_mapping"]],
    }
    if spans is not None:
        out["labels"] = [token_labels(o, s) for o, s in zip(out["offset_mapping"], spans, strict=True)]
    return out


def token_labels(offsets: Sequence[Span], spans: Sequence[Span]) -> list[int]:
    """BIO label ids of each token: B on a span's first token, I inside it, O elsewhere, ignored on specials."""
    labels = []
    ordered = sorted(tuple(s) for s in spans)
    for start, end in offsets:
        if start == end:  # [CLS], [SEP]
            labels.append(IGNORE)
            continue
        label = OUTSIDE
        for s, e in ordered:
            if start >= s and end <= e:
                label = BEGIN if start == s else INSIDE
                break
            if start < s:
                break
        labels.append(label)
    return labels


def decode_spans(offsets: Sequence[Span], label_ids: Sequence[int], text: str = "") -> list[Span]:
    """Character spans from per-token BIO ids (an I after O opens a span), widened to whole words."""
    spans: list[list[int]] = []
    open_span = False
    for (start, end), label in zip(offsets, label_ids, strict=False):
        if start == end:
            open_span = False
            continue
        if label == BEGIN or (label == INSIDE and not open_span):
            spans.append([start, end])
            open_span = True
        elif label == INSIDE:
            spans[-1][1] = end
        else:
            open_span = False
    return [_whole_words(text, s, e) if text else (s, e) for s, e in spans]


def _whole_words(text: str, start: int, end: int) -> Span:
    # A span cut inside a word ("Schiff" tagged from "##iff") takes the whole word.
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return start, end


def span_scores(gold: Sequence[Sequence[Span]], predicted: Sequence[Sequence[Span]]) -> dict[str, float]:
    """Exact-match span precision, recall and F1, and recall of gold spans that a prediction overlaps."""
    tp = n_pred = n_gold = touched = 0
    for g, p in zip(gold, predicted, strict=True):
        gs, ps = {tuple(s) for s in g}, {tuple(s) for s in p}
        tp += len(gs & ps)
        n_pred += len(ps)
        n_gold += len(gs)
        touched += sum(1 for s in gs if any(overlaps(s, t) for t in ps))
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "overlap_recall": touched / n_gold if n_gold else 0.0,
        "gold_spans": n_gold,
        "predicted_spans": n_pred,
    }


# -- the model ----------------------------------------------------------------


class MentionFinder:
    """A trained mention finder: sentences in, actor spans out, in batches of similar length."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        max_length: int,
        device: torch.device,
        batch_size: int = 64,
        precision: str = "fp32",
        name: str = "",
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = device
        self.batch_size = batch_size
        self.name = name
        # The scorer's precisions (stance.inference), `auto` settled without a check against fp32.
        self.precision = fixed_precision(check_precision(precision, device), device)
        self.runner = runner_at(self.model, self.precision, device, inplace=True)
        self.seconds = 0.0  # time spent finding, for the run's report
        self.weights_sha256 = ""  # set when loaded from a folder: names the finder a figure measured

    @classmethod
    def from_pretrained(
        cls, path: str | Path, device: str = "auto", batch_size: int = 64, precision: str = "fp32"
    ) -> MentionFinder:
        """Load a folder written by `stance-train task=mentions`."""
        folder = check_mention_folder(path)
        meta = json.loads((folder / MENTIONS_FILE).read_text(encoding="utf-8"))
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        model = AutoModelForTokenClassification.from_pretrained(str(folder))
        dev = pick_device(device)
        model.to(dev).eval()
        finder = cls(model, tokenizer, int(meta["max_length"]), dev, batch_size, precision, name=folder.name)
        finder.weights_sha256 = file_sha256(folder / "model.safetensors")
        return finder

    @classmethod
    def of_pair_model(
        cls, model: PairStanceModel, tokenizer: PreTrainedTokenizerBase, device: torch.device, **options: Any
    ) -> MentionFinder:
        """The finder a pair model carries in its mention head (`model.mention_head=true`): its encoder, shared.

        `options`: `batch_size`, `precision` and `name`, as for a finder of its own.
        """
        return cls(MentionTagger(model), tokenizer, model.mention_max_length, device, **options)

    @torch.inference_mode()
    def find(self, texts: Sequence[str], show_progress: bool = False) -> list[list[Span]]:
        """The actor spans of each text, in text order."""
        started = time.perf_counter()
        if not texts:
            return []
        enc = encode_mentions(texts, self.tokenizer, self.max_length)
        features = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
        found: list[list[Span]] = [[] for _ in texts]
        batches = length_batches([len(ids) for ids in enc["input_ids"]], self.batch_size)
        pad = self.tokenizer.pad_token_id or 0
        side = self.tokenizer.padding_side
        for batch in progress(batches, desc="finding mentions", unit="batch") if show_progress else batches:
            inputs = pad_batch(features, batch, pad, side, self.device)
            tags = logits_at(self.runner, self.precision, self.device, inputs).argmax(-1).cpu().numpy()
            mask = inputs["attention_mask"].cpu().numpy().astype(bool)
            for row, i in enumerate(batch):
                found[i] = decode_spans(enc["offset_mapping"][i], tags[row][mask[row]].tolist(), texts[i])
        self.seconds += time.perf_counter() - started
        return found


def check_mention_folder(path: str | Path) -> Path:
    """Check that `path` is a finished mention-finder folder; say what is wrong if not."""
    folder = resolve_path(path)
    if not folder.is_dir():
        raise ModelFolderError(f"mention finder {folder} does not exist (train one with stance-train task=mentions)")
    if (folder / ".incomplete").exists():
        raise ModelFolderError(f"mention finder {folder} was not finished (training was interrupted); retrain it")
    for name in (MENTIONS_FILE, "config.json", "model.safetensors"):
        if not (folder / name).exists():
            raise ModelFolderError(f"mention finder {folder} is missing {name}")
    meta = json.loads((folder / MENTIONS_FILE).read_text(encoding="utf-8"))
    if meta.get("format") != MENTIONS_FORMAT or list(meta.get("labels", [])) != list(MENTION_LABELS):
        raise ModelFolderError(f"{folder} is not a mention finder this stance reads ({MENTIONS_FILE} differs)")
    return folder


def mention_folder_of(model_path: str | Path) -> Path | None:
    """The mention finder a stance model names: its `mentions/` subfolder, when there is one."""
    folder = resolve_path(model_path) / "mentions"
    return folder if folder.is_dir() else None


# -- training -------------------------------------------------------------------
