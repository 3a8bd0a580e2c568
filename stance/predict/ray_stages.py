"""The stages of `engine=ray`'s pipeline: shards → articles (tasks), articles → pairs and pairs → scored rows (actors).

Every stage emits rows of one stream (`_stream_schema`), each naming its shard
and kind, so the driver (`stance.predict.ray`) can tell when a shard is complete.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stance.errors import Problem
from stance.schema import Article

log = logging.getLogger(__name__)

RECORD_FIELDS = ("id", "text", "title", "date", "source", "url")  # an article record's fields (JSONL or Parquet)


# ---------------------------------------------------------------- stage 1: shards → articles


def _stream_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("shard", pa.string()),
            ("kind", pa.string()),  # article | pair | problem | count | end
            ("article_seq", pa.int64()),
            ("pair_seq", pa.int64()),
            ("payload", pa.string()),  # JSON: the article, the pair's model input, the problem or the counts
        ]
    )


def rows_table(rows: list[dict[str, Any]], schema: Any) -> Any:
    """`rows` as an Arrow table of `schema`."""
    import pyarrow as pa

    return pa.Table.from_pylist(rows, schema=schema)


def shard_records(data: bytes, suffix: str, shown: str) -> Iterator[Article | Problem]:
    """The articles of one shard's bytes, and a `Problem` for each bad record, as `engine=local` reads them.

    JSONL lines go through the local reader's own record check; a Parquet row is
    the same record (`id`, `text`, optional `title`, `date`, `source`, `url`),
    its row number (from 1) standing for the line. A Parquet file that cannot
    be read at all raises `UnreadableShard`.
    """
    from stance.readers.raw import jsonl_record, jsonl_records

    if suffix != ".parquet":
        yield from jsonl_records(io.BytesIO(data), shown)  # lines as a file reads them: split at \n only
        return
    records = 0
    for number, line in _parquet_lines(data, shown):
        records += 1
        yield line if isinstance(line, Problem) else jsonl_record(line, shown, number)
    if records == 0:
        yield Problem(shown, "empty file: no records")


class UnreadableShard(Exception):
    """A shard that cannot be read at all (not one bad record in it)."""


def _parquet_lines(data: bytes, shown: str) -> Iterator[tuple[int, str | Problem]]:
    """Each Parquet row as a JSON line for the JSONL record check; other columns are ignored, as other JSON keys are."""
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        source = pa.BufferReader(data)
        names = pq.read_schema(source).names
        table = pq.read_table(source, columns=[n for n in names if n in RECORD_FIELDS])
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise UnreadableShard(f"cannot read Parquet: {exc}") from None
    for number, record in enumerate(table.to_pylist(), start=1):
        for key, value in record.items():
            if isinstance(value, datetime.datetime | datetime.date):
                record[key] = value.isoformat()
        try:
            yield number, json.dumps(record, ensure_ascii=False)
        except (TypeError, ValueError):  # bytes, decimals: not what a JSONL line could hold either
            key = next(k for k, v in record.items() if not _jsonable(v))
            aid = record.get("id")
            article = str(aid) if isinstance(aid, str | int) else None
            why = f"must be a string, not {type(record[key]).__name__}"
            yield number, Problem(shown, why, line=number, article=article, field=key)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def parse_shards(batch: Any, shown: dict[str, str]) -> Any:
    """Stage 1 (tasks): shards' bytes → one `article` row per article, `problem` rows, one `end` row per shard."""
    from stance.predict.batch import first_of_each_id

    schema = _stream_schema()
    out: list[dict[str, Any]] = []
    for data, path in zip(batch.column("bytes").to_pylist(), batch.column("path").to_pylist(), strict=True):
        name = Path(path).name
        where = shown.get(name, name)
        articles, start = 0, len(out)

        def problem(p: Problem, name: str = name) -> None:
            out.append({"shard": name, "kind": "problem", "payload": json.dumps({"problem": asdict(p)})})

        try:
            for item in first_of_each_id(shard_records(data, Path(name).suffix.lower(), where)):
                if isinstance(item, Problem):
                    problem(item)
                else:
                    fields = ("id", "sentences", "title", "source", "date", "url", "origin")
                    payload = json.dumps({k: getattr(item, k) for k in fields}, ensure_ascii=False)
                    out.append({"shard": name, "kind": "article", "article_seq": articles, "payload": payload})
                    articles += 1
        except UnreadableShard as exc:
            del out[start:]  # nothing of an unreadable shard goes on but the reason
            problem(Problem(where, str(exc)))
            out.append({"shard": name, "kind": "end", "payload": json.dumps({"articles": 0, "unreadable": True})})
            continue
        out.append({"shard": name, "kind": "end", "payload": json.dumps({"articles": articles})})
    return rows_table(out, schema)


