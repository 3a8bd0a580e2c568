"""Model input encoding: the one function that turns (actor, target, sentence, context) into token ids.

Format (version 1), a BERT-style sentence pair:

    [CLS] {actor} toward {target} [SEP] {context} [SENT] {sentence with markers} [SEP]

where the actor's and target's mentions in the sentence, when their spans are
known, are wrapped in the added special tokens [ACTOR] … [/ACTOR] and
[TARGET] … [/TARGET]. When the input is longer than `max_length`, the sentence
is cut around the marked mentions (never through them) and the context keeps
its most recent tokens. Training (`datasets.map`) and prediction call the
same `encode_batch`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from transformers import PreTrainedTokenizerBase

ENCODING_VERSION = 1
ACTOR_OPEN, ACTOR_CLOSE = "[ACTOR]", "[/ACTOR]"
TARGET_OPEN, TARGET_CLOSE = "[TARGET]", "[/TARGET]"
SENT = "[SENT]"
MARKERS = (ACTOR_OPEN, ACTOR_CLOSE, TARGET_OPEN, TARGET_CLOSE, SENT)
ELLIPSIS = " … "
# Room for tokenizer differences between a substring and the whole (word pieces at the cut).
_SAFETY_MARGIN = 4


@dataclass(frozen=True)
class EncodingConfig:
    """What a model needs to encode inputs exactly as it was trained; saved in the model's config."""

    version: int = ENCODING_VERSION
    max_length: int = 256
    context_sentences: int = 2
    markers: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> EncodingConfig:
        return cls(**{k: raw[k] for k in ("version", "max_length", "context_sentences", "markers") if k in raw})


def add_marker_tokens(tokenizer: PreTrainedTokenizerBase) -> int:
    """Add the marker tokens to the tokenizer as special tokens; returns how many were new."""
    return tokenizer.add_tokens(list(MARKERS), special_tokens=True)


def mark(text: str, actor_span: tuple[int, int] | None, target_span: tuple[int, int] | None) -> str:
    """The sentence with [ACTOR]/[TARGET] markers around the given character spans."""
    spans = []
    if actor_span is not None:
        spans.append((actor_span, ACTOR_OPEN, ACTOR_CLOSE))
    if target_span is not None:
        spans.append((target_span, TARGET_OPEN, TARGET_CLOSE))
    spans.sort(key=lambda s: s[0])
    if len(spans) == 2 and spans[0][0][1] > spans[1][0][0]:
        spans = spans[:1]  # overlapping mentions: mark the first only
    out, pos = [], 0
    for (start, end), open_, close in spans:
        out += [text[pos:start], open_, " ", text[start:end], " ", close]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _span(row: Mapping[str, Any], role: str) -> tuple[int, int] | None:
    start, end = row.get(f"{role}_start", -1), row.get(f"{role}_end", -1)
    if start is None or end is None or start < 0 or end <= start:
        return None
    return int(start), int(end)


