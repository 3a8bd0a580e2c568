"""The synthetic data of the report benchmark (bench/report/run.py): its shape, skew and determinism."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from bench.report import run as report_bench
from bench.report import synthetic
from stance.schema import OUTPUT_FIELDS

ROWS = 20_000


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("bench") / "p.parquet"
    (written,) = synthetic.generate(path, rows=ROWS, actors=2_000, seed=3, chunk_rows=7_000)
    return written, pq.read_table(written).to_pydict()


def test_schema_and_rows(data):
    path, cols = data
    assert pq.read_schema(path).names == OUTPUT_FIELDS
    from stance.predict.outputs import parquet_schema  # the output formats load without torch

    assert pq.read_schema(path).remove_metadata().equals(parquet_schema())
    assert len(cols["actor"]) == ROWS
    assert set(cols["stance"]) <= {"support", "oppose", "neutral"}
    p = np.array([cols["p_support"], cols["p_oppose"], cols["p_neutral"]]).T
    assert np.allclose(p.sum(axis=1), 1.0, atol=3e-6)
    assert [("support", "oppose", "neutral")[i] for i in p.argmax(axis=1)] == cols["stance"]
    assert all(a != t for a, t in zip(cols["actor"], cols["target"], strict=True))
    assert all(60 <= len(s) <= 100 for s in cols["sentence"])
    assert len(pq.ParquetFile(path).metadata.row_group(0).to_dict()["columns"]) == len(OUTPUT_FIELDS)
    assert pq.ParquetFile(path).metadata.num_row_groups == 3  # chunks of 7,000 rows


def test_skew(data):
    _, cols = data
    _, counts = np.unique(cols["actor"], return_counts=True)
    counts = np.sort(counts)[::-1]
    assert counts[0] > 20 * np.median(counts)
    assert cols["actor"].count("United States") == counts[0]
    aff = [a or b for a, b in zip(cols["actor_affiliation"], cols["actor"], strict=True)]
    assert len(set(aff)) <= 300 + len(set(cols["actor"]))  # the few without an affiliation roll up to themselves
    assert len(set(cols["actor_affiliation"]) - {""}) <= 300
    assert len(set(cols["source"])) <= 200


def test_articles(data):
    _, cols = data
    first, last = dt.date(2015, 1, 1).isoformat(), dt.date(2024, 12, 31).isoformat()
    assert all(first <= d <= last and len(d) == 10 for d in cols["date"])
    ids = cols["article_id"]
    runs = [i for i in range(len(ids)) if i == 0 or ids[i] != ids[i - 1]]
    assert len(runs) == len(set(ids))  # each article's rows are contiguous
    lengths = np.diff([*runs, len(ids)])
    assert lengths.min() >= 5 and lengths.max() <= 15
    for start, n in zip(runs, lengths, strict=True):
        rows = range(start, start + n)
        assert len({cols["date"][i] for i in rows}) == 1
        assert len({cols["url"][i] for i in rows}) == 1
        assert 2 <= len({cols["actor"][i] for i in rows} | {cols["target"][i] for i in rows}) <= 5
        index = [cols["sentence_index"][i] for i in rows]
        assert index == sorted(index)
    keys = set(zip(ids, cols["sentence_index"], cols["actor"], cols["target"], strict=True))
    assert len(keys) == ROWS


def test_deterministic_by_seed(data, tmp_path):
    path, _ = data
    same = synthetic.generate(tmp_path / "same.parquet", rows=ROWS, actors=2_000, seed=3, chunk_rows=7_000)[0]
    other = synthetic.generate(tmp_path / "other.parquet", rows=ROWS, actors=2_000, seed=4, chunk_rows=7_000)[0]
    assert pq.read_table(same).equals(pq.read_table(path))
    assert not pq.read_table(other).equals(pq.read_table(path))


def test_files_and_counts_check(tmp_path):
    paths = synthetic.generate(tmp_path / "data", rows=3_000, actors=500, seed=0, files=3)
    assert [p.name for p in paths] == [f"predictions-0000{i}.parquet" for i in range(3)]
    assert sum(pq.read_metadata(p).num_rows for p in paths) == 3_000
    ids = [set(pq.read_table(p, columns=["article_id"])["article_id"].to_pylist()) for p in paths]
    assert not (ids[0] & ids[1]) and not (ids[1] & ids[2])  # no article straddles files
    out = tmp_path / "report"
    result = report_bench.run(report_bench.standin_command(tmp_path / "data", out, 1), cores=1)
    assert result["returncode"] == 0, result["stderr_tail"]
    assert result["peak_tree_rss_bytes"] > 0 and result["wall_s"] > 0
    check = report_bench.count_check(out, 3_000)
    assert check["ok"] and check["level_column"], check
    assert [o["file"] for o in report_bench.list_outputs(out)] == ["edges.parquet"]
