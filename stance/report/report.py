"""The report behind `stance-report`: the actor → target network over time and by outlet, with its evidence.

Prediction files (JSONL, CSV or Parquet; one or many) are read by DuckDB, out of
core: memory is bounded by `report.memory_limit` whatever the number of rows,
and DuckDB spills to a folder beside the output beyond it. Every figure rests on
one table, the rows summed per (edge, article); the edges, their bootstrap
intervals and the time series are computed from it.

The net stance of an edge is mean P(support) − mean P(oppose) over its rows (as
in `summary.json`), in [−1, 1]. Its 95% interval resamples whole articles: a
Poisson bootstrap (each article's weight drawn from Poisson(1), as in Hanley &
MacGibbon 2006 and Chamandy et al. 2012), which is the ordinary bootstrap over
articles for all but the smallest edges, and runs in one vectorised pass over
millions of edges. An edge seen in one article has no interval beyond its value.
"""

from __future__ import annotations

import base64
import glob
import html
import json
import logging
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stance.errors import StanceError, display_path
from stance.files import atomic_path, write_text_atomic
from stance.paths import resolve_path
from stance.schema import OUTPUT_FIELDS

log = logging.getLogger(__name__)

KINDS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
LEVELS = ("entity", "affiliation")
NUMERIC = {"sentence_index": "BIGINT", "p_support": "DOUBLE", "p_oppose": "DOUBLE", "p_neutral": "DOUBLE"}
REQUIRED = ("article_id", "actor", "target", "stance", "p_support", "p_oppose", "p_neutral")
# One column the predictions never carry but a report can group by: an outlet's group, when the input has it.
EXTRA = ("source_group",)


# ---------------------------------------------------------------- reading


def prediction_files(spec: str | Path) -> list[Path]:
    """The prediction files named by `spec`: a file, a folder (its .jsonl, .csv and .parquet files) or a glob."""
    text = str(spec)
    if any(ch in text for ch in "*?["):
        found = sorted(Path(p) for p in glob.glob(text, recursive=True))
    else:
        path = resolve_path(text)
        if not path.exists():
            raise StanceError(f"predictions {display_path(path)} do not exist")
        found = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    files = [p for p in found if p.suffix.lower() in KINDS and not _is_sidecar(p)]
    if not files:
        raise StanceError(f"predictions {text}: no .jsonl, .csv or .parquet prediction files there")
    return files


def _is_sidecar(path: Path) -> bool:
    """The files stance-predict writes beside its output, which are not predictions."""
    name = path.name
    return (
        name.startswith(".")
        or name in ("manifest.jsonl", "errors.jsonl")  # engine=ray's output folder
        or any(name.endswith(s) for s in (".summary.json", ".errors.jsonl", ".progress.jsonl", ".staging.jsonl"))
    )


