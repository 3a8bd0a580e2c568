"""The dataset builder: labelled articles → stance examples in a `datasets.DatasetDict`."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value, concatenate_datasets
from omegaconf import OmegaConf

from stance.actors.gazetteer import Gazetteer, load_gazetteer
from stance.actors.pairs import NO_SPAN, article_gazetteer, article_mentions, co_mentioned_pairs, pair_examples
from stance.encoding import checked_context_pairs
from stance.errors import Problem, StanceError, write_problems
from stance.paths import resolve_path
from stance.progress import progress
from stance.readers import read_articles
from stance.schema import SOURCE_SPLITS, SPLITS, STANCES, Article
from stance.settings import data_config

log = logging.getLogger(__name__)

FEATURES = Features(
    {
        "id": Value("string"),
        "article_id": Value("string"),
        "sentence_index": Value("int32"),
        "text": Value("string"),
        "context": Value("string"),
        "actor": Value("string"),
        "target": Value("string"),
        "actor_start": Value("int32"),
        "actor_end": Value("int32"),
        "target_start": Value("int32"),
        "target_end": Value("int32"),
        "label": ClassLabel(names=list(STANCES)),
        "origin": Value("string"),
        "group": Value("string"),
        "corpus": Value("string"),
    }
)
UNLABELLED = "unlabelled"  # the co-mention pairs of train articles that the neutral cap left out


@dataclass(frozen=True)
class BuildOptions:
    """How examples are formed from labelled articles."""

    context_sentences: int = 2
    context_pairs: int = 0  # found pairs only: sentences back a paired actor may be named (sentence_pairs)
    neutral_pairs: bool = True
    max_neutral_fraction: float = 0.5
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 42
    balance_spans: bool = False
    dev_fraction: float = 0.0
    corpus: str = ""
    keep_capped: bool = False


def _unit_hash(key: str) -> float:
    """A number in [0, 1) fixed by `key` alone: splits made from it never move when other items are added."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


def assign_split(article_id: str, fractions: Sequence[float], seed: int) -> str:
    """A split for an article that has none: a stable hash of (seed, id), so adding articles moves no others."""
    u = _unit_hash(f"{seed}:{article_id}")
    total = sum(fractions)
    cumulative = 0.0
    for name, fraction in zip(SOURCE_SPLITS, fractions, strict=True):
        cumulative += fraction / total
        if u < cumulative:
            return name
    return SOURCE_SPLITS[-1]


def in_dev(group: str, fraction: float) -> bool:
    """Whether a training group (story, sentence or article) belongs to the development split.

    Fixed by a hash of the group id alone (no seed): every run, seed and recipe
    variant is chosen on the same dev groups, and a group is never split.
    """
    return fraction > 0 and _unit_hash(f"dev:{group}") < fraction


def article_group(article: Article) -> str:
    """The unit an article belongs to for splitting and resampling: its `group`, else the article itself."""
    return article.group or article.id


def split_of(article: Article, options: BuildOptions) -> str:
    """The builder's split of an article: its own (or a hashed one), with `dev` carved out of train by group."""
    split = article.split or assign_split(article.id, options.split_fractions, options.seed)
    if split == "train" and in_dev(article_group(article), options.dev_fraction):
        return "dev"
    return split


def article_examples(article: Article, gazetteer: Gazetteer, options: BuildOptions) -> list[dict[str, Any]]:
    """All examples of one article: its labels, plus co-mentioned unlabelled pairs as neutral."""
    by_sentence: dict[int, dict[tuple[str, str], str]] = {}
    for label in article.labels:
        by_sentence.setdefault(label.sentence, {})[(label.actor, label.target)] = label.stance
    mentions, _ = article_mentions(article, article_gazetteer(article, gazetteer))
    rows: list[dict[str, Any]] = []
    indices = sorted(set(by_sentence) | (set(range(len(article.sentences))) if options.neutral_pairs else set()))
    for i in indices:
        labelled = by_sentence.get(i, {})
        unlabelled = []
        if options.neutral_pairs:
            unlabelled = [p for p in co_mentioned_pairs(mentions[i]) if p not in labelled]
        examples = pair_examples(
            article.id, article.sentences, i, mentions[i], [*labelled, *unlabelled], options.context_sentences
        )
        for row, pair in zip(examples, [*labelled, *unlabelled], strict=True):
            annotated = pair in labelled
            row["label"] = STANCES.index(labelled[pair] if annotated else "neutral")
            row["origin"] = "annotated" if annotated else "co-mention"
            row["corpus"] = options.corpus
        rows.extend(examples)
    return rows


