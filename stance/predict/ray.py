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

This module is the driver. The stages are in `stance.predict.ray_stages`, the
shards and the manifest in `stance.predict.ray_manifest`, and the sizing of a
local Ray and of the actor pools in `stance.predict.ray_sizing`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stance.errors import Problem, StanceError, display_path
from stance.files import atomic_path, write_text_atomic
from stance.predict.outputs import NAMED_WITHOUT_PAIRS
from stance.predict.ray_manifest import (
    ERRORS,
    MANIFEST,
    Shard,
    append_line,
    complete_shards,
    list_shards,
    start_output,
)
from stance.predict.ray_sizing import PARSE_CPUS, start_ray, warn_if_cramped
from stance.predict.ray_stages import ModelSpec, PairFinder, PairScorer, parse_shards, rows_table, scored_schema
from stance.settings import references_on

log = logging.getLogger(__name__)

# Test hook: a path; the second call of a scoring actor that can create this file kills its own process.
FAIL_ONCE_ENV = "STANCE_RAY_FAIL_ONCE"


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
    without_pairs_ids: list[str] = field(default_factory=list)
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

    from stance.predict.outputs import parquet_schema

    schema = parquet_schema()
    table = pa.concat_tables(state.tables) if state.tables else rows_table([], scored_schema())
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
        "articles_without_pairs_ids": state.without_pairs_ids[:NAMED_WITHOUT_PAIRS],
        "problems": state.problems,
        "precision": sorted(state.precisions),
    }
    append_line(manifest, entry)
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
                state.without_pairs_ids += payload.get("without_pairs_ids", [])
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


def _ray_options(cfg: Any) -> Any:
    from omegaconf import OmegaConf

    from stance.settings import RaySettings

    return OmegaConf.merge(OmegaConf.structured(RaySettings), cfg.get("ray") or {})


def ray_pipeline(shards: list[Shard], spec: ModelSpec, options: Any) -> Any:
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
    from stance.actors.dictionaries import NAMED_GAZETTEERS, gazetteer_path

    return spec if spec in NAMED_GAZETTEERS else str(gazetteer_path(spec).resolve())


def predict_shards(cfg: Any) -> dict[str, Any]:
    """stance-predict engine=ray: every pending shard of `cfg.input` scored into `cfg.output`/<shard>.parquet.

    Returns the run's counts: shards in the input, `written` this run, `skipped`
    (complete before), `unreadable`; articles, articles without pairs and pairs
    over every complete shard; `failed_inputs` (the lines of `errors.jsonl`).
    """
    from stance.actors.resolve import choose_gazetteer, predict_actors
    from stance.model import check_model_folder
    from stance.predict.batch import job_description

    options = _ray_options(cfg)
    output = Path(cfg.output)
    if output.suffix.lower() in (".jsonl", ".csv", ".parquet"):
        raise StanceError(f"output {display_path(output)}: engine=ray writes a folder of Parquet shards; name a folder")
    shards = list_shards(str(cfg.input), output)
    model_dir = check_model_folder(cfg.model_dir).absolute()  # a broken model folder stops here, before Ray starts
    actors, gazetteer = predict_actors(
        str(cfg.get("actors", "auto")), choose_gazetteer(cfg.get("gazetteer"), model_dir), output
    )
    job = {**job_description(cfg, "parquet-shards", gazetteer), "engine": "ray"}
    overwrite = bool(cfg.get("overwrite", False))
    done = complete_shards(shards, start_output(output, job, overwrite))
    pending = [s for s in shards if s.name not in done]
    spec = _model_spec(cfg, options, model_dir, gazetteer, done, actors)
    log.info("%d shards: %d done before, %d to score", len(shards), len(done), len(pending))
    written: list[dict[str, Any]] = []
    unreadable: list[_Progress] = []
    ray_init_s = None
    if pending:
        ray_init_s = start_ray(options)
        try:
            warn_if_cramped(options)
            dataset = ray_pipeline(pending, spec, options)
            batches = dataset.iter_batches(batch_format="pyarrow", batch_size=None)
            written, unreadable = _collect(batches, pending, output / MANIFEST)
        finally:
            if ray_init_s is not None:
                import ray

                ray.shutdown()
    return {**_run_counts(output, shards, done, written, unreadable), "ray_init_s": ray_init_s}


def _model_spec(
    cfg: Any, options: Any, model_dir: Path, gazetteer: str, done: dict[str, dict[str, Any]], actors: str = "auto"
) -> ModelSpec:
    """What the actors load: the command's model settings, at the precision of the shards already `done`."""
    precision = str(cfg.get("precision", "fp32"))
    chosen = [p for entry in done.values() for p in entry.get("precision", [])]
    if precision == "auto" and chosen:
        precision = chosen[0]  # one job, one numeric path: what `auto` chose for the shards already done
    threads = cfg.get("threads")
    return ModelSpec(
        model_dir=str(model_dir),
        gazetteer=_gazetteer_for_workers(gazetteer),
        actors=actors,
        references=references_on(cfg),
        context_pairs=cfg.get("context_pairs"),
        device=str(cfg.get("device", "auto")),
        batch_size=int(cfg.get("batch_size", 32)),
        precision=precision,
        threads=int(threads) if threads else max(1, int(float(options.num_cpus))),
        chunk_sentences=max(1, int(cfg.get("chunk_sentences", 2000))),
    )


def _run_counts(
    output: Path,
    shards: list[Shard],
    done: dict[str, dict[str, Any]],
    written: list[dict[str, Any]],
    unreadable: list[_Progress],
) -> dict[str, Any]:
    """Write `errors.jsonl` (the problems of every complete shard and of this run's unreadable ones); the counts."""
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
        "articles_without_pairs_ids": [i for e in entries for i in e.get("articles_without_pairs_ids", [])][
            :NAMED_WITHOUT_PAIRS
        ],
        "pairs": sum(e["rows"] for e in entries),
        "failed_inputs": len(problems),
        "output": str(output),
        "errors": str(output / ERRORS),
        "manifest": str(output / MANIFEST),
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
