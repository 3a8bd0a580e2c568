"""`stance-predict engine=ray`: score a folder of article shards on Ray Data, locally or on a cluster.

The job. `input` is a folder of `.jsonl` / `.parquet` article shards (or a glob,
or one shard); `output` is a folder that receives one `<shard stem>.parquet` per
input shard, with exactly the rows `engine=local` writes (`OUTPUT_FIELDS`, in
the input's article order), plus `manifest.jsonl` and `errors.jsonl`.

The pipeline is one Ray Dataset over every shard still to do:

    read_binary_files (Ray's reader: any filesystem pyarrow knows, one row per shard)
      → map_batches(parse_shards)  tasks: bytes → articles, bad records → problems
      → map_batches(PairFinder)    actors: articles → actor pairs (the classifier's own pair finding)
      → map_batches(PairScorer)    actors: pairs → scored rows (the model loaded once per actor)
      → the driver, streaming: rows grouped by shard, each shard written when complete

Why one dataset and not one per shard: the actors (and the model) start once
per run, not once per shard, and Ray Data streams all shards through them with
no gap between shards. Every row carries its shard, so the driver can tell when
a shard is complete without asking Ray to keep order: the parse stage emits an
`end` row with the shard's article count, the pair stage a `count` row per
batch (articles seen, pairs found), and the shard is complete when every
article is counted and every pair has come back (scored, or dropped with its
article when scoring that article raised). Order inside a shard is restored
from the (article, pair) sequence numbers the rows carry.

Restart. A complete shard is written atomically (staging file + rename, see
`stance.files.atomic_path`), then a line naming it, its row count and its
problems is appended to `manifest.jsonl` and fsynced. The manifest's first line
describes the job (model, input, gazetteer, … as `engine=local` compares them);
a rerun with another job refuses to mix outputs unless `overwrite=true`. A
rerun skips every shard whose manifest line is there and whose output file has
that many rows, and recomputes the others: a run killed at any moment, rerun,
ends with every article exactly once (a shard is written whole or not at all).
`errors.jsonl` is rewritten at the end of each run from the manifest (problems
of completed shards) and this run's unreadable shards.

Retries are Ray Data's own, left at its defaults: an actor pool restarts a
dead actor (`max_restarts=-1`) and resubmits the batches it held
(`max_task_retries=-1`); read and parse tasks are retried as Ray retries
tasks. A batch's rows reach the driver only once its task has succeeded, so a
worker killed mid-batch loses and duplicates nothing. An article whose scoring raises is reported and dropped,
as in `engine=local`; a shard that cannot be read (a corrupt Parquet file) is
reported and left to the next run, and the other shards land. A duplicate
article id is caught within a shard (as `engine=local` catches it within its
input), not across shards.
"""

from __future__ import annotations

import glob
import io
import json
import logging
import math
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stance.errors import Problem, StanceError, display_path
from stance.files import atomic_path, write_text_atomic
from stance.paths import resolve_path
from stance.schema import Article

log = logging.getLogger(__name__)

SHARD_SUFFIXES = (".jsonl", ".parquet")
MANIFEST = "manifest.jsonl"
ERRORS = "errors.jsonl"
MANIFEST_VERSION = 1
RECORD_FIELDS = ("id", "text", "title", "date", "source", "url")  # an article record's fields (JSONL or Parquet)
PARSE_CPUS = 0.25  # reading and sentence splitting a shard is light next to scoring it
# Test hook: a path; the second call of a scoring actor that can create this file kills its own process.
FAIL_ONCE_ENV = "STANCE_RAY_FAIL_ONCE"


# ---------------------------------------------------------------- shards and the manifest


@dataclass
class Shard:
    """One input shard and the output file it becomes."""

    name: str  # the input file's name (unique within a job)
    path: str  # absolute path, as Ray reads it
    shown: str  # as the user typed it, for messages
    output: Path


