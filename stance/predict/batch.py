"""The batch job behind `stance-predict`: read articles, score them, write rows, resume, summarise.

Restartable: rows are committed article by article (see `stance.predict.commitlog`),
so a run killed at any moment and started again with the same arguments
resumes where it stopped, and the output holds every article exactly once.
A Parquet output is journalled the same way, as JSONL beside it
(`<output>.staging.jsonl`), and written from the journal in row groups of
whole articles when the job ends; the journal is then removed.
"""

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

from stance.actors.coref import DEFAULT_ROLES
from stance.actors.finder import mention_folder_of
from stance.actors.gazetteer import gazetteer_sha256
from stance.actors.resolve import choose_gazetteer
from stance.errors import Problem, StanceError, display_path
from stance.files import atomic_path
from stance.paths import file_sha256, resolve_path
from stance.predict.aggregate import write_summary_stream
from stance.predict.classifier import StanceClassifier, sentence_groups
from stance.predict.commitlog import CommitLog, Resumed, progress_path
from stance.progress import progress
from stance.schema import OPTIONAL_FIELDS, OUTPUT_FIELDS, Article, PairPrediction

log = logging.getLogger(__name__)

# For a model folder that carries no gazetteer (trained before they did): the listed actors and Phoenix/CAMEO.
DEFAULT_PREDICT_GAZETTEER = "phoenix"
BATCH_SENTENCES = 2000  # sentences read ahead and scored together (the classifier batches pairs across articles)

OUTPUT_KINDS = ("jsonl", "csv", "parquet")
ROW_GROUP_ROWS = 100_000
RUN_COUNTS = (
    "articles",
    "articles_without_pairs",
    "pairs",
    "failed_inputs",
)  # a Parquet row group closes at the first article boundary past this many rows


def output_kind(path: Path) -> str:
    """`jsonl`, `csv` or `parquet`, from the output file's extension."""
    kind = path.suffix.lower().lstrip(".")
    if kind not in OUTPUT_KINDS:
        raise StanceError(f"output {display_path(path)}: use a .jsonl, .csv or .parquet file name")
    return kind


def journal_path(output: Path) -> Path:
    """Where rows are committed while the job runs: the output itself, or for Parquet a JSONL journal beside it."""
    return output.with_name(output.name + ".staging.jsonl") if output_kind(output) == "parquet" else output


def parquet_schema() -> Any:
    """The Arrow schema of a Parquet prediction file: `OUTPUT_FIELDS` in order."""
    import pyarrow as pa

    types = {"sentence_index": pa.int64(), "p_support": pa.float64(), "p_oppose": pa.float64()}
    types["p_neutral"] = pa.float64()
    return pa.schema([(name, types.get(name, pa.string())) for name in OUTPUT_FIELDS])


