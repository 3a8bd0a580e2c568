"""The prediction files of `stance-predict`: rows of `OUTPUT_FIELDS` as JSONL, CSV or Parquet, and reading them back.

The batch job (`stance.predict.batch`) writes them; the Ray engine's shards share the Parquet schema.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from stance.errors import StanceError, display_path
from stance.files import atomic_path
from stance.schema import OPTIONAL_FIELDS, OUTPUT_FIELDS, SPAN_FIELDS, PairPrediction

OUTPUT_KINDS = ("jsonl", "csv", "parquet")
ROW_GROUP_ROWS = 100_000  # a Parquet row group closes at the first article boundary past this many rows

NAMED_WITHOUT_PAIRS = 1000  # article ids without an actor pair listed in a summary (the count is always whole)


def output_kind(path: Path) -> str:
    """`jsonl`, `csv` or `parquet`, from the output file's extension."""
    kind = path.suffix.lower().lstrip(".")
    if kind not in OUTPUT_KINDS:
        raise StanceError(f"output {display_path(path)}: use a .jsonl, .csv or .parquet file name")
    return kind


def parquet_schema() -> Any:
    """The Arrow schema of a Parquet prediction file: `OUTPUT_FIELDS` in order."""
    import pyarrow as pa

    types = {"sentence_index": pa.int64(), "p_support": pa.float64(), "p_oppose": pa.float64()}
    types["p_neutral"] = pa.float64()
    types |= {name: pa.int64() for name in SPAN_FIELDS}
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


def _offset(value: Any) -> int:
    """A character offset as a prediction file holds it (a number, its text, or blank for unknown): -1 if unknown."""
    return -1 if value is None or value == "" else int(value)


def read_predictions(path: Path) -> Iterator[PairPrediction]:
    """The rows of a prediction file written by stance-predict (JSONL, CSV or Parquet), in order."""
    kind = output_kind(path)
    shown = display_path(path)
    rows = _parquet_rows(path) if kind == "parquet" else _text_rows(path, kind)
    for number, row in enumerate(rows, start=1):
        try:
            optional = (*OPTIONAL_FIELDS, *SPAN_FIELDS)
            values = {key: row[key] for key in OUTPUT_FIELDS if key in row or key not in optional}
            values.update({key: values.get(key) or "" for key in OPTIONAL_FIELDS})
            values.update({key: _offset(values.get(key)) for key in SPAN_FIELDS})
            values["sentence_index"] = int(values["sentence_index"])
            for key in ("p_support", "p_oppose", "p_neutral"):
                values[key] = float(values[key])
        except (KeyError, TypeError, ValueError):
            raise StanceError(
                f"{shown}: row {number} is not a prediction row; rerun with overwrite=true to start afresh"
            ) from None
        yield PairPrediction(**values)
