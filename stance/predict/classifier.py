"""The library API: `StanceClassifier` scores actor pairs in sentences and articles."""

from __future__ import annotations

import itertools
import logging
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar, overload

import torch

from stance.actors.finder import MentionFinder, mention_folder_of
from stance.actors.gazetteer import Gazetteer, load_gazetteer
from stance.actors.pairs import find_pairs, pair_examples
from stance.actors.resolve import choose_gazetteer, save_model_gazetteer
from stance.decision import ARGMAX, Decision, describe, load_decision, save_decision
from stance.encoding import EncodingConfig, checked_context_pairs, encode_batch
from stance.errors import StanceError
from stance.files import atomic_path
from stance.inference import Scorer, set_threads
from stance.model import STANCE_CONFIG_KEY, load_stance_model, weights_sha256
from stance.pairhead import PairStanceModel, WindowScorer
from stance.paths import resolve_path
from stance.schema import (
    ARTICLE_FIELDS,
    OPTIONAL_FIELDS,
    SPAN_FIELDS,
    STANCES,
    Article,
    PairPrediction,
    StancePrediction,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# Who is paired: listed actors, found mentions, or both; `auto` is `both` when the model has a mention finder.
ACTOR_MODES = ("gazetteer", "found", "both")
FIND_SENTENCES = 256  # sentences per batched call of the mention finder
# What save_pretrained copies from the folder a model was loaded from: how it was trained and measured.
CARRIED_FILES = ("training_config.yaml", "metrics.json", "README.md")


class StanceClassifier:
    """A trained stance model with its tokenizer, input format and gazetteer, ready to score text.

    `precision` (`fp32`, `bf16`, `fp16`, `int8` or `auto`, see `stance.inference`)
    is the numeric path scoring runs at; `threads` sets torch's CPU threads
    (process-wide; None keeps torch's default).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Any,
        encoding: EncodingConfig,
        device: torch.device,
        gazetteer: Gazetteer,
        name: str = "",
        batch_size: int = 32,
        precision: str = "fp32",
        threads: int | None = None,
        mention_finder: MentionFinder | None = None,
        actors: str = "gazetteer",
        decision: Decision = ARGMAX,
        references: bool = False,
    ) -> None:
        set_threads(threads)
        self.decision = decision
        self.references = references  # pair role nouns and pronouns with who they name (stance.actors.coref)
        if actors not in ACTOR_MODES:
            raise StanceError(f"actors={actors!r} is not one of {', '.join(ACTOR_MODES)}")
        if actors != "gazetteer" and mention_finder is None:
            raise StanceError(
                f"actors={actors} needs a mention finder: the model folder has no mentions/ "
                "(train one with stance-train task=mentions mentions.attach_to=<model>), or use actors=gazetteer"
            )
        self.mention_finder = mention_finder if actors != "gazetteer" else None
        self.actors = actors
        self.model = model
        self.tokenizer = tokenizer
        self.encoding = encoding
        self.device = device
        self.gazetteer = gazetteer
        self.name = name
        self.scorer: Scorer | WindowScorer
        if encoding.head == "pairs":  # one pass per sentence window scores all of its pairs
            self.scorer = WindowScorer(model, device, tokenizer, encoding, precision=precision, batch_size=batch_size)
        else:
            self.scorer = Scorer(
                model,
                device,
                pad_token_id=tokenizer.pad_token_id,
                precision=precision,
                batch_size=batch_size,
                padding_side=tokenizer.padding_side,
            )
        self._local_gazetteers: dict[frozenset[str], Gazetteer] = {}
        self.source: Path | None = None  # the folder it was loaded from, whose card and config it saves along
        self.gazetteer_file: str | None = None  # the gazetteer's file, when loaded from one

    @property
    def batch_size(self) -> int:
        return self.scorer.batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self.scorer.batch_size = int(value)

    @property
    def precision(self) -> str:
        """The numeric path in use (`auto` until it has chosen, on the first inputs big enough to check)."""
        return self.scorer.precision

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        device: str = "auto",
        gazetteer: Gazetteer | str | Path | None = None,
        batch_size: int = 32,
        precision: str = "fp32",
        threads: int | None = None,
        actors: str = "gazetteer",
        references: bool = False,
        context_pairs: int | None = None,
    ) -> StanceClassifier:
        """Load a model folder written by `stance-train` (checked before use), to score at `precision`.

        `actors` picks who is paired: `gazetteer` (listed actors only), `found` (the mention finder's spans,
        named by the gazetteer where it knows them), `both`, or `auto` (`both` when the model folder has a
        mention finder in `mentions/`, else `gazetteer`). `context_pairs` (None: as trained) is how many
        sentences back a paired actor may be named (`stance.actors.pairs.sentence_pairs`).
        """
        set_threads(threads)
        model, tokenizer, encoding, dev = load_stance_model(path, device)
        if context_pairs is not None:
            k = checked_context_pairs(
                context_pairs, encoding.context_sentences, "context_pairs", "the model's context window"
            )
            encoding = replace(encoding, context_pairs=k)
        gazetteer_file = None
        if not isinstance(gazetteer, Gazetteer):
            gazetteer_file = str(gazetteer or choose_gazetteer(None, path))
            gazetteer = load_gazetteer(gazetteer_file)
        finder = None
        finder_dir = mention_folder_of(path)
        # A mention head on the model's own encoder is its finder, before any mentions/ folder.
        own = isinstance(model, PairStanceModel) and model.mentions is not None
        if actors == "auto":
            actors = "both" if finder_dir is not None or own else "gazetteer"
            if actors == "gazetteer":
                log.warning("%s has no mention finder (mentions/): pairing gazetteer actors only", Path(path).name)
        if actors != "gazetteer" and own:
            finder = MentionFinder.of_pair_model(
                model,
                tokenizer,
                dev,
                batch_size=max(batch_size, 64),
                precision=precision,
                name=f"{Path(path).name} (its mention head)",
            )
            finder.weights_sha256 = weights_sha256(path)
        elif actors != "gazetteer" and finder_dir is not None:
            finder = MentionFinder.from_pretrained(
                finder_dir, device=str(dev), batch_size=max(batch_size, 64), precision=precision
            )
        classifier = cls(
            model,
            tokenizer,
            encoding,
            dev,
            gazetteer,
            name=Path(path).name,
            batch_size=batch_size,
            precision=precision,
            mention_finder=finder,
            actors=actors,
            decision=load_decision(resolve_path(path)),
            references=references,
        )
        classifier.source = resolve_path(path)
        classifier.gazetteer_file = gazetteer_file
        return classifier

    def save_pretrained(self, path: str | Path) -> Path:
        """Write a model folder that `from_pretrained` loads back, atomically; returns it.

        It holds the weights, the tokenizer with its marker tokens and the input
        format (in `config.json`), the neutral/polar decision, a snapshot of the
        gazetteer in use, the mention finder, and the training config, metrics
        and card of the folder it was loaded from.
        """
        if "fp32" not in self.scorer.runners:
            raise StanceError(
                f"{self.name}: loaded at precision={self.scorer.requested}, its fp32 weights were converted; "
                "load it at precision=fp32 to save it"
            )
        target = resolve_path(path)
        with atomic_path(target) as staging:
            staging.mkdir(parents=True, exist_ok=True)
            setattr(self.model.config, STANCE_CONFIG_KEY, self.encoding.to_dict())  # as this classifier reads
            self.model.save_pretrained(str(staging), safe_serialization=True)
            self.tokenizer.save_pretrained(str(staging))
            if self.decision.neutral_threshold is not None or self.decision.fitted_on:
                save_decision(staging, describe(self.decision))
            if self.gazetteer_file is not None:
                save_model_gazetteer(staging, self.gazetteer_file)
            else:
                log.warning("%s: the gazetteer was given as an object, so the folder carries none", self.name)
            finder = mention_folder_of(self.source) if self.source is not None else None
            if self.mention_finder is not None and finder is not None:
                shutil.copytree(finder, staging / "mentions")
            for name in CARRIED_FILES:
                if self.source is not None and (self.source / name).is_file():
                    shutil.copy2(self.source / name, staging / name)
        return target

    # -- scoring -------------------------------------------------------------

    def encode(self, rows: Sequence[dict[str, Any]]) -> dict[str, list[list[int]]]:
        """Model inputs of examples shaped like the builder's rows: one `encode_batch` call for all of them."""
        return encode_batch(_columns(rows), self.tokenizer, self.encoding)

    def predict_proba(self, rows: Sequence[dict[str, Any]], show_progress: bool = False) -> torch.Tensor:
        """Probabilities (n × 3, in `STANCES` order) for examples shaped like the builder's rows.

        All rows are encoded at once, then scored in batches of similar length
        (little padding); the result is in the rows' order.
        """
        if len(rows) == 0:
            return torch.empty((0, len(STANCES)))
        if isinstance(self.scorer, WindowScorer):
            return self.scorer.score_rows(_columns(rows), show_progress=show_progress)
        return self.scorer.score(self.encode(rows), show_progress=show_progress)

    def _row(self, text: str, actor: str, target: str, context: str) -> dict[str, Any]:
        # A name the gazetteer does not know is looked for verbatim; an unfound mention is left unmarked.
        unknown = frozenset(name for name in (actor, target) if name not in self.gazetteer)
        local = self._local_gazetteers.get(unknown)
        if local is None:
            local = self.gazetteer.with_aliases({name: [name] for name in unknown}) if unknown else self.gazetteer
            if len(self._local_gazetteers) < 256:  # each is a compiled pattern: keep a bounded few
                self._local_gazetteers[unknown] = local
        row = pair_examples("", [text], 0, local.find(text), [(actor, target)], 0)[0]
        row["context"] = context
        return row

    @overload
    def predict(self, item: str, actor: str, target: str, context: str = "") -> StancePrediction: ...
    @overload
    def predict(self, item: Sequence[tuple[str, ...]]) -> list[StancePrediction]: ...
    @overload
    def predict(self, item: Article) -> list[PairPrediction]: ...
    @overload
    def predict(
        self, item: Iterable[Article], *, show_progress: bool = False, chunk_pairs: int = 1024
    ) -> Iterator[PairPrediction]: ...

    def predict(
        self,
        item: Any,
        actor: str | None = None,
        target: str | None = None,
        context: str = "",
        *,
        show_progress: bool = False,
        chunk_pairs: int = 1024,
    ) -> Any:
        """The stance of one pair, of many, or of every pair the path finds in articles.

        - `predict(text, actor, target, context="")`: one `StancePrediction` for
          `actor` toward `target` in one sentence, with optional preceding `context`;
        - `predict([(text, actor, target[, context]), ...])`: a list of them, scored in batches;
        - `predict(article)`: the `PairPrediction` rows of one `Article`, as a list;
        - `predict(articles)`: an iterator of rows over many articles, article by
          article, in order. Articles are gathered until they hold `chunk_pairs`
          pairs and scored together (batches of similar length across articles
          waste less on padding); with a mention finder, `FIND_SENTENCES`
          sentences go through it at a time.
        """
        if isinstance(item, str):
            if actor is None or target is None:
                raise StanceError("predict(text, actor, target): name the actor and the target of the sentence")
            return self._predict_triples([(item, actor, target, context)])[0]
        if isinstance(item, Article):
            return list(self._predict_articles([item], show_progress, chunk_pairs))
        first, items = _peek(item)
        if first is None or isinstance(first, Article):
            return self._predict_articles(items, show_progress, chunk_pairs)
        if isinstance(first, tuple):
            return self._predict_triples(list(items))
        raise StanceError(
            f"predict() takes a sentence with its actor and target, a list of (text, actor, target[, context]) "
            f"tuples, an Article or articles; not {type(first).__name__}"
        )

    def _predict_triples(self, items: Sequence[tuple[str, ...]]) -> list[StancePrediction]:
        rows = []
        for item in items:
            if len(item) not in (3, 4):
                raise StanceError(f"predict(): each item is (text, actor, target[, context]), not {len(item)} values")
            text, a, t, *rest = item
            rows.append(self._row(text, a, t, rest[0] if rest else ""))
        if not rows:
            return []
        probs = self.predict_proba(rows)
        return [_prediction(p, k) for p, k in zip(probs, self.decision.labels(probs.double()).tolist(), strict=True)]

    def pairs_of(self, article: Article) -> list[dict[str, Any]]:
        """Every ordered pair of actors mentioned together in a sentence of `article`, as model inputs."""
        return self.pairs_of_many([article])[0]

    def pairs_of_many(self, articles: Sequence[Article]) -> list[list[dict[str, Any]]]:
        """`pairs_of` for several articles, their sentences put through the mention finder in one batched call."""
        return find_pairs(
            articles,
            self.gazetteer,
            self.encoding.context_sentences,
            self.mention_finder,
            self.actors,
            references=self.references,
            context_pairs=self.encoding.context_pairs,
        )

    def _predict_articles(
        self, articles: Iterable[Article], show_progress: bool = False, chunk_pairs: int = 1024
    ) -> Iterator[PairPrediction]:
        pending: list[tuple[Article, list[dict[str, Any]]]] = []
        n_rows = 0
        for group in sentence_groups(articles, FIND_SENTENCES if self.mention_finder is not None else 1):
            for article, rows in zip(group, self.pairs_of_many(group), strict=True):
                if not rows:
                    continue
                pending.append((article, rows))
                n_rows += len(rows)
                if n_rows >= chunk_pairs:
                    yield from self._score_articles(pending, show_progress)
                    pending, n_rows = [], 0
        if pending:
            yield from self._score_articles(pending, show_progress)

    def _score_articles(
        self, pending: Sequence[tuple[Article, list[dict[str, Any]]]], show_progress: bool
    ) -> Iterator[PairPrediction]:
        rows = [row for _, article_rows in pending for row in article_rows]
        probs = self.predict_proba(rows, show_progress=show_progress and len(rows) > 10 * self.batch_size)
        values = probs.double().tolist()
        labels = self.decision.labels(values).tolist()
        k = 0
        for article, article_rows in pending:
            for row in article_rows:
                p = [round(x, 6) for x in values[k]]
                yield PairPrediction(
                    article_id=article.id,
                    sentence_index=row["sentence_index"],
                    sentence=row["text"],
                    actor=row["actor"],
                    target=row["target"],
                    stance=STANCES[labels[k]],
                    p_support=p[0],
                    p_oppose=p[1],
                    p_neutral=p[2],
                    model=self.name,
                    **{key: row.get(key, "") for key in OPTIONAL_FIELDS if key not in ARTICLE_FIELDS},
                    **{key: int(row.get(key, -1)) for key in SPAN_FIELDS},
                    **{key: getattr(article, key) or "" for key in ARTICLE_FIELDS},
                )
                k += 1


def _columns(rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows as columns (the first row's keys), with an empty context where the rows have none."""
    columns = {key: [r.get(key) for r in rows] for key in rows[0]}
    columns.setdefault("context", [""] * len(rows))
    return columns


def _peek(items: Iterable[T]) -> tuple[T | None, Iterable[T]]:
    """The first item of `items` (None when empty) and all of `items`, a one-pass iterator included."""
    if isinstance(items, Sequence):
        return (items[0] if len(items) else None), items
    iterator = iter(items)
    first = next(iterator, None)
    return first, (itertools.chain([first], iterator) if first is not None else iter(()))


def sentence_groups(
    items: Iterable[T], sentences: int, size: Callable[[T], int] = lambda a: len(a.sentences)
) -> Iterator[list[T]]:
    """Consecutive items (articles by default) in groups of about `sentences` sentences, at least one each.

    Items are pulled from `items` only as each group is needed.
    """
    group: list[T] = []
    count = 0
    for item in items:
        group.append(item)
        count += size(item)
        if count >= sentences:
            yield group
            group, count = [], 0
    if group:
        yield group


def _prediction(probs: torch.Tensor, label: int) -> StancePrediction:
    return StancePrediction(
        stance=STANCES[int(label)],
        probabilities={name: float(probs[i]) for i, name in enumerate(STANCES)},
    )