def write_parquet(rows: Iterable[PairPrediction], path: Path, row_group_rows: int = ROW_GROUP_ROWS) -> int:
    """Write rows (article by article) to Parquet atomically, one row group per run of whole articles."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema()
    written = 0
    with atomic_path(path) as staging:
        writer = pq.ParquetWriter(staging, schema, compression="zstd")
        group: list[dict[str, Any]] = []

        def flush() -> None:
            writer.write_table(pa.Table.from_pylist(group, schema=schema), row_group_size=len(group))
            group.clear()

        for row in rows:
            if len(group) >= row_group_rows and row.article_id != group[-1]["article_id"]:
                flush()
            group.append(row.to_dict())
            written += 1
        if group or written == 0:
            flush()
        writer.close()
    return written


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


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
        yield from batch.to_pylist()


def _text_rows(path: Path, kind: str) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle) if kind == "csv" else (json.loads(line) for line in handle)


def read_predictions(path: Path) -> Iterator[PairPrediction]:
    """The rows of a prediction file written by stance-predict (JSONL, CSV or Parquet), in order."""
    kind = output_kind(path)
    shown = display_path(path)
    rows = _parquet_rows(path) if kind == "parquet" else _text_rows(path, kind)
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

    def article_index(self, sentence_index: int) -> int | None:
        """The article's index of this chunk's sentence `sentence_index`; None for a leading context sentence."""
        return None if sentence_index < self.skip else sentence_index + self.first


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
        for item in first_of_each_id(progress(items, desc="articles", unit="article")):
            if isinstance(item, Problem):
                self.problem(item)
                continue
            if item.id in self.done:
                continue
            for part in article_parts(item, self.chunk_sentences, self.classifier.encoding.context_sentences):
                if part.article_id not in self.failed_ids:
                    yield part

    def row(self, part: _Part, prediction: PairPrediction) -> None:
        """Write one scored row of a chunk (rows of its leading context sentences belong to the chunk before)."""
        index = part.article_index(prediction.sentence_index)
        if index is None:
            return
        if part.article.id != part.article_id or index != prediction.sentence_index:
            prediction = replace(prediction, article_id=part.article_id, sentence_index=index)
        self.writer.write(prediction)
        self.article_pairs += 1

    def finish(self, part: _Part) -> None:
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
        self.without_pairs += self.article_pairs == 0
        self.article_pairs = 0
        self.open_parts = []

    def rollback(self) -> list[_Part]:
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

    def _predict(self, parts: Sequence[_Part]) -> list[PairPrediction] | Exception:
        """The parts' rows, article by article in input order, or the exception that scoring them raised."""
        try:
            return list(self.classifier.predict_articles([p.article for p in parts]))
        except Exception as exc:  # any failure of the model on some input is isolated by the caller
            return exc

    def _write(self, parts: Sequence[_Part], predictions: Iterable[PairPrediction]) -> None:
        """Write scored rows and finish each chunk; an article without rows has none to wait for."""
        queue = deque(parts)
        for prediction in predictions:
            while queue[0].article.id != prediction.article_id:
                self.finish(queue.popleft())
            self.row(queue[0], prediction)
        while queue:
            self.finish(queue.popleft())

    def _one_by_one(self, parts: Sequence[_Part]) -> None:
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
        "references": file_sha256(resolve_path(DEFAULT_ROLES)) if cfg.get("references") else False,
        "mentions": _weights_stamp(finder) if finder else None,
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
    gazetteer = choose_gazetteer(cfg.get("gazetteer"), resolve_path(cfg.model_dir), DEFAULT_PREDICT_GAZETTEER)
    job = job_description(cfg, kind, gazetteer)
    log_path = progress_path(output)
    errors_path = output.with_name(output.stem + ".errors.jsonl")
    summary_path = output.with_name(output.stem + ".summary.json")
    paths = {"output": str(output), "summary": str(summary_path), "errors": str(errors_path), "progress": str(log_path)}
    overwrite = bool(cfg.get("overwrite", False))
    if kind == "parquet" and not overwrite and not journal.exists() and output.exists():
        finished = CommitLog.finished(log_path, job)
        if finished is not None:  # the journal went when the Parquet file was written: nothing is left to do
            log.info(
                "%s is complete (%d articles); overwrite=true scores again", display_path(output), finished["articles"]
            )
            return {**{k: finished[k] for k in RUN_COUNTS}, **paths}
    resumed = None if overwrite else CommitLog.resume(log_path, journal, job)
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
        actors=str(cfg.get("actors", "auto")),
        references=bool(cfg.get("references", False)),
    )
    log.info(
        "model %s on %s, precision %s, %d CPU threads",
        classifier.name,
        classifier.device,
        classifier.precision,
        torch.get_num_threads(),
    )
    if resumed is not None:
        commits, state = resumed
        log.info("resuming %s: %d articles already done", display_path(output), len(state.done))
        writer = PredictionWriter(journal, resume_at=state.offset)
    else:
        state = None
        writer = PredictionWriter(journal)
        commits = CommitLog.start(log_path, job, writer.commit())
    # Every run reads every input again, so the errors file is written afresh: no problem is listed twice.
    errors = errors_path.open("w", encoding="utf-8")
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
    if kind == "parquet":
        write_parquet(read_predictions(journal), output, int(cfg.get("row_group_rows") or ROW_GROUP_ROWS))
    counts = {"articles": batch.articles, "articles_without_pairs": batch.without_pairs}
    run = {**counts, "failed_inputs": batch.failed_inputs}
    pairs = write_summary_stream(read_predictions(output), summary_path, classifier.gazetteer, run)
    counts = {**counts, "pairs": pairs, "failed_inputs": batch.failed_inputs}
    commits.commit({"complete": True, "offset": offset, **counts})
    commits.close()
    if kind == "parquet":
        journal.unlink()
    log.info(
        "%d articles (%d without actor pairs), %d pairs, %d inputs failed",
        batch.articles,
        batch.without_pairs,
        pairs,
        batch.failed_inputs,
    )
    return {**counts, **paths}
