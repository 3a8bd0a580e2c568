"""The types every reader returns and every later step consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

STANCES: tuple[str, ...] = ("support", "oppose", "neutral")
SPLITS: tuple[str, ...] = ("train", "validation", "test")


@dataclass(frozen=True)
class StanceLabel:
    """The stance of `actor` toward `target` expressed in sentence `sentence` of an article."""

    sentence: int
    actor: str
    target: str
    stance: str


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
    wins over the first gazetteer match.
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
