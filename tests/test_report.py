"""stance-report: edges that add back up to the predictions, the same report from any input form, the page in a browser."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from helpers import apply_config

from stance.errors import StanceError
from stance.predict.outputs import write_parquet
from stance.report.build import build_report
from stance.report.edges import iter_edges
from stance.report.intervals import bootstrap_intervals
from stance.schema import OUTPUT_FIELDS, PairPrediction

TYPES = {"Joe Biden": "person", "China": "country", "Russia": "country", "United States": "country"}


def _row(article, index, actor, target, stance, ps, po, date, source, actor_aff="", target_aff="") -> PairPrediction:
    return PairPrediction(
        article_id=article,
        sentence_index=index,
        sentence=f"{actor} and {target}, sentence {index} of {article}.",
        actor=actor,
        target=target,
        stance=stance,
        p_support=ps,
        p_oppose=po,
        p_neutral=round(1 - ps - po, 6),
        model="tiny",
        actor_affiliation=actor_aff,
        target_affiliation=target_aff,
        actor_type=TYPES.get(actor, ""),
        target_type=TYPES.get(target, ""),
        actor_start=0,
        actor_end=len(actor),
        target_start=len(actor) + 5,
        target_end=len(actor) + 5 + len(target),
        date=date,
        source=source,
        url=f"https://news.example/{article}",
    )


# Four articles, two outlets, one undated article; Joe Biden rolls up to the United States.
ROWS = [
    _row("a1", 0, "Joe Biden", "China", "oppose", 0.1, 0.8, "2024-05-01", "Left Post", "United States"),
    _row("a1", 1, "China", "Joe Biden", "neutral", 0.2, 0.2, "2024-05-01", "Left Post", "", "United States"),
    _row("a1", 2, "Russia", "China", "support", 0.9, 0.05, "2024-05-01", "Left Post"),
    _row("a2", 0, "Joe Biden", "China", "oppose", 0.05, 0.9, "2024-05-20T08:00:00Z", "Right Times", "United States"),
    _row("a2", 3, "Joe Biden", "China", "support", 0.6, 0.3, "2024-05-20T08:00:00Z", "Right Times", "United States"),
    _row("a3", 0, "United States", "China", "oppose", 0.1, 0.7, "2024-06-02", "Right Times"),
    _row("a3", 1, "Russia", "China", "support", 0.7, 0.1, "2024-06-02", "Right Times"),
    _row("a4", 0, "Russia", "China", "neutral", 0.3, 0.3, "", "Left Post"),
]
# (actor, target) → n, support, oppose, neutral, articles, sources, first, last, net, by hand from ROWS.
ENTITY = {
    ("Joe Biden", "China"): (3, 1, 2, 0, 2, 2, "2024-05-01", "2024-05-20", (-0.7 - 0.85 + 0.3) / 3),
    ("Russia", "China"): (3, 2, 0, 1, 3, 2, "2024-05-01", "2024-06-02", (0.85 + 0.6 + 0.0) / 3),
    ("China", "Joe Biden"): (1, 0, 0, 1, 1, 1, "2024-05-01", "2024-05-01", 0.0),
    ("United States", "China"): (1, 0, 1, 0, 1, 1, "2024-06-02", "2024-06-02", -0.6),
}
AFFILIATION = {
    ("United States", "China"): (4, 1, 3, 0, 3, 2, "2024-05-01", "2024-06-02", (-0.7 - 0.85 + 0.3 - 0.6) / 4),
    ("Russia", "China"): ENTITY[("Russia", "China")],
    ("China", "United States"): (1, 0, 0, 1, 1, 1, "2024-05-01", "2024-05-01", 0.0),
}


def write_jsonl(rows, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in rows), encoding="utf-8")
    return path


def write_csv(rows, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=OUTPUT_FIELDS)
        writer.writeheader()
        writer.writerows(r.to_dict() for r in rows)
    return path


def report(predictions, output: Path, *overrides: str) -> dict:
    cfg = apply_config("report", f"predictions={predictions}", f"output={output}", *overrides)
    return build_report(cfg)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The corpus as JSONL, with an outlet-group file beside it, and its report."""
    root = tmp_path_factory.mktemp("report")
    write_jsonl(ROWS, root / "rows.jsonl")
    (root / "outlets.csv").write_text("source,group\nLeft Post,left\nRight Times,right\n", encoding="utf-8")
    report(root / "rows.jsonl", root / "out", f"report.source_groups={root / 'outlets.csv'}", "report.bootstrap=300")
    return root


