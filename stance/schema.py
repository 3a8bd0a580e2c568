"""The types every reader returns and every later step consumes."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

STANCES: tuple[str, ...] = ("support", "oppose", "neutral")
# The mention finder's BIO tags (stance.actors.finder), here so that both of its heads read one list.
MENTION_LABELS: tuple[str, ...] = ("O", "B-ACTOR", "I-ACTOR")
# A source's own splits (what a reader or a labelled article may name)...
SOURCE_SPLITS: tuple[str, ...] = ("train", "validation", "test")
# ...and the builder's: `dev` is carved out of train (by group) to choose checkpoints and recipe variants,
# so that `validation` and `test` take no part in model selection.
SPLITS: tuple[str, ...] = ("train", "dev", "validation", "test")


@dataclass(frozen=True)
class StanceLabel:
    """The stance of `actor` toward `target` expressed in sentence `sentence` of an article."""

    sentence: int
    actor: str
    target: str
    stance: str


class PairKey(NamedTuple):
    """Where a stance is stated: (article, sentence index, actor, target). Gold and predictions meet on it."""

    article_id: str
    sentence: int
    actor: str
    target: str


@dataclass
class Article:
    """A news article: metadata, its sentences in order, and any sentence-level stance labels.

    `furniture` keeps page text that is not part of the story (captions, bylines,
    navigation) verbatim, so nothing of the source is lost, but it is never
    labelled or scored. `mentions`, when a reader knows them, maps a sentence
    index to the surface forms of each actor in it (SEESAW names entities
    canonically, not by span). `actors`, when set, closes the article's actor
    list: only those actors are matched. `spans` gives, per sentence index, an
    actor's mention [start, end) when the source marks it (DSE's brackets); it
    wins over the first gazetteer match. `group` is the unit that must not
    straddle splits and that intervals resample (a SEESAW story, a DSE
    sentence); empty means the article itself. `actor_types` gives the
    source's entity types per actor when it has them (SEESAW's People, GPE,
    Topic, …): the mention finder learns only the types that act.
    """

    id: str
    sentences: list[str]
    labels: list[StanceLabel] = field(default_factory=list)
    title: str = ""
    source: str = ""
    date: str = ""
    url: str = ""
    split: str | None = None
    furniture: list[str] = field(default_factory=list)
    origin: str = ""
    actors: list[str] = field(default_factory=list)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    spans: dict[int, dict[str, tuple[int, int]]] = field(default_factory=dict)
    group: str = ""
    actor_types: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class StancePrediction:
    """The predicted stance and the probability of each stance."""

    stance: str
    probabilities: dict[str, float]


@dataclass(frozen=True)
class PairPrediction:
    """One scored (sentence, actor, target) of an article: a row of the output file."""

    article_id: str
    sentence_index: int
    sentence: str
    actor: str
    target: str
    stance: str
    p_support: float
    p_oppose: float
    p_neutral: float
    model: str
    # Where each actor came from (gazetteer, phoenix, found), its CAMEO code at the article's date when it
    # has one, and what it rolls up to at that date (a person to the government they served then).
    actor_source: str = ""
    target_source: str = ""
    actor_code: str = ""
    target_code: str = ""
    actor_affiliation: str = ""
    target_affiliation: str = ""
    # What kind of actor each end is (country, person, organization, alliance, agent, region, other; "" for a
    # span the finder found that no dictionary lists): what a network tool colours nodes by.
    actor_type: str = ""
    target_type: str = ""
    # Where the actor's and the target's mentions are in `sentence` (character offsets, end exclusive; -1 where
    # that end is not marked there, as when it is named in an earlier sentence): what the report highlights.
    actor_start: int = -1
    actor_end: int = -1
    target_start: int = -1
    target_end: int = -1
    # The article's own metadata, when the input has it: what reports group and cite by.
    date: str = ""
    source: str = ""
    url: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def iso_day(date: object) -> str | None:
    """The ISO day (YYYY-MM-DD) an article's date or a dated role's bound stands for; None without a valid one."""
    text = str(date).strip()[:10] if date is not None else ""
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return None


# The columns of a prediction file, in order; the optional ones may be missing in files of older versions.
OUTPUT_FIELDS = [f.name for f in PairPrediction.__dataclass_fields__.values()]
OPTIONAL_FIELDS = (
    "actor_source",
    "target_source",
    "actor_code",
    "target_code",
    "actor_affiliation",
    "target_affiliation",
    "actor_type",
    "target_type",
    "date",
    "source",
    "url",
)
ARTICLE_FIELDS = ("date", "source", "url")
SPAN_FIELDS = (
    "actor_start",
    "actor_end",
    "target_start",
    "target_end",
)  # -1 where unknown; absent in older files  # copied from the article onto each of its rows