def list_shards(source: str, output: Path) -> list[Shard]:
    """The shards named by `source` (a folder, a glob, or one file), each with its output file; names checked."""
    if any(ch in source for ch in "*?["):
        found = sorted(Path(p) for p in glob.glob(source, recursive=True))
        what = f"input {source}"
    else:
        path = resolve_path(source)
        if not path.exists():
            raise StanceError(f"input {display_path(path)} does not exist")
        found = sorted(p for p in path.iterdir() if not p.name.startswith(".")) if path.is_dir() else [path]
        what = f"input {display_path(path)}"
    inside = output.resolve()  # the output folder's own files (manifest.jsonl, shards) are never input
    files = [p for p in found if p.is_file() and p.suffix.lower() in SHARD_SUFFIXES and p.resolve().parent != inside]
    ignored = [p for p in found if p not in files]
    if ignored:
        log.warning("%s: %d files that are not .jsonl or .parquet shards are ignored", what, len(ignored))
    if not files:
        raise StanceError(f"{what}: no .jsonl or .parquet shards there (engine=ray reads a folder of shards)")
    shards: dict[str, Shard] = {}
    for file in files:
        target = output / f"{file.stem}.parquet"
        if target.resolve() == file.resolve():
            raise StanceError(f"output {display_path(output)}: would overwrite the input shard {display_path(file)}")
        twin = next((s for s in shards.values() if s.output == target), None)
        if twin is not None:
            raise StanceError(
                f"{what}: shards {twin.shown} and {display_path(file)} would both be written to {target.name}; "
                "rename one"
            )
        shards[file.name] = Shard(file.name, str(file.resolve()), display_path(file), target)
    return list(shards.values())


