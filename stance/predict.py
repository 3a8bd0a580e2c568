"""Inference: the `StanceClassifier` API, and batch prediction over files of articles."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from stance.actors import Gazetteer, load_gazetteer, mentioned_actors
from stance.aggregate import StanceAggregator, write_summary
from stance.build import article_gazetteer, given_mentions, ordered_pairs, pair_examples, sentence_mentions
from stance.commitlog import CommitLog, Resumed, progress_path
from stance.decision import ARGMAX, Decision, load_decision
from stance.encoding import EncodingConfig, encode_batch
from stance.entities import FOUND, merge_mentions
from stance.errors import Problem, StanceError, display_path
from stance.inference import Scorer, set_threads
from stance.mentions import MentionFinder, mention_folder_of
from stance.model import load_stance_model
from stance.paths import resolve_path
from stance.progress import progress
from stance.schema import STANCES, Article

log = logging.getLogger(__name__)

# Who is paired: listed actors, found mentions, or both; `auto` is `both` when the model has a mention finder.
ACTOR_MODES = ("gazetteer", "found", "both")
FIND_SENTENCES = 256  # sentences per batched call of the mention finder


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    ) -> None:
        set_threads(threads)
        self.decision = decision
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
        self.scorer = Scorer(
            model,
            device,
            pad_token_id=tokenizer.pad_token_id,
            precision=precision,
            batch_size=batch_size,
            padding_side=tokenizer.padding_side,
        )
        self._local_gazetteers: dict[frozenset[str], Gazetteer] = {}

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
    ) -> StanceClassifier:
        """Load a model folder written by `stance-train` (checked before use), to score at `precision`.

        `actors` picks who is paired: `gazetteer` (listed actors only), `found` (the mention finder's spans,
        named by the gazetteer where it knows them), `both`, or `auto` (`both` when the model folder has a
        mention finder in `mentions/`, else `gazetteer`).
        """
        set_threads(threads)
        model, tokenizer, encoding, dev = load_stance_model(path, device)
        if not isinstance(gazetteer, Gazetteer):
            gazetteer = load_gazetteer(gazetteer or "data/actors.yaml")
        finder = None
        finder_dir = mention_folder_of(path)
        if actors == "auto":
            actors = "both" if finder_dir is not None else "gazetteer"
            if finder_dir is None:
                log.warning("%s has no mention finder (mentions/): pairing gazetteer actors only", Path(path).name)
        if actors != "gazetteer" and finder_dir is not None:
            finder = MentionFinder.from_pretrained(
                finder_dir, device=str(dev), batch_size=max(batch_size, 64), precision=precision
            )
        return cls(
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
        )

    # -- scoring -------------------------------------------------------------

    def encode(self, rows: Sequence[dict[str, Any]]) -> dict[str, list[list[int]]]:
        """Model inputs of examples shaped like the builder's rows: one `encode_batch` call for all of them."""
        columns = {key: [r.get(key) for r in rows] for key in rows[0]}
        columns.setdefault("context", [""] * len(rows))
        return encode_batch(columns, self.tokenizer, self.encoding)

    def predict_proba(self, rows: Sequence[dict[str, Any]], show_progress: bool = False) -> torch.Tensor:
        """Probabilities (n × 3, in `STANCES` order) for examples shaped like the builder's rows.

        All rows are encoded at once, then scored in batches of similar length
        (little padding); the result is in the rows' order.
        """
        if len(rows) == 0:
            return torch.empty((0, len(STANCES)))
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

    def predict(self, text: str, actor: str, target: str, context: str = "") -> StancePrediction:
        """The stance of `actor` toward `target` in one sentence, with optional preceding `context`."""
        return self.predict_many([(text, actor, target)], [context])[0]

    def predict_many(
        self, items: Sequence[tuple[str, str, str]], contexts: Sequence[str] | None = None
    ) -> list[StancePrediction]:
        """`predict` for many (text, actor, target) triples, scored in batches."""
        contexts = contexts or [""] * len(items)
        rows = [self._row(text, a, t, c) for (text, a, t), c in zip(items, contexts, strict=True)]
        if not rows:
            return []
        probs = self.predict_proba(rows)
        return [_prediction(p, k) for p, k in zip(probs, self.decision.labels(probs.double()).tolist(), strict=True)]

    def pairs_of(self, article: Article) -> list[dict[str, Any]]:
        """Every ordered pair of actors mentioned together in a sentence of `article`, as model inputs."""
        return self.pairs_of_many([article])[0]

    def pairs_of_many(self, articles: Sequence[Article]) -> list[list[dict[str, Any]]]:
        """`pairs_of` for several articles, their sentences put through the mention finder in one batched call."""
        found: list[list[list[tuple[int, int]]] | None] = [None] * len(articles)
        if self.mention_finder is not None:
            spans = self.mention_finder.find([s for a in articles for s in a.sentences])
            at = 0
            for k, article in enumerate(articles):
                found[k] = spans[at : at + len(article.sentences)]
                at += len(article.sentences)
        return [
            article_pairs(a, self.gazetteer, self.encoding.context_sentences, f, self.actors)
            for a, f in zip(articles, found, strict=True)
        ]

    def predict_articles(
        self, articles: Iterable[Article], show_progress: bool = False, chunk_pairs: int = 1024
    ) -> Iterator[PairPrediction]:
        """Score every co-mentioned ordered pair in each article; rows come article by article, in order.

        Articles are gathered until they hold `chunk_pairs` pairs (or the input
        ends), and those pairs are encoded and scored together: batches of
        similar length across articles waste less on padding. With a mention
        finder, articles are taken `FIND_SENTENCES` sentences at a time so the
        finder runs batched too.
        """
        pending: list[tuple[Article, list[dict[str, Any]]]] = []
        n_rows = 0
        for group in _sentence_groups(articles, FIND_SENTENCES if self.mention_finder is not None else 1):
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
                    **{key: row.get(key, "") for key in OPTIONAL_FIELDS},
                )
                k += 1