def _sql_list(paths: Sequence[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def _reader(kind: str, files: Sequence[Path]) -> str:
    listed = _sql_list(files)
    if kind == "parquet":
        return f"read_parquet({listed}, union_by_name = true)"
    if kind == "csv":
        return f"read_csv({listed}, header = true, all_varchar = true, union_by_name = true)"
    # Every column as text first, so a file whose first rows lack a field reads like the others.
    return f"read_json({listed}, format = 'newline_delimited', union_by_name = true, maximum_object_size = 67108864)"


def _normalised(con: Any, kind: str, files: Sequence[Path]) -> str:
    """A SELECT over `files` with the prediction columns, typed, and '' for optional columns they lack."""
    source = _reader(kind, files)
    have = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    missing = [c for c in REQUIRED if c not in have]
    if missing:
        raise StanceError(
            f"{display_path(files[0])}{' and others' if len(files) > 1 else ''}: not prediction files "
            f"(no column {', '.join(missing)}); give files written by stance-predict"
        )
    columns = []
    for name in (*OUTPUT_FIELDS, *EXTRA):
        if name in NUMERIC:
            value = f"CAST({_q(name)} AS {NUMERIC[name]})" if name in have else "NULL"
        else:
            value = f"coalesce(CAST({_q(name)} AS VARCHAR), '')" if name in have else "''"
        columns.append(f"{value} AS {_q(name)}")
    return f"SELECT {', '.join(columns)} FROM {source}"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_source_groups(path: str | Path) -> dict[str, str]:
    """outlet → group from a CSV (`source,group`), JSON or YAML file."""
    file = resolve_path(path)
    if not file.exists():
        raise StanceError(f"report.source_groups: {display_path(file)} does not exist")
    shown = display_path(file)
    if file.suffix.lower() == ".csv":
        import csv

        with file.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"source", "group"} <= set(reader.fieldnames):
                raise StanceError(f"{shown}: a CSV of outlet groups needs the columns source and group")
            groups = {}
            for number, row in enumerate(reader, start=2):
                if not row["source"] or not row["group"]:
                    raise StanceError(f"{shown}:{number}: empty source or group")
                groups[row["source"]] = row["group"]
            return groups
    import yaml

    data = yaml.safe_load(file.read_text(encoding="utf-8"))  # JSON is YAML
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise StanceError(f"{shown}: expected a mapping of outlet → group")
    return {str(k): v for k, v in data.items()}


def _connect(options: Any, spill: Path) -> Any:
    import duckdb

    con = duckdb.connect()
    threads = options.threads or os.cpu_count() or 1
    con.execute(f"SET threads = {int(threads)}")
    con.execute(f"SET memory_limit = '{options.memory_limit}'")
    con.execute(f"SET temp_directory = '{spill}'")
    return con


def open_predictions(con: Any, files: Sequence[Path], groups: dict[str, str] | None) -> dict[str, Any]:
    """Create the view `rows` over every prediction file (any mix of kinds); what it holds."""
    by_kind: dict[str, list[Path]] = {}
    for f in files:
        by_kind.setdefault(KINDS[f.suffix.lower()], []).append(f)
    selects = [_normalised(con, kind, fs) for kind, fs in sorted(by_kind.items())]
    con.execute(f"CREATE VIEW raw_rows AS {' UNION ALL '.join(selects)}")
    group_expr = "r.source_group"
    if groups:
        con.execute("CREATE TABLE outlet_groups (source VARCHAR, grp VARCHAR)")
        con.executemany("INSERT INTO outlet_groups VALUES (?, ?)", sorted(groups.items()))
        group_expr = "coalesce(nullif(r.source_group, ''), g.grp, '')"
    # Dates as the input spells them (2024-05-17, 2024-05-17T09:30:00Z, …): a day, or NULL when unreadable.
    day = (
        "coalesce(TRY_CAST(r.date AS DATE), TRY_CAST(TRY_CAST(r.date AS TIMESTAMP) AS DATE), "
        "TRY_CAST(TRY_CAST(r.date AS TIMESTAMPTZ) AS DATE))"
    )
    join = "LEFT JOIN outlet_groups g ON g.source = r.source" if groups else ""
    con.execute(
        f"""CREATE VIEW rows AS SELECT r.article_id, r.sentence_index, r.sentence, r.actor, r.target, r.stance,
            r.p_support, r.p_oppose, r.p_neutral, r.date AS date_text, {day} AS day, r.source, r.url,
            {group_expr} AS source_group,
            coalesce(nullif(r.actor_affiliation, ''), r.actor) AS actor_aff,
            coalesce(nullif(r.target_affiliation, ''), r.target) AS target_aff
        FROM raw_rows r {join}"""
    )
    total, self_rows, undated, dated_text, bad_stance = con.execute(
        """SELECT count(*), count(*) FILTER (actor = target), count(*) FILTER (day IS NULL),
                  count(*) FILTER (day IS NULL AND date_text <> ''),
                  count(*) FILTER (stance NOT IN ('support', 'oppose', 'neutral'))
           FROM rows"""
    ).fetchone()
    if bad_stance:
        raise StanceError(f"{bad_stance} rows have a stance other than support, oppose or neutral")
    return {
        "files": len(files),
        "rows": int(total),
        "self_rows": int(self_rows),
        "undated_rows": int(undated),
        "unreadable_dates": int(dated_text),
    }


# ---------------------------------------------------------------- bootstrap

# Poisson(1) by inverse CDF over 16 random bits: one table lookup per weight.
_U16 = 1 << 16


def _poisson_table() -> np.ndarray:
    pmf = [math.exp(-1) / math.factorial(k) for k in range(20)]
    cdf = np.cumsum(pmf)
    return np.searchsorted(cdf, (np.arange(_U16) + 0.5) / _U16).astype(np.float32)


def bootstrap_intervals(
    keys: np.ndarray,
    value: np.ndarray,
    weight: np.ndarray,
    replicates: int = 200,
    seed: int = 0,
    level: float = 0.95,
    chunk_rows: int = 1 << 16,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per key: Σvalue/Σweight and its interval, resampling the rows (articles) of each key.

    `keys` must be sorted (rows of a key together). Returns, per distinct key in
    order, the estimate and the lower and upper percentile bounds of a Poisson
    bootstrap with `replicates` resamples. A key with one row gets its estimate
    as both bounds. Memory is bounded by `chunk_rows` × `replicates`, not by the
    number of rows: the rows of keys with two or more are taken in chunks, and
    each chunk's weighted sums per key are one sparse × dense product.
    """
    from scipy.sparse import csr_matrix

    n_rows = len(keys)
    if n_rows == 0:
        empty = np.zeros(0)
        return empty, empty, empty
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], n_rows]
    estimate = np.add.reduceat(value, starts) / np.add.reduceat(weight, starts)
    low, high = estimate.copy(), estimate.copy()
    multi = np.flatnonzero(ends - starts >= 2)
    if len(multi) == 0 or replicates < 2:
        return estimate, low, high
    # The rows of the keys to resample, side by side, and which of them each row belongs to.
    sizes = ends[multi] - starts[multi]
    seg = np.repeat(np.arange(len(multi)), sizes)
    rows = starts[multi][seg] + np.arange(len(seg)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    v, w = value[rows].astype(np.float32), weight[rows].astype(np.float32)
    table = _poisson_table()
    rng = np.random.default_rng(seed)
    quantiles = ((1 - level) / 2, 1 - (1 - level) / 2)
    carry: tuple[int, np.ndarray, np.ndarray] | None = None  # a key whose rows go on into the next chunk
    total = len(seg)
    for a in range(0, total, chunk_rows):
        b = min(total, a + chunk_rows)
        local = seg[a:b] - seg[a]
        m = int(local[-1]) + 1
        draws = table[rng.integers(0, _U16, size=(b - a, replicates), dtype=np.uint16)]
        indptr = np.searchsorted(local, np.arange(m + 1))
        columns = np.arange(b - a)
        sums = csr_matrix((v[a:b], columns, indptr), shape=(m, b - a)) @ draws
        totals = csr_matrix((w[a:b], columns, indptr), shape=(m, b - a)) @ draws
        if carry is not None and carry[0] == seg[a]:
            sums[0] += carry[1]
            totals[0] += carry[2]
        complete = m if b == total or seg[b] != seg[b - 1] else m - 1
        carry = None if complete == m else (int(seg[b - 1]), sums[m - 1].copy(), totals[m - 1].copy())
        if complete:
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(totals[:complete] > 0, sums[:complete] / totals[:complete], np.nan)
            lo, hi = _row_quantiles(ratio, quantiles)
            done = multi[seg[a] + np.arange(complete)]
            low[done], high[done] = lo, hi
    return estimate, low, high


def _row_quantiles(values: np.ndarray, q: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Linear-interpolated quantiles of each row, ignoring NaN (a resample that drew none of the key's rows)."""
    ordered = np.sort(values, axis=1)  # NaN sorts last
    valid = np.maximum((~np.isnan(ordered)).sum(axis=1), 1)
    out = []
    for quantile in q:
        pos = quantile * (valid - 1)
        below = np.floor(pos).astype(int)
        above = np.minimum(below + 1, valid - 1)
        frac = pos - below
        a = np.take_along_axis(ordered, below[:, None], axis=1)[:, 0]
        b = np.take_along_axis(ordered, above[:, None], axis=1)[:, 0]
        out.append(a + (b - a) * frac)
    return out[0], out[1]


# ---------------------------------------------------------------- edges, time series and outlet groups

_PER_ARTICLE = """count(*) AS n, count(*) FILTER (stance = 'support') AS support,
    count(*) FILTER (stance = 'oppose') AS oppose, count(*) FILTER (stance = 'neutral') AS neutral,
    sum(p_support) AS p_support, sum(p_oppose) AS p_oppose, sum(p_neutral) AS p_neutral,
    min(day) AS first_date, max(day) AS last_date, min(source) AS source"""
_ENDS = ("actor", "target"), ("actor_aff", "target_aff")


def _per_article(con: Any, name: str, keys: str, where: str = "") -> None:
    """Table `name`: the rows summed per `keys` and article (the unit every interval resamples)."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {keys}, article_id, {_PER_ARTICLE} FROM rows {where} GROUP BY ALL"
    )


_NO_DAY = np.iinfo(np.int32).max


def _days(days: np.ndarray, none: int) -> Any:
    """Days since 1970 as an Arrow date column, `none` as null."""
    import pyarrow as pa

    return pa.array(np.where(days == none, 0, days).astype("datetime64[D]"), mask=days == none)


def summed_with_intervals(con: Any, table: str, keys: Sequence[str], options: Any) -> Any:
    """Per distinct `keys` of the per-article `table`: counts, mean probabilities, dates and the net stance
    with its bootstrap interval over articles, as an Arrow table sorted by n (largest first).

    One sorted pass over the articles feeds both the sums (numpy, per key) and
    the bootstrap; the keys themselves come from a second, grouped query in the
    same order. Articles of one key are told apart from the next key's by a
    64-bit hash of the key, and the number of keys found is checked against the
    grouped query (a tie of two neighbouring keys falls back to ranking them).
    Outlets are counted by a hash of their name.
    """
    import pyarrow as pa

    listed = ", ".join(keys)
    names = con.sql(f"SELECT {listed} FROM {table} GROUP BY {listed} ORDER BY {listed}").to_arrow_table()
    a = con.execute(
        f"""SELECT hash({listed}) AS h, n::INTEGER AS n, support::INTEGER AS support, oppose::INTEGER AS oppose,
               neutral::INTEGER AS neutral, p_support, p_oppose, p_neutral,
               coalesce(datediff('day', DATE '1970-01-01', first_date), {_NO_DAY}) AS first_day,
               coalesce(datediff('day', DATE '1970-01-01', last_date), {-_NO_DAY}) AS last_day,
               CASE WHEN source = '' THEN 0 ELSE hash(source) END AS outlet
        FROM {table} ORDER BY {listed}, article_id"""
    ).fetchnumpy()
    hashes = np.asarray(a.pop("h"))
    key = np.cumsum(np.r_[True, hashes[1:] != hashes[:-1]]) - 1 if len(hashes) else np.zeros(0, np.int64)
    del hashes
    if len(key) and key[-1] + 1 != names.num_rows:
        ranks = con.execute(
            f"SELECT dense_rank() OVER (ORDER BY {listed}) - 1 AS k FROM {table} ORDER BY {listed}, article_id"
        ).fetchnumpy()
        key = np.asarray(ranks["k"], dtype=np.int64)
    if not len(key):
        return names.append_column("n", pa.array([], pa.int64()))
    con.execute("SELECT 1")  # lets DuckDB free its copy of the sorted result
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    col = {name: np.asarray(values) for name, values in a.items()}
    del a
    value = col["p_support"] - col["p_oppose"]
    net, low, high = bootstrap_intervals(key, value, col["n"], int(options.bootstrap), int(options.seed))
    del value
    n = np.add.reduceat(col.pop("n"), starts, dtype=np.int64)
    counts = {s: np.add.reduceat(col.pop(s), starts, dtype=np.int64) for s in ("support", "oppose", "neutral")}
    means = {
        name: np.round(np.add.reduceat(col.pop(name), starts) / n, 6) for name in ("p_support", "p_oppose", "p_neutral")
    }
    first = np.minimum.reduceat(col.pop("first_day"), starts)
    last = np.maximum.reduceat(col.pop("last_day"), starts)
    # Outlets per key: distinct non-empty outlet hashes among its articles.
    outlet = col.pop("outlet")
    order = np.lexsort((outlet, key))
    k_sorted, o_sorted = key[order], outlet[order]
    del order, outlet
    new = np.r_[True, (k_sorted[1:] != k_sorted[:-1]) | (o_sorted[1:] != o_sorted[:-1])] & (o_sorted != 0)
    sources = np.bincount(k_sorted[new], minlength=len(starts))
    del k_sorted, o_sorted, new
    columns = {
        "n": n,
        **counts,
        **means,
        "net": np.round(net, 6),
        "net_low": np.round(low, 6),
        "net_high": np.round(high, 6),
        "articles": np.diff(np.r_[starts, len(key)]),
        "sources": sources,
    }
    for name, values in columns.items():
        names = names.append_column(name, pa.array(values))
    names = names.append_column("first_date", _days(first, _NO_DAY)).append_column("last_date", _days(last, -_NO_DAY))
    return names.sort_by([("n", "descending"), *((k, "ascending") for k in keys)])


def edge_table(con: Any, options: Any) -> Any:
    """Both levels' edges as one Arrow table (column `level`), by n, with bootstrap intervals of the net stance."""
    import pyarrow as pa

    tables = []
    for level, (actor, target) in zip(LEVELS, _ENDS, strict=True):
        _per_article(con, "edge_articles", f"{actor} AS actor, {target} AS target", f"WHERE {actor} <> {target}")
        table = summed_with_intervals(con, "edge_articles", ("actor", "target"), options)
        tables.append(table.add_column(0, "level", pa.array([level] * table.num_rows, pa.string())))
    con.execute("DROP TABLE edge_articles")
    return pa.concat_tables(tables)


def parse_pairs(pairs: Sequence[Any]) -> list[tuple[str, str]]:
    """`report.pairs`: "Actor>Target" strings or [actor, target] lists."""
    out = []
    for item in pairs:
        if isinstance(item, str):
            actor, sep, target = item.partition(">")
            if not sep:
                raise StanceError(f"report.pairs: {item!r} is not 'Actor>Target'")
        else:
            values = list(item)
            if len(values) != 2:
                raise StanceError(f"report.pairs: {values!r} is not [actor, target]")
            actor, target = values
        out.append((str(actor).strip(), str(target).strip()))
    return out


def chosen_pairs(con: Any, top: Any, options: Any) -> list[tuple[str, str]]:
    """The top `report.top_pairs` entity edges by n (of `top`, the largest first), then those in `report.pairs`."""
    largest = list(zip(top["actor"].to_pylist(), top["target"].to_pylist(), strict=True))[: int(options.top_pairs)]
    named = parse_pairs(options.pairs)
    for actor, target in named:
        if not con.execute("SELECT count(*) FROM rows WHERE actor = ? AND target = ?", [actor, target]).fetchone()[0]:
            log.warning("report.pairs: %s → %s is not an edge of these predictions", actor, target)
    return list(dict.fromkeys([*largest, *named]))


def _eq(table: Any, column: str, value: str) -> Any:
    import pyarrow.compute as pc

    return pc.equal(table[column], value)


def pair_cells(
    con: Any, pairs: Sequence[tuple[str, str]], options: Any, by_group: bool, by_period: bool
) -> list[dict[str, Any]]:
    """Net stance per pair, and per outlet group and/or period, with intervals over the articles of each cell."""
    if not pairs:
        return []
    con.execute("CREATE OR REPLACE TEMP TABLE wanted (actor VARCHAR, target VARCHAR)")
    con.executemany("INSERT INTO wanted VALUES (?, ?)", list(pairs))
    group = "source_group" if by_group else "'all'"
    period = f"date_trunc('{options.freq}', day)::DATE" if by_period else "NULL::DATE"
    conditions = ["(actor, target) IN (SELECT (actor, target) FROM wanted)"]
    if by_group:
        conditions.append("source_group <> ''")
    if by_period:
        conditions.append("day IS NOT NULL")
    _per_article(
        con, "cell_articles", f"actor, target, {group} AS grp, {period} AS period", "WHERE " + " AND ".join(conditions)
    )
    table = summed_with_intervals(con, "cell_articles", ("actor", "target", "grp", "period"), options)
    order = {pair: k for k, pair in enumerate(pairs)}
    cells = []
    for row in table.to_pylist():
        row["group"] = row.pop("grp")
        row["period"] = row["period"].isoformat() if row["period"] else ""
        cells.append({k: row[k] for k in SERIES_COLUMNS})
    cells.sort(key=lambda c: (order[(c["actor"], c["target"])], c["group"], c["period"]))
    return cells


# ---------------------------------------------------------------- evidence


def write_evidence(con: Any, path: Path, per_edge: int) -> int:
    """`evidence.jsonl`: per entity edge, its `per_edge` most confident support and oppose sentences.

    Kept in the table `evidence` for the page. Ties in probability go to the
    earlier article id and sentence, so the file is the same for any input order.
    """
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE evidence AS
        SELECT actor, target, stance, row_number() OVER w AS rank, round(p, 6) AS p, article_id, sentence_index,
               sentence, date_text AS date, source, url
        FROM (SELECT *, CASE stance WHEN 'support' THEN p_support ELSE p_oppose END AS p
              FROM rows WHERE stance IN ('support', 'oppose') AND actor <> target)
        WINDOW w AS (PARTITION BY actor, target, stance ORDER BY p DESC, article_id, sentence_index)
        QUALIFY rank <= {max(0, int(per_edge))}"""
    )
    with atomic_path(path) as staging:
        con.execute(f"COPY (SELECT * FROM evidence ORDER BY actor, target, stance, rank) TO '{staging}' (FORMAT json)")
    return int(con.execute("SELECT count(*) FROM evidence").fetchone()[0])


def evidence_for(con: Any, edges: Sequence[tuple[str, str]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The evidence of `edges` (what the page shows), from the table `write_evidence` made."""
    con.execute("CREATE OR REPLACE TEMP TABLE shown (actor VARCHAR, target VARCHAR)")
    con.executemany("INSERT INTO shown VALUES (?, ?)", list(edges))
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in (
        con.sql("SELECT e.* FROM evidence e JOIN shown USING (actor, target) ORDER BY actor, target, stance, rank")
        .to_arrow_table()
        .to_pylist()
    ):
        found.setdefault((record["actor"], record["target"]), []).append(record)
    return found


# ---------------------------------------------------------------- network and figures


def network_graph(edges: Any, limit: int | None) -> Any:
    """Entity edges (the `limit` largest by n, of a table sorted by n) as a networkx DiGraph with their figures."""
    import networkx as nx

    entity = edges if limit is None else edges.slice(0, int(limit))
    graph = nx.DiGraph()
    for row in entity.to_pylist():
        attrs = {k: v for k, v in row.items() if k not in ("level", "actor", "target")}
        for key in ("first_date", "last_date"):
            attrs[key] = attrs[key].isoformat() if attrs[key] is not None else ""
        graph.add_edge(row["actor"], row["target"], **attrs)
    for node in graph:
        graph.nodes[node]["n"] = int(
            sum(d["n"] for *_, d in graph.in_edges(node, data=True))
            + sum(d["n"] for *_, d in graph.out_edges(node, data=True))
        )
    return graph


def _png(figure: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path) as staging:
        figure.savefig(staging, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)


def draw_network(graph: Any, path: Path, title: str) -> None:
    """`network.png`: colour by net stance (red oppose, blue support), width by n."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    figure, axes = plt.subplots(figsize=(11, 8))
    axes.set_axis_off()
    axes.set_title(title)
    if graph.number_of_edges() == 0:
        axes.text(0.5, 0.5, "no actor pairs", ha="center", va="center")
        _png(figure, path)
        return
    layout = nx.kamada_kawai_layout(graph) if graph.number_of_nodes() <= 200 else nx.spring_layout(graph, seed=0)
    n = np.array([d["n"] for *_, d in graph.edges(data=True)], dtype=float)
    widths = 0.8 + 5.0 * np.sqrt(n / n.max())
    colours = [d["net"] for *_, d in graph.edges(data=True)]
    sizes = np.array([graph.nodes[v]["n"] for v in graph], dtype=float)
    nx.draw_networkx_nodes(
        graph, layout, ax=axes, node_size=200 + 1400 * np.sqrt(sizes / sizes.max()), node_color="#dddddd"
    )
    drawn = nx.draw_networkx_edges(
        graph,
        layout,
        ax=axes,
        width=widths,
        edge_color=colours,
        edge_cmap=plt.cm.RdBu,
        edge_vmin=-1,
        edge_vmax=1,
        arrows=True,
        arrowsize=14,
        connectionstyle="arc3,rad=0.12",
        node_size=600,
    )
    nx.draw_networkx_labels(graph, layout, ax=axes, font_size=9)
    mappable = plt.cm.ScalarMappable(cmap=plt.cm.RdBu, norm=plt.Normalize(-1, 1))
    figure.colorbar(mappable, ax=axes, shrink=0.6, label="net stance (support − oppose)")
    del drawn
    _png(figure, path)


def draw_series(series: list[dict[str, Any]], path: Path, title: str, by: str) -> bool:
    """One panel per pair: net stance by period (`by="period"`) or by outlet group (`by="group"`), with 95% bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = list(dict.fromkeys((s["actor"], s["target"]) for s in series))
    if not pairs:
        return False
    cols = 2 if len(pairs) > 1 else 1
    rows = math.ceil(len(pairs) / cols)
    figure, grid = plt.subplots(rows, cols, figsize=(6.5 * cols, 3.0 * rows), squeeze=False, sharey=True)
    for axes, (actor, target) in zip(grid.flat, pairs, strict=False):
        cells = [s for s in series if (s["actor"], s["target"]) == (actor, target)]
        groups = list(dict.fromkeys(c["group"] for c in cells))
        if by == "period":
            import datetime as dt

            for group in groups:
                line = sorted((c for c in cells if c["group"] == group), key=lambda c: c["period"])
                x = [dt.date.fromisoformat(c["period"]) for c in line]
                y = [c["net"] for c in line]
                axes.plot(x, y, marker="o", markersize=3, label=group if len(groups) > 1 else None)
                axes.fill_between(x, [c["net_low"] for c in line], [c["net_high"] for c in line], alpha=0.2)
            if len(groups) > 1:
                axes.legend(fontsize=8)
            figure.autofmt_xdate()
        else:
            y = [c["net"] for c in cells]
            errors = [[c["net"] - c["net_low"] for c in cells], [c["net_high"] - c["net"] for c in cells]]
            axes.errorbar(range(len(cells)), y, yerr=errors, fmt="o", capsize=4)
            axes.set_xticks(range(len(cells)), [f"{c['group']}\n(n={c['n']}, {c['articles']} art.)" for c in cells])
        axes.axhline(0, color="grey", linewidth=0.8)
        axes.set_title(f"{actor} → {target}", fontsize=10)
        axes.set_ylim(-1.05, 1.05)
    for axes in list(grid.flat)[len(pairs) :]:
        axes.set_axis_off()
    figure.suptitle(title)
    figure.supylabel("net stance (95% CI)")
    figure.tight_layout()
    _png(figure, path)
    return True


# ---------------------------------------------------------------- the page


_SORT_JS = """
document.querySelectorAll('table.sortable th').forEach((th, column) => {
  th.addEventListener('click', () => {
    const table = th.closest('table'), body = table.tBodies[0];
    const up = th.dataset.order !== 'asc';
    table.querySelectorAll('th').forEach(h => delete h.dataset.order);
    th.dataset.order = up ? 'asc' : 'desc';
    const key = row => row.cells[column].dataset.v ?? row.cells[column].textContent;
    const rows = Array.from(body.rows);
    const numeric = rows.every(r => key(r) === '' || !isNaN(parseFloat(key(r))));
    rows.sort((a, b) => {
      const x = key(a), y = key(b);
      const c = numeric ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y);
      return up ? c : -c;
    });
    rows.forEach(r => body.appendChild(r));
  });
});
"""

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
img { max-width: 100%; border: 1px solid #eee; }
table { border-collapse: collapse; font-size: 0.85em; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top; }
th { cursor: pointer; background: #f4f4f4; position: sticky; top: 0; }
th[data-order=asc]::after { content: " ▲"; } th[data-order=desc]::after { content: " ▼"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.support { color: #1f5fa8; } .oppose { color: #b2262c; }
details summary { cursor: pointer; color: #555; }
.meta { color: #666; font-size: 0.9em; }
"""


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _evidence_html(lines: list[dict[str, Any]]) -> str:
    if not lines:
        return ""
    items = []
    for e in lines:
        where = " · ".join(html.escape(str(x)) for x in (e["article_id"], e["date"], e["source"]) if x)
        link = f' <a href="{html.escape(e["url"])}">link</a>' if e.get("url") else ""
        items.append(
            f'<li><span class="{e["stance"]}">{e["stance"]} {e["p"]:.2f}</span> '
            f"{html.escape(e['sentence'])} <span class=meta>({where}){link}</span></li>"
        )
    return f"<details><summary>{len(lines)} sentences</summary><ul>{''.join(items)}</ul></details>"


def render_page(
    path: Path,
    title: str,
    facts: dict[str, Any],
    tables: dict[str, Any],
    evidence: dict[tuple[str, str], list[dict[str, Any]]],
    figures: list[tuple[str, Path, str]],
) -> None:
    """`index.html`: one self-contained page (figures inline) with the sortable edge table and its evidence."""
    head = [
        "actor",
        "target",
        "n",
        "support",
        "oppose",
        "neutral",
        "net",
        "95% CI",
        "articles",
        "sources",
        "first",
        "last",
    ]
    body = []
    for level in LEVELS:
        rows = tables[level].to_pylist()
        lines = []
        for r in rows:
            cells = [
                f"<td>{html.escape(r['actor'])}</td>",
                f"<td>{html.escape(r['target'])}</td>",
                *(f'<td class=num data-v="{r[k]}">{r[k]}</td>' for k in ("n", "support", "oppose", "neutral")),
                f'<td class=num data-v="{r["net"]}">{r["net"]:+.2f}</td>',
                f'<td class=num data-v="{r["net_low"]}">{r["net_low"]:+.2f} … {r["net_high"]:+.2f}</td>',
                *(f'<td class=num data-v="{r[k]}">{r[k]}</td>' for k in ("articles", "sources")),
                *(f"<td>{r[k].isoformat() if r[k] else ''}</td>" for k in ("first_date", "last_date")),
            ]
            if level == "entity":
                cells.append(f"<td>{_evidence_html(evidence.get((r['actor'], r['target']), []))}</td>")
            lines.append("<tr>" + "".join(cells) + "</tr>")
        heads = [*head, "evidence"] if level == "entity" else head
        caption = (
            "Actor → target, as named in the text"
            if level == "entity"
            else "Rolled up to affiliations (a person to the country or body they stood for at the article's date)"
        )
        body.append(
            f"<h2>Edges: {level} level</h2><p class=meta>{caption}. The {len(rows)} largest by n of "
            f"{facts['edges_' + level]:,}; every edge is in edges.parquet / edges.csv. Click a column to sort.</p>"
            f"<table class=sortable id=edges-{level}><thead><tr>"
            + "".join(f"<th>{h}</th>" for h in heads)
            + "</tr></thead><tbody>"
            + "".join(lines)
            + "</tbody></table>"
        )
    pictures = "".join(
        f"<h2>{html.escape(t)}</h2>{_img(p, t)}<p class=meta>{html.escape(c)}</p>" for t, p, c in figures
    )
    dates = f"{facts['first_date']} to {facts['last_date']}" if facts.get("first_date") else "no dates"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>
<body><h1>{html.escape(title)}</h1>
<p class=meta>{facts["rows"]:,} scored pairs in {facts["articles"]:,} articles from {facts["sources"]:,} sources,
{dates}; {facts["files"]} prediction file(s). Net stance = mean P(support) − mean P(oppose), from −1 (all oppose)
to +1 (all support); intervals are 95% bootstrap intervals over articles. Made by stance-report on {facts["made"]}.</p>
{pictures}
{"".join(body)}
<script>{_SORT_JS}</script>
</body></html>
"""
    write_text_atomic(path, page)


# ---------------------------------------------------------------- the command


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


SERIES_COLUMNS = (
    "actor",
    "target",
    "group",
    "period",
    "n",
    "articles",
    "support",
    "oppose",
    "neutral",
    "net",
    "net_low",
    "net_high",
)


def build_report(cfg: Any) -> dict[str, Any]:
    """stance-report: read prediction files and write edges, network, time series, evidence and index.html."""
    options = cfg.report
    files = prediction_files(cfg.predictions)
    output = Path(cfg.output)
    output.mkdir(parents=True, exist_ok=True)
    spill = output / ".duckdb-spill"
    groups = load_source_groups(options.source_groups) if options.get("source_groups") else None
    timer = _Timer(time.perf_counter())
    con = _connect(options, spill)
    try:
        facts = open_predictions(con, files, groups)
        timer.lap("reading")
        if facts["rows"] == 0:
            raise StanceError(f"predictions {cfg.predictions}: no rows")
        articles, sources, first, last, grouped = con.execute(
            """SELECT count(DISTINCT article_id), count(DISTINCT nullif(source, '')), min(day), max(day),
                      count(*) FILTER (source_group <> '') FROM rows"""
        ).fetchone()
        facts.update(
            articles=int(articles),
            sources=int(sources),
            first_date=first.isoformat() if first else None,
            last_date=last.isoformat() if last else None,
            grouped_rows=int(grouped),
            made=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        )
        edges = edge_table(con, options)
        timer.lap("edges and intervals")
        _write_table(con, edges, output / "edges.parquet", output / "edges.csv")
        # Only the largest edges are drawn, listed and tabled: the rest is let go before the evidence query.
        graph_edges = options.get("graph_edges")
        keep = max(int(options.table_edges), int(options.top_edges), int(options.top_pairs))
        top: dict[str, Any] = {}
        for level in LEVELS:
            at_level = edges.filter(_eq(edges, "level", level))
            facts[f"edges_{level}"] = at_level.num_rows
            if level == "entity":  # the graph files take `graph_edges` of them (null: all)
                top[level] = at_level if graph_edges is None else at_level.slice(0, max(keep, int(graph_edges)))
            else:
                top[level] = at_level.slice(0, keep)
        del edges, at_level
        timer.lap("edge files")

        import networkx as nx

        graph = network_graph(top["entity"], graph_edges)
        for name, writer in (("network.graphml", nx.write_graphml), ("network.gexf", nx.write_gexf)):
            with atomic_path(output / name) as staging:
                writer(graph, staging)
        title = options.get("title") or f"Stance report: {Path(str(cfg.predictions)).name}"
        drawn = network_graph(top["entity"], int(options.top_edges))
        draw_network(drawn, output / "network.png", f"The {drawn.number_of_edges()} largest actor → target edges")
        timer.lap("network")

        pairs = chosen_pairs(con, top["entity"], options)
        series = pair_cells(con, pairs, options, by_group=False, by_period=True)
        if facts["grouped_rows"]:
            series += pair_cells(con, pairs, options, by_group=True, by_period=True)
        _write_records(series, output / "timeseries.csv", SERIES_COLUMNS)
        figures = [
            (
                "The network",
                output / "network.png",
                "Edge colour: net stance (blue support, red oppose); width: number of scored pairs.",
            )
        ]
        overall = [s for s in series if s["group"] == "all"]
        if draw_series(overall, output / "timeseries.png", f"Net stance by {options.freq}", by="period"):
            figures.append(
                (
                    f"Net stance by {options.freq}",
                    output / "timeseries.png",
                    "The largest pairs and those named in report.pairs; bands are 95% intervals over articles.",
                )
            )
        comparison = pair_cells(con, pairs, options, by_group=True, by_period=False) if facts["grouped_rows"] else []
        if comparison:
            _write_records(comparison, output / "groups.csv", SERIES_COLUMNS)
            by_group = [s for s in series if s["group"] != "all"]
            if draw_series(
                by_group, output / "timeseries_by_group.png", f"Net stance by {options.freq} and outlet group", "period"
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


def iter_edges(path: str | Path, level: str = "entity") -> Iterator[dict[str, Any]]:
    """The rows of an `edges.parquet` at one level (for scripts and tests)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    yield from table.filter(_eq(table, "level", level)).to_pylist()