def read_manifest(output: Path) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """(the job line, the last line per completed shard) of `output`'s manifest; a torn last line is dropped."""
    path = output / MANIFEST
    if not path.exists():
        return None, {}
    job: dict[str, Any] | None = None
    done: dict[str, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a kill: its shard was not recorded, so it is done again
        if "job" in entry:
            job = entry["job"]
        elif "shard" in entry:
            done[entry["shard"]] = entry
    return job, done


def complete_shards(shards: Iterable[Shard], done: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The manifest lines of the shards whose output is there with the rows the manifest records."""
    import pyarrow.parquet as pq

    complete = {}
    for shard in shards:
        entry = done.get(shard.name)
        if entry is None or not shard.output.exists():
            continue
        try:
            rows = pq.read_metadata(shard.output).num_rows
        except (OSError, ValueError):  # pyarrow's ArrowInvalid is a ValueError
            continue
        if rows == entry.get("rows"):
            complete[shard.name] = entry
    return complete


def _append_line(path: Path, record: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _start_output(output: Path, job: dict[str, Any], overwrite: bool) -> dict[str, dict[str, Any]]:
    """Check (or start) the output folder's manifest for `job`; the shards an earlier run completed."""
    output.mkdir(parents=True, exist_ok=True)
    for stale in output.glob(".*.tmp-*"):  # a killed run's staging files
        stale.unlink(missing_ok=True)
    old_job, done = read_manifest(output)
    if old_job is not None and old_job != job and not overwrite:
        differs = sorted(k for k in set(job) | set(old_job) if job.get(k) != old_job.get(k))
        raise StanceError(
            f"output {display_path(output)} holds another job's shards ({', '.join(differs)} differ); "
            "use another output folder, or overwrite=true to start afresh"
        )
    if overwrite or old_job is None:
        for entry in done.values():
            (output / entry["output"]).unlink(missing_ok=True)
        write_text_atomic(output / MANIFEST, json.dumps({"job": job, "version": MANIFEST_VERSION}) + "\n")
        return {}
    return done


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


def _table(rows: list[dict[str, Any]], schema: Any) -> Any:
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
    return _table(out, schema)


# ---------------------------------------------------------------- stage 2: articles → pairs


@dataclass
class ModelSpec:
    """What every actor needs to load the classifier: plain values, so Ray ships them to any node."""

    model_dir: str
    gazetteer: str
    actors: str
    references: bool = False
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
        for group in sentence_groups(parts, size, lambda p: len(p[3].article.sentences)):
            found = self.classifier.pairs_of_many([p[3].article for p in group])
            for (shard, seq, meta, part), rows in zip(group, found, strict=True):
                n = pairs_of.setdefault((shard, seq), 0)
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
        for (shard, _), n in pairs_of.items():
            c = counts.setdefault(shard, {"articles": 0, "pairs": 0, "without_pairs": 0})
            c["articles"] += 1
            c["pairs"] += n
            c["without_pairs"] += n == 0
        out += [{"shard": s, "kind": "count", "payload": json.dumps(c)} for s, c in counts.items()]
        return _table(out, _stream_schema())


# ---------------------------------------------------------------- stage 3: pairs → scored rows


def _scored_schema() -> Any:
    import pyarrow as pa

    from stance.predict.batch import parquet_schema

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
        return _table(out, _scored_schema())

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


# ---------------------------------------------------------------- the driver


@dataclass
class _Progress:
    """What has come back of one shard."""

    shard: Shard
    tables: list[Any] = field(default_factory=list)
    articles: int | None = None  # from the parse stage's `end` row
    unreadable: bool = False
    counted: int = 0  # articles the pair stage has seen
    without_pairs: int = 0
    expected: int = 0  # pairs the pair stage found
    received: int = 0
    dropped: int = 0
    failed: set[int] = field(default_factory=set)  # article_seq of articles whose scoring raised
    problems: list[dict[str, Any]] = field(default_factory=list)
    precisions: set[str] = field(default_factory=set)

    def complete(self) -> bool:
        return (
            self.articles is not None
            and self.counted == self.articles
            and self.received + self.dropped == self.expected
        )


def _write_shard(state: _Progress, manifest: Path) -> dict[str, Any]:
    """Write a complete shard's rows (in article order) atomically, then record it in the manifest."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from stance.predict.batch import parquet_schema

    schema = parquet_schema()
    table = pa.concat_tables(state.tables) if state.tables else _table([], _scored_schema())
    if state.failed:
        table = table.filter(pc.invert(pc.is_in(table["article_seq"], pa.array(sorted(state.failed), pa.int64()))))
    table = table.sort_by([("article_seq", "ascending"), ("pair_seq", "ascending")]).select(schema.names).cast(schema)
    with atomic_path(state.shard.output) as staging:
        pq.write_table(table, staging, compression="zstd")
        with staging.open("rb") as handle:
            os.fsync(handle.fileno())
    entry = {
        "shard": state.shard.name,
        "input": state.shard.path,
        "output": state.shard.output.name,
        "rows": table.num_rows,
        "articles": (state.articles or 0) - len(state.failed),
        "articles_without_pairs": state.without_pairs,
        "problems": state.problems,
        "precision": sorted(state.precisions),
    }
    _append_line(manifest, entry)
    log.info(
        "%s → %s: %d articles, %d pairs", state.shard.shown, state.shard.output.name, entry["articles"], entry["rows"]
    )
    return entry


def _collect(batches: Iterable[Any], shards: list[Shard], manifest: Path) -> tuple[list[dict], list[_Progress]]:
    """Take the scored stream as it comes; write each shard the moment it is complete. (written, unreadable)."""
    import pyarrow.compute as pc

    states = {s.name: _Progress(s) for s in shards}
    written: list[dict[str, Any]] = []
    unreadable: list[_Progress] = []
    for batch in batches:
        touched = set()
        pairs = batch.filter(pc.equal(batch["kind"], "pair"))
        for name in pc.unique(pairs["shard"]).to_pylist():
            part = pairs.filter(pc.equal(pairs["shard"], name))
            states[name].tables.append(part)
            states[name].received += part.num_rows
            states[name].precisions.update(pc.unique(part["precision"]).to_pylist())
            touched.add(name)
        for row in (
            batch.filter(pc.not_equal(batch["kind"], "pair"))
            .select(["shard", "kind", "article_seq", "payload"])
            .to_pylist()
        ):
            state, payload = states[row["shard"]], json.loads(row["payload"])
            touched.add(row["shard"])
            if row["kind"] == "problem":
                problem = {**payload["problem"], "file": state.shard.shown}
                log.error("%s", Problem(**problem))
                state.problems.append(problem)
                if "dropped" in payload:
                    state.dropped += payload["dropped"]
                    state.failed.add(row["article_seq"])
            elif row["kind"] == "count":
                state.counted += payload["articles"]
                state.expected += payload["pairs"]
                state.without_pairs += payload["without_pairs"]
            elif row["kind"] == "end":
                state.articles = payload["articles"]
                state.unreadable = bool(payload.get("unreadable"))
        for name in touched:
            state = states[name]
            if state.complete():
                if state.unreadable:
                    unreadable.append(state)  # nothing to write, nothing to record: the next run tries it again
                else:
                    written.append(_write_shard(state, manifest))
                del states[name]
    if states:
        # A bug, not bad input: Ray returned fewer rows than the stages counted. The written shards stand.
        raise RuntimeError(f"Ray Data finished without every row of {', '.join(states)}; rerun to redo them")
    return written, unreadable


def local_cpus(cores: int, options: Any) -> int:
    """Logical CPUs of a local Ray: one per core for the scoring actors, plus room for the light stages.

    Parsing and pair finding use little CPU beside scoring; counting them against
    the cores would leave a 2-core machine one scoring actor instead of two.
    """
    light = int(options.pair_concurrency) * float(options.pair_num_cpus) + PARSE_CPUS
    return cores + math.ceil(light)


def start_ray(options: Any) -> float | None:
    """Join a Ray cluster (`ray.address`, else `$RAY_ADDRESS`) or start a local one; seconds taken, None if up already.

    A local Ray is started without the dashboard and without usage statistics:
    nothing listens beyond this machine or calls home.
    """
    import ray

    if ray.is_initialized():
        return None
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    address = options.get("address") or os.environ.get("RAY_ADDRESS")
    began = time.perf_counter()
    if address:
        ray.init(address=str(address), log_to_driver=True)
    else:
        cpus = options.get("local_cpus") or local_cpus(os.cpu_count() or 1, options)
        ray.init(num_cpus=int(cpus), include_dashboard=False, log_to_driver=True)
    return time.perf_counter() - began


def fitting_scorers(cluster_cpus: float, options: Any) -> int:
    """How many of the `ray.concurrency` scoring actors the cluster's CPUs hold at once, beside the pair finders."""
    left = cluster_cpus - int(options.pair_concurrency) * float(options.pair_num_cpus)
    per_actor = float(options.num_cpus)
    fit = int(left // per_actor) if per_actor > 0 else int(options.concurrency)
    return max(0, min(int(options.concurrency), fit))


def _warn_if_cramped(options: Any) -> None:
    import ray

    cpus = float(ray.cluster_resources().get("CPU", 0))
    fit = fitting_scorers(cpus, options)
    if fit < int(options.concurrency):
        # Ray does not refuse such a pool: it runs the actors that fit and the job is silently slower.
        log.warning(
            "the cluster has %g CPUs: %d pair finders × %g CPUs and %d scoring actors × %g CPUs do not fit; "
            "%d scoring actor(s) run at once (lower ray.num_cpus / ray.pair_num_cpus, or add nodes)",
            cpus,
            int(options.pair_concurrency),
            float(options.pair_num_cpus),
            int(options.concurrency),
            float(options.num_cpus),
            fit,
        )


def _ray_options(cfg: Any) -> Any:
    from omegaconf import OmegaConf

    from stance.settings import RaySettings

    return OmegaConf.merge(OmegaConf.structured(RaySettings), cfg.get("ray") or {})


def build_dataset(shards: list[Shard], spec: ModelSpec, options: Any) -> Any:
    """The Ray Dataset of scored rows (and problem / count / end rows) of `shards`, not yet executed."""
    import ray.data

    ctx = ray.data.DataContext.get_current()
    setting = os.environ.get("STANCE_PROGRESS")
    ctx.enable_progress_bars = setting == "1" or (setting is None and os.isatty(2))
    ds = ray.data.read_binary_files(
        [s.path for s in shards], include_paths=True, num_cpus=PARSE_CPUS, override_num_blocks=len(shards)
    )
    ds = ds.map_batches(
        parse_shards,
        batch_size=1,
        batch_format="pyarrow",
        num_cpus=PARSE_CPUS,
        fn_kwargs={"shown": {s.name: s.shown for s in shards}},
    )
    ds = ds.map_batches(
        PairFinder,
        batch_size=int(options.articles_per_batch),
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=int(options.pair_concurrency)),
        num_cpus=float(options.pair_num_cpus),
        fn_constructor_kwargs={"spec": spec},
    )
    return ds.map_batches(
        PairScorer,
        batch_size=int(options.pairs_per_batch),
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=int(options.concurrency)),
        num_cpus=float(options.num_cpus),
        num_gpus=float(options.num_gpus),
        fn_constructor_kwargs={"spec": spec, "fail_once": os.environ.get(FAIL_ONCE_ENV) or None},
    )


def _gazetteer_for_workers(spec: str) -> str:
    """A gazetteer every node can load: a name (`phoenix`) as is, a file by its absolute path."""
    from stance.actors.gazetteer import NAMED_GAZETTEERS, gazetteer_path

    return spec if spec in NAMED_GAZETTEERS else str(gazetteer_path(spec).resolve())


def predict_shards(cfg: Any) -> dict[str, Any]:
    """stance-predict engine=ray: every pending shard of `cfg.input` scored into `cfg.output`/<shard>.parquet.

    Returns the run's counts: shards in the input, `written` this run, `skipped`
    (complete before), `unreadable`; articles, articles without pairs and pairs
    over every complete shard; `failed_inputs` (the lines of `errors.jsonl`).
    """
    from stance.actors.resolve import choose_gazetteer
    from stance.model import check_model_folder
    from stance.predict.batch import DEFAULT_PREDICT_GAZETTEER, job_description

    options = _ray_options(cfg)
    output = Path(cfg.output)
    if output.suffix.lower() in (".jsonl", ".csv", ".parquet"):
        raise StanceError(f"output {display_path(output)}: engine=ray writes a folder of Parquet shards; name a folder")
    shards = list_shards(str(cfg.input), output)
    model_dir = check_model_folder(cfg.model_dir).absolute()  # a broken model folder stops here, before Ray starts
    gazetteer = choose_gazetteer(cfg.get("gazetteer"), model_dir, DEFAULT_PREDICT_GAZETTEER)
    job = {**job_description(cfg, "parquet-shards", gazetteer), "engine": "ray"}
    overwrite = bool(cfg.get("overwrite", False))
    done = complete_shards(shards, _start_output(output, job, overwrite))
    pending = [s for s in shards if s.name not in done]
    precision = str(cfg.get("precision", "fp32"))
    chosen = [p for entry in done.values() for p in entry.get("precision", [])]
    if precision == "auto" and chosen:
        precision = chosen[0]  # one job, one numeric path: what `auto` chose for the shards already done
    threads = cfg.get("threads")
    spec = ModelSpec(
        model_dir=str(model_dir),
        gazetteer=_gazetteer_for_workers(gazetteer),
        actors=str(cfg.get("actors", "auto")),
        references=bool(cfg.get("references", False)),
        device=str(cfg.get("device", "auto")),
        batch_size=int(cfg.get("batch_size", 32)),
        precision=precision,
        threads=int(threads) if threads else max(1, int(float(options.num_cpus))),
        chunk_sentences=max(1, int(cfg.get("chunk_sentences", 2000))),
    )
    log.info("%d shards: %d done before, %d to score", len(shards), len(done), len(pending))
    written: list[dict[str, Any]] = []
    unreadable: list[_Progress] = []
    ray_init_s = None
    if pending:
        ray_init_s = start_ray(options)
        try:
            _warn_if_cramped(options)
            dataset = build_dataset(pending, spec, options)
            batches = dataset.iter_batches(batch_format="pyarrow", batch_size=None)
            written, unreadable = _collect(batches, pending, output / MANIFEST)
        finally:
            if ray_init_s is not None:
                import ray

                ray.shutdown()
    entries = list(done.values()) + written
    problems = [p for entry in entries for p in entry["problems"]] + [p for s in unreadable for p in s.problems]
    write_text_atomic(output / ERRORS, "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in problems))
    return {
        "shards": len(shards),
        "written": len(written),
        "skipped": len(done),
        "unreadable": len(unreadable),
        "articles": sum(e["articles"] for e in entries),
        "articles_without_pairs": sum(e["articles_without_pairs"] for e in entries),
        "pairs": sum(e["rows"] for e in entries),
        "failed_inputs": len(problems),
        "output": str(output),
        "errors": str(output / ERRORS),
        "manifest": str(output / MANIFEST),
        "ray_init_s": ray_init_s,
    }


def summary_text(result: dict[str, Any]) -> str:
    """What `stance-predict engine=ray` prints when it ends."""
    lines = [
        f"{result['shards']} shards: {result['written']} written now, {result['skipped']} done before"
        + (f", {result['unreadable']} unreadable (tried again next run)" if result["unreadable"] else ""),
        f"{result['articles']} articles ({result['articles_without_pairs']} without actor pairs), "
        f"{result['pairs']} pairs scored",
        f"predictions: {result['output']}/<shard>.parquet\nmanifest:    {result['manifest']}",
    ]
    return "\n".join(lines)