# ---------------------------------------------------------------- stage 2: articles → pairs


@dataclass
class ModelSpec:
    """What every actor needs to load the classifier: plain values, so Ray ships them to any node."""

    model_dir: str
    gazetteer: str
    actors: str
    references: bool = False
    context_pairs: int | None = None
    device: str = "cpu"
    batch_size: int = 32
    precision: str = "fp32"
    threads: int | None = None
    chunk_sentences: int = 2000

    def load(self, **changes: Any) -> Any:
        from stance.predict.classifier import StanceClassifier

        values = {**asdict(self), **changes}
        return StanceClassifier.from_pretrained(
            values["model_dir"],
            device=values["device"],
            gazetteer=values["gazetteer"],
            batch_size=values["batch_size"],
            precision=values["precision"],
            threads=values["threads"],
            actors=values["actors"],
            references=values["references"],
            context_pairs=values["context_pairs"],
        )


class PairFinder:
    """Stage 2 (actors): articles → one `pair` row per co-mentioned ordered pair, with the model inputs.

    The pairs are `StanceClassifier.pairs_of_many`'s, over the chunks
    `stance.predict.batch.article_parts` cuts a long article into, exactly as
    `engine=local` finds them. The classifier is loaded on the CPU for its
    gazetteer and mention finder; scoring happens in the next stage.
    """

    def __init__(self, spec: ModelSpec) -> None:
        self.classifier = spec.load(device="cpu", precision="fp32", threads=1)
        self.chunk_sentences = spec.chunk_sentences

    def __call__(self, batch: Any) -> Any:
        from stance.predict.batch import article_parts
        from stance.predict.classifier import FIND_SENTENCES, sentence_groups

        out: list[dict[str, Any]] = []
        parts = []  # (shard, article_seq, meta, part)
        for row in batch.to_pylist():
            if row["kind"] != "article":
                out.append(row)
                continue
            fields = json.loads(row["payload"])
            article = Article(**fields)
            meta = {k: fields[k] for k in ("id", "date", "source", "url", "origin")}
            for part in article_parts(article, self.chunk_sentences, self.classifier.encoding.context_sentences):
                parts.append((row["shard"], row["article_seq"], meta, part))
        size = FIND_SENTENCES if self.classifier.mention_finder is not None else 1
        counts: dict[str, dict[str, int]] = {}
        pairs_of: dict[tuple[str, int], int] = {}
        ids: dict[tuple[str, int], str] = {}
        for group in sentence_groups(parts, size, lambda p: len(p[3].article.sentences)):
            found = self.classifier.pairs_of_many([p[3].article for p in group])
            for (shard, seq, meta, part), rows in zip(group, found, strict=True):
                n = pairs_of.setdefault((shard, seq), 0)
                ids[(shard, seq)] = part.article_id
                for example in rows:
                    index = part.article_index(example["sentence_index"])
                    if index is None:
                        continue  # a leading context sentence: scored with the chunk before
                    example["sentence_index"] = index
                    example["article_id"] = part.article_id
                    payload = json.dumps({"row": example, "meta": meta}, ensure_ascii=False)
                    out.append({"shard": shard, "kind": "pair", "article_seq": seq, "pair_seq": n, "payload": payload})
                    n += 1
                pairs_of[(shard, seq)] = n
        for (shard, seq), n in pairs_of.items():
            c = counts.setdefault(shard, {"articles": 0, "pairs": 0, "without_pairs": 0, "without_pairs_ids": []})
            c["articles"] += 1
            c["pairs"] += n
            c["without_pairs"] += n == 0
            if n == 0:  # named, not only counted, as engine=local names them
                c["without_pairs_ids"].append(ids[(shard, seq)])
        out += [{"shard": s, "kind": "count", "payload": json.dumps(c)} for s, c in counts.items()]
        return rows_table(out, _stream_schema())


