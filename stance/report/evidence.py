"""Evidence: the most confident support and oppose sentences of each entity edge."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stance.files import atomic_path


def write_evidence(con: Any, path: Path, per_edge: int) -> int:
    """`evidence.jsonl`: per entity edge, its `per_edge` most confident support and oppose sentences.

    Kept in the table `evidence` for the page. Ties in probability go to the
    earlier article id and sentence, so the file is the same for any input order.
    """
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE evidence AS
        SELECT actor, target, stance, row_number() OVER w AS rank, round(p, 6) AS p, article_id, sentence_index,
               sentence, actor_start, actor_end, target_start, target_end, date_text AS date, source, url
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
