"""The batch job behind `stance-predict`: read articles, score them, write rows, resume, summarise.

Restartable: rows are committed article by article (see `stance.predict.commitlog`),
so a run killed at any moment and started again with the same arguments
resumes where it stopped, and the output holds every article exactly once.
A Parquet output is journalled the same way, as JSONL beside it
(`<output>.staging.jsonl`), and written from the journal in row groups of
whole articles when the job ends; the journal is then removed.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from stance.actors.dictionaries import gazetteer_sha256
from stance.actors.finder import mention_folder_of
from stance.actors.resolve import choose_gazetteer, predict_actors
from stance.actors.roles import DEFAULT_ROLES
from stance.errors import Problem, StanceError, display_path
from stance.paths import file_sha256, resolve_path
from stance.predict.aggregate import write_summary_stream
from stance.predict.classifier import StanceClassifier, sentence_groups
from stance.predict.commitlog import CommitLog, Resumed, progress_path
from stance.predict.outputs import (
    NAMED_WITHOUT_PAIRS,
    ROW_GROUP_ROWS,
    PredictionWriter,
    output_kind,
    read_predictions,
    write_parquet,
)
from stance.progress import progress
from stance.schema import OUTPUT_FIELDS, Article, PairPrediction
from stance.settings import references_on

log = logging.getLogger(__name__)

BATCH_SENTENCES = 2000  # sentences read ahead and scored together (the classifier batches pairs across articles)

RUN_COUNTS = ("articles", "articles_without_pairs", "pairs", "failed_inputs")


def journal_path(output: Path) -> Path:
    """Where rows are committed while the job runs: the output itself, or for Parquet a JSONL journal beside it."""
    return output.with_name(output.name + ".staging.jsonl") if output_kind(output) == "parquet" else output


@dataclass
class ArticleChunk:
    """An article, or one chunk of an enormous one, as handed to the classifier."""

    article: Article
    article_id: str  # the article's own id (a chunk's `article.id` is made unique)
    origin: str
    first: int  # the index, in the whole article, of this chunk's first sentence
    skip: int  # leading sentences that are only context here (scored with the previous chunk)
    last: bool  # the article's last chunk: the article is complete after it

    def article_index(self, sentence_index: int) -> int | None:
        """The article's index of this chunk's sentence `sentence_index`; None for a leading context sentence."""
        return None if sentence_index < self.skip else sentence_index + self.first


def article_parts(article: Article, chunk_sentences: int, context: int) -> Iterator[ArticleChunk]:
    """The article as chunks of `chunk_sentences` sentences (each with its `context` preceding ones)."""
    n = len(article.sentences)
    if n <= chunk_sentences:
        yield ArticleChunk(article, article.id, article.origin, 0, 0, True)
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
        yield ArticleChunk(part, article.id, article.origin, start, lo - start, hi == n)


def split_origin(origin: str) -> tuple[str, int | None]:
    """(file, line) of an article's origin (`file` or `file:line`)."""
    file, _, line = origin.rpartition(":")
    return (file, int(line)) if file and line.isdigit() else (origin, None)