def _window(offsets: Sequence[tuple[int, int]], lo: int, hi: int, budget: int) -> tuple[int, int]:
    """Token indices [i, j) of at most `budget` tokens, centred on the tokens covering chars [lo, hi)."""
    n = len(offsets)
    first = next((i for i, (s, e) in enumerate(offsets) if e > lo), 0)
    last = next((i for i in range(n - 1, -1, -1) if offsets[i][0] < hi), n - 1)
    spare = max(0, budget - (last - first + 1))
    i = max(0, first - spare // 2)
    j = min(n, i + budget)
    i = max(0, j - budget)
    return i, j


def _fit_sentence(marked: str, offsets: Sequence[tuple[int, int]], budget: int) -> str:
    """Cut the marked sentence to about `budget` tokens, keeping every marker and the mentions inside them."""
    if len(offsets) <= budget:
        return marked
    positions = [marked.find(m) for m in MARKERS[:4] if m in marked]
    if not positions:
        i, j = 0, budget
        return marked[offsets[i][0] : offsets[j - 1][1]]
    ends = [marked.find(m) + len(m) for m in MARKERS[:4] if m in marked]
    lo, hi = min(positions), max(ends)
    i, j = _window(offsets, lo, hi, budget)
    if offsets[i][0] <= lo and offsets[j - 1][1] >= hi:
        return marked[offsets[i][0] : offsets[j - 1][1]]
    # The two mentions are further apart than the window: keep a window around each.
    first_close = marked.find(ACTOR_CLOSE) if marked.find(ACTOR_OPEN) == lo else marked.find(TARGET_CLOSE)
    second_open = max(marked.find(ACTOR_OPEN), marked.find(TARGET_OPEN))
    half = max(1, (budget - 2) // 2)
    a_i, a_j = _window(offsets, lo, first_close + 1, half)
    b_i, b_j = _window(offsets, second_open, hi, half)
    left = marked[offsets[a_i][0] : offsets[a_j - 1][1]]
    right = marked[offsets[b_i][0] : offsets[b_j - 1][1]]
    return left + ELLIPSIS + right


def header(actor: str, target: str) -> str:
    """The first segment: who toward whom."""
    return f"{actor} toward {target}"


def format_inputs(
    rows: Mapping[str, Sequence[Any]], tokenizer: PreTrainedTokenizerBase, config: EncodingConfig
) -> tuple[list[str], list[str]]:
    """The text pair (header, body) of each example, cut to fit: what `encode_batch` tokenizes.

    The fitting needs token counts, so the header, marked sentence and context
    are tokenized here; texts that repeat across examples (the context of a
    sentence is shared by all its pairs, a header by every sentence naming the
    same pair) are tokenized once.
    """
    n = len(rows["actor"])
    heads = [header(rows["actor"][k], rows["target"][k]) for k in range(n)]
    if config.markers:
        marked = [
            mark(
                rows["text"][k],
                _span({f: rows[f][k] for f in ("actor_start", "actor_end") if f in rows}, "actor"),
                _span({f: rows[f][k] for f in ("target_start", "target_end") if f in rows}, "target"),
            )
            for k in range(n)
        ]
    else:
        marked = list(rows["text"])
    contexts = list(rows["context"]) if "context" in rows and config.context_sentences > 0 else [""] * n

    head_of, head_enc = _tokenize_unique(tokenizer, heads, offsets=False)
    sent_enc = tokenizer(marked, add_special_tokens=False, return_offsets_mapping=True)
    ctx_of, ctx_enc = _tokenize_unique(tokenizer, contexts, offsets=True)
    special = tokenizer.num_special_tokens_to_add(pair=True)

    bodies = []
    for k in range(n):
        budget = config.max_length - special - len(head_enc["input_ids"][head_of[k]]) - 1 - _SAFETY_MARGIN
        sentence = _fit_sentence(marked[k], sent_enc["offset_mapping"][k], max(budget, 8))
        used = min(len(sent_enc["input_ids"][k]), max(budget, 8))
        room = budget - used
        context = ""
        ctx_offsets = ctx_enc["offset_mapping"][ctx_of[k]]
        if room > 0 and ctx_offsets:
            keep = ctx_offsets[-room:]
            context = contexts[k][keep[0][0] :]
        bodies.append(f"{context} {SENT} {sentence}".strip())
    return heads, bodies


def _tokenize_unique(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], offsets: bool) -> tuple[list[int], Any]:
    """Tokenize each distinct text once: (index of each text's encoding, the encodings)."""
    unique = list(dict.fromkeys(texts))
    position = {text: i for i, text in enumerate(unique)}
    encoded = tokenizer(unique, add_special_tokens=False, return_offsets_mapping=offsets)
    return [position[text] for text in texts], encoded


def tokenize_inputs(
    heads: Sequence[str], bodies: Sequence[str], tokenizer: PreTrainedTokenizerBase, config: EncodingConfig
) -> dict[str, list[list[int]]]:
    """Token ids of formatted (header, body) pairs: the last step of `encode_batch`."""
    encoded = tokenizer(list(heads), list(bodies), truncation="only_second", max_length=config.max_length)
    return {key: list(value) for key, value in encoded.items()}


def encode_batch(
    rows: Mapping[str, Sequence[Any]], tokenizer: PreTrainedTokenizerBase, config: EncodingConfig
) -> dict[str, list[list[int]]]:
    """Encode a batch of examples (columns as in the builder's dataset) into model inputs.

    Used as `dataset.map(encode_batch, batched=True, fn_kwargs=...)` at train
    time and directly at predict time. Only the model-input columns are returned.
    It is `format_inputs` (the text pairs) followed by `tokenize_inputs`.
    """
    heads, bodies = format_inputs(rows, tokenizer, config)
    return tokenize_inputs(heads, bodies, tokenizer, config)
