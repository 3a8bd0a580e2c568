"""Gazetteer benchmark: load time, memory and matching speed, data/actors.yaml vs the Phoenix dictionaries.

    python -m bench.gazetteer [--sentences 2000]

Writes bench/gazetteer/results.json and its README.md. The sentences are the first
ones of the SEESAW articles (../shared/datasets/seesaw/articles, sorted by
file name). "regex" is the matcher stance.actors had before the token matcher
(one alternation over every alias), kept here for the comparison only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
import tracemalloc
from typing import Any

from bench.common import BENCH, ROOT, commit, cpu, offline, timestamp, write_results

offline()

from stance.actors.aliases import WORD_END  # noqa: E402
from stance.actors.gazetteer import Gazetteer  # noqa: E402

ARTICLES = ROOT.parent / "shared" / "datasets" / "seesaw" / "articles"


def sentences(limit: int) -> list[str]:
    """The first `limit` sentences of the SEESAW articles, in file-name order."""
    out: list[str] = []
    for path in sorted(ARTICLES.glob("*.json")):
        for item in json.loads(path.read_text(encoding="utf-8")).get("text", []):
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                out.append(item["text"])
                if len(out) >= limit:
                    return out
    return out


def old_regex(g: Gazetteer) -> re.Pattern[str]:
    """The previous matcher: one case-sensitive alternation over all exact aliases, longest first."""
    aliases = sorted({a for a in g._alias_to_actor if a}, key=lambda a: (-len(a), a))
    for layer in g._layers:  # folded Phoenix aliases, as written (the old matcher had no case rules)
        aliases.extend(sorted({a for a in layer.folded}, key=lambda a: (-len(a), a)))
    aliases = sorted(set(aliases), key=lambda a: (-len(a), a))
    return re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(a) for a in aliases)}){WORD_END}", re.IGNORECASE)


def measure(name: str, path: str, texts: list[str]) -> dict:
    tracemalloc.start()
    began = time.perf_counter()
    g = Gazetteer.from_yaml(ROOT / path)
    load_s = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    began = time.perf_counter()
    mentions = sum(len(g.find(t)) for t in texts)
    token_s = time.perf_counter() - began
    began = time.perf_counter()
    for i in range(100):
        g.with_aliases({f"Local {i}": [f"Local{i}"]})
    local_ms = (time.perf_counter() - began) * 10
    began = time.perf_counter()
    pattern = old_regex(g)
    regex_build_s = time.perf_counter() - began
    began = time.perf_counter()
    regex_hits = sum(1 for t in texts for _ in pattern.finditer(t))
    regex_s = time.perf_counter() - began
    aliases = sum(len(layer.exact) + len(layer.folded) for layer in g._layers)
    return {
        "gazetteer": name,
        "file": path,
        "actors": len(g.actors),
        "aliases": aliases,
        "load_s": round(load_s, 3),
        "load_peak_mb": round(peak / 1e6, 1),
        "token_sentences_per_s": round(len(texts) / token_s),
        "mentions_per_sentence": round(mentions / len(texts), 3),
        "with_aliases_ms": round(local_ms, 3),
        "regex_build_s": round(regex_build_s, 3),
        "regex_sentences_per_s": round(len(texts) / regex_s),
        "regex_hits_per_sentence": round(regex_hits / len(texts), 3),
    }


def markdown(report: dict[str, Any]) -> str:
    """README.md from the results: the table, then what each column measures."""
    lines = [
        "# Gazetteer benchmark",
        "",
        f"`python -m bench.gazetteer` on {report['commit']}, {report['date']}; {report['cpu']}, "
        f"{report['cores']} cores (shared with a training job), Python {report['python']}; "
        f"{report['sentences']} SEESAW sentences.",
        "",
        "| gazetteer | actors | aliases | load s | load peak MB | token matcher sent/s | mentions/sent "
        "| with_aliases ms | old regex build s | old regex sent/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        lines.append(
            f"| {r['gazetteer']} (`{r['file']}`) | {r['actors']} | {r['aliases']} | {r['load_s']} | {r['load_peak_mb']} "
            f"| {r['token_sentences_per_s']} | {r['mentions_per_sentence']} | {r['with_aliases_ms']} "
            f"| {r['regex_build_s']} | {r['regex_sentences_per_s']} |"
        )
    lines += [
        "",
        "Load: parsing and indexing the files (peak traced Python memory while loading). Token matcher: "
        "`Gazetteer.find`, the longest match at each token start. Old regex: the former matcher (one "
        "alternation of every alias, case-insensitive here for the Phoenix aliases), which a `with_aliases` "
        "copy used to rebuild for each article; the token matcher's copies add one small layer instead.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gazetteer", description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=2000)
    args = parser.parse_args()
    texts = sentences(args.sentences)
    rows = [measure("default", "data/actors.yaml", texts), measure("phoenix", "data/phoenix.yaml", texts)]
    report = {
        "commit": commit(),
        "date": timestamp(),
        "cpu": cpu()[0],
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sentences": len(texts),
        "note": "one process, single thread; the machine was shared with a training job",
        "rows": rows,
    }
    write_results(BENCH / "gazetteer", report, markdown(report))
    print(markdown(report))