def first_of_each_id(items: Iterable[Article | Problem]) -> Iterator[Article | Problem]:
    """`items`, with each article whose id came before turned into a `Problem` naming both places."""
    seen: dict[str, str] = {}
    for item in items:
        if isinstance(item, Article):
            if item.id in seen:
                file, line = split_origin(item.origin)
                why = f"duplicate article id (first at {seen[item.id]}); skipped"
                yield Problem(file, why, line=line, article=item.id)
                continue
            seen[item.id] = item.origin
        yield item


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
        resumed: Resumed | None,
        chunk_sentences: int,
    ) -> None:
        self.classifier = classifier
        self.writer = writer
        self.commits = log_
        self.errors = errors
        self.done = resumed.done if resumed else set()
        self.offset = resumed.offset if resumed else writer.commit()
        self.articles = resumed.articles if resumed else 0
        self.no_pairs: list[str] = list(resumed.no_pairs) if resumed else []  # articles without an actor pair
        self.failed_inputs = 0
        self.failed_ids: set[str] = set()
        self.chunk_sentences = chunk_sentences
        self.open_parts: list[ArticleChunk] = []  # chunks written since the last commit
        self.article_pairs = 0

    def problem(self, problem: Problem) -> None:
        log.error("%s", problem)
        self.errors.write(json.dumps({**asdict(problem), "message": problem.message}, ensure_ascii=False) + "\n")
        self.errors.flush()
        self.failed_inputs += 1

    def parts(self, items: Iterable[Article | Problem]) -> Iterator[ArticleChunk]:
        for item in first_of_each_id(progress(items, desc="articles", unit="article")):
            if isinstance(item, Problem):
                self.problem(item)
                continue
            if item.id in self.done:
                continue
            for part in article_parts(item, self.chunk_sentences, self.classifier.encoding.context_sentences):
                if part.article_id not in self.failed_ids:
                    yield part

    def row(self, part: ArticleChunk, prediction: PairPrediction) -> None:
        """Write one scored row of a chunk (rows of its leading context sentences belong to the chunk before)."""
        index = part.article_index(prediction.sentence_index)
        if index is None:
            return
        if part.article.id != part.article_id or index != prediction.sentence_index:
            prediction = replace(prediction, article_id=part.article_id, sentence_index=index)
        self.writer.write(prediction)
        self.article_pairs += 1

    def finish(self, part: ArticleChunk) -> None:
        """A chunk is scored; when it is its article's last, commit the article."""
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
        self.articles += 1
        if self.article_pairs == 0:
            self.no_pairs.append(part.article_id)
        self.article_pairs = 0
        self.open_parts = []

    def rollback(self) -> list[ArticleChunk]:
        """Drop what was written since the last commit; the chunks that must be scored again."""
        self.writer.rollback(self.offset)
        self.article_pairs = 0
        parts, self.open_parts = self.open_parts, []
        return parts

    def run(self, items: Iterable[Article | Problem]) -> None:
        """Score every article of `items` in batches of about `BATCH_SENTENCES` sentences, writing as it goes.

        Reading and writing errors end the job as they are. A batch whose
        scoring fails is scored again article by article (with any chunks of an
        unfinished article written since the last commit), so one article that
        breaks the model is reported and the others are kept.
        """
        for batch in sentence_groups(self.parts(items), BATCH_SENTENCES, lambda part: len(part.article.sentences)):
            scored = self._predict(batch)
            if isinstance(scored, Exception):
                log.warning(
                    "scoring a batch failed (%s: %s); scoring its articles one by one", type(scored).__name__, scored
                )
                self._one_by_one([*self.rollback(), *batch])
            else:
                self._write(batch, scored)

    def _predict(self, parts: Sequence[ArticleChunk]) -> list[PairPrediction] | Exception:
        """The parts' rows, article by article in input order, or the exception that scoring them raised."""
        try:
            return list(self.classifier.predict([p.article for p in parts]))
        except Exception as exc:  # any failure of the model on some input is isolated by the caller
            return exc

    def _write(self, parts: Sequence[ArticleChunk], predictions: Iterable[PairPrediction]) -> None:
        """Write scored rows and finish each chunk; an article without rows has none to wait for."""
        queue = deque(parts)
        for prediction in predictions:
            while queue[0].article.id != prediction.article_id:
                self.finish(queue.popleft())
            self.row(queue[0], prediction)
        while queue:
            self.finish(queue.popleft())

    def _one_by_one(self, parts: Sequence[ArticleChunk]) -> None:
        for part in parts:
            if part.article_id in self.failed_ids:
                continue
            scored = self._predict([part])
            if isinstance(scored, Exception):
                self.rollback()
                self.failed_ids.add(part.article_id)
                file, line = split_origin(part.origin)
                why = f"could not be scored: {type(scored).__name__}: {scored}"
                self.problem(Problem(file, why, line=line, article=part.article_id))
                continue
            self._write([part], scored)