# ---------------------------------------------------------------- stage 3: pairs → scored rows


def scored_schema() -> Any:
    """The scoring stage's rows: the stream's columns, the precision, and a prediction file's (`OUTPUT_FIELDS`)."""
    import pyarrow as pa

    from stance.predict.outputs import parquet_schema

    return pa.schema([*_stream_schema(), ("precision", pa.string()), *parquet_schema()])


class PairScorer:
    """Stage 3 (actors): `pair` rows → scored rows (`OUTPUT_FIELDS`), the model loaded once per actor.

    Rows are scored by `StanceClassifier._score_articles`, the code that scores
    `engine=local`'s rows. When a batch raises, its articles are scored one by
    one: an article that still raises becomes a `problem` row naming it (and
    how many of its pairs are dropped), the rest are kept.
    """

    def __init__(self, spec: ModelSpec, fail_once: str | None = None) -> None:
        self.classifier = spec.load()
        self.fail_once = fail_once
        self.calls = 0

    def _die_once(self) -> None:
        self.calls += 1
        if not self.fail_once or self.calls != 2:  # the second call: mid-job, after a batch has gone through
            return
        try:
            os.close(os.open(self.fail_once, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
        os._exit(1)  # a worker dying mid-batch, as a lost node or an OOM kill does

    def __call__(self, batch: Any) -> Any:
        from stance.predict.batch import split_origin

        self._die_once()
        out: list[dict[str, Any]] = []
        articles: dict[tuple[str, int], _ArticlePairs] = {}
        for row in batch.to_pylist():
            if row["kind"] != "pair":
                out.append(row)
                continue
            payload = json.loads(row["payload"])
            key = (row["shard"], row["article_seq"])
            if key not in articles:
                meta = payload["meta"]
                article = Article(meta["id"], [], date=meta["date"], source=meta["source"], url=meta["url"])
                articles[key] = _ArticlePairs(row["shard"], row["article_seq"], article, meta["origin"])
            articles[key].rows.append(payload["row"])
            articles[key].pair_seqs.append(row["pair_seq"])
        try:
            out += self._score(list(articles.values()))
        except Exception:  # one bad article must not sink the batch: find it by scoring one by one
            log.warning("scoring a batch failed; scoring its articles one by one", exc_info=True)
            for item in articles.values():
                try:
                    out += self._score([item])
                except Exception as exc:
                    file, line = split_origin(item.origin)
                    why = f"could not be scored: {type(exc).__name__}: {exc}"
                    problem = Problem(file, why, line=line, article=item.article.id)
                    payload = json.dumps({"problem": asdict(problem), "dropped": len(item.rows)})
                    out.append({"shard": item.shard, "kind": "problem", "article_seq": item.seq, "payload": payload})
        return rows_table(out, scored_schema())

    def _score(self, items: list[_ArticlePairs]) -> list[dict[str, Any]]:
        """The scored rows of `items`' pairs, all or (when scoring raises) none."""
        predictions = iter(self.classifier._score_articles([(i.article, i.rows) for i in items], show_progress=False))
        return [
            {
                "shard": item.shard,
                "kind": "pair",
                "article_seq": item.seq,
                "pair_seq": pair_seq,
                "precision": self.classifier.precision,
                **next(predictions).to_dict(),
            }
            for item in items
            for pair_seq in item.pair_seqs
        ]


@dataclass
class _ArticlePairs:
    """The pairs of one article in a scoring batch (a long article's pairs may span batches)."""

    shard: str
    seq: int
    article: Article
    origin: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    pair_seqs: list[int] = field(default_factory=list)
