"""Edges: the rows summed per (actor, target) at each level, and per chosen pair, outlet group and period.

Every figure rests on one table, the rows summed per (edge, article); the edges,
their bootstrap intervals and the time series are computed from it.

The net stance of an edge is mean P(support) − mean P(oppose) over its rows (as
in `summary.json`), in [−1, 1]. Its 95% interval resamples whole articles: a
Poisson bootstrap (each article's weight drawn from Poisson(1), as in Hanley &
MacGibbon 2006 and Chamandy et al. 2012), which is the ordinary bootstrap over
articles for all but the smallest edges, and runs in one vectorised pass over
millions of edges. An edge seen in one article has no interval beyond its value.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stance.errors import StanceError
from stance.report.intervals import bootstrap_intervals

log = logging.getLogger(__name__)

LEVELS = ("entity", "affiliation")

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
    key = _key_index(con, table, listed, np.asarray(a.pop("h")), names.num_rows)
    if not len(key):
        return names.append_column("n", pa.array([], pa.int64()))
    con.execute("SELECT 1")  # lets DuckDB free its copy of the sorted result
    col = {name: np.asarray(values) for name, values in a.items()}
    del a
    columns, first, last = _per_key(col, key, options)
    for name, values in columns.items():
        names = names.append_column(name, pa.array(values))
    names = names.append_column("first_date", _days(first, _NO_DAY)).append_column("last_date", _days(last, -_NO_DAY))
    return names.sort_by([("n", "descending"), *((k, "ascending") for k in keys)])


def _key_index(con: Any, table: str, listed: str, hashes: np.ndarray, n_keys: int) -> np.ndarray:
    """The key (0, 1, … in key order) of each article row of `table`, from the hashes of its `listed` keys."""
    key = np.cumsum(np.r_[True, hashes[1:] != hashes[:-1]]) - 1 if len(hashes) else np.zeros(0, np.int64)
    del hashes
    if len(key) and key[-1] + 1 != n_keys:
        ranks = con.execute(
            f"SELECT dense_rank() OVER (ORDER BY {listed}) - 1 AS k FROM {table} ORDER BY {listed}, article_id"
        ).fetchnumpy()
        key = np.asarray(ranks["k"], dtype=np.int64)
    return key


def _per_key(
    col: dict[str, np.ndarray], key: np.ndarray, options: Any
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The columns of each key from its article rows `col` (emptied as they are used), and its first and last day."""
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
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
    sources = _outlets_per_key(key, col.pop("outlet"), len(starts))
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
    return columns, first, last


def _outlets_per_key(key: np.ndarray, outlet: np.ndarray, n_keys: int) -> np.ndarray:
    """Outlets per key: distinct non-empty outlet hashes among its articles."""
    order = np.lexsort((outlet, key))
    k_sorted, o_sorted = key[order], outlet[order]
    del order, outlet
    new = np.r_[True, (k_sorted[1:] != k_sorted[:-1]) | (o_sorted[1:] != o_sorted[:-1])] & (o_sorted != 0)
    return np.bincount(k_sorted[new], minlength=n_keys)


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


def column_equals(table: Any, column: str, value: str) -> Any:
    """A mask of the rows of an Arrow `table` whose `column` is `value`."""
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


def iter_edges(path: str | Path, level: str = "entity") -> Iterator[dict[str, Any]]:
    """The rows of an `edges.parquet` at one level (for scripts and tests)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    yield from table.filter(column_equals(table, "level", level)).to_pylist()