def job_description(cfg: Any, kind: str, gazetteer: str) -> dict[str, Any]:
    """What makes two runs the same job: resuming is refused when any of it differs.

    The gazetteer is compared by content: an edited list would otherwise mix
    rows found with two lists in one output.
    """
    model = resolve_path(cfg.model_dir).absolute()
    finder = mention_folder_of(model)
    return {
        "model": str(model),
        "model_weights": _weights_stamp(model),
        "input": str(resolve_path(cfg.input).absolute()),
        "format": kind,
        "gazetteer_sha256": gazetteer_sha256(gazetteer),
        "fields": OUTPUT_FIELDS,  # a file written with other columns is another job's
        "actors": str(cfg.get("actors", "auto")),
        # The office holders it resolves by are part of the job: an edited data/roles.yaml is another job.
        "references": file_sha256(resolve_path(DEFAULT_ROLES)) if references_on(cfg) else False,
        "mentions": _weights_stamp(finder) if finder else None,
        "context_pairs": cfg.get("context_pairs"),  # another pairing finds other pairs: another job
    }


def _weights_stamp(folder: Path) -> str | None:
    weights = folder / "model.safetensors"
    stat = weights.stat() if weights.exists() else None
    return f"{stat.st_size}:{stat.st_mtime_ns}" if stat else None


def predict_files(cfg: Any) -> dict[str, Any]:
    """stance-predict: read articles from `cfg.input`, score every pair, write rows, summary and errors.

    Restartable: rows are committed article by article (see `stance.predict.commitlog`),
    so a run killed at any moment and started again with the same arguments
    resumes where it stopped, and the output holds every article exactly once.
    `overwrite=true` starts afresh. The summary is computed from the finished
    predictions file, article by article, and written atomically at the end.
    """
    from stance.readers.raw import input_kind, iter_inputs

    output = Path(cfg.output)
    kind = output_kind(output)
    journal = journal_path(output)
    source = resolve_path(cfg.input)
    if not source.exists():
        raise StanceError(f"input {display_path(source)} does not exist")
    input_kind(source)  # an input of an unknown kind fails here, before any output is written
    actors, gazetteer = predict_actors(
        str(cfg.get("actors", "auto")),
        choose_gazetteer(cfg.get("gazetteer"), resolve_path(cfg.model_dir)),
        output.parent,
    )
    job = job_description(cfg, kind, gazetteer)
    files = _job_files(output)
    paths = {name: str(path) for name, path in files.items()}
    overwrite = bool(cfg.get("overwrite", False))
    if kind == "parquet" and not overwrite and not journal.exists() and output.exists():
        finished = _finished_before(output, files["progress"], job)
        if finished is not None:
            return {**finished, **paths}
    resumed = None if overwrite else CommitLog.resume(files["progress"], journal, job)
    classifier = _load_classifier(cfg, gazetteer, resumed, actors)
    writer, commits, state = _open_journal(output, journal, files["progress"], job, resumed)
    # Every run reads every input again, so the errors file is written afresh: no problem is listed twice.
    errors = files["errors"].open("w", encoding="utf-8")
    chunk = max(1, int(cfg.get("chunk_sentences", 2000)))
    batch = _BatchJob(classifier, writer, commits, errors, state, chunk)
    try:
        batch.run(iter_inputs(cfg.input, classifier.gazetteer))
        offset = writer.commit()
    except OSError as exc:
        raise StanceError(f"cannot read or write a file: {exc}") from None
    finally:
        writer.close()
        errors.close()
    counts = _finish_job(cfg, batch, commits, offset, output, files["summary"])
    return {**counts, **paths}


def _job_files(output: Path) -> dict[str, Path]:
    """The files a job writes beside its rows: the summary, the errors and the commit log."""
    return {
        "output": output,
        "summary": output.with_name(output.stem + ".summary.json"),
        "errors": output.with_name(output.stem + ".errors.jsonl"),
        "progress": progress_path(output),
    }


