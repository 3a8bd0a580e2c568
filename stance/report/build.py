"""The report behind `stance-report`: the actor → target network over time and by outlet, with its evidence.

Prediction files (JSONL, CSV or Parquet; one or many) are read by DuckDB, out of
core (stance.report.predictions); every figure rests on one table, the rows
summed per (edge, article), from which the edges, their bootstrap intervals and
the time series are computed (stance.report.edges). This module runs the steps
in order and writes their files.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stance.errors import StanceError
from stance.files import atomic_path, write_text_atomic
from stance.report.edges import LEVELS, SERIES_COLUMNS, chosen_pairs, column_equals, edge_table, pair_cells
from stance.report.evidence import evidence_for, write_evidence
from stance.report.figures import actor_nodes, draw_network, draw_series, network_graph
from stance.report.page import render_page
from stance.report.predictions import (
    articles_without_pairs,
    connect,
    load_source_groups,
    open_predictions,
    prediction_files,
)

log = logging.getLogger(__name__)

Figure = tuple[str, Path, str]  # title, PNG, caption


@dataclass
class _Timer:
    started: float

    def lap(self, what: str) -> None:
        log.info("%s done at %.1f s", what, time.perf_counter() - self.started)


def _write_table(con: Any, table: Any, parquet: Path, csv_path: Path) -> None:
    con.register("out_table", table)
    with atomic_path(parquet) as staging:
        con.execute(f"COPY out_table TO '{staging}' (FORMAT parquet)")
    with atomic_path(csv_path) as staging:
        con.execute(f"COPY out_table TO '{staging}' (FORMAT csv, HEADER)")
    con.unregister("out_table")


def _write_records(records: list[dict[str, Any]], path: Path, columns: Sequence[str]) -> None:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns))
    writer.writeheader()
    writer.writerows(records)
    write_text_atomic(path, buffer.getvalue())


def build_report(cfg: Any) -> dict[str, Any]:
    """stance-report: read prediction files and write edges, network, time series, evidence and index.html."""
    options = cfg.report
    files = prediction_files(cfg.predictions)
    output = Path(cfg.output)
    output.mkdir(parents=True, exist_ok=True)
    spill = output / ".duckdb-spill"
    groups = load_source_groups(options.source_groups) if options.get("source_groups") else None
    timer = _Timer(time.perf_counter())
    con = connect(options, spill)
    try:
        facts = open_predictions(con, files, groups)
        timer.lap("reading")
        if facts["rows"] == 0:
            raise StanceError(f"predictions {cfg.predictions}: no rows")
        facts.update(_corpus_facts(con))
        # Articles with no actor pair have no rows: named from what stance-predict wrote beside the files.
        facts["articles_without_pairs"] = articles_without_pairs(files)
        facts["interval_articles"] = int(options.interval_articles)
        edges = edge_table(con, options)
        timer.lap("edges and intervals")
        _write_table(con, edges, output / "edges.parquet", output / "edges.csv")
        # Only the largest edges are drawn, listed and tabled: the rest is let go before the evidence query.
        top = _largest_edges(edges, options, facts)
        del edges
        timer.lap("edge files")

        _write_network(top["entity"], options, output, actor_nodes(con))
        title = options.get("title") or f"Stance report: {Path(str(cfg.predictions)).name}"
        timer.lap("network")

        pairs = chosen_pairs(con, top["entity"], options)
        figures: list[Figure] = [
            (
                "The network",
                output / "network.png",
                "Edge colour: net stance (blue support, red oppose); width: number of scored pairs.",
            )
        ]
        figures += _write_pair_series(con, pairs, options, bool(facts["grouped_rows"]), output)
        timer.lap("time series")
        facts["evidence_lines"] = write_evidence(con, output / "evidence.jsonl", int(options.evidence))
        timer.lap("evidence")
        shown = {level: table.slice(0, int(options.table_edges)) for level, table in top.items()}
        entity = shown["entity"]
        evidence = evidence_for(con, list(zip(entity["actor"].to_pylist(), entity["target"].to_pylist(), strict=True)))
        render_page(output / "index.html", title, facts, shown, evidence, figures)
        timer.lap("page")
    finally:
        con.close()
        if spill.exists():
            import shutil

            shutil.rmtree(spill, ignore_errors=True)
    facts["output"] = str(output)
    facts["pairs"] = [list(p) for p in pairs]
    write_text_atomic(output / "report.json", json.dumps(facts, indent=2, ensure_ascii=False) + "\n")
    return facts


def _corpus_facts(con: Any) -> dict[str, Any]:
    """Articles, outlets, the dates spanned and the rows with an outlet group, of the view `rows`."""
    articles, sources, first, last, grouped = con.execute(
        """SELECT count(DISTINCT article_id), count(DISTINCT nullif(source, '')), min(day), max(day),
                  count(*) FILTER (source_group <> '') FROM rows"""
    ).fetchone()
    return {
        "articles": int(articles),
        "sources": int(sources),
        "first_date": first.isoformat() if first else None,
        "last_date": last.isoformat() if last else None,
        "grouped_rows": int(grouped),
        "made": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def _largest_edges(edges: Any, options: Any, facts: dict[str, Any]) -> dict[str, Any]:
    """Per level, the edges the report draws, lists and tables (the largest by n); their number goes into `facts`."""
    graph_edges = options.get("graph_edges")
    keep = max(int(options.table_edges), int(options.top_edges), int(options.top_pairs))
    top: dict[str, Any] = {}
    for level in LEVELS:
        at_level = edges.filter(column_equals(edges, "level", level))
        facts[f"edges_{level}"] = at_level.num_rows
        if level == "entity":  # the graph files take `graph_edges` of them (null: all)
            top[level] = at_level if graph_edges is None else at_level.slice(0, max(keep, int(graph_edges)))
        else:
            top[level] = at_level.slice(0, keep)
    return top


def _write_network(entity: Any, options: Any, output: Path, nodes: dict[str, dict[str, str]]) -> None:
    """network.graphml and network.gexf (`report.graph_edges` edges, nodes with type, code, affiliation, source and
    country), network.png (`report.top_edges`)."""
    import networkx as nx

    graph = network_graph(entity, options.get("graph_edges"), nodes)
    for name, writer in (("network.graphml", nx.write_graphml), ("network.gexf", nx.write_gexf)):
        with atomic_path(output / name) as staging:
            writer(graph, staging)
    drawn = network_graph(entity, int(options.top_edges))
    draw_network(drawn, output / "network.png", f"The {drawn.number_of_edges()} largest actor → target edges")


def _write_pair_series(
    con: Any, pairs: list[tuple[str, str]], options: Any, grouped: bool, output: Path
) -> list[Figure]:
    """timeseries.csv and .png of `pairs`, and with outlet groups (`grouped`) their comparison; the figures drawn."""
    series = pair_cells(con, pairs, options, by_group=False, by_period=True)
    if grouped:
        series += pair_cells(con, pairs, options, by_group=True, by_period=True)
    _write_records(series, output / "timeseries.csv", SERIES_COLUMNS)
    figures: list[Figure] = []
    overall = [s for s in series if s["group"] == "all"]
    if draw_series(
        overall, output / "timeseries.png", f"Net stance by {options.freq}", by="period", freq=str(options.freq)
    ):
        figures.append(
            (
                f"Net stance by {options.freq}",
                output / "timeseries.png",
                "The largest pairs and those named in report.pairs; bands are 95% intervals over articles.",
            )
        )
    comparison = pair_cells(con, pairs, options, by_group=True, by_period=False) if grouped else []
    if comparison:
        figures += _write_group_comparison(comparison, [s for s in series if s["group"] != "all"], options, output)
    return figures


def _write_group_comparison(
    comparison: list[dict[str, Any]], by_group: list[dict[str, Any]], options: Any, output: Path
) -> list[Figure]:
    """groups.csv, groups.png (`comparison`) and timeseries_by_group.png (the series `by_group`); the figures drawn."""
    figures: list[Figure] = []
    _write_records(comparison, output / "groups.csv", SERIES_COLUMNS)
    if draw_series(
        by_group,
        output / "timeseries_by_group.png",
        f"Net stance by {options.freq} and outlet group",
        "period",
        freq=str(options.freq),
    ):
        figures.append(
            (
                f"Net stance by {options.freq} and outlet group",
                output / "timeseries_by_group.png",
                f"One line per outlet group; bands are 95% intervals over the articles of each {options.freq} "
                "and group.",
            )
        )
    if draw_series(comparison, output / "groups.png", "Net stance by outlet group", by="group"):
        figures.append(
            (
                "By outlet group",
                output / "groups.png",
                "The same pairs over the whole period, per outlet group, with 95% intervals over articles.",
            )
        )
    return figures
