"""The network of entity edges (networkx) and the report's figures (matplotlib, PNG)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np

from stance.files import atomic_path


def actor_nodes(con: Any) -> dict[str, dict[str, str]]:
    """Each actor's type, CAMEO code, affiliation and where it was found (gazetteer, phoenix, found), the most
    frequent over its rows, and the CAMEO country (the code's first three letters)."""
    rows = con.execute(
        """SELECT name, mode(type), mode(code), mode(affiliation), mode(source) FROM (
               SELECT actor AS name, actor_type AS type, actor_code AS code, actor_affiliation AS affiliation,
                      actor_source AS source
               FROM raw_rows
               UNION ALL
               SELECT target, target_type, target_code, target_affiliation, target_source FROM raw_rows)
           GROUP BY name"""
    ).fetchall()
    nodes = {}
    for name, kind, code, affiliation, source in rows:
        code = code or ""
        nodes[name] = {
            "type": kind or "",
            "code": code,
            "affiliation": affiliation or name,
            "source": source or "",
            "country": code[:3],
        }
    return nodes


def network_graph(edges: Any, limit: int | None, nodes: dict[str, dict[str, str]] | None = None) -> Any:
    """Entity edges (the `limit` largest by n, of a table sorted by n) as a networkx DiGraph with their figures;
    each node with its total n and, given `nodes` (`actor_nodes`), its type, code, affiliation, source and country."""
    import networkx as nx

    entity = edges if limit is None else edges.slice(0, int(limit))
    graph = nx.DiGraph()
    for row in entity.to_pylist():
        attrs = {k: v for k, v in row.items() if k not in ("level", "actor", "target")}
        for key in ("first_date", "last_date"):
            attrs[key] = attrs[key].isoformat() if attrs[key] is not None else ""
        graph.add_edge(row["actor"], row["target"], **attrs)
    for node in graph:
        graph.nodes[node].update((nodes or {}).get(node, {}))
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


LABELLED_NODES = 20  # network.png names this many nodes, the largest by n


def labelled_nodes(graph: Any, most: int) -> list[str]:
    """The `most` nodes with the largest n (ties by name): the ones network.png names."""
    return sorted(graph, key=lambda v: (-graph.nodes[v]["n"], v))[:most]


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
    # Labels only for the largest nodes, on a white box, so they stay readable; the rest are in the tables.
    named = labelled_nodes(graph, LABELLED_NODES)
    nx.draw_networkx_labels(
        graph,
        layout,
        labels={v: v for v in named},
        ax=axes,
        font_size=9,
        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
    )
    mappable = plt.cm.ScalarMappable(cmap=plt.cm.RdBu, norm=plt.Normalize(-1, 1))
    figure.colorbar(mappable, ax=axes, shrink=0.6, label="net stance (support − oppose)")
    del drawn
    _png(figure, path)


def next_period(day: dt.date, freq: str) -> dt.date:
    """The first day of the period after the one starting on `day` (`freq`: week, month or year)."""
    if freq == "week":
        return day + dt.timedelta(days=7)
    if freq == "year":
        return day.replace(year=day.year + 1)
    return day.replace(year=day.year + day.month // 12, month=day.month % 12 + 1)


def with_gaps(line: list[dict[str, Any]], freq: str) -> tuple[list[dt.date], dict[str, list[float]]]:
    """The x values and the net, net_low and net_high of a period series, with a NaN point in each run of
    empty periods, so the line and its band break there instead of joining across them."""
    x: list[dt.date] = []
    y: dict[str, list[float]] = {"net": [], "net_low": [], "net_high": []}
    for cell in line:
        day = dt.date.fromisoformat(cell["period"])
        if x and next_period(x[-1], freq) < day:
            x.append(next_period(x[-1], freq))
            for key in y:
                y[key].append(math.nan)
        x.append(day)
        for key in y:
            y[key].append(cell[key])
    return x, y


def draw_series(series: list[dict[str, Any]], path: Path, title: str, by: str, freq: str = "month") -> bool:
    """One panel per pair: net stance by period (`by="period"`, `freq` long, broken at empty periods) or by
    outlet group (`by="group"`), with 95% bands."""
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
            for group in groups:
                line = sorted((c for c in cells if c["group"] == group), key=lambda c: c["period"])
                x, y = with_gaps(line, freq)
                axes.plot(x, y["net"], marker="o", markersize=3, label=group if len(groups) > 1 else None)
                axes.fill_between(x, y["net_low"], y["net_high"], alpha=0.2)
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