def _finished_before(output: Path, log_path: Path, job: dict[str, Any]) -> dict[str, Any] | None:
    """The counts of an earlier run that wrote this Parquet output whole; None when there is work left."""
    finished = CommitLog.finished(log_path, job)
    if finished is None:
        return None
    # The journal went when the Parquet file was written: nothing is left to do.
    log.info("%s is complete (%d articles); overwrite=true scores again", display_path(output), finished["articles"])
    return {k: finished[k] for k in RUN_COUNTS}


def _load_classifier(
    cfg: Any, gazetteer: str, resumed: tuple[CommitLog, Resumed] | None, actors: str = "auto"
) -> StanceClassifier:
    """The job's classifier, at the precision an earlier run of the job chose when `precision=auto`."""
    precision = str(cfg.get("precision", "fp32"))
    if precision == "auto" and resumed is not None and resumed[1].precision:
        # `auto` measures speed, so it could choose differently the second time: one job, one numeric path.
        precision = resumed[1].precision
    classifier = StanceClassifier.from_pretrained(
        resolve_path(cfg.model_dir),
        device=str(cfg.device),
        gazetteer=gazetteer,
        batch_size=int(cfg.batch_size),
        precision=precision,
        threads=cfg.get("threads"),
        actors=actors,
        references=references_on(cfg),
        context_pairs=cfg.get("context_pairs"),
    )
    log.info(
        "model %s on %s, precision %s, %d CPU threads",
        classifier.name,
        classifier.device,
        classifier.precision,
        torch.get_num_threads(),
    )
    return classifier


def _open_journal(
    output: Path, journal: Path, log_path: Path, job: dict[str, Any], resumed: tuple[CommitLog, Resumed] | None
) -> tuple[PredictionWriter, CommitLog, Resumed | None]:
    """(writer, commit log, what is done) to go on from where an earlier run stopped, or to start afresh."""
    if resumed is not None:
        commits, state = resumed
        log.info("resuming %s: %d articles already done", display_path(output), len(state.done))
        return PredictionWriter(journal, resume_at=state.offset), commits, state
    writer = PredictionWriter(journal)
    return writer, CommitLog.start(log_path, job, writer.commit()), None


def _finish_job(
    cfg: Any, batch: _BatchJob, commits: CommitLog, offset: int, output: Path, summary_path: Path
) -> dict[str, Any]:
    """Write the Parquet file (from its journal), the summary, and the commit log's last line; the run's counts."""
    kind = output_kind(output)
    journal = journal_path(output)
    if kind == "parquet":
        write_parquet(read_predictions(journal), output, int(cfg.get("row_group_rows") or ROW_GROUP_ROWS))
    counts = {"articles": batch.articles, "articles_without_pairs": len(batch.no_pairs)}
    # Named, not only counted: an article that silently drops out of a report is a question an analyst asks.
    run = {
        **counts,
        "failed_inputs": batch.failed_inputs,
        "articles_without_pairs_ids": batch.no_pairs[:NAMED_WITHOUT_PAIRS],
    }
    pairs = write_summary_stream(read_predictions(output), summary_path, batch.classifier.gazetteer, run)
    counts = {**counts, "pairs": pairs, "failed_inputs": batch.failed_inputs}
    commits.commit({"complete": True, "offset": offset, **counts})
    commits.close()
    if kind == "parquet":
        journal.unlink()
    log.info(
        "%d articles (%d without actor pairs), %d pairs, %d inputs failed",
        batch.articles,
        len(batch.no_pairs),
        pairs,
        batch.failed_inputs,
    )
    if batch.no_pairs:
        shown = ", ".join(batch.no_pairs[:10]) + (
            f" and {len(batch.no_pairs) - 10} more" if len(batch.no_pairs) > 10 else ""
        )
        log.info("articles without an actor pair (in the summary's run.articles_without_pairs_ids): %s", shown)
    return counts
