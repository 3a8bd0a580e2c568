"""Window encoding for the one-pass pair model (`model.head=pairs`): one input per sentence, every actor marked.

Format (input format version 2), a BERT-style sentence pair:

    [CLS] {context} [SENT] {sentence, each actor mention in [E] … [/E]} [SEP] [E] {name} [/E] [E] {name} [/E] … [SEP]

Every actor that a pair of the sentence names is listed by its name after the
first [SEP], so each actor has a marked place even when it is named only in the
context, or its mention was cut to fit. The model pools an actor's embedding
from the hidden states at its [E] markers and scores each ordered pair from
them (`stance.pairhead`).

The rows are the pair finder's rows (`stance.actors.pairs.pair_examples`), the
same ones the cross-encoder reads: rows of one sentence (same article, index,
text and context) make one window. Training (`encode_window_dataset`) and
prediction (`stance.pairhead.WindowScorer`) call the same `encode_windows`.

With `model.markers=false` the window is the plain text, nothing inserted:

    [CLS] {context} [SENT] {sentence} [SEP]

and an actor is pooled from the hidden states of every token of its mentions in the sentence. Only an
actor the sentence does not mention (a labelled pair's end named in the context) is listed, by its name
unmarked after the [SEP], and pooled from those tokens; one whose mention the cut dropped is read at
[CLS]. On the prediction path every actor has its mention in the sentence, so the window is the plain
text: the input one pass could share between the mention head and the pair head, before any actor is known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from transformers import PreTrainedTokenizerBase

from stance.encoding import SENT, EncodingConfig, span_of

ENTITY_OPEN, ENTITY_CLOSE = "[E]", "[/E]"
ENTITY_MARKERS = (ENTITY_OPEN, ENTITY_CLOSE, SENT)
NAME_TOKENS = 8  # tokens kept of each listed name
NAMES_SHARE = 0.4  # at most this share of the window goes to the list of names
# The columns a window carries besides the token ids (lists per window; `labels` only when the rows have a label).
WINDOW_COLUMNS = ("entity_positions", "pair_actor", "pair_target", "row_index")
# Per-pair values carried through to the batch when the rows have them: a distillation's teacher
# probabilities and has-a-gold-label flag (stance.training.distill).
PAIR_VALUES = ("teacher", "gold")


@dataclass
class Window:
    """One sentence's pairs: its actors (first-seen order), their mention spans, and the rows' pairs."""

    text: str
    context: str
    entities: list[str] = field(default_factory=list)
    spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    pairs: list[tuple[int, int]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)

    def entity(self, name: str) -> int:
        if name not in self.spans:
            self.spans[name] = []
            self.entities.append(name)
        return self.entities.index(name)


def group_windows(rows: Mapping[str, Sequence[Any]], context: bool = True) -> list[Window]:
    """The rows (columns as the builder's) grouped into windows, one per sentence, in first-seen order."""
    n = len(rows["actor"])
    contexts = rows["context"] if context and "context" in rows else [""] * n
    articles = rows.get("article_id") or [""] * n
    indices = rows.get("sentence_index") or [-1] * n
    windows: dict[tuple[Any, ...], Window] = {}
    for k in range(n):
        key = (articles[k], indices[k], rows["text"][k], contexts[k] or "")
        window = windows.setdefault(key, Window(rows["text"][k], contexts[k] or ""))
        ends = []
        for role in ("actor", "target"):
            name = rows[role][k]
            index = window.entity(name)
            span = span_of({f: rows[f][k] for f in (f"{role}_start", f"{role}_end") if f in rows}, role)
            if span is not None and span not in window.spans[name]:
                window.spans[name].append(span)
            ends.append(index)
        window.pairs.append((ends[0], ends[1]))
        window.rows.append(k)
    return list(windows.values())


def _marked_sentence(
    window: Window, ids: Sequence[int], offsets: Sequence[tuple[int, int]], open_id: int, close_id: int
) -> tuple[list[int], list[tuple[int, int]]]:
    """The sentence's token ids with [E] … [/E] around each mention, and (position of its [E], entity)."""
    spans = sorted((s, e, i) for i, name in enumerate(window.entities) for s, e in window.spans[name])
    kept: list[tuple[int, int, int]] = []
    for s, e, i in spans:  # of overlapping mentions, the first is marked
        if not kept or s >= kept[-1][1]:
            kept.append((s, e, i))
    opens: dict[int, list[int]] = {}
    closes: dict[int, int] = {}
    for s, e, i in kept:
        covered = _covered(offsets, s, e)
        if covered:
            opens.setdefault(covered[0], []).append(i)
            closes[covered[-1]] = closes.get(covered[-1], 0) + 1
    out: list[int] = []
    marks: list[tuple[int, int]] = []
    for t, token in enumerate(ids):
        for i in opens.get(t, []):
            marks.append((len(out), i))
            out.append(open_id)
        out.append(token)
        out.extend([close_id] * closes.get(t, 0))
    return out, marks


def _plain_sentence(
    window: Window, ids: Sequence[int], offsets: Sequence[tuple[int, int]]
) -> tuple[list[int], list[tuple[int, int]]]:
    """The sentence's token ids as they are, and (position, entity) for every token of each mention."""
    marks = {
        (t, i) for i, name in enumerate(window.entities) for s, e in window.spans[name] for t in _covered(offsets, s, e)
    }
    return list(ids), sorted(marks)


def _covered(offsets: Sequence[tuple[int, int]], start: int, end: int) -> list[int]:
    """The tokens whose characters overlap [start, end)."""
    return [t for t, (ts, te) in enumerate(offsets) if ts < end and te > start]


def _cut(tokens: list[int], marks: list[tuple[int, int]], budget: int) -> tuple[list[int], list[tuple[int, int]]]:
    """At most `budget` tokens of the marked sentence, around its marks where they fit."""
    if len(tokens) <= budget:
        return tokens, marks
    if marks:
        first, last = marks[0][0], max(p for p, _ in marks) + 1
        spare = budget - (last - first)
        lo = max(0, first - spare // 2) if spare > 0 else first
    else:
        lo = 0
    lo = max(0, min(lo, len(tokens) - budget))
    return tokens[lo : lo + budget], [(p - lo, i) for p, i in marks if lo <= p < lo + budget]


def encode_windows(
    rows: Mapping[str, Sequence[Any]], tokenizer: PreTrainedTokenizerBase, config: EncodingConfig
) -> dict[str, list[Any]]:
    """Model inputs of the rows' windows: token ids, each actor's marker positions, and the pairs to score.

    Columns, one entry per window: `input_ids`, `attention_mask` (and `token_type_ids` when the model takes
    them), `entity_positions` (per actor, the positions of its [E] markers; in a plain window, of its mention's
    tokens), `pair_actor` and `pair_target` (per pair, the indices of its ends among the actors), `row_index`
    (per pair, the row it scores), and
    `labels` (per pair) when the rows have a `label` column, and the rows' `PAIR_VALUES` (per pair).
    """
    windows = group_windows(rows, context=config.context_sentences > 0)
    vocab = tokenizer.get_vocab()
    open_id, close_id, sent_id = (vocab[m] for m in ENTITY_MARKERS)
    cls = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    sep = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    texts = list(dict.fromkeys(w.text for w in windows))
    sentences = dict(zip(texts, _tokenize(tokenizer, texts, offsets=True), strict=True))
    contexts = list(dict.fromkeys(w.context for w in windows if w.context))
    context_ids = dict(zip(contexts, _tokenize(tokenizer, contexts), strict=True))
    names = list(dict.fromkeys(n for w in windows for n in w.entities))
    name_ids = dict(zip(names, _tokenize(tokenizer, names), strict=True))
    typed = "token_type_ids" in tokenizer.model_input_names
    out: dict[str, list[Any]] = {"input_ids": [], "attention_mask": [], **{c: [] for c in WINDOW_COLUMNS}}
    if typed:
        out["token_type_ids"] = []
    labels = rows.get("label")
    if labels is not None:
        out["labels"] = []
    carried = [c for c in PAIR_VALUES if c in rows]
    for column in carried:
        out[column] = []
    names_room = int(config.max_length * NAMES_SHARE)
    for window in windows:
        ids, offsets = sentences[window.text]
        spans = (
            _marked_sentence(window, ids, offsets, open_id, close_id)
            if config.markers
            else _plain_sentence(window, ids, offsets)
        )
        # Marked, every actor is listed by name; plain, only one the sentence does not mention (named
        # in the context, as a labelled pair can be), so a path window, where each actor has its
        # mention, stays the plain text.
        in_sentence = {i for _, i in spans[1]}
        listed: list[int] = []
        name_marks: dict[int, list[int]] = {}
        for i, name in enumerate(window.entities):
            if config.markers:
                piece, pooled = [open_id, *name_ids[name][:NAME_TOKENS], close_id], [0]
            elif i in in_sentence:
                continue
            else:
                piece = name_ids[name][:NAME_TOKENS]
                pooled = list(range(len(piece)))
            if len(listed) + len(piece) > names_room:
                break
            name_marks[i] = [len(listed) + k for k in pooled]
            listed += piece
        tail = [sep, *listed, sep] if listed or config.markers else [sep]
        budget = max(8, config.max_length - 2 - len(tail))  # [CLS] and [SENT] besides
        sentence, marks = _cut(*spans, budget)
        room = budget - len(sentence)
        context = context_ids[window.context][-room:] if room > 0 and window.context else []
        first = [cls, *context, sent_id]
        ids_all = [*first, *sentence, *tail]
        names_at = len(first) + len(sentence) + 1
        positions: list[list[int]] = [[] for _ in window.entities]
        for p, i in marks:
            positions[i].append(len(first) + p)
        for i, places in name_marks.items():
            positions[i].extend(names_at + p for p in places)
        out["input_ids"].append(ids_all)
        out["attention_mask"].append([1] * len(ids_all))
        if typed:
            out["token_type_ids"].append([0] * names_at + [1] * (len(ids_all) - names_at))
        out["entity_positions"].append([p or [0] for p in positions])  # nothing marked: the [CLS] stands in
        out["pair_actor"].append([a for a, _ in window.pairs])
        out["pair_target"].append([t for _, t in window.pairs])
        out["row_index"].append(list(window.rows))
        if labels is not None:
            out["labels"].append([int(labels[k]) for k in window.rows])
        for column in carried:
            out[column].append([rows[column][k] for k in window.rows])
    return out


def _tokenize(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], offsets: bool = False) -> list[Any]:
    """Token ids (with their character offsets when asked) of each text, without special tokens."""
    if not texts:
        return []
    encoded = tokenizer(list(texts), add_special_tokens=False, return_offsets_mapping=offsets)
    if offsets:
        return list(zip(encoded["input_ids"], encoded["offset_mapping"], strict=True))
    return list(encoded["input_ids"])
