"""The inference benchmark's README: its tables from results.json."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

SYSTEMS = ("pipeline", "pipeline-bf16", "fp32", "bf16", "int8", "auto")
LABELS = {
    "pipeline": "transformers pipeline",
    "pipeline-bf16": "transformers pipeline bf16",
    **{s: f"stance {s}" for s in SYSTEMS[2:]},
}
TARGET_SPEEDUP, TARGET_F1_GAP = 3.0, 0.01  # `auto` against the pipeline's pairs/s and fp32's macro-F1
TARGET_ACTORS = 0.7  # the default way of finding actors against data/actors.yaml alone, in articles/s


def _lines(*makers: Callable[[], str]) -> list[str]:
    """Each maker's line, leaving out those whose figures the report lacks."""
    out = []
    for make in makers:
        with contextlib.suppress(KeyError, TypeError, ZeroDivisionError):
            out.append(make())
    return out


def _cell(row: dict[str, Any], key: str, spec: str) -> str:
    """One table cell, `–` where the row lacks the figure."""
    return format(row[key], spec) if isinstance(row.get(key), int | float) else "–"


def _load(report: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """Whether the timings were taken on an idle machine: they compare only if so."""
    if isinstance(report.get("load"), str):  # reports written before the load went into each row
        return report["load"]
    rows = [r for r in rows if "load_before" in r]
    if not rows:
        raise KeyError("load")
    busy = [r["system"] for r in rows if r["load_before"]["other_jobs"] or r.get("load_after", {}).get("other_jobs")]
    loads = ", ".join(f"{r['system']} {r['load_before']['loadavg_1m']:.1f}" for r in rows)
    state = f"**NOT idle** (training or tests ran during {', '.join(busy)}: not comparable)" if busy else "idle"
    return f"{state}; 1-minute load average at each start: {loads}."


def render(report: dict[str, Any]) -> str:
    """README.md from a results.json report: the figures it has, the systems this script knows."""
    hw, inp, actors = (report.get(k) or {} for k in ("hardware", "inputs", "actors"))
    known = {**{s: s for s in SYSTEMS}, **{label: s for s, label in LABELS.items()}}
    rows = [{**r, "system": known[r["system"]]} for r in report.get("systems", []) if r.get("system") in known]
    by = {r["system"]: r for r in rows}
    lines = ["# Inference benchmark"]
    lines += _lines(lambda: f"\n`{report['command'].strip()}` — {report['date']}, commit `{report['commit']}`.")
    about = _lines(
        lambda: (
            f"- Hardware: {hw['cpu']}, {hw['cores']} cores, torch {hw['torch']} ({hw['torch_threads']} threads), "
            f"transformers {hw['transformers']}; GPU: {hw['gpu'] or 'none'}."
        ),
        lambda: "- CPU flags: " + ", ".join(f"{f} {'yes' if v else 'no'}" for f, v in hw["cpu_flags"].items()) + ".",
        lambda: (
            f"- Model: `{report['model']}`, weights sha256 `{report['weights_sha256']}`, "
            f"trained by `{report['model_run']}`."
        ),
        lambda: (
            f"- Labelled pairs: {inp['pairs']} drawn at random of the {inp['labelled_pairs_total']} from "
            f"{inp['articles_total']} articles ({inp['data']}; max_length {inp['max_length']}, "
            f"{inp['context_sentences']} context sentence(s))."
        ),
        lambda: f"- End to end: {inp['articles']} of those articles as raw text, {inp['e2e_pairs']} pairs.",
        lambda: "- Config: " + ", ".join(f"{k} {v}" for k, v in report["config"].items()) + ".",
        lambda: f"- Machine: {_load(report, rows)}",
    )
    if about:
        lines += ["", *about]
    if rows:
        lines += [
            "",
            "| system | path | pairs/s | × pipeline | articles/s (e2e) | × pipeline | peak RSS MB | macro-F1 "
            "| labels = fp32 | max abs Δp vs fp32 |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            cells = [LABELS[r["system"]], r.get("precision", "–")]
            cells += [_cell(r, "pairs_per_s", ".1f"), _cell(r, "pairs_x_pipeline", ".2f")]
            cells += [_cell(r, "articles_per_s", ".2f"), _cell(r, "articles_x_pipeline", ".2f")]
            cells += [_cell(r, "peak_rss_mb", ".0f"), _cell(r, "macro_f1", ".4f")]
            cells += [_cell(r, "agreement_vs_fp32", ".4f"), _cell(r, "max_prob_diff_vs_fp32", ".4f")]
            lines.append("| " + " | ".join(cells) + " |")
        lines += [
            "",
            "pairs/s: the labelled pairs (stance encodes them, the pipeline gets them formatted); articles/s: raw "
            "text split, paired and scored; peak RSS: the system's own process; the last two columns compare with "
            "stance fp32.",
        ]
    auto, fp32 = by.get("auto", {}), by.get("fp32", {})
    targets = _lines(
        lambda: (
            f"- `auto` ({auto['precision']}) ≥ {TARGET_SPEEDUP:g}× the pipeline's pairs/s: "
            f"{auto['pairs_x_pipeline']:.2f}× — {'met' if auto['pairs_x_pipeline'] >= TARGET_SPEEDUP else 'NOT met'}; "
            f"end to end {auto['articles_x_pipeline']:.2f}×."
        ),
        lambda: (
            f"- Its macro-F1 within {TARGET_F1_GAP:g} of fp32: {auto['macro_f1']:.4f} vs {fp32['macro_f1']:.4f} — "
            f"{'met' if abs(auto['macro_f1'] - fp32['macro_f1']) <= TARGET_F1_GAP else 'NOT met'}."
        ),
    )
    if targets:
        lines += ["", "## Targets", "", *targets]
    variants = [v for v in actors.get("variants") or [] if v.get("seconds")]
    if variants:
        base = next((v for v in variants if v.get("variant") == "lists"), variants[0])
        finder = f", mention finder {actors['find_sentences']} sentences a call" if "find_sentences" in actors else ""
        lines += ["", "## Finding actors end to end"]
        lines += _lines(
            lambda: (
                f"\n{actors['date']}, commit `{actors['commit']}`: {base['articles']} raw articles, "
                f"`StanceClassifier.predict` at `precision=auto`, each way in a fresh process{finder}."
            )
        )
        lines += [
            "",
            "| actors from | pairs | articles with a pair | articles/s | × closed lists | mention finder's share "
            "| peak RSS MB |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for v in variants:
            lines += _lines(
                lambda v=v: (
                    f"| {v.get('label', v.get('variant'))} | {v['pairs']} | {v['articles_with_pairs']} "
                    f"| {v['articles'] / v['seconds']:.2f} | {base['seconds'] / v['seconds']:.2f} "
                    f"| {v['finder_seconds'] / v['seconds']:.1%} | {v['peak_rss_mb']:.0f} |"
                )
            )
        named = {v.get("variant"): v for v in variants}
        listed, both = named.get("listed", {}), named.get("both", {})
        lines += _lines(
            lambda: (
                f"\nTarget: the default at ≥ {TARGET_ACTORS:.0%} of the articles/s with data/actors.yaml only: "
                f"{listed['seconds'] / both['seconds']:.0%} — "
                f"{'met' if listed['seconds'] / both['seconds'] >= TARGET_ACTORS else 'NOT met'}; "
                f"{both['pairs'] / max(listed['pairs'], 1):.1f}× the pairs, the finder "
                f"{both['finder_seconds'] / both['seconds']:.0%} of the time."
            ),
        )
    return "\n".join(lines) + "\n"
