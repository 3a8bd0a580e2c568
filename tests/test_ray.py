"""`stance-predict engine=ray` on a local Ray started here: the rows of `engine=local`, retries, bad shards, restart.

One module-scoped Ray (2 CPUs, no dashboard, no usage stats) serves every test;
each Ray run scores a few tiny shards with the session's tiny model. The runs
are shared between tests where one run shows several things, to keep the
module within its time budget on two cores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import apply_config

ray = pytest.importorskip("ray", reason="engine=ray needs ray: pip install -e '.[ray]'")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from stance.errors import StanceError  # noqa: E402
from stance.predict.batch import predict_files  # noqa: E402
from stance.predict.outputs import read_predictions  # noqa: E402
from stance.predict.ray import FAIL_ONCE_ENV, predict_shards  # noqa: E402
from stance.predict.ray_manifest import ERRORS, MANIFEST, list_shards  # noqa: E402
from stance.predict.ray_sizing import fitting_scorers, local_cpus  # noqa: E402
from stance.schema import OUTPUT_FIELDS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PREDICT_CLI = [sys.executable, "-c", "from stance.cli import predict_main; predict_main()"]
ACTORS = ["China", "Russia", "Japan", "India", "Iran", "Israel", "France", "Germany"]
# Small batches, so articles and shards are cut across batches, and chunks (a 10-sentence article) too.
SETTINGS = ["device=cpu", "precision=fp32", "batch_size=8", "chunk_sentences=4"]
RAY_SETTINGS = ["ray.articles_per_batch=3", "ray.pairs_per_batch=16"]
BAD_LINES = ['{"id": "b-bad", "text": 5}', "not json at all", '{"text": "China met Russia."}']


def _records(prefix: str, n: int, start: int) -> list[dict]:
    rows = []
    for i in range(start, start + n):
        a, b, c = ACTORS[i % 8], ACTORS[(i + 3) % 8], ACTORS[(i + 5) % 8]
        text = f"{a} criticised {b} over trade on day {i}. {c} sided with {a}. Nothing else happened."
        rows.append({"id": f"{prefix}{i}", "text": text, "date": f"2024-03-{i % 28 + 1:02d}", "source": "wire"})
    return rows


def _seed_records() -> list[dict]:
    """The fixture articles as raw text, one of them long enough to be scored in chunks."""
    seeds = json.loads((FIXTURES / "articles" / "good.json").read_text(encoding="utf-8"))
    rows = [{"id": s["id"], "text": " ".join(s["sentences"]), "title": s.get("title", "")} for s in seeds]
    long = " ".join(f"{ACTORS[k % 8]} warned {ACTORS[(k + 1) % 8]} in round {k}." for k in range(10))
    return [*rows, {"id": "long", "text": long, "url": "https://example.org/long"}, {"id": "quiet", "text": "Rain."}]


def _write_jsonl(path: Path, records: list[dict], extra: list[str] = ()) -> None:
    lines = [json.dumps(r) for r in records]
    lines[1:1] = extra  # bad lines among good ones, so the line numbers matter
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray for this module (or the one already running), without dashboard or usage stats."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> dict[str, Path]:
    """`in/`: two JSONL shards (one with bad lines), a Parquet shard and a corrupt Parquet file for engine=ray;
    `ref/`: the same articles as JSONL for engine=local."""
    tmp = tmp_path_factory.mktemp("shards")
    source, ref = tmp / "in", tmp / "ref"
    source.mkdir()
    ref.mkdir()
    a, b, c = _seed_records() + _records("a", 3, 0), _records("b", 5, 3), _records("c", 4, 8)
    for folder in (source, ref):
        _write_jsonl(folder / "shard_a.jsonl", a)
        _write_jsonl(folder / "shard_b.jsonl", b, BAD_LINES)
    _write_jsonl(ref / "shard_c.jsonl", c)
    pq.write_table(pa.Table.from_pylist(c), source / "shard_c.parquet")
    (source / "broken.parquet").write_bytes(b"PAR1 this is not a parquet file PAR1")
    return {"in": source, "ref": ref, "tmp": tmp}


@pytest.fixture(scope="module")
def reference(trained, shards) -> tuple[list[dict], list[dict], dict]:
    """engine=local on the same articles: (rows, problems, counts)."""
    out = shards["tmp"] / "local" / "rows.jsonl"
    cfg = apply_config("predict", f"model_dir={trained[0]}", f"input={shards['ref']}", f"output={out}", *SETTINGS)
    counts = predict_files(cfg)
    problems = [json.loads(line) for line in out.with_name("rows.errors.jsonl").read_text().splitlines()]
    return [r.to_dict() for r in read_predictions(out)], problems, counts


def _run(model: Path, source: Path, output: Path) -> dict:
    args = [f"model_dir={model}", f"input={source}", f"output={output}", *SETTINGS, *RAY_SETTINGS]
    return predict_shards(apply_config("predict", "engine=ray", *args))


@pytest.fixture(scope="module")
def first_run(local_ray, trained, shards) -> tuple[dict, Path]:
    """engine=ray over `in/`, one scoring worker killed mid-job (the test hook): the tests below read it."""
    died = shards["tmp"] / "died"
    os.environ[FAIL_ONCE_ENV] = str(died)
    try:
        output = shards["tmp"] / "ray"
        result = _run(trained[0], shards["in"], output)
    finally:
        del os.environ[FAIL_ONCE_ENV]
    return {**result, "worker_died": died.exists()}, output


def _rows(output: Path) -> list[dict]:
    return [r for f in sorted(output.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def _key(row: dict) -> tuple:
    return row["article_id"], row["sentence_index"], row["actor"], row["target"]


def _assert_same_rows(rows: list[dict], expected: list[dict]) -> None:
    """The same rows, each exactly once: every field equal, probabilities to the last of their 6 decimals (other batches, other rounding)."""
    assert len({_key(r) for r in rows}) == len(rows)
    assert sorted(map(_key, rows)) == sorted(map(_key, expected))
    by_key = {_key(r): r for r in rows}
    for want in expected:
        got = by_key[_key(want)]
        assert list(got) == OUTPUT_FIELDS
        for name in OUTPUT_FIELDS:
            if name.startswith("p_"):
                assert got[name] == pytest.approx(want[name], abs=2e-6), (name, want)
            else:
                assert got[name] == want[name], (name, want)


def test_ray_rows_equal_local_rows(first_run, reference) -> None:
    result, output = first_run
    expected, _, counts = reference
    _assert_same_rows(_rows(output), expected)
    # Row for row: each shard holds its articles' rows in the order engine=local writes them.
    for name in ("shard_a", "shard_b", "shard_c"):
        rows = pq.read_table(output / f"{name}.parquet").to_pylist()
        ids = {r["article_id"] for r in rows}
        assert [_key(r) for r in rows] == [_key(r) for r in expected if r["article_id"] in ids]
    assert pq.read_schema(output / "shard_a.parquet").names == OUTPUT_FIELDS
    assert len({r["sentence_index"] for r in expected if r["article_id"] == "long"}) > 4  # scored in chunks
    for name in ("articles", "articles_without_pairs", "pairs"):
        assert result[name] == counts[name], name
    assert counts["articles_without_pairs"] == 1
    assert len(result["articles_without_pairs_ids"]) == 1  # named, as engine=local names them


def test_bad_shard_is_reported_and_the_good_ones_land(first_run, reference, shards) -> None:
    result, output = first_run
    _, local_problems, _ = reference
    assert sorted(p.name for p in output.glob("*.parquet")) == ["shard_a.parquet", "shard_b.parquet", "shard_c.parquet"]
    assert (result["shards"], result["written"], result["unreadable"]) == (4, 3, 1)
    problems = [json.loads(line) for line in (output / ERRORS).read_text().splitlines()]
    broken = [p for p in problems if p["file"].endswith("broken.parquet")]
    assert len(broken) == 1 and broken[0]["line"] is None and "cannot read Parquet" in broken[0]["message"]
    # A bad line is named as engine=local names it: file, line, field, message.
    lines = [{k: p[k] for k in ("line", "article", "field", "message")} for p in problems if p not in broken]
    assert lines == [{k: p[k] for k in ("line", "article", "field", "message")} for p in local_problems]
    assert all(p["file"].endswith("shard_b.jsonl") for p in problems if p not in broken)
    assert result["failed_inputs"] == len(problems) == len(BAD_LINES) + 1
    manifest = [json.loads(line) for line in (output / MANIFEST).read_text().splitlines()]
    assert "job" in manifest[0] and sorted(e["shard"] for e in manifest[1:]) == [
        "shard_a.jsonl",
        "shard_b.jsonl",
        "shard_c.parquet",
    ]


def test_a_killed_scoring_worker_is_retried_and_nothing_is_lost_or_doubled(first_run, reference) -> None:
    result, output = first_run
    assert result["worker_died"]  # the scoring actor's process exited in its second batch...
    _assert_same_rows(_rows(output), reference[0])  # ...and Ray restarted it and retried: every row exactly once
    assert result["written"] == 3 and result["pairs"] == len(reference[0])


def test_restart_redoes_only_the_missing_shard(local_ray, first_run, trained, shards, reference) -> None:
    _, first = first_run
    output = shards["tmp"] / "restart"
    shutil.copytree(first, output)
    (output / "shard_b.parquet").unlink()
    (output / ".shard_c.parquet.tmp-99999").write_bytes(b"half a file")  # a killed run's staging file
    with (output / MANIFEST).open("a") as handle:
        handle.write('{"shard": "shard_b.jsonl", "rows"')  # and a torn manifest line
    kept = {name: (output / name).stat().st_mtime_ns for name in ("shard_a.parquet", "shard_c.parquet")}
    # Through the command line, joining the running Ray as a user joins a cluster (RAY_ADDRESS).
    env = {**os.environ, "RAY_ADDRESS": local_ray, "STANCE_PROGRESS": "0", "HF_HUB_OFFLINE": "1"}
    args = [f"model_dir={trained[0]}", f"input={shards['in']}", f"output={output}", *SETTINGS, *RAY_SETTINGS]
    done = subprocess.run(
        [*PREDICT_CLI, "engine=ray", *args, f"hydra.run.dir={shards['tmp']}/h"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr  # 1: some inputs could not be read (the broken shard, the bad lines)
    assert "4 shards: 1 written now, 2 done before, 1 unreadable" in done.stdout, done.stdout
    assert {name: (output / name).stat().st_mtime_ns for name in kept} == kept
    assert not list(output.glob(".*"))
    _assert_same_rows(_rows(output), reference[0])
    problems = (output / ERRORS).read_text().splitlines()
    assert len(problems) == len(BAD_LINES) + 1  # those of the skipped shards too, each once


def test_engine_is_checked_and_shard_names_must_not_collide(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="bogus"):
        apply_config("predict", "engine=bogus", "model_dir=m", "input=i", "output=o")
    cfg = apply_config("predict", "model_dir=m", "input=i", "output=o")
    assert cfg.engine == "local" and cfg.ray.concurrency == 1 and cfg.ray.address is None
    (tmp_path / "x.jsonl").write_text("{}\n")
    (tmp_path / "x.parquet").write_bytes(b"")
    with pytest.raises(StanceError, match=r"both be written to x\.parquet"):
        list_shards(str(tmp_path), tmp_path / "out")
    with pytest.raises(StanceError, match=r"no \.jsonl or \.parquet shards"):
        list_shards(str(tmp_path / "*.txt"), tmp_path / "out")


def test_the_scoring_actors_that_fit_beside_the_pair_finders() -> None:
    """`ray start --head` on 2 cores gives 2 CPUs: 2 scorers × 1 CPU and a 0.5-CPU pair finder do not fit."""
    cfg = apply_config("predict", "model_dir=m", "input=i", "output=o", "ray.concurrency=2")
    assert fitting_scorers(2, cfg.ray) == 1
    assert fitting_scorers(3, cfg.ray) == 2
    assert fitting_scorers(64, cfg.ray) == 2
    assert fitting_scorers(0.5, cfg.ray) == 0
    # A local Ray on 2 cores gets room for both scorers and the light stages.
    assert local_cpus(2, cfg.ray) == 3
    assert fitting_scorers(local_cpus(2, cfg.ray), cfg.ray) == 2
    half = apply_config("predict", "model_dir=m", "input=i", "output=o", "ray.concurrency=3", "ray.num_cpus=0.5")
    assert fitting_scorers(2, half.ray) == 3


def test_the_stages_in_process_drop_only_an_article_that_cannot_be_scored(trained, tmp_path: Path) -> None:
    """parse → pairs → scores → shard file, without Ray: a Parquet shard with a date column, one article failing."""
    import datetime

    from stance.actors.resolve import choose_gazetteer
    from stance.predict.ray import _collect
    from stance.predict.ray_manifest import Shard
    from stance.predict.ray_stages import ModelSpec, PairFinder, PairScorer, parse_shards

    records = [{**r, "date": datetime.date(2024, 3, 1)} for r in _records("p", 4, 0)]
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(records), sink)
    batch = pa.Table.from_pylist([{"bytes": sink.getvalue().to_pybytes(), "path": "/elsewhere/p.parquet"}])
    spec = ModelSpec(str(trained[0]), choose_gazetteer(None, trained[0], "phoenix"), "gazetteer")
    pairs = PairFinder(spec)(parse_shards(batch, {"p.parquet": "in/p.parquet"}))
    scorer = PairScorer(spec)
    score = scorer.classifier._score_articles

    def flaky(pending, show_progress=False):
        if any(article.id == "p1" for article, _ in pending):
            raise RuntimeError("boom")
        return score(pending, show_progress)

    scorer.classifier._score_articles = flaky
    shard = Shard("p.parquet", "/elsewhere/p.parquet", "in/p.parquet", tmp_path / "p.parquet")
    written, unreadable = _collect([scorer(pairs)], [shard], tmp_path / MANIFEST)
    assert unreadable == [] and len(written) == 1
    entry = written[0]
    assert entry["articles"] == 3 and [p["article"] for p in entry["problems"]] == ["p1"]
    assert entry["problems"][0]["file"] == "in/p.parquet" and entry["problems"][0]["line"] == 2
    assert "could not be scored: RuntimeError: boom" in entry["problems"][0]["message"]
    rows = pq.read_table(tmp_path / "p.parquet").to_pylist()
    assert entry["rows"] == len(rows) > 0 and {r["article_id"] for r in rows} == {"p0", "p2", "p3"}
    assert {r["date"] for r in rows} == {"2024-03-01"}


def test_a_refused_cluster_connection_says_what_to_set() -> None:
    from stance.predict.ray_sizing import refused_connection

    class InvalidAuthToken(Exception):
        pass

    auth = refused_connection("10.0.0.5:6379", InvalidAuthToken("the token does not match"))
    assert "10.0.0.5:6379 refused this driver" in auth and "RAY_AUTH_MODE=token" in auth
    assert "ray get-auth-token" in auth
    unreachable = refused_connection("nowhere:6379", ConnectionError("Could not find any running Ray instance"))
    assert "cannot join the Ray cluster at nowhere:6379" in unreachable and "ray start --head" in unreachable


def test_start_ray_turns_a_failed_join_into_a_named_error(monkeypatch) -> None:
    import ray

    from stance.errors import StanceError
    from stance.predict.ray_sizing import start_ray

    def refuse(**_: object) -> None:
        raise ConnectionError("Could not find any running Ray instance")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refuse)
    with pytest.raises(StanceError, match=r"cannot join the Ray cluster at 127.0.0.1:1"):
        start_ray({"address": "127.0.0.1:1"})
