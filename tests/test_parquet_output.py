"""stance-predict output=*.parquet: the same rows as JSONL, in row groups of whole articles, restartable."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from test_robustness import _many_articles, jsonl, predict_config

from stance.predict.batch import journal_path, predict_files
from stance.predict.commitlog import progress_path
from stance.predict.outputs import read_predictions


def test_parquet_output_holds_the_jsonl_rows_in_article_aligned_row_groups(trained, tmp_path: Path) -> None:
    folder, _ = trained
    inputs = tmp_path / "in"
    _many_articles(inputs, 12)
    reference = tmp_path / "ref" / "rows.jsonl"
    predict_files(predict_config(folder, inputs, reference, precision="fp32"))
    out = tmp_path / "run" / "rows.parquet"
    result = predict_files(predict_config(folder, inputs, out, precision="fp32", row_group_rows=5))
    rows = pq.read_table(out).to_pylist()
    assert rows == [r.to_dict() for r in read_predictions(reference)] == jsonl(reference)
    assert result["pairs"] == len(rows) and result["articles"] == 12
    assert not journal_path(out).exists()
    # Each row group closes at an article boundary.
    file = pq.ParquetFile(out)
    assert file.metadata.num_row_groups > 1
    last = None
    for g in range(file.metadata.num_row_groups):
        ids = file.read_row_group(g, columns=["article_id"]).column(0).to_pylist()
        assert ids[0] != last
        last = ids[-1]
    # The summary is computed from the file, as for JSONL.
    summary = json.loads(out.with_name("rows.summary.json").read_text())
    assert summary == json.loads(reference.with_name("rows.summary.json").read_text())
    # A finished job run again scores nothing and reports the same counts.
    again = predict_files(predict_config(folder, inputs, out, precision="fp32", row_group_rows=5))
    assert {k: again[k] for k in ("articles", "pairs")} == {"articles": 12, "pairs": len(rows)}
    assert pq.read_table(out).to_pylist() == rows


def test_a_killed_parquet_job_resumes_from_its_journal(trained, tmp_path: Path) -> None:
    folder, _ = trained
    inputs = tmp_path / "in"
    _many_articles(inputs, 12)
    out = tmp_path / "rows.parquet"
    cfg = predict_config(folder, inputs, out, precision="fp32")
    predict_files(cfg)
    whole = pq.read_table(out).to_pylist()
    log = progress_path(out)
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    # As if killed while writing article 6: the journal holds 6 committed articles and half of the 7th.
    journal = journal_path(out)
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in whole).encode("utf-8")
    keep = entries[:7]
    journal.write_bytes(lines[: keep[-1]["offset"] + 150])
    log.write_text("".join(json.dumps(e) + "\n" for e in keep), encoding="utf-8")
    out.unlink()
    result = predict_files(cfg)
    assert pq.read_table(out).to_pylist() == whole
    assert result["articles"] == 12 and not journal.exists()
