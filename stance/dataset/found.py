"""Training on what the prediction path finds (`data.pairs=found`): train as you predict.

The labelled builder (`stance.dataset.build`) pairs an article's closed entity list
under the corpus's canonical names. A user's pairs come from elsewhere: the
text re-split into sentences, actors from the gazetteer and the mention finder,
merged into the product's own entity names. Here each training article's text
is put through exactly that path (`stance.actors.pairs.find_pairs`, the function
`stance-predict` pairs with), and each pair it finds is labelled from gold with
the matcher that scores the path (`stance.dataset.match.GoldMatcher`):

* a found pair with a gold label keeps it (origin `annotated`), read as the path
  reads it: the path's sentence, context, names and marked mentions;
* a found pair without one is neutral (origin `co-mention`), capped at
  `data.max_neutral_fraction` of train as the labelled builder caps its own;
* a gold pair the path never reaches stays as the labelled builder makes it
  (origin `annotated`), so the model still learns subjects named in an earlier
  sentence.

The `dev` split is what the checkpoint and the neutral/polar decision are
chosen on, so it is what a user gets: every pair the path finds in the dev
articles, uncapped, plus each gold polar pair it misses (origin `missed`),
which selection counts as called neutral whatever the model says.
Validation and test stay labelled (classifier-only figures); the path's
held-out figure is `stance-evaluate pairs=found`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict

from stance.actors.finder import MentionFinder, check_mention_folder, mention_folder_of
from stance.actors.gazetteer import Gazetteer
from stance.actors.pairs import find_pairs
from stance.dataset.build import (
    FEATURES,
    BuildOptions,
    article_examples,
    article_group,
    balance_span_presence,
    build_dataset,
    empty_split,
    mix_parts,
    split_capped,
    split_of,
)
from stance.dataset.match import GoldMatcher, gold_labels, path_articles
from stance.dataset.silver import silver_found
from stance.paths import resolve_path
from stance.progress import progress
from stance.schema import SPLITS, STANCES, Article, PairKey

log = logging.getLogger(__name__)
MISSED = "missed"  # a dev gold polar pair the path never finds: selection counts it as called neutral
PATH_SPLITS = ("train", "dev")  # the splits built from the path's pairs; held-out splits stay labelled
SILVER = "silver"  # finder=silver: the spans a finder is taught stand in for a trained finder's
ARTICLES_PER_CALL = 32  # articles whose sentences go through the finder in one batched call
Builder = Callable[[Sequence[Article], Gazetteer, BuildOptions, Any], DatasetDict]


def mention_finder_folder(path: str | Path) -> Path | None:
    """The finder folder `finder=` names: a finder folder, or a stance model folder that carries one in mentions/.

    None for `finder=silver`, which is no folder.
    """
    if str(path) == SILVER:
        return None
    folder = resolve_path(path)
    inner = mention_folder_of(folder)
    return check_mention_folder(inner if inner is not None else folder)


def load_finder(path: str | Path | None) -> MentionFinder | str | None:
    """The mention finder of `finder=`; `silver` as it is; None without one."""
    if not path:
        return None
    folder = mention_finder_folder(path)
    return MentionFinder.from_pretrained(folder) if folder is not None else SILVER


def found_rows(
    gold: Sequence[Article],
    gazetteer: Gazetteer,
    finder: MentionFinder | str | None,
    options: BuildOptions,
    split: str,
    references: bool = False,
) -> list[dict[str, Any]]:
    """One split's examples from the path's pairs of `gold`, labelled from gold, plus the gold pairs it misses.

    `finder` is a trained finder, `silver` (the gold articles' silver mention spans in its place:
    `stance.dataset.silver.silver_found`) or None (the gazetteer's actors only).
    """
    actors = "both" if finder is not None else "gazetteer"
    labels = gold_labels(gold)
    rows: list[dict[str, Any]] = []
    reached: set[PairKey] = set()
    seen: set[PairKey] = set()
    for start in progress(range(0, len(gold), ARTICLES_PER_CALL), desc=f"finding pairs ({split})", unit="batch"):
        chunk = gold[start : start + ARTICLES_PER_CALL]
        raw = path_articles(chunk)
        matcher = GoldMatcher(chunk, raw, gazetteer)
        spans = [silver_found(g, r.sentences) for g, r in zip(chunk, raw, strict=True)] if finder == SILVER else None
        pairs = find_pairs(
            raw,
            gazetteer,
            options.context_sentences,
            None if finder == SILVER else finder,
            actors,
            references=references,
            context_pairs=options.context_pairs,
            spans=spans,
        )
        for article, found in zip(chunk, pairs, strict=True):
            for row, key in zip(found, matcher.keys(found), strict=True):
                if key is None or key in seen:  # unplaceable, or a gold sentence split in two: the first
                    continue
                seen.add(key)
                stance = labels.get(key)
                if stance is not None:
                    reached.add(key)
                rows.append(_example(row, stance, options.corpus, article_group(article)))
    labelled = replace(options, neutral_pairs=False)
    for article in gold:
        for row in article_examples(article, gazetteer, labelled):
            key = PairKey(article.id, row["sentence_index"], row["actor"], row["target"])
            if key in reached:
                continue
            if split == "dev":
                if STANCES[row["label"]] == "neutral":  # a neutral never found costs the path nothing
                    continue
                row["origin"] = MISSED
            rows.append({**row, "group": article_group(article)})
    return rows


def _example(row: dict[str, Any], stance: str | None, corpus: str, group: str) -> dict[str, Any]:
    """A path row as a training example with the builder's columns."""
    out = {name: row[name] for name in FEATURES if name in row}
    out["label"] = STANCES.index(stance or "neutral")
    out["origin"] = "annotated" if stance is not None else "co-mention"
    out["corpus"] = corpus
    out["group"] = group
    return out


def build_found_dataset(
    articles: Sequence[Article],
    gazetteer: Gazetteer,
    options: BuildOptions,
    finder: MentionFinder | str | None,
    references: bool = False,
) -> DatasetDict:
    """train and dev from the path's pairs (see the module's docstring), validation and test as labelled."""
    by_split: dict[str, list[Article]] = {s: [] for s in SPLITS}
    for article in articles:
        by_split[split_of(article, options)].append(article)
    held_out = [a for s in SPLITS if s not in PATH_SPLITS for a in by_split[s]]
    labelled = build_dataset(held_out, gazetteer, options)
    splits: dict[str, Dataset] = {}
    for name in PATH_SPLITS:
        rows = found_rows(by_split[name], gazetteer, finder, options, name, references)
        if name == "train":
            rows, left_out = split_capped(rows, options.max_neutral_fraction, options.seed)
            if options.balance_spans:
                rows = balance_span_presence(rows, options.seed)
            if options.keep_capped:
                splits["unlabelled"] = Dataset.from_list(left_out, features=FEATURES) if left_out else empty_split()
        splits[name] = Dataset.from_list(rows, features=FEATURES) if rows else empty_split()
        log.info("%s: %d examples from the prediction path's pairs (%d articles)", name, len(rows), len(by_split[name]))
    for name in SPLITS:
        if name not in PATH_SPLITS:
            splits[name] = labelled[name]
    return DatasetDict({name: splits[name] for name in (*SPLITS, "unlabelled") if name in splits})


def uses_found_pairs(data_cfg: Any) -> bool:
    """Whether a data config (or any part of a mix) is built from the path's pairs."""
    if data_cfg.get("format") == "mix":
        return any(uses_found_pairs(part) for part in mix_parts(data_cfg).values())
    return str(data_cfg.get("pairs") or "labelled") == "found"


def training_builder(cfg: Any) -> Builder:
    """The builder `stance-train` and `stance-build` use for each corpus: by its `pairs`, labelled or found.

    The finder (`finder=`) is loaded once, and only when a corpus asks for found pairs.
    """
    loaded: dict[str, MentionFinder | str | None] = {}

    def build(articles: Sequence[Article], gazetteer: Gazetteer, options: BuildOptions, data_cfg: Any) -> DatasetDict:
        if not uses_found_pairs(data_cfg):
            return build_dataset(articles, gazetteer, options)
        if "finder" not in loaded:
            loaded["finder"] = load_finder(cfg.get("finder"))
            if loaded["finder"] is None:
                log.warning("data.pairs=found without finder=: pairing the gazetteer's actors only")
        return build_found_dataset(articles, gazetteer, options, loaded["finder"], bool(cfg.get("references", False)))

    return build