def article_pairs(
    article: Article,
    gazetteer: Gazetteer,
    context_sentences: int,
    found: Sequence[Sequence[tuple[int, int]]] | None = None,
    actors: str = "gazetteer",
) -> list[dict[str, Any]]:
    """Every ordered pair of actors mentioned together in a sentence of `article`, as the builder's rows.

    `found` are the mention finder's spans per sentence; with them, the
    gazetteer's mentions (unless `actors="found"`) and the found ones are
    merged into one actor per entity of the article (`stance.entities`). Each
    row says where its actors came from, their CAMEO codes and what they roll
    up to at the article's date.
    """
    local = article_gazetteer(article, gazetteer)
    n = len(article.sentences)
    listed = [
        sentence_mentions(article, i, local) if actors != "found" else given_mentions(article, i) for i in range(n)
    ]
    sources: dict[str, str] = {}
    if found is not None:
        listed, entities = merge_mentions(article.sentences, listed, found, local)
        sources = {name: e.source for name, e in entities.items()}
    rows: list[dict[str, Any]] = []
    described: dict[str, tuple[str, str, str]] = {}
    for i in range(n):
        names = mentioned_actors(listed[i])
        if len(names) < 2:
            continue
        for row in pair_examples(article.id, article.sentences, i, listed[i], ordered_pairs(names), context_sentences):
            for role in ("actor", "target"):
                name = row[role]
                if name not in described:
                    described[name] = _describe(name, local, sources.get(name), article.date)
                row[f"{role}_source"], row[f"{role}_code"], row[f"{role}_affiliation"] = described[name]
            rows.append(row)
    return rows


def _describe(name: str, gazetteer: Gazetteer, source: str | None, date: str) -> tuple[str, str, str]:
    """(source, CAMEO code, affiliation at `date`) of an actor of an article."""
    actor = gazetteer.get(name)
    if actor is None:
        return source or FOUND, "", name
    return (
        source or actor.source,
        gazetteer.code(name, date or None) or "",
        gazetteer.affiliation(name, date or None),
    )