def _edges(folder: Path, level: str) -> dict:
    return {(e["actor"], e["target"]): e for e in iter_edges(folder / "edges.parquet", level)}


@pytest.mark.parametrize(("level", "expected"), [("entity", ENTITY), ("affiliation", AFFILIATION)])
def test_edges_are_the_hand_computed_ones_and_add_up_to_the_rows(corpus: Path, level: str, expected: dict) -> None:
    edges = _edges(corpus / "out", level)
    assert set(edges) == set(expected)
    for key, (n, support, oppose, neutral, articles, sources, first, last, net) in expected.items():
        e = edges[key]
        assert (e["n"], e["support"], e["oppose"], e["neutral"]) == (n, support, oppose, neutral), key
        assert (e["articles"], e["sources"]) == (articles, sources), key
        assert (str(e["first_date"]), str(e["last_date"])) == (first, last), key
        assert e["net"] == pytest.approx(net, abs=1e-6)
        assert e["net_low"] <= e["net"] + 1e-9 and e["net"] <= e["net_high"] + 1e-9
        if articles == 1:  # one article: nothing to resample
            assert e["net_low"] == e["net_high"] == e["net"]
    assert sum(e["n"] for e in edges.values()) == len(ROWS)
    assert sum(e["support"] + e["oppose"] + e["neutral"] for e in edges.values()) == len(ROWS)
    # Joe Biden → China over articles a1 (−0.7 from 1 row) and a2 (−0.55 from 2 rows): resamples lie between.
    if level == "entity":
        low, high = edges[("Joe Biden", "China")]["net_low"], edges[("Joe Biden", "China")]["net_high"]
        assert -0.7 <= low < high <= -0.275 + 1e-9


def test_the_same_report_from_jsonl_csv_parquet_and_many_files(corpus: Path, tmp_path: Path) -> None:
    inputs = {
        "csv": write_csv(ROWS, tmp_path / "rows.csv"),
        "parquet": tmp_path / "rows.parquet",
        "folder": tmp_path / "shards",
        "glob": tmp_path / "mixed" / "*.*",
    }
    write_parquet(iter(ROWS), inputs["parquet"], row_group_rows=3)
    assert pq.ParquetFile(inputs["parquet"]).metadata.num_row_groups > 1
    write_jsonl(ROWS[:4], inputs["folder"] / "part-1.jsonl")
    write_jsonl(ROWS[4:], inputs["folder"] / "part-2.jsonl")
    # What stance-predict writes beside its predictions (engine=ray's manifest too) is not read as predictions.
    for sidecar in ("manifest.jsonl", "errors.jsonl", "part-2.summary.json", "part-2.jsonl.progress.jsonl"):
        (inputs["folder"] / sidecar).write_text('{"job": {}}\n', encoding="utf-8")
    write_csv(ROWS[:2], tmp_path / "mixed" / "a.csv")
    write_parquet(iter(ROWS[2:5]), tmp_path / "mixed" / "b.parquet")
    write_jsonl(ROWS[5:], tmp_path / "mixed" / "c.jsonl")
    groups = f"report.source_groups={corpus / 'outlets.csv'}"
    reference = corpus / "out"
    for name, source in inputs.items():
        out = tmp_path / f"out-{name}"
        facts = report(source, out, groups, "report.bootstrap=300")
        assert facts["rows"] == len(ROWS), name
        assert pq.read_table(out / "edges.parquet").equals(pq.read_table(reference / "edges.parquet")), name
        for file in ("timeseries.csv", "groups.csv", "evidence.jsonl", "edges.csv"):
            assert (out / file).read_text() == (reference / file).read_text(), (name, file)


