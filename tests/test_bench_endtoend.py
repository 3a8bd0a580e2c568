"""bench.endtoend's tables: each row names the run (date, commit, machine) it was measured in."""

from __future__ import annotations

from bench.endtoend.run import markdown, runs_of


def _row(label: str, run: dict | None, speed: float) -> dict:
    per_class = {"precision": 0.1, "recall": 0.1, "f1": 0.1, "support": 9}
    edge = {"f1": 0.2}
    row = {
        "label": label,
        "weights_sha256": "a" * 64,
        "finder_sha256": "b" * 64,
        "config": {"data.pairs": "found", "seed": 42, "references": False},
        "path": {
            "macro_f1_support_oppose": 0.13,
            "ci95": [0.09, 0.17],
            "support": per_class,
            "oppose": per_class,
            "edges": {"any sentence": edge, "net stance": edge},
            "reach_named": 0.33,
            "reach_bound_without_references": 0.35,
            "reached_called_neutral": 60,
            "gold_polar_found": 220,
            "pairs_per_article": 98.9,
            "articles_per_second": speed,
            "by_direction": {},
        },
        "classifier_only": {"polarity": 0.77, "macro_f1": 0.65, "by_direction": {}},
    }
    return row | ({"run": run} if run else {})


def test_rows_of_several_runs_are_numbered_by_the_run_that_measured_them() -> None:
    amd = {"date": "2026-12-08 01:00 UTC", "commit": "abc1234", "hardware": "AMD EPYC", "command": "python -m x"}
    xeon = {"date": "2026-12-04 20:12 UTC", "commit": "d50a2cd", "hardware": "Intel Xeon", "command": "python -m y"}
    rows = [_row("old", None, 2.26), _row("a", xeon, 4.84), _row("b", amd, 3.90), _row("c", xeon, 4.83)]
    report = {"split": "dev", "rows": {r["label"]: r for r in rows}, **amd}
    assert runs_of(report) == [xeon, amd]
    text = markdown(report)
    assert "- run 1: 2026-12-04 20:12 UTC, commit d50a2cd; Intel Xeon" in text
    assert "- run 2: 2026-12-08 01:00 UTC, commit abc1234; AMD EPYC" in text
    table = {line.split(" | ")[1]: line.split(" | ")[0].strip("| ") for line in text.splitlines() if " | " in line}
    assert (table["old"], table["a"], table["b"], table["c"]) == ("–", "1", "2", "1")