def split_capped(
    rows: list[dict[str, Any]], max_fraction: float, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Co-mention neutrals capped at `max_fraction` of the rows (sampled with a fixed seed), and those left out.

    Distillation lets a teacher label the ones left out.
    """
    auto = [r for r in rows if r["origin"] == "co-mention"]
    kept = [r for r in rows if r["origin"] != "co-mention"]
    if not auto or max_fraction >= 1:
        return rows, []
    allowed = int(max_fraction / (1 - max_fraction) * len(kept)) if max_fraction > 0 else 0
    if len(auto) <= allowed:
        return rows, []
    chosen = set(id(r) for r in random.Random(seed).sample(auto, allowed))
    return (
        [r for r in rows if r["origin"] != "co-mention" or id(r) in chosen],
        [r for r in auto if id(r) not in chosen],
    )


def balance_span_presence(rows: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """Make "are the mentions marked?" carry no information about the label.

    Co-mention neutrals always have both mentions found (that is how they are
    made), while annotated pairs often name the actor only in the context ("He
    accused ..."). Left alone, a model learns "both marked → neutral" and then
    calls every pair at prediction time, where both are always marked, neutral.
    Each co-mention neutral gets the marked/unmarked pattern of a random
    annotated example instead (unmarking drops only the span, not the text).
    """
    patterns = [(r["actor_start"] != NO_SPAN, r["target_start"] != NO_SPAN) for r in rows if r["origin"] == "annotated"]
    if not patterns:
        return rows
    rng = random.Random(seed)
    for row in rows:
        if row["origin"] == "co-mention":
            keep_actor, keep_target = rng.choice(patterns)
            if not keep_actor:
                row["actor_start"] = row["actor_end"] = NO_SPAN
            if not keep_target:
                row["target_start"] = row["target_end"] = NO_SPAN
    return rows


def build_dataset(articles: Sequence[Article], gazetteer: Gazetteer, options: BuildOptions) -> DatasetDict:
    """Turn labelled articles into a DatasetDict (train, dev, validation, test), never splitting a group.

    `dev` is `options.dev_fraction` of the training groups. Only `train` is
    reshaped (co-mention neutrals capped, optionally span-balanced): every
    evaluation split keeps all its pairs, as prediction meets them. With
    `options.keep_capped`, the co-mention pairs the cap left out come back as
    an extra split, `unlabelled` (what distillation lets a teacher label).
    Every example carries `options.corpus` as its corpus tag.
    """
    rows_by_split: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    for article in progress(articles, desc="building examples", unit="article"):
        split = split_of(article, options)
        group = article_group(article)
        rows = article_examples(article, gazetteer, options)
        for row in rows:
            row["group"] = group
        rows_by_split[split].extend(rows)
    splits = {}
    for name, rows in list(rows_by_split.items()):
        if name == "train":
            rows, left_out = split_capped(rows, options.max_neutral_fraction, options.seed)
            if options.balance_spans:
                rows = balance_span_presence(rows, options.seed)
            if options.keep_capped:
                splits[UNLABELLED] = Dataset.from_list(left_out, features=FEATURES) if left_out else empty_split()
        splits[name] = Dataset.from_list(rows, features=FEATURES) if rows else empty_split()
    return DatasetDict({name: splits[name] for name in (*SPLITS, UNLABELLED) if name in splits})


def empty_split() -> Dataset:
    """A split with no rows but the full schema (an article set may leave a split empty)."""
    return Dataset(pa.Table.from_pylist([], schema=FEATURES.arrow_schema))


def label_table(dataset: DatasetDict) -> dict[str, dict[str, int]]:
    """Examples per split and label, plus per-split totals and articles (and per corpus, for a mix)."""
    table: dict[str, dict[str, int]] = {}
    for split, ds in dataset.items():
        table[split] = _count_row(ds["label"], ds["article_id"])
        corpora = ds["corpus"] if "corpus" in ds.column_names else []
        names = sorted(set(corpora))
        if len(names) > 1:
            labels, articles = ds["label"], ds["article_id"]
            for name in names:
                mine = [i for i, c in enumerate(corpora) if c == name]
                table[f"{split}:{name}"] = _count_row([labels[i] for i in mine], [articles[i] for i in mine])
    return table


def _count_row(labels: Sequence[int], article_ids: Sequence[str]) -> dict[str, int]:
    counts = Counter(labels)
    row = {name: counts.get(i, 0) for i, name in enumerate(STANCES)}
    row["total"] = len(labels)
    row["articles"] = len(set(article_ids))
    return row


def format_table(table: dict[str, dict[str, int]]) -> str:
    """A plain-text table of `label_table`'s counts."""
    columns = [*STANCES, "total", "articles"]
    header = f"{'split':<12}" + "".join(f"{c:>10}" for c in columns)
    lines = [header, "-" * len(header)]
    for split, row in table.items():
        lines.append(f"{split:<12}" + "".join(f"{row[c]:>10}" for c in columns))
    return "\n".join(lines)


def save_dataset(dataset: DatasetDict, output_dir: str | Path) -> dict[str, dict[str, int]]:
    """Write the DatasetDict and its `stats.json` table to `output_dir`; return the table."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    # One shard per split: datasets cannot reload an empty split saved with zero shards.
    dataset.save_to_disk(str(output_dir), num_shards={name: 1 for name in dataset})
    table = label_table(dataset)
    (output_dir / "stats.json").write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
    return table


def build_options(data_cfg: Any, seed: int, keep_capped: bool = False) -> BuildOptions:
    """BuildOptions from a `data/` config (one corpus; a mix builds each of its parts with its own)."""
    context_pairs = checked_context_pairs(
        data_cfg.get("context_pairs", 0), data_cfg.context_sentences, "data.context_pairs", "data.context_sentences"
    )
    return BuildOptions(
        context_sentences=int(data_cfg.context_sentences),
        context_pairs=context_pairs,
        neutral_pairs=bool(data_cfg.neutral_pairs),
        max_neutral_fraction=float(data_cfg.max_neutral_fraction),
        split_fractions=tuple(float(f) for f in data_cfg.split_fractions),  # type: ignore[arg-type]
        seed=seed,
        balance_spans=bool(data_cfg.get("balance_spans", False)),
        dev_fraction=float(data_cfg.get("dev_fraction", 0.0)),
        corpus=str(data_cfg.name),
        keep_capped=keep_capped,
    )


def mix_parts(data_cfg: Any) -> dict[str, Any]:
    """The corpora of a `format: mix` config, each a full `data/` config with the mix's context window.

    Every part is encoded by one model, so the context window is the mix's
    (`data.context_sentences`), whatever the part's own file says.
    """
    parts = data_cfg.get("parts") or {}
    if not parts:
        raise StanceError(f"data={data_cfg.name} (format mix) names no parts: set data.parts.<corpus>")
    out = {}
    for name, part in parts.items():
        if part.get("format") == "mix":
            raise StanceError(f"data.parts.{name}: a mix cannot contain another mix")
        # One model encodes every part, so the mix's context window holds; `data.pairs` set on the mix holds too
        # (left unset, each part keeps its own).
        shared = {
            "name": str(name),
            "context_sentences": int(data_cfg.context_sentences),
            "context_pairs": int(data_cfg.get("context_pairs", 0)),
        }
        if data_cfg.get("pairs") is not None:
            shared["pairs"] = str(data_cfg.pairs)
        out[str(name)] = OmegaConf.merge(data_config(part, f"data.parts.{name}"), shared)
    return out


def sampling_weights(data_cfg: Any) -> dict[str, float]:
    """Per-corpus sampling weights of a mix (`data.parts.<corpus>.weight`, default 1); {} for one corpus.

    A weight is how many times per epoch, on average, a training example of
    that corpus is drawn: 0.5 draws half of them (a fresh half each epoch), 2 each twice.
    """
    if data_cfg.get("format") != "mix":
        return {}
    weights = {}
    for name, part in mix_parts(data_cfg).items():
        weight = float(part.get("weight", 1.0))
        if weight < 0:
            raise StanceError(f"data.parts.{name}.weight={weight} must be at least 0")
        weights[name] = weight
    return weights


def concatenate_splits(parts: Sequence[DatasetDict]) -> DatasetDict:
    """One DatasetDict from several with the same schema, split by split, in the parts' order."""
    names = [n for n in (*SPLITS, UNLABELLED) if any(n in p for p in parts)]
    return DatasetDict({n: concatenate_datasets([p[n] for p in parts if n in p]) for n in names})


def training_gazetteer(cfg: Any, data_cfg: Any = None) -> str:
    """The gazetteer examples are built with: `gazetteer=` when given, else the data's (or a mix part's)."""
    return str(cfg.get("gazetteer") or (data_cfg if data_cfg is not None else cfg.data).gazetteer)


def _labelled(articles: Sequence[Article], gazetteer: Gazetteer, options: BuildOptions, _: Any) -> DatasetDict:
    return build_dataset(articles, gazetteer, options)


def dataset_from_config(
    cfg: Any,
    skipped: list[Problem] | None = None,
    keep_capped: bool = False,
    builder: Callable[[Sequence[Article], Gazetteer, BuildOptions, Any], DatasetDict] = _labelled,
) -> DatasetDict:
    """Read the configured data and build its DatasetDict in memory (malformed external records into `skipped`).

    `data.format=mix` builds each corpus of `data.parts` with its own options
    and joins them; each example's `corpus` column says where it came from.
    `builder(articles, gazetteer, options, data_cfg)` builds one corpus: the
    labelled pairs by default; `stance.dataset.found.training_builder` for `data.pairs=found`.
    """
    seed = int(cfg.seed)
    if cfg.data.get("format") == "mix":
        built = []
        for name, part in mix_parts(cfg.data).items():
            gazetteer = load_gazetteer(training_gazetteer(cfg, part))
            articles = read_articles(part, gazetteer, skipped)
            log.info("read %d articles (%s, part of %s)", len(articles), name, cfg.data.name)
            built.append(builder(articles, gazetteer, build_options(part, seed, keep_capped), part))
        return concatenate_splits(built)
    gazetteer = load_gazetteer(training_gazetteer(cfg))
    articles = read_articles(cfg.data, gazetteer, skipped)
    log.info("read %d articles (%s)", len(articles), cfg.data.name)
    return builder(articles, gazetteer, build_options(cfg.data, seed, keep_capped), cfg.data)


def build_from_config(
    cfg: Any, builder: Callable[[Sequence[Article], Gazetteer, BuildOptions, Any], DatasetDict] = _labelled
) -> dict[str, dict[str, int]]:
    """stance-build: build the dataset, save it with its stats table, print the table.

    Malformed records of an external corpus that were skipped are listed in
    `skipped.jsonl` beside the dataset, one problem per line.
    """
    skipped: list[Problem] = []
    dataset = dataset_from_config(cfg, skipped, builder=builder)
    output_dir = resolve_path(cfg.output_dir)
    table = save_dataset(dataset, output_dir)
    write_problems(skipped, output_dir / "skipped.jsonl")
    print(format_table(table))
    if skipped:
        print(f"{len(skipped)} malformed records skipped, listed in {output_dir / 'skipped.jsonl'}")
    print(f"dataset written to {output_dir} (table in {output_dir / 'stats.json'})")
    return table