def _sentence_groups(articles: Iterable[Article], sentences: int) -> Iterator[list[Article]]:
    """Consecutive articles in groups of about `sentences` sentences (at least one article each)."""
    group: list[Article] = []
    size = 0
    for article in articles:
        group.append(article)
        size += len(article.sentences)
        if size >= sentences:
            yield group
            group, size = [], 0
    if group:
        yield group


def _prediction(probs: torch.Tensor, label: int) -> StancePrediction:
    return StancePrediction(
        stance=STANCES[int(label)],
        probabilities={name: float(probs[i]) for i, name in enumerate(STANCES)},
    )


# -- the batch job ------------------------------------------------------------

OUTPUT_FIELDS = [f.name for f in PairPrediction.__dataclass_fields__.values()]
OPTIONAL_FIELDS = (
    "actor_source",
    "target_source",
    "actor_code",
    "target_code",
    "actor_affiliation",
    "target_affiliation",
)
OUTPUT_KINDS = ("jsonl", "csv")


def output_kind(path: Path) -> str:
    """`jsonl` or `csv`, from the output file's extension."""
    kind = path.suffix.lower().lstrip(".")
    if kind not in OUTPUT_KINDS:
        raise StanceError(f"output {display_path(path)}: use a .jsonl or .csv file name")
    return kind


