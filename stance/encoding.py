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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from transformers import PreTrainedTokenizerBase

from stance.errors import StanceError

ENCODING_VERSION = 1
# The model heads and the input format version each reads: `cross` scores one (actor, target) input at a
# time (this module's format); `pairs` reads a window per sentence and scores all its pairs (stance.windows).
HEAD_VERSIONS = {"cross": ENCODING_VERSION, "pairs": 2}
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
    # How many sentences back a paired actor may be named (stance.actors.pairs.sentence_pairs): a pairing
    # the model was trained on, so prediction pairs the same way. It does not change the encoding itself.
    context_pairs: int = 0
    head: str = "cross"  # which input format and model head (HEAD_VERSIONS)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> EncodingConfig:
        return cls(**{f.name: raw[f.name] for f in fields(cls) if f.name in raw})


def checked_context_pairs(context_pairs: int, context_sentences: int, key: str, window: str) -> int:
    """`context_pairs` when it lies in 0..`context_sentences` (the model must see where a paired actor is
    named); else an error naming the config `key` and the `window` it is bounded by."""
    if not 0 <= int(context_pairs) <= int(context_sentences):
        raise StanceError(
            f"{key}={context_pairs}: must be between 0 and {window} ({context_sentences}), "
            "so the model sees the sentence that names the paired actor"
        )
    return int(context_pairs)


def add_marker_tokens(tokenizer: PreTrainedTokenizerBase) -> int:
    """Add the marker tokens to the tokenizer as special tokens; returns how many were new."""
    return tokenizer.add_tokens(list(MARKERS), special_tokens=True)


def mark(text: str, actor_span: tuple[int, int] | None, target_span: tuple[int, int] | None) -> str:
    """The sentence with [ACTOR]/[TARGET] markers around the given character spans."""
    brackets = {"actor": (ACTOR_OPEN, ACTOR_CLOSE), "target": (TARGET_OPEN, TARGET_CLOSE)}
    return splice_mentions(
        text, actor_span, target_span, lambda role, m: f"{brackets[role][0]} {m} {brackets[role][1]}"
    )[0]


def splice_mentions(
    text: str,
    actor_span: tuple[int, int] | None,
    target_span: tuple[int, int] | None,
    replace: Callable[[str, str], str],
) -> tuple[str, set[str]]:
    """`text` with each known mention replaced by `replace(role, mention)`, and the roles replaced.

    Roles are "actor" and "target"; of two overlapping mentions only the first is replaced.
    """
    spans = [(span, role) for span, role in ((actor_span, "actor"), (target_span, "target")) if span is not None]
    spans.sort(key=lambda s: s[0])
    if len(spans) == 2 and spans[0][0][1] > spans[1][0][0]:
        spans = spans[:1]
    out, pos = [], 0
    for (start, end), role in spans:
        out += [text[pos:start], replace(role, text[start:end])]
        pos = end
    out.append(text[pos:])
    return "".join(out), {role for _, role in spans}


def span_of(row: Mapping[str, Any], role: str) -> tuple[int, int] | None:
    """The character span of the `role` ("actor" or "target") mention of an example, or None when unknown."""
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
    """The text pair (header, body) of each example, cut to fit: what `encode_batch` tokenizes."""
    heads, bodies, _ = _format(rows, tokenizer, config)
    return heads, bodies


def _format(
    rows: Mapping[str, Sequence[Any]], tokenizer: PreTrainedTokenizerBase, config: EncodingConfig
) -> tuple[list[str], list[str], list[tuple[list[int], list[int]] | None]]:
    """`format_inputs`, plus the token ids of (header, body) where the body was not cut.

    The fitting needs token counts, so the header, marked sentence and context
    are tokenized here; texts that repeat across examples (the context of a
    sentence is shared by all its pairs, a header by every sentence naming the
    same pair) are tokenized once. When nothing was cut, the body's ids are
    the context's, [SENT] and the sentence's, so they need no second pass.
    """
    n = len(rows["actor"])
    heads = [header(rows["actor"][k], rows["target"][k]) for k in range(n)]
    if config.markers:
        marked = [
            mark(
                rows["text"][k],
                span_of({f: rows[f][k] for f in ("actor_start", "actor_end") if f in rows}, "actor"),
                span_of({f: rows[f][k] for f in ("target_start", "target_end") if f in rows}, "target"),
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

    sent_id = tokenizer.convert_tokens_to_ids(SENT)
    bodies: list[str] = []
    pieces: list[tuple[list[int], list[int]] | None] = []
    for k in range(n):
        head_ids = head_enc["input_ids"][head_of[k]]
        budget = config.max_length - special - len(head_ids) - 1 - _SAFETY_MARGIN
        fits = len(sent_enc["input_ids"][k]) <= max(budget, 8)
        sentence = marked[k] if fits else _fit_sentence(marked[k], sent_enc["offset_mapping"][k], max(budget, 8))
        used = min(len(sent_enc["input_ids"][k]), max(budget, 8))
        room = budget - used
        context = ""
        ctx_offsets = ctx_enc["offset_mapping"][ctx_of[k]]
        whole_context = not ctx_offsets
        if room > 0 and ctx_offsets:
            keep = ctx_offsets[-room:]
            context = contexts[k][keep[0][0] :]
            whole_context = len(keep) == len(ctx_offsets)
        bodies.append(f"{context} {SENT} {sentence}".strip())
        if fits and (whole_context or not context):
            ctx_ids = ctx_enc["input_ids"][ctx_of[k]] if context else []
            pieces.append((head_ids, [*ctx_ids, sent_id, *sent_enc["input_ids"][k]]))
        else:
            pieces.append(None)
    return heads, bodies, pieces


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
    heads, bodies, pieces = _format(rows, tokenizer, config)
    if not _bert_pair_template(tokenizer):
        return tokenize_inputs(heads, bodies, tokenizer, config)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    out: dict[str, list[list[int]]] = {"input_ids": [], "token_type_ids": [], "attention_mask": []}
    redo = [
        k for k, piece in enumerate(pieces) if piece is None or len(piece[0]) + len(piece[1]) + 3 > config.max_length
    ]
    redone = tokenize_inputs([heads[k] for k in redo], [bodies[k] for k in redo], tokenizer, config) if redo else {}
    where = {k: i for i, k in enumerate(redo)}
    for k, piece in enumerate(pieces):
        if k in where:
            for key in out:
                out[key].append(redone[key][where[k]])
            continue
        head_ids, body_ids = piece  # type: ignore[misc]
        ids = [cls, *head_ids, sep, *body_ids, sep]
        out["input_ids"].append(ids)
        out["token_type_ids"].append([0] * (len(head_ids) + 2) + [1] * (len(body_ids) + 1))
        out["attention_mask"].append([1] * len(ids))
    return out


def _bert_pair_template(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether pairs are `[CLS] a [SEP] b [SEP]` with segment ids 0/1, so ids can be joined without a tokenizer pass."""
    cached = getattr(tokenizer, "_stance_bert_pairs", None)
    if cached is not None:
        return cached
    a = tokenizer("alpha", add_special_tokens=False)["input_ids"]
    b = tokenizer("beta", add_special_tokens=False)["input_ids"]
    whole = tokenizer("alpha", "beta")
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    ok = (
        cls is not None
        and sep is not None
        and whole["input_ids"] == [cls, *a, sep, *b, sep]
        and whole.get("token_type_ids") == [0] * (len(a) + 2) + [1] * (len(b) + 1)
        and set(whole.keys()) == {"input_ids", "token_type_ids", "attention_mask"}
    )
    tokenizer._stance_bert_pairs = ok
    return ok
