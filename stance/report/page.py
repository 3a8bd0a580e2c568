"""The report's page: `index.html`, self-contained, with the figures, the sortable edge tables and their evidence."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from stance.files import write_text_atomic
from stance.report.edges import LEVELS

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
mark.actor { background: #dce8f6; } mark.target { background: #f6dede; } .resolved { font-size: 0.85em; color: #555; }
details summary { cursor: pointer; color: #555; }
.meta { color: #666; font-size: 0.9em; }
"""


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def marked_sentence(e: dict[str, Any]) -> str:
    """An evidence sentence as HTML, the words read as the actor and as the target highlighted, each with the
    name it was resolved to beside it where the words differ; an end not marked in the sentence is named after it."""
    text = str(e["sentence"])
    spans = []
    for role in ("actor", "target"):
        start, end = e.get(f"{role}_start"), e.get(f"{role}_end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
            spans.append((start, end, role))
    spans.sort()
    if len(spans) == 2 and spans[1][0] < spans[0][1]:
        spans = spans[:1]
    out, pos = [], 0
    for start, end, role in spans:
        surface, name = text[start:end], str(e[role])
        same = surface.strip().lower() == name.strip().lower()
        beside = "" if same else f' <span class="resolved {role}">[{html.escape(name)}]</span>'
        out += [html.escape(text[pos:start]), f'<mark class={role} title="{role}: {html.escape(name)}">']
        out += [html.escape(surface), "</mark>", beside]
        pos = end
    out.append(html.escape(text[pos:]))
    marked = {role for _, _, role in spans}
    unmarked = [
        f"{role} {html.escape(str(e[role]))} named elsewhere" for role in ("actor", "target") if role not in marked
    ]
    if unmarked:
        out.append(f" <span class=meta>({'; '.join(unmarked)})</span>")
    return "".join(out)


def _evidence_html(lines: list[dict[str, Any]]) -> str:
    if not lines:
        return ""
    items = []
    for e in lines:
        where = " · ".join(html.escape(str(x)) for x in (e["article_id"], e["date"], e["source"]) if x)
        link = f' <a href="{html.escape(e["url"])}">link</a>' if e.get("url") else ""
        items.append(
            f'<li><span class="{e["stance"]}">{e["stance"]} {e["p"]:.2f}</span> '
            f"{marked_sentence(e)} <span class=meta>({where}){link}</span></li>"
        )
    return f"<details><summary>{len(lines)} sentences</summary><ul>{''.join(items)}</ul></details>"


def _without_pairs_html(ids: list[str]) -> str:
    """The articles that yielded no actor pair (so no row), named, so none drops out unseen."""
    if not ids:
        return ""
    listed = ", ".join(html.escape(str(i)) for i in ids)
    return (
        f"<h2>Articles without an actor pair</h2><p class=meta>{len(ids):,} article(s) were read but no two "
        f"actors were found together in a sentence, so they add nothing above: {listed}</p>"
    )


def render_page(
    path: Path,
    title: str,
    facts: dict[str, Any],
    tables: dict[str, Any],
    evidence: dict[tuple[str, str], list[dict[str, Any]]],
    figures: list[tuple[str, Path, str]],
) -> None:
    """`index.html`: one self-contained page (figures inline) with the sortable edge table and its evidence."""
    body = [_edge_section(level, tables[level].to_pylist(), facts, evidence) for level in LEVELS]
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
to +1 (all support); intervals are 95% bootstrap intervals over articles, shown for edges with at least {facts.get("interval_articles", 1)} articles. Made by stance-report on {facts["made"]}.</p>
{pictures}
{"".join(body)}
{_without_pairs_html(facts.get("articles_without_pairs", []))}
<script>{_SORT_JS}</script>
</body></html>
"""
    write_text_atomic(path, page)


def _edge_section(
    level: str,
    rows: list[dict[str, Any]],
    facts: dict[str, Any],
    evidence: dict[tuple[str, str], list[dict[str, Any]]],
) -> str:
    """The heading, caption and sortable table of one level's edges (`rows`), with evidence at the entity level."""
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
    lines = [_edge_row(r, level, evidence, int(facts.get("interval_articles", 1))) for r in rows]
    heads = [*head, "evidence"] if level == "entity" else head
    caption = (
        "Actor → target, as named in the text"
        if level == "entity"
        else "Rolled up to affiliations (a person to the country or body they stood for at the article's date)"
    )
    return (
        f"<h2>Edges: {level} level</h2><p class=meta>{caption}. The {len(rows)} largest by n of "
        f"{facts['edges_' + level]:,}; every edge is in edges.parquet / edges.csv. Click a column to sort.</p>"
        f"<table class=sortable id=edges-{level}><thead><tr>"
        + "".join(f"<th>{h}</th>" for h in heads)
        + "</tr></thead><tbody>"
        + "".join(lines)
        + "</tbody></table>"
    )


def _edge_row(
    r: dict[str, Any], level: str, evidence: dict[tuple[str, str], list[dict[str, Any]]], interval_articles: int = 1
) -> str:
    """One edge as a table row; `data-v` holds the value a column sorts by. The interval is written out only
    when `interval_articles` or more articles stand behind the edge (edges.csv holds it either way)."""
    interval = (
        f"{r['net_low']:+.2f} … {r['net_high']:+.2f}"
        if r["articles"] >= interval_articles
        else f"{r['articles']} article{'s' if r['articles'] != 1 else ''}"
    )
    cells = [
        f"<td>{html.escape(r['actor'])}</td>",
        f"<td>{html.escape(r['target'])}</td>",
        *(f'<td class=num data-v="{r[k]}">{r[k]}</td>' for k in ("n", "support", "oppose", "neutral")),
        f'<td class=num data-v="{r["net"]}">{r["net"]:+.2f}</td>',
        f'<td class=num data-v="{r["net_low"]}">{interval}</td>',
        *(f'<td class=num data-v="{r[k]}">{r[k]}</td>' for k in ("articles", "sources")),
        *(f"<td>{r[k].isoformat() if r[k] else ''}</td>" for k in ("first_date", "last_date")),
    ]
    if level == "entity":
        cells.append(f"<td>{_evidence_html(evidence.get((r['actor'], r['target']), []))}</td>")
    return "<tr>" + "".join(cells) + "</tr>"