def test_time_series_and_outlet_groups(corpus: Path) -> None:
    with (corpus / "out" / "timeseries.csv").open() as handle:
        series = {(r["actor"], r["target"], r["group"], r["period"]): r for r in csv.DictReader(handle)}
    may = series[("Joe Biden", "China", "all", "2024-05-01")]
    assert (int(may["n"]), int(may["articles"])) == (3, 2)
    # The undated article a4 is in the edges but in no period.
    assert int(series[("Russia", "China", "all", "2024-05-01")]["n"]) == 1
    assert int(series[("Russia", "China", "all", "2024-06-01")]["n"]) == 1
    assert float(series[("Joe Biden", "China", "right", "2024-05-01")]["net"]) == pytest.approx(-0.275)
    with (corpus / "out" / "groups.csv").open() as handle:
        groups = {(r["actor"], r["target"], r["group"]): r for r in csv.DictReader(handle)}
    assert float(groups[("Joe Biden", "China", "left")]["net"]) == pytest.approx(-0.7)
    assert float(groups[("Russia", "China", "left")]["net"]) == pytest.approx((0.85 + 0.0) / 2)
    assert int(groups[("Russia", "China", "left")]["articles"]) == 2  # a4 is undated but has an outlet
    for name in ("timeseries.png", "groups.png", "network.png"):
        assert (corpus / "out" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evidence_keeps_the_most_confident_sentences_per_edge(corpus: Path, tmp_path: Path) -> None:
    lines = [json.loads(line) for line in (corpus / "out" / "evidence.jsonl").read_text().splitlines()]
    biden = [e for e in lines if (e["actor"], e["target"]) == ("Joe Biden", "China")]
    assert [(e["stance"], e["p"], e["article_id"]) for e in biden] == [
        ("oppose", 0.9, "a2"),
        ("oppose", 0.8, "a1"),
        ("support", 0.6, "a2"),
    ]
    assert biden[0]["url"] == "https://news.example/a2" and biden[0]["source"] == "Right Times"
    assert not [e for e in lines if e["stance"] == "neutral"]
    report(corpus / "rows.jsonl", tmp_path / "one", "report.evidence=1", "report.bootstrap=10")
    one = (tmp_path / "one" / "evidence.jsonl").read_text().splitlines()
    assert len([e for e in map(json.loads, one) if e["actor"] == "Joe Biden"]) == 2  # one oppose, one support


def test_evidence_marks_the_words_read_as_actor_and_target_with_the_names_they_resolved_to(corpus) -> None:
    from stance.report.page import marked_sentence

    lines = [json.loads(line) for line in (corpus / "out" / "evidence.jsonl").read_text().splitlines()]
    assert all(e["actor_start"] == 0 and e["target_end"] > e["target_start"] > e["actor_end"] for e in lines)
    page = (corpus / "out" / "index.html").read_text(encoding="utf-8")
    assert '<mark class=actor title="actor: Joe Biden">Joe Biden</mark> and <mark class=target' in page
    sentence = "Senate Republicans believe a vote to acquit is due."
    e = {"sentence": sentence, "actor": "Donald Trump", "target": "United States Congress"}
    shown = marked_sentence({**e, "actor_start": -1, "actor_end": -1, "target_start": 0, "target_end": 6})
    assert shown.startswith('<mark class=target title="target: United States Congress">Senate</mark>')
    assert "[United States Congress]" in shown  # the resolved name beside the surface word
    assert "actor Donald Trump named elsewhere" in shown
    assert marked_sentence({**e, "actor_start": None, "actor_end": None, "target_start": 90, "target_end": 99}) == (
        sentence + " <span class=meta>(actor Donald Trump named elsewhere; target United States Congress named "
        "elsewhere)</span>"
    )  # offsets a file does not have, or that do not fit the sentence, mark nothing


def test_articles_without_an_actor_pair_are_named_in_the_report(corpus: Path, tmp_path: Path) -> None:
    import shutil

    rows = shutil.copy(corpus / "rows.jsonl", tmp_path / "rows.jsonl")
    run = {"articles": 5, "articles_without_pairs": 1, "articles_without_pairs_ids": ["breitbart-7"]}
    (tmp_path / "rows.summary.json").write_text(json.dumps({"run": run}), encoding="utf-8")
    facts = report(rows, tmp_path / "out", "report.bootstrap=10")
    assert facts["articles_without_pairs"] == ["breitbart-7"]
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "Articles without an actor pair" in page and "breitbart-7" in page
    assert json.loads((tmp_path / "out" / "report.json").read_text())["articles_without_pairs"] == ["breitbart-7"]


def test_network_files_open_in_networkx(corpus: Path) -> None:
    import networkx as nx

    for graph in (nx.read_graphml(corpus / "out" / "network.graphml"), nx.read_gexf(corpus / "out" / "network.gexf")):
        assert {(a, t): int(d["n"]) for a, t, d in graph.edges(data=True)} == {k: v[0] for k, v in ENTITY.items()}
        # Nodes carry what Gephi colours by: the type, the affiliation (the actor's own name when it has none),
        # code, source.
        assert graph.nodes["Joe Biden"]["affiliation"] == "United States"
        assert (graph.nodes["Joe Biden"]["type"], graph.nodes["China"]["type"]) == ("person", "country")
        assert graph.nodes["China"]["affiliation"] == "China"
        assert {"code", "country", "source"} <= set(graph.nodes["Russia"])


def test_the_page_writes_an_interval_only_where_enough_articles_stand_behind_the_edge(corpus, tmp_path) -> None:
    import re

    page = (corpus / "out" / "index.html").read_text(encoding="utf-8")
    cell = r'<td class=num data-v="[^"]+">([^<]*(?:…|article)[^<]*)</td><td class=num data-v="(\d+)">'
    intervals = dict((articles, shown) for shown, articles in re.findall(cell, page))
    assert intervals["1"] == "1 article" and intervals["2"] == "2 articles"  # the default: 3 or more
    assert "…" in intervals["3"]
    report(corpus / "rows.jsonl", tmp_path / "one", "report.interval_articles=1", "report.bootstrap=10")
    assert "1 article<" not in (tmp_path / "one" / "index.html").read_text(encoding="utf-8")


def test_an_empty_predictions_file_is_said_to_hold_no_predictions(tmp_path: Path, corpus: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(StanceError, match=r"empty.jsonl: no predictions in it \(empty: stance-predict found no"):
        report(empty, tmp_path / "out")
    # Beside a file with rows, an empty one adds nothing and stops nothing.
    both = tmp_path / "both"
    both.mkdir()
    (both / "a.jsonl").write_text((corpus / "rows.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    (both / "b.jsonl").write_text("\n", encoding="utf-8")
    assert report(both, tmp_path / "both-out")["rows"] == len(ROWS)


def test_bootstrap_matches_the_ordinary_bootstrap_over_articles() -> None:
    rng = np.random.default_rng(1)
    k = 40
    weight = rng.integers(1, 6, size=k).astype(float)
    value = weight * rng.normal(0.2, 0.4, size=k)
    keys = np.zeros(k, dtype=np.int64)
    estimate, low, high = bootstrap_intervals(keys, value, weight, replicates=4000, seed=3, chunk_rows=7)
    draws = rng.integers(0, k, size=(4000, k))
    ordinary = value[draws].sum(axis=1) / weight[draws].sum(axis=1)
    assert estimate[0] == pytest.approx(value.sum() / weight.sum())
    assert low[0] == pytest.approx(np.quantile(ordinary, 0.025), abs=0.02)
    assert high[0] == pytest.approx(np.quantile(ordinary, 0.975), abs=0.02)
    # Several keys at once, one of a single row: each key is resampled on its own rows only.
    keys2 = np.array([0, 0, 0, 1, 2, 2], dtype=np.int64)
    values2 = np.array([1.0, -1.0, 1.0, 0.5, -1.0, -1.0])
    est, lo, hi = bootstrap_intervals(keys2, values2, np.ones(6), replicates=500, seed=0)
    assert list(est) == pytest.approx([1 / 3, 0.5, -1.0])
    assert (lo[1], hi[1]) == (0.5, 0.5) and (lo[2], hi[2]) == (-1.0, -1.0)
    assert -1.0 <= lo[0] < est[0] < hi[0] <= 1.0


def test_bad_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(StanceError, match="do not exist"):
        report(tmp_path / "nothing.jsonl", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(StanceError, match=r"no \.jsonl, \.csv or \.parquet"):
        report(tmp_path / "empty", tmp_path / "out")
    other = tmp_path / "other.jsonl"
    other.write_text('{"id": "a", "text": "not a prediction"}\n')
    with pytest.raises(StanceError, match=r"other.jsonl: not prediction files \(no column article_id"):
        report(other, tmp_path / "out")
    bad = write_jsonl([_row("a", 0, "A", "B", "maybe", 0.1, 0.1, "", "")], tmp_path / "bad.jsonl")
    with pytest.raises(StanceError, match="stance other than support, oppose or neutral"):
        report(bad, tmp_path / "out")
    groups = tmp_path / "groups.csv"
    groups.write_text("outlet,lean\nX,left\n")
    with pytest.raises(StanceError, match="columns source and group"):
        report(write_jsonl(ROWS, tmp_path / "ok.jsonl"), tmp_path / "out", f"report.source_groups={groups}")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium; .ci/run installs it)")
def test_the_page_renders_in_headless_chromium_without_script_errors(corpus: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    page_path = corpus / "out" / "index.html"
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*flags, "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(page_path.as_uri())
        assert page.locator("img").count() >= 3  # network, time series, outlet groups, all inline
        n = "#edges-entity tbody tr td:nth-child(3)"
        page.click("#edges-entity th:nth-child(3)")  # sort by n, ascending
        assert page.eval_on_selector_all(n, "cells => cells.map(c => +c.textContent)") == [1, 1, 3, 3]
        page.click("#edges-entity th:nth-child(3)")
        assert page.eval_on_selector_all(n, "cells => cells.map(c => +c.textContent)") == [3, 3, 1, 1]
        page.click("#edges-entity details summary >> nth=0")
        assert page.locator("#edges-entity details[open] li").count() >= 1
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert errors == []
    assert shot.stat().st_size > 20_000


def test_a_time_series_breaks_at_empty_periods_instead_of_joining_across_them() -> None:
    import datetime as dt
    import math

    from stance.report.figures import with_gaps

    def cell(period: str, net: float) -> dict:
        return {"period": period, "net": net, "net_low": net - 0.1, "net_high": net + 0.1}

    line = [cell("2020-01-01", 0.1), cell("2020-02-01", 0.2), cell("2021-04-01", -0.3), cell("2021-12-01", 0.0)]
    x, y = with_gaps(line, "month")
    assert x[:4] == [dt.date(2020, 1, 1), dt.date(2020, 2, 1), dt.date(2020, 3, 1), dt.date(2021, 4, 1)]
    assert [math.isnan(v) for v in y["net"]] == [False, False, True, False, True, False]
    assert x[4] == dt.date(2021, 5, 1) and y["net_high"][3] == pytest.approx(-0.2)
    weeks, _ = with_gaps([cell("2024-01-01", 0), cell("2024-01-08", 0), cell("2024-01-29", 0)], "week")
    assert weeks == [dt.date(2024, 1, 1), dt.date(2024, 1, 8), dt.date(2024, 1, 15), dt.date(2024, 1, 29)]
    years, _ = with_gaps([cell("2019-01-01", 0), cell("2020-01-01", 0)], "year")
    assert years == [dt.date(2019, 1, 1), dt.date(2020, 1, 1)]  # consecutive: no break
    december, _ = with_gaps([cell("2020-12-01", 0), cell("2021-01-01", 0)], "month")
    assert len(december) == 2