class PredictionWriter:
    """Writes prediction rows as JSONL or CSV (by the file's extension) and commits them durably.

    A new file starts with the CSV header; with `resume_at`, the existing file is
    cut to that many bytes and written on from there. `commit` flushes and
    fsyncs, and returns the byte offset reached; `rollback` cuts the file back
    to an earlier commit.
    """

    def __init__(self, path: Path, resume_at: int | None = None) -> None:
        self.path = path
        self.kind = output_kind(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._buffer = io.StringIO()
        self.csv = csv.DictWriter(self._buffer, fieldnames=OUTPUT_FIELDS) if self.kind == "csv" else None
        if resume_at is None:
            self.handle = path.open("wb")
            if self.csv is not None:
                self.csv.writeheader()
                self._drain()
        else:
            self.handle = path.open("r+b")
            self.handle.truncate(resume_at)
            self.handle.seek(resume_at)

    def _drain(self) -> None:
        self.handle.write(self._buffer.getvalue().encode("utf-8"))
        self._buffer.seek(0)
        self._buffer.truncate()

    def write(self, prediction: PairPrediction) -> None:
        if self.csv is not None:
            self.csv.writerow(prediction.to_dict())
            self._drain()
        else:
            self.handle.write((json.dumps(prediction.to_dict(), ensure_ascii=False) + "\n").encode("utf-8"))

    def commit(self) -> int:
        """Make everything written so far durable; the output's length in bytes."""
        self.handle.flush()
        os.fsync(self.handle.fileno())
        return self.handle.tell()

    def rollback(self, offset: int) -> None:
        """Drop everything written after byte `offset` (an earlier commit)."""
        self.handle.flush()
        self.handle.truncate(offset)
        self.handle.seek(offset)

    def close(self) -> None:
        self.handle.close()


def read_predictions(path: Path) -> Iterator[PairPrediction]:
    """The rows of a prediction file written by `PredictionWriter`, in order."""
    kind = output_kind(path)
    shown = display_path(path)
    with path.open(encoding="utf-8", newline="") as handle:
        rows: Iterable[Any] = csv.DictReader(handle) if kind == "csv" else (json.loads(line) for line in handle)
        for number, row in enumerate(rows, start=1):
            try:
                values = {key: row[key] for key in OUTPUT_FIELDS if key in row or key not in OPTIONAL_FIELDS}
                values.update({key: values.get(key) or "" for key in OPTIONAL_FIELDS})
                values["sentence_index"] = int(values["sentence_index"])
                for key in ("p_support", "p_oppose", "p_neutral"):
                    values[key] = float(values[key])
            except (KeyError, TypeError, ValueError):
                raise StanceError(
                    f"{shown}: row {number} is not a prediction row; rerun with overwrite=true to start afresh"
                ) from None
            yield PairPrediction(**values)


@dataclass
class _Part:
    """An article, or one chunk of an enormous one, as handed to the classifier."""

    article: Article
    article_id: str  # the article's own id (a chunk's `article.id` is made unique)
    origin: str
    first: int  # the index, in the whole article, of this chunk's first sentence
    skip: int  # leading sentences that are only context here (scored with the previous chunk)
    last: bool  # the article's last chunk: the article is complete after it


def article_parts(article: Article, chunk_sentences: int, context: int) -> Iterator[_Part]:
    """The article as chunks of `chunk_sentences` sentences (each with its `context` preceding ones)."""
    n = len(article.sentences)
    if n <= chunk_sentences:
        yield _Part(article, article.id, article.origin, 0, 0, True)
        return
    for k, lo in enumerate(range(0, n, chunk_sentences)):
        hi, start = min(n, lo + chunk_sentences), max(0, lo - context)
        part = replace(
            article,
            id=f"{article.id}\0{k}",
            sentences=article.sentences[start:hi],
            labels=[],
            spans={i - start: s for i, s in article.spans.items() if start <= i < hi},
        )
        yield _Part(part, article.id, article.origin, start, lo - start, hi == n)


def _where(origin: str) -> tuple[str, int | None]:
    """(file, line) of an article's origin (`file` or `file:line`)."""
    file, _, line = origin.rpartition(":")
    return (file, int(line)) if file and line.isdigit() else (origin, None)


class _Fatal(Exception):
    """An exception from reading the input or writing the output (not from scoring an article): it ends the job."""


class _BatchJob:
    """Scores articles into a `PredictionWriter`, committing each article, and keeps the run's counts.

    A batch whose scoring raises is scored again one article at a time, so the
    one article that breaks it is reported and the others are kept.
    """

    def __init__(
        self,
        classifier: StanceClassifier,
        writer: PredictionWriter,
        log_: CommitLog,
        errors: Any,
        aggregator: StanceAggregator,
        resumed: Resumed | None,
        chunk_sentences: int,
    ) -> None:
        self.classifier = classifier
        self.writer = writer
        self.commits = log_
        self.errors = errors
        self.aggregator = aggregator
        self.pending = StanceAggregator(classifier.gazetteer)  # rows of the article being written
        self.done = resumed.done if resumed else set()
        self.offset = resumed.offset if resumed else writer.commit()
        self.articles = resumed.articles if resumed else 0
        self.without_pairs = resumed.without_pairs if resumed else 0
        self.failed_inputs = 0
        self.failed_ids: set[str] = set()
        self.chunk_sentences = chunk_sentences
        self.open_parts: list[_Part] = []  # chunks written since the last commit
        self.article_pairs = 0

    def problem(self, problem: Problem) -> None:
        log.error("%s", problem)
        self.errors.write(json.dumps({**asdict(problem), "message": problem.message}, ensure_ascii=False) + "\n")
        self.errors.flush()
        self.failed_inputs += 1

    def parts(self, items: Iterable[Article | Problem]) -> Iterator[_Part]:
        seen: dict[str, str] = {}
        for item in progress(items, desc="articles", unit="article"):
            if isinstance(item, Problem):
                self.problem(item)
                continue
            if item.id in seen:
                file, line = _where(item.origin)
                why = f"duplicate article id (first at {seen[item.id]}); skipped"
                self.problem(Problem(file, why, line=line, article=item.id))
                continue
            seen[item.id] = item.origin
            if item.id in self.done:
                continue
            for part in article_parts(item, self.chunk_sentences, self.classifier.encoding.context_sentences):
                if part.article_id not in self.failed_ids:
                    yield part

    def row(self, part: _Part, prediction: PairPrediction) -> None:
        try:
            self._row(part, prediction)
        except Exception as exc:
            raise _Fatal() from exc

    def _row(self, part: _Part, prediction: PairPrediction) -> None:
        if prediction.sentence_index < part.skip:
            return
        if part.article.id != part.article_id or part.first:
            prediction = replace(
                prediction, article_id=part.article_id, sentence_index=prediction.sentence_index + part.first
            )
        self.writer.write(prediction)
        self.pending.add(prediction)
        self.article_pairs += 1

    def finish(self, part: _Part) -> None:
        """A chunk is scored; when it is its article's last, commit the article."""
        try:
            self._finish(part)
        except Exception as exc:
            raise _Fatal() from exc

    def _finish(self, part: _Part) -> None:
        if part.article_id in self.failed_ids:
            return
        if not part.last:
            self.open_parts.append(part)
            return
        self.offset = self.writer.commit()
        self.commits.commit(
            {
                "article_id": part.article_id,
                "offset": self.offset,
                "pairs": self.article_pairs,
                "precision": self.classifier.precision,
            }
        )
        self.aggregator.merge(self.pending)
        self.pending = StanceAggregator(self.classifier.gazetteer)
        self.articles += 1
        self.without_pairs += self.article_pairs == 0
        self.article_pairs = 0
        self.open_parts = []

    def rollback(self) -> list[_Part]:
        """Drop what was written since the last commit; the chunks that must be scored again."""
        self.writer.rollback(self.offset)
        self.pending = StanceAggregator(self.classifier.gazetteer)
        self.article_pairs = 0
        parts, self.open_parts = self.open_parts, []
        return parts

    def run(self, items: Iterable[Article | Problem]) -> None:
        source = self.parts(items)
        while True:
            fed: deque[_Part] = deque()
            try:
                self._score(source, fed)
                return
            except _Fatal as exc:
                cause = exc.__cause__
                if isinstance(cause, OSError) and not isinstance(cause, StanceError):
                    raise StanceError(f"cannot read or write a file: {cause}") from None
                raise cause from None  # type: ignore[misc]
            except Exception as exc:  # one article broke its batch: find which, keep the others
                log.warning("scoring a batch failed (%s: %s); scoring its articles one by one", type(exc).__name__, exc)
                self._one_by_one([*self.rollback(), *fed])

    def _score(self, source: Iterator[_Part], fed: deque[_Part]) -> None:
        def feed() -> Iterator[Article]:
            while True:
                try:
                    part = next(source)
                except StopIteration:
                    return
                except Exception as exc:
                    raise _Fatal() from exc
                fed.append(part)
                yield part.article

        # Rows come article by article, in input order; an article without rows has none to wait for.
        for prediction in self.classifier.predict_articles(feed()):
            while fed[0].article.id != prediction.article_id:
                self.finish(fed.popleft())
            self.row(fed[0], prediction)
        while fed:
            self.finish(fed.popleft())

    def _one_by_one(self, parts: Sequence[_Part]) -> None:
        for part in parts:
            if part.article_id in self.failed_ids:
                continue
            try:
                for prediction in self.classifier.predict_articles([part.article]):
                    self.row(part, prediction)
            except _Fatal:
                raise
            except Exception as exc:
                self.rollback()
                self.failed_ids.add(part.article_id)
                file, line = _where(part.origin)
                why = f"could not be scored: {type(exc).__name__}: {exc}"
                self.problem(Problem(file, why, line=line, article=part.article_id))
                continue
            self.finish(part)


def _job_description(cfg: Any, kind: str) -> dict[str, Any]:
    """What makes two runs the same job: resuming is refused when any of it differs."""
    model = resolve_path(cfg.model).absolute()
    finder = mention_folder_of(model)
    return {
        "model": str(model),
        "model_weights": _weights_stamp(model),
        "input": str(resolve_path(cfg.input).absolute()),
        "format": kind,
        "gazetteer": str(cfg.get("gazetteer") or "data/actors.yaml"),
        "actors": str(cfg.get("actors", "auto")),
        "mentions": _weights_stamp(finder) if finder else None,
    }


def _weights_stamp(folder: Path) -> str | None:
    weights = folder / "model.safetensors"
    stat = weights.stat() if weights.exists() else None
    return f"{stat.st_size}:{stat.st_mtime_ns}" if stat else None


def predict_files(cfg: Any) -> dict[str, Any]:
    """stance-predict: read articles from `cfg.input`, score every pair, write rows, summary and errors.

    Restartable: rows are committed article by article (see `stance.commitlog`),
    so a run killed at any moment and started again with the same arguments
    resumes where it stopped, and the output holds every article exactly once.
    `overwrite=true` starts afresh. The summary is kept incrementally (the
    predictions are not held in memory) and written atomically at the end.
    """
    from stance.readers.raw import input_kind, iter_inputs

    output = Path(cfg.output)
    kind = output_kind(output)
    source = resolve_path(cfg.input)
    if not source.exists():
        raise StanceError(f"input {display_path(source)} does not exist")
    input_kind(source)  # an input of an unknown kind fails here, before any output is written
    job = _job_description(cfg, kind)
    log_path = progress_path(output)
    errors_path = output.with_name(output.stem + ".errors.jsonl")
    summary_path = output.with_name(output.stem + ".summary.json")
    resumed = None if bool(cfg.get("overwrite", False)) else CommitLog.resume(log_path, output, job)
    precision = str(cfg.get("precision", "fp32"))
    if precision == "auto" and resumed is not None and resumed[1].precision:
        # `auto` measures speed, so it could choose differently the second time: one job, one numeric path.
        precision = resumed[1].precision
    classifier = StanceClassifier.from_pretrained(
        resolve_path(cfg.model),
        device=str(cfg.device),
        gazetteer=cfg.gazetteer,
        batch_size=int(cfg.batch_size),
        precision=precision,
        threads=cfg.get("threads"),
        actors=str(cfg.get("actors", "auto")),
    )
    log.info(
        "model %s on %s, precision %s, %d CPU threads",
        classifier.name,
        classifier.device,
        classifier.precision,
        torch.get_num_threads(),
    )
    aggregator = StanceAggregator(classifier.gazetteer)
    if resumed is not None:
        commits, state = resumed
        log.info("resuming %s: %d articles already done", display_path(output), len(state.done))
        # The summary counts of the committed articles, article by article as when they were written.
        aggregator.update_by_article(read_predictions(output))
        writer = PredictionWriter(output, resume_at=state.offset)
    else:
        state = None
        writer = PredictionWriter(output)
        commits = CommitLog.start(log_path, job, writer.commit())
    # Every run reads every input again, so the errors file is written afresh: no problem is listed twice.
    errors = errors_path.open("w", encoding="utf-8")
    chunk = max(1, int(cfg.get("chunk_sentences", 2000)))
    batch = _BatchJob(classifier, writer, commits, errors, aggregator, state, chunk)
    try:
        batch.run(iter_inputs(cfg.input, classifier.gazetteer))
        offset = writer.commit()
    finally:
        writer.close()
        errors.close()
    counts = {
        "articles": batch.articles,
        "articles_without_pairs": batch.without_pairs,
        "pairs": aggregator.rows,
        "failed_inputs": batch.failed_inputs,
    }
    summary = aggregator.summary()
    summary["run"] = counts
    write_summary(summary, summary_path)
    commits.commit({"complete": True, "offset": offset, **counts})
    commits.close()
    log.info(
        "%d articles (%d without actor pairs), %d pairs, %d inputs failed",
        batch.articles,
        batch.without_pairs,
        aggregator.rows,
        batch.failed_inputs,
    )
    return {
        **counts,
        "output": str(output),
        "summary": str(summary_path),
        "errors": str(errors_path),
        "progress": str(log_path),
    }
